#include "auditors/safety/invalid_inputs.h"

#include <boost/test/unit_test.hpp>

#include "datasets/in_memory_dataset.h"
#include "safety_test_util.h"

namespace greenlight {
namespace {

std::map<std::string, std::string> Outcomes(const Measurement& m) {
  std::map<std::string, std::string> out;
  for (const auto& c : m.details["cases"]) out[c["case"]] = c["outcome"];
  return out;
}

struct TestModel {
  explicit TestModel(const std::string& file)
      : model(LoadTorchScriptModel(
            safety_test::ImageModelSpec(safety_test::TestModelsDir() / file, OutputKind::kLogits))),
        ctx(model.get(), data, 1, nullptr) {
    data.info_.rows = 4;
    data.shape_ = {1, 28, 28};
    data.sample_size_ = 784;
    data.features_.assign(4 * 784, 0.5f);
    RegisterBuiltinAuditors(registry);
  }
  Measurement Run(nlohmann::json params) {
    MetricRequest req;
    req.criterion_id = "INV";
    req.metric = "invalid_input_silent_rate";
    req.params = std::move(params);
    return registry.FindAuditor(req.metric)->Measure(req, ctx);
  }
  std::unique_ptr<Model> model;
  InMemoryDataset data;
  AuditContext ctx;
  AuditorRegistry registry;
};

BOOST_AUTO_TEST_SUITE(invalid_inputs)

BOOST_AUTO_TEST_CASE(model_that_raises_on_nan) {
  TestModel t("nan_raises.pt");
  const Measurement m = t.Run({{"timeout_s", 20.0}});
  const auto o = Outcomes(m);
  BOOST_TEST_MESSAGE("nan_raises: " << m.details["cases"].dump());
  BOOST_TEST(o.at("nan_one") == "raised");
  BOOST_TEST(o.at("nan_all") == "raised");
  BOOST_TEST(o.at("above_range") == "silent");
  BOOST_TEST(o.at("below_range") == "silent");
  BOOST_TEST(o.at("unscaled_x255") == "silent");
  BOOST_TEST(o.at("dtype_float64") == "raised");
  BOOST_TEST(o.at("shape_truncated") == "raised");
  // Flattened [B, 784] fits flatten(1) + Linear(784): the model accepts it silently.
  BOOST_TEST(o.at("shape_flat") == "silent");
  // A linear layer with mixed-sign weights turns one +Inf into +/-Inf or NaN outputs.
  BOOST_TEST(o.at("pos_inf_one") == "non_finite");
  BOOST_TEST(m.samples == 13);
  int64_t silent = 0;
  for (const auto& [name, outcome] : o) silent += outcome == "silent";
  BOOST_TEST(*m.value == static_cast<double>(silent) / 13.0);
  BOOST_TEST(m.interval->method == "wilson");
  for (const auto& c : m.details["cases"]) {
    if (c["case"] == "nan_one") {
      BOOST_TEST(c["message"].get<std::string>().find("NaN in input") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(model_that_loops_forever_on_nan) {
  TestModel t("nan_loops.pt");
  const Measurement m =
      t.Run({{"cases", {"nan_one", "above_range", "dtype_float64"}}, {"timeout_s", 2.0}});
  const auto o = Outcomes(m);
  BOOST_TEST(o.at("nan_one") == "timed_out");
  BOOST_TEST(o.at("above_range") == "silent");
  BOOST_TEST(o.at("dtype_float64") == "raised");
  BOOST_TEST(*m.value == 1.0 / 3.0);
  BOOST_TEST(m.details["outcomes"]["timed_out"].get<int64_t>() == 1);
  // greenlight itself is unharmed: the model still answers in this process.
  int64_t classes = 0;
  const std::vector<float> x(784, 0.5f);
  BOOST_TEST(t.model->Forward(x, 1, &classes).size() == 10u);
}

BOOST_AUTO_TEST_CASE(example_cnn) {
  safety_test::Fixture fx(8);
  const Measurement m = fx.Run("invalid_input_silent_rate");
  const auto o = Outcomes(m);
  BOOST_TEST_MESSAGE("fashion_cnn invalid_input_silent_rate " << *m.value << " "
                                                              << m.details["outcomes"].dump());
  BOOST_TEST(o.at("dtype_float64") == "raised");
  BOOST_TEST(o.at("dtype_uint8") == "raised");
  BOOST_TEST(o.at("nan_all") == "non_finite");
  BOOST_TEST(o.at("above_range") == "silent");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
