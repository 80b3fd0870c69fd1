// End to end through the greenlight command: the shipped fairness criteria on the HMDA data,
// black-box (recorded decisions) and with the example credit model, checked against the published
// counts and against PyTorch + numpy (fairness_reference.py model ...).
#define BOOST_TEST_MODULE fairness_cli
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Run {
  int exit_code = -1;
  std::string output;
};

Run Shell(const std::string& cmd) {
  Run r;
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  char buf[4096];
  while (size_t got = std::fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, got);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void CheckSchemaValid(const json& doc) {
  const std::string why = greenlight::testing::ReportSchemaErrors(doc);
  BOOST_TEST(why.empty(), "report.json is not schema-valid: " << why);
}

// The report's results by criterion id, after checking the report against its schema.
std::map<std::string, json> ResultsById(const fs::path& report) {
  std::ifstream in(report);
  BOOST_REQUIRE_MESSAGE(in.good(), "no report at " + report.string());
  const json statement = json::parse(in);
  CheckSchemaValid(statement);
  std::map<std::string, json> out;
  for (const json& r : statement.at("predicate").at("results")) out[r.at("id")] = r;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hmda_black_box_audit_fails_the_four_fifths_rule) {
  const greenlight::testing::TempDir tmp;
  const fs::path out = tmp / "hmda";
  const Run run =
      Shell(std::string("'") + GREENLIGHT_CLI + "' audit --criteria '" + GREENLIGHT_SOURCE_DIR +
            "/criteria/hmda-fairness.yaml' --out '" + out.string() + "'");
  BOOST_TEST_MESSAGE(run.output);
  BOOST_TEST(run.exit_code == 1);  // a mandatory criterion failed
  auto results = ResultsById(out / "report.json");
  const double expected = (243.0 / 339.0) / (1852.0 / 2041.0);  // 0.790

  const json& di = results.at("FAIR-DI-01");
  BOOST_TEST(di.at("status") == "FAIL");
  BOOST_TEST(di.at("concern") == "fairness");
  BOOST_TEST(std::abs(di.at("value").get<double>() - expected) <= 1e-12);
  BOOST_TEST(di.at("samples").get<int>() == 2380);
  std::map<std::string, std::pair<int, int>> approved;  // group -> (approved, size)
  for (const json& g : di.at("details").at("groups")) {
    approved[g.at("group")] = {g.at("selection_rate").at("numerator").get<int>(),
                               g.at("size").get<int>()};
  }
  BOOST_TEST((approved["afam=yes"] == std::pair<int, int>(243, 339)));   // 96 of 339 denied
  BOOST_TEST((approved["afam=no"] == std::pair<int, int>(1852, 2041)));  // 189 of 2,041 denied

  // With confidence 0.95 and a one-sided threshold (gte 0.8) the one-sided 95 % bounds decide:
  // the interval is measured at 90 %. By hand (Sidak box, each group's Wilson limits at
  // sqrt(0.95) = 0.974679, z = 2.2365): yes 243/339 in [0.65924, 0.76808], no 1852/2041 in
  // [0.89204, 0.92077], so the ratio lies in [0.65924 / 0.92077, 0.76808 / 0.89204] =
  // [0.7160, 0.8610]: the upper bound is above 0.8, and the criterion is INCONCLUSIVE.
  const json& ci = results.at("FAIR-DI-02");
  BOOST_TEST(std::abs(ci.at("value").get<double>() - expected) <= 1e-12);
  BOOST_REQUIRE(!ci.at("interval").is_null());
  const double lo = ci.at("interval").at("low"), hi = ci.at("interval").at("high");
  BOOST_TEST(std::abs(ci.at("interval").at("level").get<double>() - 0.9) < 1e-12);
  BOOST_TEST(std::abs(lo - 0.7160) < 1e-4);
  BOOST_TEST(std::abs(hi - 0.8610) < 1e-4);
  BOOST_TEST(ci.at("status") == "INCONCLUSIVE");

  // Approval-rate gap 0.907 - 0.717 = 0.191 > 0.1: advisory, so WARN.
  BOOST_TEST(results.at("FAIR-DP-01").at("status") == "WARN");
  BOOST_TEST(std::abs(results.at("FAIR-DP-01").at("value").get<double>() -
                      (1852.0 / 2041.0 - 243.0 / 339.0)) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(hmda_credit_model_audit_matches_pytorch) {
  const fs::path model = fs::path(GREENLIGHT_SOURCE_DIR) / "examples/models/hmda_credit.pt";
  BOOST_REQUIRE_MESSAGE(fs::exists(model), model.string() +
                                               " is missing: run examples/export_models.py "
                                               "(the set-up does)");
  const greenlight::testing::TempDir tmp;
  const fs::path out = tmp / "model";
  const Run run =
      Shell(std::string("'") + GREENLIGHT_CLI + "' audit --criteria '" + GREENLIGHT_SOURCE_DIR +
            "/criteria/hmda-credit-fairness.yaml' --out '" + out.string() + "'");
  BOOST_TEST_MESSAGE(run.output);
  BOOST_TEST((run.exit_code == 0 || run.exit_code == 1 || run.exit_code == 2));
  auto results = ResultsById(out / "report.json");

  // The same criteria computed by PyTorch (model outputs) and numpy (metrics).
  std::vector<std::string> ids;
  json cfgs = json::array();
  for (const auto& [id, r] : results) {
    json cfg = json::object();
    cfg["sensitive"] = r.at("details").at("sensitive");
    cfg["favourable"] = r.at("details").at("favourable");
    cfg["min_group_size"] = r.at("details").at("min_group_size");
    cfg["aggregation"] = r.at("details").at("aggregation");
    cfg["reference"] = r.at("details").at("reference").at("requested");
    cfgs.push_back(cfg);
    ids.push_back(id);
  }
  const fs::path cfg_file = tmp / "reference-configs.json";
  std::ofstream(cfg_file) << cfgs.dump();
  const Run ref =
      Shell(std::string("'") + GREENLIGHT_PYTHON + "' '" + GREENLIGHT_FAIRNESS_REFERENCE_PY +
            "' model '" + GREENLIGHT_SOURCE_DIR + "/examples/data/hmda.csv' '" + model.string() +
            "' '" + cfg_file.string() + "'");
  BOOST_REQUIRE_MESSAGE(ref.exit_code == 0, ref.output);
  const json expected = json::parse(ref.output);
  for (size_t k = 0; k < ids.size(); ++k) {
    const json& r = results.at(ids[k]);
    BOOST_TEST_CONTEXT(ids[k] << " " << r.at("metric")) {
      BOOST_TEST(r.at("status") != "ERROR");
      const json& want = expected[k][r.at("metric").get<std::string>()];
      if (want.is_null()) {
        BOOST_TEST(r.at("value").is_null());
        BOOST_TEST(r.at("status") == "INCONCLUSIVE");
      } else {
        // Same model, same float inputs: libtorch and PyTorch agree on every argmax here, so the
        // counts, and the metrics, agree to rounding.
        BOOST_TEST(std::abs(r.at("value").get<double>() - want.get<double>()) <= 1e-12,
                   r.at("value").get<double>() << " vs " << want.get<double>());
      }
      BOOST_TEST(r.at("details").at("predictions").get<std::string>().rfind("model:", 0) == 0);
    }
  }
}

// Recorded HMDA decisions without a label column: the label metrics are SKIPPED with the reason,
// the selection metrics are measured (the published approval counts: 243 of 339, 1,852 of 2,041),
// and a parameter outside its domain stops the run at its line and column (exit 3, no report).
BOOST_AUTO_TEST_CASE(without_labels_label_metrics_are_skipped_and_bad_params_are_bad_input) {
  namespace t = greenlight::testing;
  const t::TempDir tmp;
  auto criteria = [](const std::string& dp_params) {
    return std::string(
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: no-labels, version: "
               "'1'}\nsettings: {seed: 3}\ndataset:\n  format: csv\n  path: ") +
           GREENLIGHT_SOURCE_DIR +
           "/examples/data/hmda.csv\n  predictions: {column: deny, positive: \"yes\"}\n"
           "  sensitive: [afam]\ncriteria:\n"
           "  - id: EOP\n    metric: equal_opportunity_difference\n    params: {favourable: 0}\n"
           "    threshold: {lte: 0.1}\n    severity: mandatory\n"
           "  - id: DP\n    metric: demographic_parity_difference\n    params: " +
           dp_params + "\n    threshold: {lte: 0.5}\n    severity: mandatory\n";
  };
  t::WriteText(tmp / "ok.yaml", criteria("{favourable: 0}"));
  const Run ok = Shell(std::string("'") + GREENLIGHT_CLI + "' audit --criteria '" +
                       (tmp / "ok.yaml").string() + "' --out '" + (tmp / "ok").string() + "'");
  BOOST_TEST(ok.exit_code == 0, ok.output);
  auto results = ResultsById(tmp / "ok" / "report.json");
  BOOST_TEST(results.at("EOP").at("status") == "SKIPPED");
  BOOST_TEST(results.at("EOP").at("message").get<std::string>().find("needs labels") !=
             std::string::npos);
  BOOST_TEST(results.at("DP").at("status") == "PASS");
  BOOST_TEST(std::abs(results.at("DP").at("value").get<double>() -
                      (1852.0 / 2041.0 - 243.0 / 339.0)) <= 1e-12);
  BOOST_TEST(results.at("DP").at("details").at("labels") == false);

  t::WriteText(tmp / "bad.yaml", criteria("{favourable: 0, min_group_size: 0}"));
  const Run bad = Shell(std::string("'") + GREENLIGHT_CLI + "' audit --criteria '" +
                        (tmp / "bad.yaml").string() + "' --out '" + (tmp / "bad").string() + "'");
  BOOST_TEST(bad.exit_code == 3, bad.output);
  // Line 18 holds the DP criterion's params mapping; the value sits at its column.
  BOOST_TEST(bad.output.find("bad.yaml:18:") != std::string::npos, bad.output);
  BOOST_TEST(bad.output.find("criteria.1.params.min_group_size") != std::string::npos, bad.output);
  BOOST_TEST(!fs::exists(tmp / "bad" / "report.json"));
}
