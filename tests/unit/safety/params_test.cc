// The safety metrics' parameters are bound when criteria load (bad input with its place, exit 3,
// no report), and criteria share a piece of work exactly when the settings it depends on are
// equal (bit for bit for doubles).
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "auditors/metric.h"
#include "safety_test_util.h"
#include "tests/test_util.h"

namespace greenlight {
namespace {

using testing::RunCli;
using testing::TempDir;

const Metric& Find(const AuditorRegistry& registry, const std::string& name) {
  const Metric* m = FindFrameworkMetric(registry, name);
  BOOST_REQUIRE_MESSAGE(m != nullptr, name + " is not a framework metric");
  return *m;
}

std::string WorkKey(const AuditorRegistry& registry, const std::string& metric,
                    const nlohmann::json& params) {
  const Metric& m = Find(registry, metric);
  return m.Needs(*m.Bind(params))->key();
}

BOOST_AUTO_TEST_SUITE(safety_params)

BOOST_AUTO_TEST_CASE(bad_parameters_stop_the_load_with_their_place) {
  TempDir tmp;
  const std::string head = R"(apiVersion: greenlight/v1
kind: Criteria
metadata: {name: safety-params, version: 1.0.0, description: params, authority: test}
settings: {seed: 5}
model:
  path: )" + safety_test::FashionCnn().string() +
                           R"(
  output: log_probabilities
  input: {shape: [1, 28, 28], range: [0.0, 1.0]}
dataset:
  format: idx
  images: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  labels: /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
  scale: 0.00392156862745098
  limit: 16
criteria:
  - id: OK
    metric: ece
    threshold: {lte: 1.0}
    severity: mandatory
  - id: BAD
)";
  // Line 22 holds the bad criterion's params (`    params: {` ends at column 13); the column is
  // where the offending value (or list) starts, or the mapping's brace for a missing parameter.
  const std::vector<std::pair<std::string, std::string>> cases{
      {"    metric: adversarial_accuracy\n    params: {epsilon: -0.1}\n",
       ":22:23: criteria.1.params.epsilon: must be at least 0, got -0.1"},
      {"    metric: corruption_accuracy\n    params: {severity: 6}\n",
       ":22:24: criteria.1.params.severity: must be at most 5, got 6"},
      {"    metric: ece_equal_mass\n    params: {bootstrap_resamples: 99}\n",
       ":22:35: criteria.1.params.bootstrap_resamples: must be at least 100, got 99"},
      {"    metric: ood_auroc\n    params: {ood_set: moon}\n",
       ":22:23: criteria.1.params.ood_set: 'moon' is not one of: uniform_noise, gaussian_noise, "
       "inverted, all"},
      {"    metric: monotonicity_violation_rate\n    params: {grid: 5}\n",
       ":22:13: criteria.1.params: needs parameter 'feature'"},
      {"    metric: invalid_input_silent_rate\n    params: {cases: [nan_one, nan_two]}\n",
       ":22:21: criteria.1.params.cases: 'nan_two' is not one of: nan_one"},
      {"    metric: determinism_max_abs_diff\n    params: {threads: [1, 0]}\n",
       ":22:23: criteria.1.params.threads: must be at least 1, got 0"},
      {"    metric: empirical_robustness\n    params: {eps: 0.1}\n",
       ":22:19: criteria.1.params.eps: unknown parameter (known: norm, epsilon, step_size, limit, "
       "batch_size, bootstrap_resamples, craft_on)"},
      {"    metric: adversarial_accuracy\n    params: {craft_on: teacher}\n",
       ":22:24: criteria.1.params.craft_on: 'teacher' is not one of: model, reference, "
       "surrogate"},
      // craft_on: surrogate needs a surrogate: section, as craft_on: reference a reference:.
      {"    metric: attack_success_rate\n    params: {craft_on: surrogate}\n",
       ":21:13: criteria.1.metric: criterion BAD: metric 'attack_success_rate' crafts on a "
       "surrogate model: add a surrogate: section (or --surrogate)"},
  };
  for (const auto& [criterion, expected] : cases) {
    BOOST_TEST_CONTEXT(criterion) {
      const auto file = tmp / "c.yaml";
      testing::WriteText(file,
                         head + criterion + "    threshold: {gte: 0.0}\n    severity: mandatory\n");
      const auto r = RunCli("--quiet audit --criteria " + testing::Quote(file) + " --out " +
                            testing::Quote(tmp / "out"));
      BOOST_TEST(r.exit_code == 3);
      BOOST_TEST(r.err.find(file.string() + expected) != std::string::npos, r.err);
      BOOST_TEST(!std::filesystem::exists(tmp / "out" / "report.json"));
    }
  }
}

BOOST_AUTO_TEST_CASE(work_is_shared_exactly_when_its_settings_are_equal) {
  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  const nlohmann::json fgsm = {{"epsilon", 0.1}, {"limit", 300}};
  // The two attack metrics read one attack; FGSM ignores the PGD-only settings.
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy", fgsm) ==
             WorkKey(registry, "attack_success_rate", fgsm));
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy", fgsm) ==
             WorkKey(registry, "adversarial_accuracy",
                     {{"epsilon", 0.1}, {"limit", 300}, {"iterations", 3}, {"seed", 9}}));
  // Epsilons one ulp apart are different attacks.
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy", fgsm) !=
             WorkKey(registry, "adversarial_accuracy",
                     {{"epsilon", std::nextafter(0.1, 1.0)}, {"limit", 300}}));
  const nlohmann::json pgd = {{"attack", "pgd"}, {"epsilon", 0.1}};
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy", pgd) !=
             WorkKey(registry, "adversarial_accuracy",
                     {{"attack", "pgd"}, {"epsilon", 0.1}, {"iterations", 3}}));
  // Crafted on the reference, the same settings are another attack; craft_on: model is the default.
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy", fgsm) !=
             WorkKey(registry, "adversarial_accuracy",
                     {{"epsilon", 0.1}, {"limit", 300}, {"craft_on", "reference"}}));
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy", fgsm) ==
             WorkKey(registry, "adversarial_accuracy",
                     {{"epsilon", 0.1}, {"limit", 300}, {"craft_on", "model"}}));
  BOOST_TEST(WorkKey(registry, "empirical_robustness", nlohmann::json::object()) !=
             WorkKey(registry, "empirical_robustness", {{"craft_on", "reference"}}));
  // Crafted on the surrogate, it is a third attack.
  BOOST_TEST(WorkKey(registry, "adversarial_accuracy",
                     {{"epsilon", 0.1}, {"limit", 300}, {"craft_on", "surrogate"}}) !=
             WorkKey(registry, "adversarial_accuracy",
                     {{"epsilon", 0.1}, {"limit", 300}, {"craft_on", "reference"}}));
  BOOST_TEST(WorkKey(registry, "empirical_robustness", {{"craft_on", "surrogate"}}) !=
             WorkKey(registry, "empirical_robustness", {{"craft_on", "reference"}}));
  // The corruption drop pairs with the accuracy on the same corruption run.
  BOOST_TEST(WorkKey(registry, "corruption_accuracy", {{"corruption", "contrast"}}) ==
             WorkKey(registry, "corruption_accuracy_drop", {{"corruption", "contrast"}}));
  BOOST_TEST(WorkKey(registry, "corruption_accuracy", {{"corruption", "contrast"}}) !=
             WorkKey(registry, "corruption_accuracy", {{"corruption", "contrast"}, {"seed", 1}}));
  // Direction and tolerance judge a sweep; they do not change it.
  BOOST_TEST(WorkKey(registry, "monotonicity_violation_rate", {{"feature", "a"}}) ==
             WorkKey(registry, "monotonicity_violation_rate",
                     {{"feature", "a"}, {"direction", "decreasing"}, {"tolerance", 0.1}}));
  // Calibration reads the shared forward pass, like the accuracy metrics.
  BOOST_TEST(WorkKey(registry, "ece", nlohmann::json::object()) ==
             WorkKey(registry, "accuracy", nlohmann::json::object()));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
