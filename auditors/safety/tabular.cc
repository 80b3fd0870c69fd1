#include "auditors/safety/tabular.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "auditors/safety/common.h"
#include "core/error.h"
#include "core/stats.h"

namespace greenlight::safety {
namespace {

constexpr int64_t kDefaultLimit = 1000;
constexpr uint64_t kNoiseStream = 0x7AB;

int64_t FeatureIndex(const Dataset& data, const std::string& name, const std::string& metric) {
  const auto& names = data.feature_names();
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw InputError(metric + ": feature '" + name +
                     "' is not a model feature (features: " + known + ")");
  }
  return it - names.begin();
}

Measurement Monotonicity(const MetricRequest& req, AuditContext& ctx, Model& model, int64_t n) {
  const Dataset& data = ctx.dataset();
  const std::string feature = req.Param<std::string>("feature", "");
  if (feature.empty()) throw InputError(req.metric + ": param 'feature' is required");
  const int64_t f = FeatureIndex(data, feature, req.metric);
  const std::string direction = req.Param<std::string>("direction", "increasing");
  const int64_t grid_points = req.Param<int64_t>("grid", 11);
  const int64_t cls = req.Param<int64_t>("class", 1);
  const double tolerance = req.Param<double>("tolerance", 1e-6);
  if (grid_points < 2) throw InputError(req.metric + ": grid must be at least 2");
  if (direction != "increasing" && direction != "decreasing") {
    throw InputError(req.metric + ": direction must be increasing or decreasing");
  }
  const int64_t size = data.sample_size();
  // Grid over the feature's observed range in the audited rows, unless `range` is declared.
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, static_cast<double>(data.row(i)[static_cast<size_t>(f)]));
    hi = std::max(hi, static_cast<double>(data.row(i)[static_cast<size_t>(f)]));
  }
  if (req.params.contains("range") && !req.params["range"].is_null()) {
    const auto range = req.params["range"].get<std::vector<double>>();
    if (range.size() != 2 || !(range[0] < range[1])) {
      throw InputError(req.metric + ": range must be [low, high] with low < high");
    }
    lo = range[0], hi = range[1];
  }
  if (!(hi > lo)) throw InputError(req.metric + ": feature '" + feature + "' is constant");
  std::vector<double> grid(static_cast<size_t>(grid_points));
  for (int64_t g = 0; g < grid_points; ++g) {
    grid[static_cast<size_t>(g)] = lo + (hi - lo) * static_cast<double>(g) / (grid_points - 1);
  }
  // Every row swept over the grid: n × grid samples, in row-major (row, grid point) order.
  std::vector<float> inputs;
  inputs.reserve(static_cast<size_t>(n * grid_points * size));
  for (int64_t i = 0; i < n; ++i) {
    const auto row = data.row(i);
    for (double v : grid) {
      const size_t at = inputs.size();
      inputs.insert(inputs.end(), row.begin(), row.end());
      inputs[at + static_cast<size_t>(f)] = static_cast<float>(v);
    }
  }
  int64_t classes = 0;
  const auto probs = PredictProbabilities(model, inputs, n * grid_points, &classes);
  if (cls < 0 || cls >= classes) {
    throw InputError(req.metric + ": class " + std::to_string(cls) + " is not among the " +
                     std::to_string(classes) + " classes");
  }
  const double sign = direction == "increasing" ? 1.0 : -1.0;
  int64_t violating_rows = 0, violating_steps = 0;
  double worst = 0.0;
  std::vector<double> mean_curve(static_cast<size_t>(grid_points), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    bool violated = false;
    for (int64_t g = 0; g < grid_points; ++g) {
      const double s = probs[static_cast<size_t>((i * grid_points + g) * classes + cls)];
      mean_curve[static_cast<size_t>(g)] += s / n;
      if (g == 0) continue;
      const double prev = probs[static_cast<size_t>((i * grid_points + g - 1) * classes + cls)];
      const double drop = sign * (prev - s);  // > 0: the score moved against the direction.
      if (drop > tolerance) {
        violated = true;
        ++violating_steps;
        worst = std::max(worst, drop);
      }
    }
    violating_rows += violated;
  }
  Measurement r;
  r.unit = "ratio";
  r.samples = n;
  r.value = static_cast<double>(violating_rows) / n;
  r.interval = stats::WilsonInterval(violating_rows, n, req.confidence);
  r.method =
      "count: rows whose class score moves against the declared direction by more than "
      "the tolerance between adjacent grid points / rows; Wilson score interval";
  r.details = {{"feature", feature},
               {"direction", direction},
               {"class", cls},
               {"grid", grid},
               {"tolerance", tolerance},
               {"rows", n},
               {"violating_rows", violating_rows},
               {"violating_steps", violating_steps},
               {"largest_violation", worst},
               {"mean_score_curve", mean_curve}};
  return r;
}

Measurement FlipRate(const MetricRequest& req, AuditContext& ctx, Model& model, int64_t n) {
  const Dataset& data = ctx.dataset();
  const double noise = req.Param<double>("noise", 0.05);
  const int64_t draws = req.Param<int64_t>("draws", 10);
  const uint64_t seed = RequestSeed(req);
  if (!(noise >= 0)) throw InputError(req.metric + ": noise must be >= 0");
  if (draws < 1) throw InputError(req.metric + ": draws must be at least 1");
  const int64_t size = data.sample_size();
  // Per-feature standard deviation over the audited rows.
  std::vector<double> mean(static_cast<size_t>(size), 0.0), sd(static_cast<size_t>(size), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < size; ++j)
      mean[static_cast<size_t>(j)] += data.row(i)[static_cast<size_t>(j)] / static_cast<double>(n);
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < size; ++j) {
      const double d = data.row(i)[static_cast<size_t>(j)] - mean[static_cast<size_t>(j)];
      sd[static_cast<size_t>(j)] += d * d / std::max<double>(1.0, n - 1.0);
    }
  }
  for (auto& v : sd) v = std::sqrt(v);
  std::vector<int64_t> perturbed;
  if (req.params.contains("features") && !req.params["features"].is_null()) {
    for (const auto& name : req.params["features"].get<std::vector<std::string>>()) {
      perturbed.push_back(FeatureIndex(data, name, req.metric));
    }
  } else {
    // Default: numeric features, i.e. those with more than two distinct values (binary and
    // encoded yes/no columns are not perturbed).
    for (int64_t j = 0; j < size; ++j) {
      std::set<float> distinct;
      for (int64_t i = 0; i < n && distinct.size() <= 2; ++i) {
        distinct.insert(data.row(i)[static_cast<size_t>(j)]);
      }
      if (distinct.size() > 2) perturbed.push_back(j);
    }
  }
  if (perturbed.empty()) throw InputError(req.metric + ": no numeric feature to perturb");
  std::vector<float> inputs;
  inputs.reserve(static_cast<size_t>(n * draws * size));
  for (int64_t i = 0; i < n; ++i) {
    auto rng = RowStream(seed, kNoiseStream, i);
    const auto row = data.row(i);
    for (int64_t d = 0; d < draws; ++d) {
      const size_t at = inputs.size();
      inputs.insert(inputs.end(), row.begin(), row.end());
      for (int64_t j : perturbed) {
        inputs[at + static_cast<size_t>(j)] +=
            static_cast<float>(noise * sd[static_cast<size_t>(j)] * random::StandardNormal(rng));
      }
    }
  }
  const ClassifierOutputs& clean = ctx.Outputs(req.criterion_id);
  int64_t classes = 0;
  const auto probs = PredictProbabilities(model, inputs, n * draws, &classes);
  const auto pred = Argmax(probs, n * draws, classes);
  std::vector<int32_t> flips_per_row(static_cast<size_t>(n), 0);
  int64_t flips = 0, rows_with_flip = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d = 0; d < draws; ++d) {
      if (pred[static_cast<size_t>(i * draws + d)] != clean.predicted[static_cast<size_t>(i)]) {
        ++flips_per_row[static_cast<size_t>(i)];
      }
    }
    flips += flips_per_row[static_cast<size_t>(i)];
    rows_with_flip += flips_per_row[static_cast<size_t>(i)] > 0;
  }
  Measurement r;
  r.unit = "ratio";
  r.samples = n * draws;
  r.value = static_cast<double>(flips) / static_cast<double>(n * draws);
  nlohmann::json names = nlohmann::json::array();
  for (int64_t j : perturbed) names.push_back(data.feature_names()[static_cast<size_t>(j)]);
  r.details = {{"features", names},
               {"noise", noise},
               {"noise_model", "x_j + noise * sd_j * N(0, 1), sd_j over the audited rows"},
               {"draws_per_row", draws},
               {"rows", n},
               {"seed", seed},
               {"flips", flips},
               {"rows_with_a_flip", rows_with_flip}};
  if (draws == 1) {
    r.interval = stats::WilsonInterval(flips, n, req.confidence);
    r.method = "count: flipped predictions / perturbed rows; Wilson score interval";
  } else {
    // Draws of one row are correlated: resample rows (clusters), not draws.
    r.interval = BootstrapInterval(
        n, Resamples(req), seed, req.confidence,
        [&](std::span<const uint32_t> w) -> std::optional<double> {
          double s = 0.0;
          for (int64_t i = 0; i < n; ++i) s += w[i] * flips_per_row[i];
          return s / static_cast<double>(n * draws);
        },
        r.details);
    r.method = "count: flipped predictions / perturbed copies; percentile bootstrap over rows";
  }
  return r;
}

}  // namespace

std::vector<MetricSpec> TabularMetrics() {
  const ParamSpec limit{"limit", ParamType::kInteger, "use the first N dataset rows (0: all)",
                        kDefaultLimit};
  return {
      {"monotonicity_violation_rate",
       "ratio",
       "safety",
       "share of rows whose class score moves against the declared direction when one feature "
       "sweeps a grid with the others fixed",
       {{"feature", ParamType::kString, "the feature to sweep", nullptr, true},
        {"direction",
         ParamType::kString,
         "declared direction of the class score",
         "increasing",
         false,
         {"increasing", "decreasing"}},
        {"class", ParamType::kInteger, "class whose probability is checked", 1},
        {"grid", ParamType::kInteger, "grid points over the feature's range", 11},
        {"range", ParamType::kNumberList, "[low, high] of the sweep (absent: observed range)"},
        {"tolerance", ParamType::kNumber, "score changes up to this are not violations", 1e-6},
        limit},
       true,
       false},
      {"perturbation_flip_rate",
       "ratio",
       "safety",
       "share of slightly perturbed copies of rows (Gaussian noise on numeric features) whose "
       "predicted class differs from the clean prediction",
       {{"features", ParamType::kStringList, "features to perturb (absent: all non-binary)"},
        {"noise", ParamType::kNumber, "noise standard deviation as a fraction of each feature's",
         0.05},
        {"draws", ParamType::kInteger, "perturbed copies per row", 10},
        {"seed", ParamType::kInteger, "seed of the noise (absent: the run seed)"},
        {"bootstrap_resamples", ParamType::kInteger, "percentile-bootstrap resamples",
         kDefaultResamples},
        limit},
       true,
       false},
  };
}

Measurement MeasureTabular(const MetricRequest& req, AuditContext& ctx) {
  Model& model = RequireModel(ctx, req.metric);
  const int64_t n = SelectRows(req, ctx.dataset(), kDefaultLimit);
  if (req.metric == "monotonicity_violation_rate") return Monotonicity(req, ctx, model, n);
  return FlipRate(req, ctx, model, n);
}

}  // namespace greenlight::safety
