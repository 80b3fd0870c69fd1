#define BOOST_TEST_MODULE reports
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "core/files.h"
#include "reports/report.h"
#include "reports/reporter.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

gl::Report Sample() {
  gl::Report r;
  r.tool.version = "0.1.0";
  r.tool.git_revision = "abc";
  r.created_at = "2026-11-28T12:00:00Z";
  r.criteria = {"demo", "1.0.0", "/c.yaml", std::string(64, 'a'), "", ""};
  r.model = gl::Report::Model{"/m/model.pt", std::string(64, 'b'), "torchscript", "cpu", 10, 100};
  r.dataset.format = "idx";
  r.dataset.path = "/d/images.gz";
  r.dataset.sha256 = std::string(64, 'c');
  r.dataset.rows = 5;
  r.dataset.total_rows = 12000;
  r.dataset.selection = gl::Report::Dataset::Selection{"random", "sample", 5, 7, {}};
  r.dataset.files = {{"/d/images.gz", std::string(64, 'c'), "images"}};
  r.environment = {{"cpu_model", "x"}, {"logical_cores", 2},
                   {"os", "Linux"},    {"libtorch_version", "1.13.1"},
                   {"device", "cpu"},  {"threads", 2}};
  r.verdict = gl::Status::kFail;
  gl::CriterionResult x;
  x.id = "ACC-01";
  x.metric = "accuracy";
  x.concern = "safety";
  x.severity = "mandatory";
  x.status = gl::Status::kFail;
  x.value = 0.5;
  x.unit = "ratio";
  x.interval = gl::Interval{0.3, 0.7, 0.95, "wilson"};
  x.samples = 5;
  x.threshold = {"between", 0.8, 0.9};
  x.method = "count";
  r.results.push_back(x);
  gl::CriterionResult y = x;
  y.id = "ACC-02";
  y.value.reset();
  y.interval.reset();
  y.status = gl::Status::kInconclusive;
  r.results.push_back(y);
  return r;
}

bool ValidAgainstReportSchema(const nlohmann::json& doc, std::string* why) {
  *why = t::ReportSchemaErrors(doc);
  return why->empty();
}

}  // namespace

BOOST_AUTO_TEST_CASE(statement_shape_and_round_trip) {
  const gl::Report r = Sample();
  const nlohmann::json st = gl::ToStatement(r);
  BOOST_TEST(st["_type"] == "https://in-toto.io/Statement/v1");
  BOOST_TEST(st["subject"][0]["name"] == "model.pt");
  BOOST_TEST(st["subject"][0]["digest"]["sha256"] == std::string(64, 'b'));
  BOOST_TEST(st["predicate"]["results"][0]["threshold"]["high"].get<double>() == 0.9);
  BOOST_TEST(st["predicate"]["results"][1]["value"].is_null());
  const gl::Report back = gl::FromStatement(st);
  BOOST_TEST(gl::SerializeStatement(back) == gl::SerializeStatement(r));
  std::string why;
  BOOST_TEST(ValidAgainstReportSchema(st, &why), why);
}

// Profile provenance and overrides survive the round trip, and the console summary shows both.
BOOST_AUTO_TEST_CASE(profile_provenance_round_trip_and_summary) {
  gl::Report r = Sample();
  const gl::ProfileRef p{"us-ugesp-four-fifths", "1.0.0", std::string(64, 'd'),
                         "https://regulator.example/p.yaml", "29 CFR 1607.4(D)"};
  r.criteria.profiles = {p};
  r.criteria.remote_inputs = {{"model.path", "https://vendor.example/m.pt", std::string(64, 'b')}};
  r.results[0].profile = p;
  r.results[0].overrides =
      nlohmann::json::array({{{"field", "confidence"}, {"profile_value", 0.95}, {"value", 0.9}}});
  const nlohmann::json st = gl::ToStatement(r);
  BOOST_TEST(st["predicate"]["results"][0]["profile"]["sha256"] == std::string(64, 'd'));
  BOOST_TEST(st["predicate"]["results"][1]["profile"].is_null());
  BOOST_TEST(st["predicate"]["criteria"]["remote_inputs"][0]["field"] == "model.path");
  std::string why;
  BOOST_TEST(ValidAgainstReportSchema(st, &why), why);
  const gl::Report back = gl::FromStatement(st);
  BOOST_TEST(gl::SerializeStatement(back) == gl::SerializeStatement(r));
  const std::string text = gl::ConsoleReporter(false).Render(r);
  BOOST_TEST(text.find("profile us-ugesp-four-fifths 1.0.0  sha256:dddddddddddddddd") !=
             std::string::npos);
  BOOST_TEST(text.find("ACC-01: overrides confidence of profile us-ugesp-four-fifths 1.0.0: "
                       "0.95 -> 0.9") != std::string::npos);
}

// A reference model is the second subject and a predicate field of its own; a report without one
// has neither (its bytes are those of a report written before references existed).
BOOST_AUTO_TEST_CASE(reference_model_is_a_second_subject) {
  gl::Report r = Sample();
  BOOST_TEST(!gl::ToStatement(r)["predicate"].contains("reference"));
  BOOST_TEST(gl::ToStatement(r)["subject"].size() == 1u);
  gl::Report::Model ref = *r.model;
  ref.path = "/models/fp32.pt";
  ref.sha256 = std::string(64, 'e');
  ref.parameters = 123;
  r.reference = ref;
  const nlohmann::json st = gl::ToStatement(r);
  BOOST_REQUIRE(st["subject"].size() == 2u);
  BOOST_TEST(st["subject"][1]["name"] == "fp32.pt");
  BOOST_TEST(st["subject"][1]["digest"]["sha256"] == std::string(64, 'e'));
  BOOST_TEST(st["predicate"]["reference"]["parameters"] == 123);
  std::string why;
  BOOST_TEST(ValidAgainstReportSchema(st, &why), why);
  const gl::Report back = gl::FromStatement(st);
  BOOST_REQUIRE(back.reference.has_value());
  BOOST_TEST(gl::SerializeStatement(back) == gl::SerializeStatement(r));
  const std::string text = gl::ConsoleReporter(false).Render(r);
  BOOST_TEST(text.find("reference /models/fp32.pt  sha256:eeeeeeeeeeeeeeee") != std::string::npos,
             text);
}

// A surrogate model (the transfer attacks' crafting model) is the third subject, after the
// reference, and a predicate field of its own; every format that lists the reference lists it.
BOOST_AUTO_TEST_CASE(surrogate_model_is_a_third_subject_listed_beside_the_reference) {
  gl::Report r = Sample();
  gl::Report::Model ref = *r.model;
  ref.path = "/models/fp32.pt";
  ref.sha256 = std::string(64, 'e');
  r.reference = ref;
  gl::Report::Model surrogate = *r.model;
  surrogate.path = "/models/student.pt";
  surrogate.sha256 = std::string(64, 'f');
  surrogate.parameters = 45;
  r.surrogate = surrogate;
  const nlohmann::json st = gl::ToStatement(r);
  BOOST_REQUIRE(st["subject"].size() == 3u);
  BOOST_TEST(st["subject"][1]["name"] == "fp32.pt");
  BOOST_TEST(st["subject"][2]["name"] == "student.pt");
  BOOST_TEST(st["subject"][2]["digest"]["sha256"] == std::string(64, 'f'));
  BOOST_TEST(st["predicate"]["surrogate"]["parameters"] == 45);
  std::string why;
  BOOST_TEST(ValidAgainstReportSchema(st, &why), why);
  const gl::Report back = gl::FromStatement(st);
  BOOST_REQUIRE(back.surrogate.has_value());
  BOOST_TEST(back.surrogate->path == "/models/student.pt");
  BOOST_TEST(gl::SerializeStatement(back) == gl::SerializeStatement(r));
  int listing_the_reference = 0;
  for (const std::string& format : gl::BuiltinReporters().names()) {
    const std::string text = gl::BuiltinReporters().Make(format, {})->Render(r);
    if (text.find(std::string(16, 'e')) == std::string::npos) continue;
    ++listing_the_reference;
    BOOST_TEST(text.find(std::string(16, 'f')) != std::string::npos, format << ":\n" << text);
  }
  BOOST_TEST(listing_the_reference >= 6);  // console, html, json, junit, markdown, sarif.
}

BOOST_AUTO_TEST_CASE(schema_rejects_broken_reports) {
  nlohmann::json st = gl::ToStatement(Sample());
  st["predicate"]["results"][0]["status"] = "MAYBE";
  std::string why;
  BOOST_TEST(!ValidAgainstReportSchema(st, &why));
  st = gl::ToStatement(Sample());
  st["subject"][0]["digest"]["sha256"] = "xyz";
  BOOST_TEST(!ValidAgainstReportSchema(st, &why));
}

BOOST_AUTO_TEST_CASE(from_statement_names_the_bad_field) {
  nlohmann::json st = gl::ToStatement(Sample());
  st["predicate"]["criteria"].erase("sha256");
  try {
    gl::FromStatement(st);
    BOOST_FAIL("accepted");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()) == "predicate.criteria: missing field 'sha256'");
  }
}

// Counts outside their type's range, or not integers, are input errors: nlohmann's own conversion
// of 4.4e46 to int64_t is undefined behaviour (found by fuzz_show_json under UBSan).
BOOST_AUTO_TEST_CASE(from_statement_checks_integer_fields) {
  auto error_of = [](const std::string& field, const nlohmann::json& value) {
    nlohmann::json st = gl::ToStatement(Sample());
    st["predicate"]["dataset"][field] = value;
    try {
      gl::FromStatement(st);
    } catch (const gl::InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  BOOST_TEST(error_of("rows", 4.4444e46) == "predicate.dataset.rows: not an integer");
  BOOST_TEST(error_of("rows", nlohmann::json(18446744073709551615ULL)) ==
             "predicate.dataset.rows: integer 18446744073709551615 out of range");
  BOOST_TEST(error_of("rows", "12") == "predicate.dataset.rows: not an integer");
  BOOST_TEST(error_of("rows", 12) == "accepted");
  nlohmann::json st = gl::ToStatement(Sample());
  st["predicate"]["seed"] = -1;  // The seed is unsigned.
  try {
    gl::FromStatement(st);
    BOOST_FAIL("accepted");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()) == "predicate.seed: integer -1 out of range");
  }
}

BOOST_AUTO_TEST_CASE(from_statement_checks_overrides) {
  // A report's overrides are [{field, profile_value, value}]; anything else is bad input, not a
  // crash in the console table that prints them.
  auto error_of = [](const nlohmann::json& overrides) {
    nlohmann::json st = gl::ToStatement(Sample());
    st["predicate"]["results"][0]["overrides"] = overrides;
    try {
      const gl::Report r = gl::FromStatement(st);
      return "accepted: " + gl::ConsoleReporter(false).Render(r);
    } catch (const gl::InputError& e) {
      return std::string(e.what());
    }
  };
  BOOST_TEST(error_of(7) == "predicate.results[ACC-01].overrides: not an array");
  BOOST_TEST(error_of({3}) == "predicate.results[ACC-01].overrides[0]: not an object");
  BOOST_TEST(error_of({{{"field", 1}, {"profile_value", 0.9}, {"value", 0.8}}})
                 .rfind("predicate.results[ACC-01].overrides[0].field: ", 0) == 0);
  BOOST_TEST(error_of({{{"field", "threshold"}, {"value", 0.8}}}) ==
             "predicate.results[ACC-01].overrides[0]: missing field 'profile_value'");
  const std::string ok =
      error_of({{{"field", "threshold"}, {"profile_value", 0.9}, {"value", 0.8}}});
  BOOST_TEST(ok.find("ACC-01: overrides threshold of profile ?: 0.9 -> 0.8") != std::string::npos,
             ok);
}

BOOST_AUTO_TEST_CASE(renderers_name_the_criterion_whose_details_are_malformed) {
  // Details of a shape no audit writes (a hand-edited report.json): the charts of the html format
  // read the group's name as a string. Every format either renders or says which criterion.
  gl::Report r = Sample();
  r.results[0].details = {{"groups", {{{"group", 5}, {"selection_rate", {{"value", 0.5}}}}}}};
  try {
    gl::BuiltinReporters().Make("html", {})->Render(r);
    BOOST_FAIL("rendered");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()).rfind(
                   "report: results[0] (criterion 'ACC-01'): a field has the wrong type: ", 0) == 0,
               e.what());
  }
  for (const std::string& format : gl::BuiltinReporters().names()) {
    if (format == "html") continue;
    BOOST_CHECK_NO_THROW(gl::BuiltinReporters().Make(format, {})->Render(r));
  }
}

BOOST_AUTO_TEST_CASE(console_table_lists_every_result) {
  const std::string text = gl::ConsoleReporter(false).Render(Sample());
  BOOST_TEST(text.find("ACC-01") != std::string::npos);
  BOOST_TEST(text.find("in [0.8, 0.9]") != std::string::npos);
  BOOST_TEST(text.find("[0.3, 0.7]") != std::string::npos);
  BOOST_TEST(text.find("verdict: FAIL") != std::string::npos);
  BOOST_TEST(text.find("\033[") == std::string::npos);  // No colour when asked for none.
  BOOST_TEST(gl::ConsoleReporter(true).Render(Sample()).find("\033[31mFAIL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(console_table_states_levels_and_marks_estimates) {
  gl::Report r = Sample();
  // One level: in the header.
  std::string text = gl::ConsoleReporter(false).Render(r);
  BOOST_TEST(text.find("INTERVAL (95%)") != std::string::npos, text);
  BOOST_TEST(text.find("~ estimated") == std::string::npos, text);
  // Two levels: after each interval; an estimate is marked and its method listed.
  gl::CriterionResult e = r.results[0];
  e.id = "NRG-01";
  e.value = 12.5;
  e.unit = "mJ";
  e.interval = gl::Interval{6.25, 25, 0.9, "estimate-band"};
  e.method = "estimate:cpu-time";
  r.results.push_back(e);
  text = gl::ConsoleReporter(false).Render(r);
  BOOST_TEST(text.find("INTERVAL (") == std::string::npos, text);
  BOOST_TEST(text.find("[0.3, 0.7] 95%") != std::string::npos, text);
  BOOST_TEST(text.find("12.5 mJ ~") != std::string::npos, text);
  BOOST_TEST(text.find("[6.25, 25] 90%") != std::string::npos, text);
  BOOST_TEST(text.find("~ estimated, not measured: estimate:cpu-time\n") != std::string::npos,
             text);
  BOOST_TEST(text.find("What the metrics measure") == std::string::npos, text);
  // `show` explains each metric once, in plain words.
  text = gl::ConsoleReporter(false, /*explain=*/true).Render(r);
  BOOST_TEST(
      text.find("What the metrics measure:\n"
                "  accuracy  Accuracy: share of correct predictions\n\n") != std::string::npos,
      text);
}

BOOST_AUTO_TEST_CASE(audited_rows_sentence_and_selection_round_trip) {
  gl::Report r = Sample();
  BOOST_TEST(gl::AuditedRowsText(r.dataset) == "audited 5 of 12,000 rows: random 5 (seed 7)");
  r.dataset.rows = 600;
  r.dataset.total_rows = 10000;
  r.dataset.selection = gl::Report::Dataset::Selection{"first", "limit", 600, std::nullopt, {}};
  BOOST_TEST(gl::AuditedRowsText(r.dataset) == "audited 600 of 10,000 rows: first 600");
  r.dataset.rows = r.dataset.total_rows.value();
  r.dataset.selection = gl::Report::Dataset::Selection{"all", "", 10000, std::nullopt, {}};
  BOOST_TEST(gl::AuditedRowsText(r.dataset) == "audited 10,000 of 10,000 rows: all rows");
  r.dataset.rows = 1000;
  r.dataset.selection = gl::Report::Dataset::Selection{
      "stratified", "sample", 1000, 3, {{0, 9000, 900}, {1, 1000, 100}}};
  BOOST_TEST(gl::AuditedRowsText(r.dataset) ==
             "audited 1,000 of 10,000 rows: stratified by label, 1,000 (seed 3)");
  const nlohmann::json st = gl::ToStatement(r);
  BOOST_TEST(st["predicate"]["dataset"]["selection"]["strata"][1]["rows_drawn"] == 100);
  std::string why;
  BOOST_TEST(ValidAgainstReportSchema(st, &why), why);
  BOOST_TEST(gl::SerializeStatement(gl::FromStatement(st)) == gl::SerializeStatement(r));
  BOOST_TEST(gl::ConsoleReporter().Render(r).find("audited 1,000 of 10,000 rows") !=
             std::string::npos);
  // A report written before the selection was recorded still reads and says what it lacks.
  nlohmann::json old = st;
  old["predicate"]["dataset"].erase("total_rows");
  old["predicate"]["dataset"].erase("selection");
  BOOST_TEST(gl::AuditedRowsText(gl::FromStatement(old).dataset) ==
             "audited 1,000 rows (the file's rows and the selection not recorded)");
  // The schema wants a seed for a random selection.
  nlohmann::json no_seed = st;
  no_seed["predicate"]["dataset"]["selection"].erase("seed");
  BOOST_TEST(!ValidAgainstReportSchema(no_seed, &why));
}

BOOST_AUTO_TEST_CASE(reporters_are_chosen_by_name) {
  const gl::ReporterRegistry& reporters = gl::BuiltinReporters();
  BOOST_TEST(reporters.names() == (std::vector<std::string>{"console", "github", "html", "json",
                                                            "junit", "markdown", "sarif"}),
             boost::test_tools::per_element());
  const std::string json = reporters.Make("json", {})->Render(Sample());
  std::string why;
  BOOST_TEST(ValidAgainstReportSchema(nlohmann::json::parse(json), &why), why);
  BOOST_TEST(nlohmann::json::parse(json)["predicate"]["results"][0]["id"] == "ACC-01");
  const std::string table = reporters.Make("console", {.color = true})->Render(Sample());
  BOOST_TEST(table.find("\033[31mFAIL") != std::string::npos);
  try {
    reporters.Make("xml", {});
    BOOST_FAIL("an unknown format must be bad input");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()) ==
               "unknown report format 'xml' (known: console, github, html, json, junit, markdown, "
               "sarif)");
  }
  gl::ReporterRegistry twice;
  gl::RegisterBuiltinReporters(twice);
  BOOST_CHECK_THROW(gl::RegisterBuiltinReporters(twice), std::logic_error);
}
