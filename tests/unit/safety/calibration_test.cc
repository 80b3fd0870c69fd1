#include "auditors/safety/calibration.h"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "safety_test_util.h"

namespace greenlight {
namespace {

using safety_test::Capture;

std::pair<double, double> NumpyReference(const std::vector<double>& conf,
                                         const std::vector<uint8_t>& correct) {
  const auto file = std::filesystem::path(GREENLIGHT_BINARY_DIR) / "safety_ece_input.txt";
  {
    std::ofstream f(file);
    char line[64];
    for (size_t i = 0; i < conf.size(); ++i) {
      std::snprintf(line, sizeof line, "%.17g %d\n", conf[i], correct[i]);
      f << line;
    }
  }
  std::istringstream out(
      Capture(std::string(GREENLIGHT_PYTHON) + " " +
              (safety_test::SourceDir() / "tests/unit/safety/ece_reference.py").string() + " " +
              file.string()));
  double w = -1, m = -1;
  out >> w >> m;
  return {w, m};
}

BOOST_AUTO_TEST_SUITE(calibration)

BOOST_AUTO_TEST_CASE(hand_computed_equal_width) {
  // Two rows at 0.95 (one right) and two at 0.55 (both right): |0.5 - 0.95| / 2 + |1 - 0.55| / 2.
  const std::vector<double> conf{0.95, 0.95, 0.55, 0.55};
  const std::vector<uint8_t> correct{1, 0, 1, 1};
  std::vector<safety::ReliabilityBin> diagram;
  BOOST_TEST(safety::EceEqualWidth(conf, correct, 15, {}, &diagram) == 0.45,
             boost::test_tools::tolerance(1e-15));
  BOOST_TEST(diagram.size() == 15u);
  BOOST_TEST(diagram[14].count == 2.0);
  BOOST_TEST(diagram[8].count == 2.0);  // (8/15, 9/15] holds 0.55.
  // Weights act as row multiplicities.
  const std::vector<uint32_t> w{2, 0, 1, 1};
  BOOST_TEST(safety::EceEqualWidth(conf, correct, 15, w) == 0.5 * 0.05 + 0.5 * 0.45,
             boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(hand_computed_equal_mass) {
  // 4 rows, 2 bins: parts {0.2, 0.4} and {0.6, 0.8}, edge 0.5; errors |0.3 - 0.5| and |0.7 - 0|.
  const std::vector<double> conf{0.8, 0.2, 0.6, 0.4};
  const std::vector<uint8_t> correct{0, 1, 0, 0};
  BOOST_TEST(safety::EceEqualMass(conf, correct, 2) == 0.5 * 0.2 + 0.5 * 0.7,
             boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(weights_equal_repeated_rows) {
  // The bootstrap passes row multiplicities; they must act exactly like repeated rows (the
  // equal-mass bins are rebuilt from the weighted sample).
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0.1, 1.0);
  std::uniform_int_distribution<uint32_t> k(0, 3);
  std::vector<double> conf, expanded_conf;
  std::vector<uint8_t> correct, expanded_correct;
  std::vector<uint32_t> w;
  for (int i = 0; i < 500; ++i) {
    conf.push_back(i % 7 == 0 ? 0.5 : u(rng));  // Some ties.
    correct.push_back(u(rng) < conf.back() ? 1 : 0);
    w.push_back(k(rng));
    for (uint32_t r = 0; r < w.back(); ++r) {
      expanded_conf.push_back(conf.back());
      expanded_correct.push_back(correct.back());
    }
  }
  BOOST_TEST(safety::EceEqualWidth(conf, correct, 15, w) ==
                 safety::EceEqualWidth(expanded_conf, expanded_correct, 15),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(safety::EceEqualMass(conf, correct, 10, w) ==
                 safety::EceEqualMass(expanded_conf, expanded_correct, 10),
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(matches_numpy_on_synthetic_probabilities) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0.0, 2.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> conf;
  std::vector<uint8_t> correct;
  for (int i = 0; i < 3001; ++i) {
    // Softmax of random logits over 10 classes; correctness drawn with a miscalibrated rate.
    std::vector<double> z(10);
    double mx = -1e9, sum = 0.0;
    for (auto& v : z) mx = std::max(mx, v = g(rng));
    for (auto& v : z) sum += std::exp(v - mx);
    const double c = 1.0 / sum;  // The largest probability.
    conf.push_back(c);
    correct.push_back(u(rng) < c * c ? 1 : 0);
  }
  conf[5] = 1.0;  // Edge cases: a confidence of exactly 1 and ties.
  conf[6] = conf[7];
  const auto [ref_w, ref_m] = NumpyReference(conf, correct);
  BOOST_TEST(safety::EceEqualWidth(conf, correct, 15) == ref_w,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(safety::EceEqualMass(conf, correct, 10) == ref_m, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(std::abs(safety::EceEqualWidth(conf, correct, 15) - ref_w) <= 1e-12);
  BOOST_TEST(std::abs(safety::EceEqualMass(conf, correct, 10) - ref_m) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(metric_matches_numpy_on_model_probabilities) {
  safety_test::Fixture fx(1000);
  const Measurement w = fx.Run("ece", {{"bootstrap_resamples", 200}});
  const Measurement m = fx.Run("ece_equal_mass", {{"bootstrap_resamples", 200}});
  // The same probabilities the auditor used: the shared model outputs.
  const ClassifierOutputs& out = fx.ctx.Outputs();
  std::vector<double> conf;
  std::vector<uint8_t> correct;
  for (int64_t i = 0; i < out.rows; ++i) {
    const int64_t p = out.predicted[static_cast<size_t>(i)];
    conf.push_back(out.probabilities[static_cast<size_t>(i * out.classes + p)]);
    correct.push_back(p == fx.data->labels()[static_cast<size_t>(i)] ? 1 : 0);
  }
  const auto [ref_w, ref_m] = NumpyReference(conf, correct);
  BOOST_REQUIRE(w.value && m.value);
  BOOST_TEST(std::abs(*w.value - ref_w) <= 1e-12);
  BOOST_TEST(std::abs(*m.value - ref_m) <= 1e-12);
  BOOST_TEST_MESSAGE("ece " << *w.value << " [" << w.interval->low << ", " << w.interval->high
                            << "], ece_equal_mass " << *m.value);
  BOOST_TEST(w.interval->low <= *w.value);
  BOOST_TEST(w.interval->high >= *w.value);
  BOOST_TEST(w.details["reliability_diagram"].size() == 15u);
  BOOST_TEST(m.details["reliability_diagram"].size() <= 10u);
  int64_t total = 0;
  for (const auto& b : w.details["reliability_diagram"]) total += b["count"].get<int64_t>();
  BOOST_TEST(total == 1000);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
