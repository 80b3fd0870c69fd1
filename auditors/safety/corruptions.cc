#include "auditors/safety/corruptions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "auditors/safety/common.h"
#include "core/error.h"
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

// Per row: how many of the evaluated (corruption, severity) cells it was classified correctly in.
struct CorruptionRun {
  std::vector<std::pair<std::string, int>> cells;
  std::vector<int64_t> correct_per_cell;  // One count per cell.
  std::vector<int32_t> correct_per_row;   // Over cells.
  int64_t rows = 0;
};

std::shared_ptr<CorruptionRun> RunCorruptions(const MetricRequest& req, AuditContext& ctx,
                                              const std::vector<std::pair<std::string, int>>& cells,
                                              int64_t n, uint64_t seed) {
  Model& model = RequireModel(ctx, req.metric);
  const Dataset& data = ctx.dataset();
  const auto labels = RequireLabels(data, n, req.metric);
  const auto [lo, hi] = InputRange(model);
  const int64_t size = data.sample_size();
  auto run = std::make_shared<CorruptionRun>();
  run->cells = cells;
  run->rows = n;
  run->correct_per_row.assign(static_cast<size_t>(n), 0);
  std::vector<float> buffer(static_cast<size_t>(n * size));
  for (size_t k = 0; k < cells.size(); ++k) {
    const auto& [name, severity] = cells[k];
    const auto cell_index =
        static_cast<uint64_t>((std::find(CorruptionNames().begin(), CorruptionNames().end(), name) -
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
      auto rng = RowStream(seed, Mix(kCorruptionStream, cell_index), i);
      Corrupt(name, severity, x, model.spec().input_shape, rng);
      for (float& v : x) v = static_cast<float>(lo + v * (hi - lo));
    }
    int64_t classes = 0;
    const auto probs = PredictProbabilities(model, buffer, n, &classes);
    const auto pred = Argmax(probs, n, classes);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (pred[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)]) {
        ++correct;
        ++run->correct_per_row[static_cast<size_t>(i)];
      }
    }
    run->correct_per_cell.push_back(correct);
    ctx.Progress(req.criterion_id, "corruptions", static_cast<double>(k + 1) / cells.size());
  }
  return run;
}

}  // namespace

std::vector<MetricSpec> CorruptionMetrics() {
  std::vector<std::string> choices = CorruptionNames();
  choices.push_back("all");
  const std::vector<ParamSpec> params{
      {"corruption", ParamType::kString, "which corruption, or all (mean over all)", "all", false,
       choices},
      {"severity", ParamType::kInteger, "CIFAR-10-C severity 1..5; absent: the mean over all five"},
      {"limit", ParamType::kInteger, "use the first N dataset rows (0: all)", kDefaultLimit},
      {"seed", ParamType::kInteger, "seed of the noise (absent: the run seed)"},
      {"bootstrap_resamples", ParamType::kInteger,
       "percentile-bootstrap resamples for intervals of means over several cells",
       kDefaultResamples},
  };
  return {
      {"corruption_accuracy", "ratio", "safety",
       "accuracy on inputs with CIFAR-10-C common corruptions", params, true, true},
      {"corruption_accuracy_drop", "ratio", "safety",
       "clean accuracy minus corruption_accuracy on the same rows", params, true, true},
  };
}

Measurement MeasureCorruption(const MetricRequest& req, AuditContext& ctx) {
  const Dataset& data = ctx.dataset();
  const int64_t n = SelectRows(req, data, kDefaultLimit);
  const uint64_t seed = RequestSeed(req);
  const std::string corruption = req.Param<std::string>("corruption", "all");
  std::vector<int> severities;
  if (req.params.contains("severity") && !req.params["severity"].is_null()) {
    const int s = req.params["severity"].get<int>();
    CorruptionParameter(CorruptionNames().front(), s);  // Validates 1..5.
    severities = {s};
  } else {
    severities = {1, 2, 3, 4, 5};
  }
  std::vector<std::string> names;
  if (corruption == "all") {
    names = CorruptionNames();
  } else {
    CorruptionParameter(corruption, 1);  // Validates the name.
    names = {corruption};
  }
  std::vector<std::pair<std::string, int>> cells;
  for (const auto& name : names) {
    for (int s : severities) cells.emplace_back(name, s);
  }
  nlohmann::json key_json = {{"cells", cells}, {"n", n}, {"seed", seed}};
  const auto run = ctx.Shared<CorruptionRun>("safety.corruptions:" + key_json.dump(), [&] {
    return RunCorruptions(req, ctx, cells, n, seed);
  });
  const auto labels = RequireLabels(data, n, req.metric);
  const ClassifierOutputs& clean = ctx.Outputs(req.criterion_id);
  std::vector<uint8_t> clean_correct(static_cast<size_t>(n));
  int64_t clean_hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    clean_correct[static_cast<size_t>(i)] =
        clean.predicted[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)];
    clean_hits += clean_correct[static_cast<size_t>(i)];
  }
  const double k = static_cast<double>(cells.size());
  int64_t total_hits = 0;
  for (int64_t c : run->correct_per_cell) total_hits += c;
  const double corrupted = static_cast<double>(total_hits) / (k * n);
  const double clean_acc = static_cast<double>(clean_hits) / n;

  Measurement r;
  r.unit = "ratio";
  r.samples = n;
  nlohmann::json per_cell = nlohmann::json::array();
  for (size_t c = 0; c < cells.size(); ++c) {
    per_cell.push_back({{"corruption", cells[c].first},
                        {"severity", cells[c].second},
                        {"parameter", CorruptionParameter(cells[c].first, cells[c].second)},
                        {"accuracy", static_cast<double>(run->correct_per_cell[c]) / n}});
  }
  r.details = {{"corruption", corruption},
               {"severities", severities},
               {"rows", n},
               {"seed", seed},
               {"clean_accuracy", clean_acc},
               {"corruption_accuracy", corrupted},
               {"cells", per_cell},
               {"input_mapping",
                "inputs mapped from the model's input.range to [0, 1], corrupted with the "
                "CIFAR-10-C parameters, clipped to [0, 1] and mapped back"}};
  const int resamples = Resamples(req);
  if (req.metric == "corruption_accuracy") {
    r.value = corrupted;
    if (cells.size() == 1) {
      r.interval = stats::WilsonInterval(total_hits, n, req.confidence);
      r.method = "count: correct / rows on corrupted inputs; Wilson score interval";
    } else {
      r.interval = BootstrapInterval(
          n, resamples, seed, req.confidence,
          [&](std::span<const uint32_t> w) -> std::optional<double> {
            double hits = 0.0;
            for (int64_t i = 0; i < n; ++i) hits += w[i] * run->correct_per_row[i];
            return hits / (k * n);
          },
          r.details);
      r.method = "mean accuracy over " + std::to_string(cells.size()) +
                 " corruption cells; percentile row bootstrap";
    }
    return r;
  }
  r.value = clean_acc - corrupted;
  r.details["relative_drop"] =
      clean_acc > 0 ? nlohmann::json((clean_acc - corrupted) / clean_acc) : nlohmann::json(nullptr);
  // Paired: clean and corrupted correctness of the same rows are resampled together.
  r.interval = BootstrapInterval(
      n, resamples, seed, req.confidence,
      [&](std::span<const uint32_t> w) -> std::optional<double> {
        double diff = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          diff += w[i] * (clean_correct[i] - run->correct_per_row[i] / k);
        }
        return diff / n;
      },
      r.details);
  r.method =
      "clean accuracy minus mean corrupted accuracy on the same rows; paired percentile "
      "row bootstrap";
  return r;
}

}  // namespace greenlight::safety
