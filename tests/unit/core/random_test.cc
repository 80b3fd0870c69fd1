// core/random: the first draws of every sampler pinned against an independent Python
// implementation of the same published algorithms (random_reference.py, run here), and each
// sampler's distribution checked against its exact moments and probabilities.
#define BOOST_TEST_MODULE random
#include "core/random.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace rnd = greenlight::random;
using nlohmann::json;

namespace {

const json& Reference() {
  static const json ref = [] {
    const auto r = gl::testing::RunShell(std::string("'") + GREENLIGHT_PYTHON + "' '" +
                                         GREENLIGHT_RANDOM_REFERENCE_PY + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "random_reference.py failed: " + r.err);
    return json::parse(r.out);
  }();
  return ref;
}

// Pearson chi-square of observed counts against expected ones (cells with expectation >= 5).
double ChiSquare(const std::vector<double>& observed, const std::vector<double>& expected) {
  double chi = 0.0;
  for (size_t k = 0; k < observed.size(); ++k) {
    if (expected[k] >= 5.0)
      chi += (observed[k] - expected[k]) * (observed[k] - expected[k]) / expected[k];
  }
  return chi;
}

double LogBinomialPmf(int64_t k, int64_t n, double p) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
         static_cast<double>(k) * std::log(p) + static_cast<double>(n - k) * std::log1p(-p);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(first_draws_match_the_python_reference)

BOOST_AUTO_TEST_CASE(raw_outputs) {
  for (const auto& [seed, key] :
       {std::pair<uint64_t, const char*>{0, "raw_seed0"}, {20261128, "raw_seed20261128"}}) {
    rnd::Rng g(seed);
    for (const auto& want : Reference().at(key)) {
      BOOST_TEST(std::to_string(g.Next()) == want.get<std::string>());
    }
  }
}

BOOST_AUTO_TEST_CASE(uniform_bounded_and_normal) {
  rnd::Rng g(42);
  for (const auto& want : Reference().at("uniform")) {
    BOOST_TEST(rnd::UniformDouble(g) == want.get<double>());
  }
  rnd::Rng h(42);
  for (const auto& want : Reference().at("below_10")) {
    BOOST_TEST(rnd::UniformBelow(h, 10) == want.get<uint64_t>());
  }
  rnd::Rng n(7);
  for (const auto& want : Reference().at("normal")) {
    BOOST_TEST(rnd::StandardNormal(n) == want.get<double>());
  }
}

BOOST_AUTO_TEST_CASE(binomial_inversion_and_btrs) {
  for (const auto& c : Reference().at("binomial")) {
    const int64_t n = c.at("n").get<int64_t>();
    const double p = c.at("p").get<double>();
    rnd::Rng g(11);
    BOOST_TEST_CONTEXT("n=" << n << " p=" << p) {
      for (const auto& want : c.at("draws"))
        BOOST_TEST(rnd::Binomial(g, n, p) == want.get<int64_t>());
    }
  }
}

BOOST_AUTO_TEST_CASE(poisson_inversion_and_ptrs) {
  for (const auto& c : Reference().at("poisson")) {
    const double lambda = c.at("lambda").get<double>();
    rnd::Rng g(13);
    BOOST_TEST_CONTEXT("lambda=" << lambda) {
      for (const auto& want : c.at("draws"))
        BOOST_TEST(rnd::Poisson(g, lambda) == want.get<int64_t>());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(distributions)

// Mean and variance of U[0, 1) are 1/2 and 1/12; standard errors over 10^6 draws are 2.9e-4 and
// 8.3e-5.
BOOST_AUTO_TEST_CASE(uniform_moments_and_bounded_integers) {
  rnd::Rng g(1);
  const int draws = 1000000;
  double s = 0.0, s2 = 0.0;
  for (int i = 0; i < draws; ++i) {
    const double u = rnd::UniformDouble(g);
    BOOST_REQUIRE(u >= 0.0);
    BOOST_REQUIRE(u < 1.0);
    s += u;
    s2 += u * u;
  }
  const double mean = s / draws;
  BOOST_TEST(std::abs(mean - 0.5) < 5 * 2.9e-4);
  BOOST_TEST(std::abs(s2 / draws - mean * mean - 1.0 / 12) < 5 * 8.3e-5);
  // 7 equiprobable values: chi-square with 6 degrees of freedom, 99.99 % point 27.86.
  std::vector<double> counts(7, 0.0);
  for (int i = 0; i < 700000; ++i) counts[rnd::UniformBelow(g, 7)] += 1.0;
  BOOST_TEST(ChiSquare(counts, std::vector<double>(7, 100000.0)) < 27.86);
}

// N(0, 1): mean 0, variance 1, fourth moment 3; and P(|Z| > 1.96) = 0.05.
BOOST_AUTO_TEST_CASE(normal_moments) {
  rnd::Rng g(2);
  const int draws = 1000000;
  double s = 0.0, s2 = 0.0, s4 = 0.0;
  int outside = 0;
  for (int i = 0; i < draws; ++i) {
    const double z = rnd::StandardNormal(g);
    s += z;
    s2 += z * z;
    s4 += z * z * z * z;
    outside += std::abs(z) > 1.959963984540054;
  }
  BOOST_TEST(std::abs(s / draws) < 5e-3);
  BOOST_TEST(std::abs(s2 / draws - 1.0) < 5 * 1.41e-3);
  BOOST_TEST(std::abs(s4 / draws - 3.0) < 5 * 9.8e-3);
  BOOST_TEST(std::abs(outside / double(draws) - 0.05) < 5 * 2.2e-4);
}

// Mean n p and variance n p (1 - p) in both branches (inversion below n p = 10, BTRS above, and
// p > 1/2 by symmetry), and the whole pmf by chi-square where BTRS runs.
BOOST_AUTO_TEST_CASE(binomial_moments_and_pmf) {
  struct Case {
    int64_t n;
    double p;
  };
  rnd::Rng g(3);
  const int draws = 200000;
  for (const Case c : {Case{10, 0.5}, Case{40, 0.1}, Case{1000, 0.002}, Case{100, 0.3},
                       Case{5000, 0.5}, Case{1000000, 0.01}, Case{60, 0.95}}) {
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i < draws; ++i) {
      const double x = static_cast<double>(rnd::Binomial(g, c.n, c.p));
      s += x;
      s2 += x * x;
    }
    const double mean = s / draws, var = s2 / draws - mean * mean;
    const double true_mean = c.n * c.p, true_var = c.n * c.p * (1 - c.p);
    BOOST_TEST_CONTEXT("n=" << c.n << " p=" << c.p) {
      BOOST_TEST(std::abs(mean - true_mean) < 5 * std::sqrt(true_var / draws));
      // Var of the sample variance ~ 2 sigma^4 / draws (near-normal); generous for skewed cases.
      BOOST_TEST(std::abs(var / true_var - 1.0) < 5 * std::sqrt(3.0 / draws));
    }
  }
  // Binomial(100, 0.3) pmf: chi-square over k = 15..45 (plus tails) against the exact pmf.
  std::vector<double> observed(102, 0.0), expected(102, 0.0);
  const int n_draws = 300000;
  for (int i = 0; i < n_draws; ++i) observed[static_cast<size_t>(rnd::Binomial(g, 100, 0.3))] += 1;
  for (int k = 0; k <= 100; ++k)
    expected[static_cast<size_t>(k)] = n_draws * std::exp(LogBinomialPmf(k, 100, 0.3));
  // About 30 cells with expectation >= 5: the 99.99 % point of chi-square(40) is 78.
  BOOST_TEST(ChiSquare(observed, expected) < 78.0);
}

BOOST_AUTO_TEST_CASE(poisson_moments_and_pmf) {
  rnd::Rng g(4);
  const int draws = 200000;
  for (double lambda : {0.2, 3.0, 9.5, 10.0, 57.0, 1.0e6}) {
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i < draws; ++i) {
      const double x = static_cast<double>(rnd::Poisson(g, lambda));
      s += x;
      s2 += x * x;
    }
    const double mean = s / draws, var = s2 / draws - mean * mean;
    BOOST_TEST_CONTEXT("lambda=" << lambda) {
      BOOST_TEST(std::abs(mean - lambda) < 5 * std::sqrt(lambda / draws));
      BOOST_TEST(std::abs(var / lambda - 1.0) < 5 * std::sqrt((2.0 + 1.0 / lambda) / draws));
    }
  }
  // Poisson(30) pmf by chi-square (PTRS branch).
  std::vector<double> observed(200, 0.0), expected(200, 0.0);
  const int n_draws = 300000;
  for (int i = 0; i < n_draws; ++i) {
    const int64_t k = rnd::Poisson(g, 30.0);
    if (k < 200) observed[static_cast<size_t>(k)] += 1;
  }
  for (int k = 0; k < 200; ++k) {
    expected[static_cast<size_t>(k)] =
        n_draws * std::exp(-30.0 + k * std::log(30.0) - std::lgamma(k + 1.0));
  }
  BOOST_TEST(ChiSquare(observed, expected) < 78.0);
}

BOOST_AUTO_TEST_CASE(multinomial_keeps_the_total_and_the_means) {
  rnd::Rng g(5);
  const std::vector<double> w = {0.5, 0.0, 0.3, 0.2};
  std::vector<double> mean(4, 0.0);
  for (int i = 0; i < 4000; ++i) {
    const auto d = rnd::Multinomial(g, 1000, w);
    BOOST_REQUIRE(d[0] + d[1] + d[2] + d[3] == 1000);
    BOOST_REQUIRE(d[1] == 0);
    for (size_t k = 0; k < 4; ++k) mean[k] += d[k] / 4000.0;
  }
  // s.e. of a mean count: sqrt(1000 * 0.5 * 0.5 / 4000) = 0.25.
  BOOST_TEST(std::abs(mean[0] - 500) < 1.25);
  BOOST_TEST(std::abs(mean[2] - 300) < 1.25);
  BOOST_TEST(std::abs(mean[3] - 200) < 1.25);
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_rejected) {
  rnd::Rng g(6);
  BOOST_CHECK_THROW(rnd::Binomial(g, -1, 0.5), gl::InputError);
  BOOST_CHECK_THROW(rnd::Binomial(g, 10, 1.5), gl::InputError);
  BOOST_CHECK_THROW(rnd::Poisson(g, -1.0), gl::InputError);
  BOOST_CHECK_THROW(rnd::UniformBelow(g, 0), gl::InputError);
}

BOOST_AUTO_TEST_SUITE_END()
