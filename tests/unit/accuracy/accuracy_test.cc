#define BOOST_TEST_MODULE accuracy
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/stats.h"
#include "datasets/in_memory_dataset.h"

namespace gl = greenlight;
namespace acc = greenlight::accuracy;

namespace {

// A black-box dataset: recorded predictions and labels, no model.
struct Fixture {
  gl::InMemoryDataset data;
  gl::AuditorRegistry registry;
  Fixture(std::vector<int64_t> labels, std::vector<int64_t> predicted,
          std::vector<double> scores = {}) {
    data.info_.rows = static_cast<int64_t>(labels.size());
    data.has_labels_ = true;
    data.labels_ = labels;
    data.num_classes_ = *std::max_element(labels.begin(), labels.end()) + 1;
    data.has_predictions_ = true;
    data.predictions_ = predicted;
    data.scores_ = scores;
    gl::RegisterBuiltinAuditors(registry);
  }
  // Binds the params as the criteria loader does, runs the metric's work, measures every row.
  gl::Measurement Measure(const std::string& metric,
                          nlohmann::json params = nlohmann::json::object()) {
    gl::AuditContext ctx(nullptr, data, 1, nullptr);
    const gl::Metric* m = gl::FindFrameworkMetric(registry, metric);
    BOOST_REQUIRE(m != nullptr);
    const auto bound = m->Bind(params);
    const auto record = m->Needs(*bound)->Run(ctx, {});
    gl::FinalizeContext fin;
    fin.seed = 1;
    return gl::MeasureRows(*m, *bound, {*record, nullptr, {0, record->rows()}}, fin);
  }
};

}  // namespace

// 3 classes, 10 rows. Confusion (rows = truth, columns = prediction), counted by hand:
//   truth 0: [2, 1, 0]   truth 1: [1, 3, 0]   truth 2: [0, 1, 2]
const std::vector<int64_t> kLabels = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
const std::vector<int64_t> kPred = {0, 0, 1, 0, 1, 1, 1, 1, 2, 2};

BOOST_AUTO_TEST_CASE(confusion_and_scores_by_hand) {
  const auto m = acc::ConfusionMatrix(kLabels, kPred, 3);
  BOOST_TEST((m == std::vector<int64_t>{2, 1, 0, 1, 3, 0, 0, 1, 2}));
  // Class 1: TP 3, FP 2 (one from class 0, one from class 2), FN 1.
  BOOST_TEST(*acc::Precision(m, 3, 1) == 3.0 / 5.0);
  BOOST_TEST(*acc::Recall(m, 3, 1) == 3.0 / 4.0);
  BOOST_TEST(std::abs(*acc::F1(m, 3, 1) - 6.0 / 9.0) < 1e-15);
  // Macro precision = (2/3 + 3/5 + 2/2) / 3.
  BOOST_TEST(std::abs(*acc::Averaged(m, 3, "precision", "macro") - (2.0 / 3 + 0.6 + 1.0) / 3) <
             1e-15);
  // Weighted recall = (3·2/3 + 4·3/4 + 3·2/3) / 10 = accuracy = 0.7.
  BOOST_TEST(std::abs(*acc::Averaged(m, 3, "recall", "weighted") - 0.7) < 1e-15);
  BOOST_TEST(*acc::Averaged(m, 3, "f1", "micro") == 0.7);
}

BOOST_AUTO_TEST_CASE(undefined_precision_is_not_zero) {
  // Class 2 is never predicted: its precision is 0/0.
  const auto m =
      acc::ConfusionMatrix(std::vector<int64_t>{0, 1, 2}, std::vector<int64_t>{0, 1, 1}, 3);
  BOOST_TEST(!acc::Precision(m, 3, 2).has_value());
  BOOST_TEST(!acc::Averaged(m, 3, "precision", "macro").has_value());
  Fixture f({0, 1, 2}, {0, 1, 1});
  const auto r = f.Measure("precision", {{"class", 2}, {"bootstrap_resamples", 200}});
  BOOST_TEST(!r.value.has_value());
  BOOST_TEST(r.message.find("undefined") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(accuracy_measurement_uses_wilson) {
  Fixture f(kLabels, kPred);
  const auto r = f.Measure("accuracy");
  BOOST_TEST(*r.value == 0.7);
  BOOST_TEST(r.samples == 10);
  const auto w = gl::stats::WilsonInterval(7, 10, 0.95);
  BOOST_TEST(r.interval->low == w.low);
  BOOST_TEST(r.interval->high == w.high);
  BOOST_TEST(r.details["confusion_matrix"]["counts"][1][1].get<int>() == 3);
}

BOOST_AUTO_TEST_CASE(bootstrap_interval_is_seeded_and_brackets_the_value) {
  Fixture f(kLabels, kPred);
  const nlohmann::json params = {
      {"average", "macro"}, {"interval", "bootstrap"}, {"bootstrap_resamples", 500}};
  const auto a = f.Measure("f1", params);
  const auto b = f.Measure("f1", params);
  BOOST_TEST(a.method.find("bootstrap") != std::string::npos);
  BOOST_TEST(a.interval->low == b.interval->low);
  BOOST_TEST(a.interval->high == b.interval->high);
  BOOST_TEST(a.interval->low <= *a.value);
  BOOST_TEST(*a.value <= a.interval->high);
}

// AUC by hand: positives {0.8, 0.4, 0.6}, negatives {0.4, 0.2}. Pairs: 0.8 beats both (2),
// 0.6 beats both (2), 0.4 ties 0.4 (0.5) and beats 0.2 (1): U = 5.5 of 6.
BOOST_AUTO_TEST_CASE(roc_auc_with_ties_by_hand) {
  const std::vector<double> s = {0.8, 0.4, 0.6, 0.4, 0.2};
  const std::vector<int64_t> y = {1, 1, 1, 0, 0};
  BOOST_TEST(std::abs(*acc::RocAuc(s, y) - 5.5 / 6.0) < 1e-15);
  // Weights = duplicating rows: doubling the first negative gives U = (2·... ) computed on
  // the expanded sample {0.8,0.4,0.6 | 0.4,0.4,0.2}: 3 + 3 + (0.5+0.5+1) = 8 of 9.
  const std::vector<uint32_t> w = {1, 1, 1, 2, 1};
  BOOST_TEST(std::abs(*acc::RocAuc(s, y, w) - 8.0 / 9.0) < 1e-15);
  BOOST_TEST(!acc::RocAuc(s, std::vector<int64_t>{1, 1, 1, 1, 1}).has_value());
  Fixture f(y, {1, 0, 1, 0, 0}, s);
  const auto r = f.Measure("roc_auc", {{"bootstrap_resamples", 200}});
  BOOST_TEST(std::abs(*r.value - 5.5 / 6.0) < 1e-15);
  // By default the DeLong interval (3 positives, 2 negatives), recorded in the method and details.
  BOOST_TEST(r.method.find("DeLong") != std::string::npos);
  BOOST_TEST(r.interval->low <= *r.value);
  BOOST_TEST(r.details["positives"].get<int>() == 3);
  BOOST_TEST(r.details["negatives"].get<int>() == 2);
  const auto boot = f.Measure("roc_auc", {{"interval", "bootstrap"}, {"bootstrap_resamples", 200}});
  BOOST_TEST(boot.method.find("bootstrap") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(averaged_scores_use_the_delta_method_and_micro_is_wilson) {
  Fixture f(kLabels, kPred);
  const auto r = f.Measure("f1", {{"average", "macro"}});
  BOOST_TEST(r.method.find("delta-method") != std::string::npos);
  BOOST_TEST(r.interval->method == "wilson-effective-n");
  BOOST_TEST(r.interval->low <= *r.value);
  BOOST_TEST(*r.value <= r.interval->high);
  // Micro F1 = accuracy = 7 / 10: the Wilson interval of 7 of 10.
  const auto micro = f.Measure("f1", {{"average", "micro"}});
  const auto w = gl::stats::WilsonInterval(7, 10, 0.95);
  BOOST_TEST(micro.interval->low == w.low);
  BOOST_TEST(micro.interval->high == w.high);
}

BOOST_AUTO_TEST_CASE(top_k_needs_probabilities) {
  Fixture f(kLabels, kPred);
  BOOST_CHECK_THROW(f.Measure("top_k_accuracy", {{"k", 2}}), std::exception);
}

// Parameter domains are enforced when binding, naming the field.
BOOST_AUTO_TEST_CASE(binding_checks_types_and_domains) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::Metric* f1 = gl::FindFrameworkMetric(registry, "f1");
  auto field_of = [&](const gl::Metric* m, const nlohmann::json& params) {
    try {
      m->Bind(params);
    } catch (const gl::ParamError& e) {
      return e.field() + ": " + e.what();
    }
    return std::string("bound");
  };
  BOOST_TEST(field_of(f1, {{"bootstrap_resamples", 99}}) ==
             "bootstrap_resamples: must be at least 100, got 99");
  BOOST_TEST(field_of(f1, {{"average", "median"}}) ==
             "average: 'median' is not one of: macro, weighted, micro");
  BOOST_TEST(field_of(f1, {{"class", -1}}) == "class: must be at least 0, got -1");
  BOOST_TEST(field_of(f1, {{"class", 1.5}}) == "class: expected integer, got number 1.5");
  BOOST_TEST(field_of(f1, {{"klass", 1}}).rfind("klass: unknown parameter", 0) == 0);
  BOOST_TEST(field_of(gl::FindFrameworkMetric(registry, "top_k_accuracy"), {{"k", 0}}) ==
             "k: must be at least 1, got 0");
  // Defaults come from the struct's member initialisers and are all present once bound.
  const auto bound = f1->Bind(nlohmann::json::object());
  BOOST_TEST(bound->values() == (nlohmann::json{{"average", "macro"},
                                                {"class", nullptr},
                                                {"interval", "delta"},
                                                {"bootstrap_resamples", 1000}}));
}

// Cache keys are exact: values that differ in the last bit of a double differ.
BOOST_AUTO_TEST_CASE(canonical_keys_are_exact) {
  const double a = 0.1;
  const double b = std::nextafter(a, 1.0);
  BOOST_TEST(gl::CanonicalText(a) != gl::CanonicalText(b));
  BOOST_TEST(gl::CanonicalText(a) == "d:0.10000000000000001");
  BOOST_TEST(gl::CanonicalText(nlohmann::json{{"b", 1}, {"a", "x"}}) == "{\"a\":\"x\",\"b\":1}");
  // Integers and doubles of the same value are different parameter values.
  BOOST_TEST(gl::CanonicalText(1) != gl::CanonicalText(1.0));
}

BOOST_AUTO_TEST_CASE(top_k_larger_than_the_classes_is_an_error) {
  Fixture f(kLabels, kPred);
  // Recorded predictions have no probabilities; the k check is covered with real outputs in
  // merge_property_test. Here: the error names the missing probabilities.
  try {
    f.Measure("top_k_accuracy", {{"k", 2}});
    BOOST_FAIL("expected an error");
  } catch (const std::exception& e) {
    BOOST_TEST(std::string(e.what()).find("probabilities") != std::string::npos);
  }
}
