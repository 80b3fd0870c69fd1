// top_k_accuracy: the share of rows whose label is among the k most probable classes.
#include "auditors/accuracy/accuracy_metrics.h"
#include "core/json_limits.h"
#include "core/stats.h"

namespace greenlight::accuracy {
namespace {

struct TopKParams {
  int64_t k = 5;
};

// Hit counts, plus the confusion counts the report shows alongside. Merge adds: exact.
struct TopKStats {
  int64_t k = 0;
  int64_t hits = 0;
  ConfusionStats confusion;

  void Merge(const TopKStats& other) {
    if (other.k != k) throw RuntimeError("top-k hit counts of different k");
    hits += other.hits;
    confusion.Merge(other.confusion);
  }
  nlohmann::json ToJson() const {
    return {{"k", k}, {"hits", hits}, {"confusion", confusion.ToJson()}};
  }
  static TopKStats FromJson(const nlohmann::json& j) {
    TopKStats s{JsonInteger<int64_t>(j.at("k"), "k"), JsonCount(j.at("hits"), "hits"),
                ConfusionStats::FromJson(j.at("confusion"))};
    int64_t rows = 0;
    for (int64_t c : s.confusion.counts) rows += c;  // At most 2^40 (JsonCounts).
    if (s.k < 1 || s.hits > rows) {
      throw InputError("top-k statistics: " + std::to_string(s.hits) + " hits among " +
                       std::to_string(rows) + " rows with k " + std::to_string(s.k));
    }
    return s;
  }
};

class TopKAccuracyMetric final : public TypedMetric<TopKParams, TopKStats, OutputsRecord> {
 public:
  TopKAccuracyMetric()
      : TypedMetric(DescribeMetric("top_k_accuracy", "ratio", "safety",
                                   "share of rows whose label is among the k most probable classes",
                                   /*needs_model=*/true, /*needs_labels=*/true),
                    ParamSchema<TopKParams>().Field(
                        "k", &TopKParams::k,
                        "how many top classes count (at most the number of classes)", AtLeast(1))) {
  }

 protected:
  std::shared_ptr<const Work> Needs(const TopKParams&) const override {
    return std::make_shared<OutputsWork>();
  }
  TopKStats Accumulate(const TopKParams& p, const OutputsRecord& record,
                       const MetricInput& input) const override {
    const ClassifierOutputs& out = *record.outputs;
    if (out.probabilities.empty()) throw InputError("top_k_accuracy needs class probabilities");
    if (p.k > out.classes) {
      throw InputError("top_k_accuracy: k = " + std::to_string(p.k) + " exceeds the model's " +
                       std::to_string(out.classes) + " classes");
    }
    TopKStats s{p.k, 0, ConfusionStats::Of(record, input.rows)};
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const double* prob = &out.probabilities[static_cast<size_t>(i * out.classes)];
      const int64_t label = record.labels[static_cast<size_t>(i)];
      const double mine = prob[label];
      // Rank = classes strictly more probable, plus equally probable ones with a lower index
      // (the order torch.topk and numpy argsort use for ties).
      int64_t above = 0;
      for (int64_t c = 0; c < out.classes; ++c) {
        if (prob[c] > mine || (prob[c] == mine && c < label)) ++above;
      }
      if (above < p.k) ++s.hits;
    }
    return s;
  }
  Measurement Finalize(const TopKParams& p, const TopKStats& s,
                       const FinalizeContext& ctx) const override {
    const int64_t n = s.confusion.rows();
    if (n == 0) throw InputError("the dataset has no rows");
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.value = static_cast<double>(s.hits) / static_cast<double>(n);
    r.interval = stats::WilsonInterval(s.hits, n, ctx.confidence);
    r.method = "count: label in top-" + std::to_string(p.k) + " / rows; Wilson score interval";
    r.details = s.confusion.Details();
    r.details["k"] = p.k;
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeTopKAccuracy() { return std::make_unique<TopKAccuracyMetric>(); }

}  // namespace greenlight::accuracy
