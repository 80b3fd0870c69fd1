#define BOOST_TEST_MODULE engine
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "core/stats.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "engine/plan.h"
#include "engine/verdict.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;
using gl::Status;

namespace {

gl::Criterion Make(const std::string& op, double value, std::optional<double> confidence,
                   gl::Severity severity = gl::Severity::kMandatory) {
  gl::Criterion c;
  c.id = "C";
  c.metric = "accuracy";
  c.threshold.op = op;
  c.threshold.value = value;
  c.confidence = confidence;
  c.severity = severity;
  return c;
}

gl::Measurement Value(double v, double lo, double hi) {
  gl::Measurement m;
  m.value = v;
  m.interval = gl::Interval{lo, hi, 0.95, "test"};
  return m;
}

const std::string kHeader =
    "apiVersion: greenlight/v1\n"
    "kind: Criteria\n"
    "metadata: {name: t, version: '1'}\n"
    "model:\n"
    "  path: m.pt\n"
    "  output: logits\n"
    "  input: {shape: [1, 28, 28]}\n"
    "dataset: {format: idx, images: i.gz, labels: l.gz}\n";

std::string LoadError(const std::string& yaml) {
  t::TempDir dir;
  t::WriteText(dir / "c.yaml", yaml);
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  try {
    gl::LoadCriteria(dir / "c.yaml", registry);
  } catch (const gl::InputError& e) {
    // Strip the temporary directory so expectations read naturally.
    std::string msg = e.what();
    const std::string prefix = (dir / "c.yaml").string();
    if (msg.rfind(prefix, 0) == 0) msg = "c.yaml" + msg.substr(prefix.size());
    return msg;
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(verdicts)

BOOST_AUTO_TEST_CASE(point_estimate_decides_without_confidence) {
  BOOST_TEST((gl::Judge(Make("gte", 0.85, {}), Value(0.86, 0.80, 0.90)).status == Status::kPass));
  BOOST_TEST((gl::Judge(Make("gte", 0.85, {}), Value(0.84, 0.80, 0.90)).status == Status::kFail));
  BOOST_TEST((gl::Judge(Make("lt", 10, {}), Value(10, 9, 11)).status == Status::kFail));
  BOOST_TEST((gl::Judge(Make("lte", 10, {}), Value(10, 9, 11)).status == Status::kPass));
}

BOOST_AUTO_TEST_CASE(interval_decides_with_confidence) {
  BOOST_TEST((gl::Judge(Make("gte", 0.85, 0.95), Value(0.9, 0.86, 0.93)).status == Status::kPass));
  BOOST_TEST((gl::Judge(Make("gte", 0.85, 0.95), Value(0.86, 0.84, 0.88)).status ==
              Status::kInconclusive));
  BOOST_TEST(
      (gl::Judge(Make("gte", 0.85, 0.95), Value(0.80, 0.78, 0.849)).status == Status::kFail));
  BOOST_TEST((gl::Judge(Make("lt", 5, 0.95), Value(4, 3, 5)).status == Status::kInconclusive));
  gl::Criterion between = Make("between", 0.8, 0.95);
  between.threshold.high = 1.25;
  BOOST_TEST((gl::Judge(between, Value(1.0, 0.9, 1.1)).status == Status::kPass));
  BOOST_TEST((gl::Judge(between, Value(1.3, 1.26, 1.4)).status == Status::kFail));
  BOOST_TEST((gl::Judge(between, Value(1.2, 1.1, 1.3)).status == Status::kInconclusive));
}

// One-sided thresholds are decided by one-sided bounds: with confidence c the interval is
// measured at 2c - 1, whose ends are one-sided c-bounds; between/eq keep the two-sided c-interval.
BOOST_AUTO_TEST_CASE(one_sided_thresholds_use_one_sided_bounds) {
  BOOST_TEST(gl::IntervalLevel(Make("gte", 0.85, 0.95)) == 0.9,
             boost::test_tools::tolerance(1e-15));
  BOOST_TEST(gl::IntervalLevel(Make("lt", 0.1, 0.99)) == 0.98, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(gl::IntervalLevel(Make("between", 0.8, 0.95)) == 0.95);
  BOOST_TEST(gl::IntervalLevel(Make("eq", 0.0, 0.9)) == 0.9);
  BOOST_TEST(gl::IntervalLevel(Make("gte", 0.85, {})) == 0.95);

  // 91 correct of 100 against gte 0.85 at 95 %. By hand, with z = 1.644854 (one-sided 95 %):
  // centre = (0.91 + z^2/200) / (1 + z^2/100) = 0.899200, half-width =
  // z sqrt(0.91 * 0.09 / 100 + z^2/40000) / (1 + z^2/100) = 0.047688, lower bound 0.851512 > 0.85:
  // PASS. The two-sided 95 % interval (z = 1.96) starts at 0.837738 and would have left it
  // INCONCLUSIVE although the claim "accuracy >= 0.85" is one-sided.
  const gl::Criterion acc = Make("gte", 0.85, 0.95);
  gl::Measurement m;
  m.value = 0.91;
  m.interval = gl::stats::WilsonInterval(91, 100, gl::IntervalLevel(acc));
  BOOST_TEST(std::abs(m.interval->low - 0.851512) < 2e-6);
  BOOST_TEST(std::abs(gl::stats::WilsonInterval(91, 100, 0.95).low - 0.837738) < 2e-6);
  const gl::Judgement j = gl::Judge(acc, m);
  BOOST_TEST((j.status == Status::kPass));
  BOOST_TEST(j.message.find("one-sided 95% lower bound 0.851512") != std::string::npos, j.message);

  // gte: PASS needs the lower bound on the passing side, FAIL the upper bound on the failing side.
  BOOST_TEST((gl::Judge(acc, Value(0.87, 0.86, 0.88)).status == Status::kPass));
  BOOST_TEST((gl::Judge(acc, Value(0.86, 0.84, 0.88)).status == Status::kInconclusive));
  BOOST_TEST((gl::Judge(acc, Value(0.83, 0.82, 0.849)).status == Status::kFail));
  // lte mirrors it: PASS needs the upper bound at or below, FAIL the lower bound above.
  const gl::Criterion gap = Make("lte", 0.1, 0.95);
  BOOST_TEST((gl::Judge(gap, Value(0.05, 0.0, 0.1)).status == Status::kPass));
  BOOST_TEST((gl::Judge(gap, Value(0.08, 0.0, 0.26)).status == Status::kInconclusive));
  BOOST_TEST((gl::Judge(gap, Value(0.2, 0.12, 0.3)).status == Status::kFail));
  // gt/lt are strict at the bound.
  BOOST_TEST(
      (gl::Judge(Make("gt", 0.85, 0.95), Value(0.9, 0.85, 0.95)).status == Status::kInconclusive));
  BOOST_TEST(
      (gl::Judge(Make("lt", 0.1, 0.95), Value(0.05, 0.0, 0.1)).status == Status::kInconclusive));
}

BOOST_AUTO_TEST_CASE(an_interval_without_its_estimate_is_an_error) {
  const gl::Judgement j = gl::Judge(Make("lte", 0.1, 0.95), Value(0.0053, 0.0097, 0.148));
  BOOST_TEST((j.status == Status::kError));
  BOOST_TEST(j.message.find("does not contain the estimate 0.0053") != std::string::npos,
             j.message);
}

BOOST_AUTO_TEST_CASE(an_undecided_interval_says_what_would_decide) {
  // A sampling interval: more data narrows it.
  const auto sampling = gl::Judge(Make("gte", 0.85, 0.95), Value(0.86, 0.84, 0.88));
  BOOST_TEST(sampling.message.find("more data (rows, queries, repetitions) narrows") !=
             std::string::npos);
  // A systematic band (the energy estimate's): the auditor's note replaces that advice, and no
  // message asks for more samples.
  gl::Measurement band = Value(10.0, 5.0, 20.0);
  band.message = "the band does not shrink with samples";
  const auto j = gl::Judge(Make("lte", 12.0, 0.95), band);
  BOOST_TEST((j.status == Status::kInconclusive));
  BOOST_TEST(j.message.find("straddle") != std::string::npos, j.message);
  BOOST_TEST(j.message.find("the band does not shrink with samples") != std::string::npos);
  BOOST_TEST(j.message.find("more data") == std::string::npos, j.message);
  BOOST_TEST(j.message.find("more samples are needed") == std::string::npos, j.message);
}

BOOST_AUTO_TEST_CASE(advisory_failures_warn_and_undefined_is_inconclusive) {
  const auto advisory = Make("gte", 0.85, {}, gl::Severity::kAdvisory);
  BOOST_TEST((gl::Judge(advisory, Value(0.5, 0.4, 0.6)).status == Status::kWarn));
  gl::Measurement undefined;
  BOOST_TEST((gl::Judge(advisory, undefined).status == Status::kInconclusive));
  // Evidence a metric marks undecidable is INCONCLUSIVE whatever the value, with its reason, and
  // an advisory criterion does not soften it.
  gl::Measurement undecidable = Value(0.99, 0.98, 1.0);
  undecidable.undecidable = "the run was cut short";
  const gl::Judgement j = gl::Judge(Make("gte", 0.85, {}), undecidable);
  BOOST_TEST((j.status == Status::kInconclusive));
  BOOST_TEST(j.message == "the run was cut short");
  BOOST_TEST((gl::Judge(advisory, undecidable).status == Status::kInconclusive));
}

BOOST_AUTO_TEST_CASE(overall_verdict_order) {
  using J = gl::JudgedCriterion;
  const auto M = gl::Severity::kMandatory;
  const auto A = gl::Severity::kAdvisory;
  auto verdict = [](std::vector<J> v) { return gl::OverallVerdict(v); };
  BOOST_TEST((verdict({{M, Status::kPass}, {A, Status::kWarn}}) == Status::kPass));
  BOOST_TEST((verdict({{M, Status::kError}, {M, Status::kFail}}) == Status::kFail));
  BOOST_TEST((verdict({{M, Status::kInconclusive}, {M, Status::kError}}) == Status::kError));
  BOOST_TEST((verdict({{M, Status::kInconclusive}, {A, Status::kError}}) == Status::kInconclusive));
  BOOST_TEST((verdict({{M, Status::kPass}, {M, Status::kSkipped}}) == Status::kPass));
  BOOST_TEST(static_cast<int>(gl::ExitCodeFor(Status::kInconclusive)) == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(loader)

BOOST_AUTO_TEST_CASE(errors_name_file_line_column_and_field) {
  BOOST_TEST(
      LoadError(kHeader + "criteria:\n  - id: A\n    metric: acuracy\n    threshold: {gte: 0.8}\n"
                          "    severity: mandatory\n") ==
      "c.yaml:11:13: criteria.0.metric: unknown metric 'acuracy' (did you mean 'accuracy'?); "
      "`greenlight metrics` lists them all");
  BOOST_TEST(LoadError(kHeader +
                       "criteria:\n  - id: A\n    metric: accuracy\n    threshold: {gte: 0.8}\n"
                       "    severity: mandatory\n  - id: A\n    metric: accuracy\n"
                       "    threshold: {gte: 0.8}\n    severity: mandatory\n") ==
             "c.yaml:14:9: criteria.1.id: duplicate criterion id 'A'");
  BOOST_TEST(LoadError(kHeader +
                       "criteria:\n  - id: A\n    metric: top_k_accuracy\n    params: {k: two}\n"
                       "    threshold: {gte: 0.8}\n    severity: mandatory\n") ==
             "c.yaml:12:17: criteria.0.params.k: expected integer, got string \"two\"");
  BOOST_TEST(
      LoadError(kHeader +
                "criteria:\n  - id: A\n    metric: precision\n    params: {average: mean}\n"
                "    threshold: {gte: 0.8}\n    severity: mandatory\n") ==
      "c.yaml:12:23: criteria.0.params.average: 'mean' is not one of: macro, weighted, micro");
  // Domains are checked when binding, at the parameter's position.
  BOOST_TEST(LoadError(kHeader +
                       "criteria:\n  - id: A\n    metric: top_k_accuracy\n    params: {k: 0}\n"
                       "    threshold: {gte: 0.8}\n    severity: mandatory\n") ==
             "c.yaml:12:17: criteria.0.params.k: must be at least 1, got 0");
  BOOST_TEST(LoadError(kHeader + "criteria:\n  - id: A\n    metric: f1\n"
                                 "    params: {average: macro, bootstrap_resamples: 99}\n"
                                 "    threshold: {gte: 0.8}\n    severity: mandatory\n") ==
             "c.yaml:12:51: criteria.0.params.bootstrap_resamples: must be at least 100, got 99");
  BOOST_TEST(LoadError(kHeader + "criteria:\n  - id: A\n    metric: recall\n    params: {clas: 1}\n"
                                 "    threshold: {gte: 0.8}\n    severity: mandatory\n") ==
             "c.yaml:12:20: criteria.0.params.clas: unknown parameter (known: average, class, "
             "interval, bootstrap_resamples)");
}

// The plan gives criteria that need the same work one item: every accuracy-family metric reads
// the one outputs pass. Bound parameters are typed and carry exact keys.
BOOST_AUTO_TEST_CASE(plan_shares_work_and_binds_typed_params) {
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               kHeader +
                   "criteria:\n"
                   "  - {id: A, metric: accuracy, threshold: {gte: 0.8}, severity: mandatory}\n"
                   "  - {id: B, metric: top_k_accuracy, params: {k: 3}, threshold: {gte: 0.8},"
                   " severity: mandatory}\n"
                   "  - {id: C, metric: latency_p50_ms, threshold: {lte: 5}, severity: advisory}\n"
                   "  - {id: D, metric: f1, params: {class: 2}, threshold: {gte: 0.8},"
                   " severity: mandatory}\n");
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::CriteriaFile file = gl::LoadCriteria(dir / "c.yaml", registry);
  BOOST_REQUIRE(file.criteria[1].bound != nullptr);
  BOOST_TEST(file.criteria[1].bound->key() == "{\"k\":3}");
  BOOST_REQUIRE(file.criteria[2].bound != nullptr);  // The timed-run metrics bind too.
  BOOST_TEST(file.criteria[2].params["min_queries"] == 1024);
  BOOST_TEST(file.criteria[3].params == (nlohmann::json{{"average", "macro"},
                                                        {"class", 2},
                                                        {"interval", "delta"},
                                                        {"bootstrap_resamples", 1000}}));
  const gl::AuditPlan plan(file.criteria, registry);
  BOOST_REQUIRE(plan.items().size() == 2u);
  BOOST_TEST(plan.items()[0].work->key() == "outputs");
  BOOST_TEST((plan.items()[0].criteria == std::vector<size_t>{0, 1, 3}));
  BOOST_TEST(plan.ItemOf(2) == &plan.items()[1]);
  BOOST_TEST(plan.items()[1].work->key().rfind("timed-run:", 0) == 0u);
}

// A run setting that contradicts another is a load error at the parameter's place.
BOOST_AUTO_TEST_CASE(timed_run_settings_are_checked_at_load) {
  const std::string error = LoadError(kHeader +
                                      "criteria:\n  - id: A\n    metric: latency_p50_ms\n"
                                      "    params: {batch_size: 4}\n"
                                      "    threshold: {lte: 5}\n    severity: mandatory\n");
  BOOST_TEST(error.find("c.yaml:12:") == 0u, error);
  BOOST_TEST(error.find("criteria.0.params.batch_size: single_stream queries have batch_size 1") !=
                 std::string::npos,
             error);
}

BOOST_AUTO_TEST_CASE(schema_rejections) {
  // Two threshold operators at once.
  const auto two_ops = LoadError(kHeader +
                                 "criteria:\n  - id: A\n    metric: accuracy\n"
                                 "    threshold: {gte: 0.8, lte: 0.9}\n    severity: mandatory\n");
  BOOST_TEST(two_ops.find("c.yaml:12:16: criteria.0.threshold: schema violation") == 0u, two_ops);
  // Unknown severity.
  const auto sev = LoadError(kHeader +
                             "criteria:\n  - id: A\n    metric: accuracy\n"
                             "    threshold: {gte: 0.8}\n    severity: sometimes\n");
  BOOST_TEST(sev.find("c.yaml:13:15: criteria.0.severity: schema violation") == 0u, sev);
  // Missing criteria list.
  const auto none = LoadError(kHeader);
  BOOST_TEST(none.find("schema violation") != std::string::npos, none);
  // Wrong apiVersion.
  const auto api = LoadError("apiVersion: greenlight/v0\n" +
                             kHeader.substr(kHeader.find('\n') + 1) + "criteria: []\n");
  BOOST_TEST(api.find("c.yaml:1:13: apiVersion: schema violation") == 0u, api);
}

BOOST_AUTO_TEST_CASE(defaults_and_relative_paths) {
  t::TempDir dir;
  t::WriteText(dir / "sub" / "c.yaml",
               kHeader +
                   "criteria:\n  - id: A\n    metric: top_k_accuracy\n    threshold: {gte: 0.8}\n"
                   "    severity: advisory\n    confidence: 0.9\n");
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const auto c = gl::LoadCriteria(dir / "sub" / "c.yaml", registry);
  BOOST_TEST(c.model->path == (dir / "sub" / "m.pt"));
  BOOST_TEST(c.criteria[0].params["k"].get<int>() == 5);
  BOOST_TEST(*c.criteria[0].confidence == 0.9);
  BOOST_TEST((c.criteria[0].severity == gl::Severity::kAdvisory));
  const auto overridden = gl::LoadCriteria(dir / "sub" / "c.yaml", registry, "/elsewhere/x.pt");
  BOOST_TEST(overridden.model->path == "/elsewhere/x.pt");
}

// reference: is read like model:, its output, input, format and device defaulting to the
// model's; --reference replaces its path or stands in for the section; a metric that compares
// with the reference is a load error without one, at the criterion's metric.
BOOST_AUTO_TEST_CASE(reference_model_section_and_override) {
  const std::string paired =
      "criteria:\n  - id: CMP-01\n    metric: accuracy_delta\n    threshold: {gte: -0.01}\n"
      "    severity: mandatory\n";
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               kHeader + "reference: {path: r.pt, output: probabilities}\n" + paired);
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const auto c = gl::LoadCriteria(dir / "c.yaml", registry);
  BOOST_REQUIRE(c.reference.has_value());
  BOOST_TEST(c.reference->path == dir / "r.pt");
  BOOST_TEST((c.reference->output == gl::OutputKind::kProbabilities));
  BOOST_TEST((c.reference->input_shape == std::vector<int64_t>{1, 28, 28}));
  BOOST_TEST(c.reference->device == "cpu");
  const auto overridden = gl::LoadCriteria(dir / "c.yaml", registry, std::nullopt,
                                           gl::BuiltinModelRegistry(), "/elsewhere/r.pt");
  BOOST_TEST(overridden.reference->path == "/elsewhere/r.pt");
  BOOST_TEST((overridden.reference->output == gl::OutputKind::kProbabilities));

  // Without a section, --reference is read as the model is.
  t::WriteText(dir / "bare.yaml", kHeader + paired);
  const auto bare = gl::LoadCriteria(dir / "bare.yaml", registry, std::nullopt,
                                     gl::BuiltinModelRegistry(), "/elsewhere/r.pt");
  BOOST_REQUIRE(bare.reference.has_value());
  BOOST_TEST((bare.reference->output == gl::OutputKind::kLogits));
  BOOST_TEST(bare.reference->path == "/elsewhere/r.pt");

  BOOST_TEST(LoadError(kHeader + paired) ==
             "c.yaml:11:13: criteria.0.metric: criterion CMP-01: metric 'accuracy_delta' "
             "compares with a reference model: add a reference: section (or --reference)");
  // accuracy_retention needs the reference model only without a declared reference_accuracy.
  BOOST_TEST(LoadError(kHeader + "criteria:\n  - id: R\n    metric: accuracy_retention\n"
                                 "    threshold: {gte: 0.99}\n    severity: mandatory\n") ==
             "c.yaml:11:13: criteria.0.metric: criterion R: metric 'accuracy_retention' "
             "compares with a reference model: add a reference: section (or --reference)");
  BOOST_TEST(LoadError(kHeader + "criteria:\n  - id: R\n    metric: accuracy_retention\n"
                                 "    params: {reference_accuracy: 0.88}\n"
                                 "    threshold: {gte: 0.99}\n    severity: mandatory\n") == "");
  BOOST_TEST(
      LoadError(kHeader + "reference: {path: r.pt, format: onnx}\n" + paired) ==
      "c.yaml:9:33: reference.format: unknown model format 'onnx' (known: causal_lm, torchscript)");
  const auto extra = LoadError(kHeader + "reference: {path: r.pt, outputs: logits}\n" + paired);
  BOOST_TEST(extra.find("c.yaml:9:") == 0u, extra);
  BOOST_TEST(extra.find("schema violation") != std::string::npos, extra);
  const auto range = LoadError(
      kHeader + "reference: {path: r.pt, input: {shape: [784], range: [1, 0]}}\n" + paired);
  BOOST_TEST(range.find("c.yaml:9:") == 0u, range);
  BOOST_TEST(
      range.find("reference.input.range: the range must be [low, high]") != std::string::npos,
      range);
}

// surrogate: is read like reference:, its output, input, format and device defaulting to the
// model's; --surrogate replaces its path or stands in for the section. craft_on: surrogate needs
// one, a surrogate needs a criterion that crafts on it, and it must take the model's input shape:
// each a load error at its place (line:col counted by hand in the YAML below).
BOOST_AUTO_TEST_CASE(surrogate_model_section_and_override) {
  const std::string attack =
      "criteria:\n  - id: T\n    metric: adversarial_accuracy\n    params: {craft_on: surrogate}\n"
      "    threshold: {gte: 0.0}\n    severity: advisory\n";
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               kHeader + "surrogate: {path: s.pt, output: log_probabilities}\n" + attack);
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const auto c = gl::LoadCriteria(dir / "c.yaml", registry);
  BOOST_REQUIRE(c.surrogate.has_value());
  BOOST_TEST(!c.reference.has_value());
  BOOST_TEST(c.surrogate->path == dir / "s.pt");
  BOOST_TEST((c.surrogate->output == gl::OutputKind::kLogProbabilities));
  BOOST_TEST((c.surrogate->input_shape == std::vector<int64_t>{1, 28, 28}));
  BOOST_TEST(c.surrogate->format == "torchscript");
  BOOST_TEST(c.surrogate->device == "cpu");
  const auto overridden =
      gl::LoadCriteria(dir / "c.yaml", registry, std::nullopt, gl::BuiltinModelRegistry(),
                       std::nullopt, "/elsewhere/s.pt");
  BOOST_TEST(overridden.surrogate->path == "/elsewhere/s.pt");
  BOOST_TEST((overridden.surrogate->output == gl::OutputKind::kLogProbabilities));
  // Without a section, --surrogate is read as the model is.
  t::WriteText(dir / "bare.yaml", kHeader + attack);
  const auto bare = gl::LoadCriteria(dir / "bare.yaml", registry, std::nullopt,
                                     gl::BuiltinModelRegistry(), std::nullopt, "/elsewhere/s.pt");
  BOOST_REQUIRE(bare.surrogate.has_value());
  BOOST_TEST((bare.surrogate->output == gl::OutputKind::kLogits));
  BOOST_TEST(bare.surrogate->path == "/elsewhere/s.pt");

  BOOST_TEST(LoadError(kHeader + attack) ==
             "c.yaml:11:13: criteria.0.metric: criterion T: metric 'adversarial_accuracy' crafts "
             "on a surrogate model: add a surrogate: section (or --surrogate)");
  BOOST_TEST(LoadError(kHeader + "surrogate: {path: s.pt}\n" +
                       "criteria:\n  - id: W\n    metric: adversarial_accuracy\n"
                       "    threshold: {gte: 0.0}\n    severity: advisory\n") ==
             "c.yaml:9:12: surrogate: no criterion crafts on the surrogate model (params: "
             "{craft_on: surrogate} on an attack metric): remove it");
  BOOST_TEST(LoadError(kHeader + "surrogate: {path: s.pt, input: {shape: [784]}}\n" + attack) ==
             "c.yaml:9:40: surrogate.input.shape: the surrogate must take the model's input shape "
             "(the adversarial inputs crafted on it are fed to the model)");
  BOOST_TEST(LoadError(kHeader + "surrogate: {path: s.pt, format: onnx}\n" + attack) ==
             "c.yaml:9:33: surrogate.format: unknown model format 'onnx' (known: causal_lm, "
             "torchscript)");
}

// The engine fills the one result type: NewOutcome copies the criterion's identity as the file
// states it (checked here against the YAML below, line numbers counted by hand), and
// RecordMeasurement judges a measurement into it.
BOOST_AUTO_TEST_CASE(the_engine_fills_the_result_from_the_criterion_and_the_measurement) {
  t::TempDir dir;
  // The profile's criterion P-1 is declared on line 5 of p.yaml.
  t::WriteText(dir / "p.yaml",
               "apiVersion: greenlight/v1\n"
               "kind: Profile\n"
               "metadata: {name: house, version: 2.1.0, description: d, authority: Rule 7}\n"
               "criteria:\n"
               "  - id: P-1\n"
               "    metric: accuracy\n"
               "    threshold: {gte: 0.8}\n"
               "    severity: mandatory\n"
               "    confidence: 0.95\n"
               "    reference: \"Rule 7(a)\"\n"
               "    overridable: [confidence]\n");
  // kHeader is 8 lines, so OWN is declared on line 12 of c.yaml.
  t::WriteText(dir / "c.yaml", kHeader +
                                   "extends: [{path: p.yaml}]\n"
                                   "overrides: {P-1: {confidence: 0.9}}\n"
                                   "criteria:\n"
                                   "  - id: OWN\n"
                                   "    metric: top_k_accuracy\n"
                                   "    params: {k: 2}\n"
                                   "    threshold: {between: [0.5, 0.75]}\n"
                                   "    severity: advisory\n"
                                   "    confidence: 0.9\n"
                                   "    reference: own clause\n");
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::CriteriaFile file = gl::LoadCriteria(dir / "c.yaml", registry);
  BOOST_REQUIRE(file.criteria.size() == 2u);

  const gl::CriterionOutcome p = gl::NewOutcome(file.criteria[0], registry);
  const gl::CriterionResult& a = p.result;
  BOOST_TEST(a.id == "P-1");
  BOOST_TEST(a.metric == "accuracy");
  BOOST_TEST(a.concern == "safety");
  BOOST_TEST(a.unit == "ratio");
  BOOST_TEST(a.severity == "mandatory");
  BOOST_TEST(a.threshold.op == "gte");
  BOOST_TEST(a.threshold.value == 0.8);
  BOOST_TEST(!a.threshold.high.has_value());
  BOOST_REQUIRE(a.confidence.has_value());
  BOOST_TEST(*a.confidence == 0.9);  // The file's override, not the profile's 0.95.
  BOOST_TEST(a.reference == "Rule 7(a)");
  BOOST_REQUIRE(a.profile.has_value());
  BOOST_TEST(a.profile->name == "house");
  BOOST_TEST(a.profile->version == "2.1.0");
  BOOST_TEST(a.profile->authority == "Rule 7");
  BOOST_TEST(a.profile->source == "p.yaml");
  BOOST_TEST(
      a.overrides ==
      nlohmann::json::parse(R"([{"field": "confidence", "profile_value": 0.95, "value": 0.9}])"));
  BOOST_REQUIRE(a.line.has_value());
  BOOST_TEST(*a.line == 5);  // In the profile's file: the report points there.
  BOOST_TEST(std::filesystem::path(a.line_file).filename() == "p.yaml");
  // Nothing measured yet: the measurement fields keep their defaults.
  BOOST_TEST(!a.value.has_value());
  BOOST_TEST(a.samples == 0);
  BOOST_TEST(a.method.empty());
  BOOST_TEST(a.details == nlohmann::json::object());

  gl::CriterionOutcome own = gl::NewOutcome(file.criteria[1], registry);
  gl::CriterionResult& b = own.result;
  BOOST_TEST(b.id == "OWN");
  BOOST_TEST(b.severity == "advisory");
  BOOST_TEST(b.threshold.op == "between");
  BOOST_TEST(b.threshold.value == 0.5);
  BOOST_REQUIRE(b.threshold.high.has_value());
  BOOST_TEST(*b.threshold.high == 0.75);
  BOOST_TEST(b.params["k"] == 2);
  BOOST_TEST(!b.profile.has_value());
  BOOST_TEST(b.overrides == nlohmann::json::array());
  BOOST_REQUIRE(b.line.has_value());
  BOOST_TEST(*b.line == 12);
  BOOST_TEST(b.line_file.empty());  // The criteria file itself.

  // A measurement wholly inside [0.5, 0.75] passes; its fields land in the result as measured,
  // the unit coming from the metric when the measurement names none.
  gl::Measurement m = Value(0.6, 0.55, 0.65);
  m.samples = 123;
  m.method = "hand";
  m.deterministic = false;
  m.details = {{"k", 2}};
  gl::RecordMeasurement(file.criteria[1], m, "ratio", b);
  BOOST_TEST(gl::StatusName(b.status) == "PASS");
  BOOST_TEST(*b.value == 0.6);
  BOOST_TEST(b.interval->low == 0.55);
  BOOST_TEST(b.interval->high == 0.65);
  BOOST_TEST(b.samples == 123);
  BOOST_TEST(b.method == "hand");
  BOOST_TEST(!b.deterministic);
  BOOST_TEST(b.unit == "ratio");
  BOOST_TEST(b.details == (nlohmann::json{{"k", 2}}));
  BOOST_TEST(b.message == "interval [0.55, 0.65] at 90% satisfies in [0.5, 0.75]");
  // Wholly outside: an advisory criterion's FAIL is WARN. Undecidable evidence: INCONCLUSIVE
  // with the metric's reason as the message.
  gl::RecordMeasurement(file.criteria[1], Value(0.9, 0.85, 0.95), "ratio", b);
  BOOST_TEST(gl::StatusName(b.status) == "WARN");
  BOOST_TEST(b.message == "interval [0.85, 0.95] at 90% lies wholly outside in [0.5, 0.75]");
  gl::Measurement undecided = Value(0.6, 0.55, 0.65);
  undecided.undecidable = "run-length minimums not met";
  gl::RecordMeasurement(file.criteria[1], undecided, "ratio", b);
  BOOST_TEST(gl::StatusName(b.status) == "INCONCLUSIVE");
  BOOST_TEST(b.message == "run-length minimums not met");
}

BOOST_AUTO_TEST_CASE(every_shipped_criteria_file_validates) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(t::SourceDir() / "criteria")) {
    if (e.path().extension() != ".yaml") continue;
    BOOST_TEST_CONTEXT(e.path()) { BOOST_CHECK_NO_THROW(gl::LoadCriteria(e.path(), registry)); }
    ++files;
  }
  BOOST_TEST(files >= 1);
}

BOOST_AUTO_TEST_SUITE_END()
