// End-to-end: audit --format with several formats, render (report.json and signed envelopes,
// verified or not), diff of two real reports with a known change, and the criterion's line in the
// report, the github annotations and the SARIF location (counted in the YAML text by the test).
#define BOOST_TEST_MODULE reports_e2e
#include <boost/test/unit_test.hpp>
#include <iterator>
#include <nlohmann/json.hpp>

#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

// Two accuracy criteria on the first 300 test images: ACC-1 passes (>= 0.5), ACC-2's threshold is
// `second`.
std::string Criteria(const std::string& second) {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: e2e-reports, version: '1'}\n"
         "settings: {seed: 5}\n" +
         t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 300) +
         "criteria:\n"
         "  - id: ACC-1\n    metric: accuracy\n    threshold: {gte: 0.5}\n"
         "    severity: mandatory\n"
         "  # the one that fails\n"
         "  - id: ACC-2\n    metric: accuracy\n    threshold: " +
         second + "\n    severity: mandatory\n";
}

// 1-based line of the first line containing `needle`, counted in the text itself.
int LineOf(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  BOOST_REQUIRE(at != std::string::npos);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

t::CommandResult Audit(const t::TempDir& dir, const std::string& name, const std::string& yaml,
                       const std::string& args) {
  t::WriteText(dir / (name + ".yaml"), yaml);
  return t::RunCli("audit --criteria " + t::Quote(dir / (name + ".yaml")) + " --out " +
                   t::Quote(dir / name) + " " + args);
}

}  // namespace

BOOST_AUTO_TEST_CASE(audit_writes_every_format_and_points_at_the_criterion_line) {
  t::TempDir dir;
  const std::string yaml = Criteria("{gte: 0.99}");
  const int line = LineOf(yaml, "- id: ACC-2");
  // The audit runs in a tree that shares only the root folder with the temp dir, wherever the
  // checkout (and so the test's own folder) lies.
  const std::string elsewhere = *std::next(dir.path().begin()) == "usr" ? "/var" : "/usr";
  t::WriteText(dir / "run.yaml", yaml);
  const auto a =
      t::RunShell("cd " + elsewhere + " && NO_COLOR=1 '" + std::string(GREENLIGHT_CLI) +
                  "' audit --criteria " + t::Quote(dir / "run.yaml") + " --out " +
                  t::Quote(dir / "run") + " --format junit,markdown --format sarif,github,html");
  BOOST_TEST(a.exit_code == 1, a.err);
  // Several formats: stdout is the console table, and each file is listed.
  BOOST_TEST(a.out.find("verdict: FAIL") != std::string::npos, a.out);
  const auto out = dir / "run";
  for (const std::string file : {"report.json", "report.junit.xml", "report.md", "report.sarif",
                                 "report.github.txt", "report.html"}) {
    BOOST_TEST(std::filesystem::exists(out / file), file);
  }
  BOOST_TEST(a.out.find("rendered: " + (out / "report.md").string()) != std::string::npos, a.out);
  const json report = json::parse(t::ReadText(out / "report.json"));
  const std::string why = t::ReportSchemaErrors(report);
  BOOST_TEST(why.empty(), why);
  BOOST_TEST(report["predicate"]["results"][0]["location"]["line"] == LineOf(yaml, "- id: ACC-1"));
  BOOST_TEST(report["predicate"]["results"][1]["location"]["line"] == line);

  const std::string github = t::ReadText(out / "report.github.txt");
  // The criteria file lies in the temp dir, a tree unrelated to where the test runs: the report
  // names it by its file name.
  BOOST_TEST(github.find("::error file=run.yaml"
                         ",line=" +
                         std::to_string(line) + ",title=ACC-2 FAIL (accuracy)::") == 0,
             github);
  const json sarif = json::parse(t::ReadText(out / "report.sarif"));
  BOOST_REQUIRE(sarif["runs"][0]["results"].size() == 1u);
  BOOST_TEST(
      sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] ==
      line);
  const std::string html = t::ReadText(out / "report.html");
  BOOST_TEST(html.find("Verdict: FAIL") != std::string::npos);
  BOOST_TEST(html.find("id=\"r-ACC-2\"") != std::string::npos);
  const std::string md = t::ReadText(out / "report.md");
  BOOST_TEST(md.find("## greenlight: FAIL") == 0, md);
  BOOST_TEST(md.find("| **FAIL** | ACC-2 |") < md.find("| PASS | ACC-1 |"), md);
  const auto valid = t::RunShell(std::string(GREENLIGHT_XMLLINT_EXECUTABLE) + " --noout --schema " +
                                 t::Quote(t::SourceDir() / "schemas" / "junit.xsd") + " " +
                                 t::Quote(out / "report.junit.xml"));
  BOOST_TEST(valid.exit_code == 0, valid.err);

  // render gives the same annotations from report.json as audit wrote.
  const auto rendered = t::RunCli("render " + t::Quote(out / "report.json") + " --format github");
  BOOST_TEST(rendered.exit_code == 0, rendered.err);
  BOOST_TEST(rendered.out == github);

  // A later audit into the folder with fewer formats removes the earlier renderings.
  const auto again = Audit(dir, "run", yaml, "--format json");
  BOOST_TEST(again.exit_code == 1, again.err);
  BOOST_TEST(std::filesystem::exists(out / "report.json"));
  for (const std::string file : {"report.junit.xml", "report.md", "report.sarif", "report.html"}) {
    BOOST_TEST(!std::filesystem::exists(out / file), file << " left from the earlier run");
  }
  // Unknown names are bad input before anything runs.
  const auto bad = Audit(dir, "bad", yaml, "--format markdown,xml");
  BOOST_TEST(bad.exit_code == 3);
  BOOST_TEST(bad.err.find("unknown report format 'xml' (known: console, github, html, json, junit, "
                          "markdown, sarif)") != std::string::npos,
             bad.err);
  BOOST_TEST(!std::filesystem::exists(dir / "bad"));
}

BOOST_AUTO_TEST_CASE(render_says_whether_the_envelope_was_verified) {
  t::TempDir dir;
  BOOST_REQUIRE(t::RunCli("keygen --out " + t::Quote(dir / "vendor")).exit_code == 0);
  BOOST_REQUIRE(t::RunCli("keygen --out " + t::Quote(dir / "other")).exit_code == 0);
  const auto a = Audit(dir, "run", Criteria("{gte: 0.5}"),
                       "--key " + t::Quote(dir / "vendor.key") + " --format markdown");
  BOOST_TEST(a.exit_code == 0, a.err);
  const auto envelope = dir / "run" / "report.dsse.json";
  BOOST_REQUIRE(std::filesystem::exists(envelope));
  BOOST_TEST(t::ReadText(dir / "run" / "report.md").find("- Signature: signed with key ") !=
             std::string::npos);

  const auto verified =
      t::RunCli("render " + t::Quote(envelope) + " --format markdown --pubkey " +
                t::Quote(dir / "vendor.pub") + " --out " + t::Quote(dir / "summary.md"));
  BOOST_TEST(verified.exit_code == 0, verified.err);
  BOOST_TEST(verified.out.empty());
  const std::string summary = t::ReadText(dir / "summary.md");
  BOOST_TEST(summary.find("- Signature: verified with key ") != std::string::npos, summary);
  BOOST_TEST(summary.find("**Verdict: PASS**") != std::string::npos, summary);

  const auto unchecked = t::RunCli("render " + t::Quote(envelope) + " --format junit");
  BOOST_TEST(unchecked.exit_code == 0, unchecked.err);
  BOOST_TEST(unchecked.out.find("value=\"NOT CHECKED (no --pubkey given)") != std::string::npos,
             unchecked.out);

  const auto wrong =
      t::RunCli("render " + t::Quote(envelope) + " --format markdown --pubkey " +
                t::Quote(dir / "other.pub") + " --out " + t::Quote(dir / "wrong.md"));
  BOOST_TEST(wrong.exit_code == 1, wrong.err);
  BOOST_TEST(wrong.err.find("signature INVALID") != std::string::npos, wrong.err);
  BOOST_TEST(!std::filesystem::exists(dir / "wrong.md"));

  const auto unsigned_with_key =
      t::RunCli("render " + t::Quote(dir / "run" / "report.json") + " --format markdown --pubkey " +
                t::Quote(dir / "vendor.pub"));
  BOOST_TEST(unsigned_with_key.exit_code == 3, unsigned_with_key.err);
  const auto unknown = t::RunCli("render " + t::Quote(envelope) + " --format pdfx");
  BOOST_TEST(unknown.exit_code == 3);
  BOOST_TEST(std::count(unknown.err.begin(), unknown.err.end(), '\n') == 1, unknown.err);
  BOOST_TEST(
      unknown.err.find("(known: console, github, html, json, junit, markdown, pdf, sarif)") !=
      std::string::npos);
  const auto missing = t::RunCli("render " + t::Quote(dir / "nope.json") + " --format markdown");
  BOOST_TEST(missing.exit_code == 3, missing.err);
}

// Two real audits of the same model and rows, the second with a stricter threshold: ACC-2 goes from
// PASS to FAIL with the same value and interval.
BOOST_AUTO_TEST_CASE(diff_of_two_real_reports_with_a_known_change) {
  t::TempDir dir;
  BOOST_REQUIRE(Audit(dir, "old", Criteria("{gte: 0.5}"), "").exit_code == 0);
  BOOST_REQUIRE(Audit(dir, "new", Criteria("{gte: 0.99}"), "").exit_code == 1);
  const auto old_report = dir / "old" / "report.json";
  const auto new_report = dir / "new" / "report.json";

  const auto worse = t::RunCli("diff " + t::Quote(old_report) + " " + t::Quote(new_report));
  BOOST_TEST(worse.exit_code == 1, worse.err);
  BOOST_TEST(worse.out.find("**Verdict: PASS → FAIL** (worse); 1 worse, 0 better, 0 changed "
                            "beyond the intervals, 0 added, 0 removed") != std::string::npos,
             worse.out);
  BOOST_TEST(worse.out.find("| PASS | FAIL | **worse** |") != std::string::npos, worse.out);

  const auto better =
      t::RunCli("diff --format json " + t::Quote(new_report) + " " + t::Quote(old_report));
  BOOST_TEST(better.exit_code == 0, better.err);
  const json j = json::parse(better.out);
  BOOST_TEST(j["worse"] == false);
  BOOST_TEST(j["changes"][1]["id"] == "ACC-2");
  BOOST_TEST(j["changes"][1]["status_change"] == "better");
  // Same model, rows and seed: the values agree exactly, so nothing moved beyond the intervals.
  BOOST_TEST(j["changes"][1]["old"]["value"] == j["changes"][1]["new"]["value"]);
  BOOST_TEST(j["changes"][1]["beyond_intervals"] == false);

  const auto bad_format =
      t::RunCli("diff --format xml " + t::Quote(old_report) + " " + t::Quote(new_report));
  BOOST_TEST(bad_format.exit_code == 3);
  BOOST_TEST(bad_format.err.find("(known: json, markdown)") != std::string::npos);
  t::WriteText(dir / "broken.json", "{\"_type\": 1}");
  const auto broken =
      t::RunCli("diff " + t::Quote(old_report) + " " + t::Quote(dir / "broken.json"));
  BOOST_TEST(broken.exit_code == 3, broken.err);
  BOOST_TEST(std::count(broken.err.begin(), broken.err.end(), '\n') == 1, broken.err);
}

// PDF: the html page printed by headless Chromium, read back with pdftotext (poppler-utils). Runs
// when both are installed (scripts/install-deps.sh installs them).
BOOST_AUTO_TEST_CASE(render_pdf_prints_the_page) {
  const std::string chromium = GREENLIGHT_CHROMIUM_EXECUTABLE;
  const std::string pdftotext = GREENLIGHT_PDFTOTEXT_EXECUTABLE;
  t::TempDir dir;
  const std::string yaml = Criteria("{gte: 0.99}");
  BOOST_REQUIRE(Audit(dir, "run", yaml, "").exit_code == 1);
  const auto report = dir / "run" / "report.json";
  const auto no_out = t::RunCli("render " + t::Quote(report) + " --format pdf");
  BOOST_TEST(no_out.exit_code == 3);
  BOOST_TEST(no_out.err.find("--format pdf needs --out FILE") != std::string::npos, no_out.err);
  if (chromium.find("NOTFOUND") != std::string::npos ||
      pdftotext.find("NOTFOUND") != std::string::npos) {
    BOOST_TEST_MESSAGE("chromium or pdftotext not installed: the PDF is not checked");
    return;
  }
  const auto r = t::RunShell("GREENLIGHT_CHROMIUM=" + t::Quote(chromium) + " NO_COLOR=1 '" +
                             std::string(GREENLIGHT_CLI) + "' render " + t::Quote(report) +
                             " --format pdf --out " + t::Quote(dir / "report.pdf"));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(t::ReadText(dir / "report.pdf").rfind("%PDF-", 0) == 0u);
  const auto text = t::RunShell(t::Quote(pdftotext) + " " + t::Quote(dir / "report.pdf") + " -");
  BOOST_TEST(text.exit_code == 0, text.err);
  for (const std::string needle : {"Verdict: FAIL", "ACC-1", "ACC-2"}) {
    BOOST_TEST(text.out.find(needle) != std::string::npos, needle);
  }
  // A missing Chromium is a runtime error (exit 4) and leaves no file.
  const auto missing = t::RunShell("GREENLIGHT_CHROMIUM=/nonexistent/chromium '" +
                                   std::string(GREENLIGHT_CLI) + "' render " + t::Quote(report) +
                                   " --format pdf --out " + t::Quote(dir / "none.pdf"));
  BOOST_TEST(missing.exit_code == 4, missing.err);
  BOOST_TEST(missing.err.find("--format pdf needs Chromium") != std::string::npos, missing.err);
  BOOST_TEST(!std::filesystem::exists(dir / "none.pdf"));
}

// A report names no folder of the auditing machine: the criteria file relative to where the audit
// ran, the model relative to the criteria file (as the criteria name it), files in an unrelated
// tree by their names; and `verify --rerun` finds the model again from the relative path.
BOOST_AUTO_TEST_CASE(report_paths_are_relative_and_rerun_resolves_them) {
  t::TempDir dir;
  const auto project = dir / "project";
  std::filesystem::create_directories(project / "criteria");
  std::filesystem::create_directories(project / "models");
  std::filesystem::copy_file(t::ModelsDir() / "fashion_cnn.pt", project / "models" / "cnn.pt");
  std::string yaml = Criteria("{gte: 0.5}");
  const std::string absolute_model = (t::ModelsDir() / "fashion_cnn.pt").string();
  yaml.replace(yaml.find(absolute_model), absolute_model.size(), "../models/cnn.pt");
  t::WriteText(project / "criteria" / "c.yaml", yaml);
  BOOST_REQUIRE(t::RunCli("keygen --out " + t::Quote(dir / "vendor")).exit_code == 0);
  const auto a = t::RunShell(
      "cd " + t::Quote(project) + " && NO_COLOR=1 '" + std::string(GREENLIGHT_CLI) +
      "' audit --criteria criteria/c.yaml --out out --key " + t::Quote(dir / "vendor.key"));
  BOOST_REQUIRE_MESSAGE(a.exit_code == 0, a.out << a.err);
  const std::string text = t::ReadText(project / "out" / "report.json");
  const json p = json::parse(text)["predicate"];
  BOOST_TEST(p["criteria"]["path"] == "criteria/c.yaml");
  BOOST_TEST(p["model"]["path"] == "../models/cnn.pt");
  BOOST_TEST(p["dataset"]["path"] == "t10k-images-idx3-ubyte.gz");  // /usr/share/...: unrelated.
  BOOST_TEST(p["dataset"]["files"][1]["path"] == "t10k-labels-idx1-ubyte.gz");
  BOOST_TEST(p["results"][0]["location"]["line"].get<int>() > 0);
  BOOST_TEST(text.find(dir.path().string()) == std::string::npos, text);
  BOOST_TEST(text.find(t::FashionDir().string()) == std::string::npos, text);

  // Re-run with only the report: the criteria from the recorded path (relative to here), the
  // model from the recorded path relative to the criteria's folder.
  const auto v =
      t::RunShell("cd " + t::Quote(project) + " && NO_COLOR=1 '" + std::string(GREENLIGHT_CLI) +
                  "' verify out/report.dsse.json --rerun --pubkey " + t::Quote(dir / "vendor.pub"));
  BOOST_TEST(v.exit_code == 0, v.out << v.err);
  BOOST_TEST(v.out.find("re-run: 2 deterministic results match") != std::string::npos, v.out);
}
