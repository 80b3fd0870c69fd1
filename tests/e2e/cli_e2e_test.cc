// End-to-end: the real greenlight binary on real models, real data and real files.
#define BOOST_TEST_MODULE cli_e2e
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "core/files.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::string CnnCriteria(const std::string& criteria, int limit, const std::string& model = "") {
  const std::string model_path =
      model.empty() ? (t::ModelsDir() / "fashion_cnn.pt").string() : model;
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: e2e, version: '1'}\n"
         "settings: {seed: 5}\n" +
         t::FashionCnnSections(model_path, limit) + "criteria:\n" + criteria;
}

std::string Accuracy(const std::string& threshold, const std::string& extra = "",
                     const std::string& severity = "mandatory") {
  return "  - id: ACC\n    metric: accuracy\n    threshold: " + threshold +
         "\n    severity: " + severity + "\n" + extra;
}

struct Audit {
  t::CommandResult result;
  json report;
  bool report_exists = false;
};

Audit RunAudit(const t::TempDir& dir, const std::string& yaml, const std::string& extra_args = "") {
  t::WriteText(dir / "criteria.yaml", yaml);
  Audit a;
  a.result = t::RunCli("audit --criteria " + t::Quote(dir / "criteria.yaml") + " --out " +
                       t::Quote(dir / "out") + " " + extra_args);
  a.report_exists = std::filesystem::exists(dir / "out" / "report.json");
  if (a.report_exists) a.report = json::parse(t::ReadText(dir / "out" / "report.json"));
  return a;
}

void CheckSchemaValid(const json& doc) {
  const std::string why = greenlight::testing::ReportSchemaErrors(doc);
  BOOST_TEST(why.empty(), "report.json is not schema-valid: " << why);
}

// A bad-input run: the documented exit code, exactly one line on stderr naming `needle`, no report.
void CheckRejected(const Audit& a, int exit_code, const std::string& needle) {
  BOOST_TEST(a.result.exit_code == exit_code, "stderr: " << a.result.err);
  BOOST_TEST(std::count(a.result.err.begin(), a.result.err.end(), '\n') == 1, a.result.err);
  BOOST_TEST(a.result.err.find(needle) != std::string::npos, a.result.err);
  BOOST_TEST(!a.report_exists);
}

}  // namespace

BOOST_AUTO_TEST_CASE(version_help_and_usage) {
  const auto v = t::RunCli("--version");
  BOOST_TEST(v.exit_code == 0);
  BOOST_TEST(v.out.find("greenlight 0.") == 0u);
  BOOST_TEST(t::RunCli("audit --help").exit_code == 0);
  BOOST_TEST(t::RunCli("audit --no-such-flag").exit_code == 3);
  BOOST_TEST(t::RunCli("frobnicate").exit_code == 3);
  const auto m = t::RunCli("metrics");
  BOOST_TEST(m.exit_code == 0);
  BOOST_TEST(m.out.find("accuracy (ratio)") != std::string::npos);
  const auto mj = t::RunCli("metrics --json");
  BOOST_TEST(json::parse(mj.out).size() >= 6u);
}

BOOST_AUTO_TEST_CASE(pass_fail_inconclusive_exit_codes) {
  t::TempDir dir;
  const Audit pass =
      RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.5}") +
                                    Accuracy("{gte: 0.99}", "", "advisory").replace(8, 3, "ADV"),
                                1000));
  BOOST_TEST(pass.result.exit_code == 0, pass.result.err);
  BOOST_REQUIRE(pass.report_exists);
  CheckSchemaValid(pass.report);
  BOOST_TEST(pass.report["predicate"]["verdict"] == "PASS");
  BOOST_TEST(pass.report["predicate"]["results"][1]["status"] == "WARN");
  BOOST_TEST(pass.report["predicate"]["dataset"]["rows"] == 1000);
  BOOST_TEST(pass.result.out.find("verdict: PASS") != std::string::npos);
  const double value = pass.report["predicate"]["results"][0]["value"].get<double>();

  const Audit fail = RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.99}"), 1000));
  BOOST_TEST(fail.result.exit_code == 1);
  BOOST_TEST(fail.report["predicate"]["verdict"] == "FAIL");

  // The threshold equal to the measured value lies inside the 95 % interval: not enough evidence.
  std::ostringstream thr;
  thr.precision(17);
  thr << "{gte: " << value << "}";
  const Audit inc = RunAudit(dir, CnnCriteria(Accuracy(thr.str(), "    confidence: 0.95\n"), 1000));
  BOOST_TEST(inc.result.exit_code == 2, inc.result.out);
  BOOST_TEST(inc.report["predicate"]["results"][0]["status"] == "INCONCLUSIVE");
  CheckSchemaValid(inc.report);
}

// --format picks a reporter by name. The json reporter's output is checked against the bytes the
// audit wrote to report.json (the file is the reference), and `show` of that file gives it back.
BOOST_AUTO_TEST_CASE(format_json_prints_exactly_the_report_and_unknown_formats_are_bad_input) {
  t::TempDir dir;
  const Audit a = RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.5}"), 300), "--format json");
  BOOST_TEST(a.result.exit_code == 0, a.result.err);
  BOOST_REQUIRE(a.report_exists);
  const std::string written = t::ReadText(dir / "out" / "report.json");
  BOOST_TEST(a.result.out == written, "stdout is not report.json byte for byte");
  BOOST_TEST(a.result.err.find("report: ") != std::string::npos, a.result.err);
  CheckSchemaValid(json::parse(a.result.out));

  const auto shown = t::RunCli("show --format json " + t::Quote(dir / "out" / "report.json"));
  BOOST_TEST(shown.exit_code == 0, shown.err);
  BOOST_TEST(shown.out == written, "show --format json does not give the report back");
  const auto table = t::RunCli("show " + t::Quote(dir / "out" / "report.json"));
  BOOST_TEST(table.out.find("verdict: PASS") != std::string::npos, table.out);

  for (const std::string& command :
       {"audit --out " + t::Quote(dir / "none") + " --format yaml",
        "show --format yaml " + t::Quote(dir / "out" / "report.json")}) {
    const auto bad = t::RunCli(command);
    BOOST_TEST(bad.exit_code == 3, command << ": " << bad.err);
    BOOST_TEST(
        bad.err.find("unknown report format 'yaml' (known: console, github, html, json, junit, "
                     "markdown, sarif)") != std::string::npos,
        bad.err);
    BOOST_TEST(std::count(bad.err.begin(), bad.err.end(), '\n') == 1, bad.err);
  }
  BOOST_TEST(!std::filesystem::exists(dir / "none"));
}

BOOST_AUTO_TEST_CASE(accuracy_equals_pytorch_on_all_test_images) {
  t::TempDir dir;
  const Audit a = RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.85}"), 10000));
  BOOST_REQUIRE(a.report_exists);
  BOOST_TEST(a.result.exit_code == 0);
  const double ours = a.report["predicate"]["results"][0]["value"].get<double>();
  const auto py = t::RunPython(
      "import gzip, numpy as np, torch\n"
      "x = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
      "').read()[16:], np.uint8).astype(np.float32) / 255.0\n"
      "y = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-labels-idx1-ubyte.gz").string() +
      "').read()[8:], np.uint8)\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / "fashion_cnn.pt").string() +
      "')\n"
      "with torch.no_grad(): p = m(torch.from_numpy(x).reshape(-1, 1, 28, 28)).argmax(1).numpy()\n"
      "print(repr(float((p == y).mean())))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  BOOST_TEST(std::abs(ours - std::stod(py.out)) <= 1e-6,
             "greenlight " << ours << " vs PyTorch " << py.out);
}

BOOST_AUTO_TEST_CASE(model_override) {
  t::TempDir dir;
  const Audit a = RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.5}"), 200, "/nonexistent/model.pt"),
                           "--model " + t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt"));
  BOOST_TEST(a.result.exit_code == 0, a.result.err);
  BOOST_TEST(a.report["subject"][0]["name"] == "fashion_cnn_int8.pt");
}

BOOST_AUTO_TEST_CASE(bad_inputs_exit_3_with_one_line_and_no_report) {
  t::TempDir dir;
  CheckRejected(RunAudit(dir, "apiVersion: greenlight/v1\nkind: [unclosed\n"), 3, "criteria.yaml:");
  CheckRejected(
      RunAudit(dir, CnnCriteria("  - id: X\n    metric: acurracy\n    threshold: {gte: 1}\n"
                                "    severity: mandatory\n",
                                10)),
      3, "unknown metric 'acurracy' (did you mean 'accuracy'");
  CheckRejected(
      RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.5}"), 10, (dir / "missing.pt").string())), 3,
      "missing.pt: model file not found");
  t::WriteText(dir / "corrupt.pt", std::string(1000, 'x'));
  CheckRejected(
      RunAudit(dir, CnnCriteria(Accuracy("{gte: 0.5}"), 10, (dir / "corrupt.pt").string())), 3,
      "corrupt.pt: not a loadable TorchScript model");
  const Audit missing_cli = [&] {
    Audit a;
    a.result = t::RunCli("audit --criteria " + t::Quote(dir / "nope.yaml") + " --out " +
                         t::Quote(dir / "out"));
    return a;
  }();
  CheckRejected(missing_cli, 3, "nope.yaml: no such file");
  t::WriteText(dir / "bad.csv", "deny,pirat\nyes,0.2\nno,zero\n");
  CheckRejected(
      RunAudit(dir,
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: t, version: '1'}\n"
               "model:\n  path: " +
                   (t::ModelsDir() / "hmda_credit.pt").string() +
                   "\n  output: logits\n  input: {shape: [1]}\n"
                   "dataset:\n  format: csv\n  path: " +
                   (dir / "bad.csv").string() +
                   "\n  features: [pirat]\n  label: {column: deny, positive: 'yes'}\n"
                   "criteria:\n" +
                   Accuracy("{gte: 0.5}")),
      3, "bad.csv:3: column 'pirat': 'zero' is not a number");
}

BOOST_AUTO_TEST_CASE(wrong_input_shape_stops_the_audit) {
  t::TempDir dir;
  std::string yaml = CnnCriteria(Accuracy("{gte: 0.5}"), 10);
  yaml.replace(yaml.find("[1, 28, 28]"), 11, "[1, 14, 56]");
  const Audit a = RunAudit(dir, yaml);
  CheckRejected(a, 3, "forward pass failed for input shape [1, 1, 14, 56]");
}

BOOST_AUTO_TEST_CASE(validate_subcommand) {
  t::TempDir dir;
  t::WriteText(dir / "ok.yaml", CnnCriteria(Accuracy("{gte: 0.5}"), 10));
  BOOST_TEST(t::RunCli("validate " + t::Quote(dir / "ok.yaml")).exit_code == 0);
  t::WriteText(dir / "bad.yaml", CnnCriteria(Accuracy("{gte: 0.5}", "    confidence: 1.5\n"), 10));
  const auto bad = t::RunCli("validate " + t::Quote(dir / "bad.yaml"));
  BOOST_TEST(bad.exit_code == 3);
  BOOST_TEST(bad.err.find("criteria.0.confidence: schema violation") != std::string::npos, bad.err);
}

// The real exporter: a model made by PyTorch inside this test, audited on the HMDA table.
BOOST_AUTO_TEST_CASE(audits_a_model_exported_inside_the_test) {
  t::TempDir dir;
  const std::string csv = (t::SourceDir() / "examples" / "data" / "hmda.csv").string();
  const auto py = t::RunPython(
      "import csv, torch\n"
      "rows = list(csv.DictReader(open('" +
      csv +
      "')))\n"
      "x = torch.tensor([[float(r['pirat']), float(r['lvrat'])] for r in rows])\n"
      "y = torch.tensor([1 if r['deny'] == 'yes' else 0 for r in rows])\n"
      "class M(torch.nn.Module):\n"
      "    def forward(self, x):\n"
      "        s = 8.0 * (x[:, 0:1] - 0.4) + 4.0 * (x[:, 1:2] - 0.9)\n"
      "        return torch.cat([-s, s], 1)\n"
      "m = torch.jit.script(M())\n"
      "m.save('" +
      (dir / "tiny.pt").string() +
      "')\n"
      "print(repr(float((m(x).argmax(1) == y).double().mean())))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  const Audit a =
      RunAudit(dir,
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: t, version: '1'}\n"
               "model:\n  path: tiny.pt\n  output: logits\n  input: {shape: [2]}\n"
               "dataset:\n  format: csv\n  path: " +
                   csv +
                   "\n  features: [pirat, lvrat]\n  label: {column: deny, positive: 'yes'}\n"
                   "criteria:\n" +
                   Accuracy("{gte: 0.0}"));
  BOOST_TEST(a.result.exit_code == 0, a.result.err);
  BOOST_REQUIRE(a.report_exists);
  BOOST_TEST(std::abs(a.report["predicate"]["results"][0]["value"].get<double>() -
                      std::stod(py.out)) < 1e-12);
  BOOST_TEST(a.report["predicate"]["model"]["parameters"] == 0);
}
