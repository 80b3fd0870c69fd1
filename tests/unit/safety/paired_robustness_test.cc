// metric_delta and metric_retention of robustness metrics, paired by their per-row outcomes
// (auditors/paired_outcomes.h): the attack or the corruption run is run for the model and for the
// reference model over the same rows. Checked against the same attacks and corruption written
// directly in PyTorch (paired_robustness_reference.py): each model's count of rows still classified
// correctly, hence each side's value and their difference and ratio; the int8 model, which has no
// gradients, is refused white-box with the way out named, and measured with craft_on: reference
// and with craft_on: surrogate.
// The statistics of row ranges merge, in row order and through JSON, into the single run's.
#include <boost/math/distributions/normal.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "auditors/metric.h"
#include "core/error.h"
#include "safety_test_util.h"
#include "tests/unit/engine/details_schemas.h"

namespace greenlight {
namespace {

namespace st = safety_test;
namespace tt = boost::test_tools;

// One gradient batch and one evaluation batch, as the PyTorch reference runs them.
constexpr int64_t kRows = 128;
constexpr uint64_t kSeed = 20261130;

std::filesystem::path Example(const std::string& name) {
  return st::SourceDir() / "examples" / "models" / name;
}

// The audited `model` with `reference` as the criteria's reference model, on the first rows.
struct PairFixture {
  PairFixture(const std::string& model_name, const std::string& reference_name)
      : model(Load(model_name)),
        reference(Load(reference_name)),
        data(st::FashionTest(kRows)),
        ctx(model.get(), *data, kSeed, nullptr) {
    ctx.SetReference(reference.get());
    RegisterBuiltinAuditors(registry);
  }
  static std::unique_ptr<Model> Load(const std::string& name) {
    return LoadTorchScriptModel(st::ImageModelSpec(Example(name), OutputKind::kLogProbabilities));
  }
  const Metric& Find(const std::string& name) const {
    const Metric* m = FindFrameworkMetric(registry, name);
    BOOST_REQUIRE(m != nullptr);
    return *m;
  }
  // The comparison's work, run once.
  std::shared_ptr<const WorkRecord> Record(const std::string& comparison, const nlohmann::json& p) {
    const Metric& metric = Find(comparison);
    return metric.Needs(*metric.Bind(p))->Run(ctx, {});
  }
  Measurement Measure(const std::string& comparison, const nlohmann::json& p,
                      const WorkRecord& record) const {
    const Metric& metric = Find(comparison);
    FinalizeContext fc;
    fc.seed = kSeed;
    return MeasureRows(metric, *metric.Bind(p), {record, nullptr, {0, record.rows()}}, fc);
  }
  AuditorRegistry registry;
  std::unique_ptr<Model> model, reference;
  std::unique_ptr<Dataset> data;
  AuditContext ctx;
};

// The PyTorch counts {model_correct, reference_correct}.
nlohmann::json Reference(const std::string& model, const std::string& reference,
                         const std::string& kind, double arg, const std::string& craft = "") {
  const std::string cmd =
      std::string(GREENLIGHT_PYTHON) + " " +
      (st::SourceDir() / "tests/unit/safety/paired_robustness_reference.py").string() + " " +
      Example(model).string() + " " + Example(reference).string() + " " + st::FashionImages() +
      " " + st::FashionLabels() + " " + std::to_string(kRows) + " " + kind + " " +
      std::to_string(arg) + (craft.empty() ? "" : " " + Example(craft).string());
  return nlohmann::json::parse(st::Capture(cmd));
}

void CheckDetailsSchema(const std::string& metric, const Measurement& m) {
  static testing::DetailsSchemas schemas;
  const std::string errors = schemas.Errors(metric, m.details);
  BOOST_TEST(errors.empty(), metric << ": " << errors << "\ndetails: " << m.details.dump());
}

// Each side's value is the PyTorch count over the rows; the comparison is their difference (or
// ratio), with an interval that contains it.
void CheckAgainst(const Measurement& delta, const Measurement& retention,
                  const nlohmann::json& py) {
  const double model = py.at("model_correct").get<double>() / kRows;
  const double reference = py.at("reference_correct").get<double>() / kRows;
  BOOST_TEST_MESSAGE(delta.details.at("metric").get<std::string>()
                     << ": model " << model << ", reference " << reference << "; delta "
                     << *delta.value << " [" << delta.interval->low << ", " << delta.interval->high
                     << "], retention " << *retention.value);
  BOOST_TEST(delta.details["model"]["value"].get<double>() == model);
  BOOST_TEST(delta.details["reference"]["value"].get<double>() == reference);
  BOOST_REQUIRE(delta.value && delta.interval && retention.value && retention.interval);
  BOOST_TEST(*delta.value == model - reference);
  BOOST_TEST(*retention.value == model / reference);
  for (const Measurement* m : {&delta, &retention}) {
    BOOST_TEST(m->samples == kRows);
    BOOST_TEST(m->interval->low <= *m->value);
    BOOST_TEST(*m->value <= m->interval->high);
    // A 0/1 outcome per row: the paired 2x2 table equals PyTorch's, and the intervals are
    // Bonett and Price's adjusted ones, recomputed here from PyTorch's table.
    const nlohmann::json& table = m->details.at("paired_table");
    for (const char* cell : {"both_correct", "model_only_correct", "reference_only_correct"}) {
      BOOST_TEST(table.at(cell).get<int64_t>() == py.at(cell).get<int64_t>(), cell);
    }
  }
  const double level = delta.interval->level;
  const double z = boost::math::quantile(boost::math::normal(), 0.5 + level / 2.0);
  const double n = kRows;
  const double a = py.at("both_correct").get<double>();
  const double b = py.at("model_only_correct").get<double>();
  const double c = py.at("reference_only_correct").get<double>();
  // Delta: (b~ - c~) +- z sqrt((b~ + c~ - (b~ - c~)^2) / (n + 2)), b~ = (b + 1) / (n + 2), widened
  // to contain the estimate (Bonett & Price 2012).
  const double bt = (b + 1.0) / (n + 2.0), ct = (c + 1.0) / (n + 2.0);
  const double half = z * std::sqrt((bt + ct - (bt - ct) * (bt - ct)) / (n + 2.0));
  const double est = (b - c) / n;
  BOOST_TEST(delta.interval->low == std::min(bt - ct - half, est), tt::tolerance(1e-12));
  BOOST_TEST(delta.interval->high == std::max(bt - ct + half, est), tt::tolerance(1e-12));
  // Retention: log((a + b + 1) / (a + c + 1)) +- z sqrt((b + c + 2) / ((a + b + 1)(a + c + 1))).
  const double lr = std::log((a + b + 1.0) / (a + c + 1.0));
  const double se = std::sqrt((b + c + 2.0) / ((a + b + 1.0) * (a + c + 1.0)));
  const double ratio = (a + b) / (a + c);
  BOOST_TEST(retention.interval->low == std::min(std::exp(lr - z * se), ratio),
             tt::tolerance(1e-12));
  BOOST_TEST(retention.interval->high == std::max(std::exp(lr + z * se), ratio),
             tt::tolerance(1e-12));
  BOOST_TEST(delta.method.find("paired 2x2 table") != std::string::npos);
  CheckDetailsSchema("metric_delta", delta);
  CheckDetailsSchema("metric_retention", retention);
}

BOOST_AUTO_TEST_SUITE(paired_robustness)

// The pruned CNN and its dense original, each attacked white-box with its own FGSM gradients.
BOOST_AUTO_TEST_CASE(white_box_fgsm_on_each_model_matches_pytorch) {
  PairFixture fx("fashion_cnn_pruned.pt", "fashion_cnn.pt");
  const double eps = 0.03;
  const nlohmann::json p = {{"metric", "adversarial_accuracy"}, {"epsilon", eps}, {"limit", kRows}};
  const auto record = fx.Record("metric_delta", p);
  const Measurement delta = fx.Measure("metric_delta", p, *record);
  const Measurement retention = fx.Measure("metric_retention", p, *record);
  CheckAgainst(delta, retention,
               Reference("fashion_cnn_pruned.pt", "fashion_cnn.pt", "fgsm-model", eps));
  BOOST_TEST(delta.details["pairing"]["model"].get<std::string>().find("white-box") == 0u);
  BOOST_TEST(delta.details["pairing"]["reference"].get<std::string>().find("white-box") == 0u);
  BOOST_TEST(delta.details["model"]["method"].get<std::string>().find("transfer") ==
             std::string::npos);
}

// The int8 twin has no gradients: white-box pairing is an error naming craft_on: reference; with
// it, the inputs crafted on the FP32 reference are evaluated on both (a transfer on the model's
// side, white-box on the reference's), as in PyTorch.
BOOST_AUTO_TEST_CASE(int8_twin_pairs_with_inputs_crafted_on_the_reference) {
  PairFixture fx("fashion_cnn_int8.pt", "fashion_cnn.pt");
  const double eps = 0.03;
  nlohmann::json p = {{"metric", "adversarial_accuracy"}, {"epsilon", eps}, {"limit", kRows}};
  BOOST_CHECK_EXCEPTION(fx.Record("metric_delta", p), RuntimeError, [](const RuntimeError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    return what.find("fashion_cnn_int8.pt") != std::string::npos &&
           what.find("craft_on: reference") != std::string::npos;
  });
  p["craft_on"] = "reference";
  const auto record = fx.Record("metric_delta", p);
  const Measurement delta = fx.Measure("metric_delta", p, *record);
  const Measurement retention = fx.Measure("metric_retention", p, *record);
  CheckAgainst(delta, retention,
               Reference("fashion_cnn_int8.pt", "fashion_cnn.pt", "fgsm-reference", eps));
  BOOST_TEST(delta.details["pairing"]["model"].get<std::string>().find(
                 "transfer: crafted with the reference model's gradients") == 0u);
  BOOST_TEST(delta.details["pairing"]["reference"].get<std::string>().find("white-box") == 0u);
  BOOST_TEST(delta.details["model"]["method"].get<std::string>().find(
                 "transfer attack crafted on the reference model") != std::string::npos);
  BOOST_TEST(delta.details["reference"]["method"].get<std::string>().find("transfer") ==
             std::string::npos);
}

// craft_on: surrogate: inputs crafted once on a third model (the distilled student) and evaluated
// on both sides, each a transfer attack, as in PyTorch; the comparison asks for the surrogate.
BOOST_AUTO_TEST_CASE(both_sides_pair_with_inputs_crafted_on_a_surrogate) {
  PairFixture fx("fashion_cnn_int8.pt", "fashion_cnn.pt");
  const auto surrogate = PairFixture::Load("fashion_cnn_student.pt");
  fx.ctx.SetSurrogate(surrogate.get());
  const double eps = 0.05;
  const nlohmann::json p = {{"metric", "adversarial_accuracy"},
                            {"epsilon", eps},
                            {"limit", kRows},
                            {"craft_on", "surrogate"}};
  for (const char* comparison : {"metric_delta", "metric_retention"}) {
    const Metric& metric = fx.Find(comparison);
    BOOST_TEST(metric.NeedsSurrogate(*metric.Bind(p)));
    BOOST_TEST(metric.NeedsReference(*metric.Bind(p)));
  }
  const auto record = fx.Record("metric_delta", p);
  const Measurement delta = fx.Measure("metric_delta", p, *record);
  const Measurement retention = fx.Measure("metric_retention", p, *record);
  CheckAgainst(delta, retention,
               Reference("fashion_cnn_int8.pt", "fashion_cnn.pt", "fgsm-craft", eps,
                         "fashion_cnn_student.pt"));
  for (const char* side : {"model", "reference"}) {
    BOOST_TEST(delta.details["pairing"][side].get<std::string>().find(
                   "transfer: crafted with the surrogate model's gradients") == 0u);
  }
}

// Contrast (CIFAR-10-C, severity 5: c = 0.15) on both models: the same corrupted rows.
BOOST_AUTO_TEST_CASE(corruption_accuracy_on_both_models_matches_pytorch) {
  PairFixture fx("fashion_cnn_pruned.pt", "fashion_cnn.pt");
  const nlohmann::json p = {{"metric", "corruption_accuracy"},
                            {"corruption", "contrast"},
                            {"severity", 5},
                            {"limit", kRows}};
  const auto record = fx.Record("metric_delta", p);
  CheckAgainst(fx.Measure("metric_delta", p, *record), fx.Measure("metric_retention", p, *record),
               Reference("fashion_cnn_pruned.pt", "fashion_cnn.pt", "contrast", 0.15));
}

// A block-wise audit: the statistics of consecutive row ranges, merged in row order (and through
// JSON, as partial audits travel), finalize to the single run's result bit for bit; for the
// attack and for empirical_robustness, whose outcomes are ratios.
BOOST_AUTO_TEST_CASE(row_ranges_merge_into_the_single_run) {
  PairFixture fx("fashion_cnn_pruned.pt", "fashion_cnn.pt");
  for (const nlohmann::json& p :
       {nlohmann::json{{"metric", "attack_success_rate"}, {"epsilon", 0.03}, {"limit", kRows}},
        nlohmann::json{{"metric", "empirical_robustness"},
                       {"epsilon", 0.2},
                       {"step_size", 0.02},
                       {"limit", kRows}}}) {
    const Metric& delta = fx.Find("metric_delta");
    const auto bound = delta.Bind(p);
    const auto record = delta.Needs(*bound)->Run(fx.ctx, {});
    BOOST_REQUIRE(record->rows() == kRows);
    auto merged = delta.Accumulate(*bound, {*record, nullptr, {0, 45}});
    delta.Merge(*merged, *delta.StatsFromJson(
                             delta.Accumulate(*bound, {*record, nullptr, {45, 46}})->ToJson()));
    delta.Merge(*merged, *delta.Accumulate(*bound, {*record, nullptr, {46, kRows}}));
    const auto whole = delta.Accumulate(*bound, {*record, nullptr, {0, kRows}});
    BOOST_TEST(merged->ToJson() == whole->ToJson());
    FinalizeContext fc;
    fc.seed = kSeed;
    const Measurement a = delta.Finalize(*bound, *delta.StatsFromJson(merged->ToJson()), fc);
    const Measurement b = delta.Finalize(*bound, *whole, fc);
    BOOST_REQUIRE(a.value && a.interval);
    BOOST_TEST_MESSAGE(p.at("metric") << ": delta " << *a.value << " [" << a.interval->low << ", "
                                      << a.interval->high << "]");
    BOOST_TEST(*a.value == *b.value);
    BOOST_TEST(a.interval->low == b.interval->low);
    BOOST_TEST(a.interval->high == b.interval->high);
    BOOST_TEST(a.details == b.details);
    BOOST_TEST(a.interval->low <= *a.value);
    BOOST_TEST(*a.value <= a.interval->high);
    CheckDetailsSchema("metric_delta", a);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
