// Tabular robustness: monotonicity of the class score in a declared feature (sweep over a grid
// with the other features fixed) and prediction flips under small noise on numeric features.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auditors/safety/common.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
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

// --- monotonicity_violation_rate ---

struct MonotonicityParams {
  std::optional<std::string> feature;
  std::string direction = "increasing";
  int64_t class_index = 1;
  int64_t grid = 11;
  std::optional<std::vector<double>> range;  // Absent: the observed range.
  double tolerance = 1e-6;
  int64_t limit = kDefaultLimit;
};

// Every audited row swept over the grid: the checked class's probability at each grid point.
struct SweepRecord final : WorkRecord {
  std::vector<double> grid;
  std::vector<double> scores;  // [row * grid + g]
  int64_t rows() const override {
    return grid.empty() ? 0 : static_cast<int64_t>(scores.size() / grid.size());
  }
};

class SweepWork final : public Work {
 public:
  explicit SweepWork(const MonotonicityParams& p) : p_(p) {}
  // The sweep depends on the feature, grid, range, class and rows; direction and tolerance only
  // judge it.
  std::string key() const override {
    return "safety.sweep:" +
           CanonicalText({{"feature", p_.feature.value_or("")},
                          {"class", p_.class_index},
                          {"grid", p_.grid},
                          {"range", p_.range ? nlohmann::json(*p_.range) : nlohmann::json(nullptr)},
                          {"limit", p_.limit}});
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    const std::string metric = "monotonicity_violation_rate";
    Model& model = RequireModel(ctx, metric);
    const Dataset& data = ctx.Rows(p_.limit);
    if (data.rows() == 0) throw InputError(metric + ": the dataset has no rows");
    const int64_t n = p_.limit <= 0 ? data.rows() : std::min(p_.limit, data.rows());
    const std::string feature = p_.feature.value_or("");
    const int64_t f = FeatureIndex(data, feature, metric);
    const int64_t grid_points = p_.grid;
    const int64_t cls = p_.class_index;
    const int64_t size = data.sample_size();
    // Grid over the feature's observed range in the audited rows, unless `range` is declared.
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, static_cast<double>(data.row(i)[static_cast<size_t>(f)]));
      hi = std::max(hi, static_cast<double>(data.row(i)[static_cast<size_t>(f)]));
    }
    if (p_.range) {
      const std::vector<double>& range = *p_.range;
      if (range.size() != 2 || !(range[0] < range[1])) {
        throw InputError(metric + ": range must be [low, high] with low < high");
      }
      lo = range[0], hi = range[1];
    }
    if (!(hi > lo)) throw InputError(metric + ": feature '" + feature + "' is constant");
    auto record = std::make_shared<SweepRecord>();
    record->grid.resize(static_cast<size_t>(grid_points));
    for (int64_t g = 0; g < grid_points; ++g) {
      record->grid[static_cast<size_t>(g)] =
          lo + (hi - lo) * static_cast<double>(g) / (grid_points - 1);
    }
    // Every row swept over the grid: n × grid samples, in row-major (row, grid point) order.
    std::vector<float> inputs;
    inputs.reserve(static_cast<size_t>(n * grid_points * size));
    for (int64_t i = 0; i < n; ++i) {
      const auto row = data.row(i);
      for (double v : record->grid) {
        const size_t at = inputs.size();
        inputs.insert(inputs.end(), row.begin(), row.end());
        inputs[at + static_cast<size_t>(f)] = static_cast<float>(v);
      }
    }
    int64_t classes = 0;
    const auto probs = PredictProbabilities(model, inputs, n * grid_points, &classes);
    if (cls < 0 || cls >= classes) {
      throw InputError(metric + ": class " + std::to_string(cls) + " is not among the " +
                       std::to_string(classes) + " classes");
    }
    record->scores.resize(static_cast<size_t>(n * grid_points));
    for (int64_t k = 0; k < n * grid_points; ++k) {
      record->scores[static_cast<size_t>(k)] = probs[static_cast<size_t>(k * classes + cls)];
    }
    return record;
  }

 private:
  MonotonicityParams p_;
};

// The swept scores of every row, in row order: the mean score curve is a sum in row order, so the
// rows (not per-part sums) merge exactly. Merge appends.
struct SweepRows {
  std::vector<double> grid;
  std::vector<double> scores;

  void Merge(const SweepRows& other) {
    if (other.grid != grid) throw RuntimeError("monotonicity sweeps over different grids");
    scores.insert(scores.end(), other.scores.begin(), other.scores.end());
  }
  nlohmann::json ToJson() const {
    return {{"grid", ExactJson(grid)}, {"scores", ExactJson(scores)}};
  }
  static SweepRows FromJson(const nlohmann::json& j) {
    SweepRows s{ExactDoubles(j.at("grid")), ExactDoubles(j.at("scores"))};
    if (s.grid.empty() || s.scores.size() % s.grid.size() != 0) {
      throw InputError("monotonicity statistics: scores do not fill whole rows");
    }
    return s;
  }
};

class MonotonicityMetric final : public TypedMetric<MonotonicityParams, SweepRows, SweepRecord> {
 public:
  MonotonicityMetric()
      : TypedMetric(
            DescribeMetric("monotonicity_violation_rate", "ratio", "safety",
                           "share of rows whose class score moves against the declared direction "
                           "when one feature sweeps a grid with the others fixed",
                           /*needs_model=*/true, /*needs_labels=*/false),
            ParamSchema<MonotonicityParams>()
                .Field("feature", &MonotonicityParams::feature, "the feature to sweep", Required())
                .Field("direction", &MonotonicityParams::direction,
                       "declared direction of the class score", OneOf({"increasing", "decreasing"}))
                .Field("class", &MonotonicityParams::class_index,
                       "class whose probability is checked", AtLeast(0))
                .Field("grid", &MonotonicityParams::grid, "grid points over the feature's range",
                       AtLeast(2))
                .Field("range", &MonotonicityParams::range,
                       "[low, high] of the sweep, low < high (absent: observed range)")
                .Field("tolerance", &MonotonicityParams::tolerance,
                       "score changes up to this are not violations")
                .Field("limit", &MonotonicityParams::limit, "use the first N dataset rows (0: all)",
                       AtLeast(0))) {}

 protected:
  std::shared_ptr<const Work> Needs(const MonotonicityParams& p) const override {
    return std::make_shared<SweepWork>(p);
  }
  SweepRows Accumulate(const MonotonicityParams&, const SweepRecord& record,
                       const MetricInput& input) const override {
    const auto g = static_cast<int64_t>(record.grid.size());
    return {record.grid, std::vector<double>(record.scores.begin() + input.rows.begin * g,
                                             record.scores.begin() + input.rows.end * g)};
  }
  Measurement Finalize(const MonotonicityParams& p, const SweepRows& s,
                       const FinalizeContext& ctx) const override {
    const auto grid_points = static_cast<int64_t>(s.grid.size());
    const int64_t n = static_cast<int64_t>(s.scores.size()) / grid_points;
    if (n == 0) throw InputError("monotonicity_violation_rate: the dataset has no rows");
    const double sign = p.direction == "increasing" ? 1.0 : -1.0;
    int64_t violating_rows = 0, violating_steps = 0;
    double worst = 0.0;
    std::vector<double> mean_curve(static_cast<size_t>(grid_points), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      bool violated = false;
      for (int64_t g = 0; g < grid_points; ++g) {
        const double score = s.scores[static_cast<size_t>(i * grid_points + g)];
        mean_curve[static_cast<size_t>(g)] += score / n;
        if (g == 0) continue;
        const double prev = s.scores[static_cast<size_t>(i * grid_points + g - 1)];
        const double drop = sign * (prev - score);  // > 0: the score moved against the direction.
        if (drop > p.tolerance) {
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
    r.interval = stats::WilsonInterval(violating_rows, n, ctx.confidence);
    r.method =
        "count: rows whose class score moves against the declared direction by more than "
        "the tolerance between adjacent grid points / rows; Wilson score interval";
    r.details = {{"feature", p.feature.value_or("")},
                 {"direction", p.direction},
                 {"class", p.class_index},
                 {"grid", s.grid},
                 {"tolerance", p.tolerance},
                 {"rows", n},
                 {"violating_rows", violating_rows},
                 {"violating_steps", violating_steps},
                 {"largest_violation", worst},
                 {"mean_score_curve", mean_curve}};
    return r;
  }
};

// --- perturbation_flip_rate ---

struct FlipParams {
  std::optional<std::vector<std::string>> features;  // Absent: every non-binary feature.
  double noise = 0.05;
  int64_t draws = 10;
  std::optional<int64_t> seed;  // Absent: the run seed.
  int64_t bootstrap_resamples = kBootstrapResamples;
  int64_t limit = kDefaultLimit;
};

// Per audited row: how many of its perturbed copies changed the clean prediction.
struct FlipRecord final : WorkRecord {
  std::vector<std::string> features;  // The perturbed features.
  uint64_t seed = 0;
  std::vector<int32_t> flips_per_row;
  int64_t rows() const override { return static_cast<int64_t>(flips_per_row.size()); }
};

class FlipWork final : public Work {
 public:
  explicit FlipWork(const FlipParams& p) : p_(p) {}
  std::string key() const override {
    return "safety.flips:" +
           CanonicalText(
               {{"features", p_.features ? nlohmann::json(*p_.features) : nlohmann::json(nullptr)},
                {"noise", p_.noise},
                {"draws", p_.draws},
                {"seed", p_.seed ? nlohmann::json(*p_.seed) : nlohmann::json(nullptr)},
                {"limit", p_.limit}});
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    const std::string metric = "perturbation_flip_rate";
    Model& model = RequireModel(ctx, metric);
    const Dataset& data = ctx.Rows(p_.limit);
    if (data.rows() == 0) throw InputError(metric + ": the dataset has no rows");
    const int64_t n = p_.limit <= 0 ? data.rows() : std::min(p_.limit, data.rows());
    const double noise = p_.noise;
    const int64_t draws = p_.draws;
    auto record = std::make_shared<FlipRecord>();
    record->seed = p_.seed ? static_cast<uint64_t>(*p_.seed) : ctx.seed();
    const int64_t size = data.sample_size();
    // Per-feature standard deviation over the audited rows.
    std::vector<double> mean(static_cast<size_t>(size), 0.0), sd(static_cast<size_t>(size), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < size; ++j)
        mean[static_cast<size_t>(j)] +=
            data.row(i)[static_cast<size_t>(j)] / static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < size; ++j) {
        const double d = data.row(i)[static_cast<size_t>(j)] - mean[static_cast<size_t>(j)];
        sd[static_cast<size_t>(j)] += d * d / std::max<double>(1.0, n - 1.0);
      }
    }
    for (auto& v : sd) v = std::sqrt(v);
    std::vector<int64_t> perturbed;
    if (p_.features) {
      for (const auto& name : *p_.features) perturbed.push_back(FeatureIndex(data, name, metric));
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
    if (perturbed.empty()) throw InputError(metric + ": no numeric feature to perturb");
    for (int64_t j : perturbed)
      record->features.push_back(data.feature_names()[static_cast<size_t>(j)]);
    std::vector<float> inputs;
    inputs.reserve(static_cast<size_t>(n * draws * size));
    for (int64_t i = 0; i < n; ++i) {
      auto rng = RowStream(record->seed, kNoiseStream, i);
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
    const ClassifierOutputs& clean = ctx.Outputs("perturbations");
    int64_t classes = 0;
    const auto probs = PredictProbabilities(model, inputs, n * draws, &classes);
    const auto pred = Argmax(probs, n * draws, classes);
    record->flips_per_row.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t d = 0; d < draws; ++d) {
        if (pred[static_cast<size_t>(i * draws + d)] != clean.predicted[static_cast<size_t>(i)]) {
          ++record->flips_per_row[static_cast<size_t>(i)];
        }
      }
    }
    return record;
  }

 private:
  FlipParams p_;
};

// Flips per row, in row order (the bootstrap resamples rows as clusters of draws). Merge appends.
struct FlipRows {
  std::vector<std::string> features;
  uint64_t seed = 0;
  std::vector<int32_t> flips_per_row;

  void Merge(const FlipRows& other) {
    if (other.features != features || other.seed != seed) {
      throw RuntimeError("flip counts of different perturbation runs");
    }
    flips_per_row.insert(flips_per_row.end(), other.flips_per_row.begin(),
                         other.flips_per_row.end());
  }
  nlohmann::json ToJson() const {
    return {{"features", features}, {"seed", seed}, {"flips_per_row", flips_per_row}};
  }
  static FlipRows FromJson(const nlohmann::json& j) {
    return {j.at("features").get<std::vector<std::string>>(),
            JsonInteger<uint64_t>(j.at("seed"), "seed"),
            JsonIntegers<int32_t>(j.at("flips_per_row"), "flips_per_row")};
  }
};

class FlipRateMetric final : public TypedMetric<FlipParams, FlipRows, FlipRecord> {
 public:
  FlipRateMetric()
      : TypedMetric(
            DescribeMetric("perturbation_flip_rate", "ratio", "safety",
                           "share of slightly perturbed copies of rows (Gaussian noise on numeric "
                           "features) whose predicted class differs from the clean prediction",
                           /*needs_model=*/true, /*needs_labels=*/false),
            ParamSchema<FlipParams>()
                .Field("features", &FlipParams::features,
                       "features to perturb (absent: all non-binary)")
                .Field("noise", &FlipParams::noise,
                       "noise standard deviation as a fraction of each feature's", AtLeast(0))
                .Field("draws", &FlipParams::draws, "perturbed copies per row", AtLeast(1))
                .Field("seed", &FlipParams::seed, "seed of the noise (absent: the run seed)",
                       AtLeast(0))
                .Field("bootstrap_resamples", &FlipParams::bootstrap_resamples,
                       "percentile-bootstrap resamples", AtLeast(kMinBootstrapResamples))
                .Field("limit", &FlipParams::limit, "use the first N dataset rows (0: all)",
                       AtLeast(0))) {}

 protected:
  std::shared_ptr<const Work> Needs(const FlipParams& p) const override {
    return std::make_shared<FlipWork>(p);
  }
  FlipRows Accumulate(const FlipParams&, const FlipRecord& record,
                      const MetricInput& input) const override {
    return {record.features, record.seed,
            std::vector<int32_t>(record.flips_per_row.begin() + input.rows.begin,
                                 record.flips_per_row.begin() + input.rows.end)};
  }
  Measurement Finalize(const FlipParams& p, const FlipRows& s,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(s.flips_per_row.size());
    if (n == 0) throw InputError("perturbation_flip_rate: the dataset has no rows");
    const int64_t draws = p.draws;
    int64_t flips = 0, rows_with_flip = 0;
    for (int32_t f : s.flips_per_row) {
      flips += f;
      rows_with_flip += f > 0;
    }
    Measurement r;
    r.unit = "ratio";
    r.samples = n * draws;
    r.value = static_cast<double>(flips) / static_cast<double>(n * draws);
    r.details = {{"features", s.features},
                 {"noise", p.noise},
                 {"noise_model", "x_j + noise * sd_j * N(0, 1), sd_j over the audited rows"},
                 {"draws_per_row", draws},
                 {"rows", n},
                 {"seed", s.seed},
                 {"flips", flips},
                 {"rows_with_a_flip", rows_with_flip}};
    if (draws == 1) {
      r.interval = stats::WilsonInterval(flips, n, ctx.confidence);
      r.method = "count: flipped predictions / perturbed rows; Wilson score interval";
    } else {
      // Draws of one row are correlated: resample rows (clusters), not draws. Seeded by the noise
      // seed, as the perturbations are.
      r.interval = BootstrapInterval(
          n, static_cast<int>(p.bootstrap_resamples), s.seed, ctx.confidence,
          [&](std::span<const uint32_t> w) -> std::optional<double> {
            double sum = 0.0;
            for (int64_t i = 0; i < n; ++i) sum += w[i] * s.flips_per_row[i];
            return sum / static_cast<double>(n * draws);
          },
          r.details);
      r.method = "count: flipped predictions / perturbed copies; percentile bootstrap over rows";
    }
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeMonotonicityViolationRate() {
  return std::make_unique<MonotonicityMetric>();
}

std::unique_ptr<Metric> MakePerturbationFlipRate() { return std::make_unique<FlipRateMetric>(); }

}  // namespace greenlight::safety
