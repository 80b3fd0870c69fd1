// The safety metrics on the metric framework (auditors/metric.h): one Make function per metric,
// each registered by one line in auditors/builtin.cc. The families' algorithms (ECE binnings,
// attacks, corruptions, ...) stay in their own headers, free of the framework.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auditors/metric.h"

namespace greenlight::safety {

std::unique_ptr<Metric> MakeEce();                        // calibration.cc
std::unique_ptr<Metric> MakeEceEqualMass();               // calibration.cc
std::unique_ptr<Metric> MakeAdversarialAccuracy();        // adversarial.cc
std::unique_ptr<Metric> MakeAttackSuccessRate();          // adversarial.cc
std::unique_ptr<Metric> MakeEmpiricalRobustness();        // adversarial.cc
std::unique_ptr<Metric> MakeCorruptionAccuracy();         // corruptions.cc
std::unique_ptr<Metric> MakeCorruptionAccuracyDrop();     // corruptions.cc
std::unique_ptr<Metric> MakeDeterminismMaxAbsDiff();      // determinism.cc
std::unique_ptr<Metric> MakeOodAuroc();                   // ood.cc
std::unique_ptr<Metric> MakeMonotonicityViolationRate();  // tabular.cc
std::unique_ptr<Metric> MakePerturbationFlipRate();       // tabular.cc
std::unique_ptr<Metric> MakeInvalidInputSilentRate();     // invalid_inputs.cc

// Percentile-bootstrap resamples of the bootstrapped safety metrics: the default and the least
// the loader accepts.
inline constexpr int64_t kBootstrapResamples = 1000;
inline constexpr double kMinBootstrapResamples = 100;

// The first `limit` rows of the dataset (limit 0: all) intersected with a slice of them: the rows
// a metric with a `limit` parameter accumulates.
inline RowRange LimitRows(RowRange rows, int64_t limit) {
  if (limit > 0) {
    rows.end = std::min(rows.end, limit);
    rows.begin = std::min(rows.begin, rows.end);
  }
  return rows;
}

// Doubles as JSON, exactly and including the non-finite ones (a NaN model output, an unbounded
// difference), which JSON numbers cannot hold: finite values as numbers (nlohmann::json writes
// the shortest text that reads back the same), the others as "nan", "inf" or "-inf".
nlohmann::json ExactJson(double value);
nlohmann::json ExactJson(std::span<const double> values);
double ExactDouble(const nlohmann::json& j);
std::vector<double> ExactDoubles(const nlohmann::json& j);

}  // namespace greenlight::safety
