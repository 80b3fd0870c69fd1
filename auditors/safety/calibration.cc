#include "auditors/safety/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "auditors/safety/common.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"

namespace greenlight::safety {
namespace {

void CheckInputs(std::span<const double> confidence, std::span<const uint8_t> correct, int bins,
                 std::span<const uint32_t> weights) {
  if (bins < 1) throw InputError("calibration: bins must be at least 1");
  if (confidence.size() != correct.size() ||
      (!weights.empty() && weights.size() != correct.size())) {
    throw RuntimeError("calibration: confidence, correctness and weights differ in length");
  }
  for (double c : confidence) {
    if (!(c >= 0.0 && c <= 1.0)) {
      throw InputError("calibration: a confidence is outside [0, 1] (" + std::to_string(c) +
                       "); check model.output");
    }
  }
}

struct BinSums {
  double count = 0.0, confidence = 0.0, correct = 0.0;
};

double Finish(const std::vector<BinSums>& sums, const std::vector<double>& lower,
              const std::vector<double>& upper, std::vector<ReliabilityBin>* diagram) {
  double total = 0.0;
  for (const auto& s : sums) total += s.count;
  if (total <= 0.0) throw InputError("calibration: no rows");
  double ece = 0.0;
  if (diagram != nullptr) diagram->clear();
  for (size_t m = 0; m < sums.size(); ++m) {
    const BinSums& s = sums[m];
    ReliabilityBin bin{lower[m], upper[m], s.count, 0.0, 0.0};
    if (s.count > 0.0) {
      bin.mean_confidence = s.confidence / s.count;
      bin.accuracy = s.correct / s.count;
      ece += (s.count / total) * std::fabs(bin.accuracy - bin.mean_confidence);
    }
    if (diagram != nullptr) diagram->push_back(bin);
  }
  return ece;
}

}  // namespace

double EceEqualWidth(std::span<const double> confidence, std::span<const uint8_t> correct, int bins,
                     std::span<const uint32_t> weights, std::vector<ReliabilityBin>* diagram) {
  CheckInputs(confidence, correct, bins, weights);
  // Boundaries exactly as numpy.linspace(0, 1, bins + 1): i * (1 / bins), last one 1.0.
  std::vector<double> edge(static_cast<size_t>(bins) + 1);
  const double step = 1.0 / bins;
  for (int i = 0; i <= bins; ++i) edge[static_cast<size_t>(i)] = i * step;
  edge.back() = 1.0;
  std::vector<BinSums> sums(static_cast<size_t>(bins));
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    if (w == 0.0) continue;
    const double c = confidence[i];
    // Bin m holds edge[m] < c <= edge[m + 1]; a confidence of exactly 0 joins the first bin.
    int m = std::min(bins - 1, static_cast<int>(c * bins));
    while (m > 0 && c <= edge[static_cast<size_t>(m)]) --m;
    while (m < bins - 1 && c > edge[static_cast<size_t>(m) + 1]) ++m;
    BinSums& s = sums[static_cast<size_t>(m)];
    s.count += w;
    s.confidence += w * c;
    s.correct += w * correct[i];
  }
  return Finish(sums, std::vector<double>(edge.begin(), edge.end() - 1),
                std::vector<double>(edge.begin() + 1, edge.end()), diagram);
}

double EceEqualMass(std::span<const double> confidence, std::span<const uint8_t> correct, int bins,
                    std::span<const uint32_t> weights, std::vector<ReliabilityBin>* diagram) {
  CheckInputs(confidence, correct, bins, weights);
  std::vector<size_t> order(confidence.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return confidence[a] < confidence[b]; });
  // The (weighted) sample in ascending order is order[j] repeated weight times; cum[j] counts the
  // expanded elements before sorted item j.
  std::vector<int64_t> cum(order.size() + 1, 0);
  for (size_t j = 0; j < order.size(); ++j) {
    cum[j + 1] = cum[j] + (weights.empty() ? 1 : static_cast<int64_t>(weights[order[j]]));
  }
  const int64_t m = cum.back();
  if (m == 0) throw InputError("calibration: no rows");
  const int64_t k = std::min<int64_t>(bins, m);
  // Value at expanded position p (0-based), by a forward-only cursor.
  size_t cursor = 0;
  auto value_at = [&](int64_t p) {
    while (cum[cursor + 1] <= p) ++cursor;
    return confidence[order[cursor]];
  };
  // numpy.array_split: the first m % k parts have m / k + 1 elements, the others m / k.
  std::vector<double> edges;
  int64_t end = 0;
  for (int64_t part = 0; part + 1 < k; ++part) {
    end += m / k + (part < m % k ? 1 : 0);
    const double last = value_at(end - 1);
    const double next = value_at(end);
    edges.push_back((last + next) / 2.0);
  }
  edges.push_back(1.0);
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  std::vector<BinSums> sums(edges.size());
  for (size_t j = 0; j < order.size(); ++j) {
    const double w = static_cast<double>(cum[j + 1] - cum[j]);
    if (w == 0.0) continue;
    const size_t i = order[j];
    // searchsorted side='left': the number of edges strictly below the confidence.
    const size_t bin = static_cast<size_t>(
        std::lower_bound(edges.begin(), edges.end(), confidence[i]) - edges.begin());
    if (bin >= sums.size()) throw InputError("calibration: a confidence exceeds 1");
    sums[bin].count += w;
    sums[bin].confidence += w * confidence[i];
    sums[bin].correct += w * correct[i];
  }
  std::vector<double> lower(edges.size()), upper(edges);
  for (size_t b = 0; b < edges.size(); ++b) lower[b] = b == 0 ? 0.0 : edges[b - 1];
  return Finish(sums, lower, upper, diagram);
}

namespace {

// `bins` defaults differ per binning (15 equal-width as Guo et al., 10 equal-mass as HELM).
template <int64_t kBins>
struct CalibrationParams {
  int64_t bins = kBins;
  int64_t bootstrap_resamples = kBootstrapResamples;
  int64_t limit = 0;
};

// The (top-label confidence, correct) pair of every row, in row order: equal-mass bins are cut
// from the sorted sample itself, and the row bootstrap (both binnings) draws multiplicities by row
// position, so nothing smaller reproduces the interval. 9 bytes a row. Merge appends: partials
// are merged in row order, and the merged pairs then equal the unsplit ones exactly.
struct CalibrationRows {
  std::vector<double> confidence;
  std::vector<uint8_t> correct;
  std::string source;  // Where the confidences come from (model or recorded scores).

  void Merge(const CalibrationRows& other) {
    if (confidence.empty() && source.empty()) source = other.source;
    if (!other.confidence.empty() && other.source != source) {
      throw RuntimeError("calibration rows from different predictions");
    }
    confidence.insert(confidence.end(), other.confidence.begin(), other.confidence.end());
    correct.insert(correct.end(), other.correct.begin(), other.correct.end());
  }
  nlohmann::json ToJson() const {
    return {{"confidence", ExactJson(confidence)}, {"correct", correct}, {"source", source}};
  }
  static CalibrationRows FromJson(const nlohmann::json& j) {
    CalibrationRows s{ExactDoubles(j.at("confidence")),
                      JsonIntegers<uint8_t>(j.at("correct"), "correct"),
                      j.at("source").get<std::string>()};
    if (s.confidence.size() != s.correct.size()) {
      throw InputError("calibration statistics: confidences and outcomes differ in length");
    }
    if (std::any_of(s.confidence.begin(), s.confidence.end(),
                    [](double c) { return !(c >= 0.0 && c <= 1.0); }) ||
        std::any_of(s.correct.begin(), s.correct.end(), [](uint8_t c) { return c > 1; })) {
      throw InputError(
          "calibration statistics: a confidence outside [0, 1] or an outcome neither 0 nor 1");
    }
    return s;
  }
};

template <int64_t kBins>
class CalibrationMetric final
    : public TypedMetric<CalibrationParams<kBins>, CalibrationRows, OutputsRecord> {
  using P = CalibrationParams<kBins>;
  using Base = TypedMetric<P, CalibrationRows, OutputsRecord>;

 public:
  CalibrationMetric(std::string name, bool equal_mass, std::string description,
                    std::string bins_description)
      : Base(DescribeMetric(std::move(name), "ratio", "safety", std::move(description),
                            /*needs_model=*/false, /*needs_labels=*/true),
             ParamSchema<P>()
                 .Field("bins", &P::bins, std::move(bins_description), AtLeast(1))
                 .Field("bootstrap_resamples", &P::bootstrap_resamples,
                        "percentile-bootstrap resamples for the interval",
                        AtLeast(kMinBootstrapResamples))
                 .Field("limit", &P::limit, "use the first N dataset rows (0: all rows)",
                        AtLeast(0))),
        equal_mass_(equal_mass) {}

 protected:
  std::shared_ptr<const Work> Needs(const P&) const override {
    return std::make_shared<OutputsWork>();  // The one outputs pass, shared with accuracy.
  }

  CalibrationRows Accumulate(const P& p, const OutputsRecord& record,
                             const MetricInput& input) const override {
    const std::string& name = this->spec().name;
    const ClassifierOutputs& out = *record.outputs;
    if (record.labels.empty()) throw InputError(name + " needs labels and the dataset has none");
    const RowRange rows = LimitRows(input.rows, p.limit);
    CalibrationRows s;
    // Top-label confidence: the probability of the predicted class.
    if (!out.probabilities.empty()) {
      s.source = "model probabilities";
    } else if (!out.positive_scores.empty()) {
      s.source = "recorded class-1 scores";
    } else {
      throw InputError(name +
                       " needs class probabilities: a model, or recorded scores "
                       "(dataset.predictions.score_column)");
    }
    for (int64_t i = rows.begin; i < rows.end; ++i) {
      const auto row = static_cast<size_t>(i);
      const int64_t predicted = out.predicted[row];
      if (!out.probabilities.empty()) {
        s.confidence.push_back(out.probabilities[static_cast<size_t>(i * out.classes + predicted)]);
      } else {
        const double score = out.positive_scores[row];
        s.confidence.push_back(predicted == 1 ? score : 1.0 - score);
      }
      s.correct.push_back(predicted == record.labels[row] ? 1 : 0);
    }
    return s;
  }

  Measurement Finalize(const P& p, const CalibrationRows& s,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(s.confidence.size());
    if (n == 0) throw InputError(this->spec().name + ": the dataset has no rows");
    const int bins = static_cast<int>(p.bins);
    const int resamples = static_cast<int>(p.bootstrap_resamples);
    auto ece = [&](std::span<const uint32_t> w, std::vector<ReliabilityBin>* diagram) {
      return equal_mass_ ? EceEqualMass(s.confidence, s.correct, bins, w, diagram)
                         : EceEqualWidth(s.confidence, s.correct, bins, w, diagram);
    };
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    std::vector<ReliabilityBin> diagram;
    r.value = ece({}, &diagram);
    if (ctx.value_only) return r;  // The bootstrap below only serves the interval.
    int step = 0;
    r.interval = BootstrapInterval(
        n, resamples, ctx.seed, ctx.confidence,
        [&](std::span<const uint32_t> w) -> std::optional<double> {
          if (++step % 100 == 0 && ctx.progress) {
            ctx.progress(static_cast<double>(step) / resamples);
          }
          return ece(w, nullptr);
        },
        r.details);
    r.method = equal_mass_ ? "ECE, " + std::to_string(bins) +
                                 " equal-mass bins (HELM get_ece_em); percentile row bootstrap"
                           : "ECE, " + std::to_string(bins) +
                                 " equal-width bins (Guo et al. 2017); percentile row bootstrap";
    nlohmann::json bins_json = nlohmann::json::array();
    for (const auto& b : diagram) {
      bins_json.push_back({{"lower", b.lower},
                           {"upper", b.upper},
                           {"count", static_cast<int64_t>(b.count)},
                           {"mean_confidence", b.mean_confidence},
                           {"accuracy", b.accuracy},
                           {"gap", b.count > 0 ? b.accuracy - b.mean_confidence : 0.0}});
    }
    const int64_t right = std::accumulate(s.correct.begin(), s.correct.end(), int64_t{0});
    const double mean_conf = std::accumulate(s.confidence.begin(), s.confidence.end(), 0.0) / n;
    r.details["binning"] = equal_mass_ ? "equal-mass" : "equal-width";
    r.details["bins"] = bins;
    r.details["confidence"] = "top-label: probability of the predicted class (" + s.source + ")";
    r.details["accuracy"] = static_cast<double>(right) / n;
    r.details["mean_confidence"] = mean_conf;
    r.details["reliability_diagram"] = bins_json;
    return r;
  }

 private:
  bool equal_mass_;
};

}  // namespace

std::unique_ptr<Metric> MakeEce() {
  return std::make_unique<CalibrationMetric<15>>(
      "ece", /*equal_mass=*/false,
      "expected calibration error of the top-label confidence, equal-width bins (Guo et al. 2017)",
      "number of equal-width bins");
}

std::unique_ptr<Metric> MakeEceEqualMass() {
  return std::make_unique<CalibrationMetric<10>>(
      "ece_equal_mass", /*equal_mass=*/true,
      "expected calibration error of the top-label confidence, equal-mass bins (HELM)",
      "number of equal-count bins");
}

}  // namespace greenlight::safety
