// End to end through the real CLI: the NaN-raising and the NaN-looping test models are audited
// with invalid_input_silent_rate; greenlight must finish (no crash, no hang) and the per-case
// outcomes must be in report.json.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "safety_test_util.h"
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

std::map<std::string, std::string> ReportOutcomes(const std::filesystem::path& report) {
  const auto j = nlohmann::json::parse(testing::ReadText(report));
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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
