// End to end through the greenlight binary: the shipped criteria/energy-example.yaml on the
// example CNN gives a schema-valid report whose energy, carbon and SCI figures carry a method,
// an interval and the window; without a readable meter they are `estimate:cpu-time` and the
// criterion requiring a measured figure is INCONCLUSIVE.
#define BOOST_TEST_MODULE energy_cli
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "auditors/energy/rapl_meter.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::string SchemaErrors(const json& doc) { return t::ReportSchemaErrors(doc); }

}  // namespace

BOOST_AUTO_TEST_CASE(shipped_energy_criteria_on_the_example_cnn) {
  const t::TempDir dir;
  const auto run =
      t::RunCli("--quiet audit --criteria " +
                t::Quote(t::SourceDir() / "criteria" / "energy-example.yaml") + " --model " +
                t::Quote(t::ModelsDir() / "fashion_cnn.pt") + " --out " + t::Quote(dir / "out"));
  BOOST_TEST_MESSAGE(run.out << run.err);
  BOOST_TEST(run.exit_code == 0);  // NRG-07 is advisory: INCONCLUSIVE does not change the verdict.
  const json report = json::parse(t::ReadText(dir / "out" / "report.json"));
  BOOST_TEST(SchemaErrors(report) == "");
  std::map<std::string, json> results;
  for (const json& r : report.at("predicate").at("results")) results[r.at("id")] = r;

  // The meter this machine has, judged independently of the auditor.
  const bool rapl = greenlight::energy::RaplMeter(greenlight::energy::RaplOptions{}).available();
  const std::string expected_method = rapl ? "measured:rapl" : "estimate:cpu-time";
  const std::string run_key = results.at("NRG-01").at("details").at("run").at("key");
  for (const char* id : {"NRG-01", "NRG-02", "NRG-03", "NRG-04", "NRG-05", "NRG-06", "NRG-07"}) {
    const json& r = results.at(id);
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(r.at("concern") == "efficiency");
      BOOST_TEST(r.at("method") == expected_method);
      BOOST_TEST(r.at("deterministic") == false);
      BOOST_REQUIRE(r.at("value").is_number());
      BOOST_REQUIRE(r.at("interval").is_object());
      BOOST_TEST(r.at("interval").at("low").get<double>() <= r.at("value").get<double>());
      BOOST_TEST(r.at("interval").at("high").get<double>() >= r.at("value").get<double>());
      const json& d = r.at("details");
      BOOST_TEST(d.at("run").at("key") == run_key);  // One run for every figure.
      BOOST_TEST(d.at("window").at("duration_s").get<double>() >= 10.0);  // min_duration_s
      BOOST_TEST(d.at("inferences").get<int64_t>() == r.at("samples").get<int64_t>());
      BOOST_TEST(d.at("idle_baseline").at("measured") == true);
      BOOST_TEST(!d.at("uncertainty_basis").get<std::string>().empty());
    }
  }
  BOOST_TEST(results.at("NRG-05").at("details").at("carbon").at("intensity_g_per_kwh") == 481.0);
  BOOST_TEST(results.at("NRG-06").at("details").at("sci").at("R_inferences").get<double>() ==
             results.at("NRG-06").at("samples").get<double>());
  if (rapl) {
    BOOST_TEST(results.at("NRG-07").at("status") != "INCONCLUSIVE");
  } else {
    BOOST_TEST(results.at("NRG-07").at("status") == "INCONCLUSIVE");
    BOOST_TEST(results.at("NRG-07").at("message").get<std::string>().find(
                   "requires a measured figure") != std::string::npos);
    BOOST_TEST(results.at("NRG-01").at("status") == "PASS");  // [0.5x, 2x] band well below 50 mJ
  }
}
