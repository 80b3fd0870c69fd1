#include "auditors/safety/corruptions.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "safety_test_util.h"

namespace greenlight {
namespace {

using safety::Corrupt;
using safety::CorruptionParameter;

double Mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / v.size();
}
double Var(const std::vector<float>& v, double m) {
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return s / (v.size() - 1);
}

BOOST_AUTO_TEST_SUITE(corruptions)

BOOST_AUTO_TEST_CASE(cifar10c_parameters) {
  // make_cifar_c.py, as listed in the issue.
  const std::map<std::string, std::vector<double>> expected{
      {"gaussian_noise", {.04, .06, .08, .09, .10}}, {"shot_noise", {500, 250, 100, 75, 50}},
      {"impulse_noise", {.01, .02, .03, .05, .07}},  {"speckle_noise", {.06, .1, .12, .16, .2}},
      {"contrast", {.75, .5, .4, .3, .15}},          {"brightness", {.05, .1, .15, .2, .3}}};
  for (const auto& [name, values] : expected) {
    for (int s = 1; s <= 5; ++s) BOOST_TEST(CorruptionParameter(name, s) == values[s - 1]);
  }
  BOOST_CHECK_THROW(CorruptionParameter("fog", 1), std::exception);
  BOOST_CHECK_THROW(CorruptionParameter("contrast", 6), std::exception);
}

BOOST_AUTO_TEST_CASE(contrast_and_brightness_by_hand) {
  greenlight::random::Rng rng(1);
  std::vector<float> x{0.0f, 0.25f, 0.5f, 1.0f};  // mean 0.4375
  Corrupt("contrast", 2, x, {1, 2, 2}, rng);      // c = 0.5
  const std::vector<double> want{0.21875, 0.34375, 0.46875, 0.71875};
  for (size_t i = 0; i < x.size(); ++i)
    BOOST_TEST(x[i] == want[i], boost::test_tools::tolerance(1e-6));
  std::vector<float> y{0.0f, 0.9f};
  Corrupt("brightness", 5, y, {1, 1, 2}, rng);  // + 0.3, clipped
  BOOST_TEST(y[0] == 0.3f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(y[1] == 1.0f);
  // RGB: brightness raises the HSV value: pure red (0.5, 0, 0) -> (0.6, 0, 0); grey stays grey.
  std::vector<float> rgb{0.5f, 0.2f, 0.0f, 0.2f, 0.0f, 0.2f};  // 2 pixels, planar R, G, B
  Corrupt("brightness", 2, rgb, {3, 1, 2}, rng);               // + 0.1
  BOOST_TEST(rgb[0] == 0.6f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(rgb[2] == 0.0f);
  BOOST_TEST(rgb[4] == 0.0f);
  BOOST_TEST(rgb[1] == 0.3f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(rgb[3] == 0.3f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(rgb[5] == 0.3f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(noise_statistics) {
  const size_t n = 200000;
  greenlight::random::Rng rng(3);
  std::vector<float> g(n, 0.5f);
  Corrupt("gaussian_noise", 3, g, {1, 1, static_cast<int64_t>(n)}, rng);  // sigma 0.08
  BOOST_TEST(std::sqrt(Var(g, Mean(g))) == 0.08, boost::test_tools::tolerance(0.02));
  std::vector<float> s(n, 0.5f);
  Corrupt("shot_noise", 3, s, {1, 1, static_cast<int64_t>(n)}, rng);  // Poisson(50) / 100
  BOOST_TEST(Mean(s) == 0.5, boost::test_tools::tolerance(0.01));
  BOOST_TEST(Var(s, Mean(s)) == 0.5 / 100, boost::test_tools::tolerance(0.03));
  std::vector<float> im(n, 0.5f);
  Corrupt("impulse_noise", 5, im, {1, 1, static_cast<int64_t>(n)}, rng);  // amount 0.07
  size_t flipped = 0, salt = 0;
  for (float v : im) flipped += v != 0.5f, salt += v == 1.0f;
  BOOST_TEST(static_cast<double>(flipped) / n == 0.07, boost::test_tools::tolerance(0.05));
  BOOST_TEST(static_cast<double>(salt) / flipped == 0.5, boost::test_tools::tolerance(0.05));
  std::vector<float> sp(n, 0.5f);
  Corrupt("speckle_noise", 5, sp, {1, 1, static_cast<int64_t>(n)}, rng);  // x + x * N(0, .2)
  BOOST_TEST(std::sqrt(Var(sp, Mean(sp))) == 0.1, boost::test_tools::tolerance(0.02));
  size_t outside = 0;
  for (const auto* v : {&g, &s, &im, &sp}) {
    for (float e : *v) outside += !(e >= 0.0f && e <= 1.0f);
  }
  BOOST_TEST(outside == 0u);
}

BOOST_AUTO_TEST_CASE(seeded) {
  std::vector<float> a(100, 0.3f), b(100, 0.3f);
  greenlight::random::Rng r1(5), r2(5);
  Corrupt("gaussian_noise", 1, a, {1, 10, 10}, r1);
  Corrupt("gaussian_noise", 1, b, {1, 10, 10}, r2);
  BOOST_TEST(a == b);
}

BOOST_AUTO_TEST_CASE(metric_on_the_example_cnn) {
  safety_test::Fixture fx(200);
  const Measurement clean_acc = fx.Run("accuracy");
  const Measurement one =
      fx.Run("corruption_accuracy", {{"corruption", "contrast"}, {"severity", 5}});
  const Measurement drop =
      fx.Run("corruption_accuracy_drop", {{"corruption", "contrast"}, {"severity", 5}});
  BOOST_REQUIRE(one.value && drop.value && clean_acc.value);
  BOOST_TEST(*drop.value == *clean_acc.value - *one.value, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(one.interval->method == "wilson");
  BOOST_TEST(one.samples == 200);
  const Measurement all = fx.Run("corruption_accuracy", {{"corruption", "gaussian_noise"}});
  BOOST_REQUIRE(all.value);
  double mean = 0;
  for (const auto& c : all.details["cells"]) mean += c["accuracy"].get<double>() / 5;
  BOOST_TEST(*all.value == mean, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(all.details["cells"].size() == 5u);
  // Gaussian noise at severity 5 hurts at least as much as at severity 1 (on 200 rows).
  BOOST_TEST(all.details["cells"][4]["accuracy"].get<double>() <=
             all.details["cells"][0]["accuracy"].get<double>());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
