#include "auditors/safety/adversarial.h"

#include <boost/test/unit_test.hpp>

#include "safety_test_util.h"

namespace greenlight {
namespace {

constexpr int64_t kRows = 200;

double Value(const Measurement& m) {
  BOOST_REQUIRE(m.value.has_value());
  return *m.value;
}

BOOST_AUTO_TEST_SUITE(adversarial)

BOOST_AUTO_TEST_CASE(fgsm_at_epsilon_zero_is_clean_accuracy) {
  safety_test::Fixture fx(kRows);
  const double clean = Value(fx.Run("accuracy"));
  const Measurement m = fx.Run("adversarial_accuracy", {{"attack", "fgsm"}, {"epsilon", 0.0}});
  BOOST_TEST(Value(m) == clean);  // Exactly.
  BOOST_TEST(m.samples == kRows);
  BOOST_TEST(m.details["unchanged_rows"].get<int64_t>() == kRows);
  const Measurement pgd = fx.Run("adversarial_accuracy", {{"attack", "pgd"}, {"epsilon", 0.0}});
  BOOST_TEST(Value(pgd) == clean);
  BOOST_TEST(Value(fx.Run("attack_success_rate", {{"epsilon", 0.0}})) == 0.0);
}

BOOST_AUTO_TEST_CASE(accuracy_does_not_increase_with_epsilon_and_pgd_is_stronger) {
  safety_test::Fixture fx(kRows);
  double previous = 2.0;
  for (double eps : {0.0, 0.05, 0.1, 0.2}) {
    const Measurement fgsm = fx.Run("adversarial_accuracy", {{"attack", "fgsm"}, {"epsilon", eps}});
    const double acc = Value(fgsm);
    BOOST_TEST_MESSAGE("FGSM eps " << eps << ": " << acc << " [" << fgsm.interval->low << ", "
                                   << fgsm.interval->high << "]");
    BOOST_TEST(acc <= previous);
    previous = acc;
    BOOST_TEST(fgsm.details["perturbation"]["max_linf"].get<double>() <= eps + 1e-6);
    if (eps == 0.0) continue;
    for (const std::string norm : {"inf"}) {
      const Measurement pgd =
          fx.Run("adversarial_accuracy",
                 {{"attack", "pgd"}, {"norm", norm}, {"epsilon", eps}, {"iterations", 10}});
      BOOST_TEST_MESSAGE("PGD-Linf eps " << eps << ": " << Value(pgd));
      BOOST_TEST(Value(pgd) <= acc);
      BOOST_TEST(pgd.details["perturbation"]["max_linf"].get<double>() <= eps + 1e-6);
      BOOST_TEST(pgd.details["attack"]["seed"].get<uint64_t>() == 20261128u);
    }
  }
}

BOOST_AUTO_TEST_CASE(l2_attacks_stay_in_the_ball) {
  safety_test::Fixture fx(kRows);
  const double eps = 1.0;
  const Measurement fgsm = fx.Run("adversarial_accuracy", {{"norm", "2"}, {"epsilon", eps}});
  const Measurement pgd =
      fx.Run("adversarial_accuracy",
             {{"attack", "pgd"}, {"norm", "2"}, {"epsilon", eps}, {"iterations", 10}});
  BOOST_TEST_MESSAGE("L2 eps 1: FGSM " << Value(fgsm) << ", PGD " << Value(pgd));
  BOOST_TEST(fgsm.details["perturbation"]["max_l2"].get<double>() <= eps + 1e-4);
  BOOST_TEST(pgd.details["perturbation"]["max_l2"].get<double>() <= eps + 1e-4);
  BOOST_TEST(Value(pgd) <= Value(fgsm));
  BOOST_TEST(Value(fgsm) < Value(fx.Run("accuracy")));
}

BOOST_AUTO_TEST_CASE(fgsm_matches_pytorch) {
  safety_test::Fixture fx(kRows);
  const double eps = 0.05;
  const double ours = Value(fx.Run("adversarial_accuracy", {{"epsilon", eps}}));
  const std::string cmd =
      std::string(GREENLIGHT_PYTHON) + " " +
      (safety_test::SourceDir() / "tests/unit/safety/fgsm_reference.py").string() + " " +
      safety_test::FashionCnn().string() + " " + safety_test::FashionImages() + " " +
      safety_test::FashionLabels() + " " + std::to_string(kRows) + " " + std::to_string(eps);
  const double reference = std::stod(safety_test::Capture(cmd));
  BOOST_TEST_MESSAGE("FGSM eps 0.05: greenlight " << ours << ", PyTorch " << reference);
  // Float reductions may differ between LibTorch and PyTorch on a near-tie: allow one row.
  BOOST_TEST(std::abs(ours - reference) <= 1.0 / kRows + 1e-12);
}

BOOST_AUTO_TEST_CASE(success_rate_and_empirical_robustness) {
  safety_test::Fixture fx(kRows);
  const Measurement acc = fx.Run("adversarial_accuracy", {{"epsilon", 0.1}});
  const Measurement asr = fx.Run("attack_success_rate", {{"epsilon", 0.1}});
  const int64_t clean_correct = asr.details["clean_correct"].get<int64_t>();
  BOOST_TEST(asr.samples == clean_correct);
  BOOST_TEST(Value(asr) * clean_correct == asr.details["fooled"].get<double>(),
             boost::test_tools::tolerance(1e-9));
  // Rows correct under attack = correct rows not fooled + wrong rows the attack happens to fix.
  BOOST_TEST(Value(acc) * kRows >= clean_correct - asr.details["fooled"].get<int64_t>() - 1e-9);
  const Measurement er = fx.Run("empirical_robustness", {{"epsilon", 0.3}, {"step_size", 0.01}});
  BOOST_TEST_MESSAGE("empirical_robustness " << Value(er) << " over " << er.samples << " rows");
  // L-inf: ||x_adv - x|| <= flip epsilon and ||x||_inf <= 1, so the ratio lies in (0, 0.3] when
  // every image reaches 1; it can exceed eps only for dim images, never 0.
  BOOST_TEST(Value(er) > 0.0);
  BOOST_TEST(er.samples > 0);
  BOOST_TEST(er.details["flipped_rows"].get<int64_t>() >= er.samples);
  BOOST_TEST(er.interval->low <= Value(er));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
