// core/stats' AUC intervals: DeLong's variance (Sun & Xu's mid-rank algorithm) and Newcombe's
// score interval against an independent numpy implementation of their definitions
// (auc_reference.py, run here), and the reported interval's contract (contains its estimate, stays
// in [0, 1], joins the logit-DeLong and score intervals). Coverage is simulated in
// tests/unit/accuracy/accuracy_coverage_test.cc.
#define BOOST_TEST_MODULE auc_interval
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/stats.h"
#include "tests/test_util.h"

namespace gl = greenlight;
using nlohmann::json;

namespace {

const json& Reference() {
  static const json ref = [] {
    const auto r = gl::testing::RunShell(std::string("'") + GREENLIGHT_PYTHON + "' '" +
                                         GREENLIGHT_AUC_REFERENCE_PY + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "auc_reference.py failed: " + r.err);
    return json::parse(r.out);
  }();
  return ref;
}

}  // namespace

BOOST_AUTO_TEST_CASE(delong_variance_and_score_interval_match_the_numpy_reference) {
  BOOST_REQUIRE_EQUAL(Reference().size(), 5u);
  for (const json& c : Reference()) {
    const auto scores = c.at("scores").get<std::vector<double>>();
    const auto positive = c.at("positive").get<std::vector<uint8_t>>();
    const auto d = gl::stats::DeLongRocAuc(scores, positive);
    BOOST_REQUIRE(d);
    const double auc = c.at("auc").get<double>();
    BOOST_TEST(std::abs(d->auc - auc) < 1e-12);
    BOOST_REQUIRE(d->variance);
    BOOST_TEST(std::abs(*d->variance - c.at("variance").get<double>()) < 1e-12);
    const gl::Interval s = gl::stats::AucScoreInterval(d->auc, d->positives, d->negatives, 0.95);
    BOOST_TEST(std::abs(s.low - c.at("score_low").get<double>()) < 1e-9);
    BOOST_TEST(std::abs(s.high - c.at("score_high").get<double>()) < 1e-9);
    const gl::Interval iv = gl::stats::AucInterval(*d, 0.95);
    BOOST_TEST(iv.low <= d->auc);
    BOOST_TEST(d->auc <= iv.high);
    BOOST_TEST(iv.low >= 0.0);
    BOOST_TEST(iv.high <= 1.0);
    BOOST_TEST(iv.low <= s.low);
    BOOST_TEST(iv.high >= s.high);
    if (*d->variance > 0.0) {
      // The logit-DeLong limits, by hand from the reference variance.
      const double z = 1.959963984540054;
      const double se = std::sqrt(c.at("variance").get<double>()) / (auc * (1 - auc));
      const double lo = 1 / (1 + std::exp(-(std::log(auc / (1 - auc)) - z * se)));
      const double hi = 1 / (1 + std::exp(-(std::log(auc / (1 - auc)) + z * se)));
      BOOST_TEST(std::abs(iv.low - std::min(lo, s.low)) < 1e-9);
      BOOST_TEST(std::abs(iv.high - std::max(hi, s.high)) < 1e-9);
      BOOST_TEST(iv.method == "delong-logit+newcombe-score");
    } else {
      // Perfect separation: DeLong's variance is 0; the score interval alone, up to 1.
      BOOST_TEST(iv.method == "newcombe-score");
      BOOST_TEST(iv.high == 1.0);
      BOOST_TEST(iv.low < 1.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(hand_computed_delong_example) {
  // Positives {3, 2}, negatives {1, 2}: psi = [[1, 1], [1, 1/2]], AUC = 3.5 / 4 = 0.875;
  // V10 = (1, 0.75), V01 = (1, 0.75); S10 = S01 = 0.03125; var = 0.03125 / 2 * 2 = 0.03125.
  const std::vector<double> scores = {3, 2, 1, 2};
  const std::vector<uint8_t> positive = {1, 1, 0, 0};
  const auto d = gl::stats::DeLongRocAuc(scores, positive);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->auc == 0.875);
  BOOST_REQUIRE(d->variance);
  BOOST_TEST(std::abs(*d->variance - 0.03125) < 1e-15);
}

BOOST_AUTO_TEST_CASE(one_row_classes_and_one_class_data) {
  // One positive: no sample variance of its placement; the score interval alone.
  const std::vector<double> scores = {0.9, 0.1, 0.2, 0.95};
  const std::vector<uint8_t> positive = {1, 0, 0, 0};
  const auto d = gl::stats::DeLongRocAuc(scores, positive);
  BOOST_REQUIRE(d);
  BOOST_TEST(!d->variance);
  BOOST_TEST(std::abs(d->auc - 2.0 / 3.0) < 1e-15);
  const gl::Interval iv = gl::stats::AucInterval(*d, 0.95);
  BOOST_TEST(iv.method == "newcombe-score");
  BOOST_TEST(iv.low < d->auc);
  BOOST_TEST(iv.high > d->auc);
  const std::vector<uint8_t> none = {0, 0, 0, 0};
  BOOST_TEST(!gl::stats::DeLongRocAuc(scores, none));
}
