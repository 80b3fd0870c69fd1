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

// The modified Wilson interval (WilsonInterval) of an estimate that is not a count ratio but has
// the delta-method variance `variance`, read as a proportion of n_eff = estimate (1 - estimate) /
// variance trials: the effective sample size of Korn & Graubard ("Confidence intervals for
// proportions with small expected number of positive counts estimated from survey data", Survey
// Methodology 24, 1998), with Wilson's score limits and Brown, Cai and DasGupta's Poisson limits
// at effective counts of 1 to x* (non-integer counts use the gamma quantile). Requires
// 0 <= estimate <= 1 and n_eff > 0. Equal-tailed; contains the estimate; within [0, 1].
// Method "wilson-effective-n".
Interval EffectiveWilsonInterval(double estimate, double n_eff, double level);

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

// The ROC AUC of `scores` against `positive` (mid-ranks for ties) with DeLong's nonparametric
// variance (DeLong, DeLong & Clarke-Pearson, "Comparing the areas under two or more correlated
// receiver operating characteristic curves", Biometrics 44, 1988), computed by the mid-rank
// algorithm of Sun & Xu ("Fast implementation of DeLong's algorithm", IEEE Signal Processing
// Letters 21, 2014) in O(n log n): var = S10 / m + S01 / n over the m positives' and n negatives'
// placement values (sample variances, divisor m - 1 and n - 1). `variance` is nullopt when a class
// has fewer than 2 rows (no sample variance); nullopt overall when a class has none.
struct DeLongAuc {
  double auc = 0.0;
  std::optional<double> variance;
  int64_t positives = 0;
  int64_t negatives = 0;
};
std::optional<DeLongAuc> DeLongRocAuc(std::span<const double> scores,
                                      std::span<const uint8_t> positive);

// Newcombe's score interval for the AUC ("Confidence intervals for an effect size measure based on
// the Mann-Whitney statistic. Part 2", Statistics in Medicine 25, 2006, method 5): the theta with
// (auc - theta)^2 <= z^2 V(theta), V the Hanley-McNeil variance as a function of theta with
// Newcombe's N* = (m + n) / 2 - 1 in place of both group sizes. Nonzero width at AUC 0 and 1;
// contains `auc`; within [0, 1]. Method "newcombe-score".
Interval AucScoreInterval(double auc, int64_t positives, int64_t negatives, double level);

// The interval greenlight reports for an AUC: the union of the DeLong interval on the logit scale
// (logit(auc) -/+ z sqrt(var) / (auc (1 - auc)), mapped back: inside (0, 1) and containing auc)
// and Newcombe's score interval above. DeLong's variance is estimated from the placement values
// and is too small with few positives or an AUC near 1 (coverage 82-85 % at 20 positives and AUC
// 0.96-0.99), where the score interval, whose variance is a function of theta, holds; with many
// rows of both classes the two agree. When DeLong's variance is unavailable or zero (a class of one
// row, or AUC 0 or 1) the score interval alone is reported. Method "delong-logit+newcombe-score"
// or "newcombe-score".
Interval AucInterval(const DeLongAuc& auc, double level);

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
