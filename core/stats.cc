#include "core/stats.h"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <random>

#include "core/error.h"

namespace greenlight::stats {

double NormalQuantile(double p) {
  if (!(p > 0.0 && p < 1.0)) throw InputError("normal quantile needs 0 < p < 1");
  return boost::math::quantile(boost::math::normal(), p);
}

Interval WilsonInterval(int64_t successes, int64_t n, double level) {
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

BootstrapResult RowBootstrap(
    int64_t n, int resamples, uint64_t seed,
    const std::function<std::optional<double>(std::span<const uint32_t>)>& statistic) {
  BootstrapResult out;
  if (n <= 0) return out;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  std::vector<uint32_t> counts(static_cast<size_t>(n));
  out.replicates.reserve(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    std::fill(counts.begin(), counts.end(), 0u);
    for (int64_t i = 0; i < n; ++i) ++counts[static_cast<size_t>(pick(rng))];
    if (auto v = statistic(counts)) {
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

std::vector<int64_t> MultinomialDraw(int64_t n, std::span<const double> weights,
                                     std::mt19937_64& rng) {
  std::vector<int64_t> out(weights.size(), 0);
  double remaining_weight = 0.0;
  for (double w : weights) remaining_weight += w;
  int64_t remaining = n;
  for (size_t i = 0; i < weights.size() && remaining > 0; ++i) {
    if (i + 1 == weights.size() || weights[i] >= remaining_weight) {
      out[i] = remaining;
      remaining = 0;
      break;
    }
    const double p = remaining_weight > 0.0 ? weights[i] / remaining_weight : 0.0;
    if (p > 0.0) {
      std::binomial_distribution<int64_t> draw(remaining, std::min(1.0, p));
      out[i] = draw(rng);
      remaining -= out[i];
    }
    remaining_weight -= weights[i];
  }
  return out;
}

}  // namespace greenlight::stats
