#include <boost/test/unit_test.hpp>
#include <random>

#include "auditors/safety/common.h"
#include "auditors/safety/ood.h"
#include "core/error.h"
#include "core/stats.h"
#include "datasets/in_memory_dataset.h"
#include "safety_test_util.h"

namespace greenlight {
namespace {

BOOST_AUTO_TEST_SUITE(ood)

BOOST_AUTO_TEST_CASE(auroc_by_hand) {
  const std::vector<uint8_t> pos{1, 1, 0, 0};
  BOOST_TEST(*stats::RocAuc(std::vector<double>{0.9, 0.8, 0.1, 0.2}, pos) == 1.0);
  BOOST_TEST(*stats::RocAuc(std::vector<double>{0.1, 0.2, 0.9, 0.8}, pos) == 0.0);
  BOOST_TEST(*stats::RocAuc(std::vector<double>{0.5, 0.5, 0.5, 0.5}, pos) == 0.5);
  // Pairs (pos, neg): (0.9,0.1) (0.9,0.95) (0.3,0.1) (0.3,0.95) -> wins 1 + 0 + 1 + 0.
  BOOST_TEST(*stats::RocAuc(std::vector<double>{0.9, 0.3, 0.1, 0.95}, pos) == 0.5);
  BOOST_TEST(!stats::RocAuc(std::vector<double>{0.9, 0.3}, std::vector<uint8_t>{1, 1}));
}

BOOST_AUTO_TEST_CASE(ood_sets) {
  greenlight::random::Rng rng(1);
  std::vector<float> x{0.0f, 0.25f, 1.0f}, out(3);
  safety::MakeOodSample("inverted", x, 0.0, 1.0, 1.0, rng, out);
  BOOST_TEST(out == (std::vector<float>{1.0f, 0.75f, 0.0f}));
  std::vector<float> big(10000);
  safety::MakeOodSample("uniform_noise", std::vector<float>(10000), -1.0, 1.0, 1.0, rng, big);
  size_t outside = 0;
  for (float v : big) outside += !(v >= -1.0f && v <= 1.0f);
  BOOST_TEST(outside == 0u);
}

BOOST_AUTO_TEST_CASE(metric_on_the_example_cnn) {
  safety_test::Fixture fx(200);
  const Measurement m = fx.Run("ood_auroc", {{"bootstrap_resamples", 200}});
  BOOST_REQUIRE(m.value);
  double mean = 0;
  for (const auto& [name, s] : m.details["ood_sets"].items()) mean += s["auroc"].get<double>() / 3;
  BOOST_TEST_MESSAGE("ood_auroc " << *m.value << " " << m.details["ood_sets"].dump());
  // Pooled over equal-sized OOD sets = mean of the per-set AUROCs.
  BOOST_TEST(*m.value == mean, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.interval->low <= *m.value);
  BOOST_TEST(m.interval->high >= *m.value);
}

BOOST_AUTO_TEST_SUITE_END()

struct Tabular {
  Tabular()
      : model(LoadTorchScriptModel([] {
          ModelSpec s;
          s.path = safety_test::TestModelsDir() / "linear3.pt";
          s.output = OutputKind::kLogits;
          s.input_shape = {3};
          return s;
        }())),
        ctx(model.get(), data, 3, nullptr) {
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    data.info_.rows = 50;
    data.shape_ = {3};
    data.sample_size_ = 3;
    data.feature_names_ = {"a", "b", "c"};
    for (int i = 0; i < 150; ++i) data.features_.push_back(u(rng));
    for (int i = 0; i < 50; ++i) data.labels_.push_back(i % 2);
    data.has_labels_ = true;
    data.num_classes_ = 2;
    RegisterBuiltinAuditors(registry);
  }
  Measurement Run(const std::string& metric, nlohmann::json params) {
    MetricRequest req;
    req.criterion_id = "TAB";
    req.metric = metric;
    req.params = std::move(params);
    req.seed = 9;
    return registry.FindAuditor(metric)->Measure(req, ctx);
  }
  std::unique_ptr<Model> model;
  InMemoryDataset data;
  AuditContext ctx;
  AuditorRegistry registry;
};

BOOST_AUTO_TEST_SUITE(tabular)

BOOST_AUTO_TEST_CASE(monotonicity_of_a_known_linear_model) {
  Tabular t;  // P(class 1) = sigmoid(2a - b - 0.5)
  BOOST_TEST(*t.Run("monotonicity_violation_rate", {{"feature", "a"}}).value == 0.0);
  BOOST_TEST(*t.Run("monotonicity_violation_rate", {{"feature", "a"}, {"direction", "decreasing"}})
                  .value == 1.0);
  BOOST_TEST(*t.Run("monotonicity_violation_rate", {{"feature", "b"}}).value == 1.0);
  BOOST_TEST(*t.Run("monotonicity_violation_rate", {{"feature", "b"}, {"direction", "decreasing"}})
                  .value == 0.0);
  // c has weight 0: the score is flat, never a violation either way.
  BOOST_TEST(*t.Run("monotonicity_violation_rate", {{"feature", "c"}, {"direction", "decreasing"}})
                  .value == 0.0);
  // Class 0 moves the other way.
  BOOST_TEST(*t.Run("monotonicity_violation_rate", {{"feature", "a"}, {"class", 0}}).value == 1.0);
  BOOST_CHECK_THROW(t.Run("monotonicity_violation_rate", {{"feature", "zz"}}), InputError);
}

BOOST_AUTO_TEST_CASE(flip_rate) {
  Tabular t;
  BOOST_TEST(*t.Run("perturbation_flip_rate", {{"noise", 0.0}}).value == 0.0);
  const Measurement m = t.Run("perturbation_flip_rate", {{"noise", 0.5}, {"draws", 20}});
  BOOST_TEST_MESSAGE("flip rate at noise 0.5: " << *m.value);
  BOOST_TEST(*m.value > 0.0);
  BOOST_TEST(m.samples == 1000);
  // Independent count: rows near the decision boundary 2a - b = 0.5 are the ones that flip.
  BOOST_TEST(m.details["features"].size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(determinism)

BOOST_AUTO_TEST_CASE(example_cnn_repeats) {
  safety_test::Fixture fx(32);
  const int before = fx.model->threads();
  const Measurement m = fx.Run("determinism_max_abs_diff",
                               {{"repeats", 2}, {"threads", {1, 2}}, {"batch_sizes", {32, 4}}});
  BOOST_REQUIRE(m.value);
  BOOST_TEST_MESSAGE("determinism_max_abs_diff " << *m.value << " bitwise "
                                                 << m.details["bitwise_identical"]);
  BOOST_TEST(*m.value >= 0.0);
  BOOST_TEST(*m.value < 1e-3);  // Only rounding may differ between configurations.
  BOOST_TEST(m.details["configurations"].size() == 4u);
  BOOST_TEST(m.details["bitwise_identical"].get<bool>() == (*m.value == 0.0));
  BOOST_TEST(fx.model->threads() == before);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
