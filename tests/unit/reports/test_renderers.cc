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

// A compression report written here: a reference model beside the model, and results that
// compare with it (energy_saving from estimates, latency_speedup of the p90, accuracy_retention
// against a declared figure, size_reduction) whose details hold both models' figures, and one
// result (accuracy) that does not.
namespace {

gl::Report Compared() {
  nlohmann::json statement = nlohmann::json::parse(t::ReadText(kData / "fixed_report.json"));
  nlohmann::json& p = statement["predicate"];
  p["criteria"]["path"] = "criteria/compare.yaml";
  p["reference"] = {{"path", "models/cnn_fp32.pt"}, {"sha256", std::string(64, '3')},
                    {"format", "torchscript"},      {"device", "cpu"},
                    {"parameters", 120000},         {"size_bytes", 500000}};
  statement["subject"].push_back(
      {{"name", "cnn_fp32.pt"}, {"digest", {{"sha256", std::string(64, '3')}}}});
  p["verdict"] = "FAIL";
  const auto result = [](const std::string& id, const std::string& metric,
                         const std::string& status, double value, nlohmann::json interval,
                         nlohmann::json threshold, int line) {
    return nlohmann::json{{"id", id},
                          {"metric", metric},
                          {"concern", "efficiency"},
                          {"severity", "mandatory"},
                          {"status", status},
                          {"value", value},
                          {"unit", "ratio"},
                          {"interval", interval},
                          {"samples", 20},
                          {"threshold", threshold},
                          {"confidence", 0.95},
                          {"method", "paired"},
                          {"deterministic", false},
                          {"reference", ""},
                          {"message", ""},
                          {"elapsed_s", 1.0},
                          {"location", {{"line", line}}}};
  };
  nlohmann::json energy =
      result("ENR-01", "energy_saving", "FAIL", 0.2,
             {{"low", 0.15}, {"high", 0.25}, {"level", 0.9}, {"method", "t on log ratios"}},
             {{"op", "gte"}, {"value", 0.25}}, 12);
  energy["method"] = "estimate:cpu-time ratio";
  energy["message"] = "estimate-based ratio, not measured energy";
  energy["details"] = {{"model_energy_per_inference_mj", 0.8},
                       {"reference_energy_per_inference_mj", 1.0},
                       {"estimate", true}};
  nlohmann::json speedup =
      result("SPD-01", "latency_speedup", "INCONCLUSIVE", 1.25,
             {{"low", 1.125}, {"high", 1.375}, {"level", 0.9}, {"method", "t on log ratios"}},
             {{"op", "gte"}, {"value", 1.2}}, 15);
  speedup["message"] = "the bounds straddle 1.2";
  speedup["params"] = {{"statistic", "p90"}};
  speedup["details"] = {{"model_latency_ms", 0.2}, {"reference_latency_ms", 0.25}};
  nlohmann::json retention =
      result("RET-01", "accuracy_retention", "PASS", 1.1,
             {{"low", 1.05}, {"high", 1.15}, {"level", 0.95}, {"method", "wilson"}},
             {{"op", "gte"}, {"value", 0.99}}, 18);
  retention["details"] = {{"accuracy", 0.88}, {"reference_accuracy", 0.8}};
  nlohmann::json size =
      result("SIZ-01", "size_reduction", "PASS", 0.5, nullptr, {{"op", "gte"}, {"value", 0.5}}, 21);
  size["details"] = {{"model", {{"size_bytes", 250000}}}, {"reference", {{"size_bytes", 500000}}}};
  nlohmann::json accuracy =
      result("ACC-01", "accuracy", "PASS", 0.9,
             {{"low", 0.875}, {"high", 0.925}, {"level", 0.95}, {"method", "wilson"}},
             {{"op", "gte"}, {"value", 0.85}}, 24);
  p["results"] = {accuracy, energy, speedup, retention, size};
  return gl::FromStatement(statement);
}

}  // namespace

BOOST_AUTO_TEST_CASE(markdown_shows_reference_model_and_model_side_by_side) {
  const std::string md = Render("markdown", Compared());
  BOOST_TEST(
      md.find("- Reference model: `cnn_fp32.pt` sha256 `3333333333333333`\n") != std::string::npos,
      md);
  const std::string expected =
      "### Reference model beside the model\n\n"
      "| ID | Figure | Reference model | Model | Compared |\n"
      "| --- | --- | --- | --- | --- |\n"
      "| ENR-01 | energy per inference (estimated) | 1 mJ | 0.8 mJ | "
      "energy_saving 0.2 [0.15, 0.25] 90% |\n"
      "| SPD-01 | p90 latency | 0.25 ms | 0.2 ms | latency_speedup 1.25 [1.125, 1.375] 90% |\n"
      "| RET-01 | accuracy | 0.8 (declared) | 0.88 | accuracy_retention 1.1 [1.05, 1.15] 95% |\n"
      "| SIZ-01 | file size | 500000 bytes | 250000 bytes | size_reduction 0.5 |\n"
      "\n### Messages\n";
  BOOST_TEST(md.find(expected) != std::string::npos, md);
  // The whole section is above, ACC-01 (no pair in its details) not in it; the main table keeps
  // every result.
  BOOST_TEST(md.find("| PASS | ACC-01 | accuracy | 0.9 |") != std::string::npos, md);
}

BOOST_AUTO_TEST_CASE(github_annotations_carry_both_figures_and_the_compared_value) {
  const std::string expected =
      "::error file=criteria/compare.yaml,line=12,title=ENR-01 FAIL (energy_saving)::"
      "estimate-based ratio, not measured energy%0A"
      "value 0.2, interval [0.15, 0.25] 90%25 t on log ratios, threshold >= 0.25 (mandatory)%0A"
      "energy per inference (estimated): reference model 1 mJ, model 0.8 mJ; "
      "energy_saving 0.2 [0.15, 0.25] 90%25\n"
      "::warning file=criteria/compare.yaml,line=15,title=SPD-01 INCONCLUSIVE (latency_speedup)::"
      "the bounds straddle 1.2%0A"
      "value 1.25, interval [1.125, 1.375] 90%25 t on log ratios, threshold >= 1.2 (mandatory)%0A"
      "p90 latency: reference model 0.25 ms, model 0.2 ms; latency_speedup 1.25 [1.125, 1.375] "
      "90%25\n"
      "greenlight verdict: FAIL (1 FAIL, 1 INCONCLUSIVE, 3 PASS)\n";
  BOOST_TEST(Render("github", Compared()) == expected);
}

BOOST_AUTO_TEST_CASE(junit_case_output_shows_both_figures) {
  const std::string xml = Render("junit", Compared());
  BOOST_TEST(xml.find("<property name=\"reference\" value=\"models/cnn_fp32.pt\"/>") !=
             std::string::npos);
  BOOST_TEST(xml.find("<property name=\"reference.sha256\" value=\"" + std::string(64, '3') +
                      "\"/>") != std::string::npos);
  BOOST_TEST(xml.find("samples: 20\n"
                      "reference model: p90 latency 0.25 ms\n"
                      "model: p90 latency 0.2 ms\n"
                      "compared: latency_speedup 1.25 [1.125, 1.375] 90%\n"
                      "threshold: &gt;= 1.2") != std::string::npos,
             xml);
  BOOST_TEST(xml.find("reference model: file size 500000 bytes\n"
                      "model: file size 250000 bytes\n"
                      "compared: size_reduction 0.5\n") != std::string::npos);
  // ACC-01 has no pair: its output is as before.
  const auto acc = xml.find("name=\"ACC-01\"");
  BOOST_REQUIRE(acc != std::string::npos);
  const std::string acc_case = xml.substr(acc, xml.find("</testcase>", acc) - acc);
  BOOST_TEST(acc_case.find("reference model:") == std::string::npos, acc_case);
  t::TempDir tmp;
  t::WriteText(tmp / "junit.xml", xml);
  const auto valid = Xmllint("--noout --schema " + t::Quote(kJunitXsd) + " " +
                             t::Quote(tmp / "junit.xml") + " 2>&1");
  BOOST_TEST(valid.exit_code == 0, valid.out);
}

BOOST_AUTO_TEST_CASE(sarif_results_carry_both_figures) {
  const nlohmann::json sarif = nlohmann::json::parse(Render("sarif", Compared()));
  const std::string why = t::SchemaErrors(kSarifSchema, sarif);
  BOOST_TEST(why.empty(), why);
  const auto& run = sarif["runs"][0];
  BOOST_TEST(run["properties"]["reference_sha256"] == std::string(64, '3'));
  BOOST_REQUIRE(run["results"].size() == 2u);  // ENR-01 and SPD-01 did not pass.
  const auto& speed = run["results"][1];
  BOOST_TEST(speed["ruleId"] == "SPD-01");
  BOOST_TEST(speed["message"]["text"] ==
             "SPD-01 INCONCLUSIVE: value 1.25, interval [1.125, 1.375] 90% t on log ratios, "
             "threshold >= 1.2 (mandatory). p90 latency: reference model 0.25 ms, model 0.2 ms; "
             "latency_speedup 1.25 [1.125, 1.375] 90%. the bounds straddle 1.2");
  const nlohmann::json side = {{"figure", "p90 latency"},
                               {"unit", "ms"},
                               {"reference", 0.25},
                               {"model", 0.2},
                               {"reference_declared", false}};
  BOOST_TEST(speed["properties"]["side_by_side"] == side, speed.dump());
}

BOOST_AUTO_TEST_CASE(html_and_console_show_both_figures) {
  const std::string html = Render("html", Compared());
  BOOST_TEST(html.find("<tbody><tr><td>p90 latency</td><td class=\"num\">0.25 ms</td>"
                       "<td class=\"num\">0.2 ms</td><td class=\"num\">latency_speedup 1.25 "
                       "[1.125, 1.375] 90%</td></tr></tbody>") != std::string::npos);
  BOOST_TEST(html.find("<td>accuracy</td><td class=\"num\">0.8 (declared)</td>"
                       "<td class=\"num\">0.88</td>") != std::string::npos);
  BOOST_TEST(html.find("Reference model</th>") != std::string::npos);
  BOOST_TEST(html.find("cnn_fp32.pt") != std::string::npos);
  // One side-by-side table per compared result: four, none for ACC-01.
  size_t tables = 0;
  for (size_t at = html.find("<table class=\"side\">"); at != std::string::npos;
       at = html.find("<table class=\"side\">", at + 1)) {
    ++tables;
  }
  BOOST_TEST(tables == 4u);

  const std::string console = Render("console", Compared());
  const std::string expected =
      "Reference model beside the model:\n"
      "  ENR-01  energy per inference (estimated): reference model 1 mJ, model 0.8 mJ; "
      "energy_saving 0.2 [0.15, 0.25] 90%\n"
      "  SPD-01  p90 latency: reference model 0.25 ms, model 0.2 ms; latency_speedup 1.25 "
      "[1.125, 1.375] 90%\n"
      "  RET-01  accuracy: reference model 0.8 (declared), model 0.88; accuracy_retention 1.1 "
      "[1.05, 1.15] 95%\n"
      "  SIZ-01  file size: reference model 500000 bytes, model 250000 bytes; size_reduction 0.5\n"
      "\n";
  BOOST_TEST(console.find(expected) != std::string::npos, console);
}
