#include "engine/audit.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "auditors/metric.h"
#include "core/clock.h"
#include "core/error.h"
#include "engine/plan.h"

namespace greenlight {

EnvironmentInfo DescribeHost() {
  EnvironmentInfo env;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      env.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  if (env.cpu_model.empty()) env.cpu_model = "unknown";
  env.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  utsname u{};
  if (uname(&u) == 0) env.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) env.hostname = host;
  env.libtorch_version = TorchVersion();
  return env;
}

namespace {

MetricRequest RequestFor(const Criterion& c, const CriteriaFile& criteria) {
  MetricRequest req;
  req.criterion_id = c.id;
  req.metric = c.metric;
  req.params = c.params;
  req.confidence = IntervalLevel(c);
  req.seed = criteria.seed;
  return req;
}

// One framework criterion: its work's record (run on first use), the statistics of every row,
// and the value and interval from them.
Measurement MeasureWithPlan(const Metric& metric, const Criterion& c, size_t index,
                            const MetricRequest& req, AuditPlan& plan, AuditContext& context) {
  const WorkRecord& record = plan.Record(index, context);
  const MetricInput input{record, plan.Reading(index), RowRange{0, record.rows()}};
  FinalizeContext fin;
  fin.seed = req.seed;
  fin.confidence = req.confidence;
  fin.progress = [&context, &c](double f) { context.Progress(c.id, "finalize", f); };
  return MeasureRows(metric, *c.bound, input, fin);
}

}  // namespace

void CheckCriteriaAgainstData(const CriteriaFile& criteria, const AuditorRegistry& registry,
                              const Dataset& dataset) {
  for (const Criterion& c : criteria.criteria) {
    const MetricSpec& spec = *registry.FindMetric(c.metric);
    // A label-dependent metric on data without labels is SKIPPED with its reason, not bad input.
    if (spec.needs_labels && !dataset.has_labels()) continue;
    try {
      registry.FindAuditor(c.metric)->CheckData(RequestFor(c, criteria), dataset);
    } catch (const InputError& e) {
      throw InputError(c.where + ": criterion " + c.id + ": " + e.what());
    }
  }
}

AuditOutcome RunAudit(const CriteriaFile& criteria, const AuditorRegistry& registry,
                      const AuditOptions& options) {
  AuditOutcome out;
  out.started_at = NowRfc3339Utc();
  out.seed = criteria.seed;
  out.environment = DescribeHost();

  std::unique_ptr<Model> model;
  if (criteria.model) {
    const ModelRegistry& runtimes =
        options.runtimes != nullptr ? *options.runtimes : BuiltinModelRegistry();
    model = runtimes.Load(*criteria.model);
    if (auto threads = options.threads ? options.threads : criteria.threads) {
      if (*threads < 1 || *threads > kMaxThreads) {
        throw InputError(criteria.path.string() + ": threads " + std::to_string(*threads) +
                         " is outside 1.." + std::to_string(kMaxThreads));
      }
      model->SetThreads(*threads);
    }
    out.model = model->info();
    out.environment.device = model->info().device;
    out.environment.threads = model->threads();
  } else {
    out.environment.device = "none (recorded predictions)";
  }
  const std::unique_ptr<Dataset> dataset = LoadDataset(criteria.dataset);
  out.dataset = dataset->info();
  if (model && dataset->sample_size() != model->input_size()) {
    throw InputError(criteria.model->path.string() + ": input.shape declares " +
                     std::to_string(model->input_size()) +
                     " values per sample but the dataset has " +
                     std::to_string(dataset->sample_size()));
  }

  CheckCriteriaAgainstData(criteria, registry, *dataset);

  if (model && dataset->rows() > 0) {
    // Preflight: one real sample through the model, so a model that cannot take the declared
    // input stops the run here (bad input, exit 3, no report) instead of erroring every criterion.
    int64_t outputs = 0;
    model->Forward(dataset->row(0), 1, &outputs);
    // A label the model has no output for would be scored as a silent miss.
    if (dataset->has_labels() && dataset->num_classes() > outputs) {
      const auto labels = dataset->labels();
      const auto bad =
          std::find_if(labels.begin(), labels.end(), [&](int64_t l) { return l >= outputs; });
      const auto& files = dataset->info().files;
      const std::string where = files.empty() ? std::string("dataset") : files.back().path.string();
      throw InputError(where + ": label " + std::to_string(*bad) + " (row " +
                       std::to_string(bad - labels.begin() + 1) + ") is outside the model's " +
                       std::to_string(outputs) + " output classes (0.." +
                       std::to_string(outputs - 1) + ")");
    }
  }

  AuditContext context(model.get(), *dataset, criteria.seed, options.progress);
  std::vector<MetricRequest> requests;
  for (const Criterion& c : criteria.criteria) {
    requests.push_back(RequestFor(c, criteria));
  }
  // Framework metrics: group their criteria by the work they need (see engine/plan.h).
  AuditPlan plan(criteria.criteria, registry);

  std::vector<JudgedCriterion> judged;
  for (size_t i = 0; i < criteria.criteria.size(); ++i) {
    const Criterion& c = criteria.criteria[i];
    const MetricSpec& spec = *registry.FindMetric(c.metric);
    CriterionOutcome r;
    r.criterion = c;
    r.concern = spec.concern;
    r.unit = spec.unit;
    const auto t0 = std::chrono::steady_clock::now();
    context.Progress(c.id, "starting", 0.0);
    if (spec.needs_labels && !dataset->has_labels()) {
      r.status = Status::kSkipped;
      r.message = "metric '" + c.metric + "' needs labels and the dataset declares no label column";
    } else {
      try {
        if (const Metric* metric = FindFrameworkMetric(registry, c.metric)) {
          r.measurement = MeasureWithPlan(*metric, c, i, requests[i], plan, context);
        } else {
          r.measurement = registry.FindAuditor(c.metric)->Measure(requests[i], context);
        }
        if (r.measurement.unit.empty()) r.measurement.unit = spec.unit;
        r.unit = r.measurement.unit;
        const Judgement j = Judge(c, r.measurement);
        r.status = j.status;
        r.message = j.message;
      } catch (const std::exception& e) {
        r.status = Status::kError;
        r.message = e.what();
      }
    }
    r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    context.Progress(c.id, "done", 1.0);
    judged.push_back({c.severity, r.status});
    out.results.push_back(std::move(r));
  }
  out.verdict = OverallVerdict(judged);
  out.finished_at = NowRfc3339Utc();
  return out;
}

}  // namespace greenlight
