// Coverage of core/stats intervals, by simulation from known populations: the Wilson interval of
// a proportion, Newcombe's interval of a difference of proportions, and the order-statistic bounds
// of a percentile. Each case asserts empirical coverage >= nominal - 2.5 points and that every
// interval contains its estimate. The measured table in docs/statistics.md is this test's output:
//   build/tests/unit/core/stats_coverage_test --log_level=message | grep '^|'
#define BOOST_TEST_MODULE stats_coverage
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/random.h"
#include "core/stats.h"

namespace gl = greenlight;
namespace rnd = greenlight::random;

namespace {

constexpr double kLevel = 0.95;
constexpr double kSlack = 0.025;

void Row(const std::string& family, const std::string& population, const std::string& sizes,
         int reps, double coverage) {
  char line[256];
  std::snprintf(line, sizeof line, "| %s | %s | %s | %d | %.1f %% |", family.c_str(),
                population.c_str(), sizes.c_str(), reps, 100.0 * coverage);
  BOOST_TEST_MESSAGE(line);
}

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(wilson_proportions_cover_from_n_10_to_10000_and_rates_near_0_and_1) {
  rnd::Rng g(101);
  const int reps = 20000;
  for (int64_t n : {10, 100, 1000, 10000}) {
    for (double p : {0.005, 0.01, 0.1, 0.5, 0.9, 0.99, 0.995}) {
      int covered = 0;
      for (int r = 0; r < reps; ++r) {
        const int64_t x = rnd::Binomial(g, n, p);
        const gl::Interval w = gl::stats::WilsonInterval(x, n, kLevel);
        const double est = static_cast<double>(x) / static_cast<double>(n);
        BOOST_REQUIRE(w.low <= est);
        BOOST_REQUIRE(est <= w.high);
        covered += w.low <= p && p <= w.high;
      }
      const double coverage = covered / double(reps);
      Row("proportion (Wilson, modified)", "p = " + Num(p), "n = " + std::to_string(n), reps,
          coverage);
      BOOST_TEST_CONTEXT("n=" << n << " p=" << p) { BOOST_TEST(coverage >= kLevel - kSlack); }
    }
  }
}

BOOST_AUTO_TEST_CASE(newcombe_differences_cover_at_parity_small_and_large_gaps) {
  rnd::Rng g(202);
  const int reps = 5000;
  struct Pop {
    double p1, p2;
  };
  struct Sizes {
    int64_t n1, n2;
  };
  for (const Pop pop : {Pop{0.5, 0.5}, Pop{0.3, 0.35}, Pop{0.2, 0.6}, Pop{0.01, 0.01},
                        Pop{0.99, 0.95}, Pop{1.0, 0.97}}) {
    for (const Sizes s : {Sizes{10, 10}, Sizes{15, 1000}, Sizes{100, 100}, Sizes{1000, 1000},
                          Sizes{10000, 10000}}) {
      int covered = 0;
      for (int r = 0; r < reps; ++r) {
        const int64_t x1 = rnd::Binomial(g, s.n1, pop.p1);
        const int64_t x2 = rnd::Binomial(g, s.n2, pop.p2);
        const gl::Interval d = gl::stats::NewcombeInterval(x1, s.n1, x2, s.n2, kLevel);
        const double est = double(x1) / double(s.n1) - double(x2) / double(s.n2);
        BOOST_REQUIRE(d.low <= est + 1e-12);
        BOOST_REQUIRE(est <= d.high + 1e-12);
        const double truth = pop.p1 - pop.p2;
        covered += d.low <= truth && truth <= d.high;
      }
      const double coverage = covered / double(reps);
      Row("difference of proportions (Newcombe)", "p1 = " + Num(pop.p1) + ", p2 = " + Num(pop.p2),
          std::to_string(s.n1) + " vs " + std::to_string(s.n2), reps, coverage);
      BOOST_TEST_CONTEXT("p1=" << pop.p1 << " p2=" << pop.p2 << " n1=" << s.n1 << " n2=" << s.n2) {
        BOOST_TEST(coverage >= kLevel - kSlack);
      }
    }
  }
}

// Latencies from an exponential (skewed, as latencies are) with mean 1: the true p-quantile is
// -ln(1 - p). x(lo) <= q and q <= x(hi) (0-based order statistics) hold exactly when at least
// lo + 1 samples are <= q and at most hi samples are < q, so no sort is needed.
BOOST_AUTO_TEST_CASE(order_statistic_percentile_bounds_cover) {
  rnd::Rng g(303);
  const int reps = 1000;
  for (int64_t n : {100, 1000, 10000}) {
    for (double p : {0.5, 0.9, 0.99}) {
      const auto b = gl::stats::PercentileOrderBounds(n, p, kLevel);
      if (!b.lo || !b.hi) continue;  // Too few samples: the verdict is INCONCLUSIVE, no interval.
      const double q = -std::log1p(-p);
      int covered = 0;
      for (int r = 0; r < reps; ++r) {
        int64_t at_or_below = 0;
        for (int64_t i = 0; i < n; ++i) {
          at_or_below += -std::log1p(-rnd::UniformDouble(g)) <= q;
        }
        covered += at_or_below >= *b.lo + 1 && at_or_below <= *b.hi;
      }
      const double coverage = covered / double(reps);
      Row("latency percentile (order statistics)", "p" + Num(100 * p) + " of Exp(1)",
          "n = " + std::to_string(n), reps, coverage);
      BOOST_TEST_CONTEXT("n=" << n << " p=" << p) { BOOST_TEST(coverage >= kLevel - kSlack); }
    }
  }
}
