// Model execution for an audit, supervised: everything that runs the model (loading it, the
// preflight, each work item of the plan with the Accumulate of every metric on it, each legacy
// auditor's Measure) runs in a worker process that the audit forks, under a time budget. The
// worker sends back what it measured as JSON (sufficient statistics, Measurements) and the audit
// finalizes and judges them. A model that does not answer within the budget is killed with its
// worker, a model that crashes takes only its worker down: the criteria that were waiting for it
// become ERROR with the reason, a fresh worker serves the criteria after them, and the audit goes
// on. docs/hardening.md ("A hung or crashing model") explains the choices.
//
// The audit process itself never loads the model nor touches its device: it reads the model file
// once (ModelSpec::bytes) and every worker, forked from it, loads the model from those bytes. That
// keeps read-once true across restarts and makes `device: cuda` work (a CUDA context does not
// survive fork, so it must only ever be created in the worker).
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/metric.h"
#include "core/result.h"
#include "datasets/dataset.h"
#include "engine/criteria.h"
#include "models/model_registry.h"

namespace greenlight {

// Budget of a criterion without time_budget_s, in seconds: long enough for every shipped criterion
// on a CPU (the slowest, attacks on thousands of rows, take minutes), short enough that a hung
// model ends the audit within the hour.
inline constexpr double kDefaultTimeBudgetS = 1800.0;
// Largest budget a criterion or --time-budget may ask for (one week), in seconds.
inline constexpr double kMaxTimeBudgetS = 604800.0;

// Rows a block of the rows pass holds (a multiple of kOutputsBatchRows): the work of every
// row-wise criterion (outputs, groups) runs block by block, so an audit holds one block of rows
// at a time (docs/datasets.md, "Streaming").
inline constexpr int64_t kRowsPassBlockRows = 16 * kOutputsBatchRows;

// What the model's side of an audit reads. All of it lives in the auditing process's memory,
// which a forked worker inherits: nothing is serialised to start a worker. Not owned; outlives
// the executor.
struct ModelSideInputs {
  const CriteriaFile* criteria = nullptr;
  const AuditorRegistry* registry = nullptr;
  const ModelRegistry* runtimes = nullptr;
  const DatasetSource* dataset = nullptr;
  std::optional<ModelSpec> model;       // With bytes set by the caller; absent in black-box mode.
  std::optional<ModelSpec> reference;   // The reference model, with bytes; absent unless compared.
  std::optional<ModelSpec> surrogate;   // The surrogate model, with bytes; absent unless declared.
  std::optional<int> threads;           // Intra-op threads (already checked against kMaxThreads).
  std::vector<MetricRequest> requests;  // One per criterion, in file order.
};

struct StartResult {
  std::optional<ModelInfo> info;            // Once the model is loaded (absent in black-box mode).
  std::optional<ModelInfo> reference_info;  // Once the reference model is loaded, if any.
  std::optional<ModelInfo> surrogate_info;  // Once the surrogate model is loaded, if any.
  int threads = 0;                          // Intra-op threads the model runs with.
  // Set when the model hung past the budget or crashed while loading or in the preflight; the
  // criteria are still measured, each in a fresh worker under its own budget.
  std::optional<std::string> failure;
};

// The statistics of one criterion on a work item, or why there are none.
struct WorkPart {
  size_t criterion = 0;
  std::unique_ptr<MetricStats> stats;  // Null when `error` is set.
  std::string error;
};

struct WorkResult {
  // The work itself failed (its own error, or the model hung or crashed): every criterion on it is
  // ERROR with this message.
  std::optional<std::string> error;
  std::vector<WorkPart> parts;  // Criteria on the item that were asked for, in file order.
};

struct LegacyResult {
  std::optional<Measurement> measurement;
  std::string error;  // When there is no measurement.
};

// Runs the model's side of an audit, in this process or in a supervised worker. Calls come from
// one thread, in this order: Start once, then RunWork / MeasureLegacy. Budgets are seconds of wall
// time from the call until its answer (a worker restarted for the call loads the model within it).
class ModelExecutor {
 public:
  virtual ~ModelExecutor() = default;
  // Loads the model (and the reference and surrogate models) and runs the preflight (one sample;
  // the labels checked against the model's outputs; the reference and the surrogate must output
  // as many classes, and the surrogate take the model's input). Throws
  // InputError / RuntimeError as loading and the preflight do.
  virtual StartResult Start(double budget_s) = 0;
  // Runs work item `item` of the plan (AuditPlan(criteria, registry).items()) and accumulates the
  // statistics of `criteria` (indices of criteria on that item) over all its rows.
  virtual WorkResult RunWork(size_t item, const std::vector<size_t>& criteria, double budget_s) = 0;
  // The legacy auditor's Measure for criterion `criterion`.
  virtual LegacyResult MeasureLegacy(size_t criterion, double budget_s) = 0;
};

// In this process, without budgets: for embedding and benchmarks, and for black-box audits (no
// model runs). `progress` may be null; not owned.
std::unique_ptr<ModelExecutor> MakeInProcessExecutor(ModelSideInputs inputs,
                                                     ProgressSink* progress);
// In a supervised worker process (POSIX). Progress the worker reports is forwarded to `progress`
// (may be null; not owned), on the calling thread. The calling process must not have run a model
// itself before (an in-process audit): LibTorch's OpenMP thread pool does not survive fork, and
// neither does a CUDA context.
std::unique_ptr<ModelExecutor> MakeSupervisedExecutor(ModelSideInputs inputs,
                                                      ProgressSink* progress);

// A Measurement as JSON and back, losslessly (non-finite numbers as the strings "nan", "inf",
// "-inf"): how a worker returns a legacy auditor's result.
nlohmann::json MeasurementToJson(const Measurement& m);
Measurement MeasurementFromJson(const nlohmann::json& j);

}  // namespace greenlight
