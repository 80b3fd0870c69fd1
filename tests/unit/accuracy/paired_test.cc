// The paired metrics' statistics (auditors/accuracy/paired.cc):
// - McNemar's exact p-value against hand sums of binomial coefficients and, for large tables,
//   against Python's exact rational arithmetic (fractions, math.comb);
// - the 2 x 2 table from rows, against a hand count; merge of row ranges; JSON round trip;
// - the Bonett-Price difference interval and the paired log-ratio interval against their formulas
//   evaluated by hand (numbers below), and their coverage by simulation: paired multinomial tables
//   from known cell probabilities, accuracies near 1, true differences 0, small and large, n from
//   50 to 10,000, 1,000 replications each. Every interval must contain its estimate; coverage
//   must reach the nominal 95 % less 2.5 points (the Monte Carlo standard error at 1,000
//   replications is 0.7 points). The table in docs/statistics.md is this test's output:
//   build/tests/unit/accuracy/paired_test --log_level=message --color_output=false | grep '^|'
#define BOOST_TEST_MODULE paired
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/random.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace acc = greenlight::accuracy;
namespace rnd = greenlight::random;

namespace {

acc::PairedCounts Table(int64_t a, int64_t b, int64_t c, int64_t d) {
  acc::PairedCounts s;
  s.both_correct = a;
  s.model_only = b;
  s.reference_only = c;
  s.both_wrong = d;
  s.rows = a + b + c + d;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mcnemar_exact_p_value_by_hand) {
  // 2 sum_{i <= min} C(m, i) / 2^m.
  const auto close = boost::test_tools::tolerance(1e-14);
  BOOST_TEST(acc::McNemarExactPValue(1, 5) == 2.0 * (1 + 6) / 64.0, close);
  BOOST_TEST(acc::McNemarExactPValue(5, 1) == 2.0 * (1 + 6) / 64.0, close);
  BOOST_TEST(acc::McNemarExactPValue(0, 10) == 2.0 / 1024.0, close);
  BOOST_TEST(acc::McNemarExactPValue(3, 12) == 2.0 * (1 + 15 + 105 + 455) / 32768.0, close);
  BOOST_TEST(acc::McNemarExactPValue(5, 8) == 2.0 * (1 + 13 + 78 + 286 + 715 + 1287) / 8192.0,
             close);
  BOOST_TEST(acc::McNemarExactPValue(7, 7) == 1.0);
  BOOST_TEST(acc::McNemarExactPValue(0, 0) == 1.0);
  BOOST_TEST(acc::McNemarExactPValue(6, 7) == 1.0);  // 2 P(X <= 6) > 1 for m = 13.
}

BOOST_AUTO_TEST_CASE(mcnemar_exact_p_value_against_python_fractions) {
  const std::vector<std::pair<int64_t, int64_t>> cases = {
      {40, 70}, {450, 520}, {12, 300}, {2000, 2150}};
  std::string script =
      "from fractions import Fraction\nimport math\n"
      "for b, c in [";
  for (const auto& [b, c] : cases)
    script += "(" + std::to_string(b) + "," + std::to_string(c) + "),";
  script +=
      "]:\n"
      "    m = b + c\n"
      "    p = min(Fraction(1), 2 * Fraction(sum(math.comb(m, i) for i in range(min(b, c) + 1)), "
      "2 ** m))\n"
      "    print(repr(float(p)))\n";
  const auto py = gl::testing::RunPython(script);
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  std::istringstream lines(py.out);
  for (const auto& [b, c] : cases) {
    double expected = 0.0;
    lines >> expected;
    BOOST_TEST_CONTEXT("b = " << b << ", c = " << c) {
      BOOST_TEST(acc::McNemarExactPValue(b, c) == expected, boost::test_tools::tolerance(1e-12));
    }
  }
}

BOOST_AUTO_TEST_CASE(table_from_rows_merges_and_round_trips) {
  // Labels, the model's and the reference's predictions, hand-tabulated:
  // row: 0 1 2 3 4 5 6 7
  // lab: 0 1 2 0 1 2 0 1
  // mod: 0 1 0 0 2 2 1 1   correct: y y n y n y n y
  // ref: 0 2 2 0 2 1 1 1   correct: y n y y n n n y
  // a (both) = rows 0, 3, 7 = 3; b (model only) = 1, 5 = 2; c (reference only) = 2 = 1;
  // d = 4, 6 = 2; agree = rows 0, 3, 4, 6, 7 = 5.
  gl::ClassifierOutputs model, reference;
  model.rows = reference.rows = 8;
  model.classes = reference.classes = 3;
  model.predicted = {0, 1, 0, 0, 2, 2, 1, 1};
  reference.predicted = {0, 2, 2, 0, 2, 1, 1, 1};
  model.source = "model:m";
  reference.source = "model:r";
  const std::vector<int64_t> labels = {0, 1, 2, 0, 1, 2, 0, 1};
  gl::OutputsRecord record;
  record.outputs = &model;
  record.reference = &reference;
  record.labels = labels;
  record.classes = 3;
  const acc::PairedCounts whole = acc::PairedCounts::Of(record, {0, 8});
  BOOST_TEST(whole.both_correct == 3);
  BOOST_TEST(whole.model_only == 2);
  BOOST_TEST(whole.reference_only == 1);
  BOOST_TEST(whole.both_wrong == 2);
  BOOST_TEST(whole.agree == 5);
  BOOST_TEST(whole.rows == 8);
  BOOST_TEST(whole.model_accuracy() == 5.0 / 8.0);
  BOOST_TEST(whole.reference_accuracy() == 4.0 / 8.0);

  acc::PairedCounts merged = acc::PairedCounts::Of(record, {0, 3});
  merged.Merge(acc::PairedCounts::FromJson(acc::PairedCounts::Of(record, {3, 8}).ToJson()));
  BOOST_TEST(merged.ToJson() == whole.ToJson());

  gl::ClassifierOutputs other = reference;
  other.source = "model:x";
  record.reference = &other;
  BOOST_CHECK_THROW(merged.Merge(acc::PairedCounts::Of(record, {0, 8})), gl::RuntimeError);
  record.reference = nullptr;
  BOOST_CHECK_THROW(acc::PairedCounts::Of(record, {0, 8}), gl::RuntimeError);
}

BOOST_AUTO_TEST_CASE(intervals_by_their_formulas) {
  // n = 100, b = 8, c = 3: b~ = 9/102, c~ = 4/102, centre 5/102, variance (13/102 - (5/102)^2) /
  // 102 = 1.22596136e-3, half-width 1.959964 x 0.03501373 = 0.06862565.
  const gl::Interval d = acc::PairedDifferenceInterval(Table(85, 8, 3, 4), 0.95);
  BOOST_TEST(d.low == 5.0 / 102 - 0.06862565, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(d.high == 5.0 / 102 + 0.06862565, boost::test_tools::tolerance(1e-6));
  // a = 85: ln(94 / 89) = 0.05465841, se = sqrt(13 / (94 x 89)) = 0.03941965, half 0.07726109.
  const gl::Interval r = acc::PairedRatioInterval(Table(85, 8, 3, 4), 0.95);
  BOOST_TEST(r.low == std::exp(0.05465841 - 0.07726109), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(r.high == std::exp(0.05465841 + 0.07726109), boost::test_tools::tolerance(1e-6));
  // No discordant pairs: the estimate (0, 1) is inside a non-empty interval.
  const gl::Interval d0 = acc::PairedDifferenceInterval(Table(50, 0, 0, 0), 0.95);
  BOOST_TEST(d0.low < 0.0);
  BOOST_TEST(d0.high > 0.0);
  const gl::Interval r0 = acc::PairedRatioInterval(Table(50, 0, 0, 0), 0.95);
  BOOST_TEST(r0.low < 1.0);
  BOOST_TEST(r0.high > 1.0);
}

BOOST_AUTO_TEST_CASE(paired_intervals_cover) {
  struct Case {
    const char* name;
    double p_model_only, p_reference_only;  // Discordant cell probabilities.
    double reference_accuracy;
  };
  // Accuracies near 1 (reference 0.99) and one mid-range pair (0.90).
  const std::vector<Case> cases = {
      {"delta 0, acc 0.99", 0.003, 0.003, 0.99},     {"delta -0.005, acc 0.99", 0.002, 0.007, 0.99},
      {"delta -0.04, acc 0.99", 0.002, 0.042, 0.99}, {"delta 0, acc 0.90", 0.02, 0.02, 0.90},
      {"delta -0.05, acc 0.90", 0.01, 0.06, 0.90},
  };
  constexpr int kReps = 1000;
  constexpr double kLevel = 0.95;
  rnd::Rng rng(20261130);
  for (const Case& k : cases) {
    const double both = k.reference_accuracy - k.p_reference_only;
    const std::vector<double> p = {both, k.p_model_only, k.p_reference_only,
                                   1.0 - both - k.p_model_only - k.p_reference_only};
    const double true_delta = k.p_model_only - k.p_reference_only;
    const double true_ratio = (both + k.p_model_only) / (both + k.p_reference_only);
    for (int64_t n : {50, 200, 1000, 10000}) {
      int covered_delta = 0, covered_ratio = 0;
      for (int rep = 0; rep < kReps; ++rep) {
        const std::vector<int64_t> cells = rnd::Multinomial(rng, n, p);
        const acc::PairedCounts s = Table(cells[0], cells[1], cells[2], cells[3]);
        const gl::Interval d = acc::PairedDifferenceInterval(s, kLevel);
        const double delta = static_cast<double>(s.model_only - s.reference_only) / n;
        BOOST_REQUIRE(d.low <= delta);
        BOOST_REQUIRE(delta <= d.high);
        covered_delta += d.low <= true_delta && true_delta <= d.high;
        if (s.both_correct + s.reference_only == 0) continue;  // No ratio; never at these rates.
        const gl::Interval r = acc::PairedRatioInterval(s, kLevel);
        const double ratio = static_cast<double>(s.both_correct + s.model_only) /
                             static_cast<double>(s.both_correct + s.reference_only);
        BOOST_REQUIRE(r.low <= ratio);
        BOOST_REQUIRE(ratio <= r.high);
        covered_ratio += r.low <= true_ratio && true_ratio <= r.high;
      }
      const double cd = static_cast<double>(covered_delta) / kReps;
      const double cr = static_cast<double>(covered_ratio) / kReps;
      char line[200];
      std::snprintf(line, sizeof line, "| %s | n = %lld | %d | %.1f %% | %.1f %% |", k.name,
                    static_cast<long long>(n), kReps, 100 * cd, 100 * cr);
      BOOST_TEST_MESSAGE(line);
      BOOST_TEST_CONTEXT(k.name << ", n = " << n) {
        BOOST_TEST(cd >= kLevel - 0.025);
        BOOST_TEST(cr >= kLevel - 0.025);
      }
    }
  }
}
