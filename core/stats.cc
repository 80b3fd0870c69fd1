#include "core/stats.h"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <string>

#include "core/error.h"

namespace greenlight::stats {

double NormalQuantile(double p) {
  if (!(p > 0.0 && p < 1.0)) throw InputError("normal quantile needs 0 < p < 1");
  return boost::math::quantile(boost::math::normal(), p);
}

Interval WilsonScoreInterval(int64_t successes, int64_t n, double level) {
  if (n <= 0 || successes < 0 || successes > n) {
    throw InputError("Wilson interval needs 0 <= successes <= n and n > 0");
  }
  const double z = NormalQuantile(1.0 - (1.0 - level) / 2.0);
  const double nd = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nd;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / nd;
  const double centre = (p + z2 / (2.0 * nd)) / denom;
  const double half = z * std::sqrt(p * (1.0 - p) / nd + z2 / (4.0 * nd * nd)) / denom;
  Interval out;
  // At p = 0 or 1 the formula gives the bound exactly in theory; clamp rounding noise.
  out.low = successes == 0 ? 0.0 : std::max(0.0, centre - half);
  out.high = successes == n ? 1.0 : std::min(1.0, centre + half);
  out.level = level;
  out.method = "wilson";
  return out;
}

Interval WilsonInterval(int64_t successes, int64_t n, double level) {
  Interval out = WilsonScoreInterval(successes, n, level);
  const int64_t x_star = n <= 50 ? 2 : 3;
  const double tail = (1.0 - level) / 2.0;
  const double nd = static_cast<double>(n);
  if (successes >= 1 && successes <= x_star) {
    const double poisson = boost::math::gamma_p_inv(static_cast<double>(successes), tail) / nd;
    out.low = std::min(out.low, poisson);
  }
  const int64_t failures = n - successes;
  if (failures >= 1 && failures <= x_star) {
    const double poisson = boost::math::gamma_p_inv(static_cast<double>(failures), tail) / nd;
    out.high = std::max(out.high, 1.0 - poisson);
  }
  return out;
}

Interval EffectiveWilsonInterval(double estimate, double n_eff, double level) {
  if (!(n_eff > 0.0) || !(estimate >= 0.0 && estimate <= 1.0)) {
    throw RuntimeError("effective-count Wilson interval needs n_eff > 0 and 0 <= estimate <= 1");
  }
  const double z = NormalQuantile(1.0 - (1.0 - level) / 2.0);
  const double p = estimate;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / n_eff;
  const double centre = (p + z2 / (2.0 * n_eff)) / denom;
  const double half = z * std::sqrt(p * (1.0 - p) / n_eff + z2 / (4.0 * n_eff * n_eff)) / denom;
  Interval out;
  out.low = p <= 0.0 ? 0.0 : std::max(0.0, centre - half);
  out.high = p >= 1.0 ? 1.0 : std::min(1.0, centre + half);
  const double x_star = n_eff <= 50.0 ? 2.0 : 3.0;
  const double tail = (1.0 - level) / 2.0;
  const double successes = n_eff * p, failures = n_eff * (1.0 - p);
  if (successes > 0.0 && successes <= x_star) {
    out.low = std::min(out.low, boost::math::gamma_p_inv(successes, tail) / n_eff);
  }
  if (failures > 0.0 && failures <= x_star) {
    out.high = std::max(out.high, 1.0 - boost::math::gamma_p_inv(failures, tail) / n_eff);
  }
  // The score limits bracket p exactly in real arithmetic; absorb rounding.
  out.low = std::min(out.low, p);
  out.high = std::max(out.high, p);
  out.level = level;
  out.method = "wilson-effective-n";
  return out;
}

double QuantileSorted(std::span<const double> sorted, double p) {
  if (sorted.empty()) throw InputError("quantile of an empty sample");
  const double h = (static_cast<double>(sorted.size()) - 1.0) * p;
  const auto lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

OrderStatisticBounds PercentileOrderBounds(int64_t n, double p, double level) {
  // With B ~ Binomial(n, p) the number of samples below q_p, the k-th smallest (1-based) sample
  // satisfies P(x_(k) <= q_p) = P(B >= k) and P(x_(k) >= q_p) = P(B <= k - 1).
  OrderStatisticBounds out;
  if (n <= 0) return out;
  const double tail = (1.0 - level) / 2.0;
  boost::math::binomial_distribution<double> bin(static_cast<double>(n), p);
  // Lower: largest k with P(B <= k - 1) <= tail.
  for (int64_t k = n; k >= 1; --k) {
    if (boost::math::cdf(bin, static_cast<double>(k - 1)) <= tail) {
      out.lo = k - 1;
      break;
    }
  }
  // Upper: smallest k with P(B <= k - 1) >= 1 - tail.
  for (int64_t k = 1; k <= n; ++k) {
    if (boost::math::cdf(bin, static_cast<double>(k - 1)) >= 1.0 - tail) {
      out.hi = k - 1;
      break;
    }
  }
  return out;
}

Interval PercentileInterval(std::vector<double>& replicates, double level) {
  if (replicates.empty()) throw RuntimeError("bootstrap produced no defined replicate");
  std::sort(replicates.begin(), replicates.end());
  const double tail = (1.0 - level) / 2.0;
  Interval out;
  out.low = QuantileSorted(replicates, tail);
  out.high = QuantileSorted(replicates, 1.0 - tail);
  out.level = level;
  out.method = "bootstrap-percentile";
  return out;
}

Interval PercentileIntervalContaining(std::vector<double>& replicates, double level,
                                      double estimate) {
  Interval out = PercentileInterval(replicates, level);
  if (estimate < out.low || estimate > out.high) {
    out.low = std::min(out.low, estimate);
    out.high = std::max(out.high, estimate);
    out.method = "bootstrap-percentile-widened";
  }
  return out;
}

void RequireContains(Interval& interval, double estimate, std::string_view what) {
  constexpr double kRounding = 1e-9;
  if (estimate < interval.low - kRounding || estimate > interval.high + kRounding) {
    throw RuntimeError(std::string(what) + ": interval [" + std::to_string(interval.low) + ", " +
                       std::to_string(interval.high) + "] does not contain its estimate " +
                       std::to_string(estimate));
  }
  interval.low = std::min(interval.low, estimate);
  interval.high = std::max(interval.high, estimate);
}

BootstrapResult RowBootstrap(
    int64_t n, int resamples, uint64_t seed,
    const std::function<std::optional<double>(std::span<const uint32_t>)>& statistic) {
  BootstrapResult out;
  if (n <= 0) return out;
  random::Rng rng(seed);
  const auto rows = static_cast<uint64_t>(n);
  std::vector<uint32_t> counts(static_cast<size_t>(n));
  out.replicates.reserve(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    std::fill(counts.begin(), counts.end(), 0u);
    for (int64_t i = 0; i < n; ++i) ++counts[random::UniformBelow(rng, rows)];
    if (auto v = statistic(counts)) {
      out.replicates.push_back(*v);
    } else {
      ++out.undefined;
    }
  }
  return out;
}

BootstrapResult CellBootstrap(
    std::span<const int64_t> counts, int resamples, uint64_t seed,
    const std::function<std::optional<double>(std::span<const int64_t>)>& statistic) {
  BootstrapResult out;
  int64_t n = 0;
  std::vector<double> weights;
  for (int64_t c : counts) {
    n += c;
    weights.push_back(static_cast<double>(c));
  }
  random::Rng rng(seed);
  out.replicates.reserve(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    const std::vector<int64_t> draw = random::Multinomial(rng, n, weights);
    if (auto v = statistic(draw)) {
      out.replicates.push_back(*v);
    } else {
      ++out.undefined;
    }
  }
  return out;
}

std::optional<double> RocAuc(std::span<const double> scores, std::span<const uint8_t> positive,
                             std::span<const double> weights) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  auto w = [&](size_t i) { return weights.empty() ? 1.0 : weights[i]; };
  // Walk tie groups in ascending score order; every positive scores 1 per negative below it and
  // 1/2 per negative tied with it.
  double neg_below = 0.0, pos_total = 0.0, neg_total = 0.0, u = 0.0;
  for (size_t g = 0; g < order.size();) {
    size_t end = g;
    double pos = 0.0, neg = 0.0;
    while (end < order.size() && scores[order[end]] == scores[order[g]]) {
      const size_t i = order[end];
      (positive[i] != 0 ? pos : neg) += w(i);
      ++end;
    }
    u += pos * (neg_below + 0.5 * neg);
    neg_below += neg;
    pos_total += pos;
    neg_total += neg;
    g = end;
  }
  if (pos_total == 0.0 || neg_total == 0.0) return std::nullopt;
  return u / (pos_total * neg_total);
}

namespace {

// Mid-ranks (1-based, ties averaged) of `values`, as Sun & Xu's algorithm needs them.
std::vector<double> MidRanks(std::span<const double> values) {
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t g = 0; g < order.size();) {
    size_t end = g;
    while (end < order.size() && values[order[end]] == values[order[g]]) ++end;
    // Positions g .. end - 1 (0-based) share the mean rank (g + 1 + end) / 2.
    const double rank = 0.5 * static_cast<double>(g + 1 + end);
    for (size_t k = g; k < end; ++k) ranks[order[k]] = rank;
    g = end;
  }
  return ranks;
}

double SampleVariance(std::span<const double> v) {
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0.0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}

}  // namespace

std::optional<DeLongAuc> DeLongRocAuc(std::span<const double> scores,
                                      std::span<const uint8_t> positive) {
  std::vector<double> pos, neg;
  for (size_t i = 0; i < scores.size(); ++i) (positive[i] != 0 ? pos : neg).push_back(scores[i]);
  if (pos.empty() || neg.empty()) return std::nullopt;
  const auto m = static_cast<double>(pos.size());
  const auto n = static_cast<double>(neg.size());
  std::vector<double> all(pos);
  all.insert(all.end(), neg.begin(), neg.end());
  const std::vector<double> tz = MidRanks(all), tx = MidRanks(pos), ty = MidRanks(neg);
  // Placement values: V10_i = share of negatives below positive i (ties 1/2), V01_j = share of
  // positives above negative j. Both average to the AUC.
  std::vector<double> v10(pos.size()), v01(neg.size());
  double rank_sum = 0.0;
  for (size_t i = 0; i < pos.size(); ++i) {
    v10[i] = (tz[i] - tx[i]) / n;
    rank_sum += tz[i];
  }
  for (size_t j = 0; j < neg.size(); ++j) v01[j] = 1.0 - (tz[pos.size() + j] - ty[j]) / m;
  DeLongAuc out;
  out.auc = (rank_sum - m * (m + 1.0) / 2.0) / (m * n);
  out.positives = static_cast<int64_t>(pos.size());
  out.negatives = static_cast<int64_t>(neg.size());
  if (pos.size() >= 2 && neg.size() >= 2) {
    out.variance = SampleVariance(v10) / m + SampleVariance(v01) / n;
  }
  return out;
}

Interval AucScoreInterval(double auc, int64_t positives, int64_t negatives, double level) {
  const double z = NormalQuantile(1.0 - (1.0 - level) / 2.0);
  const auto m = static_cast<double>(positives);
  const auto n = static_cast<double>(negatives);
  const double n_star = (m + n) / 2.0 - 1.0;
  // Hanley & McNeil (Radiology 143, 1982) with Q1 - t^2 = t (1 - t)^2 / (2 - t) and
  // Q2 - t^2 = t^2 (1 - t) / (1 + t); positive for every t in (0, 1) and m + n >= 2.
  auto variance = [&](double t) {
    return t * (1.0 - t) * (1.0 + (n_star - 1.0) * ((1.0 - t) / (2.0 - t) + t / (1.0 + t))) /
           (m * n);
  };
  auto outside = [&](double t) { return (auc - t) * (auc - t) > z * z * variance(t); };
  // Each limit is where (auc - t)^2 = z^2 V(t), found by bisection between the estimate (inside)
  // and the end of [0, 1] (outside unless the limit is the end itself).
  Interval out;
  out.low = 0.0;
  out.high = 1.0;
  if (auc > 0.0 && outside(0.0)) {
    double in = auc, out_t = 0.0;
    for (int k = 0; k < 100; ++k) {
      const double mid = 0.5 * (in + out_t);
      (outside(mid) ? out_t : in) = mid;
    }
    out.low = in;
  }
  if (auc < 1.0 && outside(1.0)) {
    double in = auc, out_t = 1.0;
    for (int k = 0; k < 100; ++k) {
      const double mid = 0.5 * (in + out_t);
      (outside(mid) ? out_t : in) = mid;
    }
    out.high = in;
  }
  out.level = level;
  out.method = "newcombe-score";
  return out;
}

Interval AucInterval(const DeLongAuc& a, double level) {
  Interval out = AucScoreInterval(a.auc, a.positives, a.negatives, level);
  if (a.variance && *a.variance > 0.0 && a.auc > 0.0 && a.auc < 1.0) {
    const double z = NormalQuantile(1.0 - (1.0 - level) / 2.0);
    const double logit = std::log(a.auc / (1.0 - a.auc));
    const double se = std::sqrt(*a.variance) / (a.auc * (1.0 - a.auc));
    auto expit = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    out.low = std::min(out.low, expit(logit - z * se));
    out.high = std::max(out.high, expit(logit + z * se));
    out.method = "delong-logit+newcombe-score";
  }
  return out;
}

std::vector<int64_t> MultinomialDraw(int64_t n, std::span<const double> weights, random::Rng& rng) {
  return random::Multinomial(rng, n, weights);
}

Interval NewcombeInterval(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double level) {
  const Interval w1 = WilsonInterval(x1, n1, level);
  const Interval w2 = WilsonInterval(x2, n2, level);
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double p2 = static_cast<double>(x2) / static_cast<double>(n2);
  const double d = p1 - p2;
  Interval out;
  out.low = std::max(-1.0, d - std::hypot(p1 - w1.low, w2.high - p2));
  out.high = std::min(1.0, d + std::hypot(w1.high - p1, p2 - w2.low));
  out.level = level;
  out.method = "newcombe-hybrid-score";
  return out;
}

}  // namespace greenlight::stats
