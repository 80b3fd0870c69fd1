// The metric framework: a metric binds typed parameters when criteria load, names the work it
// needs (the engine's plan runs each distinct piece of work once), accumulates typed sufficient
// statistics over a range of that work's rows, merges partial statistics exactly, and finalizes
// value and interval from the merged statistics. docs/metrics-framework.md shows how to add one;
// auditors/accuracy/accuracy_metrics.cc is the worked example.
//
// Flow for one criterion:
//   load:     params JSON --Bind--> BoundParams (errors carry file:line:col)
//   plan:     Needs(params) -> Work; criteria whose Work has the same key() share one run
//   run:      Work::Run -> immutable WorkRecord (outputs of every row, a timed run, an attack, ...)
//   measure:  Accumulate(params, record, rows [b, e)) -> stats; Merge(stats, stats) for partials
//   finalize: Finalize(params, stats, {seed, confidence}) -> Measurement; the engine judges it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/params.h"
#include "core/error.h"
#include "core/result.h"

namespace greenlight {

// The immutable product of one piece of work. `rows()` is the number of units a RowRange indexes
// (dataset rows for an outputs pass, queries for a timed run, attacked samples for an attack).
class WorkRecord {
 public:
  virtual ~WorkRecord() = default;
  virtual int64_t rows() const = 0;
};

// Measured around a work item's timed window (an energy meter around a latency run). A metric
// that needs one returns it from Metric::MakeInstrument; the plan attaches every instrument of a
// work item's criteria (one per distinct key()) and passes them to Work::Run, which calls Begin
// immediately before its first timed query and End immediately after its last, on the thread
// that runs the model. The metric then reads Reading() through MetricInput::reading.
class Instrument {
 public:
  virtual ~Instrument() = default;
  virtual std::string key() const = 0;
  virtual void Begin() = 0;
  virtual void End() = 0;
  // A run measured in repetitions (the timing harness) also calls BeginRepetition(r) and
  // EndRepetition(r), r = 1, 2, ..., between Begin and End around each repetition's queries, so
  // an instrument can read one figure per repetition. Default: ignored.
  virtual void BeginRepetition(int /*repetition*/) {}
  virtual void EndRepetition(int /*repetition*/) {}
  // Valid after End(); null when the instrument did not run.
  virtual std::shared_ptr<const WorkRecord> Reading() const = 0;
};

// How a work item behaves in a sharded audit (`audit --shard I/N`, engine/shard.h), where each
// shard's model sees only its contiguous slice of the dataset rows.
enum class Sharding {
  // Cannot be split exactly (an attack or an OOD set drawn from all rows, a sweep): a sharded
  // audit refuses its criteria as bad input.
  kUnsplittable,
  // The record's rows are the dataset rows in order: run on a slice, its statistics are the
  // slice's, and merging the shards' statistics in shard order gives the whole run's.
  kRows,
  // Measured once, on the one shard that is asked to (`--time-on-shard`): a property of the
  // model (its weights, parameters, FLOPs) or of the node it runs on (timed runs, energy).
  kOnce,
};

// One shareable piece of work. Two criteria share it when their Work objects have equal key():
// build the key from the kind of work and CanonicalText of exactly the settings it depends on.
class Work {
 public:
  virtual ~Work() = default;
  virtual std::string key() const = 0;
  // Default: unsplittable; override only when the statement of the chosen kind holds.
  virtual Sharding sharding() const { return Sharding::kUnsplittable; }
  // The same work with the reference model's outputs beside the model's, on the same rows, for
  // the comparison metrics (metric_delta, metric_retention) that run a metric on both models.
  // Its record is the same type, with the reference's outputs set; or, for the run of a metric
  // paired by per-row outcomes (an attack, a corruption run), a PairedWork whose PairedRecord
  // holds that run for both models (auditors/paired_outcomes.h). Null (the default) when the work
  // has nothing row-wise to pair (timed runs, OOD sets, probes, model facts).
  virtual std::shared_ptr<const Work> WithReference() const { return nullptr; }
  // Runs once per audit. Throws greenlight::Error when it cannot (every criterion that needs it
  // is then ERROR with that message). `instruments` are not owned and outlive the call.
  virtual std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                                std::span<Instrument* const> instruments) const = 0;
};

// A slice [begin, end) of a work record's rows.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
};

// What a metric reads when accumulating.
struct MetricInput {
  const WorkRecord& record;
  const WorkRecord* reading = nullptr;  // The instrument's reading, when the metric has one.
  RowRange rows;
};

// What Finalize needs besides the statistics.
struct FinalizeContext {
  uint64_t seed = 0;         // Run seed, for bootstraps.
  double confidence = 0.95;  // Interval level.
  // Progress of long finalizations (bootstraps), fraction in [0, 1]; may be empty.
  std::function<void(double)> progress;
  // The caller reads Measurement::value only (a comparison metric's bootstrap resamples): a
  // metric may then skip an interval that costs a resampling of its own. The value must not
  // depend on it.
  bool value_only = false;
};

// Type-erased sufficient statistics. ToJson is lossless: Metric::StatsFromJson(ToJson()) finalizes
// to the same result, so partial audits can travel between machines.
class MetricStats {
 public:
  virtual ~MetricStats() = default;
  virtual nlohmann::json ToJson() const = 0;
};

// The type-erased metric the registry and the engine use. Implement it through TypedMetric.
class Metric {
 public:
  virtual ~Metric() = default;
  virtual const MetricSpec& spec() const = 0;
  // Each parameter's domain, by name (for the catalog).
  virtual std::map<std::string, ParamDomain> domains() const = 0;
  // Throws ParamError naming the offending parameter.
  virtual std::shared_ptr<const BoundParams> Bind(const nlohmann::json& params) const = 0;
  // Checks the bound parameters against the loaded data before anything is measured (and for
  // `validate --data`; no model): throws InputError when they name data that is not there (a
  // column, a group that matches no row), so the run stops as bad input.
  virtual void CheckData(const BoundParams& /*params*/, const Dataset& /*data*/) const {}
  // Checks the bound parameters against the model the criteria declare (model:, e.g. its
  // context_length) when the criteria load: throws ParamError naming the parameter, so the run
  // stops as bad input at its place before any model is loaded. Default: nothing to check.
  virtual void CheckModel(const BoundParams& /*params*/, const ModelSpec& /*model*/) const {}
  virtual std::shared_ptr<const Work> Needs(const BoundParams& params) const = 0;
  // Whether the criterion compares with the reference model (criteria reference:), so the loader
  // can reject it without one, naming the criterion. Default: spec().needs_reference.
  virtual bool NeedsReference(const BoundParams& /*params*/) const {
    return spec().needs_reference;
  }
  // Whether the criterion crafts on the surrogate model (criteria surrogate:), so the loader can
  // reject it without one and reject a surrogate no criterion uses. Default: false.
  virtual bool NeedsSurrogate(const BoundParams& /*params*/) const { return false; }
  virtual std::shared_ptr<Instrument> MakeInstrument(const BoundParams& /*params*/) const {
    return nullptr;
  }
  // Throws greenlight::Error when the record cannot give this metric (e.g. k > classes).
  virtual std::unique_ptr<MetricStats> Accumulate(const BoundParams& params,
                                                  const MetricInput& input) const = 0;
  // Adds `part` into `into`. Exact: merging the statistics of consecutive row ranges, in row
  // order, gives the statistics of their union. Throws RuntimeError on incompatible partials.
  virtual void Merge(MetricStats& into, const MetricStats& part) const = 0;
  virtual std::unique_ptr<MetricStats> StatsFromJson(const nlohmann::json& json) const = 0;
  virtual Measurement Finalize(const BoundParams& params, const MetricStats& stats,
                               const FinalizeContext& context) const = 0;
};

// A catalog entry for a framework metric (its params come from the ParamSchema).
inline MetricSpec DescribeMetric(std::string name, std::string unit, std::string concern,
                                 std::string description, bool needs_model, bool needs_labels) {
  MetricSpec spec;
  spec.name = std::move(name);
  spec.unit = std::move(unit);
  spec.concern = std::move(concern);
  spec.description = std::move(description);
  spec.needs_model = needs_model;
  spec.needs_labels = needs_labels;
  return spec;
}

// Registers a framework metric in the catalog. This is the one registration line of a metric
// (auditors/builtin.cc). The registry holds it through an adapter Auditor, so the catalog, the
// loader's name lookup and "did you mean" treat both paths alike.
void RegisterMetric(AuditorRegistry& registry, std::unique_ptr<Metric> metric);
// The framework metric registered under `name`, or null (unknown, or measured by a legacy auditor).
const Metric* FindFrameworkMetric(const AuditorRegistry& registry, std::string_view name);
// Every framework metric, sorted by concern then name.
std::vector<const Metric*> FrameworkMetrics(const AuditorRegistry& registry);
// Names of the metrics still measured by a legacy auditor, sorted by concern then name.
std::vector<std::string> LegacyMetrics(const AuditorRegistry& registry);

// Accumulate over input.rows, then Finalize: the unsplit measurement.
Measurement MeasureRows(const Metric& metric, const BoundParams& params, const MetricInput& input,
                        const FinalizeContext& context);

// The typed base every metric derives from.
//   P: the parameter struct (bound by `schema`).
//   S: the statistics: copyable, with `void Merge(const S&)`, `nlohmann::json ToJson() const` and
//      `static S FromJson(const nlohmann::json&)`.
//   R: the WorkRecord type that Needs() yields.
template <typename P, typename S, typename R>
class TypedMetric : public Metric {
 public:
  TypedMetric(MetricSpec spec, ParamSchema<P> schema)
      : spec_(std::move(spec)), schema_(std::move(schema)) {
    spec_.params = schema_.Specs();
  }

  const MetricSpec& spec() const final { return spec_; }
  std::map<std::string, ParamDomain> domains() const final { return schema_.Domains(); }
  std::shared_ptr<const BoundParams> Bind(const nlohmann::json& params) const final {
    return schema_.Bind(params);
  }
  void CheckData(const BoundParams& params, const Dataset& data) const final {
    CheckData(Typed(params), data);
  }
  void CheckModel(const BoundParams& params, const ModelSpec& model) const final {
    CheckModel(Typed(params), model);
  }
  std::shared_ptr<const Work> Needs(const BoundParams& params) const final {
    return Needs(Typed(params));
  }
  bool NeedsReference(const BoundParams& params) const final {
    return UsesReference(Typed(params));
  }
  bool NeedsSurrogate(const BoundParams& params) const final {
    return UsesSurrogate(Typed(params));
  }
  std::unique_ptr<MetricStats> Accumulate(const BoundParams& params,
                                          const MetricInput& input) const final {
    const auto* record = dynamic_cast<const R*>(&input.record);
    if (record == nullptr) throw RuntimeError(spec_.name + ": work record of the wrong kind");
    return std::make_unique<Stats>(Accumulate(Typed(params), *record, input));
  }
  void Merge(MetricStats& into, const MetricStats& part) const final {
    Cast(into).value.Merge(Cast(part).value);
  }
  std::unique_ptr<MetricStats> StatsFromJson(const nlohmann::json& json) const final {
    return std::make_unique<Stats>(S::FromJson(json));
  }
  Measurement Finalize(const BoundParams& params, const MetricStats& stats,
                       const FinalizeContext& context) const final {
    return Finalize(Typed(params), Cast(stats).value, context);
  }

 protected:
  virtual void CheckData(const P& /*params*/, const Dataset& /*data*/) const {}
  virtual void CheckModel(const P& /*params*/, const ModelSpec& /*model*/) const {}
  virtual std::shared_ptr<const Work> Needs(const P& params) const = 0;
  // Override when only some parameters compare with the reference model.
  virtual bool UsesReference(const P& /*params*/) const { return spec_.needs_reference; }
  // Override when some parameters craft on the surrogate model.
  virtual bool UsesSurrogate(const P& /*params*/) const { return false; }
  virtual S Accumulate(const P& params, const R& record, const MetricInput& input) const = 0;
  virtual Measurement Finalize(const P& params, const S& stats,
                               const FinalizeContext& context) const = 0;

 private:
  struct Stats final : MetricStats {
    explicit Stats(S v) : value(std::move(v)) {}
    nlohmann::json ToJson() const override { return value.ToJson(); }
    S value;
  };
  const P& Typed(const BoundParams& params) const {
    const auto* bound = dynamic_cast<const Bound<P>*>(&params);
    if (bound == nullptr) throw RuntimeError(spec_.name + ": parameters bound by another metric");
    return bound->value;
  }
  static Stats& Cast(MetricStats& s) { return dynamic_cast<Stats&>(s); }
  static const Stats& Cast(const MetricStats& s) { return dynamic_cast<const Stats&>(s); }

  MetricSpec spec_;
  ParamSchema<P> schema_;
};

// The classifier outputs of every dataset row with their labels: the work of every metric that
// reads predictions (accuracy; calibration when it moves; fairness reads the same outputs beside
// its groups). Computed once per audit by AuditContext::Outputs, shared with the legacy path.
struct OutputsRecord final : WorkRecord {
  const ClassifierOutputs* outputs = nullptr;  // Owned by the AuditContext (or the caller).
  // The reference model's outputs on the same rows, in the same order (PairedOutputsWork); null
  // for the model's outputs alone. Owned like `outputs`.
  const ClassifierOutputs* reference = nullptr;
  std::span<const int64_t> labels;  // Empty when the dataset has no labels.
  int64_t classes = 0;  // max(output classes, dataset classes): the confusion matrix's side.
  int64_t rows() const override { return outputs->rows; }
};

class OutputsWork final : public Work {
 public:
  std::string key() const override { return "outputs"; }
  Sharding sharding() const override { return Sharding::kRows; }
  std::shared_ptr<const Work> WithReference() const override;  // PairedOutputsWork.
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const> instruments) const override;
};

// The model's and the reference model's outputs on every row (an OutputsRecord with `reference`
// set): the work of the paired metrics, which compare the two models row by row. The model's pass
// is the one OutputsWork uses (AuditContext keeps it), so only the reference's pass is extra.
// Throws RuntimeError when the audit has no reference model.
class PairedOutputsWork final : public Work {
 public:
  std::string key() const override { return "outputs+reference"; }
  Sharding sharding() const override { return Sharding::kRows; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const> instruments) const override;
};

}  // namespace greenlight
