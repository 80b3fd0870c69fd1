// accuracy: the share of rows whose predicted class is the label, with a Wilson score interval.
// The smallest metric of the framework: no parameters, confusion counts as statistics.
#include "auditors/accuracy/accuracy_metrics.h"
#include "core/stats.h"

namespace greenlight::accuracy {
namespace {

struct NoParams {};

class AccuracyMetric final : public TypedMetric<NoParams, ConfusionStats, OutputsRecord> {
 public:
  AccuracyMetric()
      : TypedMetric(DescribeMetric("accuracy", "ratio", "safety",
                                   "share of rows whose predicted class is the label",
                                   /*needs_model=*/false, /*needs_labels=*/true),
                    ParamSchema<NoParams>()) {}

 protected:
  std::shared_ptr<const Work> Needs(const NoParams&) const override {
    return std::make_shared<OutputsWork>();
  }
  ConfusionStats Accumulate(const NoParams&, const OutputsRecord& record,
                            const MetricInput& input) const override {
    return ConfusionStats::Of(record, input.rows);
  }
  Measurement Finalize(const NoParams&, const ConfusionStats& s,
                       const FinalizeContext& ctx) const override {
    const int64_t n = s.rows();
    if (n == 0) throw InputError("the dataset has no rows");
    int64_t correct = 0;
    for (int64_t k = 0; k < s.classes; ++k)
      correct += s.counts[static_cast<size_t>(k * s.classes + k)];
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.value = static_cast<double>(correct) / static_cast<double>(n);
    if (ctx.value_only) return r;
    r.interval = stats::WilsonInterval(correct, n, ctx.confidence);
    r.method = "count: correct / rows; Wilson score interval";
    r.details = s.Details();
    r.details["correct"] = correct;
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeAccuracy() { return std::make_unique<AccuracyMetric>(); }

}  // namespace greenlight::accuracy
