// Transfer attacks (craft_on: reference): adversarial inputs crafted with the gradients of the FP32
// example CNN (fashion_cnn.pt) and evaluated on its int8 dynamic-quantized twin
// (fashion_cnn_int8.pt), which offers no gradients. Checked against the same attack written
// directly in PyTorch (transfer_fgsm_reference.py), and against the white-box attack when the
// crafting model is the audited model itself. craft_on: surrogate crafts on a third model, the
// distilled student (fashion_cnn_student.pt), checked against the same PyTorch script.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "auditors/metric.h"
#include "auditors/safety/adversarial.h"
#include "core/error.h"
#include "safety_test_util.h"
#include "tests/unit/engine/details_schemas.h"

namespace greenlight {
namespace {

namespace st = safety_test;

// At most 128: one gradient batch and one evaluation batch, as the PyTorch reference runs them.
constexpr int64_t kRows = 64;

std::filesystem::path Int8Cnn() {
  return st::SourceDir() / "examples" / "models" / "fashion_cnn_int8.pt";
}

std::filesystem::path StudentCnn() {
  return st::SourceDir() / "examples" / "models" / "fashion_cnn_student.pt";
}

std::unique_ptr<Model> LoadCnn(const std::filesystem::path& path) {
  return LoadTorchScriptModel(st::ImageModelSpec(path, OutputKind::kLogProbabilities));
}

// The audited `model` with `reference` as the criteria's reference model, on the first rows.
struct PairFixture {
  PairFixture(const std::filesystem::path& model_path, const std::filesystem::path& reference_path,
              int64_t rows)
      : model(LoadCnn(model_path)),
        reference(LoadCnn(reference_path)),
        data(st::FashionTest(rows)),
        ctx(model.get(), *data, 20261128, nullptr) {
    ctx.SetReference(reference.get());
    RegisterBuiltinAuditors(registry);
  }
  Measurement Run(const std::string& metric, nlohmann::json params) {
    MetricRequest req;
    req.criterion_id = "T";
    req.metric = metric;
    req.params = std::move(params);
    req.seed = 20261128;
    return registry.FindAuditor(metric)->Measure(req, ctx);
  }
  AuditorRegistry registry;
  std::unique_ptr<Model> model, reference;
  std::unique_ptr<Dataset> data;
  AuditContext ctx;
};

std::string Sha256Of(const std::filesystem::path& path) {
  return st::Capture("sha256sum '" + path.string() + "'").substr(0, 64);
}

// The details of a transfer attack have the shape schemas/details/<metric>.schema.json publishes.
void CheckDetailsSchema(const std::string& metric, const Measurement& m) {
  static testing::DetailsSchemas schemas;
  const std::string errors = schemas.Errors(metric, m.details);
  BOOST_TEST(errors.empty(), metric << ": " << errors << "\ndetails: " << m.details.dump());
}

BOOST_AUTO_TEST_SUITE(transfer)

// FGSM crafted on the FP32 CNN, evaluated on the int8 twin: the count of rows the twin still
// classifies correctly equals PyTorch's exactly, and the adversarial inputs equal PyTorch's.
BOOST_AUTO_TEST_CASE(transfer_fgsm_on_the_int8_twin_matches_pytorch) {
  PairFixture fx(Int8Cnn(), st::FashionCnn(), kRows);
  const double eps = 0.05;
  constexpr int kShow = 3;
  const std::string cmd =
      std::string(GREENLIGHT_PYTHON) + " " +
      (st::SourceDir() / "tests/unit/safety/transfer_fgsm_reference.py").string() + " " +
      st::FashionCnn().string() + " " + Int8Cnn().string() + " " + st::FashionImages() + " " +
      st::FashionLabels() + " " + std::to_string(kRows) + " " + std::to_string(eps) + " " +
      std::to_string(kShow);
  const nlohmann::json py = nlohmann::json::parse(st::Capture(cmd));
  const int64_t py_correct = py.at("correct").get<int64_t>();

  // The attack itself, on the int8 twin's clean predictions.
  safety::AttackConfig config;
  config.epsilon = eps;
  const auto labels = fx.data->labels().subspan(0, kRows);
  const auto& clean = fx.ctx.Outputs();
  const safety::AttackResult res = safety::RunTransferAttack(
      *fx.reference, *fx.model, fx.data->features(), labels, clean.predicted, kRows, config);
  int64_t correct = 0;
  for (int64_t i = 0; i < kRows; ++i) correct += res.adversarial_predicted[i] == labels[i];
  BOOST_TEST_MESSAGE("transfer FGSM eps 0.05 on the int8 twin: greenlight "
                     << correct << " / " << kRows << ", PyTorch " << py_correct);
  BOOST_TEST(correct == py_correct);
  const int64_t size = fx.model->input_size();
  BOOST_REQUIRE(res.adversarial.size() == static_cast<size_t>(kRows * size));
  for (int r = 0; r < kShow; ++r) {
    const auto& row = py.at("adversarial").at(r);
    BOOST_REQUIRE(row.size() == static_cast<size_t>(size));
    double max_diff = 0.0;
    for (int64_t j = 0; j < size; ++j) {
      max_diff = std::max(max_diff, std::abs(row[j].get<double>() - res.adversarial[r * size + j]));
    }
    BOOST_TEST(max_diff <= 1e-6, "row " << r << ": max |difference| " << max_diff);
  }

  // The metric reports the same count, measured on the twin and labelled as a transfer attack
  // with the reference's digest.
  const Measurement m = fx.Run("adversarial_accuracy",
                               {{"epsilon", eps}, {"limit", kRows}, {"craft_on", "reference"}});
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(*m.value == static_cast<double>(py_correct) / kRows);
  BOOST_TEST(m.details["adversarial_correct"].get<int64_t>() == py_correct);
  BOOST_TEST(m.samples == kRows);
  BOOST_TEST(m.interval->low <= *m.value);
  BOOST_TEST(*m.value <= m.interval->high);
  const std::string sha = Sha256Of(st::FashionCnn());
  BOOST_TEST(m.details["attack"]["crafted_on"]["model"] == "reference");
  BOOST_TEST(m.details["attack"]["crafted_on"]["sha256"] == sha);
  BOOST_TEST(m.method.find("transfer attack crafted on the reference model (sha256 " +
                           sha.substr(0, 12) + ")") != std::string::npos,
             m.method);
  BOOST_TEST(m.details["transfer"].get<std::string>().find("transfer attack crafted on") == 0u);
  CheckDetailsSchema("adversarial_accuracy", m);
}

// The int8 twin has no gradients: the white-box attack (craft_on: model, or no craft_on) is an
// error that names the option to use; crafted on the reference, every attack metric measures.
BOOST_AUTO_TEST_CASE(int8_twin_measures_with_craft_on_reference_and_names_it_otherwise) {
  PairFixture fx(Int8Cnn(), st::FashionCnn(), kRows);
  const auto names_the_option = [](const RuntimeError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    return what.find("offers no input gradients for fashion_cnn_int8.pt") != std::string::npos &&
           what.find("craft_on: reference") != std::string::npos;
  };
  for (const std::string metric :
       {"adversarial_accuracy", "attack_success_rate", "empirical_robustness"}) {
    BOOST_CHECK_EXCEPTION(fx.Run(metric, {{"limit", kRows}, {"craft_on", "model"}}), RuntimeError,
                          names_the_option);
    BOOST_CHECK_EXCEPTION(fx.Run(metric, {{"limit", kRows}}), RuntimeError, names_the_option);
  }
  const Measurement pgd = fx.Run("adversarial_accuracy", {{"attack", "pgd"},
                                                          {"epsilon", 0.05},
                                                          {"iterations", 5},
                                                          {"limit", kRows},
                                                          {"craft_on", "reference"}});
  BOOST_REQUIRE(pgd.value.has_value());
  BOOST_TEST(pgd.details["perturbation"]["max_linf"].get<double>() <= 0.05 + 1e-6);
  BOOST_TEST(pgd.method.find("transfer attack crafted on the reference model") !=
             std::string::npos);
  BOOST_TEST(pgd.details["success_rule"].get<std::string>().find("audited model") !=
             std::string::npos);
  CheckDetailsSchema("adversarial_accuracy", pgd);
  const Measurement asr = fx.Run("attack_success_rate",
                                 {{"epsilon", 0.05}, {"limit", kRows}, {"craft_on", "reference"}});
  BOOST_REQUIRE(asr.value.has_value());
  BOOST_TEST(asr.samples == asr.details["clean_correct"].get<int64_t>());
  CheckDetailsSchema("attack_success_rate", asr);
  const Measurement er = fx.Run("empirical_robustness", {{"epsilon", 0.3},
                                                         {"step_size", 0.01},
                                                         {"limit", kRows},
                                                         {"bootstrap_resamples", 200},
                                                         {"craft_on", "reference"}});
  BOOST_REQUIRE(er.value.has_value());
  BOOST_TEST(er.details["crafted_on"]["sha256"] == Sha256Of(st::FashionCnn()));
  BOOST_TEST(er.method.find("transfer attack crafted on the reference model") != std::string::npos);
  CheckDetailsSchema("empirical_robustness", er);
}

// Crafted on a second copy of the audited model, the transfer attack is the white-box attack:
// only the source of the gradients differs, and here it is the same network. Every count and
// perturbation agrees, FGSM and PGD (whose success rule then asks the audited model by forward
// passes instead of reading the crafting pass).
BOOST_AUTO_TEST_CASE(crafted_on_a_copy_of_the_model_equals_the_white_box_attack) {
  PairFixture fx(st::FashionCnn(), st::FashionCnn(), kRows);
  for (const nlohmann::json& attack :
       {nlohmann::json{{"attack", "fgsm"}, {"epsilon", 0.05}},
        nlohmann::json{{"attack", "pgd"}, {"epsilon", 0.05}, {"iterations", 5}},
        nlohmann::json{{"attack", "pgd"}, {"norm", "2"}, {"epsilon", 1.0}, {"iterations", 5}}}) {
    nlohmann::json params = attack;
    params["limit"] = kRows;
    const Measurement white = fx.Run("adversarial_accuracy", params);
    params["craft_on"] = "reference";
    const Measurement transfer = fx.Run("adversarial_accuracy", params);
    BOOST_TEST_MESSAGE(attack.dump()
                       << ": white-box " << *white.value << ", transfer " << *transfer.value);
    BOOST_TEST(*transfer.value == *white.value);
    for (const char* key : {"clean_correct", "adversarial_correct", "fooled", "unchanged_rows"}) {
      BOOST_TEST(transfer.details[key] == white.details[key], key);
    }
    BOOST_TEST(transfer.details["perturbation"] == white.details["perturbation"]);
    BOOST_TEST(transfer.interval->low == white.interval->low);
    BOOST_TEST(transfer.interval->high == white.interval->high);
    BOOST_TEST(!white.details.contains("transfer"));
    BOOST_TEST(white.method.find("transfer") == std::string::npos);
  }
}

// A reference without gradients cannot craft either: the error says which model and why.
BOOST_AUTO_TEST_CASE(a_reference_without_gradients_is_named) {
  PairFixture fx(st::FashionCnn(), Int8Cnn(), kRows);
  BOOST_CHECK_EXCEPTION(
      fx.Run("adversarial_accuracy", {{"limit", kRows}, {"craft_on", "reference"}}), RuntimeError,
      [](const RuntimeError& e) {
        const std::string what = e.what();
        return what.find("offers no input gradients for fashion_cnn_int8.pt") !=
                   std::string::npos &&
               what.find("craft_on: reference needs a reference model with gradients") !=
                   std::string::npos;
      });
}

// The transfer attack's statistics merge like the white-box attack's: row ranges, shipped as JSON
// (as partials of a sharded audit travel) and merged in row order, finalize to the whole run's
// result, digest of the crafting model included. Statistics of a white-box run of the same
// attack do not merge with them.
BOOST_AUTO_TEST_CASE(transfer_statistics_merge_exactly) {
  PairFixture fx(Int8Cnn(), st::FashionCnn(), kRows);
  const Metric* metric = FindFrameworkMetric(fx.registry, "attack_success_rate");
  BOOST_REQUIRE(metric != nullptr);
  const auto bound = metric->Bind({{"epsilon", 0.05}, {"limit", kRows}, {"craft_on", "reference"}});
  BOOST_TEST(metric->NeedsReference(*bound));
  BOOST_TEST(!metric->NeedsReference(*metric->Bind({{"craft_on", "model"}})));
  BOOST_TEST(!metric->NeedsReference(*metric->Bind(nlohmann::json::object())));
  const auto record = metric->Needs(*bound)->Run(fx.ctx, {});
  FinalizeContext fin;
  fin.confidence = 0.9;
  const Measurement whole = MeasureRows(*metric, *bound, {*record, nullptr, {0, kRows}}, fin);
  std::unique_ptr<MetricStats> merged;
  for (const RowRange part : {RowRange{0, 10}, RowRange{10, 41}, RowRange{41, kRows}}) {
    auto stats = metric->StatsFromJson(nlohmann::json::parse(
        metric->Accumulate(*bound, {*record, nullptr, part})->ToJson().dump()));
    if (merged) {
      metric->Merge(*merged, *stats);
    } else {
      merged = std::move(stats);
    }
  }
  const Measurement m = metric->Finalize(*bound, *merged, fin);
  BOOST_REQUIRE(whole.value.has_value());
  BOOST_TEST(*m.value == *whole.value);
  BOOST_TEST(m.interval->low == whole.interval->low);
  BOOST_TEST(m.interval->high == whole.interval->high);
  BOOST_TEST(m.details == whole.details);
  BOOST_TEST(m.method == whole.method);

  // The same attack crafted on the FP32 model audited white-box: a different attack.
  PairFixture fp32(st::FashionCnn(), st::FashionCnn(), kRows);
  const auto white_bound = metric->Bind({{"epsilon", 0.05}, {"limit", kRows}});
  const auto white = metric->Needs(*white_bound)->Run(fp32.ctx, {});
  const auto white_stats = metric->Accumulate(*white_bound, {*white, nullptr, {0, kRows}});
  BOOST_CHECK_THROW(metric->Merge(*merged, *white_stats), RuntimeError);
}

// FGSM crafted on the surrogate (the student), evaluated on the int8 twin, with the FP32 CNN as
// the reference beside it: the count of rows the twin still classifies correctly equals PyTorch's
// with the student crafting, and the report names the student's digest as the crafting model.
BOOST_AUTO_TEST_CASE(surrogate_fgsm_on_the_int8_twin_matches_pytorch) {
  PairFixture fx(Int8Cnn(), st::FashionCnn(), kRows);
  const std::unique_ptr<Model> student = LoadCnn(StudentCnn());
  fx.ctx.SetSurrogate(student.get());
  const double eps = 0.05;
  auto pytorch_correct = [&](const std::filesystem::path& craft) {
    const std::string cmd =
        std::string(GREENLIGHT_PYTHON) + " " +
        (st::SourceDir() / "tests/unit/safety/transfer_fgsm_reference.py").string() + " " +
        craft.string() + " " + Int8Cnn().string() + " " + st::FashionImages() + " " +
        st::FashionLabels() + " " + std::to_string(kRows) + " " + std::to_string(eps) + " 1";
    return nlohmann::json::parse(st::Capture(cmd)).at("correct").get<int64_t>();
  };
  const int64_t py_student = pytorch_correct(StudentCnn());
  const int64_t py_reference = pytorch_correct(st::FashionCnn());

  const Measurement m = fx.Run("adversarial_accuracy",
                               {{"epsilon", eps}, {"limit", kRows}, {"craft_on", "surrogate"}});
  BOOST_TEST_MESSAGE("FGSM eps 0.05 on the int8 twin crafted on the student: greenlight "
                     << m.details["adversarial_correct"] << " / " << kRows << ", PyTorch "
                     << py_student << " (crafted on the FP32 reference: PyTorch " << py_reference
                     << ")");
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(m.details["adversarial_correct"].get<int64_t>() == py_student);
  BOOST_TEST(*m.value == static_cast<double>(py_student) / kRows);
  BOOST_TEST(m.interval->low <= *m.value);
  BOOST_TEST(*m.value <= m.interval->high);
  const std::string sha = Sha256Of(StudentCnn());
  BOOST_TEST(m.details["attack"]["crafted_on"]["model"] == "surrogate");
  BOOST_TEST(m.details["attack"]["crafted_on"]["sha256"] == sha);
  BOOST_TEST(m.method.find("transfer attack crafted on the surrogate model (sha256 " +
                           sha.substr(0, 12) + ")") != std::string::npos,
             m.method);
  CheckDetailsSchema("adversarial_accuracy", m);
  // Crafted on the reference, the same settings are the reference's attack, not the student's.
  const Measurement on_reference = fx.Run(
      "adversarial_accuracy", {{"epsilon", eps}, {"limit", kRows}, {"craft_on", "reference"}});
  BOOST_TEST(on_reference.details["adversarial_correct"].get<int64_t>() == py_reference);

  const Measurement er = fx.Run("empirical_robustness", {{"epsilon", 0.3},
                                                         {"step_size", 0.01},
                                                         {"limit", kRows},
                                                         {"bootstrap_resamples", 200},
                                                         {"craft_on", "surrogate"}});
  BOOST_REQUIRE(er.value.has_value());
  BOOST_TEST(er.details["crafted_on"]["model"] == "surrogate");
  BOOST_TEST(er.details["crafted_on"]["sha256"] == sha);
  BOOST_TEST(er.method.find("transfer attack crafted on the surrogate model") != std::string::npos);
  CheckDetailsSchema("empirical_robustness", er);

  const Metric* metric = FindFrameworkMetric(fx.registry, "attack_success_rate");
  BOOST_REQUIRE(metric != nullptr);
  BOOST_TEST(metric->NeedsSurrogate(*metric->Bind({{"craft_on", "surrogate"}})));
  BOOST_TEST(!metric->NeedsReference(*metric->Bind({{"craft_on", "surrogate"}})));
  BOOST_TEST(!metric->NeedsSurrogate(*metric->Bind({{"craft_on", "reference"}})));
  BOOST_TEST(!metric->NeedsSurrogate(*metric->Bind(nlohmann::json::object())));
}

// A surrogate without gradients cannot craft: the error names the model and the way out; without
// a surrogate at all the attack says so.
BOOST_AUTO_TEST_CASE(a_surrogate_without_gradients_is_named) {
  PairFixture fx(st::FashionCnn(), st::FashionCnn(), kRows);
  BOOST_CHECK_EXCEPTION(
      fx.Run("adversarial_accuracy", {{"limit", kRows}, {"craft_on", "surrogate"}}), RuntimeError,
      [](const RuntimeError& e) {
        return std::string(e.what()).find("the audit has no surrogate model") != std::string::npos;
      });
  const std::unique_ptr<Model> int8 = LoadCnn(Int8Cnn());
  fx.ctx.SetSurrogate(int8.get());
  for (const std::string metric : {"adversarial_accuracy", "empirical_robustness"}) {
    BOOST_CHECK_EXCEPTION(
        fx.Run(metric, {{"limit", kRows}, {"craft_on", "surrogate"}}), RuntimeError,
        [](const RuntimeError& e) {
          const std::string what = e.what();
          BOOST_TEST_MESSAGE(what);
          return what.find("offers no input gradients for fashion_cnn_int8.pt") !=
                     std::string::npos &&
                 what.find("craft_on: surrogate needs a surrogate model with gradients") !=
                     std::string::npos;
        });
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
