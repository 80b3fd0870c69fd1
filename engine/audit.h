// The one free function that runs an audit (after LoadGen's StartTest): load the model and the
// dataset the criteria name, measure every criterion through the registry, judge, and return the
// outcome as plain data for the reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/metric.h"
#include "core/result.h"
#include "engine/criteria.h"
#include "engine/shard.h"
#include "engine/verdict.h"
#include "models/model_registry.h"

namespace greenlight {

// Most intra-op threads an audit may ask for (--threads, settings.threads); more only
// oversubscribes the machine and a huge count hangs thread-pool creation.
inline constexpr int kMaxThreads = 256;

struct AuditOptions {
  ProgressSink* progress = nullptr;  // Not owned; may be null.
  std::optional<int> threads;        // Overrides settings.threads (intra-op threads).
  // Runtimes by model.format; null: BuiltinModelRegistry(). Not owned.
  const ModelRegistry* runtimes = nullptr;
  // Run the model in a supervised worker process (engine/supervisor.h): a model that runs past a
  // criterion's time budget or crashes ends that criterion in ERROR and the audit goes on. false:
  // in this process, without budgets (for embedding and for measuring the supervision's cost); a
  // process that has run a model in-process cannot supervise one afterwards (see supervisor.h).
  bool isolate_model = true;
  // Overrides every criterion's time_budget_s (seconds, in (0, kMaxTimeBudgetS]).
  std::optional<double> time_budget_s;
  // A sharded audit (engine/shard.h): the model sees only this shard's slice of the selected rows,
  // and each criterion's statistics are returned unfinalized (CriterionOutcome::stats) for
  // `greenlight merge`; nothing is judged. Criteria whose work cannot be split exactly
  // (Sharding::kUnsplittable) are refused as bad input.
  std::optional<ShardSpec> shard;
  // With `shard`: the shard that measures the criteria whose work is measured once
  // (Sharding::kOnce: timed runs, energy, model facts); the others leave them to it.
  int64_t once_on_shard = 0;
};

// The engine's record of one criterion: the result the report carries, plus what only the engine
// needs (the bound criterion, and a sharded audit's statistics and how its work shards).
struct CriterionOutcome {
  Criterion criterion;
  CriterionResult result;
  // Sharded audits only (AuditOptions::shard): the statistics on this shard's rows, as
  // MetricStats::ToJson writes them; absent when the criterion is ERROR or SKIPPED
  // (`result.status`, `result.message`) or left to another shard (`elsewhere`).
  std::optional<nlohmann::json> stats;
  Sharding sharding = Sharding::kRows;
  bool elsewhere = false;
};

struct EnvironmentInfo {
  std::string cpu_model;
  int logical_cores = 0;
  std::string os;  // "Linux 6.1.0-… x86_64"
  std::string hostname;
  std::string libtorch_version;
  std::string device;
  int threads = 0;
};

struct AuditOutcome {
  std::optional<ModelInfo> model;      // Absent in black-box mode.
  std::optional<ModelInfo> reference;  // The reference model (criteria reference:), if any.
  std::optional<ModelInfo> surrogate;  // The surrogate model (criteria surrogate:), if any.
  DatasetInfo dataset;
  EnvironmentInfo environment;
  Status verdict = Status::kError;
  std::vector<CriterionOutcome> results;
  std::string started_at;  // RFC 3339 UTC
  std::string finished_at;
  uint64_t seed = 0;
  // Sharded audits only: the rows of the selection this shard measured.
  RowRange shard_rows;
};

// Throws InputError when the model or dataset cannot be loaded, when the threads exceed
// kMaxThreads, or when the dataset's labels name classes the model does not output (no report is
// written then);
// a criterion whose auditor throws, or whose model runs past its time budget or crashes, becomes
// ERROR and the others still run.
AuditOutcome RunAudit(const CriteriaFile& criteria, const AuditorRegistry& registry,
                      const AuditOptions& options = {});

// Checks every criterion against the loaded data before anything is measured (each auditor's
// CheckData: groups, values and columns that match no row). Needs no model. Throws InputError
// "<criteria file>:<line>:<col>: criterion <id>: <problem>".
void CheckCriteriaAgainstData(const CriteriaFile& criteria, const AuditorRegistry& registry,
                              const Dataset& dataset);

// A criterion's outcome before it is measured: the criterion, and its result's identity as the
// loader recorded it (id, metric, severity, threshold, confidence, reference, params, profile,
// overrides, line and line_file as loaded) with the metric's concern and unit.
CriterionOutcome NewOutcome(const Criterion& criterion, const AuditorRegistry& registry);

// Judges `measurement` against `criterion` into `result`: value, unit (the metric's `unit` when
// the measurement names none), interval, samples, method, deterministic, details, status and
// message.
void RecordMeasurement(const Criterion& criterion, Measurement measurement, std::string_view unit,
                       CriterionResult& result);

// Finalizes criterion `index`'s statistics, as merged from its work, and judges the measurement
// into `r.result` (RecordMeasurement): what RunAudit does after the work has run, and what
// `greenlight merge` does with the merged statistics of a sharded audit. Throws what Finalize
// throws.
void FinalizeCriterion(const CriteriaFile& criteria, size_t index, const Metric& metric,
                       const MetricStats& stats, ProgressSink* progress, CriterionOutcome& r);

EnvironmentInfo DescribeHost();

}  // namespace greenlight
