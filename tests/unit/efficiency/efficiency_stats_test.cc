// Statistics of the efficiency auditor, on generated samples (never on timings): order-statistic
// percentile bounds against an independent binomial computation and by simulated coverage, the
// Student-t mean interval against table values, and the log-spaced histogram.
#define BOOST_TEST_MODULE efficiency_stats
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "auditors/efficiency/efficiency_metrics.h"
#include "core/stats.h"

namespace eff = greenlight::efficiency;

namespace {

// P(B <= k) for B ~ Binomial(n, p), summed in long double from log-pmfs (independent of Boost).
long double BinomCdf(int64_t n, double p, int64_t k) {
  if (k < 0) return 0.0L;
  if (k >= n) return 1.0L;
  long double sum = 0.0L;
  for (int64_t i = 0; i <= k; ++i) {
    const long double log_pmf = std::lgamma(static_cast<long double>(n) + 1) -
                                std::lgamma(static_cast<long double>(i) + 1) -
                                std::lgamma(static_cast<long double>(n - i) + 1) +
                                i * std::log(static_cast<long double>(p)) +
                                (n - i) * std::log1p(-static_cast<long double>(p));
    sum += std::exp(log_pmf);
  }
  return std::min(sum, 1.0L);
}

}  // namespace

BOOST_AUTO_TEST_CASE(order_bounds_tails_match_independent_binomial) {
  // x[lo] > q_p  <=>  at most lo samples fall below q_p:  P = P(B <= lo)       must be <= tail,
  // x[hi] < q_p  <=>  at least hi+1 samples fall below:   P = 1 - P(B <= hi)   must be <= tail,
  // and the bounds are the tightest such order statistics.
  const double level = 0.95, tail = 0.025;
  const std::vector<std::pair<int64_t, double>> cases = {
      {37, 0.5}, {100, 0.5}, {1024, 0.5}, {1024, 0.9}, {1024, 0.99}, {5000, 0.999}, {400, 0.95}};
  for (const auto& [n, p] : cases) {
    const auto b = greenlight::stats::PercentileOrderBounds(n, p, level);
    BOOST_TEST_CONTEXT("n=" << n << " p=" << p) {
      BOOST_REQUIRE(b.lo.has_value());
      BOOST_REQUIRE(b.hi.has_value());
      BOOST_TEST(BinomCdf(n, p, *b.lo) <= tail + 1e-12);
      BOOST_TEST(BinomCdf(n, p, *b.lo + 1) > tail);
      BOOST_TEST(1.0L - BinomCdf(n, p, *b.hi) <= tail + 1e-12);
      BOOST_TEST(1.0L - BinomCdf(n, p, *b.hi - 1) > tail);
      BOOST_TEST(*b.lo <= *b.hi);
    }
  }
}

BOOST_AUTO_TEST_CASE(minimum_samples_for_bounds) {
  // p99 at 95 %: 0.99^n <= 0.025  <=>  n >= ln(0.025)/ln(0.99) = 367.04  ->  368.
  BOOST_TEST(eff::MinSamplesForBounds(0.99, 0.95) == 368);
  // p99.9: ln(0.025)/ln(0.999) = 3687.3 -> 3688 (so 1024 queries cannot bound p99.9).
  BOOST_TEST(eff::MinSamplesForBounds(0.999, 0.95) == 3688);
  // p50: 0.5^n <= 0.025 -> n >= 5.32 -> 6.
  BOOST_TEST(eff::MinSamplesForBounds(0.5, 0.95) == 6);
  for (double p : {0.5, 0.9, 0.99, 0.999}) {
    const int64_t n = eff::MinSamplesForBounds(p, 0.95);
    const auto at = greenlight::stats::PercentileOrderBounds(n, p, 0.95);
    const auto below = greenlight::stats::PercentileOrderBounds(n - 1, p, 0.95);
    BOOST_TEST((at.lo.has_value() && at.hi.has_value()));
    BOOST_TEST(!(below.lo.has_value() && below.hi.has_value()));
  }
}

// Simulated coverage on two known skewed distributions: the interval must contain the true
// percentile at the rate the binomial computation gives, which is at least the stated level.
BOOST_AUTO_TEST_CASE(order_bounds_cover_true_percentile_at_stated_rate) {
  const double level = 0.95;
  const int trials = 4000;
  struct Case {
    int64_t n;
    double p;
  };
  const std::vector<Case> cases = {{200, 0.5}, {200, 0.9}, {1000, 0.99}};
  std::mt19937_64 rng(20261128);
  for (int dist = 0; dist < 2; ++dist) {
    for (const auto& c : cases) {
      // True quantiles: exponential(rate 2): -ln(1-p)/2; lognormal(0, 0.5): exp(0.5 z_p).
      const double truth = dist == 0 ? -std::log(1.0 - c.p) / 2.0
                                     : std::exp(0.5 * greenlight::stats::NormalQuantile(c.p));
      std::exponential_distribution<double> expo(2.0);
      std::lognormal_distribution<double> logn(0.0, 0.5);
      int covered = 0, above = 0, below = 0;
      std::vector<double> x(static_cast<size_t>(c.n));
      // The bound indices depend only on (n, p, level); EstimatePercentile is checked to use them.
      const auto b = greenlight::stats::PercentileOrderBounds(c.n, c.p, level);
      BOOST_REQUIRE((b.lo.has_value() && b.hi.has_value()));
      for (int t = 0; t < trials; ++t) {
        for (auto& v : x) v = dist == 0 ? expo(rng) : logn(rng);
        std::sort(x.begin(), x.end());
        const double low = x[static_cast<size_t>(*b.lo)];
        const double high = x[static_cast<size_t>(*b.hi)];
        if (t == 0) {
          const auto e = eff::EstimatePercentile(x, c.p, level);
          BOOST_REQUIRE((e.low.has_value() && e.high.has_value()));
          BOOST_TEST(*e.low == low);
          BOOST_TEST(*e.high == high);
        }
        if (low > truth)
          ++above;
        else if (high < truth)
          ++below;
        else
          ++covered;
      }
      const double exact = static_cast<double>(1.0L - BinomCdf(c.n, c.p, *b.lo) -
                                               (1.0L - BinomCdf(c.n, c.p, *b.hi)));
      const double rate = static_cast<double>(covered) / trials;
      const double se = std::sqrt(exact * (1.0 - exact) / trials);
      BOOST_TEST_CONTEXT("dist=" << dist << " n=" << c.n << " p=" << c.p << " exact=" << exact
                                 << " simulated=" << rate) {
        BOOST_TEST(exact >= level);
        BOOST_TEST(std::abs(rate - exact) <= 4.0 * se + 1e-9);
        BOOST_TEST(rate >= level - 4.0 * std::sqrt(level * (1 - level) / trials));
        // Each side misses at most at its tail rate (plus simulation noise).
        const double tail_se = std::sqrt(0.025 * 0.975 / trials);
        BOOST_TEST(static_cast<double>(above) / trials <= 0.025 + 4.0 * tail_se);
        BOOST_TEST(static_cast<double>(below) / trials <= 0.025 + 4.0 * tail_se);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(percentile_point_estimate_and_missing_bound) {
  std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const auto e = eff::EstimatePercentile(x, 0.5, 0.95);
  BOOST_TEST(e.value == 5.5);  // numpy.percentile(range(1, 11), 50)
  // p99 with 10 samples: no upper order statistic reaches 97.5 % confidence.
  const auto e99 = eff::EstimatePercentile(x, 0.99, 0.95);
  BOOST_TEST(!e99.high.has_value());
}

BOOST_AUTO_TEST_CASE(mean_interval_matches_t_table) {
  // {1..5}: mean 3, s = sqrt(2.5), se = s/sqrt(5) = 0.70711; t(0.975, 4) = 2.776445 (tables).
  std::vector<double> v = {1, 2, 3, 4, 5};
  double mean = 0;
  const auto iv = eff::MeanInterval(v, 0.95, &mean);
  BOOST_TEST(mean == 3.0);
  BOOST_TEST(iv.low == 3.0 - 2.776445 * 0.7071068, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(iv.high == 3.0 + 2.776445 * 0.7071068, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(log_histogram_buckets) {
  std::vector<double> v = {0.1, 0.1, 1.0, 5.0, 9.99};
  const auto h = eff::LatencyHistogram(v, 1);
  BOOST_TEST(h["edges"].size() == 3u);
  BOOST_TEST(h["edges"][0].get<double>() == 0.1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(h["edges"][2].get<double>() == 10.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(h["counts"][0].get<int>() == 2);
  BOOST_TEST(h["counts"][1].get<int>() == 3);
  // Ten buckets per decade: every sample counted once, edges ascending by 10^(1/10).
  std::vector<double> w;
  for (int i = 1; i <= 1000; ++i) w.push_back(0.01 * i);
  const auto h10 = eff::LatencyHistogram(w, 10);
  int64_t total = 0;
  for (const auto& c : h10["counts"]) total += c.get<int64_t>();
  BOOST_TEST(total == 1000);
  const auto& edges = h10["edges"];
  for (size_t i = 1; i < edges.size(); ++i) {
    BOOST_TEST(edges[i].get<double>() / edges[i - 1].get<double>() == std::pow(10.0, 0.1),
               boost::test_tools::tolerance(1e-9));
  }
}
