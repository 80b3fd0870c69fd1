#define BOOST_TEST_MODULE core
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/stats.h"
#include "core/yaml_json.h"
#include "tests/test_util.h"

namespace gl = greenlight;
using gl::testing::TempDir;

BOOST_AUTO_TEST_SUITE(wilson)

// Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in
// Medicine 17:857-872, Table I, method 3 (score interval without continuity correction).
BOOST_AUTO_TEST_CASE(matches_newcombe_table) {
  struct Case {
    int64_t x, n;
    double low, high;
  };
  for (const Case& c : {Case{81, 263, 0.2553, 0.3662}, Case{15, 148, 0.0624, 0.1605},
                        Case{0, 20, 0.0, 0.1611}, Case{1, 29, 0.0061, 0.1718}}) {
    const gl::Interval i = gl::stats::WilsonScoreInterval(c.x, c.n, 0.95);
    BOOST_TEST_CONTEXT(c.x << "/" << c.n) {
      BOOST_TEST(std::abs(i.low - c.low) < 5e-5);
      BOOST_TEST(std::abs(i.high - c.high) < 5e-5);
    }
  }
}

// Brown, Cai & DasGupta (2001), section 4.1.1: at 1..x* successes (x* = 2 for n <= 50, else 3)
// the lower limit is the exact Poisson (Garwood) one, lambda / n with P(Poisson(lambda) >= x) =
// 0.025: for x = 1, lambda = -ln(0.975) = 0.025318; for x = 3, lambda = 0.6187 (Garwood's table).
BOOST_AUTO_TEST_CASE(boundary_modification_widens_only_near_0_and_n) {
  const gl::Interval one = gl::stats::WilsonInterval(1, 29, 0.95);
  BOOST_TEST(std::abs(one.low - (-std::log(0.975) / 29)) < 1e-12);
  BOOST_TEST(std::abs(one.high - 0.1718) < 5e-5);  // the upper limit is Wilson's
  const gl::Interval mirror = gl::stats::WilsonInterval(28, 29, 0.95);
  BOOST_TEST(std::abs(mirror.high - (1 + std::log(0.975) / 29)) < 1e-12);
  BOOST_TEST(std::abs(gl::stats::WilsonInterval(3, 100, 0.95).low - 0.006187) < 1e-6);
  // x = 3 with n <= 50, and x = 4 anywhere: the score interval as published.
  const gl::Interval three = gl::stats::WilsonInterval(3, 29, 0.95);
  BOOST_TEST(three.low == gl::stats::WilsonScoreInterval(3, 29, 0.95).low);
  BOOST_TEST(gl::stats::WilsonInterval(4, 100, 0.95).low ==
             gl::stats::WilsonScoreInterval(4, 100, 0.95).low);
}

BOOST_AUTO_TEST_CASE(rejects_bad_counts) {
  BOOST_CHECK_THROW(gl::stats::WilsonInterval(5, 4, 0.95), gl::InputError);
  BOOST_CHECK_THROW(gl::stats::WilsonInterval(0, 0, 0.95), gl::InputError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(normal_quantile_known_values) {
  BOOST_TEST(std::abs(gl::stats::NormalQuantile(0.975) - 1.959963984540054) < 1e-12);
  BOOST_TEST(std::abs(gl::stats::NormalQuantile(0.5)) < 1e-15);
}

BOOST_AUTO_TEST_CASE(quantile_type7_by_hand) {
  const std::vector<double> x = {1, 2, 3, 4};
  BOOST_TEST(gl::stats::QuantileSorted(x, 0.5) == 2.5);
  BOOST_TEST(gl::stats::QuantileSorted(x, 0.0) == 1.0);
  BOOST_TEST(gl::stats::QuantileSorted(x, 1.0) == 4.0);
  // h = 3 * 0.9 = 2.7 -> 3 + 0.7 * (4 - 3)
  BOOST_TEST(std::abs(gl::stats::QuantileSorted(x, 0.9) - 3.7) < 1e-12);
}

// For n = 100 the distribution-free 95 % interval of the median is [x(40), x(61)] (1-based):
// P(B <= 39) = 0.0176 <= 0.025 < P(B <= 40) = 0.0284 and P(B <= 60) = 0.9824 >= 0.975 with
// B ~ Binomial(100, 0.5) (Conover, Practical Nonparametric Statistics, Table A3).
BOOST_AUTO_TEST_CASE(order_statistic_bounds_of_the_median) {
  const auto b = gl::stats::PercentileOrderBounds(100, 0.5, 0.95);
  BOOST_REQUIRE(b.lo && b.hi);
  BOOST_TEST(*b.lo == 39);
  BOOST_TEST(*b.hi == 60);
  // Too few samples for a p99 upper bound at 95 %: 0.99^10 > 0.025.
  const auto few = gl::stats::PercentileOrderBounds(10, 0.99, 0.95);
  BOOST_TEST(!few.hi.has_value());
}

BOOST_AUTO_TEST_CASE(order_statistic_bounds_cover_at_stated_rate) {
  // Exponential(1) samples: the true p90 is ln(10). Count how often the bounds contain it.
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> exp1(1.0);
  const double truth = std::log(10.0);
  const int trials = 2000;
  int covered = 0;
  const auto b = gl::stats::PercentileOrderBounds(200, 0.9, 0.95);
  BOOST_REQUIRE(b.lo && b.hi);
  for (int t = 0; t < trials; ++t) {
    std::vector<double> x(200);
    for (double& v : x) v = exp1(rng);
    std::sort(x.begin(), x.end());
    covered += x[*b.lo] <= truth && truth <= x[*b.hi];
  }
  // Order-statistic intervals are conservative: coverage >= 95 % up to simulation noise
  // (binomial s.e. over 2000 trials ~ 0.5 %).
  BOOST_TEST(covered / double(trials) >= 0.94);
}

BOOST_AUTO_TEST_CASE(percentile_interval_is_widened_to_contain_its_estimate) {
  std::vector<double> reps = {0.30, 0.32, 0.34, 0.36, 0.38, 0.40};
  const gl::Interval i = gl::stats::PercentileIntervalContaining(reps, 0.95, 0.25);
  BOOST_TEST(i.low == 0.25);
  BOOST_TEST(i.method == "bootstrap-percentile-widened");
  std::vector<double> again = {0.30, 0.32, 0.34, 0.36, 0.38, 0.40};
  const gl::Interval j = gl::stats::PercentileIntervalContaining(again, 0.95, 0.35);
  BOOST_TEST(j.method == "bootstrap-percentile");
  BOOST_TEST(j.low > 0.30);  // type 7 quantile at 0.025: 0.30 + 0.125 * 0.02
}

BOOST_AUTO_TEST_CASE(multinomial_draw_preserves_total_and_means) {
  gl::random::Rng rng(3);
  const std::vector<double> w = {0.5, 0.0, 0.3, 0.2};
  std::vector<double> mean(4, 0.0);
  for (int i = 0; i < 2000; ++i) {
    const auto d = gl::stats::MultinomialDraw(1000, w, rng);
    int64_t sum = 0;
    for (size_t k = 0; k < d.size(); ++k) {
      sum += d[k];
      mean[k] += d[k] / 2000.0;
    }
    BOOST_TEST(sum == 1000);
    BOOST_TEST(d[1] == 0);
  }
  BOOST_TEST(std::abs(mean[0] - 500) < 3);
  BOOST_TEST(std::abs(mean[2] - 300) < 3);
}

BOOST_AUTO_TEST_CASE(sha256_fips_vectors) {
  // FIPS 180-2 appendix B.1 and the empty string.
  BOOST_TEST(gl::Sha256Hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(gl::Sha256Hex("") ==
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  TempDir dir;
  gl::testing::WriteText(dir / "abc", "abc");
  BOOST_TEST(gl::Sha256File(dir / "abc") == gl::Sha256Hex("abc"));
  BOOST_CHECK_THROW(gl::Sha256File(dir / "missing"), gl::InputError);
}

BOOST_AUTO_TEST_CASE(atomic_write_sets_content_and_mode) {
  TempDir dir;
  const auto path = dir / "sub" / "out.json";
  gl::WriteFileAtomic(path, "hello", 0600);
  BOOST_TEST(gl::ReadFile(path) == "hello");
  struct stat st {};
  BOOST_REQUIRE(stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  gl::WriteFileAtomic(path, "replaced");
  BOOST_TEST(gl::ReadFile(path) == "replaced");
  // No temporary files are left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "sub"))
    entries += !e.path().empty();
  BOOST_TEST(entries == 1);
}

BOOST_AUTO_TEST_CASE(atomic_write_can_refuse_to_replace) {
  TempDir dir;
  const auto path = dir / "key";
  gl::WriteFileAtomic(path, "first", 0600, /*replace_existing=*/false);
  BOOST_CHECK_THROW(gl::WriteFileAtomic(path, "second", 0600, /*replace_existing=*/false),
                    gl::InputError);
  BOOST_TEST(gl::ReadFile(path) == "first");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    entries += !e.path().empty();
  BOOST_TEST(entries == 1);  // The temporary file is gone.
}

BOOST_AUTO_TEST_SUITE(yaml)

BOOST_AUTO_TEST_CASE(scalars_follow_the_core_schema) {
  const auto doc =
      gl::ParseYaml("a: 1\nb: 1.5\nc: yes\nd: \"2\"\ne: true\nf: ~\ng: [1, x]\n", "t.yaml");
  BOOST_TEST(doc.value["a"].is_number_integer());
  BOOST_TEST(doc.value["b"].get<double>() == 1.5);
  BOOST_TEST(doc.value["c"].get<std::string>() == "yes");  // YAML 1.2: not a boolean.
  BOOST_TEST(doc.value["d"].get<std::string>() == "2");    // Quoted: stays a string.
  BOOST_TEST(doc.value["e"].get<bool>());
  BOOST_TEST(doc.value["f"].is_null());
  BOOST_TEST(doc.value["g"][1].get<std::string>() == "x");
}

BOOST_AUTO_TEST_CASE(positions_are_one_based_lines_and_columns) {
  const auto doc = gl::ParseYaml("top:\n  inner:\n    - 1\n    - key: v\n", "t.yaml");
  // A node's position is where its value starts; a missing node falls back to its parent.
  BOOST_TEST(doc.Where("/top/inner/1/key") == "t.yaml:4:12");
  BOOST_TEST(doc.Where("/top/inner/0") == "t.yaml:3:7");
  BOOST_TEST(doc.Where("/top/missing") == "t.yaml:2:3");
}

BOOST_AUTO_TEST_CASE(syntax_errors_name_file_and_line) {
  try {
    gl::ParseYaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
    BOOST_FAIL("expected an error");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()).rfind("bad.yaml:", 0) == 0);
  }
  try {
    gl::ParseYaml("a: 1\na: 2\n", "dup.yaml");
    BOOST_FAIL("expected an error");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()).find("dup.yaml:2:1: duplicate key 'a'") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
