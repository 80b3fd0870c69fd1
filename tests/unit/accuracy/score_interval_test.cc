// The delta-method intervals of precision, recall and F1 (DeltaScoreVariance, DeltaScoreInterval)
// against an independent numpy implementation (delta_reference.py, run here: finite-difference
// gradients of the scores as defined and the multinomial covariance matrix), and by hand where the
// score is a proportion. Coverage is simulated in accuracy_coverage_test.cc.
#define BOOST_TEST_MODULE score_interval
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auditors/accuracy/accuracy_metrics.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace acc = greenlight::accuracy;
using nlohmann::json;

namespace {

const json& Reference() {
  static const json ref = [] {
    const auto r = gl::testing::RunShell(std::string("'") + GREENLIGHT_PYTHON + "' '" +
                                         GREENLIGHT_DELTA_REFERENCE_PY + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "delta_reference.py failed: " + r.err);
    return json::parse(r.out);
  }();
  return ref;
}

}  // namespace

BOOST_AUTO_TEST_CASE(delta_variances_and_intervals_match_the_numpy_reference) {
  BOOST_REQUIRE_EQUAL(Reference().size(), 24u);
  for (const json& c : Reference()) {
    std::vector<int64_t> cells;
    for (const auto& row : c.at("matrix")) {
      for (const auto& v : row) cells.push_back(v.get<int64_t>());
    }
    const auto k = static_cast<int64_t>(c.at("matrix").size());
    const std::string metric = c.at("metric");
    const std::string average =
        c.at("average").is_null() ? "macro" : c.at("average").get<std::string>();
    const std::optional<int64_t> cls = c.at("class").is_null()
                                           ? std::nullopt
                                           : std::optional<int64_t>(c.at("class").get<int64_t>());
    BOOST_TEST_CONTEXT(c.at("matrix").dump() << " " << metric << " " << average) {
      const std::vector<double> real(cells.begin(), cells.end());
      const auto sv = acc::DeltaScoreVariance(real, cells, k, metric, average, cls);
      BOOST_REQUIRE(sv);
      BOOST_TEST(std::abs(sv->value - c.at("value").get<double>()) < 1e-12);
      // Finite differences carry about 1e-9 relative error.
      BOOST_TEST(std::abs(sv->variance / c.at("variance").get<double>() - 1) < 1e-6);
      if (!cls) {
        // The value agrees with the counting implementation the metric reports.
        BOOST_TEST(std::abs(sv->value - *acc::Averaged(cells, k, metric, average)) < 1e-12);
      }
      const gl::Interval iv = acc::DeltaScoreInterval(cells, k, metric, average, cls, 0.95);
      BOOST_TEST(iv.low <= sv->value);
      BOOST_TEST(sv->value <= iv.high);
      if (!c.at("poisson_limits").get<bool>()) {
        BOOST_TEST(std::abs(iv.low - c.at("low").get<double>()) < 1e-6);
        BOOST_TEST(std::abs(iv.high - c.at("high").get<double>()) < 1e-6);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(weighted_recall_is_accuracy_with_the_binomial_variance) {
  // Support-weighted recall = (sum tp) / n, a proportion: its variance is p (1 - p) / n.
  const std::vector<int64_t> cells = {30, 3, 2, 4, 20, 1, 1, 2, 12};
  const std::vector<double> real(cells.begin(), cells.end());
  const auto sv = acc::DeltaScoreVariance(real, cells, 3, "recall", "weighted", std::nullopt);
  BOOST_REQUIRE(sv);
  const double p = 62.0 / 75.0;
  BOOST_TEST(std::abs(sv->value - p) < 1e-15);
  BOOST_TEST(std::abs(sv->variance - p * (1 - p) / 75.0) < 1e-15);
}

BOOST_AUTO_TEST_CASE(a_perfect_sample_gets_a_nonzero_width_interval_ending_at_1) {
  // 50 rows, all right: every observed variance is 0; the pseudo-counts give the width.
  const std::vector<int64_t> cells = {25, 0, 0, 25};
  const gl::Interval iv = acc::DeltaScoreInterval(cells, 2, "f1", "macro", std::nullopt, 0.95);
  BOOST_TEST(iv.high == 1.0);
  BOOST_TEST(iv.low < 0.99);
  BOOST_TEST(iv.low > 0.8);
}
