#include "engine/audit.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/clock.h"
#include "core/error.h"

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

AuditOutcome RunAudit(const CriteriaFile& criteria, const AuditorRegistry& registry,
                      const AuditOptions& options) {
  AuditOutcome out;
  out.started_at = NowRfc3339Utc();
  out.seed = criteria.seed;
  out.environment = DescribeHost();

  std::unique_ptr<Model> model;
  if (criteria.model) {
    model = LoadTorchScriptModel(*criteria.model);
    if (auto threads = options.threads ? options.threads : criteria.threads) {
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

  if (model && dataset->rows() > 0) {
    // Preflight: one real sample through the model, so a model that cannot take the declared
    // input stops the run here (bad input, exit 3, no report) instead of erroring every criterion.
    int64_t outputs = 0;
    model->Forward(dataset->row(0), 1, &outputs);
  }

  AuditContext context(model.get(), *dataset, criteria.seed, options.progress);
  std::vector<MetricRequest> requests;
  for (const Criterion& c : criteria.criteria) {
    MetricRequest req;
    req.criterion_id = c.id;
    req.metric = c.metric;
    req.params = c.params;
    req.confidence = IntervalLevel(c);
    req.seed = criteria.seed;
    requests.push_back(req);
  }
  // Every auditor sees every request before anything runs (energy attaches to latency runs).
  for (const MetricRequest& req : requests) registry.FindAuditor(req.metric)->Prepare(req, context);

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
        r.measurement = registry.FindAuditor(c.metric)->Measure(requests[i], context);
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
