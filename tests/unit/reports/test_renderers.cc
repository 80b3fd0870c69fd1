// The junit, markdown, github and sarif reporters on a hand-written report
// (data/fixed_report.json): Markdown and workflow commands against hand-written expected text,
// JUnit XML against schemas/junit.xsd with xmllint, SARIF against
// schemas/sarif-2.1.0-required.schema.json with valijson, and counts read back with tools other
// than the reporters (xmllint's XPath).
#define BOOST_TEST_MODULE reports_renderers
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "reports/report.h"
#include "reports/report_text.h"
#include "reports/reporter.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

const std::filesystem::path kData = t::SourceDir() / "tests" / "unit" / "reports" / "data";

gl::Report Fixed() {
  return gl::FromStatement(nlohmann::json::parse(t::ReadText(kData / "fixed_report.json")));
}

std::string Render(const std::string& format, const gl::Report& report,
                   const std::string& signature = "") {
  return gl::BuiltinReporters().Make(format, {.signature = signature})->Render(report);
}

const std::filesystem::path kSarifSchema =
    t::SourceDir() / "schemas" / "sarif-2.1.0-required.schema.json";
const std::filesystem::path kJunitXsd = t::SourceDir() / "schemas" / "junit.xsd";

t::CommandResult Xmllint(const std::string& args) {
  return t::RunShell(std::string(GREENLIGHT_XMLLINT_EXECUTABLE) + " " + args);
}

}  // namespace

BOOST_AUTO_TEST_CASE(markdown_matches_the_hand_written_summary) {
  const std::string expected = t::ReadText(kData / "fixed_report.expected.md");
  BOOST_TEST(Render("markdown", Fixed(), "verified with key abc") == expected);
}

BOOST_AUTO_TEST_CASE(github_annotations_match_the_hand_written_commands) {
  const std::string expected = t::ReadText(kData / "fixed_report.expected.github.txt");
  BOOST_TEST(Render("github", Fixed()) == expected);
}

BOOST_AUTO_TEST_CASE(github_annotations_of_a_passing_report_are_just_the_verdict) {
  gl::Report r = Fixed();
  r.results.resize(1);  // ACC-01, PASS
  r.verdict = gl::Status::kPass;
  BOOST_TEST(Render("github", r) == "greenlight verdict: PASS (1 PASS)\n");
}

BOOST_AUTO_TEST_CASE(junit_is_valid_against_the_xsd_and_counts_every_status) {
  t::TempDir tmp;
  const auto xml = tmp / "report.xml";
  t::WriteText(xml, Render("junit", Fixed(), "NOT CHECKED"));
  const auto valid = Xmllint("--noout --schema " + t::Quote(kJunitXsd) + " " + t::Quote(xml));
  BOOST_TEST(valid.exit_code == 0, valid.err);
  // Counted by XPath, not by the reporter: FAIL → failure, ERROR → error, SKIPPED and
  // INCONCLUSIVE → skipped, PASS and WARN → neither.
  const std::vector<std::pair<std::string, std::string>> counts = {
      {"count(//testcase)", "6"},
      {"count(//testcase/failure)", "1"},
      {"count(//testcase/error)", "1"},
      {"count(//testcase/skipped)", "2"},
      {"string(//testcase[failure]/@name)", "LAT-01"},
      {"string(//testcase[error]/@name)", "NRG-01"},
      {"string(//testcase[@name=\"FAIR-01\"]/skipped/@message)",
       "INCONCLUSIVE: the interval straddles 0.8"},
      {"string(//testcase[@name=\"ECE-01\"]/@status)", "WARN"},
      {"string(//testsuite/@failures)", "1"},
      {"string(//testsuite/@errors)", "1"},
      {"string(//testsuite/@skipped)", "2"},
      {"count(/testsuites/@skipped)", "0"},  // Jenkins' schema has no skipped on the root.
      {"string(//testsuite/@time)", "22.500"},
      {"string(//property[@name=\"verdict\"]/@value)", "FAIL"},
      {"string(//property[@name=\"signature\"]/@value)", "NOT CHECKED"},
      // The line break inside the message survives as a character reference in the attribute.
      {"string(//testcase[@name=\"NRG-01\"]/error/@message)",
       "ERROR: no energy meter: RAPL 100% unreadable\nsee docs"},
      {"string(//testcase[@name=\"LAT-01\"]/@classname)", "greenlight.efficiency.latency_p99_ms"},
  };
  for (const auto& [xpath, want] : counts) {
    const auto got = Xmllint("--xpath " + t::Quote(xpath) + " " + t::Quote(xml));
    BOOST_TEST(got.out == want + "\n", xpath << ": " << got.out << " " << got.err);
  }
}

BOOST_AUTO_TEST_CASE(the_junit_xsd_rejects_what_consumers_would_reject) {
  t::TempDir tmp;
  const std::string good = Render("junit", Fixed());
  // A testcase without a name, a negative count, an unknown element.
  const std::vector<std::pair<std::string, std::string>> breaks = {
      {"<testcase name=\"ACC-01\"", "<testcase"},
      {"failures=\"1\"", "failures=\"-1\""},
      {"<system-out>", "<stdout>x</stdout><system-out>"},
  };
  for (const auto& [from, to] : breaks) {
    std::string bad = good;
    const size_t at = bad.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    bad.replace(at, from.size(), to);
    t::WriteText(tmp / "bad.xml", bad);
    const auto r =
        Xmllint("--noout --schema " + t::Quote(kJunitXsd) + " " + t::Quote(tmp / "bad.xml"));
    BOOST_TEST(r.exit_code != 0, "accepted: " << to);
  }
}

BOOST_AUTO_TEST_CASE(sarif_is_valid_and_locates_every_criterion_that_did_not_pass) {
  const nlohmann::json sarif = nlohmann::json::parse(Render("sarif", Fixed(), "verified"));
  const std::string why = t::SchemaErrors(kSarifSchema, sarif);
  BOOST_TEST(why.empty(), why);
  BOOST_TEST(sarif["version"] == "2.1.0");
  const auto& run = sarif["runs"][0];
  BOOST_TEST(run["tool"]["driver"]["rules"].size() == 6u);
  const auto& results = run["results"];
  BOOST_REQUIRE(results.size() == 5u);  // Every status but PASS.
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& r : results) by_id[r["ruleId"].get<std::string>()] = r;
  BOOST_TEST(by_id.count("ACC-01") == 0u);
  BOOST_TEST(by_id["LAT-01"]["level"] == "error");
  BOOST_TEST(by_id["NRG-01"]["level"] == "error");
  BOOST_TEST(by_id["FAIR-01"]["level"] == "warning");
  BOOST_TEST(by_id["ECE-01"]["level"] == "warning");
  BOOST_TEST(by_id["AUC-01"]["level"] == "note");
  const auto& lat = by_id["LAT-01"]["locations"][0]["physicalLocation"];
  BOOST_TEST(lat["artifactLocation"]["uri"] == "criteria/gate%3A%20v2%2C%20final.yaml");
  BOOST_TEST(lat["region"]["startLine"] == 19);
  const auto& nrg = by_id["NRG-01"]["locations"][0]["physicalLocation"];
  BOOST_TEST(nrg["artifactLocation"]["uri"] == "profiles/base.yaml");
  BOOST_TEST(nrg["region"]["startLine"] == 33);
  // A result without a recorded line (an older report) is still located in the file.
  const auto& fair = by_id["FAIR-01"]["locations"][0]["physicalLocation"];
  BOOST_TEST(!fair.contains("region"));
  BOOST_TEST(fair["artifactLocation"].contains("uri"));
  // ruleIndex points at the rule of the same id.
  for (const auto& r : results) {
    BOOST_TEST(run["tool"]["driver"]["rules"][r["ruleIndex"].get<size_t>()]["id"] == r["ruleId"]);
  }
  BOOST_TEST(run["properties"]["verdict"] == "FAIL");
  BOOST_TEST(run["properties"]["signature"] == "verified");
}

BOOST_AUTO_TEST_CASE(the_sarif_schema_rejects_missing_required_properties) {
  const nlohmann::json good = nlohmann::json::parse(Render("sarif", Fixed()));
  for (const std::string pointer :
       {"/version", "/runs/0/tool/driver/name", "/runs/0/results/0/message"}) {
    nlohmann::json bad = good;
    const nlohmann::json::json_pointer p(pointer);
    bad[p.parent_pointer()].erase(p.back());
    BOOST_TEST(!t::SchemaErrors(kSarifSchema, bad).empty(), pointer);
  }
  nlohmann::json bad_line = good;
  bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0;
  BOOST_TEST(!t::SchemaErrors(kSarifSchema, bad_line).empty());
}

BOOST_AUTO_TEST_CASE(the_criterion_line_round_trips_and_old_reports_stay_byte_identical) {
  const nlohmann::json fixed = nlohmann::json::parse(t::ReadText(kData / "fixed_report.json"));
  const gl::Report r = gl::FromStatement(fixed);
  BOOST_TEST(r.results[1].line.value_or(0) == 19);
  BOOST_TEST(r.results[1].line_file.empty());
  BOOST_TEST(!r.results[3].line.has_value());
  BOOST_TEST(r.results[4].line_file == "profiles/base.yaml");
  const nlohmann::json back = gl::ToStatement(r);
  BOOST_TEST(back["predicate"]["results"][1]["location"] ==
             fixed["predicate"]["results"][1]["location"]);
  BOOST_TEST(back["predicate"]["results"][4]["location"] ==
             fixed["predicate"]["results"][4]["location"]);
  // A result read without a location is written without one.
  BOOST_TEST(!back["predicate"]["results"][3].contains("location"));
  const gl::Report again = gl::FromStatement(back);
  BOOST_TEST(gl::SerializeStatement(again) == gl::SerializeStatement(r));
  // A line before the first is bad input.
  nlohmann::json zero = fixed;
  zero["predicate"]["results"][1]["location"]["line"] = 0;
  BOOST_CHECK_THROW(gl::FromStatement(zero), gl::InputError);
}

BOOST_AUTO_TEST_CASE(every_format_is_registered_by_name) {
  const auto names = gl::BuiltinReporters().names();
  for (const std::string name : {"console", "json", "junit", "markdown", "github", "sarif"}) {
    BOOST_TEST((std::find(names.begin(), names.end(), name) != names.end()), name);
  }
}
