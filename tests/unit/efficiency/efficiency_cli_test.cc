// End-to-end through the real greenlight binary: a generous latency threshold PASSes (exit 0),
// an impossible one FAILs (exit 1), a run cut below its minimums is INCONCLUSIVE (exit 2); the
// report carries the shared run, the histogram and the exact FLOP count. Short runs, no timing
// assertions.
#define BOOST_TEST_MODULE efficiency_cli
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

// Small runs: 128 queries and 0.1 s at least.
constexpr const char* kQuick =
    "{threads: 1, warmup_queries: 8, min_queries: 128, min_duration_s: 0.1}";

std::string Criteria(const std::string& criteria) {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: eff-e2e, version: '1'}\n" +
         t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 256) + "criteria:\n" + criteria;
}

std::string Criterion(const std::string& id, const std::string& metric, const std::string& params,
                      const std::string& threshold, bool confidence = true) {
  return "  - id: " + id + "\n    metric: " + metric + "\n    params: " + params +
         "\n    threshold: " + threshold + "\n    severity: mandatory\n" +
         (confidence ? "    confidence: 0.95\n" : "");
}

struct Audit {
  t::CommandResult result;
  json report;
};

Audit RunAudit(const t::TempDir& dir, const std::string& yaml) {
  t::WriteText(dir / "criteria.yaml", yaml);
  Audit a;
  a.result = t::RunCli("audit --criteria " + t::Quote(dir / "criteria.yaml") + " --out " +
                       t::Quote(dir / "out"));
  if (std::filesystem::exists(dir / "out" / "report.json")) {
    a.report = json::parse(t::ReadText(dir / "out" / "report.json"));
  }
  return a;
}

// The report with efficiency results (units, details) still validates against the published schema.
void CheckSchemaValid(const json& doc) {
  const std::string why = greenlight::testing::ReportSchemaErrors(doc);
  BOOST_TEST(why.empty(), "report.json is not schema-valid: " << why);
}

const json& Result(const json& report, const std::string& id) {
  BOOST_REQUIRE_MESSAGE(report.is_object(), "no report.json was written");
  for (const auto& r : report["predicate"]["results"]) {
    if (r["id"] == id) return r;
  }
  BOOST_FAIL("no result " << id);
  static json none;
  return none;
}

}  // namespace

BOOST_AUTO_TEST_CASE(generous_threshold_passes_and_runs_share_one_measurement) {
  t::TempDir dir;
  const auto a =
      RunAudit(dir, Criteria(Criterion("LAT-50", "latency_p50_ms", kQuick, "{lte: 10000}") +
                             Criterion("LAT-90", "latency_p90_ms", kQuick, "{lte: 10000}") +
                             Criterion("FLOPS", "flops_per_sample", "{}", "{eq: 8777000}", false)));
  BOOST_TEST(a.result.exit_code == 0, a.result.out << a.result.err);
  CheckSchemaValid(a.report);
  const auto& p50 = Result(a.report, "LAT-50");
  const auto& p90 = Result(a.report, "LAT-90");
  BOOST_TEST(p50["status"] == "PASS");
  BOOST_TEST(p90["status"] == "PASS");
  BOOST_TEST(p50["samples"].get<int64_t>() >= 128);
  BOOST_TEST(p50["interval"]["low"].get<double>() <= p50["value"].get<double>());
  BOOST_TEST(p50["value"].get<double>() <= p50["interval"]["high"].get<double>());
  BOOST_TEST(Result(a.report, "FLOPS")["value"].get<double>() == 8777000.0);
  BOOST_TEST(Result(a.report, "FLOPS")["status"] == "PASS");
  // The details are in the report (per-metric details), wherever the report model puts them.
  const std::string text = a.report.dump();
  BOOST_TEST(text.find("\"histogram\"") != std::string::npos);
  BOOST_TEST(text.find("\"run_length_rules\"") != std::string::npos);
  BOOST_TEST(text.find("\"library_build_type\"") != std::string::npos);
  // One run for both criteria: the same key, hence the same queries.
  BOOST_TEST(text.find("harness:run:") != std::string::npos);
  BOOST_TEST(p50["samples"] == p90["samples"]);
}

BOOST_AUTO_TEST_CASE(impossible_threshold_fails) {
  t::TempDir dir;
  // One nanosecond for a CNN forward pass: the whole 95 % interval lies above it.
  const auto a =
      RunAudit(dir, Criteria(Criterion("LAT", "latency_p50_ms", kQuick, "{lte: 0.000001}")));
  BOOST_TEST(a.result.exit_code == 1, a.result.out << a.result.err);
  BOOST_TEST(Result(a.report, "LAT")["status"] == "FAIL");
}

BOOST_AUTO_TEST_CASE(run_cut_below_minimums_is_inconclusive) {
  t::TempDir dir;
  const auto a =
      RunAudit(dir, Criteria(Criterion("LAT", "latency_p50_ms",
                                       "{threads: 1, warmup_queries: 4, min_queries: 100000, "
                                       "min_duration_s: 60, max_duration_s: 0.2}",
                                       "{lte: 10000}")));
  BOOST_TEST(a.result.exit_code == 2, a.result.out << a.result.err);
  const auto& r = Result(a.report, "LAT");
  BOOST_TEST(r["status"] == "INCONCLUSIVE");
  BOOST_TEST(r["message"].get<std::string>().find("run-length rules not met") != std::string::npos);
}
