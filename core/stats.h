// Statistics used by every auditor: quantiles, binomial intervals, order-statistic bounds and the
// percentile bootstrap. All functions are deterministic given their inputs (and seed).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/random.h"
#include "core/result.h"

namespace greenlight::stats {

// Standard normal quantile, z such that Phi(z) = p, for 0 < p < 1.
double NormalQuantile(double p);

// Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998, method 3), as
// published. Requires n > 0 and 0 <= successes <= n; `level` in (0, 1).
Interval WilsonScoreInterval(int64_t successes, int64_t n, double level);

// The Wilson interval every greenlight proportion reports: the score interval with Brown, Cai and
// DasGupta's boundary modification ("Interval estimation for a binomial proportion", Statistical
// Science 16, 2001, section 4.1.1). The plain score interval's coverage drops far below nominal
// for rates near 0 or 1 (86 % at n = 30, p = 0.005, for 95 %): with 1 <= successes <= x*
// (x* = 2 for n <= 50, else 3) the lower limit becomes the smaller of Wilson's and the exact
// Poisson (Garwood) lower limit gamma_p_inv(x, (1 - level) / 2) / n, and symmetrically for the
// upper limit near n. Equal-tailed; contains successes / n. Method "wilson".
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

// The percentile interval of `replicates` at `level`, widened to include `estimate` when the
// bootstrap distribution lies wholly on one side of it (a biased statistic on a small sample):
// a reported interval always contains its value, and widening can only raise coverage. Sets
// method to "bootstrap-percentile" or "bootstrap-percentile-widened".
Interval PercentileIntervalContaining(std::vector<double>& replicates, double level,
                                      double estimate);

// Every reported interval must contain its estimate. Analytic constructions do by design; this
// absorbs floating-point rounding (up to 1e-9) and throws RuntimeError naming `what` beyond it,
// which would be a defect, not a property of the data.
void RequireContains(Interval& interval, double estimate, std::string_view what);

// Runs `resamples` row bootstraps of n rows with random::Rng(seed) (rows picked by UniformBelow):
// `statistic` receives the multiplicity of each row (counts summing to n) and returns the
// statistic, or nullopt when it is undefined on that resample (such resamples are dropped and
// counted in `undefined`).
struct BootstrapResult {
  std::vector<double> replicates;
  int64_t undefined = 0;
};
BootstrapResult RowBootstrap(
    int64_t n, int resamples, uint64_t seed,
    const std::function<std::optional<double>(std::span<const uint32_t>)>& statistic);

// Runs `resamples` bootstraps of rows that fall into cells with the given counts: each resample is
// one multinomial draw of all n = sum(counts) rows over the cells with the observed frequencies
// (random::Multinomial, Rng(seed)), which is exactly the distribution of a row bootstrap's cell
// counts, at O(cells) per resample. `statistic` receives the drawn counts; nullopt = undefined.
BootstrapResult CellBootstrap(
    std::span<const int64_t> counts, int resamples, uint64_t seed,
    const std::function<std::optional<double>(std::span<const int64_t>)>& statistic);

// Area under the ROC curve of `scores` against `positive` (Mann-Whitney U with mid-ranks for
// ties), with per-row weights acting as multiplicities (bootstrap counts; empty = all 1).
// nullopt when either class has no weight.
std::optional<double> RocAuc(std::span<const double> scores, std::span<const uint8_t> positive,
                             std::span<const double> weights = {});

// One multinomial draw of `n` items over cells with the given non-negative weights (normalised
// here), by conditional binomials: the exact distribution of a row bootstrap's cell counts.
std::vector<int64_t> MultinomialDraw(int64_t n, std::span<const double> weights, random::Rng& rng);

// Newcombe's hybrid score interval for p1 - p2 of two independent proportions x1/n1 and x2/n2
// (Newcombe 1998, "Interval estimation for the difference between independent proportions",
// Statistics in Medicine 17, method 10): the Wilson limits of each proportion combined as
// L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2). Equal-tailed
// (each end is a one-sided (1 + level) / 2 bound), contains d = p1 - p2, and stays valid at rates
// 0 and 1 and in small groups, where Wald and bootstrap intervals collapse to a point. Requires
// n1, n2 > 0.
Interval NewcombeInterval(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double level);

}  // namespace greenlight::stats
