#include "auditors/safety/corruptions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

#include "auditors/paired_outcomes.h"
#include "auditors/safety/common.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"

namespace greenlight::safety {
namespace {

const std::map<std::string, std::array<double, 5>>& Table() {
  // make_cifar_c.py, CIFAR-10 column.
  static const std::map<std::string, std::array<double, 5>> table{
      {"gaussian_noise", {0.04, 0.06, 0.08, 0.09, 0.10}},
      {"shot_noise", {500, 250, 100, 75, 50}},
      {"impulse_noise", {0.01, 0.02, 0.03, 0.05, 0.07}},
      {"speckle_noise", {0.06, 0.1, 0.12, 0.16, 0.2}},
      {"contrast", {0.75, 0.5, 0.4, 0.3, 0.15}},
      {"brightness", {0.05, 0.1, 0.15, 0.2, 0.3}},
  };
  return table;
}

float Clip01(double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); }

// skimage.color.rgb2hsv / hsv2rgb on one pixel (values in [0, 1]).
void RgbToHsv(double r, double g, double b, double* h, double* s, double* v) {
  const double mx = std::max({r, g, b});
  const double mn = std::min({r, g, b});
  const double delta = mx - mn;
  *v = mx;
  *s = mx == 0.0 ? 0.0 : delta / mx;
  if (delta == 0.0) {
    *h = 0.0;
    return;
  }
  double hh;
  if (r == mx) {
    hh = (g - b) / delta;
  } else if (g == mx) {
    hh = 2.0 + (b - r) / delta;
  } else {
    hh = 4.0 + (r - g) / delta;
  }
  hh /= 6.0;
  *h = hh - std::floor(hh);
}

void HsvToRgb(double h, double s, double v, double* r, double* g, double* b) {
  const double h6 = h * 6.0;
  const int i = static_cast<int>(std::floor(h6)) % 6;
  const double f = h6 - std::floor(h6);
  const double p = v * (1.0 - s), q = v * (1.0 - f * s), t = v * (1.0 - (1.0 - f) * s);
  switch (i) {
    case 0:
      *r = v, *g = t, *b = p;
      break;
    case 1:
      *r = q, *g = v, *b = p;
      break;
    case 2:
      *r = p, *g = v, *b = t;
      break;
    case 3:
      *r = p, *g = q, *b = v;
      break;
    case 4:
      *r = t, *g = p, *b = v;
      break;
    default:
      *r = v, *g = p, *b = q;
      break;
  }
}

}  // namespace

const std::vector<std::string>& CorruptionNames() {
  static const std::vector<std::string> names{"gaussian_noise", "shot_noise", "impulse_noise",
                                              "speckle_noise",  "contrast",   "brightness"};
  return names;
}

double CorruptionParameter(const std::string& corruption, int severity) {
  auto it = Table().find(corruption);
  if (it == Table().end()) throw InputError("unknown corruption '" + corruption + "'");
  if (severity < 1 || severity > 5) {
    throw InputError("corruption severity must be 1..5, got " + std::to_string(severity));
  }
  return it->second[static_cast<size_t>(severity - 1)];
}

void Corrupt(const std::string& corruption, int severity, std::span<float> x,
             const std::vector<int64_t>& shape, random::Rng& rng) {
  const double c = CorruptionParameter(corruption, severity);
  const int64_t channels = shape.size() == 3 ? shape[0] : 1;
  const int64_t plane = static_cast<int64_t>(x.size()) / channels;
  if (corruption == "gaussian_noise") {
    for (float& v : x) v = Clip01(v + c * random::StandardNormal(rng));
  } else if (corruption == "shot_noise") {
    // Poisson photon counts at c photons per unit intensity.
    for (float& v : x) {
      const double photons = std::max(0.0, static_cast<double>(v)) * c;
      v = Clip01(static_cast<double>(random::Poisson(rng, photons)) / c);
    }
  } else if (corruption == "impulse_noise") {
    // skimage random_noise(mode='s&p', salt_vs_pepper=0.5): each value is flipped with
    // probability `amount`, to 1 (salt) or 0 (pepper) with equal odds.
    for (float& v : x) {
      const bool flipped = random::UniformDouble(rng) <= c;
      const bool salt = random::UniformDouble(rng) <= 0.5;
      if (flipped) v = salt ? 1.0f : 0.0f;
    }
  } else if (corruption == "speckle_noise") {
    for (float& v : x) v = Clip01(v + v * c * random::StandardNormal(rng));
  } else if (corruption == "contrast") {
    for (int64_t ch = 0; ch < channels; ++ch) {
      auto p = x.subspan(static_cast<size_t>(ch * plane), static_cast<size_t>(plane));
      const double mean = std::accumulate(p.begin(), p.end(), 0.0) / static_cast<double>(plane);
      for (float& v : p) v = Clip01((v - mean) * c + mean);
    }
  } else if (corruption == "brightness") {
    if (channels == 3) {
      for (int64_t i = 0; i < plane; ++i) {
        double h, s, v, r, g, b;
        float& pr = x[static_cast<size_t>(i)];
        float& pg = x[static_cast<size_t>(plane + i)];
        float& pb = x[static_cast<size_t>(2 * plane + i)];
        RgbToHsv(pr, pg, pb, &h, &s, &v);
        HsvToRgb(h, s, std::clamp(v + c, 0.0, 1.0), &r, &g, &b);
        pr = Clip01(r), pg = Clip01(g), pb = Clip01(b);
      }
    } else {
      // One channel: the HSV value of a grey pixel is the pixel itself.
      for (float& v : x) v = Clip01(v + c);
    }
  }
}

namespace {

constexpr int64_t kDefaultLimit = 1000;
constexpr uint64_t kCorruptionStream = 0xC0;

// The cells (corruption, severity) a criterion averages over, in the order of CorruptionNames().
std::vector<std::pair<std::string, int>> Cells(const std::string& corruption,
                                               const std::optional<int64_t>& severity) {
  std::vector<int> severities;
  if (severity) {
    severities = {static_cast<int>(*severity)};
  } else {
    severities = {1, 2, 3, 4, 5};
  }
  const std::vector<std::string> names =
      corruption == "all" ? CorruptionNames() : std::vector<std::string>{corruption};
  std::vector<std::pair<std::string, int>> cells;
  for (const auto& name : names) {
    for (int s : severities) cells.emplace_back(name, s);
  }
  return cells;
}

struct CorruptionParams {
  std::string corruption = "all";
  std::optional<int64_t> severity;  // Absent: the mean over all five.
  int64_t limit = kDefaultLimit;
  std::optional<int64_t> seed;  // Absent: the run seed.
  int64_t bootstrap_resamples = kBootstrapResamples;
};

// Every corrupted copy of the first min(limit, rows) rows through the model: per cell, which rows
// stay correct; and which rows the clean model gets right (the drop pairs them).
struct CorruptionRecord final : WorkRecord {
  std::vector<std::pair<std::string, int>> cells;
  uint64_t seed = 0;                          // The noise seed used.
  std::vector<std::vector<uint8_t>> correct;  // [cell][row]
  std::vector<uint8_t> clean_correct;         // [row]
  int64_t rows() const override { return static_cast<int64_t>(clean_correct.size()); }
};

class CorruptionWork final : public Work {
 public:
  CorruptionWork(std::vector<std::pair<std::string, int>> cells, int64_t limit,
                 std::optional<int64_t> seed)
      : cells_(std::move(cells)), limit_(limit), seed_(seed) {}
  std::string key() const override {
    return "safety.corruptions:" +
           CanonicalText({{"cells", cells_},
                          {"limit", limit_},
                          {"seed", seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr)}});
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    return RunOn(ctx, RequireModel(ctx, "corruption_accuracy"), PairedSide::kModel);
  }
  // The model and the reference model on the same corrupted rows (the same noise draws).
  std::shared_ptr<const Work> WithReference() const override {
    const auto self = std::make_shared<const CorruptionWork>(*this);
    return std::make_shared<PairedWork>(
        key(),
        [self](AuditContext& ctx, PairedSide side) -> std::shared_ptr<const WorkRecord> {
          if (side == PairedSide::kModel) return self->Run(ctx, {});
          return self->RunOn(ctx, *ctx.reference(), side);
        },
        nlohmann::json{{"model", "the corrupted rows through the model"},
                       {"reference",
                        "the same corrupted rows (the same noise draws) through the reference "
                        "model"}});
  }

 private:
  // The corruption run through `model`, the model or the reference model (`side`), whose clean
  // predictions the record pairs with.
  std::shared_ptr<const CorruptionRecord> RunOn(AuditContext& ctx, Model& model,
                                                PairedSide side) const {
    const Dataset& data = ctx.Rows(limit_);
    if (data.rows() == 0) throw InputError("corruption_accuracy: the dataset has no rows");
    const int64_t n = limit_ <= 0 ? data.rows() : std::min(limit_, data.rows());
    const auto labels = RequireLabels(data, n, "corruption_accuracy");
    const auto [lo, hi] = InputRange(model);
    const int64_t size = data.sample_size();
    auto record = std::make_shared<CorruptionRecord>();
    record->cells = cells_;
    record->seed = seed_ ? static_cast<uint64_t>(*seed_) : ctx.seed();
    std::vector<float> buffer(static_cast<size_t>(n * size));
    for (size_t k = 0; k < cells_.size(); ++k) {
      const auto& [name, severity] = cells_[k];
      const auto cell_index = static_cast<uint64_t>(
          (std::find(CorruptionNames().begin(), CorruptionNames().end(), name) -
           CorruptionNames().begin()) *
              8 +
          severity);
      for (int64_t i = 0; i < n; ++i) {
        auto row = data.row(i);
        auto x = std::span<float>(buffer).subspan(static_cast<size_t>(i * size),
                                                  static_cast<size_t>(size));
        for (int64_t j = 0; j < size; ++j) {
          x[static_cast<size_t>(j)] = static_cast<float>(
              std::clamp((row[static_cast<size_t>(j)] - lo) / (hi - lo), 0.0, 1.0));
        }
        auto rng = RowStream(record->seed, Mix(kCorruptionStream, cell_index), i);
        Corrupt(name, severity, x, model.spec().input_shape, rng);
        for (float& v : x) v = static_cast<float>(lo + v * (hi - lo));
      }
      int64_t classes = 0;
      const auto probs = PredictProbabilities(model, buffer, n, &classes);
      const auto pred = Argmax(probs, n, classes);
      std::vector<uint8_t> correct(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        correct[static_cast<size_t>(i)] =
            pred[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)] ? 1 : 0;
      }
      record->correct.push_back(std::move(correct));
      ctx.Progress("corruptions", "corrupted inputs", static_cast<double>(k + 1) / cells_.size());
    }
    const ClassifierOutputs& clean = side == PairedSide::kModel
                                         ? ctx.Outputs("corruptions")
                                         : ctx.ReferenceOutputs("corruptions");
    record->clean_correct.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      record->clean_correct[static_cast<size_t>(i)] =
          clean.predicted[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)] ? 1 : 0;
    }
    return record;
  }

  std::vector<std::pair<std::string, int>> cells_;
  int64_t limit_;
  std::optional<int64_t> seed_;
};

// Per cell: correct rows (counts add exactly); per row: the clean outcome and how many cells it
// survived, which the row bootstrap resamples (kept in row order; Merge appends).
struct CorruptionStats {
  std::vector<std::pair<std::string, int>> cells;
  uint64_t seed = 0;
  std::vector<int64_t> cell_hits;
  std::vector<int32_t> correct_per_row;
  std::vector<uint8_t> clean_correct;

  void Merge(const CorruptionStats& other) {
    if (other.cells != cells || other.seed != seed) {
      throw RuntimeError("corruption counts of different corruption runs");
    }
    for (size_t c = 0; c < cells.size(); ++c) cell_hits[c] += other.cell_hits[c];
    correct_per_row.insert(correct_per_row.end(), other.correct_per_row.begin(),
                           other.correct_per_row.end());
    clean_correct.insert(clean_correct.end(), other.clean_correct.begin(),
                         other.clean_correct.end());
  }
  nlohmann::json ToJson() const {
    return {{"cells", cells},
            {"seed", seed},
            {"cell_hits", cell_hits},
            {"correct_per_row", correct_per_row},
            {"clean_correct", clean_correct}};
  }
  static CorruptionStats FromJson(const nlohmann::json& j) {
    CorruptionStats s{j.at("cells").get<std::vector<std::pair<std::string, int>>>(),
                      JsonInteger<uint64_t>(j.at("seed"), "seed"),
                      JsonIntegers<int64_t>(j.at("cell_hits"), "cell_hits"),
                      JsonIntegers<int32_t>(j.at("correct_per_row"), "correct_per_row"),
                      JsonIntegers<uint8_t>(j.at("clean_correct"), "clean_correct")};
    if (s.cell_hits.size() != s.cells.size() ||
        s.correct_per_row.size() != s.clean_correct.size()) {
      throw InputError("corruption statistics: arrays differ in length");
    }
    return s;
  }
};

// corruption_accuracy and corruption_accuracy_drop read the same run; `drop` picks which.
class CorruptionMetric final
    : public TypedMetric<CorruptionParams, CorruptionStats, CorruptionRecord>,
      public PairableMetric {
 public:
  CorruptionMetric(std::string name, std::string description, bool drop)
      : TypedMetric(
            DescribeMetric(std::move(name), "ratio", "safety", std::move(description),
                           /*needs_model=*/true, /*needs_labels=*/true),
            ParamSchema<CorruptionParams>()
                .Field("corruption", &CorruptionParams::corruption,
                       "which corruption, or all (mean over all)", OneOf(CorruptionChoices()))
                .Field("severity", &CorruptionParams::severity,
                       "CIFAR-10-C severity 1..5; absent: the mean over all five", Between(1, 5))
                .Field("limit", &CorruptionParams::limit, "use the first N dataset rows (0: all)",
                       AtLeast(0))
                .Field("seed", &CorruptionParams::seed, "seed of the noise (absent: the run seed)",
                       AtLeast(0))
                .Field("bootstrap_resamples", &CorruptionParams::bootstrap_resamples,
                       "percentile-bootstrap resamples for intervals of means over several cells",
                       AtLeast(kMinBootstrapResamples))),
        drop_(drop) {}

 protected:
  std::shared_ptr<const Work> Needs(const CorruptionParams& p) const override {
    return std::make_shared<CorruptionWork>(Cells(p.corruption, p.severity), p.limit, p.seed);
  }
  CorruptionStats Accumulate(const CorruptionParams&, const CorruptionRecord& record,
                             const MetricInput& input) const override {
    CorruptionStats s;
    s.cells = record.cells;
    s.seed = record.seed;
    s.cell_hits.assign(record.cells.size(), 0);
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const auto row = static_cast<size_t>(i);
      int32_t survived = 0;
      for (size_t c = 0; c < record.cells.size(); ++c) {
        survived += record.correct[c][row];
        s.cell_hits[c] += record.correct[c][row];
      }
      s.correct_per_row.push_back(survived);
      s.clean_correct.push_back(record.clean_correct[row]);
    }
    return s;
  }
  Measurement Finalize(const CorruptionParams& p, const CorruptionStats& s,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(s.clean_correct.size());
    if (n == 0) throw InputError(spec().name + ": the dataset has no rows");
    const double k = static_cast<double>(s.cells.size());
    int64_t total_hits = 0;
    for (int64_t c : s.cell_hits) total_hits += c;
    int64_t clean_hits = 0;
    for (uint8_t c : s.clean_correct) clean_hits += c;
    const double corrupted = static_cast<double>(total_hits) / (k * n);
    const double clean_acc = static_cast<double>(clean_hits) / n;
    std::vector<int> severities;
    for (const auto& [name, severity] : s.cells) {
      if (name == s.cells.front().first) severities.push_back(severity);
    }
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    nlohmann::json per_cell = nlohmann::json::array();
    for (size_t c = 0; c < s.cells.size(); ++c) {
      per_cell.push_back({{"corruption", s.cells[c].first},
                          {"severity", s.cells[c].second},
                          {"parameter", CorruptionParameter(s.cells[c].first, s.cells[c].second)},
                          {"accuracy", static_cast<double>(s.cell_hits[c]) / n}});
    }
    r.details = {{"corruption", p.corruption},
                 {"severities", severities},
                 {"rows", n},
                 {"seed", s.seed},
                 {"clean_accuracy", clean_acc},
                 {"corruption_accuracy", corrupted},
                 {"cells", per_cell},
                 {"input_mapping",
                  "inputs mapped from the model's input.range to [0, 1], corrupted with the "
                  "CIFAR-10-C parameters, clipped to [0, 1] and mapped back"}};
    const int resamples = static_cast<int>(p.bootstrap_resamples);
    // The bootstrap is seeded by the noise seed, as the corrupted inputs are.
    if (!drop_) {
      r.value = corrupted;
      if (s.cells.size() == 1) {
        r.interval = stats::WilsonInterval(total_hits, n, ctx.confidence);
        r.method = "count: correct / rows on corrupted inputs; Wilson score interval";
      } else {
        r.interval = BootstrapInterval(
            n, resamples, s.seed, ctx.confidence,
            [&](std::span<const uint32_t> w) -> std::optional<double> {
              double hits = 0.0;
              for (int64_t i = 0; i < n; ++i) hits += w[i] * s.correct_per_row[i];
              return hits / (k * n);
            },
            r.details);
        r.method = "mean accuracy over " + std::to_string(s.cells.size()) +
                   " corruption cells; percentile row bootstrap";
      }
      return r;
    }
    r.value = clean_acc - corrupted;
    r.details["relative_drop"] = clean_acc > 0 ? nlohmann::json((clean_acc - corrupted) / clean_acc)
                                               : nlohmann::json(nullptr);
    // Paired: clean and corrupted correctness of the same rows are resampled together.
    r.interval = BootstrapInterval(
        n, resamples, s.seed, ctx.confidence,
        [&](std::span<const uint32_t> w) -> std::optional<double> {
          double diff = 0.0;
          for (int64_t i = 0; i < n; ++i) {
            diff += w[i] * (s.clean_correct[i] - s.correct_per_row[i] / k);
          }
          return diff / n;
        },
        r.details);
    r.method =
        "clean accuracy minus mean corrupted accuracy on the same rows; paired percentile "
        "row bootstrap";
    return r;
  }

 public:
  // Pairing (metric_delta, metric_retention): a row's outcome is the share of cells it survives
  // (drop: its clean correctness minus that share), so the mean over rows is the value.
  std::string OutcomeName(const BoundParams&) const override {
    return drop_ ? "numerator: 1 where the clean input is classified correctly, minus the share "
                   "of corruption cells whose corrupted input is; denominator: 1"
                 : "numerator: the share of corruption cells whose corrupted input is classified "
                   "correctly; denominator: 1";
  }
  RowOutcomes Outcomes(const BoundParams&, const WorkRecord& record, RowRange rows) const override {
    const auto& r = dynamic_cast<const CorruptionRecord&>(record);
    const double k = static_cast<double>(r.cells.size());
    RowOutcomes out;
    for (int64_t i = rows.begin; i < rows.end; ++i) {
      const auto row = static_cast<size_t>(i);
      double survived = 0.0;
      for (const auto& cell : r.correct) survived += cell[row];
      out.numerator.push_back(drop_ ? r.clean_correct[row] - survived / k : survived / k);
      out.denominator.push_back(1.0);
    }
    return out;
  }

 private:
  static std::vector<std::string> CorruptionChoices() {
    std::vector<std::string> choices = CorruptionNames();
    choices.push_back("all");
    return choices;
  }
  bool drop_;
};

}  // namespace

std::unique_ptr<Metric> MakeCorruptionAccuracy() {
  return std::make_unique<CorruptionMetric>("corruption_accuracy",
                                            "accuracy on inputs with CIFAR-10-C common corruptions",
                                            /*drop=*/false);
}

std::unique_ptr<Metric> MakeCorruptionAccuracyDrop() {
  return std::make_unique<CorruptionMetric>(
      "corruption_accuracy_drop", "clean accuracy minus corruption_accuracy on the same rows",
      /*drop=*/true);
}

}  // namespace greenlight::safety
