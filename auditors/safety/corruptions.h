// Common corruptions with the CIFAR-10-C parameters (Hendrycks & Dietterich 2019,
// make_cifar_c.py) for inputs in [0, 1]: a model with another declared input.range gets its
// inputs mapped to [0, 1], corrupted, and mapped back.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "core/random.h"

namespace greenlight::safety {

// The corruption names, in the order used for "all".
const std::vector<std::string>& CorruptionNames();

// The CIFAR-10-C parameter of `corruption` at `severity` (1..5). InputError when unknown.
double CorruptionParameter(const std::string& corruption, int severity);

// Corrupts one sample in place. `x` holds values in [0, 1] laid out as `shape` (C × H × W for
// images; anything else is treated as one channel). brightness works in HSV for 3 channels and
// on the value itself for 1 channel; contrast uses per-channel means.
void Corrupt(const std::string& corruption, int severity, std::span<float> x,
             const std::vector<int64_t>& shape, random::Rng& rng);

}  // namespace greenlight::safety
