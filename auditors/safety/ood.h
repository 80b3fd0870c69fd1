// Out-of-distribution detection with the maximum-softmax-probability baseline (Hendrycks &
// Gimpel 2017): AUROC of the MSP separating the test rows (positives) from generated OOD sets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/random.h"

namespace greenlight::safety {

// OOD set names: uniform_noise (U[min, max]), gaussian_noise (N(0.5, gaussian_std) in [0, 1]
// units, clipped, as Hendrycks & Gimpel), inverted (min + max - x).
const std::vector<std::string>& OodSetNames();

// Writes one OOD sample made from `x` (same size) into `out`; values in [lo, hi].
void MakeOodSample(const std::string& set, std::span<const float> x, double lo, double hi,
                   double gaussian_std, random::Rng& rng, std::span<float> out);

}  // namespace greenlight::safety
