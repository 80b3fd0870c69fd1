#include "auditors/safety/ood.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "auditors/safety/common.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
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

namespace {

struct OodParams {
  std::string ood_set = "all";
  double gaussian_std = 1.0;
  int64_t limit = kDefaultLimit;
  std::optional<int64_t> seed;  // Absent: the run seed.
  int64_t bootstrap_resamples = kBootstrapResamples;
};

std::vector<std::string> OodChoices() {
  std::vector<std::string> choices = OodSetNames();
  choices.push_back("all");
  return choices;
}

// The maximum softmax probability of every test row and of its twin in every OOD set, as the
// model gave them (NaN included), in row order.
struct OodRecord final : WorkRecord {
  std::vector<std::string> sets;
  uint64_t seed = 0;
  std::pair<double, double> range;
  std::vector<double> in_msp;                // [row]
  std::vector<std::vector<double>> ood_msp;  // [set][row]
  int64_t rows() const override { return static_cast<int64_t>(in_msp.size()); }
};

class OodWork final : public Work {
 public:
  OodWork(std::vector<std::string> sets, double gaussian_std, int64_t limit,
          std::optional<int64_t> seed)
      : sets_(std::move(sets)), gaussian_std_(gaussian_std), limit_(limit), seed_(seed) {}
  std::string key() const override {
    return "safety.ood:" +
           CanonicalText({{"sets", sets_},
                          {"gaussian_std", gaussian_std_},
                          {"limit", limit_},
                          {"seed", seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr)}});
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    const std::string metric = "ood_auroc";
    Model& model = RequireModel(ctx, metric);
    const Dataset& data = ctx.Rows(limit_);
    if (data.rows() == 0) throw InputError(metric + ": the dataset has no rows");
    const int64_t n = limit_ <= 0 ? data.rows() : std::min(limit_, data.rows());
    if (!(gaussian_std_ > 0)) throw InputError(metric + ": gaussian_std must be > 0");
    auto record = std::make_shared<OodRecord>();
    record->sets = sets_;
    record->seed = seed_ ? static_cast<uint64_t>(*seed_) : ctx.seed();
    record->range = InputRange(model);
    const auto [lo, hi] = record->range;
    const ClassifierOutputs& clean = ctx.Outputs("ood");
    if (clean.probabilities.empty()) throw InputError(metric + " needs model probabilities");
    record->in_msp = RowMax(std::span<const double>(clean.probabilities)
                                .subspan(0, static_cast<size_t>(n * clean.classes)),
                            n, clean.classes);
    const int64_t size = data.sample_size();
    std::vector<float> buffer(static_cast<size_t>(n * size));
    for (size_t s = 0; s < sets_.size(); ++s) {
      const auto set_index = static_cast<uint64_t>(
          std::find(OodSetNames().begin(), OodSetNames().end(), sets_[s]) - OodSetNames().begin());
      for (int64_t i = 0; i < n; ++i) {
        auto rng = RowStream(record->seed, Mix(kOodStream, set_index), i);
        MakeOodSample(sets_[s], data.row(i), lo, hi, gaussian_std_, rng,
                      std::span<float>(buffer).subspan(static_cast<size_t>(i * size),
                                                       static_cast<size_t>(size)));
      }
      int64_t classes = 0;
      const auto probs = PredictProbabilities(model, buffer, n, &classes);
      record->ood_msp.push_back(RowMax(probs, n, classes));
      ctx.Progress("ood", "OOD sets", static_cast<double>(s + 1) / sets_.size());
    }
    return record;
  }

 private:
  std::vector<std::string> sets_;
  double gaussian_std_;
  int64_t limit_;
  std::optional<int64_t> seed_;
};

// A rank statistic keeps its rows: the in-distribution MSP and the OOD twins' MSPs of every row,
// in row order (the stratified bootstrap resamples a row with its twins). Merge appends.
struct OodRows {
  std::vector<std::string> sets;
  uint64_t seed = 0;
  std::pair<double, double> range{0.0, 0.0};
  std::vector<double> in_msp;
  std::vector<std::vector<double>> ood_msp;

  void Merge(const OodRows& other) {
    if (other.sets != sets || other.seed != seed || other.range != range) {
      throw RuntimeError("OOD scores of different OOD runs");
    }
    in_msp.insert(in_msp.end(), other.in_msp.begin(), other.in_msp.end());
    for (size_t s = 0; s < sets.size(); ++s) {
      ood_msp[s].insert(ood_msp[s].end(), other.ood_msp[s].begin(), other.ood_msp[s].end());
    }
  }
  nlohmann::json ToJson() const {
    nlohmann::json ood = nlohmann::json::array();
    for (const auto& v : ood_msp) ood.push_back(ExactJson(v));
    return {{"sets", sets},
            {"seed", seed},
            {"range", {range.first, range.second}},
            {"in_msp", ExactJson(in_msp)},
            {"ood_msp", ood}};
  }
  static OodRows FromJson(const nlohmann::json& j) {
    OodRows s;
    s.sets = j.at("sets").get<std::vector<std::string>>();
    s.seed = JsonInteger<uint64_t>(j.at("seed"), "seed");
    s.range = {j.at("range").at(0).get<double>(), j.at("range").at(1).get<double>()};
    s.in_msp = ExactDoubles(j.at("in_msp"));
    for (const auto& v : j.at("ood_msp")) s.ood_msp.push_back(ExactDoubles(v));
    if (s.ood_msp.size() != s.sets.size()) throw InputError("OOD statistics: sets differ");
    for (const auto& v : s.ood_msp) {
      if (v.size() != s.in_msp.size()) throw InputError("OOD statistics: rows differ");
    }
    return s;
  }
};

class OodAurocMetric final : public TypedMetric<OodParams, OodRows, OodRecord> {
 public:
  OodAurocMetric()
      : TypedMetric(
            DescribeMetric("ood_auroc", "ratio", "safety",
                           "AUROC of the maximum softmax probability, test rows vs generated OOD "
                           "inputs (Hendrycks & Gimpel 2017)",
                           /*needs_model=*/true, /*needs_labels=*/false),
            ParamSchema<OodParams>()
                .Field("ood_set", &OodParams::ood_set, "which OOD set, or all (pooled)",
                       OneOf(OodChoices()))
                .Field("gaussian_std", &OodParams::gaussian_std,
                       "standard deviation of gaussian_noise, in units of the input range (> 0)",
                       AtLeast(0))
                .Field("limit", &OodParams::limit, "use the first N dataset rows (0: all)",
                       AtLeast(0))
                .Field("seed", &OodParams::seed, "seed of the noise (absent: the run seed)",
                       AtLeast(0))
                .Field("bootstrap_resamples", &OodParams::bootstrap_resamples,
                       "percentile-bootstrap resamples", AtLeast(kMinBootstrapResamples))) {}

 protected:
  std::shared_ptr<const Work> Needs(const OodParams& p) const override {
    return std::make_shared<OodWork>(
        p.ood_set == "all" ? OodSetNames() : std::vector<std::string>{p.ood_set}, p.gaussian_std,
        p.limit, p.seed);
  }
  OodRows Accumulate(const OodParams&, const OodRecord& record,
                     const MetricInput& input) const override {
    OodRows s;
    s.sets = record.sets;
    s.seed = record.seed;
    s.range = record.range;
    const auto b = static_cast<size_t>(input.rows.begin), e = static_cast<size_t>(input.rows.end);
    s.in_msp.assign(record.in_msp.begin() + b, record.in_msp.begin() + e);
    for (const auto& v : record.ood_msp) s.ood_msp.emplace_back(v.begin() + b, v.begin() + e);
    return s;
  }
  Measurement Finalize(const OodParams& p, const OodRows& rows,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(rows.in_msp.size());
    if (n == 0) throw InputError("ood_auroc: the dataset has no rows");
    const auto [lo, hi] = rows.range;
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
    std::vector<double> in_msp = rows.in_msp;
    sanitize(in_msp);
    // scores: n in-distribution rows, then n rows per OOD set (row i of set s derives from row i).
    std::vector<double> scores(in_msp);
    std::vector<uint8_t> positive(static_cast<size_t>(n), 1);
    nlohmann::json per_set = nlohmann::json::object();
    for (size_t s = 0; s < rows.sets.size(); ++s) {
      auto msp = rows.ood_msp[s];
      sanitize(msp);
      std::vector<double> pair_scores(in_msp);
      pair_scores.insert(pair_scores.end(), msp.begin(), msp.end());
      std::vector<uint8_t> pair_pos(static_cast<size_t>(n), 1);
      pair_pos.resize(static_cast<size_t>(2 * n), 0);
      double mean = 0.0;
      for (double v : msp) mean += v / n;
      per_set[rows.sets[s]] = {{"auroc", *stats::RocAuc(pair_scores, pair_pos)},
                               {"mean_msp", mean}};
      scores.insert(scores.end(), msp.begin(), msp.end());
      positive.resize(scores.size(), 0);
    }
    double in_mean = 0.0;
    for (double v : in_msp) in_mean += v / n;
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.value = stats::RocAuc(scores, positive);
    r.details = {
        {"score", "maximum softmax probability"},
        {"positives", "test rows (in-distribution)"},
        {"ood_sets", per_set},
        {"rows", n},
        {"seed", rows.seed},
        {"gaussian_std", p.gaussian_std},
        {"input_range", {lo, hi}},
        {"in_distribution_mean_msp", in_mean},
        {"nan_scores_ranked_lowest", non_finite},
        {"pooling", "pooled AUROC over equal-sized OOD sets = mean of the per-set AUROCs"}};
    // Stratified bootstrap: row i carries its in-distribution score and its OOD twins together.
    // Seeded by the noise seed, as the OOD inputs are.
    const size_t sets_count = rows.sets.size();
    std::vector<double> weights(scores.size());
    r.interval = BootstrapInterval(
        n, static_cast<int>(p.bootstrap_resamples), rows.seed, ctx.confidence,
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
};

}  // namespace

std::unique_ptr<Metric> MakeOodAuroc() { return std::make_unique<OodAurocMetric>(); }

}  // namespace greenlight::safety
