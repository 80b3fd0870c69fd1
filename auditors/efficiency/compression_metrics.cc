// Size and structure of a model, and of the model against its reference: sparsity and
// nonzero_parameters for any model, parameter_reduction and size_reduction against the criteria's
// reference model. The weights are read through the runtime's WeightInspection capability (no
// forward pass); sizes are the model files' bytes. All are exact counts (no interval).
#include <algorithm>

#include "auditors/efficiency/efficiency_metrics.h"
#include "core/json_limits.h"
#include "models/capabilities.h"

namespace greenlight {
namespace {

// The counts of one model, or of the model and the reference model: one row.
struct WeightsRecord final : WorkRecord {
  nlohmann::json facts;
  int64_t rows() const override { return 1; }
};

// The facts of the record's one row; null in a part of the rows without it. Merge keeps the one
// part that holds it.
struct WeightStats {
  nlohmann::json facts;
  void Merge(const WeightStats& other) {
    if (facts.is_null()) {
      facts = other.facts;
    } else if (!other.facts.is_null() && other.facts != facts) {
      throw RuntimeError("weight counts of different models cannot be merged");
    }
  }
  nlohmann::json ToJson() const { return facts; }
  static WeightStats FromJson(const nlohmann::json& j) { return {j}; }
};

nlohmann::json CountsOf(Model& model) {
  auto* weights = model.Capability<WeightInspection>();
  if (weights == nullptr) ThrowMissingCapability(model.MissingCapability<WeightInspection>());
  const WeightCounts c = weights->CountWeights();
  return {{"elements", c.elements},
          {"zeros", c.zeros},
          {"tensors", c.tensors},
          {"size_bytes", model.info().size_bytes},
          {"sha256", model.info().sha256}};
}

class WeightsWork final : public Work {
 public:
  explicit WeightsWork(bool with_reference) : with_reference_(with_reference) {}
  std::string key() const override { return with_reference_ ? "weights+reference" : "weights"; }
  // The weights do not depend on the rows: every shard would count the same.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    if (ctx.model() == nullptr) {
      throw InputError("this metric needs a model (this audit has recorded predictions only)");
    }
    auto record = std::make_shared<WeightsRecord>();
    record->facts = {{"model", CountsOf(*ctx.model())}};
    if (with_reference_) {
      if (ctx.reference() == nullptr) throw RuntimeError("the audit has no reference model");
      record->facts["reference"] = CountsOf(*ctx.reference());
    }
    return record;
  }

 private:
  bool with_reference_;
};

enum class Figure { kSparsity, kNonzero, kParameterReduction, kSizeReduction };

struct ReductionParams {
  std::string count = "all";  // parameter_reduction: "all" elements or "nonzero" ones.
};

class WeightMetric final : public TypedMetric<ReductionParams, WeightStats, WeightsRecord> {
 public:
  WeightMetric(MetricSpec spec, ParamSchema<ReductionParams> schema, Figure figure)
      : TypedMetric(std::move(spec), std::move(schema)), figure_(figure) {}

 protected:
  std::shared_ptr<const Work> Needs(const ReductionParams&) const override {
    return std::make_shared<WeightsWork>(Compares());
  }
  WeightStats Accumulate(const ReductionParams&, const WeightsRecord& record,
                         const MetricInput& input) const override {
    const bool holds_row = input.rows.begin <= 0 && input.rows.end >= 1;
    return {holds_row ? record.facts : nlohmann::json()};
  }
  Measurement Finalize(const ReductionParams& p, const WeightStats& stats,
                       const FinalizeContext&) const override {
    if (stats.facts.is_null()) throw RuntimeError(spec().name + ": the weight counts are missing");
    const nlohmann::json& model = stats.facts.at("model");
    const auto elements = JsonInteger<int64_t>(model.at("elements"), "elements");
    const auto zeros = JsonInteger<int64_t>(model.at("zeros"), "zeros");
    Measurement m;
    m.samples = 1;
    m.details = stats.facts;
    switch (figure_) {
      case Figure::kSparsity:
        if (elements == 0) throw InputError("the model has no weights");
        m.value = static_cast<double>(zeros) / static_cast<double>(elements);
        m.unit = "ratio";
        m.method = "count: exactly-zero weight elements / weight elements (quantized: dequantized)";
        break;
      case Figure::kNonzero:
        m.value = static_cast<double>(elements - zeros);
        m.unit = "count";
        m.method = "count: weight elements that are not exactly zero";
        break;
      case Figure::kParameterReduction: {
        const nlohmann::json& ref = stats.facts.at("reference");
        const bool nonzero = p.count == "nonzero";
        const auto of = [&](const nlohmann::json& f) {
          return static_cast<double>(JsonInteger<int64_t>(f.at("elements"), "elements") -
                                     (nonzero ? JsonInteger<int64_t>(f.at("zeros"), "zeros") : 0));
        };
        if (of(ref) == 0) throw InputError("the reference model has no such weights");
        m.value = 1.0 - of(model) / of(ref);
        m.unit = "ratio";
        m.method = std::string("count: 1 - model / reference ") +
                   (nonzero ? "nonzero weight elements" : "weight elements");
        break;
      }
      case Figure::kSizeReduction: {
        const auto ref =
            JsonInteger<int64_t>(stats.facts.at("reference").at("size_bytes"), "size_bytes");
        if (ref == 0) throw InputError("the reference model file is empty");
        m.value =
            1.0 - static_cast<double>(JsonInteger<int64_t>(model.at("size_bytes"), "size_bytes")) /
                      static_cast<double>(ref);
        m.unit = "ratio";
        m.method = "count: 1 - model file bytes / reference model file bytes";
        break;
      }
    }
    return m;
  }

 private:
  bool Compares() const {
    return figure_ == Figure::kParameterReduction || figure_ == Figure::kSizeReduction;
  }
  Figure figure_;
};

MetricSpec Spec(std::string name, std::string unit, std::string description, bool reference) {
  MetricSpec spec = DescribeMetric(std::move(name), std::move(unit), "efficiency",
                                   std::move(description), /*needs_model=*/true,
                                   /*needs_labels=*/false);
  spec.needs_reference = reference;
  return spec;
}

}  // namespace

namespace efficiency {

std::unique_ptr<Metric> MakeSparsity() {
  return std::make_unique<WeightMetric>(
      Spec("sparsity", "ratio", "share of weight elements that are exactly zero", false),
      ParamSchema<ReductionParams>(), Figure::kSparsity);
}

std::unique_ptr<Metric> MakeNonzeroParameters() {
  return std::make_unique<WeightMetric>(
      Spec("nonzero_parameters", "count", "weight elements that are not exactly zero", false),
      ParamSchema<ReductionParams>(), Figure::kNonzero);
}

std::unique_ptr<Metric> MakeParameterReduction() {
  return std::make_unique<WeightMetric>(
      Spec("parameter_reduction", "ratio",
           "1 - the model's weight elements / the reference model's", true),
      ParamSchema<ReductionParams>().Field(
          "count", &ReductionParams::count,
          "which elements count: all, or nonzero ones (what pruning removes)",
          OneOf({"all", "nonzero"})),
      Figure::kParameterReduction);
}

std::unique_ptr<Metric> MakeSizeReduction() {
  return std::make_unique<WeightMetric>(
      Spec("size_reduction", "ratio", "1 - the model file's bytes / the reference model file's",
           true),
      ParamSchema<ReductionParams>(), Figure::kSizeReduction);
}

}  // namespace efficiency
}  // namespace greenlight
