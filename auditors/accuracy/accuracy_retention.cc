// accuracy_retention: the model's accuracy as a fraction of a declared reference accuracy, the
// rule MLPerf Inference applies to a compressed or optimised model (it must reach 99 % or 99.9 %
// of the reference model's published accuracy). The reference is a declared figure, taken as
// exact: the interval is the accuracy's Wilson interval divided by it. Measuring the reference
// model in the same run is the compare metrics' job; this metric checks a published figure.
#include "auditors/accuracy/accuracy_metrics.h"
#include "core/stats.h"

namespace greenlight::accuracy {
namespace {

struct RetentionParams {
  std::optional<double> reference_accuracy;  // Required: the reference model's accuracy.
  std::string reference_source;              // Where the figure comes from (recorded as given).
};

class AccuracyRetentionMetric final
    : public TypedMetric<RetentionParams, ConfusionStats, OutputsRecord> {
 public:
  AccuracyRetentionMetric()
      : TypedMetric(DescribeMetric("accuracy_retention", "ratio", "safety",
                                   "accuracy divided by a declared reference accuracy (MLPerf's "
                                   "accuracy target for an optimised model)",
                                   /*needs_model=*/false, /*needs_labels=*/true),
                    ParamSchema<RetentionParams>()
                        .Field("reference_accuracy", &RetentionParams::reference_accuracy,
                               "the reference model's accuracy on the same task, as published",
                               Required(Between(0.01, 1)))
                        .Field("reference_source", &RetentionParams::reference_source,
                               "where the reference figure comes from (recorded in the report)")) {}

 protected:
  std::shared_ptr<const Work> Needs(const RetentionParams&) const override {
    return std::make_shared<OutputsWork>();  // The outputs pass every count metric shares.
  }
  ConfusionStats Accumulate(const RetentionParams&, const OutputsRecord& record,
                            const MetricInput& input) const override {
    return ConfusionStats::Of(record, input.rows);
  }
  Measurement Finalize(const RetentionParams& p, const ConfusionStats& s,
                       const FinalizeContext& ctx) const override {
    const int64_t n = s.rows();
    if (n == 0) throw InputError("the dataset has no rows");
    int64_t correct = 0;
    for (int64_t k = 0; k < s.classes; ++k)
      correct += s.counts[static_cast<size_t>(k * s.classes + k)];
    const double reference = *p.reference_accuracy;
    const double accuracy = static_cast<double>(correct) / static_cast<double>(n);
    Interval ci = stats::WilsonInterval(correct, n, ctx.confidence);
    ci.low /= reference;
    ci.high /= reference;
    ci.method += " of the accuracy, divided by the declared reference";
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.value = accuracy / reference;
    r.interval = ci;
    r.method =
        "count: (correct / rows) / declared reference accuracy; the reference is taken "
        "as exact";
    r.details = s.Details();
    r.details["correct"] = correct;
    r.details["accuracy"] = accuracy;
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
