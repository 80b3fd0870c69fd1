// Tests of the fairness metrics (auditors/fairness/group_metrics.cc). Every metric is checked
// against an independent numpy implementation (fairness_reference.py, run with GREENLIGHT_PYTHON =
// /usr/bin/python3, working on rows rather than on our counts), every interval against the same
// script's implementation of the constructions docs/fairness.md defines, the HMDA figures against
// the published counts, the two failures of issue 11, the 0/0 rule and the data checks directly.
#define BOOST_TEST_MODULE fairness
#include "auditors/fairness/group_metrics.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/fairness/fairness_metrics.h"
#include "auditors/metric.h"
#include "core/error.h"
#include "core/stats.h"
#include "datasets/dataset.h"
#include "datasets/in_memory_dataset.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using greenlight::AuditContext;
using greenlight::InMemoryDataset;
using greenlight::Measurement;
using nlohmann::json;
namespace fm = greenlight::fairness;

namespace {

const char* const kAllMetricNames[] = {
    "selection_rate",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "disparate_impact_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "average_odds_difference",
    "predictive_parity_difference",
    "false_positive_rate_difference",
    "false_negative_rate_difference",
    "accuracy_difference",
    "group_accuracy_min",
    "theil_index",
};

// A table of rows: sensitive text columns, integer label and prediction.
struct Rows {
  std::vector<std::string> sensitive_names;
  std::vector<std::vector<std::string>> sensitive;  // per column
  std::vector<int64_t> label;
  std::vector<int64_t> pred;
  std::vector<double> score;
};

std::unique_ptr<InMemoryDataset> ToDataset(const Rows& rows, bool with_labels = true) {
  auto ds = std::make_unique<InMemoryDataset>();
  ds->info_.format = "csv";
  ds->info_.rows = static_cast<int64_t>(rows.pred.size());
  for (size_t c = 0; c < rows.sensitive_names.size(); ++c) {
    ds->sensitive_[rows.sensitive_names[c]] = rows.sensitive[c];
  }
  ds->has_labels_ = with_labels;
  if (with_labels) {
    ds->labels_ = rows.label;
    ds->num_classes_ = *std::max_element(rows.label.begin(), rows.label.end()) + 1;
  }
  ds->has_predictions_ = true;
  ds->predictions_ = rows.pred;
  ds->scores_ = rows.score;
  return ds;
}

void WriteCsv(const Rows& rows, const fs::path& path) {
  std::ofstream out(path);
  for (const auto& name : rows.sensitive_names) out << name << ",";
  out << "label,pred\n";
  for (size_t i = 0; i < rows.pred.size(); ++i) {
    for (const auto& col : rows.sensitive) out << col[i] << ",";
    out << rows.label[i] << "," << rows.pred[i] << "\n";
  }
}

json RunReference(const std::string& mode, const Rows& rows, const json& config) {
  const greenlight::testing::TempDir dir;
  const fs::path data = dir / "rows.csv";
  const fs::path cfg = dir / "config.json";
  WriteCsv(rows, data);
  std::ofstream(cfg) << config.dump();
  const std::string cmd = "'" GREENLIGHT_PYTHON "' '" GREENLIGHT_FAIRNESS_REFERENCE_PY "' " + mode +
                          " '" + data.string() + "' '" + cfg.string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  std::string text;
  char buf[4096];
  while (size_t got = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, got);
  const int rc = ::pclose(pipe);
  BOOST_REQUIRE_MESSAGE(rc == 0, "reference script failed: " + cmd);
  return json::parse(text);
}

std::unique_ptr<greenlight::Metric> MakeMetric(const std::string& name) {
  const auto metric = fm::ParseMetric(name);
  BOOST_REQUIRE_MESSAGE(metric.has_value(), "no fairness metric " + name);
  return fm::MakeGroupMetric(*metric);
}

// As the engine does: bind the metric's own parameters (the shared test configurations are trimmed
// to them; the loader rejects others), check them against the data, run the work, then accumulate
// every row and finalize. `check_data` false skips the data check, to reach what it guards.
Measurement Measure(const greenlight::Dataset& data, const std::string& name, const json& params,
                    uint64_t seed = 7, double confidence = 0.95, bool check_data = true) {
  const auto metric = MakeMetric(name);
  json own = json::object();
  for (const auto& p : metric->spec().params) {
    if (params.contains(p.name)) own[p.name] = params[p.name];
  }
  const auto bound = metric->Bind(own);
  if (check_data) metric->CheckData(*bound, data);
  AuditContext ctx(nullptr, data, seed, nullptr);
  const auto record = metric->Needs(*bound)->Run(ctx, {});
  greenlight::FinalizeContext fin;
  fin.seed = seed;
  fin.confidence = confidence;
  return greenlight::MeasureRows(*metric, *bound, {*record, nullptr, {0, record->rows()}}, fin);
}

// Five intersectional groups (race c never with sex m), a tiny sixth one (race d), labels and
// predictions in {0, 1, 2}; group race=c, sex=f has no false positive for favourable 1 (an
// empty confusion cell) and group race=d no true negative.
Rows GeneratedRows() {
  Rows r;
  r.sensitive_names = {"race", "sex"};
  r.sensitive.resize(2);
  std::mt19937_64 rng(20240611);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int n = 3000;
  for (int i = 0; i < n; ++i) {
    const double x = u(rng);
    std::string race = x < 0.5 ? "a" : x < 0.85 ? "b" : x < 0.996 ? "c" : "d";
    std::string sex = race == "c" || race == "d" ? "f" : (u(rng) < 0.45 ? "f" : "m");
    const double base = race == "a" ? 0.55 : race == "b" ? 0.35 : race == "c" ? 0.45 : 0.6;
    int64_t label = u(rng) < base ? 1 : (u(rng) < 0.5 ? 0 : 2);
    const double keep = sex == "f" ? 0.8 : 0.7;
    int64_t pred = u(rng) < keep ? label : static_cast<int64_t>(u(rng) * 3.0);
    if (race == "c" && label != 1 && pred == 1) pred = 0;  // no FP in (c, f)
    if (race == "d" && label != 1) pred = 1;               // no TN in (d, f)
    r.sensitive[0].push_back(race);
    r.sensitive[1].push_back(sex);
    r.label.push_back(label);
    r.pred.push_back(pred);
    r.score.push_back(u(rng));
  }
  return r;
}

// Three groups; group z has no row labelled favourable and none predicted favourable, so its
// TPR, FNR and PPV are 0/0, and a reference z has selection rate 0.
Rows UndefinedRows() {
  Rows r;
  r.sensitive_names = {"grp"};
  r.sensitive.resize(1);
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 600; ++i) {
    const std::string g = i % 3 == 0 ? "x" : i % 3 == 1 ? "y" : "z";
    int64_t label = g == "z" ? 0 : (u(rng) < 0.5 ? 1 : 0);
    int64_t pred = g == "z" ? 0 : (u(rng) < 0.75 ? label : 1 - label);
    r.sensitive[0].push_back(g);
    r.label.push_back(label);
    r.pred.push_back(pred);
  }
  return r;
}

void CompareAll(const Rows& rows, const json& configs) {
  const json expected = RunReference("metrics", rows, configs);
  BOOST_REQUIRE_EQUAL(expected.size(), configs.size());
  auto data = ToDataset(rows);
  int defined = 0, undefined = 0;
  for (size_t k = 0; k < configs.size(); ++k) {
    json params = configs[k];
    const json intervals = RunReference("intervals", rows, params);
    for (const char* metric : kAllMetricNames) {
      BOOST_TEST_CONTEXT("config " << params.dump() << ", metric " << metric) {
        const Measurement m = Measure(*data, metric, params);
        const json& want = expected[k][metric];
        if (want.is_null()) {
          BOOST_TEST(!m.value.has_value());
          BOOST_TEST(!m.message.empty());
          BOOST_TEST(!m.interval.has_value());
          ++undefined;
        } else {
          BOOST_REQUIRE(m.value.has_value());
          BOOST_TEST(std::abs(*m.value - want.get<double>()) <= 1e-12,
                     "greenlight " << *m.value << " numpy " << want.get<double>());
          BOOST_REQUIRE(m.interval.has_value());
          // Every interval contains its estimate, and is the construction docs/fairness.md
          // defines, as the Python reference computes it from the rows (the Theil index's
          // extremes there come from a 401 x 401 grid, hence the looser tolerance).
          BOOST_TEST(m.interval->low <= *m.value);
          BOOST_TEST(m.interval->high >= *m.value);
          const json& want_iv = intervals.at(metric);
          BOOST_REQUIRE(want_iv.is_array());
          const double tol = std::string(metric) == "theil_index" ? 1e-6 : 1e-9;
          BOOST_TEST(std::abs(m.interval->low - want_iv[0].get<double>()) <= tol,
                     "low " << m.interval->low << " reference " << want_iv[0]);
          BOOST_TEST(std::abs(m.interval->high - want_iv[1].get<double>()) <= tol,
                     "high " << m.interval->high << " reference " << want_iv[1]);
          ++defined;
        }
      }
    }
  }
  BOOST_TEST_MESSAGE(defined << " defined and " << undefined << " undefined values compared");
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_metric_matches_numpy_on_generated_groups) {
  const json configs = json::array({
      {{"sensitive", {"race", "sex"}}},
      {{"sensitive", "race"}, {"aggregation", "to_overall"}, {"reference", "b"}},
      {{"sensitive", {"race", "sex"}}, {"min_group_size", 40}, {"reference", "best"}},
      {{"sensitive", "race"},
       {"favourable", 2},
       {"aggregation", "to_overall"},
       {"reference", "race=a"}},
      {{"sensitive", "sex"}, {"favourable", 0}},
  });
  CompareAll(GeneratedRows(), configs);
}

BOOST_AUTO_TEST_CASE(undefined_rates_make_metrics_undefined_never_zero) {
  const json configs = json::array({
      {{"sensitive", "grp"}, {"reference", "z"}},
      {{"sensitive", "grp"}},
      {{"sensitive", "grp"}, {"aggregation", "to_overall"}},
  });
  const Rows rows = UndefinedRows();
  CompareAll(rows, configs);
  // And the specific reasons, by hand.
  auto data = ToDataset(rows);
  const Measurement eo = Measure(*data, "equal_opportunity_difference", {{"sensitive", "grp"}});
  BOOST_TEST(!eo.value.has_value());
  BOOST_TEST(eo.message.find("tpr of group 'grp=z' is undefined") != std::string::npos, eo.message);
  BOOST_TEST(!eo.undecidable.has_value());  // The engine makes it INCONCLUSIVE.
  const Measurement di =
      Measure(*data, "disparate_impact_ratio", {{"sensitive", "grp"}, {"reference", "z"}});
  BOOST_TEST(!di.value.has_value());
  BOOST_TEST(di.message.find("selection rate 0") != std::string::npos, di.message);
  // Metrics that do not need the undefined rates stay defined.
  BOOST_TEST(
      Measure(*data, "demographic_parity_difference", {{"sensitive", "grp"}}).value.has_value());
  BOOST_TEST(Measure(*data, "accuracy_difference", {{"sensitive", "grp"}}).value.has_value());
}

BOOST_AUTO_TEST_CASE(group_table_matches_numpy_and_hand_counts) {
  const Rows rows = GeneratedRows();
  const json config = json::array({{{"sensitive", {"race", "sex"}}}});
  const json expected = RunReference("metrics", rows, config)[0]["_groups"];
  auto data = ToDataset(rows);
  const Measurement m =
      Measure(*data, "demographic_parity_difference", {{"sensitive", {"race", "sex"}}});
  const json& table = m.details.at("groups");
  BOOST_REQUIRE_EQUAL(table.size(), expected.size());
  BOOST_REQUIRE_EQUAL(table.size(), 6u);  // a/b × f/m, c f, d f: (c, m) and (d, m) never occur.
  for (const json& row : table) {
    const std::string name = row.at("group");
    BOOST_TEST_CONTEXT("group " << name) {
      BOOST_REQUIRE(expected.contains(name));
      const json& want = expected[name];
      BOOST_TEST(row.at("size").get<int64_t>() == want.at("size").get<int64_t>());
      for (const char* rate : {"selection_rate", "tpr", "fpr", "fnr", "ppv", "accuracy"}) {
        const json& got = row.at(rate);
        if (want.at(rate).is_null()) {
          BOOST_TEST(got.at("value").is_null());
        } else {
          BOOST_TEST(std::abs(got.at("value").get<double>() - want.at(rate).get<double>()) <=
                     1e-12);
          BOOST_TEST(got.at("low").get<double>() <= got.at("value").get<double>());
          BOOST_TEST(got.at("high").get<double>() >= got.at("value").get<double>());
        }
      }
    }
  }
  // The empty cell: (c, f) has no false positive; (d, f) no true negative.
  for (const json& row : table) {
    if (row.at("group") == "race=c, sex=f") BOOST_TEST(row.at("counts").at("fp").get<int>() == 0);
    if (row.at("group") == "race=d, sex=f") BOOST_TEST(row.at("counts").at("tn").get<int>() == 0);
  }
}

BOOST_AUTO_TEST_CASE(hmda_black_box_reproduces_published_counts) {
  greenlight::DatasetSpec spec;
  spec.format = "csv";
  spec.path = GREENLIGHT_SOURCE_DIR "/examples/data/hmda.csv";
  spec.label = greenlight::LabelSpec{"deny", "yes"};
  spec.predictions = greenlight::PredictionSpec{"deny", "yes", std::nullopt, std::nullopt};
  spec.sensitive = {"afam"};
  const auto data = greenlight::LoadDataset(spec);
  const json params = {{"sensitive", "afam"}, {"favourable", 0}, {"reference", "no"}};
  const Measurement m = Measure(*data, "disparate_impact_ratio", params, 42);
  // Published: denied 96 of 339 African-American applicants and 189 of 2,041 others.
  const double expected = (243.0 / 339.0) / (1852.0 / 2041.0);
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(std::abs(*m.value - expected) <= 1e-12);
  BOOST_TEST(std::abs(*m.value - 0.790) < 0.0005);
  BOOST_TEST(*m.value < 0.8);  // a four-fifths criterion (gte: 0.8) fails on the point estimate
  BOOST_TEST(m.samples == 2380);
  for (const json& row : m.details.at("groups")) {
    if (row.at("group") == "afam=yes") {
      BOOST_TEST(row.at("size").get<int>() == 339);
      BOOST_TEST(row.at("selection_rate").at("numerator").get<int>() == 243);
      BOOST_TEST(row.at("reference").get<bool>() == false);
    } else {
      BOOST_TEST(row.at("group") == "afam=no");
      BOOST_TEST(row.at("size").get<int>() == 2041);
      BOOST_TEST(row.at("selection_rate").at("numerator").get<int>() == 1852);
      BOOST_TEST(row.at("reference").get<bool>() == true);
    }
  }
  BOOST_REQUIRE(m.interval.has_value());
  BOOST_TEST(m.interval->low < *m.value);
  BOOST_TEST(m.interval->high > *m.value);
  BOOST_TEST_MESSAGE("HMDA disparate_impact_ratio " << *m.value << " 95% interval ["
                                                    << m.interval->low << ", " << m.interval->high
                                                    << "]");
  // The Sidak box by hand: per-group Wilson level sqrt(0.975) = 0.987421, z = 2.4954; the ratio
  // is at least l(yes) / u(no) and at most u(yes) / l(no).
  const auto yes = greenlight::stats::WilsonInterval(243, 339, std::sqrt(0.975));
  const auto no = greenlight::stats::WilsonInterval(1852, 2041, std::sqrt(0.975));
  BOOST_TEST(std::abs(m.interval->low - yes.low / no.high) < 1e-12);
  BOOST_TEST(std::abs(m.interval->high - yes.high / no.low) < 1e-12);
  BOOST_TEST(m.interval->high > 0.8);  // the data cannot show adverse impact at 95 % ...
  BOOST_TEST(m.interval->low < 0.75);
}

// Issue 11, first failure: on a 1,470-row attrition-like set audited by gender the gaps are
// near 0, and a percentile bootstrap of the folded statistic gave intervals that excluded their
// own estimates (0.0053 in [0.0097, 0.148]). Counts (by hand): men TPR 40/148 = 0.27027, FPR
// 20/734 = 0.02725; women TPR 27/99 = 0.27273, FPR 13/489 = 0.02658.
BOOST_AUTO_TEST_CASE(near_zero_gaps_get_intervals_that_contain_them_and_start_at_zero) {
  Rows rows;
  rows.sensitive_names = {"gender"};
  rows.sensitive.resize(1);
  auto add = [&](const std::string& g, int64_t label, int64_t pred, int count) {
    for (int i = 0; i < count; ++i) {
      rows.sensitive[0].push_back(g);
      rows.label.push_back(label);
      rows.pred.push_back(pred);
      rows.score.push_back(0.5);
    }
  };
  add("Male", 1, 1, 40);
  add("Male", 1, 0, 108);
  add("Male", 0, 1, 20);
  add("Male", 0, 0, 714);
  add("Female", 1, 1, 27);
  add("Female", 1, 0, 72);
  add("Female", 0, 1, 13);
  add("Female", 0, 0, 476);
  auto data = ToDataset(rows);
  const double tpr_gap = 27.0 / 99 - 40.0 / 148, fpr_gap = 20.0 / 734 - 13.0 / 489;
  for (const char* metric :
       {"equalized_odds_difference", "average_odds_difference", "equal_opportunity_difference",
        "false_positive_rate_difference", "demographic_parity_difference"}) {
    BOOST_TEST_CONTEXT(metric) {
      const Measurement m = Measure(*data, metric, {{"sensitive", "gender"}});
      BOOST_REQUIRE(m.value && m.interval);
      BOOST_TEST(m.interval->low <= *m.value);
      BOOST_TEST(*m.value <= m.interval->high);
      // Every signed gap's interval straddles 0, so no disparity is claimed.
      BOOST_TEST(m.interval->low == 0.0);
    }
  }
  const Measurement eo = Measure(*data, "equalized_odds_difference", {{"sensitive", "gender"}});
  BOOST_TEST(std::abs(*eo.value - std::max(tpr_gap, fpr_gap)) < 1e-12);
}

// Issue 11, second failure: a 15-applicant group with 11 positives and no false negatives (TPR
// 11/11) passed an equal-opportunity criterion "at 95 %" with [0.029, 0.058], because a count
// bootstrap has nothing to resample at a rate of 1. That group's own Wilson interval starts at
// 11 / (11 + z^2) = 0.7412 (z = 1.96), so the gap to the other group's 0.95 can be 0.2 or more.
BOOST_AUTO_TEST_CASE(a_degenerate_small_group_keeps_a_wide_interval) {
  Rows rows;
  rows.sensitive_names = {"group"};
  rows.sensitive.resize(1);
  auto add = [&](const std::string& g, int64_t label, int64_t pred, int count) {
    for (int i = 0; i < count; ++i) {
      rows.sensitive[0].push_back(g);
      rows.label.push_back(label);
      rows.pred.push_back(pred);
      rows.score.push_back(0.5);
    }
  };
  add("small", 1, 1, 11);
  add("small", 0, 1, 1);
  add("small", 0, 0, 3);
  add("large", 1, 1, 665);
  add("large", 1, 0, 35);
  add("large", 0, 1, 30);
  add("large", 0, 0, 270);
  auto data = ToDataset(rows);
  const Measurement m =
      Measure(*data, "equal_opportunity_difference", {{"sensitive", "group"}}, 7, 0.9);
  BOOST_REQUIRE(m.value && m.interval);
  BOOST_TEST(std::abs(*m.value - 0.05) < 1e-12);
  BOOST_TEST(m.interval->low == 0.0);
  // One-sided 95 % for "lte: 0.1" (the 90 % interval's upper end). By hand (z = 1.644854): the
  // small group's Wilson lower limit is 11 / (11 + z^2) = 0.802595, the large group's upper limit
  // 0.961901, so Newcombe's lower end is 0.05 - hypot(1 - 0.802595, 0.961901 - 0.95) = -0.147763
  // and the gap may be 0.1478: an "lte: 0.1" criterion cannot PASS (it did on the bootstrap).
  BOOST_TEST(std::abs(m.interval->high - 0.147763) < 1e-5);
  BOOST_TEST(m.interval->high > 0.1);
}

BOOST_AUTO_TEST_CASE(multinomial_replicates_keep_the_row_count) {
  const std::vector<fm::CellCounts> cells = {{10, 0, 5, 85}, {40, 3, 7, 0}, {0, 0, 0, 1}};
  const auto reps = fm::DrawCellReplicates(cells, 200, 9);
  BOOST_REQUIRE_EQUAL(reps.size(), 600u);
  double tp0 = 0;
  for (int b = 0; b < 200; ++b) {
    int64_t n = 0;
    for (int g = 0; g < 3; ++g) n += reps[b * 3 + g].size();
    BOOST_TEST(n == 151);
    // Empty cells stay empty in every resample.
    BOOST_TEST(reps[b * 3].fp == 0);
    BOOST_TEST(reps[b * 3 + 1].tn == 0);
    tp0 += static_cast<double>(reps[b * 3].tp);
  }
  BOOST_TEST(std::abs(tp0 / 200.0 - 10.0) <
             1.0);  // mean of Binomial(151, 10/151), sd/sqrt(200) ~ 0.22
}

// The engine SKIPs a label metric on data without labels before measuring (the spec says which
// need them; fairness_cli_test checks the SKIPPED result end to end); measured anyway, it is an
// error naming the missing label, never a value computed from absent labels.
BOOST_AUTO_TEST_CASE(label_metrics_need_labels) {
  const Rows rows = GeneratedRows();
  auto data = ToDataset(rows, /*with_labels=*/false);
  for (const char* name : kAllMetricNames) {
    const auto metric = MakeMetric(name);
    const greenlight::MetricSpec& spec = metric->spec();
    BOOST_TEST(spec.needs_model == false);
    BOOST_TEST(spec.concern == "fairness");
    const bool selection = std::string(name) == "selection_rate" ||
                           std::string(name) == "demographic_parity_difference" ||
                           std::string(name) == "demographic_parity_ratio" ||
                           std::string(name) == "disparate_impact_ratio";
    BOOST_TEST(spec.needs_labels == !selection, name);
    if (spec.needs_labels) {
      try {
        Measure(*data, name, {{"sensitive", "race"}});
        BOOST_ERROR(std::string(name) + " measured without labels");
      } catch (const greenlight::InputError& e) {
        BOOST_TEST(std::string(e.what()).find("needs true labels") != std::string::npos, e.what());
      }
    } else {
      const Measurement m = Measure(*data, name, {{"sensitive", "race"}});
      BOOST_TEST(!m.undecidable.has_value(), name);
      BOOST_TEST(m.value.has_value(), name);
    }
  }
  // Selection metrics without labels agree with the labelled run.
  auto labelled = ToDataset(rows);
  BOOST_TEST(*Measure(*data, "disparate_impact_ratio", {{"sensitive", "race"}}).value ==
             *Measure(*labelled, "disparate_impact_ratio", {{"sensitive", "race"}}).value);
}

BOOST_AUTO_TEST_CASE(threshold_turns_scores_into_predictions) {
  Rows rows = GeneratedRows();
  auto data = ToDataset(rows);
  // Hand count: selection rate per race with score >= 0.7 as favourable.
  std::map<std::string, std::pair<int, int>> sel;
  for (size_t i = 0; i < rows.pred.size(); ++i) {
    auto& s = sel[rows.sensitive[0][i]];
    s.first += rows.score[i] >= 0.7 ? 1 : 0;
    s.second += 1;
  }
  auto rate = [&](const std::string& g) {
    return static_cast<double>(sel[g].first) / sel[g].second;
  };
  const double want = std::max({rate("a"), rate("b"), rate("c"), rate("d")}) -
                      std::min({rate("a"), rate("b"), rate("c"), rate("d")});
  const Measurement m =
      Measure(*data, "demographic_parity_difference", {{"sensitive", "race"}, {"threshold", 0.7}});
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(std::abs(*m.value - want) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(bad_parameters_name_the_problem) {
  auto data = ToDataset(GeneratedRows());
  auto message = [&](const json& params, bool check_data = true) {
    try {
      Measure(*data, "disparate_impact_ratio", params, 7, 0.95, check_data);
    } catch (const greenlight::Error& e) {
      return std::string(e.what());
    } catch (const greenlight::ParamError& e) {
      return "params." + e.field() + ": " + e.what();
    }
    return std::string("no error");
  };
  BOOST_TEST(message({{"sensitive", "age"}}).find("'age' is not among") != std::string::npos);
  // A reference group that matches no row is bad input before anything is measured, with a hint.
  BOOST_TEST(message({{"sensitive", "race"}, {"reference", "A"}}) ==
             "params.reference: group \"A\" matches no audited row of column 'race' in the "
             "dataset (values: \"a\", \"b\", \"c\", \"d\"); did you mean \"a\"?");
  // Measured without that check, it is still an error, never another reference.
  BOOST_TEST(
      message({{"sensitive", "race"}, {"reference", "q"}}, false).find("'q' does not occur") !=
      std::string::npos);
  // Two sensitive columns and no choice: the metric cannot guess.
  BOOST_TEST(message(json::object()).find("params.sensitive") != std::string::npos);
  // What the loader can check is checked when the parameters bind (the loader adds file:line:col).
  BOOST_TEST(
      message({{"sensitive", "race"}, {"min_group_size", 0}}).find("params.min_group_size") == 0);
  BOOST_TEST(message({{"sensitive", 3}}).find("params.sensitive: expected") == 0);
  const auto metric = MakeMetric("demographic_parity_ratio");
  BOOST_CHECK_THROW(metric->Bind({{"aggregation", "pairwise"}}), greenlight::ParamError);
  // aggregation belongs to the gaps and ratios between groups only.
  BOOST_CHECK_THROW(MakeMetric("selection_rate")->Bind({{"aggregation", "to_overall"}}),
                    greenlight::ParamError);
  // One column or a list of one: the same groups (and the same shared work).
  BOOST_TEST(metric->Needs(*metric->Bind({{"sensitive", "race"}}))->key() ==
             metric->Needs(*metric->Bind({{"sensitive", {"race"}}}))->key());
  BOOST_TEST(metric->Needs(*metric->Bind({{"sensitive", "race"}}))->key() !=
             metric->Needs(*metric->Bind({{"sensitive", "sex"}}))->key());
}

// The statistics are the per-group counts, keyed by the groups' values: they travel as JSON, and
// partials of different groupings (or of different prediction sources) refuse to merge.
BOOST_AUTO_TEST_CASE(statistics_travel_as_counts_and_refuse_foreign_partials) {
  const Rows rows = GeneratedRows();
  auto data = ToDataset(rows);
  AuditContext ctx(nullptr, *data, 7, nullptr);
  const auto metric = MakeMetric("accuracy_difference");
  const auto by_race = metric->Bind({{"sensitive", "race"}});
  const auto by_sex = metric->Bind({{"sensitive", "sex"}});
  const auto race_rows = metric->Needs(*by_race)->Run(ctx, {});
  const auto sex_rows = metric->Needs(*by_sex)->Run(ctx, {});
  const auto race = metric->Accumulate(*by_race, {*race_rows, nullptr, {0, 1000}});
  const json shipped = race->ToJson();
  // Hand count of race = d among the first 1,000 rows (favourable 1).
  int64_t d_tp = 0, d_size = 0;
  for (size_t i = 0; i < 1000; ++i) {
    if (rows.sensitive[0][i] != "d") continue;
    ++d_size;
    d_tp += rows.label[i] == 1 && rows.pred[i] == 1 ? 1 : 0;
  }
  bool found = false;
  for (const json& g : shipped.at("groups")) {
    if (g.at("values") == json::array({"d"})) {
      found = true;
      BOOST_TEST(g.at("tp").get<int64_t>() == d_tp);
      BOOST_TEST(g.at("tp").get<int64_t>() + g.at("fp").get<int64_t>() + g.at("fn").get<int64_t>() +
                     g.at("tn").get<int64_t>() ==
                 d_size);
    }
  }
  BOOST_TEST(found == (d_size > 0));
  const auto sex = metric->Accumulate(*by_sex, {*sex_rows, nullptr, {1000, 2000}});
  BOOST_CHECK_THROW(metric->Merge(*metric->StatsFromJson(shipped), *sex), greenlight::RuntimeError);
  json broken = shipped;
  broken["groups"][0]["values"] = json::array({"a", "f"});  // two values for one column
  BOOST_CHECK_THROW(metric->StatsFromJson(broken), greenlight::InputError);
}

// `sensitive` is one column or a list (StringOrList): bound as the list, shown as written.
BOOST_AUTO_TEST_CASE(sensitive_binds_one_column_or_a_list) {
  const auto metric = MakeMetric("demographic_parity_difference");
  BOOST_TEST(metric->Bind({{"sensitive", "race"}})->values().at("sensitive") == json("race"));
  BOOST_TEST(metric->Bind({{"sensitive", {"race", "sex"}}})->values().at("sensitive") ==
             json::array({"race", "sex"}));
  BOOST_TEST(metric->Bind(json::object())->values().at("sensitive").is_null());
  BOOST_CHECK_THROW(metric->Bind({{"sensitive", {"race", 1}}}), greenlight::ParamError);
  BOOST_CHECK_THROW(metric->Bind({{"sensitive", {{"col", "race"}}}}), greenlight::ParamError);
  const auto spec_params = metric->spec().params;
  BOOST_TEST(spec_params.front().name == "sensitive");
  BOOST_TEST((spec_params.front().type == greenlight::ParamType::kStringOrList));
}
