// End to end through the greenlight command: declared values that match no row stop the run as
// bad input (exit 3, one line, no report), `validate --data` checks the same without a model, and
// the report says how many rows of the file were audited and how they were chosen.
#define BOOST_TEST_MODULE data_e2e
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

const std::string kHmda = (t::SourceDir() / "examples" / "data" / "hmda.csv").string();

// Black-box HMDA criteria: the recorded decisions `deny`, favourable = approved (class 0).
std::string BlackBox(const std::string& dataset_extra, const std::string& params = "",
                     const std::string& label_positive = "yes",
                     const std::string& metric = "selection_rate") {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: data-e2e, version: '1'}\n"
         "settings: {seed: 3}\n"
         "dataset:\n  format: csv\n  path: " +
         kHmda +
         "\n  predictions: {column: deny, positive: \"yes\"}\n"
         "  label: {column: deny, positive: \"" +
         label_positive + "\"}\n  sensitive: [afam]\n" + dataset_extra +
         "criteria:\n"
         "  - id: SR\n    metric: " +
         metric + "\n    params: {favourable: 0" + params +
         "}\n    threshold: {gte: 0.5}\n    severity: mandatory\n";
}

struct Audit {
  t::CommandResult result;
  json report;
  bool report_exists = false;
};

Audit RunAudit(const t::TempDir& dir, const std::string& yaml) {
  t::WriteText(dir / "criteria.yaml", yaml);
  Audit a;
  a.result = t::RunCli("audit --criteria " + t::Quote(dir / "criteria.yaml") + " --out " +
                       t::Quote(dir / "out"));
  a.report_exists = std::filesystem::exists(dir / "out" / "report.json");
  if (a.report_exists) a.report = json::parse(t::ReadText(dir / "out" / "report.json"));
  return a;
}

void CheckRejected(const t::CommandResult& r, bool report_exists,
                   const std::vector<std::string>& needles) {
  BOOST_TEST(r.exit_code == 3, "stdout: " << r.out << " stderr: " << r.err);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  for (const auto& n : needles)
    BOOST_TEST(r.err.find(n) != std::string::npos, n << " in " << r.err);
  BOOST_TEST(!report_exists);
}

}  // namespace

// The case with the example credit model: positive "Yes" on data that says "yes" used to
// turn every label into class 0 (accuracy 0.922 -> 0.932 with this model, no warning); now it is
// bad input.
BOOST_AUTO_TEST_CASE(credit_model_label_positive_with_the_wrong_case_is_bad_input) {
  const auto model = t::ModelsDir() / "hmda_credit.pt";
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(model), "run examples/export_models.py first");
  std::string yaml = t::ReadText(t::SourceDir() / "criteria" / "hmda-credit-fairness.yaml");
  const std::string right = "label: {column: deny, positive: \"yes\"}";
  BOOST_REQUIRE(yaml.find(right) != std::string::npos);
  yaml.replace(yaml.find(right), right.size(), "label: {column: deny, positive: \"Yes\"}");
  for (const std::string rel : {"../examples/models/", "../examples/data/"}) {
    const auto at = yaml.find(rel);
    BOOST_REQUIRE(at != std::string::npos);
    yaml.replace(at, rel.size(), (t::SourceDir() / rel.substr(3)).string());
  }
  t::TempDir dir;
  const Audit a = RunAudit(dir, yaml);
  CheckRejected(a.result, a.report_exists,
                {"criteria.yaml:",
                 "dataset.label.positive: \"Yes\" occurs in no row of column "
                 "'deny' of " +
                     kHmda,
                 "(values: \"no\", \"yes\")", "did you mean \"yes\"?"});
}

BOOST_AUTO_TEST_CASE(black_box_declared_values_that_match_no_row) {
  {
    t::TempDir dir;
    const Audit a = RunAudit(dir, BlackBox("", "", "Yes"));
    CheckRejected(a.result, a.report_exists,
                  {"dataset.label.positive: \"Yes\"", "did you mean \"yes\"?"});
  }
  {  // A reference group that is not a value of the sensitive column.
    t::TempDir dir;
    const Audit a =
        RunAudit(dir, BlackBox("", ", reference: \"No\"", "yes", "disparate_impact_ratio"));
    CheckRejected(a.result, a.report_exists,
                  {"criterion SR: params.reference: group \"No\" matches no audited row of column "
                   "'afam'",
                   "(values: \"no\", \"yes\")", "did you mean \"no\"?"});
  }
  {  // A sensitive column the dataset does not keep.
    t::TempDir dir;
    const Audit a = RunAudit(dir, BlackBox("", ", sensitive: single"));
    CheckRejected(a.result, a.report_exists, {"criterion SR:", "'single'"});
  }
  {  // An encoding key.
    t::TempDir dir;
    const Audit a = RunAudit(dir, BlackBox("  encode: {selfemp: {\"no\": 0, \"YES\": 1}}\n"));
    CheckRejected(a.result, a.report_exists,
                  {"dataset.encode.selfemp.YES: \"YES\" occurs in no row of column 'selfemp'",
                   "did you mean \"yes\"?"});
  }
}

BOOST_AUTO_TEST_CASE(validate_data_checks_the_criteria_against_the_data) {
  t::TempDir dir;
  t::WriteText(dir / "bad.yaml", BlackBox("", "", "Yes"));
  // Without --data only the file is checked; the data is not read.
  BOOST_TEST(t::RunCli("validate " + t::Quote(dir / "bad.yaml")).exit_code == 0);
  const auto bad = t::RunCli("validate --data " + t::Quote(dir / "bad.yaml"));
  CheckRejected(bad, false, {"bad.yaml:", "dataset.label.positive", "did you mean \"yes\"?"});

  // The sample's seed defaults to settings.seed (3 here); HMDA has 285 denials of 2,380, so a
  // stratified 600 holds 72 of them (600 × 285 / 2380 = 71.85, the larger remainder).
  t::WriteText(dir / "strat.yaml", BlackBox("  sample: {method: stratified, size: 600}\n"));
  const auto strat = t::RunCli("validate --data " + t::Quote(dir / "strat.yaml"));
  BOOST_TEST(strat.exit_code == 0, strat.err);
  BOOST_TEST(strat.out.find("audited 600 of 2,380 rows: stratified by label, 600 (seed 3)") !=
                 std::string::npos,
             strat.out);
  // negative: needs positive:.
  t::WriteText(dir / "neg.yaml", BlackBox("", "", "yes\", negative: \"no"));
  BOOST_TEST(t::RunCli("validate --data " + t::Quote(dir / "neg.yaml")).exit_code == 0);
  std::string yaml = BlackBox("");
  const std::string label = "label: {column: deny, positive: \"yes\"}";
  yaml.replace(yaml.find(label), label.size(), "label: {column: deny, negative: \"no\"}");
  t::WriteText(dir / "neg_only.yaml", yaml);
  const auto neg_only = t::RunCli("validate " + t::Quote(dir / "neg_only.yaml"));
  CheckRejected(neg_only, false, {"neg_only.yaml:", "dataset.label"});

  const auto good =
      t::RunCli("validate --data " + t::Quote(t::SourceDir() / "criteria" / "hmda-fairness.yaml"));
  BOOST_TEST(good.exit_code == 0, good.err);
  BOOST_TEST(good.out.find("audited 2,380 of 2,380 rows: all rows") != std::string::npos, good.out);
}

// The report records the file's rows, the audited rows and how they were chosen; the console and
// `show` print it. The selection rate is checked on the rows an independent Python
// re-implementation of the sampler picks.
BOOST_AUTO_TEST_CASE(report_records_how_rows_were_chosen) {
  t::TempDir dir;
  const Audit a = RunAudit(dir, BlackBox("  sample: {method: random, size: 600, seed: 7}\n"));
  BOOST_REQUIRE_MESSAGE(a.report_exists, a.result.err);
  const std::string why = t::ReportSchemaErrors(a.report);
  BOOST_TEST(why.empty(), why);
  const json& d = a.report["predicate"]["dataset"];
  BOOST_TEST(d["rows"] == 600);
  BOOST_TEST(d["total_rows"] == 2380);
  BOOST_TEST(d["selection"]["method"] == "random");
  BOOST_TEST(d["selection"]["declared_as"] == "sample");
  BOOST_TEST(d["selection"]["requested"] == 600);
  BOOST_TEST(d["selection"]["seed"] == 7);
  const std::string line = "audited 600 of 2,380 rows: random 600 (seed 7)";
  BOOST_TEST(a.result.out.find(line) != std::string::npos, a.result.out);
  const auto shown = t::RunCli("show " + t::Quote(dir / "out" / "report.json"));
  BOOST_TEST(shown.out.find(line) != std::string::npos, shown.out);

  const json& sr = a.report["predicate"]["results"][0];
  BOOST_TEST(sr["samples"] == 600);
  const auto py = t::RunPython("import csv, sys\nsys.path.insert(0, '" +
                               (t::SourceDir() / "tests/unit/datasets").string() +
                               "')\nimport sampling_reference as s\n"
                               "rows = list(csv.DictReader(open('" +
                               kHmda +
                               "')))\npick = s.random_sample(len(rows), 600, s.SplitMix64(7))\n"
                               "print(repr(sum(rows[i]['deny'] == 'no' for i in pick) / 600))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  BOOST_TEST(sr["value"].get<double>() == std::stod(py.out));

  // limit: N is the first N rows, and says so.
  t::TempDir dir2;
  const Audit first = RunAudit(dir2, BlackBox("  limit: 600\n"));
  BOOST_REQUIRE(first.report_exists);
  BOOST_TEST(first.report["predicate"]["dataset"]["selection"]["declared_as"] == "limit");
  BOOST_TEST(first.result.out.find("audited 600 of 2,380 rows: first 600") != std::string::npos,
             first.result.out);

  // limit and sample together are ambiguous.
  t::TempDir dir3;
  const Audit both =
      RunAudit(dir3, BlackBox("  limit: 600\n  sample: {method: first, size: 600}\n"));
  CheckRejected(both.result, both.report_exists, {"dataset.sample: give limit or sample"});
}
