// greenlight diff's comparison on reports built by hand: which results got worse or better, which
// changed beyond their intervals (checked against hand-worked interval ends), added and removed.
#define BOOST_TEST_MODULE reports_diff
#include <boost/test/unit_test.hpp>

#include "reports/report_diff.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

gl::Report Fixed() {
  return gl::FromStatement(nlohmann::json::parse(
      t::ReadText(t::SourceDir() / "tests" / "unit" / "reports" / "data" / "fixed_report.json")));
}

const gl::ResultChange& Change(const gl::ReportDiff& d, const std::string& id) {
  for (const auto& c : d.changes) {
    if (c.id == id) return c;
  }
  throw std::runtime_error("no change for " + id);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_report_compared_with_itself_has_no_change) {
  const gl::Report r = Fixed();
  const gl::ReportDiff d = gl::DiffReports(r, r);
  BOOST_TEST(d.changes.size() == 6u);
  BOOST_TEST(!d.AnyWorse());
  for (const auto& c : d.changes) {
    BOOST_TEST((c.kind == gl::ResultChange::Kind::kMatched));
    BOOST_TEST(!c.worse);
    BOOST_TEST(!c.better);
    BOOST_TEST(!c.beyond_intervals);
  }
}

BOOST_AUTO_TEST_CASE(statuses_intervals_added_and_removed) {
  const gl::Report before = Fixed();
  gl::Report after = Fixed();
  // ACC-01 [0.8751, 0.9213] PASS -> [0.80, 0.87] FAIL: 0.87 < 0.8751, so the intervals do not
  // overlap, and the status got worse.
  after.results[0].value = 0.84;
  after.results[0].interval = gl::Interval{0.80, 0.87, 0.9, "wilson"};
  after.results[0].status = gl::Status::kFail;
  // LAT-01 [11.25, 13.75] FAIL -> [9.0, 11.25] PASS: the ends touch, so they overlap.
  after.results[1].value = 9.5;
  after.results[1].interval = gl::Interval{9.0, 11.25, 0.95, "repetitions"};
  after.results[1].status = gl::Status::kPass;
  // ECE-01 WARN -> INCONCLUSIVE: worse (WARN 1 < INCONCLUSIVE 3).
  after.results[2].status = gl::Status::kInconclusive;
  // AUC-01 removed, NEW-01 added.
  after.results.erase(after.results.begin() + 5);
  gl::CriterionResult added = before.results[0];
  added.id = "NEW-01";
  after.results.push_back(added);
  after.verdict = gl::Status::kFail;

  const gl::ReportDiff d = gl::DiffReports(before, after);
  BOOST_TEST(d.changes.size() == 7u);
  const auto& acc = Change(d, "ACC-01");
  BOOST_TEST(acc.worse);
  BOOST_TEST(acc.beyond_intervals);
  const auto& lat = Change(d, "LAT-01");
  BOOST_TEST(lat.better);
  BOOST_TEST(!lat.worse);
  BOOST_TEST(!lat.beyond_intervals);
  BOOST_TEST(Change(d, "ECE-01").worse);
  BOOST_TEST(!Change(d, "ECE-01").beyond_intervals);  // Same intervals.
  // NRG-01 has no interval on either side: never "beyond".
  BOOST_TEST(!Change(d, "NRG-01").beyond_intervals);
  BOOST_TEST((Change(d, "AUC-01").kind == gl::ResultChange::Kind::kRemoved));
  BOOST_TEST((Change(d, "NEW-01").kind == gl::ResultChange::Kind::kAdded));
  BOOST_TEST(d.AnyWorse());
  BOOST_TEST(!d.VerdictWorse());  // FAIL -> FAIL

  const nlohmann::json j = gl::DiffJson(d, before, after);
  BOOST_TEST(j["worse"] == true);
  BOOST_TEST(j["changes"][0]["status_change"] == "worse");
  BOOST_TEST(j["changes"][0]["old"]["status"] == "PASS");
  BOOST_TEST(j["changes"][0]["new"]["status"] == "FAIL");
  BOOST_TEST(j["changes"][6]["kind"] == "added");
  BOOST_TEST(j["changes"][6]["old"].is_null());

  const std::string md = gl::DiffMarkdown(d, before, after);
  BOOST_TEST(md.find("**Verdict: FAIL → FAIL**; 2 worse, 1 better, 1 changed beyond the "
                     "intervals, 1 added, 1 removed") != std::string::npos,
             md);
  // Worse changes first, in the old report's order.
  BOOST_TEST(md.find("| ACC-01 |") < md.find("| ECE-01 |"));
  BOOST_TEST(md.find("| ECE-01 |") < md.find("| LAT-01 |"));
  BOOST_TEST(
      md.find("| ACC-01 | accuracy | 0.9 | 0.84 | [0.8751, 0.9213] 90% | [0.8, 0.87] 90% | PASS | "
              "FAIL | **worse**; changed beyond the intervals |") != std::string::npos,
      md);
  BOOST_TEST(md.find("| AUC-01 | roc_auc | - | - | - | - | SKIPPED | - | removed |") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_worse_verdict_alone_counts_as_worse) {
  const gl::Report before = Fixed();
  gl::Report after = Fixed();
  gl::Report passing = Fixed();
  passing.verdict = gl::Status::kPass;
  // Nothing matched changed, but an added failing criterion turned the verdict.
  gl::CriterionResult extra = before.results[1];
  extra.id = "LAT-02";
  after.results.push_back(extra);
  const gl::ReportDiff d = gl::DiffReports(passing, after);
  BOOST_TEST(d.VerdictWorse());
  BOOST_TEST(d.AnyWorse());
  BOOST_TEST(!gl::DiffReports(after, passing).AnyWorse());
}
