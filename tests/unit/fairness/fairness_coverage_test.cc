// Coverage of every fairness metric's interval, by simulation: audits are drawn from populations
// whose per-group rates are known (true gap 0, small, large; group sizes 10 to 10,000; rates at
// and near 0 and 1), the interval is computed by the pure functions the auditor calls
// (fairness::MetricInterval), and the true value, computed here
// from the population rates by an independent implementation of each definition, must fall inside
// in at least nominal - 2.5 points of the replications. Every interval must contain its estimate.
// The table in docs/statistics.md is this test's output:
//   build/tests/unit/fairness/fairness_coverage_test --log_level=message | grep '^|'
#define BOOST_TEST_MODULE fairness_coverage
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "auditors/fairness/fairness_metrics.h"
#include "core/random.h"

namespace fm = greenlight::fairness;
namespace rnd = greenlight::random;
using fm::Metric;

namespace {

constexpr double kLevel = 0.95;
constexpr double kSlack = 0.025;

// One group of the population: size, share labelled favourable, and P(predicted favourable) given
// the label.
struct Group {
  int64_t n;
  double base, tpr, fpr;
  double selection() const { return base * tpr + (1 - base) * fpr; }
  double accuracy() const { return base * tpr + (1 - base) * (1 - fpr); }
};

struct Scenario {
  std::string name;
  std::vector<Group> groups;
};

fm::CellCounts Draw(rnd::Rng& g, const Group& p) {
  fm::CellCounts c;
  const int64_t pos = rnd::Binomial(g, p.n, p.base);
  c.tp = rnd::Binomial(g, pos, p.tpr);
  c.fn = pos - c.tp;
  c.fp = rnd::Binomial(g, p.n - pos, p.fpr);
  c.tn = p.n - pos - c.fp;
  return c;
}

double Gap(const std::vector<double>& r) {
  return *std::max_element(r.begin(), r.end()) - *std::min_element(r.begin(), r.end());
}

// The metric of the population, from the definitions (docs/fairness.md), not from our code.
double Truth(Metric metric, const Scenario& s, fm::Aggregation agg) {
  std::vector<double> sel, tpr, fpr, acc;
  double n = 0, sel_all = 0;
  for (const Group& p : s.groups) {
    sel.push_back(p.selection());
    tpr.push_back(p.tpr);
    fpr.push_back(p.fpr);
    acc.push_back(p.accuracy());
    n += static_cast<double>(p.n);
    sel_all += static_cast<double>(p.n) * p.selection();
  }
  sel_all /= n;
  switch (metric) {
    case Metric::kDemographicParityDifference:
      if (agg == fm::Aggregation::kToOverall) {
        double worst = 0;
        for (double v : sel) worst = std::max(worst, std::abs(v - sel_all));
        return worst;
      }
      return Gap(sel);
    case Metric::kEqualOpportunityDifference:
      return Gap(tpr);
    case Metric::kFalsePositiveRateDifference:
      return Gap(fpr);
    case Metric::kAccuracyDifference:
      return Gap(acc);
    case Metric::kEqualizedOddsDifference:
      return std::max(Gap(tpr), Gap(fpr));
    case Metric::kAverageOddsDifference:
      return 0.5 * (Gap(tpr) + Gap(fpr));
    case Metric::kDemographicParityRatio: {
      if (agg == fm::Aggregation::kToOverall) {
        double worst = 1;
        for (double v : sel) worst = std::min(worst, std::min(v, sel_all) / std::max(v, sel_all));
        return worst;
      }
      return *std::min_element(sel.begin(), sel.end()) / *std::max_element(sel.begin(), sel.end());
    }
    case Metric::kDisparateImpactRatio: {  // Reference: group 0.
      double worst = 1e300;
      for (size_t g = 1; g < sel.size(); ++g) worst = std::min(worst, sel[g] / sel[0]);
      return worst;
    }
    case Metric::kGroupAccuracyMin:
      return *std::min_element(acc.begin(), acc.end());
    case Metric::kTheilIndex: {
      double b0 = 0, b2 = 0;
      for (const Group& p : s.groups) {
        b0 += static_cast<double>(p.n) / n * p.base * (1 - p.tpr);
        b2 += static_cast<double>(p.n) / n * (1 - p.base) * p.fpr;
      }
      const double b1 = 1 - b0 - b2, mu = b1 + 2 * b2;
      return b1 * (1 / mu) * std::log(1 / mu) + b2 * (2 / mu) * std::log(2 / mu);
    }
    default:
      BOOST_FAIL("no truth for this metric");
  }
  return 0;
}

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> out;
  auto two = [&](const std::string& name, Group a, Group b) {
    for (auto [n1, n2] : {std::pair<int64_t, int64_t>{10, 10},
                          {15, 1000},
                          {100, 100},
                          {1000, 1000},
                          {10000, 10000}}) {
      a.n = n1;
      b.n = n2;
      out.push_back({name + ", " + std::to_string(n1) + " vs " + std::to_string(n2), {a, b}});
    }
  };
  two("parity", {0, 0.4, 0.8, 0.2}, {0, 0.4, 0.8, 0.2});
  two("small gap", {0, 0.4, 0.8, 0.2}, {0, 0.4, 0.75, 0.23});
  two("large gap", {0, 0.4, 0.9, 0.1}, {0, 0.5, 0.5, 0.4});
  two("rates at 0 and 1", {0, 0.5, 1.0, 0.0}, {0, 0.5, 0.98, 0.02});
  out.push_back(
      {"parity, 4 groups of 200",
       {{200, 0.4, 0.8, 0.2}, {200, 0.4, 0.8, 0.2}, {200, 0.4, 0.8, 0.2}, {200, 0.4, 0.8, 0.2}}});
  out.push_back(
      {"large gap, 4 groups (20, 100, 1000, 5000)",
       {{20, 0.3, 0.9, 0.1}, {100, 0.4, 0.7, 0.2}, {1000, 0.5, 0.6, 0.3}, {5000, 0.6, 0.8, 0.15}}});
  return out;
}

struct Family {
  Metric metric;
  fm::Aggregation aggregation;
  std::string label;
};

void Row(const std::string& family, const std::string& scenario, int defined, double coverage) {
  char line[320];
  std::snprintf(line, sizeof line, "| %s | %s | %d | %.1f %% |", family.c_str(), scenario.c_str(),
                defined, 100.0 * coverage);
  BOOST_TEST_MESSAGE(line);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_fairness_interval_covers_its_true_value) {
  const std::vector<Family> families = {
      {Metric::kDemographicParityDifference, fm::Aggregation::kBetweenGroups,
       "demographic_parity_difference"},
      {Metric::kDemographicParityDifference, fm::Aggregation::kToOverall,
       "demographic_parity_difference (to_overall)"},
      {Metric::kEqualOpportunityDifference, fm::Aggregation::kBetweenGroups,
       "equal_opportunity_difference"},
      {Metric::kEqualizedOddsDifference, fm::Aggregation::kBetweenGroups,
       "equalized_odds_difference"},
      {Metric::kAverageOddsDifference, fm::Aggregation::kBetweenGroups, "average_odds_difference"},
      {Metric::kAccuracyDifference, fm::Aggregation::kBetweenGroups, "accuracy_difference"},
      {Metric::kDemographicParityRatio, fm::Aggregation::kBetweenGroups,
       "demographic_parity_ratio"},
      {Metric::kDemographicParityRatio, fm::Aggregation::kToOverall,
       "demographic_parity_ratio (to_overall)"},
      {Metric::kDisparateImpactRatio, fm::Aggregation::kBetweenGroups,
       "disparate_impact_ratio (reference: first group)"},
      {Metric::kGroupAccuracyMin, fm::Aggregation::kBetweenGroups, "group_accuracy_min"},
      {Metric::kTheilIndex, fm::Aggregation::kBetweenGroups, "theil_index"},
  };
  const int reps = 1000;
  rnd::Rng g(404);
  for (const Family& f : families) {
    for (const Scenario& s : Scenarios()) {
      const double truth = Truth(f.metric, s, f.aggregation);
      if (!std::isfinite(truth)) continue;
      fm::Options options;
      options.aggregation = f.aggregation;
      options.reference = fm::ReferenceKind::kGroup;
      options.reference_group = 0;
      std::vector<std::string> names;
      for (size_t k = 0; k < s.groups.size(); ++k) names.push_back("g" + std::to_string(k));
      int defined = 0, covered = 0;
      for (int r = 0; r < reps; ++r) {
        std::vector<fm::CellCounts> cells;
        fm::CellCounts overall;
        for (const Group& p : s.groups) {
          cells.push_back(Draw(g, p));
          overall += cells.back();
        }
        const fm::Evaluation e = fm::Evaluate(f.metric, cells, overall, names, options);
        const auto interval = fm::MetricInterval(f.metric, cells, overall, names, options, kLevel);
        BOOST_REQUIRE_EQUAL(e.value.has_value(), interval.has_value());
        if (!e.value) continue;  // Undefined (0/0) on this draw: no interval is reported.
        ++defined;
        BOOST_REQUIRE(interval->low <= *e.value);
        BOOST_REQUIRE(*e.value <= interval->high);
        covered += interval->low <= truth + 1e-12 && truth - 1e-12 <= interval->high;
      }
      const double coverage = defined > 0 ? covered / double(defined) : 1.0;
      Row(f.label, s.name, defined, coverage);
      BOOST_TEST_CONTEXT(f.label << ", " << s.name) {
        BOOST_TEST(defined >= reps / 2);
        BOOST_TEST(coverage >= kLevel - kSlack);
      }
    }
  }
}
