// precision, recall and f1: per class or averaged over classes. Intervals: Wilson for a proportion
// (one class's precision or recall; micro averages, which equal accuracy); otherwise the
// delta-method variance from the confusion cells read as an effective number of trials
// (DeltaScoreInterval). A percentile bootstrap over rows (multinomial draws over the confusion
// cells, the same distribution) is available with `interval: bootstrap`; it under-covers with rare
// classes or near-perfect classifiers in small samples (docs/statistics.md). One class serves the
// three metrics; each is registered under its own name.

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/random.h"
#include "core/stats.h"

namespace greenlight::accuracy {
namespace {

struct ClassScoreParams {
  std::string average = "macro";
  std::optional<int64_t> cls;
  std::string interval = "delta";
  int64_t bootstrap_resamples = kDefaultResamples;
};

ParamSchema<ClassScoreParams> Schema() {
  return ParamSchema<ClassScoreParams>()
      .Field("average", &ClassScoreParams::average, "how per-class scores are combined",
             OneOf({"macro", "weighted", "micro"}))
      .Field("class", &ClassScoreParams::cls, "report this class's score instead of an average",
             AtLeast(0))
      .Field("interval", &ClassScoreParams::interval,
             "interval of averaged scores and one class's F1: delta (delta method, effective-n "
             "Wilson) or bootstrap (percentile bootstrap over rows)",
             OneOf({"delta", "bootstrap"}))
      .Field("bootstrap_resamples", &ClassScoreParams::bootstrap_resamples,
             "percentile-bootstrap resamples (with interval: bootstrap)", AtLeast(kMinResamples));
}

class ClassScoreMetric final : public TypedMetric<ClassScoreParams, ConfusionStats, OutputsRecord> {
 public:
  ClassScoreMetric(std::string name, std::string description)
      : TypedMetric(DescribeMetric(std::move(name), "ratio", "safety", std::move(description),
                                   /*needs_model=*/false, /*needs_labels=*/true),
                    Schema()) {}

 protected:
  std::shared_ptr<const Work> Needs(const ClassScoreParams&) const override {
    return std::make_shared<OutputsWork>();
  }
  ConfusionStats Accumulate(const ClassScoreParams&, const OutputsRecord& record,
                            const MetricInput& input) const override {
    return ConfusionStats::Of(record, input.rows);
  }
  Measurement Finalize(const ClassScoreParams& p, const ConfusionStats& s,
                       const FinalizeContext& ctx) const override {
    const std::string& metric = spec().name;
    const int64_t n = s.rows();
    const int64_t classes = s.classes;
    if (n == 0) throw InputError("the dataset has no rows");
    if (p.cls && *p.cls >= classes) {
      throw InputError(metric + ": class " + std::to_string(*p.cls) + " is not among the " +
                       std::to_string(classes) + " classes");
    }
    auto statistic = [&](std::span<const int64_t> cm) -> std::optional<double> {
      if (!p.cls) return Averaged(cm, classes, metric, p.average);
      if (metric == "precision") return Precision(cm, classes, *p.cls);
      if (metric == "recall") return Recall(cm, classes, *p.cls);
      return F1(cm, classes, *p.cls);
    };
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    if (!ctx.value_only) r.details = s.Details();
    r.value = statistic(s.counts);
    r.details["average"] = p.cls ? nlohmann::json(nullptr) : nlohmann::json(p.average);
    r.details["class"] = p.cls ? nlohmann::json(*p.cls) : nlohmann::json(nullptr);
    if (!r.value) {
      r.method = "count";
      r.message = metric + " is undefined (0/0) on this data";
      return r;
    }
    if (ctx.value_only) return r;  // What follows only serves the interval.
    const auto& m = s.counts;
    if (p.cls && metric != "f1") {
      // A per-class precision or recall is a binomial proportion: Wilson, like accuracy.
      int64_t tp = m[static_cast<size_t>(*p.cls * classes + *p.cls)], den = 0;
      for (int64_t k = 0; k < classes; ++k) {
        den += metric == "precision" ? m[static_cast<size_t>(k * classes + *p.cls)]
                                     : m[static_cast<size_t>(*p.cls * classes + k)];
      }
      r.interval = stats::WilsonInterval(tp, den, ctx.confidence);
      r.samples = den;
      r.method = "count; Wilson score interval";
      return r;
    }
    if (!p.cls && p.average == "micro") {
      // Single-label micro precision = recall = F1 = accuracy: a binomial proportion.
      int64_t correct = 0;
      for (int64_t k = 0; k < classes; ++k) correct += m[static_cast<size_t>(k * classes + k)];
      r.interval = stats::WilsonInterval(correct, n, ctx.confidence);
      r.method = "count; Wilson score interval (micro average = accuracy)";
      return r;
    }
    if (p.interval == "delta") {
      // A function of the counts only: merged partials give the same interval.
      r.interval = DeltaScoreInterval(m, classes, metric, p.average, p.cls, ctx.confidence);
      stats::RequireContains(*r.interval, *r.value, metric);
      r.method =
          "count; delta-method variance from the confusion cells, Wilson interval at the "
          "effective sample size";
      return r;
    }
    // Bootstrap over rows = multinomial draws over the confusion cells (same distribution), so
    // the interval depends on the counts and the seed only: merged partials give the same one.
    auto boot =
        stats::CellBootstrap(m, static_cast<int>(p.bootstrap_resamples), ctx.seed, statistic);
    r.interval = stats::PercentileIntervalContaining(boot.replicates, ctx.confidence, *r.value);
    r.method = "count; percentile bootstrap over rows (multinomial on confusion cells)";
    r.details["bootstrap"] = {{"resamples", p.bootstrap_resamples},
                              {"seed", ctx.seed},
                              {"generator", random::kGeneratorName},
                              {"undefined_resamples", boot.undefined}};
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakePrecision() {
  return std::make_unique<ClassScoreMetric>("precision", "TP / (TP + FP), per class or averaged");
}
std::unique_ptr<Metric> MakeRecall() {
  return std::make_unique<ClassScoreMetric>("recall", "TP / (TP + FN), per class or averaged");
}
std::unique_ptr<Metric> MakeF1() {
  return std::make_unique<ClassScoreMetric>("f1", "2TP / (2TP + FP + FN), per class or averaged");
}

}  // namespace greenlight::accuracy
