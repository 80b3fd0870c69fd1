// The metric catalog (AuditorRegistry), the per-run AuditContext, and the legacy Auditor path.
//
// Metrics are written on the metric framework (auditors/metric.h, docs/metrics-framework.md):
// typed parameters bound at load, work shared through the engine's plan, accumulate / merge /
// finalize. RegisterMetric enters them into this registry. The Auditor interface below is the
// legacy entry type of this registry: every built-in metric is now on the framework and enters
// it through RegisterMetric's adapter. Either way, code here measures; the engine judges, and
// nothing prints: progress goes through AuditContext, results are returned as data.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "datasets/dataset.h"
#include "models/model.h"

namespace greenlight {

enum class ParamType {
  kNumber,
  kInteger,
  kString,
  kBool,
  kStringList,
  kNumberList,
  kIntegerList,
  kStringOrList,
  kObject
};
std::string_view ParamTypeName(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kNumber;
  std::string description;
  nlohmann::json default_value;  // null: no default (optional unless `required`).
  bool required = false;
  std::vector<std::string> choices;  // For strings: the allowed values (empty: any).
};

// One metric in the catalog (`greenlight metrics` lists them all).
struct MetricSpec {
  std::string name;     // "accuracy", "latency_p99_ms", ...
  std::string unit;     // "ratio", "ms", "mJ", ...
  std::string concern;  // "safety" | "efficiency" | "fairness"
  std::string description;
  std::vector<ParamSpec> params;
  bool needs_model = true;   // false: works on recorded predictions (black-box mode).
  bool needs_labels = true;  // true: SKIPPED when the dataset has no label.
  // true: compares the model with the reference model (criteria reference:); the loader rejects
  // the criterion without one. A metric may need it for some parameters only
  // (Metric::NeedsReference).
  bool needs_reference = false;
};

// Legacy path: what the engine asks an auditor to measure for one criterion.
struct MetricRequest {
  std::string criterion_id;
  std::string metric;
  nlohmann::json params = nlohmann::json::object();  // Validated against the MetricSpec.
  double confidence = 0.95;  // Level for intervals: the criterion's, else 0.95.
  uint64_t seed = 0;         // Run seed (settings.seed), for bootstraps and random inputs.

  // Typed access with the spec's default applied by the engine before the call.
  template <typename T>
  T Param(const std::string& name, const T& fallback) const {
    auto it = params.find(name);
    if (it == params.end() || it->is_null()) return fallback;
    return it->get<T>();
  }
};

// Classifier outputs for every dataset row, computed once per run and shared.
struct ClassifierOutputs {
  int64_t rows = 0;
  int64_t classes = 0;
  std::vector<double> probabilities;  // rows × classes; empty in black-box mode without scores.
  std::vector<int64_t> predicted;     // rows; argmax (or the recorded decision).
  // Binary problems: score of class 1 per row (model probability, or the recorded score column);
  // empty otherwise.
  std::vector<double> positive_scores;
  std::string source;  // "model:<sha256>" or "recorded:<column>"
};

// Receives progress of long steps (the CLI draws it on a terminal). Thread-compatible.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Update(std::string_view criterion_id, std::string_view step, double fraction) = 0;
};

// Rows per forward call of the outputs pass (AuditContext::Outputs). Sharded audits cut their
// slices on multiples of it, so every row is in the same batch as in a single-process audit.
inline constexpr int64_t kOutputsBatchRows = 256;

// Per-run state handed to work items: the model (null in black-box mode), the dataset, the
// outputs pass, progress. Work is shared through the engine's plan (auditors/metric.h).
// Single-threaded: criteria run one after another.
class AuditContext {
 public:
  // `source` must outlive the context.
  AuditContext(Model* model, const DatasetSource& source, uint64_t seed, ProgressSink* progress);
  // Over rows already in memory (one block of the rows pass, tests): `dataset` must outlive it.
  AuditContext(Model* model, const Dataset& dataset, uint64_t seed, ProgressSink* progress);

  Model* model() const { return model_; }
  // The reference model (criteria reference:), or null. Not owned; set before any work runs.
  Model* reference() const { return reference_; }
  void SetReference(Model* reference) { reference_ = reference; }
  // The surrogate model (criteria surrogate:) that transfer attacks may be crafted on, or null.
  // Not owned; set before any work runs.
  Model* surrogate() const { return surrogate_; }
  void SetSurrogate(Model* surrogate) { surrogate_ = surrogate; }
  // The audited rows, as the source reads them.
  const DatasetSource& source() const { return source_; }
  // The first min(n, rows) rows in memory, every row when n <= 0. The dataset may hold more rows
  // than asked for (rows already in memory are not copied); read only the first ones. Work that
  // uses a bounded number of rows (attacks, probes, timed queries) asks for those, so that an
  // audit never holds a large dataset in memory for them. Valid until the next call.
  const Dataset& Rows(int64_t n) const;
  // Every row in memory: Rows(0). The work of the rows pass (outputs, groups) runs on contexts
  // over one block of rows each, where this copies nothing.
  const Dataset& dataset() const { return Rows(0); }
  uint64_t seed() const { return seed_; }
  void Progress(std::string_view criterion_id, std::string_view step, double fraction) const;

  // Forward passes over the whole dataset (batched), or the recorded predictions in black-box mode.
  const ClassifierOutputs& Outputs(std::string_view criterion_id = "");
  // The reference model's forward passes over the same rows. Throws RuntimeError without one.
  const ClassifierOutputs& ReferenceOutputs(std::string_view criterion_id = "");

 private:
  Model* model_;
  Model* reference_ = nullptr;
  Model* surrogate_ = nullptr;
  std::optional<ClassifierOutputs> reference_outputs_;
  // Every row through `model` in batches, with progress reported as `step`.
  ClassifierOutputs ForwardAll(Model& model, std::string_view step,
                               std::string_view criterion_id) const;
  std::unique_ptr<DatasetSource> owned_source_;  // When built over a Dataset.
  const DatasetSource& source_;
  mutable std::unique_ptr<Dataset> head_;  // Rows(n) when the source does not hold them.
  uint64_t seed_;
  ProgressSink* progress_;
  std::optional<ClassifierOutputs> outputs_;
};

// Legacy path: one implementation per concern. New metrics implement Metric (auditors/metric.h).
class Auditor {
 public:
  virtual ~Auditor() = default;
  virtual std::vector<MetricSpec> metrics() const = 0;
  // Called for every criterion once the dataset is loaded and before anything is measured (and by
  // `validate --data`, without a model). Throws InputError when the request names data that is
  // not there (a column, a group or value that matches no row), so the run stops as bad input
  // instead of measuring something else.
  virtual void CheckData(const MetricRequest& /*request*/, const Dataset& /*data*/) const {}
  // Measures request.metric. Throws greenlight::Error (or any std::exception) when it cannot; the
  // engine records ERROR with the message and carries on with the other criteria.
  virtual Measurement Measure(const MetricRequest& request, AuditContext& context) = 0;
};

// The metric catalog: which auditor measures which metric (framework metrics through an adapter
// Auditor; see RegisterMetric and FindFrameworkMetric in auditors/metric.h).
class AuditorRegistry {
 public:
  // Throws RuntimeError when a metric name is registered twice.
  void Register(std::unique_ptr<Auditor> auditor);
  Auditor* FindAuditor(std::string_view metric) const;
  const MetricSpec* FindMetric(std::string_view metric) const;
  std::vector<MetricSpec> AllMetrics() const;  // Sorted by concern, then name.
  // Up to `n` registered names closest to `name` (edit distance), for "did you mean" hints.
  std::vector<std::string> ClosestMetrics(std::string_view name, size_t n = 3) const;

 private:
  std::vector<std::unique_ptr<Auditor>> auditors_;
  std::map<std::string, std::pair<Auditor*, MetricSpec>, std::less<>> metrics_;
};

// Registers every built-in concern explicitly (no static initialisers a linker could drop).
void RegisterBuiltinAuditors(AuditorRegistry& registry);

}  // namespace greenlight
