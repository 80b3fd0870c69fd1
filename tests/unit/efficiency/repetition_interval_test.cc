// The between-repetition interval of timing and energy figures (harness::RepetitionInterval):
// against hand computation with table t quantiles, and its coverage by simulation on synthetic
// repetition data with a known between-repetition variance (no timing involved: fast and exact).
#define BOOST_TEST_MODULE repetition_interval
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

#include "harness/harness.h"

namespace h = greenlight::harness;

namespace {

// Student t quantiles t_{df, 0.975} from a printed table (Abramowitz & Stegun, Table 26.10).
constexpr double kT4 = 2.776445105;
constexpr double kT9 = 2.262157163;

// Standard normal deviates by Box–Muller on mt19937_64 (whose output the standard fixes), so the
// simulation is the same under every standard library.
class Normal {
 public:
  explicit Normal(uint64_t seed) : engine_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Type-7 sample quantile (numpy's default), written out here rather than taken from core/stats.
double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// Φ^{-1}(p) for the few p used below (table values).
double NormalQuantile(double p) {
  if (p == 0.5) return 0.0;
  if (p == 0.9) return 1.2815515655446004;
  if (p == 0.99) return 2.3263478740408408;
  BOOST_FAIL("no table value");
  return 0.0;
}

enum class Figure { kMean, kPercentile };

struct Case {
  Figure figure;
  double p;      // Percentile (kPercentile).
  int reps;      // Repetitions R.
  int per_rep;   // Queries per repetition.
  double tau;    // Between-repetition sd of log latency (a repetition's load factor).
  double sigma;  // Within-repetition sd of log latency.
};

// Latencies exp(u_r + sigma·z), u_r ~ N(0, tau²) per repetition. The whole run's figure targets
// a closed form: the mean exp((sigma² + tau²)/2); the p-quantile of the pooled population, a
// log-normal with sd sqrt(sigma² + tau²), exp(z_p·sqrt(sigma² + tau²)).
double Coverage(const Case& c, int replications, uint64_t seed, double* median_width) {
  Normal normal(seed);
  const double total_sd = std::sqrt(c.sigma * c.sigma + c.tau * c.tau);
  const double truth = c.figure == Figure::kMean ? std::exp(total_sd * total_sd / 2.0)
                                                 : std::exp(NormalQuantile(c.p) * total_sd);
  int covered = 0;
  std::vector<double> widths;
  for (int rep = 0; rep < replications; ++rep) {
    std::vector<double> all, per;
    for (int r = 0; r < c.reps; ++r) {
      const double u = c.tau * normal();
      std::vector<double> x(static_cast<size_t>(c.per_rep));
      for (auto& v : x) v = std::exp(u + c.sigma * normal());
      all.insert(all.end(), x.begin(), x.end());
      per.push_back(c.figure == Figure::kMean
                        ? std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size())
                        : Quantile(x, c.p));
    }
    const double overall =
        c.figure == Figure::kMean
            ? std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size())
            : Quantile(all, c.p);
    const auto iv = h::RepetitionInterval(overall, per, 0.95);
    BOOST_REQUIRE(iv.has_value());
    BOOST_REQUIRE(iv->low <= overall);
    BOOST_REQUIRE(overall <= iv->high);
    covered += iv->low <= truth && truth <= iv->high ? 1 : 0;
    widths.push_back((iv->high - iv->low) / overall);
  }
  std::nth_element(widths.begin(), widths.begin() + widths.size() / 2, widths.end());
  *median_width = widths[widths.size() / 2];
  return static_cast<double>(covered) / replications;
}

}  // namespace

BOOST_AUTO_TEST_CASE(log_scale_interval_matches_hand_computation) {
  // overall 3, repetitions {2, 4, 3, 3, 3}: S² = (ln(2/3)² + ln(4/3)²) / 4, half = t_{4} S / √5.
  const std::vector<double> x = {2, 4, 3, 3, 3};
  const double s =
      std::sqrt((std::pow(std::log(2.0 / 3.0), 2) + std::pow(std::log(4.0 / 3.0), 2)) / 4.0);
  const double half = kT4 * s / std::sqrt(5.0);
  const auto iv = h::RepetitionInterval(3.0, x, 0.95);
  BOOST_REQUIRE(iv.has_value());
  BOOST_TEST(iv->low == 3.0 * std::exp(-half), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(iv->high == 3.0 * std::exp(half), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(iv->level == 0.95);
  BOOST_TEST(iv->method == "sectioning-t log-scale (5 repetitions)");
}

BOOST_AUTO_TEST_CASE(linear_scale_when_a_figure_is_not_positive) {
  // overall 0, repetitions {-1, 1, -1, 1, 0, 0, 0, 0, 0, 0}: S² = 4 / 9, half = t_{9} S / √10.
  const std::vector<double> x = {-1, 1, -1, 1, 0, 0, 0, 0, 0, 0};
  const auto iv = h::RepetitionInterval(0.0, x, 0.95);
  BOOST_REQUIRE(iv.has_value());
  const double half = kT9 * std::sqrt(4.0 / 9.0) / std::sqrt(10.0);
  BOOST_TEST(iv->low == -half, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(iv->high == half, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(iv->method == "sectioning-t (10 repetitions)");
}

BOOST_AUTO_TEST_CASE(no_interval_from_fewer_than_two_repetitions) {
  BOOST_TEST(!h::RepetitionInterval(1.0, std::vector<double>{1.0}, 0.95).has_value());
  BOOST_TEST(!h::RepetitionInterval(1.0, std::vector<double>{}, 0.95).has_value());
  // Identical repetitions: a zero-width interval at the value.
  const auto same = h::RepetitionInterval(2.0, std::vector<double>{2, 2, 2, 2, 2}, 0.95);
  BOOST_TEST(same->low == 2.0);
  BOOST_TEST(same->high == 2.0);
}

BOOST_AUTO_TEST_CASE(coverage_by_simulation_with_known_between_repetition_variance) {
  // 1000 simulated runs per case; the 95 % interval must cover the true figure in at least
  // 92.5 % of them (nominal - 2.5 points). sigma 0.3 is a typical within-run spread of log latency
  // on a loaded machine; tau is the repetition-to-repetition spread of the machine's speed.
  const std::vector<Case> cases = {
      {Figure::kMean, 0.0, 5, 200, 0.0, 0.3},
      {Figure::kMean, 0.0, 5, 200, 0.1, 0.3},
      {Figure::kMean, 0.0, 10, 200, 0.25, 0.3},
      {Figure::kMean, 0.0, 10, 200, 0.0, 0.3},
      {Figure::kPercentile, 0.5, 5, 200, 0.0, 0.3},
      {Figure::kPercentile, 0.5, 10, 200, 0.1, 0.3},
      {Figure::kPercentile, 0.9, 5, 200, 0.05, 0.3},
      {Figure::kPercentile, 0.9, 10, 200, 0.1, 0.3},
      {Figure::kPercentile, 0.99, 5, 400, 0.0, 0.3},
      {Figure::kPercentile, 0.99, 10, 200, 0.05, 0.3},
      {Figure::kPercentile, 0.99, 10, 400, 0.1, 0.3},
  };
  uint64_t seed = 20261129;
  for (const Case& c : cases) {
    double width = 0.0;
    const double coverage = Coverage(c, 1000, seed++, &width);
    BOOST_TEST_MESSAGE(
        (c.figure == Figure::kMean ? std::string("mean") : "p" + std::to_string(c.p).substr(0, 4))
        << " R=" << c.reps << " per_rep=" << c.per_rep << " tau=" << c.tau << " sigma=" << c.sigma
        << ": coverage " << coverage << ", median width " << 100.0 * width << " % of the value");
    BOOST_TEST(coverage >= 0.925, "R=" << c.reps << " p=" << c.p << " tau=" << c.tau);
  }
}
