// Statistics used by every auditor: quantiles, binomial intervals, order-statistic bounds and the
// percentile bootstrap. All functions are deterministic given their inputs (and seed).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "core/result.h"

namespace greenlight::stats {

// Standard normal quantile, z such that Phi(z) = p, for 0 < p < 1.
double NormalQuantile(double p);

// Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998, method 3).
// Requires n > 0 and 0 <= successes <= n; `level` in (0, 1).
Interval WilsonInterval(int64_t successes, int64_t n, double level);

// Sample quantile with linear interpolation between order statistics (Hyndman-Fan type 7, the
// default of numpy and R). `sorted` must be ascending and non-empty; 0 <= p <= 1.
double QuantileSorted(std::span<const double> sorted, double p);

// 0-based indices (lo, hi) into n sorted i.i.d. samples such that
// P(x[lo] <= q_p <= x[hi]) >= level for the true p-quantile q_p of any continuous distribution
// (binomial order statistics, as MLPerf LoadGen's early-stopping estimate). A side whose bound
// does not exist with n samples is nullopt: more samples are needed for that confidence.
struct OrderStatisticBounds {
  std::optional<int64_t> lo;
  std::optional<int64_t> hi;
};
OrderStatisticBounds PercentileOrderBounds(int64_t n, double p, double level);

// Percentile bootstrap interval from replicate statistics (modified in place: sorted).
Interval PercentileInterval(std::vector<double>& replicates, double level);

// Runs `resamples` row bootstraps of n rows with std::mt19937_64(seed): `statistic` receives the
// multiplicity of each row (counts summing to n) and returns the statistic, or nullopt when it is
// undefined on that resample (such resamples are dropped and counted in `undefined`).
struct BootstrapResult {
  std::vector<double> replicates;
  int64_t undefined = 0;
};
BootstrapResult RowBootstrap(
    int64_t n, int resamples, uint64_t seed,
    const std::function<std::optional<double>(std::span<const uint32_t>)>& statistic);

// Area under the ROC curve of `scores` against `positive` (Mann-Whitney U with mid-ranks for
// ties), with per-row weights acting as multiplicities (bootstrap counts; empty = all 1).
// nullopt when either class has no weight.
std::optional<double> RocAuc(std::span<const double> scores, std::span<const uint8_t> positive,
                             std::span<const double> weights = {});

// One multinomial draw of `n` items over cells with the given non-negative weights (normalised
// here), by conditional binomials: the exact distribution of a row bootstrap's cell counts.
std::vector<int64_t> MultinomialDraw(int64_t n, std::span<const double> weights,
                                     std::mt19937_64& rng);

}  // namespace greenlight::stats
