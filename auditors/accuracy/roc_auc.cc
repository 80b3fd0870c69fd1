// roc_auc: area under the ROC curve of the class-1 score (binary problems), Mann-Whitney U with
// mid-ranks. The interval is DeLong's on the logit scale joined with Newcombe's score interval
// (stats::AucInterval); a percentile row bootstrap is available on request (`interval: bootstrap`),
// but it under-covers with few positives or an AUC near 1 (docs/statistics.md).
#include <algorithm>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/json_limits.h"
#include "core/random.h"
#include "core/stats.h"

namespace greenlight::accuracy {
namespace {

struct RocAucParams {
  std::string interval = "delong";
  int64_t bootstrap_resamples = kDefaultResamples;
};

// A rank statistic has no smaller sufficient statistic than its rows: the (score, label) pairs,
// kept as two flat arrays (8 bytes + 1 byte per row), in row order. Merge appends, so partials
// must be merged in row order: the row bootstrap draws multiplicities by row position, and the
// merged pairs then equal the unsplit ones exactly.
struct ScoredRows {
  std::vector<double> scores;
  std::vector<uint8_t> positive;
  std::string source;  // "model:<sha256>" or "recorded"

  void Merge(const ScoredRows& other) {
    if (other.source != source) throw RuntimeError("roc_auc rows from different predictions");
    scores.insert(scores.end(), other.scores.begin(), other.scores.end());
    positive.insert(positive.end(), other.positive.begin(), other.positive.end());
  }
  // Doubles serialise exactly: nlohmann::json writes the shortest text that reads back the same.
  nlohmann::json ToJson() const {
    return {{"scores", scores}, {"positive", positive}, {"source", source}};
  }
  static ScoredRows FromJson(const nlohmann::json& j) {
    ScoredRows s{j.at("scores").get<std::vector<double>>(),
                 JsonIntegers<uint8_t>(j.at("positive"), "positive"),
                 j.at("source").get<std::string>()};
    if (s.scores.size() != s.positive.size()) {
      throw InputError("roc_auc statistics: scores and labels differ in length");
    }
    if (std::any_of(s.positive.begin(), s.positive.end(), [](uint8_t p) { return p > 1; })) {
      throw InputError("roc_auc statistics: a label is neither 0 nor 1");
    }
    return s;
  }
};

class RocAucMetric final : public TypedMetric<RocAucParams, ScoredRows, OutputsRecord> {
 public:
  RocAucMetric()
      : TypedMetric(
            DescribeMetric("roc_auc", "ratio", "safety",
                           "area under the ROC curve of the class-1 score (binary problems)",
                           /*needs_model=*/false, /*needs_labels=*/true),
            ParamSchema<RocAucParams>()
                .Field("interval", &RocAucParams::interval,
                       "delong: DeLong (logit) joined with Newcombe's score interval; bootstrap: "
                       "percentile row bootstrap",
                       OneOf({"delong", "bootstrap"}))
                .Field("bootstrap_resamples", &RocAucParams::bootstrap_resamples,
                       "percentile-bootstrap resamples (with interval: bootstrap)",
                       AtLeast(kMinResamples))) {}

 protected:
  std::shared_ptr<const Work> Needs(const RocAucParams&) const override {
    return std::make_shared<OutputsWork>();
  }
  ScoredRows Accumulate(const RocAucParams&, const OutputsRecord& record,
                        const MetricInput& input) const override {
    if (record.outputs->positive_scores.empty()) {
      throw InputError("roc_auc needs a binary classifier with class-1 scores");
    }
    ScoredRows s;
    s.source = record.outputs->source;
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const int64_t label = record.labels[static_cast<size_t>(i)];
      if (label != 0 && label != 1) throw InputError("roc_auc needs binary labels (0/1)");
      s.scores.push_back(record.outputs->positive_scores[static_cast<size_t>(i)]);
      s.positive.push_back(label == 1 ? 1 : 0);
    }
    return s;
  }
  Measurement Finalize(const RocAucParams& p, const ScoredRows& s,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(s.scores.size());
    if (n == 0) throw InputError("the dataset has no rows");
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.details["predictions"] = s.source;
    r.value = stats::RocAuc(s.scores, s.positive);
    if (!r.value) {
      r.method = "Mann-Whitney U";
      r.message = "roc_auc is undefined: the labels hold one class only";
      return r;
    }
    if (p.interval == "delong") {
      // Depends on the multiset of (score, label) pairs only, so merged partials give the same.
      const auto delong = stats::DeLongRocAuc(s.scores, s.positive);
      r.interval = stats::AucInterval(*delong, ctx.confidence);
      stats::RequireContains(*r.interval, *r.value, "roc_auc");
      r.method = r.interval->method == "newcombe-score"
                     ? "Mann-Whitney U with mid-ranks; Newcombe score interval"
                     : "Mann-Whitney U with mid-ranks; DeLong interval on the logit scale joined "
                       "with Newcombe's score interval";
      r.details["positives"] = delong->positives;
      r.details["negatives"] = delong->negatives;
      r.details["delong_variance"] =
          delong->variance ? nlohmann::json(*delong->variance) : nlohmann::json(nullptr);
      return r;
    }
    if (ctx.value_only) return r;  // The bootstrap below only serves the interval.
    const auto resamples = static_cast<int>(p.bootstrap_resamples);
    int step = 0;
    auto boot = stats::RowBootstrap(n, resamples, ctx.seed, [&](std::span<const uint32_t> w) {
      if (++step % 100 == 0 && ctx.progress) ctx.progress(static_cast<double>(step) / resamples);
      const std::vector<double> weights(w.begin(), w.end());
      return stats::RocAuc(s.scores, s.positive, weights);
    });
    r.interval = stats::PercentileIntervalContaining(boot.replicates, ctx.confidence, *r.value);
    r.method = "Mann-Whitney U with mid-ranks; percentile row bootstrap";
    r.details["bootstrap"] = {{"resamples", resamples},
                              {"seed", ctx.seed},
                              {"generator", random::kGeneratorName},
                              {"undefined_resamples", boot.undefined}};
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeRocAuc() { return std::make_unique<RocAucMetric>(); }

}  // namespace greenlight::accuracy
