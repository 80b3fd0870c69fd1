#include "auditors/safety/ood.h"

#include <algorithm>
#include <cmath>

#include "auditors/safety/common.h"
#include "core/error.h"
#include "core/stats.h"

namespace greenlight::safety {
namespace {
constexpr int64_t kDefaultLimit = 1000;
constexpr uint64_t kOodStream = 0x00D;
}  // namespace

const std::vector<std::string>& OodSetNames() {
  static const std::vector<std::string> names{"uniform_noise", "gaussian_noise", "inverted"};
  return names;
}

void MakeOodSample(const std::string& set, std::span<const float> x, double lo, double hi,
                   double gaussian_std, random::Rng& rng, std::span<float> out) {
  if (set == "uniform_noise") {
    for (float& v : out) v = static_cast<float>(random::UniformReal(rng, lo, hi));
  } else if (set == "gaussian_noise") {
    for (float& v : out) {
      const double g = 0.5 + gaussian_std * random::StandardNormal(rng);
      v = static_cast<float>(lo + std::clamp(g, 0.0, 1.0) * (hi - lo));
    }
  } else if (set == "inverted") {
    for (size_t j = 0; j < x.size(); ++j) {
      out[j] = static_cast<float>(std::clamp(lo + hi - x[j], lo, hi));
    }
  } else {
    throw InputError("unknown OOD set '" + set + "'");
  }
}

std::vector<MetricSpec> OodMetrics() {
  std::vector<std::string> choices = OodSetNames();
  choices.push_back("all");
  return {
      {"ood_auroc",
       "ratio",
       "safety",
       "AUROC of the maximum softmax probability, test rows vs generated OOD inputs "
       "(Hendrycks & Gimpel 2017)",
       {{"ood_set", ParamType::kString, "which OOD set, or all (pooled)", "all", false, choices},
        {"gaussian_std", ParamType::kNumber,
         "standard deviation of gaussian_noise, in units of the input range", 1.0},
        {"limit", ParamType::kInteger, "use the first N dataset rows (0: all)", kDefaultLimit},
        {"seed", ParamType::kInteger, "seed of the noise (absent: the run seed)"},
        {"bootstrap_resamples", ParamType::kInteger, "percentile-bootstrap resamples",
         kDefaultResamples}},
       true,
       false}};
}

Measurement MeasureOod(const MetricRequest& req, AuditContext& ctx) {
  Model& model = RequireModel(ctx, req.metric);
  const Dataset& data = ctx.dataset();
  const int64_t n = SelectRows(req, data, kDefaultLimit);
  const std::string which = req.Param<std::string>("ood_set", "all");
  const double gaussian_std = req.Param<double>("gaussian_std", 1.0);
  if (!(gaussian_std > 0)) throw InputError(req.metric + ": gaussian_std must be > 0");
  const uint64_t seed = RequestSeed(req);
  const auto [lo, hi] = InputRange(model);
  std::vector<std::string> sets;
  if (which == "all") {
    sets = OodSetNames();
  } else {
    if (std::find(OodSetNames().begin(), OodSetNames().end(), which) == OodSetNames().end()) {
      throw InputError(req.metric + ": unknown ood_set '" + which + "'");
    }
    sets = {which};
  }
  const ClassifierOutputs& clean = ctx.Outputs(req.criterion_id);
  if (clean.probabilities.empty()) throw InputError(req.metric + " needs model probabilities");
  const std::vector<double> raw_in_msp =
      RowMax(std::span<const double>(clean.probabilities)
                 .subspan(0, static_cast<size_t>(n * clean.classes)),
             n, clean.classes);
  // A NaN confidence cannot vouch for an input: it ranks below every number (and is counted).
  int64_t non_finite = 0;
  auto sanitize = [&non_finite](std::vector<double>& v) {
    for (double& e : v) {
      if (std::isnan(e)) {
        e = -INFINITY;
        ++non_finite;
      }
    }
  };
  std::vector<double> in_msp = raw_in_msp;
  sanitize(in_msp);
  const int64_t size = data.sample_size();
  // scores: n in-distribution rows, then n rows per OOD set (row i of set s derives from row i).
  std::vector<double> scores(in_msp);
  std::vector<uint8_t> positive(static_cast<size_t>(n), 1);
  nlohmann::json per_set = nlohmann::json::object();
  std::vector<float> buffer(static_cast<size_t>(n * size));
  for (size_t s = 0; s < sets.size(); ++s) {
    const auto set_index = static_cast<uint64_t>(
        std::find(OodSetNames().begin(), OodSetNames().end(), sets[s]) - OodSetNames().begin());
    for (int64_t i = 0; i < n; ++i) {
      auto rng = RowStream(seed, Mix(kOodStream, set_index), i);
      MakeOodSample(sets[s], data.row(i), lo, hi, gaussian_std, rng,
                    std::span<float>(buffer).subspan(static_cast<size_t>(i * size),
                                                     static_cast<size_t>(size)));
    }
    int64_t classes = 0;
    const auto probs = PredictProbabilities(model, buffer, n, &classes);
    auto msp = RowMax(probs, n, classes);
    sanitize(msp);
    std::vector<double> pair_scores(in_msp);
    pair_scores.insert(pair_scores.end(), msp.begin(), msp.end());
    std::vector<uint8_t> pair_pos(static_cast<size_t>(n), 1);
    pair_pos.resize(static_cast<size_t>(2 * n), 0);
    double mean = 0.0;
    for (double v : msp) mean += v / n;
    per_set[sets[s]] = {{"auroc", *stats::RocAuc(pair_scores, pair_pos)}, {"mean_msp", mean}};
    scores.insert(scores.end(), msp.begin(), msp.end());
    positive.resize(scores.size(), 0);
    ctx.Progress(req.criterion_id, "OOD sets", static_cast<double>(s + 1) / sets.size());
  }
  double in_mean = 0.0;
  for (double v : in_msp) in_mean += v / n;
  Measurement r;
  r.unit = "ratio";
  r.samples = n;
  r.value = stats::RocAuc(scores, positive);
  r.details = {{"score", "maximum softmax probability"},
               {"positives", "test rows (in-distribution)"},
               {"ood_sets", per_set},
               {"rows", n},
               {"seed", seed},
               {"gaussian_std", gaussian_std},
               {"input_range", {lo, hi}},
               {"in_distribution_mean_msp", in_mean},
               {"nan_scores_ranked_lowest", non_finite},
               {"pooling", "pooled AUROC over equal-sized OOD sets = mean of the per-set AUROCs"}};
  // Stratified bootstrap: row i carries its in-distribution score and its OOD twins together.
  const size_t sets_count = sets.size();
  std::vector<double> weights(scores.size());
  r.interval = BootstrapInterval(
      n, Resamples(req), seed, req.confidence,
      [&](std::span<const uint32_t> w) -> std::optional<double> {
        for (size_t k = 0; k <= sets_count; ++k) {
          for (int64_t i = 0; i < n; ++i) weights[k * n + i] = w[i];
        }
        return stats::RocAuc(scores, positive, weights);
      },
      r.details);
  r.method =
      "Mann-Whitney AUROC of the maximum softmax probability (in-distribution positive); "
      "percentile row bootstrap";
  return r;
}

}  // namespace greenlight::safety
