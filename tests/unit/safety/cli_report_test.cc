// End to end through the real CLI: the NaN-raising and the NaN-looping test models are audited
// with invalid_input_silent_rate; greenlight must finish (no crash, no hang) and the per-case
// outcomes must be in report.json.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "safety_test_util.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace greenlight {
namespace {

using testing::RunCli;
using testing::TempDir;

std::string Criteria(const std::filesystem::path& model) {
  return R"(apiVersion: greenlight/v1
kind: Criteria
metadata: {name: safety-invalid-inputs, version: 1.0.0, description: probe, authority: test}
settings: {seed: 1}
model:
  path: )" +
         model.string() + R"(
  output: logits
  input: {shape: [1, 28, 28], range: [0.0, 1.0]}
dataset:
  format: idx
  images: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  labels: /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
  scale: 0.00392156862745098
  limit: 8
criteria:
  - id: INV-01
    metric: invalid_input_silent_rate
    params: {cases: [nan_one, nan_all, above_range, dtype_float64], timeout_s: 2}
    threshold: {lte: 0.5}
    severity: mandatory
    reference: test
)";
}

void CheckSchemaValid(const nlohmann::json& doc) {
  const std::string why = greenlight::testing::ReportSchemaErrors(doc);
  BOOST_TEST(why.empty(), "report.json is not schema-valid: " << why);
}

std::map<std::string, std::string> ReportOutcomes(const std::filesystem::path& report) {
  const auto j = nlohmann::json::parse(testing::ReadText(report));
  CheckSchemaValid(j);
  std::map<std::string, std::string> out;
  for (const auto& r : j["predicate"]["results"]) {
    if (r["metric"] != "invalid_input_silent_rate") continue;
    for (const auto& c : r["details"]["cases"]) out[c["case"]] = c["outcome"];
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(cli_report)

BOOST_AUTO_TEST_CASE(nan_models_are_probed_and_reported) {
  TempDir tmp;
  for (const std::string name : {"nan_raises", "nan_loops"}) {
    const auto criteria = tmp / (name + ".yaml");
    testing::WriteText(criteria, Criteria(safety_test::TestModelsDir() / (name + ".pt")));
    const auto out = tmp / name;
    const auto r = RunCli("--quiet audit --criteria " + testing::Quote(criteria) + " --out " +
                          testing::Quote(out));
    BOOST_TEST_MESSAGE(name << ": exit " << r.exit_code << "\n" << r.out << r.err);
    BOOST_TEST(r.exit_code == 0);  // 1 silent case (above_range) of 4 <= 0.5.
    const auto o = ReportOutcomes(out / "report.json");
    BOOST_TEST(o.at("nan_one") == (name == "nan_raises" ? "raised" : "timed_out"));
    BOOST_TEST(o.at("nan_all") == (name == "nan_raises" ? "raised" : "timed_out"));
    BOOST_TEST(o.at("above_range") == "silent");
    BOOST_TEST(o.at("dtype_float64") == "raised");
  }
}

// Every image metric through the real engine (parameter validation against the ParamSpecs,
// verdicts, report schema) on 64 rows with small settings.
BOOST_AUTO_TEST_CASE(every_image_metric_through_the_cli) {
  TempDir tmp;
  const std::string head = R"(apiVersion: greenlight/v1
kind: Criteria
metadata: {name: safety-smoke, version: 1.0.0, description: smoke, authority: test}
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
  limit: 64
criteria:
)";
  const std::vector<std::string> criteria{
      "{id: A1, metric: adversarial_accuracy, params: {attack: pgd, norm: '2', epsilon: 0.5, "
      "iterations: 3, random_start: true, seed: 3, limit: 32, batch_size: 16}, "
      "threshold: {gte: 0.0}, severity: mandatory, confidence: 0.9}",
      "{id: A2, metric: attack_success_rate, params: {epsilon: 0.05}, threshold: {lte: 1.0}, "
      "severity: mandatory}",
      "{id: A3, metric: empirical_robustness, params: {epsilon: 0.2, step_size: 0.02, "
      "bootstrap_resamples: 200}, threshold: {gte: 0.0}, severity: advisory}",
      "{id: C1, metric: corruption_accuracy, params: {corruption: shot_noise, severity: 2}, "
      "threshold: {gte: 0.0}, severity: mandatory}",
      "{id: C2, metric: corruption_accuracy_drop, params: {corruption: all, severity: 1, "
      "bootstrap_resamples: 200}, threshold: {lte: 1.0}, severity: mandatory}",
      "{id: E1, metric: ece, params: {bins: 15, bootstrap_resamples: 200}, threshold: {lte: 1.0}, "
      "severity: mandatory}",
      "{id: E2, metric: ece_equal_mass, params: {bins: 10, limit: 50, bootstrap_resamples: 200}, "
      "threshold: {lte: 1.0}, severity: mandatory}",
      "{id: D1, metric: determinism_max_abs_diff, params: {repeats: 2, threads: [1], "
      "batch_sizes: [16], limit: 16}, threshold: {lte: 0.001}, severity: mandatory}",
      "{id: I1, metric: invalid_input_silent_rate, params: {cases: [nan_one, dtype_uint8], "
      "samples: 2, timeout_s: 10}, threshold: {lte: 1.0}, severity: mandatory}",
      "{id: O1, metric: ood_auroc, params: {ood_set: inverted, gaussian_std: 0.5, seed: 2, "
      "bootstrap_resamples: 200}, threshold: {gte: 0.0}, severity: mandatory}",
  };
  std::string yaml = head;
  for (const auto& c : criteria) yaml += "  - " + c + "\n";
  testing::WriteText(tmp / "smoke.yaml", yaml);
  const auto r = RunCli("--quiet audit --criteria " + testing::Quote(tmp / "smoke.yaml") +
                        " --out " + testing::Quote(tmp / "out"));
  BOOST_TEST_MESSAGE("smoke: exit " << r.exit_code << "\n" << r.out << r.err);
  BOOST_TEST(r.exit_code == 0);
  const auto j = nlohmann::json::parse(testing::ReadText(tmp / "out" / "report.json"));
  CheckSchemaValid(j);
  BOOST_TEST(j["predicate"]["results"].size() == criteria.size());
  for (const auto& res : j["predicate"]["results"]) {
    BOOST_TEST(res["concern"] == "safety");
    BOOST_TEST(res["status"] == "PASS", res["id"] << ": " << res["message"]);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
