#include "auditors/safety/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "auditors/safety/common.h"
#include "core/error.h"

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

std::vector<MetricSpec> CalibrationMetrics() {
  const ParamSpec resamples{"bootstrap_resamples", ParamType::kInteger,
                            "percentile-bootstrap resamples for the interval", kDefaultResamples};
  const ParamSpec limit{"limit", ParamType::kInteger,
                        "use the first N dataset rows (0 or absent: all rows)"};
  return {
      {"ece",
       "ratio",
       "safety",
       "expected calibration error of the top-label confidence, equal-width bins (Guo et al. 2017)",
       {{"bins", ParamType::kInteger, "number of equal-width bins", 15}, resamples, limit},
       false,
       true},
      {"ece_equal_mass",
       "ratio",
       "safety",
       "expected calibration error of the top-label confidence, equal-mass bins (HELM)",
       {{"bins", ParamType::kInteger, "number of equal-count bins", 10}, resamples, limit},
       false,
       true},
  };
}

Measurement MeasureCalibration(const MetricRequest& req, AuditContext& ctx) {
  const Dataset& data = ctx.dataset();
  const int64_t n = SelectRows(req, data, 0);
  const auto labels = RequireLabels(data, n, req.metric);
  const ClassifierOutputs& out = ctx.Outputs(req.criterion_id);
  const bool equal_mass = req.metric == "ece_equal_mass";
  const int bins = static_cast<int>(req.Param<int64_t>("bins", equal_mass ? 10 : 15));
  const int resamples = Resamples(req);

  // Top-label confidence: the probability of the predicted class.
  std::vector<double> confidence(static_cast<size_t>(n));
  std::vector<uint8_t> correct(static_cast<size_t>(n));
  std::string source;
  if (!out.probabilities.empty()) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = out.predicted[static_cast<size_t>(i)];
      confidence[static_cast<size_t>(i)] =
          out.probabilities[static_cast<size_t>(i * out.classes + p)];
    }
    source = "model probabilities";
  } else if (!out.positive_scores.empty()) {
    for (int64_t i = 0; i < n; ++i) {
      const double s = out.positive_scores[static_cast<size_t>(i)];
      confidence[static_cast<size_t>(i)] = out.predicted[static_cast<size_t>(i)] == 1 ? s : 1.0 - s;
    }
    source = "recorded class-1 scores";
  } else {
    throw InputError(req.metric +
                     " needs class probabilities: a model, or recorded scores "
                     "(dataset.predictions.score_column)");
  }
  for (int64_t i = 0; i < n; ++i) {
    correct[static_cast<size_t>(i)] =
        out.predicted[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)] ? 1 : 0;
  }
  auto ece = [&](std::span<const uint32_t> w, std::vector<ReliabilityBin>* diagram) {
    return equal_mass ? EceEqualMass(confidence, correct, bins, w, diagram)
                      : EceEqualWidth(confidence, correct, bins, w, diagram);
  };

  Measurement r;
  r.unit = "ratio";
  r.samples = n;
  std::vector<ReliabilityBin> diagram;
  r.value = ece({}, &diagram);
  int step = 0;
  r.interval = BootstrapInterval(
      n, resamples, req.seed, req.confidence,
      [&](std::span<const uint32_t> w) -> std::optional<double> {
        if (++step % 100 == 0) {
          ctx.Progress(req.criterion_id, "bootstrap", static_cast<double>(step) / resamples);
        }
        return ece(w, nullptr);
      },
      r.details);
  r.method = equal_mass ? "ECE, " + std::to_string(bins) +
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
  int64_t right = std::accumulate(correct.begin(), correct.end(), int64_t{0});
  double mean_conf = std::accumulate(confidence.begin(), confidence.end(), 0.0) / n;
  r.details["binning"] = equal_mass ? "equal-mass" : "equal-width";
  r.details["bins"] = bins;
  r.details["confidence"] = "top-label: probability of the predicted class (" + source + ")";
  r.details["accuracy"] = static_cast<double>(right) / n;
  r.details["mean_confidence"] = mean_conf;
  r.details["reliability_diagram"] = bins_json;
  return r;
}

}  // namespace greenlight::safety
