// A model that never returns, or that crashes its process, cannot hang or crash the audit: through
// the real binary, with real TorchScript models (tests/e2e/make_faulty_models.py), the criteria
// that need the model end in ERROR with the reason within their time budget, the criterion that
// does not run the model is still measured, the report is written and valid, and the exit code
// is 4.
#define BOOST_TEST_MODULE supervision_e2e
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>

#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::filesystem::path FaultyModel(const std::string& name) {
  return std::filesystem::path(FAULTY_MODELS_DIR) / (name + ".pt");
}

// Two criteria that run the model (the framework's outputs pass; the legacy efficiency auditor's
// timed run) and one that only reads the model file's size. `budget` is added to each criterion.
std::string Criteria(const std::filesystem::path& model, const std::string& budget) {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: supervision, version: '1'}\n"
         "settings: {seed: 5}\n" +
         t::FashionCnnSections(model, 20) +
         "criteria:\n"
         "  - {id: ACC, metric: accuracy, threshold: {gte: 0.1}, severity: mandatory" +
         budget +
         "}\n"
         "  - {id: LAT, metric: latency_p50_ms, threshold: {lte: 100000}, severity: mandatory,\n"
         "     params: {warmup_queries: 1, min_queries: 5, min_duration_s: 0.05}" +
         budget +
         "}\n"
         "  - {id: SIZE, metric: model_size_mb, threshold: {lte: 100}, severity: mandatory" +
         budget + "}\n";
}

struct Audited {
  t::CommandResult result;
  double wall_s = 0.0;
  json report;
};

Audited Audit(const t::TempDir& dir, const std::string& yaml, const std::string& extra = "") {
  t::WriteText(dir / "criteria.yaml", yaml);
  Audited a;
  const auto t0 = std::chrono::steady_clock::now();
  a.result = t::RunCli("audit --criteria " + t::Quote(dir / "criteria.yaml") + " --out " +
                       t::Quote(dir / "out") + " " + extra);
  a.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (std::filesystem::exists(dir / "out" / "report.json")) {
    a.report = json::parse(t::ReadText(dir / "out" / "report.json"));
  }
  return a;
}

const json& Result(const Audited& a, const std::string& id) {
  for (const json& r : a.report["predicate"]["results"]) {
    if (r["id"] == id) return r;
  }
  BOOST_FAIL("no result " << id);
  static const json none;
  return none;
}

// What every faulty-model audit must show: exit 4, a valid report, ERROR for the two criteria that
// run the model (with `reason` in their message), and the model's size measured as the file's.
void CheckContained(const Audited& a, const std::filesystem::path& model,
                    const std::string& reason) {
  BOOST_TEST(a.result.exit_code == 4, "stderr: " << a.result.err);
  BOOST_REQUIRE_MESSAGE(a.report.is_object(), "no report.json; stderr: " << a.result.err);
  BOOST_TEST(t::ReportSchemaErrors(a.report) == "");
  for (const std::string id : {"ACC", "LAT"}) {
    const json& r = Result(a, id);
    BOOST_TEST(r["status"] == "ERROR", id);
    BOOST_TEST(r["message"].get<std::string>().find(reason) != std::string::npos,
               id << ": " << r["message"]);
  }
  const json& size = Result(a, "SIZE");
  BOOST_TEST(size["status"] == "PASS", size.dump());
  BOOST_TEST(size["value"].get<double>() ==
             static_cast<double>(std::filesystem::file_size(model)) / 1e6);
  // The report names the bytes it was given.
  BOOST_TEST(a.report["subject"][0]["digest"]["sha256"].get<std::string>().size() == 64u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_model_that_never_returns_is_stopped_at_each_criterion_budget) {
  t::TempDir dir;
  const auto model = FaultyModel("hangs");
  const Audited a = Audit(dir, Criteria(model, ", time_budget_s: 1.5"));
  CheckContained(a, model, "within the time budget of 1.5 s (time_budget_s)");
  BOOST_TEST(Result(a, "ACC")["message"].get<std::string>().find("work 'outputs'") !=
             std::string::npos);
  BOOST_TEST(Result(a, "LAT")["message"].get<std::string>().find("metric 'latency_p50_ms'") !=
             std::string::npos);
  // Preflight, ACC and LAT each wait 1.5 s; loading the small model takes well under a second.
  BOOST_TEST(a.wall_s >= 4.5);
  BOOST_TEST(a.wall_s < 30.0);
}

BOOST_AUTO_TEST_CASE(the_command_line_budget_overrides_the_criteria) {
  t::TempDir dir;
  const auto model = FaultyModel("hangs");
  const Audited a = Audit(dir, Criteria(model, ", time_budget_s: 600"), "--time-budget 1");
  CheckContained(a, model, "within the time budget of 1 s (time_budget_s)");
  BOOST_TEST(a.wall_s < 30.0);
}

BOOST_AUTO_TEST_CASE(a_model_that_crashes_its_process_ends_only_its_criteria) {
  t::TempDir dir;
  const auto model = FaultyModel("segfaults");
  const Audited a = Audit(dir, Criteria(model, ", time_budget_s: 120"));
  CheckContained(a, model, "crashed during");
  BOOST_TEST(Result(a, "ACC")["message"].get<std::string>().find(
                 "signal 11 (Segmentation fault)") != std::string::npos);
  // A crash is noticed at once, not at the end of the 120 s budgets.
  BOOST_TEST(a.wall_s < 60.0);
}
