// accuracy_retention: the model's accuracy as a fraction of a reference accuracy, the rule MLPerf
// Inference applies to a compressed or optimised model (it must reach 99 % or 99.9 % of the
// reference model's accuracy). The reference is either a declared figure (reference_accuracy),
// taken as exact: the interval is the accuracy's Wilson interval divided by it; or, without one,
// the reference model of the audit (criteria reference:) measured on the same rows: the ratio of
// the paired accuracies, with the paired log-ratio interval (PairedRatioInterval).
#include "auditors/accuracy/accuracy_metrics.h"
#include "core/stats.h"

namespace greenlight::accuracy {
namespace {

struct RetentionParams {
  // The reference model's published accuracy; absent: the audit's reference model is measured.
  std::optional<double> reference_accuracy;
  std::string reference_source;  // Where the figure comes from (recorded as given).
};

// The confusion counts, plus the paired table when measured against the reference model.
struct RetentionStats {
  ConfusionStats confusion;
  std::optional<PairedCounts> paired;

  void Merge(const RetentionStats& other) {
    if (paired.has_value() != other.paired.has_value()) {
      throw RuntimeError("accuracy_retention: declared and measured references do not merge");
    }
    confusion.Merge(other.confusion);
    if (paired) paired->Merge(*other.paired);
  }
  nlohmann::json ToJson() const {
    // Without a reference model the statistics are the confusion counts, as before.
    if (!paired) return confusion.ToJson();
    return {{"confusion", confusion.ToJson()}, {"paired", paired->ToJson()}};
  }
  static RetentionStats FromJson(const nlohmann::json& json) {
    RetentionStats s;
    if (json.contains("paired")) {
      s.confusion = ConfusionStats::FromJson(json.at("confusion"));
      s.paired = PairedCounts::FromJson(json.at("paired"));
    } else {
      s.confusion = ConfusionStats::FromJson(json);
    }
    return s;
  }
};

class AccuracyRetentionMetric final
    : public TypedMetric<RetentionParams, RetentionStats, OutputsRecord> {
 public:
  AccuracyRetentionMetric()
      : TypedMetric(DescribeMetric("accuracy_retention", "ratio", "safety",
                                   "accuracy divided by the reference accuracy: a declared figure, "
                                   "or the reference model's on the same rows (MLPerf's accuracy "
                                   "target for an optimised model)",
                                   /*needs_model=*/false, /*needs_labels=*/true),
                    ParamSchema<RetentionParams>()
                        .Field("reference_accuracy", &RetentionParams::reference_accuracy,
                               "the reference model's accuracy on the same task, as published "
                               "(absent: the reference model of the audit is measured)",
                               Between(0.01, 1))
                        .Field("reference_source", &RetentionParams::reference_source,
                               "where the reference figure comes from (recorded in the report)")) {}

 protected:
  bool UsesReference(const RetentionParams& p) const override {
    return !p.reference_accuracy.has_value();
  }
  std::shared_ptr<const Work> Needs(const RetentionParams& p) const override {
    // The outputs pass every count metric shares, or both models' passes.
    if (p.reference_accuracy) return std::make_shared<OutputsWork>();
    return std::make_shared<PairedOutputsWork>();
  }
  RetentionStats Accumulate(const RetentionParams& p, const OutputsRecord& record,
                            const MetricInput& input) const override {
    RetentionStats s;
    s.confusion = ConfusionStats::Of(record, input.rows);
    if (!p.reference_accuracy) s.paired = PairedCounts::Of(record, input.rows);
    return s;
  }
  Measurement Finalize(const RetentionParams& p, const RetentionStats& stats,
                       const FinalizeContext& ctx) const override {
    const ConfusionStats& s = stats.confusion;
    const int64_t n = s.rows();
    if (n == 0) throw InputError("the dataset has no rows");
    int64_t correct = 0;
    for (int64_t k = 0; k < s.classes; ++k)
      correct += s.counts[static_cast<size_t>(k * s.classes + k)];
    const double accuracy = static_cast<double>(correct) / static_cast<double>(n);
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.details = s.Details();
    r.details["correct"] = correct;
    r.details["accuracy"] = accuracy;
    if (stats.paired) {
      const PairedCounts& paired = *stats.paired;
      const int64_t reference_correct = paired.both_correct + paired.reference_only;
      if (reference_correct == 0) {
        throw InputError("the reference model classifies no row correctly: no ratio");
      }
      r.value = static_cast<double>(paired.both_correct + paired.model_only) /
                static_cast<double>(reference_correct);
      r.interval = PairedRatioInterval(paired, ctx.confidence);
      r.method =
          "paired count: model correct / reference model correct, on the same rows; paired "
          "log-ratio interval (delta method, Bonett-Price adjusted counts)";
      r.details.update(paired.Details());
      return r;
    }
    const double reference = *p.reference_accuracy;
    Interval ci = stats::WilsonInterval(correct, n, ctx.confidence);
    ci.low /= reference;
    ci.high /= reference;
    ci.method += " of the accuracy, divided by the declared reference";
    r.value = accuracy / reference;
    r.interval = ci;
    r.method =
        "count: (correct / rows) / declared reference accuracy; the reference is taken "
        "as exact";
    r.details["reference_accuracy"] = reference;
    r.details["reference_source"] = p.reference_source;
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeAccuracyRetention() {
  return std::make_unique<AccuracyRetentionMetric>();
}

}  // namespace greenlight::accuracy
