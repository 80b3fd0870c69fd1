// metric_delta and metric_retention (auditors/compare/metric_comparison.cc) on records built here:
// - binding: the compared metric's own schema checks its parameters (errors name the field and the
//   metric); unknown metrics, timed metrics, paired metrics and row limits are refused;
// - values against hand counts (accuracy, macro F1, a fairness gap), retention refused at 0;
// - merge of row ranges (fairness groups renumbered) equals the whole, JSON round trip;
// - coverage of the paired bootstrap interval by simulation: two classifiers whose correctness is
//   correlated row by row (as a compressed model's is with its reference), true difference 0,
//   0.02 and 0.1, n = 60 and 200, 500 replications. Every interval must contain its estimate and
//   coverage must reach the nominal 95 % less 2.5 points (macro F1: from 200 rows; at 60 rows it
//   falls short, and docs/statistics.md says so). The table in docs/statistics.md is this output:
//   build/tests/unit/compare/compare_metrics_test --log_level=message --color_output=false
//   | grep '^|'
// - robustness metrics paired by per-row outcomes (adversarial_accuracy's statistics in their JSON
//   form): binding, merge of row ranges, and coverage of the paired interval for a difference of
//   two correlated binary outcomes (docs/statistics.md, second table).
#define BOOST_TEST_MODULE compare_metrics
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/fairness/group_metrics.h"
#include "auditors/metric.h"
#include "core/error.h"
#include "core/random.h"

namespace gl = greenlight;
namespace rnd = greenlight::random;
using json = nlohmann::json;

namespace {

const gl::AuditorRegistry& Registry() {
  static const gl::AuditorRegistry* registry = [] {
    auto* r = new gl::AuditorRegistry;
    gl::RegisterBuiltinAuditors(*r);
    return r;
  }();
  return *registry;
}

const gl::Metric& Find(const std::string& name) {
  const gl::Metric* m = gl::FindFrameworkMetric(Registry(), name);
  BOOST_REQUIRE(m != nullptr);
  return *m;
}

// The ParamError that binding `params` throws (field and message), or a failure.
std::pair<std::string, std::string> BindError(const std::string& metric, const json& params) {
  try {
    Find(metric).Bind(params);
  } catch (const gl::ParamError& e) {
    return {e.field(), e.what()};
  }
  BOOST_FAIL("no ParamError for " + params.dump());
  return {};
}

gl::ClassifierOutputs Outputs(std::vector<int64_t> predicted, int64_t classes, std::string source) {
  gl::ClassifierOutputs o;
  o.rows = static_cast<int64_t>(predicted.size());
  o.classes = classes;
  o.predicted = std::move(predicted);
  o.source = std::move(source);
  return o;
}

const std::string kModel = "model:" + std::string(64, 'a');
const std::string kReference = "model:" + std::string(64, 'b');

// Both models' predictions and the labels, as the paired outputs pass records them.
struct Paired {
  gl::ClassifierOutputs model, reference;
  std::vector<int64_t> labels;
  gl::OutputsRecord record;
  Paired(std::vector<int64_t> m, std::vector<int64_t> f, std::vector<int64_t> y, int64_t classes)
      : model(Outputs(std::move(m), classes, kModel)),
        reference(Outputs(std::move(f), classes, kReference)),
        labels(std::move(y)) {
    record.outputs = &model;
    record.reference = &reference;
    record.labels = labels;
    record.classes = classes;
  }
};

gl::Measurement Measure(const std::string& metric, const json& params, const gl::WorkRecord& record,
                        uint64_t seed = 7, double level = 0.95) {
  const gl::Metric& m = Find(metric);
  const auto bound = m.Bind(params);
  gl::FinalizeContext ctx;
  ctx.seed = seed;
  ctx.confidence = level;
  return gl::MeasureRows(m, *bound, {record, nullptr, {0, record.rows()}}, ctx);
}

}  // namespace

BOOST_AUTO_TEST_CASE(binding_uses_the_compared_metrics_schema) {
  auto [field, message] = BindError("metric_delta", {{"metric", "f2"}});
  BOOST_TEST(field == "metric");
  BOOST_TEST(message.find("unknown metric 'f2'") != std::string::npos, message);
  BOOST_TEST(message.find("'f1'") != std::string::npos, message);  // Did you mean.

  std::tie(field, message) = BindError("metric_delta", {{"metric", "f1"}, {"average", "bogus"}});
  BOOST_TEST(field == "average");
  BOOST_TEST(message.find("metric 'f1': ") == 0u, message);
  BOOST_TEST(message.find("bogus") != std::string::npos, message);

  std::tie(field, message) = BindError("metric_retention", {{"metric", "ece"}, {"bins", 0}});
  BOOST_TEST(field == "bins");

  std::tie(field, message) = BindError("metric_delta", {{"metric", "latency_p50_ms"}});
  BOOST_TEST(field == "metric");
  BOOST_TEST(message.find("latency_speedup") != std::string::npos, message);

  std::tie(field, message) = BindError("metric_delta", {{"metric", "energy_per_inference_mj"}});
  BOOST_TEST(field == "metric");
  BOOST_TEST(message.find("energy_saving") != std::string::npos, message);

  std::tie(field, message) = BindError("metric_delta", {{"metric", "accuracy_delta"}});
  BOOST_TEST(field == "metric");
  std::tie(field, message) = BindError("metric_delta", {{"metric", "metric_retention"}});
  BOOST_TEST(field == "metric");
  std::tie(field, message) = BindError("metric_delta", {{"metric", "ece"}, {"limit", 100}});
  BOOST_TEST(field == "limit");
  std::tie(field, message) = BindError("metric_delta", {{"metric", "f1"}, {"paired_resamples", 5}});
  BOOST_TEST(field == "paired_resamples");
  std::tie(field, message) = BindError("metric_delta", json::object());
  BOOST_TEST(message.find("needs parameter 'metric'") != std::string::npos, message);

  // Bound: the report shows the compared metric's parameters, defaults applied, beside `metric`.
  const auto bound = Find("metric_delta").Bind({{"metric", "f1"}, {"average", "macro"}});
  BOOST_TEST(bound->values()["metric"] == "f1");
  BOOST_TEST(bound->values()["average"] == "macro");
  BOOST_TEST(bound->values()["paired_resamples"] == 1000);
  BOOST_TEST(Find("metric_delta").NeedsReference(*bound));
  BOOST_TEST(Find("metric_delta").Needs(*bound)->key() == "outputs+reference");
  // The fairness work with the reference beside it is keyed apart from the model's alone.
  const auto fair = Find("metric_delta").Bind({{"metric", "demographic_parity_difference"}});
  BOOST_TEST(Find("metric_delta").Needs(*fair)->key().find("fairness-groups+reference:") == 0u);
}

BOOST_AUTO_TEST_CASE(values_against_hand_counts) {
  // 10 rows, 2 classes. Model right on 8 rows, reference on 6 (hand counts below).
  Paired p({0, 1, 0, 1, 0, 1, 0, 1, 1, 0}, {0, 1, 0, 0, 1, 0, 0, 1, 1, 1},
           {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 2);
  const auto delta = Measure("metric_delta", {{"metric", "accuracy"}}, p.record);
  BOOST_REQUIRE(delta.value.has_value());
  BOOST_TEST(*delta.value == 0.8 - 0.6, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(delta.details["model"]["value"].get<double>() == 0.8);
  BOOST_TEST(delta.details["reference"]["value"].get<double>() == 0.6);
  BOOST_TEST(delta.details["model"]["source"] == kModel);
  BOOST_REQUIRE(delta.interval.has_value());
  BOOST_TEST(delta.interval->low <= *delta.value);
  BOOST_TEST(*delta.value <= delta.interval->high);
  BOOST_TEST(delta.method.find("paired percentile bootstrap") != std::string::npos);

  const auto retention = Measure("metric_retention", {{"metric", "accuracy"}}, p.record);
  BOOST_TEST(*retention.value == 0.8 / 0.6, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(retention.unit == "ratio");

  // Macro F1 by hand. Model (wrong on rows 8 and 9): class 0 TP 4 FP 1 FN 1 -> 8/10; class 1
  // the same. Reference (wrong on rows 3, 4, 5 and 8): class 0 TP 3 FP 2 FN 2 -> 6/10; class 1
  // the same.
  const auto f1 = Measure("metric_delta", {{"metric", "f1"}, {"average", "macro"}}, p.record);
  BOOST_TEST(*f1.value == 0.8 - 0.6, boost::test_tools::tolerance(1e-15));

  // A reference that gets nothing right: retention of accuracy is refused, the delta is not.
  Paired zero({0, 1, 0}, {1, 0, 1}, {0, 1, 0}, 2);
  BOOST_CHECK_THROW(Measure("metric_retention", {{"metric", "accuracy"}}, zero.record),
                    gl::InputError);
  BOOST_TEST(*Measure("metric_delta", {{"metric", "accuracy"}}, zero.record).value == 1.0);
}

BOOST_AUTO_TEST_CASE(fairness_gap_against_hand_counts_and_merge) {
  // Groups a (rows 0-3) and b (rows 4-7); favourable class 1.
  // Model selection rates: a 3/4, b 1/4 -> gap 0.5. Reference: a 2/4, b 2/4 -> gap 0.
  const auto model = Outputs({1, 1, 1, 0, 0, 0, 1, 0}, 2, kModel);
  const auto reference = Outputs({1, 1, 0, 0, 1, 0, 1, 0}, 2, kReference);
  const std::vector<int64_t> labels = {1, 1, 0, 0, 1, 0, 1, 0};
  gl::fairness::GroupsRecord record;
  record.outputs = &model;
  record.reference = &reference;
  record.labels = labels;
  record.columns = {"group"};
  record.groups = {{"b"}, {"a"}};  // Ids in another order than first appearance: values count.
  record.group_of = {1, 1, 1, 1, 0, 0, 0, 0};
  const json params = {{"metric", "demographic_parity_difference"}, {"sensitive", "group"}};
  const auto whole = Measure("metric_delta", params, record);
  BOOST_REQUIRE(whole.value.has_value());
  BOOST_TEST(*whole.value == 0.5 - 0.0, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(whole.details["metric"] == "demographic_parity_difference");

  // Rows [0, 3) and [3, 8), merged through JSON as partials travel: the same result exactly.
  const gl::Metric& m = Find("metric_delta");
  const auto bound = m.Bind(params);
  auto first = m.Accumulate(*bound, {record, nullptr, {0, 3}});
  auto second = m.Accumulate(*bound, {record, nullptr, {3, 8}});
  auto merged = m.StatsFromJson(first->ToJson());
  m.Merge(*merged, *m.StatsFromJson(second->ToJson()));
  auto single = m.Accumulate(*bound, {record, nullptr, {0, 8}});
  gl::FinalizeContext ctx;
  ctx.seed = 7;
  const auto a = m.Finalize(*bound, *merged, ctx);
  const auto b = m.Finalize(*bound, *single, ctx);
  BOOST_TEST(*a.value == *b.value);
  BOOST_REQUIRE(a.interval && b.interval);
  BOOST_TEST(a.interval->low == b.interval->low);
  BOOST_TEST(a.interval->high == b.interval->high);
  BOOST_TEST(a.details == b.details);
  BOOST_TEST(*a.value == *whole.value);
  BOOST_TEST(a.interval->low == whole.interval->low);
}

// Coverage of the paired bootstrap. Labels uniform over 3 classes; one uniform u per row decides
// the model's correctness (u < q_model); the reference reuses u with probability `shared` (else a
// fresh uniform) against q_reference, and a wrong prediction is the next class (model) or the one
// after (reference). Every class is then predicted right with probability q and the errors spread
// evenly over the other classes, so each model's accuracy and macro F1 in the population are
// exactly q: the true delta is q_model - q_reference.
BOOST_AUTO_TEST_CASE(paired_bootstrap_coverage) {
  constexpr int kReps = 500;
  constexpr int64_t kClasses = 3;
  const double level = 0.95;
  struct Case {
    double q_model, q_reference;
    int64_t n;
    double shared;  // Share of rows whose correctness is decided by the same uniform.
  };
  // Moderately correlated models, and a model beside its close twin (95 % shared: a few
  // discordant rows, as between a compressed model and its reference).
  const std::vector<Case> cases = {{0.8, 0.8, 60, 0.7},   {0.8, 0.8, 200, 0.7},
                                   {0.9, 0.8, 60, 0.7},   {0.9, 0.8, 200, 0.7},
                                   {0.9, 0.9, 200, 0.95}, {0.92, 0.9, 200, 0.95}};
  for (const std::string& metric : {std::string("accuracy"), std::string("f1")}) {
    const json params =
        metric == "f1" ? json{{"metric", metric}, {"average", "macro"}, {"paired_resamples", 400}}
                       : json{{"metric", metric}, {"paired_resamples", 400}};
    for (const Case& c : cases) {
      rnd::Rng rng(1000 + static_cast<uint64_t>(c.n) + static_cast<uint64_t>(c.q_model * 100));
      const double truth = c.q_model - c.q_reference;
      int covered = 0, defined = 0;
      double width = 0.0;
      for (int rep = 0; rep < kReps; ++rep) {
        std::vector<int64_t> y, m, f;
        for (int64_t i = 0; i < c.n; ++i) {
          const auto label = static_cast<int64_t>(rnd::UniformBelow(rng, kClasses));
          const double u = rnd::UniformDouble(rng);
          const double v = rnd::UniformDouble(rng) < c.shared ? u : rnd::UniformDouble(rng);
          y.push_back(label);
          m.push_back(u < c.q_model ? label : (label + 1) % kClasses);
          f.push_back(v < c.q_reference ? label : (label + 2) % kClasses);
        }
        Paired p(m, f, y, kClasses);
        const auto r = Measure("metric_delta", params, p.record, static_cast<uint64_t>(rep), level);
        if (!r.value || !r.interval) continue;
        ++defined;
        BOOST_REQUIRE(r.interval->low <= *r.value);
        BOOST_REQUIRE(*r.value <= r.interval->high);
        if (r.interval->low <= truth && truth <= r.interval->high) ++covered;
        width += r.interval->high - r.interval->low;
      }
      const double coverage = static_cast<double>(covered) / defined;
      BOOST_TEST_MESSAGE("| metric_delta of " + metric + " | q " + std::to_string(c.q_model) +
                         " vs " + std::to_string(c.q_reference) + " (true delta " +
                         std::to_string(truth) + "), shared " + std::to_string(c.shared) +
                         " | n = " + std::to_string(c.n) + " | " + std::to_string(defined) + " | " +
                         std::to_string(100.0 * coverage) + " % | " +
                         std::to_string(width / defined) + " |");
      BOOST_TEST(defined >= kReps * 9 / 10);
      // The percentile bootstrap of macro F1 falls short with 20 rows a class (measured 91.2 % at
      // a true difference of 0.1; docs/statistics.md lists it): asserted from 200 rows, and for
      // accuracy from 60.
      if (metric == "f1" && c.n < 200) continue;
      BOOST_TEST(coverage >= level - 0.025, metric << " " << c.q_model << " vs " << c.q_reference
                                                   << " n=" << c.n << ": " << coverage);
    }
  }
}

// Robustness metrics are paired through their per-row outcomes (auditors/paired_outcomes.h):
// binding accepts them (with a row limit, and with craft_on: reference, which only chooses the
// crafting model), and still refuses a robustness metric with no per-row outcomes, naming why.
BOOST_AUTO_TEST_CASE(binding_accepts_robustness_metrics_and_refuses_unpairable_ones) {
  for (const json& params :
       {json{{"metric", "adversarial_accuracy"}, {"epsilon", 0.05}},
        json{{"metric", "attack_success_rate"}, {"limit", 64}, {"craft_on", "reference"}},
        json{{"metric", "empirical_robustness"}, {"limit", 64}},
        json{{"metric", "corruption_accuracy"}, {"corruption", "contrast"}, {"severity", 1}}}) {
    const auto bound = Find("metric_delta").Bind(params);
    BOOST_TEST(Find("metric_delta").Needs(*bound)->key().find("+reference") != std::string::npos);
  }
  auto [field, message] = BindError("metric_retention", {{"metric", "ood_auroc"}});
  BOOST_TEST(field == "metric");
  BOOST_TEST(message.find("has no row-wise statistics to pair") != std::string::npos, message);
  BOOST_TEST(message.find("nor a robustness run with per-row outcomes") != std::string::npos,
             message);
  std::tie(field, message) =
      BindError("metric_delta", {{"metric", "adversarial_accuracy"}, {"craft_on", "surrogat"}});
  BOOST_TEST(field == "craft_on");
}

namespace {

// The statistics metric_delta keeps for adversarial_accuracy on two models, in their JSON form
// (the form partial audits travel in): each side's per-row correctness under attack.
json AttackOutcomesJson(const std::vector<uint8_t>& model, const std::vector<uint8_t>& reference) {
  const auto side = [](const std::vector<uint8_t>& correct, const std::string& source) {
    const std::vector<double> zeros(correct.size(), 0.0);
    std::vector<double> numerator(correct.begin(), correct.end());
    json stats = {{"config", {{"attack", "fgsm"}, {"norm", "inf"}, {"epsilon", 0.05}}},
                  {"range", {0.0, 1.0}},
                  {"clean_correct", std::vector<uint8_t>(correct.size(), 1)},
                  {"adversarial_correct", correct},
                  {"unchanged", std::vector<uint8_t>(correct.size(), 0)},
                  {"linf", zeros},
                  {"l2", zeros}};
    return json{{"source", source},
                {"stats", stats},
                {"numerator", numerator},
                {"denominator", std::vector<double>(correct.size(), 1.0)}};
  };
  return {{"outcomes",
           {{"metric", "adversarial_accuracy"},
            {"pairing", {{"craft_on", "model"}}},
            {"rows", model.size()},
            {"model", side(model, kModel)},
            {"reference", side(reference, kReference)}}}};
}

gl::Measurement FinalizeJson(const std::string& metric, const json& params, const json& stats,
                             uint64_t seed, double level = 0.95) {
  const gl::Metric& m = Find(metric);
  const auto bound = m.Bind(params);
  gl::FinalizeContext ctx;
  ctx.seed = seed;
  ctx.confidence = level;
  return m.Finalize(*bound, *m.StatsFromJson(stats), ctx);
}

}  // namespace

// Coverage of the interval of a difference of two correlated binary outcomes (a row correct under
// attack on either model), which comes from the paired 2x2 table (Bonett and Price's adjusted
// Wald interval): one uniform u per row decides the model's outcome (u < q_model); the reference
// reuses u with probability `shared`, else a fresh uniform, against q_reference, so the true
// difference is q_model - q_reference. True differences 0, 0.02 and 0.05, rates near 0, in the
// middle, near 1 and at 1, n from 20 to 1000, 400 replications each. Every interval must contain
// its estimate and cover at the nominal 95 % less 2.5 points. The table in docs/statistics.md is
// this output (lines starting "| metric_delta of adversarial_accuracy").
BOOST_AUTO_TEST_CASE(paired_binary_outcomes_coverage) {
  constexpr int kReps = 400;
  const double level = 0.95;
  struct Case {
    double q_model, q_reference;
    int64_t n;
    double shared;
  };
  const std::vector<Case> cases = {
      {0.8, 0.8, 20, 0.7},     {0.8, 0.8, 100, 0.7},    {0.8, 0.8, 1000, 0.7},
      {0.82, 0.8, 1000, 0.9},  {0.85, 0.8, 20, 0.7},    {0.85, 0.8, 100, 0.7},
      {0.97, 0.97, 20, 0.95},  {0.97, 0.97, 200, 0.95}, {0.97, 0.95, 1000, 0.95},
      {0.03, 0.03, 200, 0.95}, {0.02, 0.04, 1000, 0.9}, {1.0, 1.0, 50, 1.0}};
  const json params = {{"metric", "adversarial_accuracy"}, {"paired_resamples", 1000}};
  for (const Case& c : cases) {
    rnd::Rng rng(5000 + static_cast<uint64_t>(c.n) + static_cast<uint64_t>(c.q_model * 1000));
    const double truth = c.q_model - c.q_reference;
    int covered = 0, defined = 0;
    double width = 0.0;
    for (int rep = 0; rep < kReps; ++rep) {
      std::vector<uint8_t> m, f;
      for (int64_t i = 0; i < c.n; ++i) {
        const double u = rnd::UniformDouble(rng);
        const double v = rnd::UniformDouble(rng) < c.shared ? u : rnd::UniformDouble(rng);
        m.push_back(u < c.q_model ? 1 : 0);
        f.push_back(v < c.q_reference ? 1 : 0);
      }
      const auto r = FinalizeJson("metric_delta", params, AttackOutcomesJson(m, f),
                                  static_cast<uint64_t>(rep), level);
      BOOST_REQUIRE(r.value.has_value());
      // The value is the difference of the two counts, by hand.
      double hand = 0.0;
      for (int64_t i = 0; i < c.n; ++i) hand += (static_cast<double>(m[i]) - f[i]);
      BOOST_REQUIRE(std::abs(*r.value - hand / c.n) < 1e-12);
      if (!r.interval) continue;
      ++defined;
      BOOST_REQUIRE(r.interval->low <= *r.value);
      BOOST_REQUIRE(*r.value <= r.interval->high);
      if (r.interval->low <= truth + 1e-12 && truth - 1e-12 <= r.interval->high) ++covered;
      width += r.interval->high - r.interval->low;
    }
    const double coverage = static_cast<double>(covered) / defined;
    BOOST_TEST_MESSAGE("| metric_delta of adversarial_accuracy | q " + std::to_string(c.q_model) +
                       " vs " + std::to_string(c.q_reference) + " (true delta " +
                       std::to_string(truth) + "), shared " + std::to_string(c.shared) +
                       " | n = " + std::to_string(c.n) + " | " + std::to_string(defined) + " | " +
                       std::to_string(100.0 * coverage) + " % | " +
                       std::to_string(width / defined) + " |");
    BOOST_TEST(defined == kReps);
    BOOST_TEST(coverage >= level - 0.025,
               c.q_model << " vs " << c.q_reference << " n=" << c.n << ": " << coverage);
  }
}

// Merge of row ranges of the outcomes, in row order, and the JSON round trip, give the single
// run's result bit for bit (value, interval, details).
BOOST_AUTO_TEST_CASE(paired_outcomes_merge_in_row_order) {
  rnd::Rng rng(77);
  std::vector<uint8_t> m, f;
  for (int i = 0; i < 90; ++i) {
    m.push_back(rnd::UniformDouble(rng) < 0.7 ? 1 : 0);
    f.push_back(rnd::UniformDouble(rng) < 0.8 ? 1 : 0);
  }
  const json params = {{"metric", "adversarial_accuracy"}, {"paired_resamples", 300}};
  const gl::Metric& delta = Find("metric_delta");
  const auto bound = delta.Bind(params);
  const auto part = [&](size_t b, size_t e) {
    return delta.StatsFromJson(
        AttackOutcomesJson({m.begin() + b, m.begin() + e}, {f.begin() + b, f.begin() + e}));
  };
  auto merged = part(0, 31);
  delta.Merge(*merged, *part(31, 32));  // One row.
  delta.Merge(*merged, *part(32, 90));
  const auto whole = part(0, 90);
  BOOST_TEST(merged->ToJson() == whole->ToJson());
  gl::FinalizeContext ctx;
  ctx.seed = 11;
  const auto a = delta.Finalize(*bound, *delta.StatsFromJson(merged->ToJson()), ctx);
  const auto b = delta.Finalize(*bound, *whole, ctx);
  BOOST_REQUIRE(a.value && a.interval);
  BOOST_TEST(*a.value == *b.value);
  BOOST_TEST(a.interval->low == b.interval->low);
  BOOST_TEST(a.interval->high == b.interval->high);
  BOOST_TEST(a.details == b.details);
  // Partials of different runs do not merge.
  auto other = AttackOutcomesJson(m, f);
  other["outcomes"]["pairing"]["craft_on"] = "reference";
  BOOST_CHECK_THROW(delta.Merge(*merged, *delta.StatsFromJson(other)), gl::RuntimeError);
}
