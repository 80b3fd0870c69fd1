// Helpers shared by the safety families: the model and labels a work needs, batched predictions
// through the Model interface, seeded per-row random streams, rank statistics and bootstrap
// intervals. Nothing here includes LibTorch (only adversarial.cc and invalid_inputs.cc do).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "core/random.h"
#include "core/result.h"

namespace greenlight::safety {

constexpr int64_t kEvalBatch = 256;

// The model, or an InputError saying that `metric` needs one (black-box mode has none).
Model& RequireModel(AuditContext& ctx, const std::string& metric);

// Labels of the first `rows` rows; InputError when the dataset has none.
std::span<const int64_t> RequireLabels(const Dataset& data, int64_t rows,
                                       const std::string& metric);

// A well-mixed 64-bit hash (SplitMix64 finaliser) used to derive independent per-row streams
// from (seed, purpose, row), so results do not depend on batch sizes or evaluation order.
uint64_t Mix(uint64_t a, uint64_t b);
random::Rng RowStream(uint64_t seed, uint64_t purpose, int64_t row);

// Forward passes over `rows` samples (rows × model input size floats) in batches of kEvalBatch;
// returns rows × classes probabilities and sets *classes.
std::vector<double> PredictProbabilities(Model& model, std::span<const float> inputs, int64_t rows,
                                         int64_t* classes);

// argmax per row, ties to the lowest index (as torch.argmax / AuditContext::Outputs()).
std::vector<int64_t> Argmax(std::span<const double> probabilities, int64_t rows, int64_t classes);
// max per row (the maximum-softmax-probability / confidence).
std::vector<double> RowMax(std::span<const double> probabilities, int64_t rows, int64_t classes);

// Interval of a statistic of rows by the seeded percentile row bootstrap, widened to contain the
// statistic's value on the rows themselves (all weights 1); records the bootstrap settings in
// `details["bootstrap"]`.
Interval BootstrapInterval(
    int64_t n, int resamples, uint64_t seed, double level,
    const std::function<std::optional<double>(std::span<const uint32_t>)>& statistic,
    nlohmann::json& details);

// Input range of the model as declared (spec().input_min / input_max); InputError if empty.
std::pair<double, double> InputRange(const Model& model);

}  // namespace greenlight::safety
