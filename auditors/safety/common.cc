#include "auditors/safety/common.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/stats.h"

namespace greenlight::safety {

Model& RequireModel(AuditContext& ctx, const std::string& metric) {
  if (ctx.model() == nullptr) {
    throw InputError(metric +
                     " needs a model (it runs the model on new inputs); this run has "
                     "recorded predictions only");
  }
  if (ctx.source().sample_size() != ctx.model()->input_size()) {
    throw InputError(ctx.model()->spec().path.string() + ": dataset rows have " +
                     std::to_string(ctx.source().sample_size()) +
                     " values but model input.shape has " +
                     std::to_string(ctx.model()->input_size()));
  }
  return *ctx.model();
}

std::span<const int64_t> RequireLabels(const Dataset& data, int64_t rows,
                                       const std::string& metric) {
  if (!data.has_labels()) throw InputError(metric + " needs labels and the dataset has none");
  return data.labels().subspan(0, static_cast<size_t>(rows));
}

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

random::Rng RowStream(uint64_t seed, uint64_t purpose, int64_t row) {
  return random::Rng(Mix(Mix(seed, purpose), static_cast<uint64_t>(row)));
}

std::vector<double> PredictProbabilities(Model& model, std::span<const float> inputs, int64_t rows,
                                         int64_t* classes) {
  const int64_t size = model.input_size();
  std::vector<double> out;
  *classes = 0;
  for (int64_t start = 0; start < rows; start += kEvalBatch) {
    const int64_t b = std::min(kEvalBatch, rows - start);
    int64_t outputs = 0;
    const auto raw = model.Forward(
        inputs.subspan(static_cast<size_t>(start * size), static_cast<size_t>(b * size)), b,
        &outputs);
    int64_t c = 0;
    const auto p = OutputsToProbabilities(raw, b, outputs, model.spec().output, &c);
    *classes = c;
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::vector<int64_t> Argmax(std::span<const double> probabilities, int64_t rows, int64_t classes) {
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const double* p = probabilities.data() + i * classes;
    out[static_cast<size_t>(i)] = std::max_element(p, p + classes) - p;
  }
  return out;
}

std::vector<double> RowMax(std::span<const double> probabilities, int64_t rows, int64_t classes) {
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const double* p = probabilities.data() + i * classes;
    out[static_cast<size_t>(i)] = *std::max_element(p, p + classes);
  }
  return out;
}

Interval BootstrapInterval(
    int64_t n, int resamples, uint64_t seed, double level,
    const std::function<std::optional<double>(std::span<const uint32_t>)>& statistic,
    nlohmann::json& details) {
  auto boot = stats::RowBootstrap(n, resamples, seed, statistic);
  details["bootstrap"] = {{"resamples", resamples},
                          {"seed", seed},
                          {"generator", random::kGeneratorName},
                          {"undefined_resamples", boot.undefined},
                          {"method", "percentile bootstrap over rows"}};
  // The statistic with every row once is the estimate; the interval must contain it.
  const std::vector<uint32_t> ones(static_cast<size_t>(n), 1u);
  const std::optional<double> estimate = statistic(ones);
  if (!estimate) return stats::PercentileInterval(boot.replicates, level);
  return stats::PercentileIntervalContaining(boot.replicates, level, *estimate);
}

std::pair<double, double> InputRange(const Model& model) {
  const double lo = model.spec().input_min;
  const double hi = model.spec().input_max;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) {
    throw InputError(model.spec().path.string() +
                     ": model input.range must be finite with min < max");
  }
  return {lo, hi};
}

nlohmann::json ExactJson(double value) {
  if (std::isfinite(value)) return value;
  if (std::isnan(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

nlohmann::json ExactJson(std::span<const double> values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) out.push_back(ExactJson(v));
  return out;
}

double ExactDouble(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.is_string() ? j.get<std::string>() : "";
  if (s == "nan") return std::nan("");
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  throw InputError("statistics: expected a number, nan, inf or -inf, got " + j.dump());
}

std::vector<double> ExactDoubles(const nlohmann::json& j) {
  if (!j.is_array()) throw InputError("statistics: expected an array of numbers");
  std::vector<double> out;
  out.reserve(j.size());
  for (const auto& v : j) out.push_back(ExactDouble(v));
  return out;
}

}  // namespace greenlight::safety
