#include "engine/audit.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "auditors/metric.h"
#include "core/clock.h"
#include "core/digest.h"
#include "core/error.h"
#include "datasets/dataset_slice.h"
#include "engine/plan.h"
#include "engine/supervisor.h"

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

// The seconds the model may run for criterion `c` (see docs/hardening.md).
double BudgetOf(const Criterion& c, const AuditOptions& options) {
  if (options.time_budget_s) return *options.time_budget_s;
  return c.time_budget_s.value_or(kDefaultTimeBudgetS);
}

bool Skipped(const MetricSpec& spec, const DatasetSource& dataset) {
  return spec.needs_labels && !dataset.has_labels();
}

}  // namespace

void CheckCriteriaAgainstData(const CriteriaFile& criteria, const AuditorRegistry& registry,
                              const Dataset& dataset) {
  for (const Criterion& c : criteria.criteria) {
    const MetricSpec& spec = *registry.FindMetric(c.metric);
    // A label-dependent metric on data without labels is SKIPPED with its reason, not bad input.
    if (spec.needs_labels && !dataset.has_labels()) continue;
    try {
      // A framework metric checks the parameters the loader bound (file parameters resolved);
      // the criterion's params keep what the file wrote, for the report.
      const Metric* metric = FindFrameworkMetric(registry, c.metric);
      if (metric != nullptr && c.bound != nullptr) {
        metric->CheckData(*c.bound, dataset);
      } else {
        registry.FindAuditor(c.metric)->CheckData(RequestFor(c, criteria), dataset);
      }
    } catch (const InputError& e) {
      throw InputError(c.where + ": criterion " + c.id + ": " + e.what());
    }
  }
}

CriterionOutcome NewOutcome(const Criterion& criterion, const AuditorRegistry& registry) {
  const MetricSpec& spec = *registry.FindMetric(criterion.metric);
  CriterionOutcome o;
  o.criterion = criterion;
  CriterionResult& r = o.result;
  r.id = criterion.id;
  r.metric = criterion.metric;
  r.concern = spec.concern;
  r.severity = criterion.severity == Severity::kMandatory ? "mandatory" : "advisory";
  r.unit = spec.unit;
  r.threshold.op = criterion.threshold.op;
  r.threshold.value = criterion.threshold.value;
  if (criterion.threshold.op == "between") r.threshold.high = criterion.threshold.high;
  r.confidence = criterion.confidence;
  r.reference = criterion.reference;
  r.params = criterion.params;
  r.profile = criterion.profile;
  r.overrides = criterion.overrides;
  if (criterion.line > 0) {
    r.line = criterion.line;
    r.line_file = criterion.line_file;
  }
  return o;
}

void RecordMeasurement(const Criterion& criterion, Measurement measurement, std::string_view unit,
                       CriterionResult& result) {
  if (measurement.unit.empty()) measurement.unit = std::string(unit);
  // Judge reads what the result does not keep (undecidable, the measurement's own message).
  Judgement j = Judge(criterion, measurement);
  result.value = measurement.value;
  result.unit = std::move(measurement.unit);
  result.interval = std::move(measurement.interval);
  result.samples = measurement.samples;
  result.method = std::move(measurement.method);
  result.deterministic = measurement.deterministic;
  result.details = std::move(measurement.details);
  result.status = j.status;
  result.message = std::move(j.message);
}

void FinalizeCriterion(const CriteriaFile& criteria, size_t index, const Metric& metric,
                       const MetricStats& stats, ProgressSink* progress, CriterionOutcome& r) {
  const Criterion& c = criteria.criteria.at(index);
  FinalizeContext fin;
  fin.seed = criteria.seed;
  fin.confidence = IntervalLevel(c);
  fin.progress = [progress, &c](double f) {
    if (progress != nullptr) progress->Update(c.id, "finalize", f);
  };
  RecordMeasurement(c, metric.Finalize(*c.bound, stats, fin), metric.spec().unit, r.result);
}

namespace {

// Refuses, as bad input, a sharded audit of a criterion that cannot be split exactly.
void CheckShardable(const CriteriaFile& criteria, const AuditorRegistry& registry) {
  for (const Criterion& c : criteria.criteria) {
    const Metric* metric = FindFrameworkMetric(registry, c.metric);
    if (metric == nullptr || c.bound == nullptr) {
      throw InputError(c.where + ": criterion " + c.id + ": metric '" + c.metric +
                       "' cannot be audited in shards; audit it without --shard");
    }
    const auto work = metric->Needs(*c.bound);
    if (work->sharding() == Sharding::kUnsplittable) {
      throw InputError(c.where + ": criterion " + c.id + ": metric '" + c.metric +
                       "' cannot be split into shards exactly (its work '" + work->key() +
                       "' needs all rows at once); audit it without --shard");
    }
  }
}

}  // namespace

AuditOutcome RunAudit(const CriteriaFile& criteria, const AuditorRegistry& registry,
                      const AuditOptions& options) {
  AuditOutcome out;
  out.started_at = NowRfc3339Utc();
  out.seed = criteria.seed;
  out.environment = DescribeHost();

  if (options.time_budget_s &&
      !(*options.time_budget_s > 0.0 && *options.time_budget_s <= kMaxTimeBudgetS)) {
    throw InputError("time budget " + std::to_string(*options.time_budget_s) +
                     " s is outside (0, " + std::to_string(static_cast<int64_t>(kMaxTimeBudgetS)) +
                     "]");
  }
  // The model is read once, here; it is loaded where it runs (the supervised worker, from these
  // bytes, or this process when not isolated).
  std::optional<ModelSpec> model_spec = criteria.model;
  std::optional<ModelSpec> reference_spec = criteria.reference;
  std::optional<ModelSpec> surrogate_spec = criteria.surrogate;
  if (model_spec) {
    if (options.isolate_model) model_spec->bytes = ReadModelBytes(*model_spec);
    if (reference_spec && options.isolate_model) {
      reference_spec->bytes = ReadModelBytes(*reference_spec);
    }
    if (surrogate_spec && options.isolate_model) {
      surrogate_spec->bytes = ReadModelBytes(*surrogate_spec);
    }
    // A language model's tokenizer file is read once too, for the same reason.
    for (std::optional<ModelSpec>* spec : {&model_spec, &reference_spec, &surrogate_spec}) {
      if (*spec && (*spec)->tokenizer && !(*spec)->tokenizer->path.empty()) {
        (*spec)->tokenizer->bytes = ReadTokenizerBytes(*(*spec)->tokenizer);
      }
    }
    if (auto threads = options.threads ? options.threads : criteria.threads) {
      if (*threads < 1 || *threads > kMaxThreads) {
        throw InputError(criteria.path.string() + ": threads " + std::to_string(*threads) +
                         " is outside 1.." + std::to_string(kMaxThreads));
      }
    }
  }
  const std::unique_ptr<DatasetSource> dataset = OpenDataset(criteria.dataset);
  out.dataset = dataset->info();
  for (const std::optional<ModelSpec>* spec : {&model_spec, &reference_spec, &surrogate_spec}) {
    if (!*spec) continue;
    if ((*spec)->tokenizer) continue;  // A language model reads documents, not float rows.
    int64_t input_size = 1;
    for (int64_t d : (*spec)->input_shape) input_size *= d;
    if (dataset->sample_size() != input_size) {
      throw InputError((*spec)->path.string() + ": input.shape declares " +
                       std::to_string(input_size) + " values per sample but the dataset has " +
                       std::to_string(dataset->sample_size()));
    }
  }

  CheckCriteriaAgainstData(criteria, registry, dataset->Metadata());

  // A shard's model sees only its slice; the report keeps the whole selection's description.
  std::unique_ptr<DatasetSource> slice;
  if (options.shard) {
    CheckShardable(criteria, registry);
    out.shard_rows = ShardRows(dataset->rows(), *options.shard, kOutputsBatchRows);
    if (out.shard_rows.begin == out.shard_rows.end) {
      throw InputError(
          "--shard " + ShardName(*options.shard) + ": the shard has no rows (" +
          std::to_string(dataset->rows()) + " rows are selected, in blocks of " +
          std::to_string(kOutputsBatchRows) + "); use at most " +
          std::to_string((dataset->rows() + kOutputsBatchRows - 1) / kOutputsBatchRows) +
          " shards");
    }
    if (options.once_on_shard < 0 || options.once_on_shard >= options.shard->count) {
      throw InputError("--time-on-shard " + std::to_string(options.once_on_shard) +
                       " is outside 0.." + std::to_string(options.shard->count - 1));
    }
    slice = SliceRows(*dataset, out.shard_rows.begin, out.shard_rows.end);
  }
  const DatasetSource& audited = slice ? *slice : *dataset;

  ModelSideInputs inputs;
  inputs.criteria = &criteria;
  inputs.registry = &registry;
  inputs.runtimes = options.runtimes != nullptr ? options.runtimes : &BuiltinModelRegistry();
  inputs.dataset = &audited;
  inputs.model = model_spec;
  if (model_spec) inputs.reference = reference_spec;
  if (model_spec) inputs.surrogate = surrogate_spec;
  inputs.threads = options.threads ? options.threads : criteria.threads;
  for (const Criterion& c : criteria.criteria) inputs.requests.push_back(RequestFor(c, criteria));
  // Only a model can hang or crash; a black-box audit runs here.
  std::unique_ptr<ModelExecutor> executor =
      options.isolate_model && model_spec
          ? MakeSupervisedExecutor(std::move(inputs), options.progress)
          : MakeInProcessExecutor(std::move(inputs), options.progress);

  // The preflight serves every criterion: it may take as long as the most patient of them.
  double preflight_budget = 0.0;
  for (const Criterion& c : criteria.criteria) {
    preflight_budget = std::max(preflight_budget, BudgetOf(c, options));
  }
  if (criteria.criteria.empty())
    preflight_budget = options.time_budget_s.value_or(kDefaultTimeBudgetS);
  const StartResult start = executor->Start(preflight_budget);
  if (model_spec) {
    // A model that hung or crashed while loading: the report still names the bytes it was given.
    auto from_bytes = [](const ModelSpec& spec) {
      ModelInfo info;
      info.path = spec.path;
      info.sha256 = Sha256Hex(*spec.bytes);
      info.size_bytes = static_cast<int64_t>(spec.bytes->size());
      info.format = spec.format;
      info.device = spec.device;
      if (spec.tokenizer) {
        TokenizerInfo tokenizer;
        tokenizer.kind = spec.tokenizer->kind;
        tokenizer.path = spec.tokenizer->path;
        if (spec.tokenizer->bytes) tokenizer.sha256 = Sha256Hex(*spec.tokenizer->bytes);
        info.tokenizer = tokenizer;
        info.context_length = spec.context_length;
      }
      return info;
    };
    out.model = start.info ? *start.info : from_bytes(*model_spec);
    if (reference_spec) {
      out.reference = start.reference_info ? *start.reference_info : from_bytes(*reference_spec);
    }
    if (surrogate_spec) {
      out.surrogate = start.surrogate_info ? *start.surrogate_info : from_bytes(*surrogate_spec);
    }
    out.environment.device = out.model->device;
    out.environment.threads = start.threads;
  } else {
    out.environment.device = "none (recorded predictions)";
  }

  // Framework metrics: group their criteria by the work they need (see engine/plan.h); each work
  // item runs once, when its first criterion is measured, for all of its criteria.
  const AuditPlan plan(criteria.criteria, registry);
  std::vector<std::optional<WorkResult>> work(plan.items().size());

  std::vector<JudgedCriterion> judged;
  for (size_t i = 0; i < criteria.criteria.size(); ++i) {
    const Criterion& c = criteria.criteria[i];
    const MetricSpec& spec = *registry.FindMetric(c.metric);
    CriterionOutcome r = NewOutcome(c, registry);
    const auto t0 = std::chrono::steady_clock::now();
    if (options.progress != nullptr) options.progress->Update(c.id, "starting", 0.0);
    const AuditPlan::Item* planned = plan.ItemOf(i);
    if (planned != nullptr) r.sharding = planned->work->sharding();
    if (options.shard && r.sharding == Sharding::kOnce &&
        options.shard->index != options.once_on_shard) {
      // Left to the shard that measures the criteria measured once.
      r.elsewhere = true;
      r.result.status = Status::kSkipped;
      r.result.message = "measured on shard " + std::to_string(options.once_on_shard);
    } else if (Skipped(spec, *dataset)) {
      r.result.status = Status::kSkipped;
      r.result.message =
          "metric '" + c.metric + "' needs labels and the dataset declares no label column";
    } else {
      try {
        if (const Metric* metric = FindFrameworkMetric(registry, c.metric)) {
          const AuditPlan::Item* item = plan.ItemOf(i);
          const size_t k = static_cast<size_t>(item - plan.items().data());
          if (!work[k]) {
            // A work item shared by several criteria runs once, under the largest of their
            // budgets: the most patient criterion decides how long the shared run may take.
            std::vector<size_t> members;
            double budget = 0.0;
            for (size_t m : item->criteria) {
              if (Skipped(*registry.FindMetric(criteria.criteria[m].metric), *dataset)) continue;
              members.push_back(m);
              budget = std::max(budget, BudgetOf(criteria.criteria[m], options));
            }
            // The row-wise items run together in one pass over the rows (engine/supervisor.h):
            // the first one asked for runs it, under the largest budget of all their criteria.
            if (item->work->sharding() == Sharding::kRows) {
              for (const AuditPlan::Item& other : plan.items()) {
                if (other.work->sharding() != Sharding::kRows) continue;
                for (size_t m : other.criteria) {
                  budget = std::max(budget, BudgetOf(criteria.criteria[m], options));
                }
              }
            }
            work[k] = executor->RunWork(k, members, budget);
          }
          const WorkResult& result = *work[k];
          if (result.error) throw RuntimeError(*result.error);
          const auto part = std::find_if(result.parts.begin(), result.parts.end(),
                                         [&](const WorkPart& p) { return p.criterion == i; });
          if (part == result.parts.end() || !part->stats) {
            throw RuntimeError(part == result.parts.end() ? "no statistics" : part->error);
          }
          if (options.shard) {
            r.stats = part->stats->ToJson();
          } else {
            FinalizeCriterion(criteria, i, *metric, *part->stats, options.progress, r);
          }
        } else {
          LegacyResult result = executor->MeasureLegacy(i, BudgetOf(c, options));
          if (!result.measurement) throw RuntimeError(result.error);
          RecordMeasurement(c, std::move(*result.measurement), spec.unit, r.result);
        }
      } catch (const std::exception& e) {
        r.result.status = Status::kError;
        r.result.message = e.what();
      }
    }
    r.result.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (options.progress != nullptr) options.progress->Update(c.id, "done", 1.0);
    judged.push_back({c.severity, r.result.status});
    out.results.push_back(std::move(r));
  }
  out.verdict = OverallVerdict(judged);
  out.finished_at = NowRfc3339Utc();
  return out;
}

}  // namespace greenlight
