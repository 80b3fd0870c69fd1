#include "auditors/fairness/fairness_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/random.h"
#include "core/stats.h"

namespace greenlight::fairness {

CellCounts GroupedCounts::Total() const {
  CellCounts t;
  for (const CellCounts& c : cells) t += c;
  return t;
}

namespace {

void CheckLengths(size_t rows, std::span<const int64_t> labels, const std::string& what) {
  if (!labels.empty() && labels.size() != rows) {
    throw InputError("fairness: " + std::to_string(labels.size()) + " labels for " +
                     std::to_string(rows) + " " + what);
  }
}

}  // namespace

GroupedCounts CountGroups(const std::vector<std::string>& column_names,
                          const std::vector<std::span<const std::string>>& columns,
                          std::span<const int64_t> labels, std::span<const int64_t> predicted,
                          int64_t favourable) {
  if (columns.empty() || columns.size() != column_names.size()) {
    throw InputError("fairness: at least one sensitive column is needed");
  }
  const size_t n = predicted.size();
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].size() != n) {
      throw InputError("fairness: sensitive column '" + column_names[c] + "' has " +
                       std::to_string(columns[c].size()) + " values for " + std::to_string(n) +
                       " predictions");
    }
  }
  CheckLengths(n, labels, "predictions");
  // Groups in order of first appearance, keyed by the values joined with a separator that cannot
  // occur in CSV text fields of the data sets we read (unit separator).
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::vector<std::string>> first_values;
  std::vector<CellCounts> counts;
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    key.clear();
    for (size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) key.push_back('\x1f');
      key += columns[c][i];
    }
    auto [it, inserted] = ids.try_emplace(key, static_cast<int32_t>(counts.size()));
    if (inserted) {
      std::vector<std::string> v;
      for (size_t c = 0; c < columns.size(); ++c) v.push_back(columns[c][i]);
      first_values.push_back(std::move(v));
      counts.emplace_back();
    }
    const bool y = !labels.empty() && labels[i] == favourable;
    counts[static_cast<size_t>(it->second)].Add(y, predicted[i] == favourable);
  }
  // Report groups sorted by name, so that output does not depend on row order.
  std::vector<std::string> names;
  for (const auto& v : first_values) {
    std::string name;
    for (size_t c = 0; c < v.size(); ++c) {
      if (c > 0) name += ", ";
      name += column_names[c] + "=" + v[c];
    }
    names.push_back(std::move(name));
  }
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return names[a] < names[b]; });
  GroupedCounts out;
  out.has_labels = !labels.empty();
  for (size_t k : order) {
    out.names.push_back(names[k]);
    out.values.push_back(first_values[k]);
    out.cells.push_back(counts[k]);
  }
  return out;
}

GroupedCounts CountCells(std::span<const int32_t> group_ids, std::vector<std::string> names,
                         std::span<const int64_t> labels, std::span<const int64_t> predicted,
                         int64_t favourable) {
  if (group_ids.size() != predicted.size()) {
    throw InputError("fairness: group ids and predictions differ in length");
  }
  CheckLengths(predicted.size(), labels, "predictions");
  GroupedCounts out;
  out.has_labels = !labels.empty();
  out.cells.resize(names.size());
  for (const auto& name : names) out.values.push_back({name});
  out.names = std::move(names);
  const int32_t groups = static_cast<int32_t>(out.cells.size());
  for (size_t i = 0; i < predicted.size(); ++i) {
    const int32_t g = group_ids[i];
    if (g < 0 || g >= groups) throw InputError("fairness: group id out of range");
    out.cells[static_cast<size_t>(g)].Add(!labels.empty() && labels[i] == favourable,
                                          predicted[i] == favourable);
  }
  return out;
}

std::string_view RateName(Rate rate) {
  switch (rate) {
    case Rate::kBaseRate:
      return "base_rate";
    case Rate::kSelectionRate:
      return "selection_rate";
    case Rate::kTpr:
      return "tpr";
    case Rate::kFpr:
      return "fpr";
    case Rate::kFnr:
      return "fnr";
    case Rate::kPpv:
      return "ppv";
    case Rate::kAccuracy:
      return "accuracy";
  }
  return "rate";
}

std::pair<int64_t, int64_t> RateFraction(const CellCounts& c, Rate rate) {
  switch (rate) {
    case Rate::kBaseRate:
      return {c.tp + c.fn, c.size()};
    case Rate::kSelectionRate:
      return {c.tp + c.fp, c.size()};
    case Rate::kTpr:
      return {c.tp, c.tp + c.fn};
    case Rate::kFpr:
      return {c.fp, c.fp + c.tn};
    case Rate::kFnr:
      return {c.fn, c.tp + c.fn};
    case Rate::kPpv:
      return {c.tp, c.tp + c.fp};
    case Rate::kAccuracy:
      return {c.tp + c.tn, c.size()};
  }
  return {0, 0};
}

std::optional<double> RateOf(const CellCounts& c, Rate rate) {
  const auto [num, den] = RateFraction(c, rate);
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

namespace {

struct MetricInfo {
  Metric metric;
  std::string_view name;
  bool needs_labels;
};
constexpr MetricInfo kMetricInfo[] = {
    {Metric::kSelectionRate, "selection_rate", false},
    {Metric::kDemographicParityDifference, "demographic_parity_difference", false},
    {Metric::kDemographicParityRatio, "demographic_parity_ratio", false},
    {Metric::kDisparateImpactRatio, "disparate_impact_ratio", false},
    {Metric::kEqualOpportunityDifference, "equal_opportunity_difference", true},
    {Metric::kEqualizedOddsDifference, "equalized_odds_difference", true},
    {Metric::kAverageOddsDifference, "average_odds_difference", true},
    {Metric::kPredictiveParityDifference, "predictive_parity_difference", true},
    {Metric::kFalsePositiveRateDifference, "false_positive_rate_difference", true},
    {Metric::kFalseNegativeRateDifference, "false_negative_rate_difference", true},
    {Metric::kAccuracyDifference, "accuracy_difference", true},
    {Metric::kGroupAccuracyMin, "group_accuracy_min", true},
    {Metric::kTheilIndex, "theil_index", true},
};

std::string_view UndefinedWhy(Rate rate) {
  switch (rate) {
    case Rate::kBaseRate:
    case Rate::kSelectionRate:
    case Rate::kAccuracy:
      return "the group has no rows";
    case Rate::kTpr:
    case Rate::kFnr:
      return "no row labelled favourable";
    case Rate::kFpr:
      return "no row labelled unfavourable";
    case Rate::kPpv:
      return "no row predicted favourable";
  }
  return "0/0";
}

// The eligible groups' rates, or the reason one of them is undefined.
struct GroupRates {
  std::vector<double> values;
  std::string undefined_reason;
  bool ok() const { return undefined_reason.empty(); }
};

class Evaluator {
 public:
  Evaluator(std::span<const CellCounts> groups, const CellCounts& overall,
            const std::vector<std::string>& names, const Options& options)
      : groups_(groups), overall_(overall), names_(names), options_(options) {
    for (size_t g = 0; g < groups.size(); ++g) {
      if (options.eligible.empty() || options.eligible[g]) eligible_.push_back(g);
    }
  }

  Evaluation Run(Metric metric) {
    switch (metric) {
      case Metric::kSelectionRate:
        return Overall(Rate::kSelectionRate);
      case Metric::kDemographicParityDifference:
        return Difference(Rate::kSelectionRate);
      case Metric::kDemographicParityRatio:
        return Ratio(Rate::kSelectionRate);
      case Metric::kDisparateImpactRatio:
        return DisparateImpact();
      case Metric::kEqualOpportunityDifference:
        return Difference(Rate::kTpr);
      case Metric::kEqualizedOddsDifference:
      case Metric::kAverageOddsDifference: {
        const Evaluation tpr = Difference(Rate::kTpr);
        if (!tpr.value) return tpr;
        const Evaluation fpr = Difference(Rate::kFpr);
        if (!fpr.value) return fpr;
        if (metric == Metric::kEqualizedOddsDifference) return {std::max(*tpr.value, *fpr.value)};
        return {0.5 * (*tpr.value + *fpr.value)};
      }
      case Metric::kPredictiveParityDifference:
        return Difference(Rate::kPpv);
      case Metric::kFalsePositiveRateDifference:
        return Difference(Rate::kFpr);
      case Metric::kFalseNegativeRateDifference:
        return Difference(Rate::kFnr);
      case Metric::kAccuracyDifference:
        return Difference(Rate::kAccuracy);
      case Metric::kGroupAccuracyMin: {
        if (eligible_.empty()) return Undefined("no group reaches min_group_size");
        const GroupRates r = Rates(Rate::kAccuracy);
        if (!r.ok()) return Undefined(r.undefined_reason);
        return {*std::min_element(r.values.begin(), r.values.end())};
      }
      case Metric::kTheilIndex: {
        auto v = TheilIndex(static_cast<double>(overall_.fn),
                            static_cast<double>(overall_.tp + overall_.tn),
                            static_cast<double>(overall_.fp));
        if (!v)
          return Undefined("theil_index is undefined: no rows, or every b = yhat - y + 1 is 0");
        return {v};
      }
    }
    return Undefined("unknown metric");
  }

 private:
  static Evaluation Undefined(std::string reason) { return {std::nullopt, std::move(reason)}; }

  Evaluation Overall(Rate rate) {
    auto v = RateOf(overall_, rate);
    if (!v)
      return Undefined(std::string(RateName(rate)) +
                       " is undefined (0/0): " + std::string(UndefinedWhy(rate)));
    return {v};
  }

  GroupRates Rates(Rate rate) {
    GroupRates out;
    for (size_t g : eligible_) {
      auto v = RateOf(groups_[g], rate);
      if (!v) {
        out.undefined_reason = std::string(RateName(rate)) + " of group '" + names_[g] +
                               "' is undefined (0/0: " + std::string(UndefinedWhy(rate)) + ")";
        return out;
      }
      out.values.push_back(*v);
    }
    return out;
  }

  Evaluation Difference(Rate rate) {
    if (eligible_.size() < 2) return Undefined("fewer than two groups reach min_group_size");
    const GroupRates r = Rates(rate);
    if (!r.ok()) return Undefined(r.undefined_reason);
    if (options_.aggregation == Aggregation::kBetweenGroups) {
      const auto [lo, hi] = std::minmax_element(r.values.begin(), r.values.end());
      return {*hi - *lo};
    }
    const auto all = RateOf(overall_, rate);
    if (!all) return Undefined("overall " + std::string(RateName(rate)) + " is undefined (0/0)");
    double worst = 0.0;
    for (double v : r.values) worst = std::max(worst, std::abs(v - *all));
    return {worst};
  }

  // min(a, b) / max(a, b): 1 at parity, 0 when exactly one is 0, undefined when both are.
  static std::optional<double> SymmetricRatio(double a, double b) {
    const double hi = std::max(a, b);
    if (hi == 0.0) return std::nullopt;
    return std::min(a, b) / hi;
  }

  Evaluation Ratio(Rate rate) {
    if (eligible_.size() < 2) return Undefined("fewer than two groups reach min_group_size");
    const GroupRates r = Rates(rate);
    if (!r.ok()) return Undefined(r.undefined_reason);
    const std::string zero = "every group's " + std::string(RateName(rate)) + " is 0 (0/0)";
    if (options_.aggregation == Aggregation::kBetweenGroups) {
      const auto [lo, hi] = std::minmax_element(r.values.begin(), r.values.end());
      auto v = SymmetricRatio(*lo, *hi);
      if (!v) return Undefined(zero);
      return {v};
    }
    const auto all = RateOf(overall_, rate);
    if (!all) return Undefined("overall " + std::string(RateName(rate)) + " is undefined (0/0)");
    double worst = 1.0;
    for (double v : r.values) {
      auto q = SymmetricRatio(v, *all);
      if (!q) return Undefined(zero);
      worst = std::min(worst, *q);
    }
    return {worst};
  }

  Evaluation DisparateImpact() {
    if (eligible_.size() < 2) return Undefined("fewer than two groups reach min_group_size");
    const GroupRates r = Rates(Rate::kSelectionRate);
    if (!r.ok()) return Undefined(r.undefined_reason);
    size_t ref = 0;  // Position in eligible_.
    if (options_.reference == ReferenceKind::kBest) {
      ref = static_cast<size_t>(std::max_element(r.values.begin(), r.values.end()) -
                                r.values.begin());
    } else {
      auto it = std::find(eligible_.begin(), eligible_.end(),
                          static_cast<size_t>(options_.reference_group));
      if (options_.reference_group < 0 || it == eligible_.end()) {
        return Undefined("the reference group does not reach min_group_size");
      }
      ref = static_cast<size_t>(it - eligible_.begin());
    }
    if (r.values[ref] == 0.0) {
      return Undefined("the reference group '" + names_[eligible_[ref]] +
                       "' has selection rate 0 (ratio 0/0 or x/0)");
    }
    double worst = 0.0;
    bool first = true;
    for (size_t k = 0; k < r.values.size(); ++k) {
      if (k == ref) continue;
      const double q = r.values[k] / r.values[ref];
      worst = first ? q : std::min(worst, q);
      first = false;
    }
    return {worst};
  }

  std::span<const CellCounts> groups_;
  const CellCounts& overall_;
  const std::vector<std::string>& names_;
  const Options& options_;
  std::vector<size_t> eligible_;
};

}  // namespace

std::string_view MetricName(Metric metric) {
  for (const auto& info : kMetricInfo) {
    if (info.metric == metric) return info.name;
  }
  return "";
}

std::optional<Metric> ParseMetric(std::string_view name) {
  for (const auto& info : kMetricInfo) {
    if (info.name == name) return info.metric;
  }
  return std::nullopt;
}

bool NeedsLabels(Metric metric) {
  for (const auto& info : kMetricInfo) {
    if (info.metric == metric) return info.needs_labels;
  }
  return true;
}

Evaluation Evaluate(Metric metric, std::span<const CellCounts> groups, const CellCounts& overall,
                    const std::vector<std::string>& names, const Options& options) {
  return Evaluator(groups, overall, names, options).Run(metric);
}

namespace {

// Bounds on a statistic; each end misses its true value with probability <= (1 - level) / 2.
struct Bounds {
  double low;
  double high;
};

CellCounts Minus(const CellCounts& a, const CellCounts& b) {
  return {a.tp - b.tp, a.fp - b.fp, a.fn - b.fn, a.tn - b.tn};
}

// |d| from intervals of the signed d: `upper` bounds |d| above by max(|L|, |U|); `lower` bounds it
// below by the distance from 0 to the interval (0 when it straddles 0).
double FoldHigh(const Interval& upper) {
  return std::max(std::abs(upper.low), std::abs(upper.high));
}
double FoldLow(const Interval& lower) {
  if (lower.low > 0.0) return lower.low;
  if (lower.high < 0.0) return -lower.high;
  return 0.0;
}

// The gap statistic of Evaluator::Difference. Between groups, max - min = max over pairs of
// |p_i - p_j|: every pair gets a Newcombe interval, Bonferroni over the m pairs. The upper end
// misses only when some pair's difference exceeds its interval on the side away from 0 (one
// tail each: m * alpha / (2m)); the lower end can miss on either tail, so its pair intervals are
// at 1 - alpha / (2m). To overall: p_g - p_all = (n_rest / n_all) (p_g - p_rest), the groups
// being disjoint, so a Newcombe interval of g against the rest of the rows, scaled.
Bounds GapBounds(Rate rate, std::span<const CellCounts> groups, const CellCounts& overall,
                 const std::vector<size_t>& eligible, Aggregation aggregation, double level) {
  const double alpha = 1.0 - level;
  Bounds out{0.0, 0.0};
  if (aggregation == Aggregation::kBetweenGroups) {
    const double k = static_cast<double>(eligible.size());
    const double m = k * (k - 1.0) / 2.0;
    for (size_t a = 0; a < eligible.size(); ++a) {
      const auto [x1, n1] = RateFraction(groups[eligible[a]], rate);
      for (size_t b = a + 1; b < eligible.size(); ++b) {
        const auto [x2, n2] = RateFraction(groups[eligible[b]], rate);
        const Interval hi = stats::NewcombeInterval(x1, n1, x2, n2, 1.0 - alpha / m);
        const Interval lo = stats::NewcombeInterval(x1, n1, x2, n2, 1.0 - alpha / (2.0 * m));
        out.high = std::max(out.high, FoldHigh(hi));
        out.low = std::max(out.low, FoldLow(lo));
      }
    }
    return out;
  }
  const double k = static_cast<double>(eligible.size());
  for (size_t g : eligible) {
    const CellCounts rest = Minus(overall, groups[g]);
    const auto [x1, n1] = RateFraction(groups[g], rate);
    const auto [x2, n2] = RateFraction(rest, rate);
    if (n2 == 0) continue;  // The group is every row of the rate: its gap is exactly 0.
    const double scale = static_cast<double>(n2) / static_cast<double>(n1 + n2);
    const Interval hi = stats::NewcombeInterval(x1, n1, x2, n2, 1.0 - alpha / k);
    const Interval lo = stats::NewcombeInterval(x1, n1, x2, n2, 1.0 - alpha / (2.0 * k));
    out.high = std::max(out.high, scale * FoldHigh(hi));
    out.low = std::max(out.low, scale * FoldLow(lo));
  }
  return out;
}

// Wilson intervals of the eligible groups' rates, simultaneous at 1 - (1 - level) / 2 (Sidak over
// independent groups): both ends of anything bounded by the box's corners then miss with
// probability <= (1 - level) / 2 each.
std::vector<Interval> RateBox(Rate rate, std::span<const CellCounts> groups,
                              const std::vector<size_t>& eligible, double level) {
  const double per_group =
      std::pow(1.0 - (1.0 - level) / 2.0, 1.0 / static_cast<double>(eligible.size()));
  std::vector<Interval> out;
  for (size_t g : eligible) {
    const auto [x, n] = RateFraction(groups[g], rate);
    out.push_back(stats::WilsonInterval(x, n, per_group));
  }
  return out;
}

// min over max of the rates in the box: at least min l / max u, at most min u / max l (1 when the
// boxes share a value).
Bounds MinOverMaxBounds(const std::vector<Interval>& box) {
  double min_l = 1.0, min_u = 1.0, max_l = 0.0, max_u = 0.0;
  for (const Interval& w : box) {
    min_l = std::min(min_l, w.low);
    min_u = std::min(min_u, w.high);
    max_l = std::max(max_l, w.low);
    max_u = std::max(max_u, w.high);
  }
  return {max_u > 0.0 ? min_l / max_u : 0.0, max_l > 0.0 ? std::min(1.0, min_u / max_l) : 1.0};
}

// min(theta, 1/theta) for theta in [a, b] (a <= b, a >= 0).
Bounds SymmetricRatioBounds(double a, double b) {
  auto sym = [](double t) { return t <= 1.0 ? t : 1.0 / t; };
  if (a <= 1.0 && b >= 1.0) return {std::min(sym(a), sym(b)), 1.0};
  return {std::min(sym(a), sym(b)), std::max(sym(a), sym(b))};
}

// Each group's symmetric ratio to the overall rate. With w = n_g / n_all and the rest of the rows
// r, theta = p_g / p_all = p_g / (w p_g + (1 - w) p_r), increasing in p_g and decreasing in p_r:
// bounded by the corners of a Wilson box of (p_g, p_r), simultaneous over the groups (Bonferroni
// over groups, Sidak within a pair).
Bounds RatioToOverallBounds(Rate rate, std::span<const CellCounts> groups,
                            const CellCounts& overall, const std::vector<size_t>& eligible,
                            double level) {
  const double k = static_cast<double>(eligible.size());
  const double per_interval = std::sqrt(1.0 - (1.0 - level) / (2.0 * k));
  Bounds out{1.0, 1.0};
  for (size_t g : eligible) {
    const CellCounts rest = Minus(overall, groups[g]);
    const auto [x1, n1] = RateFraction(groups[g], rate);
    const auto [x2, n2] = RateFraction(rest, rate);
    if (n2 == 0) continue;  // The group is every row: ratio exactly 1.
    const double w = static_cast<double>(n1) / static_cast<double>(n1 + n2);
    const Interval wg = stats::WilsonInterval(x1, n1, per_interval);
    const Interval wr = stats::WilsonInterval(x2, n2, per_interval);
    auto theta = [&](double pg, double pr) {
      const double all = w * pg + (1.0 - w) * pr;
      return all > 0.0 ? pg / all : 1.0;
    };
    const Bounds b = SymmetricRatioBounds(theta(wg.low, wr.high), theta(wg.high, wr.low));
    out.low = std::min(out.low, b.low);
    out.high = std::min(out.high, b.high);
  }
  return out;
}

// The Theil index of shares x = fn / n (b = 0) and y = fp / n (b = 2) is
// T = 2 ln 2 y / mu - ln mu with mu = 1 - x + y (the b = 1 share is 1 - x - y): increasing in x,
// and in y increasing up to y* = (2 ln 2 - 1)(1 - x) and decreasing after. Its extremes over a box
// of simultaneous Wilson intervals for x and y (Bonferroni: 1 - (1 - level) / 4 each, so that the
// box fails with probability <= (1 - level) / 2) are therefore at a few candidate points.
Bounds TheilBounds(const CellCounts& overall, double level) {
  const int64_t n = overall.size();
  const double each = 1.0 - (1.0 - level) / 4.0;
  const Interval bx = stats::WilsonInterval(overall.fn, n, each);
  const Interval by = stats::WilsonInterval(overall.fp, n, each);
  auto theil = [](double x, double y) {
    const double mu = 1.0 - x + y;
    return 2.0 * std::numbers::ln2 * y / mu - std::log(mu);
  };
  // Minimum: smallest x; the y range there is [by.low, min(by.high, 1 - bx.low)], ends only.
  const double y_top_at_low_x = std::min(by.high, 1.0 - bx.low);
  const double low = std::min(theil(bx.low, by.low), theil(bx.low, y_top_at_low_x));
  // Maximum: for each y the largest feasible x = min(bx.high, 1 - y).
  double high = -std::numeric_limits<double>::infinity();
  auto consider = [&](double y) {
    const double x = std::min(bx.high, 1.0 - y);
    if (x >= bx.low && y >= by.low && y <= by.high) high = std::max(high, theil(x, y));
  };
  const double y_star = (2.0 * std::numbers::ln2 - 1.0) * (1.0 - bx.high);
  consider(by.low);
  consider(by.high);
  consider(std::clamp(y_star, by.low, by.high));
  consider(std::clamp(1.0 - bx.high, by.low, by.high));  // Where x = bx.high meets x + y = 1.
  return {std::max(0.0, low), high};
}

}  // namespace

std::optional<Interval> MetricInterval(Metric metric, std::span<const CellCounts> groups,
                                       const CellCounts& overall,
                                       const std::vector<std::string>& names,
                                       const Options& options, double level) {
  if (!(level > 0.0 && level < 1.0)) throw InputError("interval level must be in (0, 1)");
  const Evaluation value = Evaluate(metric, groups, overall, names, options);
  if (!value.value) return std::nullopt;
  std::vector<size_t> eligible;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (options.eligible.empty() || options.eligible[g]) eligible.push_back(g);
  }
  const Aggregation agg = options.aggregation;
  // Two families at half the error rate each (TPR gaps use the rows labelled favourable, FPR gaps
  // the others).
  const double half = 1.0 - (1.0 - level) / 2.0;
  Bounds b{0.0, 0.0};
  std::string method;
  switch (metric) {
    case Metric::kSelectionRate: {
      const auto [x, n] = RateFraction(overall, Rate::kSelectionRate);
      const Interval w = stats::WilsonInterval(x, n, level);
      b = {w.low, w.high};
      method = "wilson";
      break;
    }
    case Metric::kDemographicParityDifference:
    case Metric::kEqualOpportunityDifference:
    case Metric::kPredictiveParityDifference:
    case Metric::kFalsePositiveRateDifference:
    case Metric::kFalseNegativeRateDifference:
    case Metric::kAccuracyDifference: {
      static constexpr std::pair<Metric, Rate> kRates[] = {
          {Metric::kDemographicParityDifference, Rate::kSelectionRate},
          {Metric::kEqualOpportunityDifference, Rate::kTpr},
          {Metric::kPredictiveParityDifference, Rate::kPpv},
          {Metric::kFalsePositiveRateDifference, Rate::kFpr},
          {Metric::kFalseNegativeRateDifference, Rate::kFnr},
          {Metric::kAccuracyDifference, Rate::kAccuracy}};
      Rate rate = Rate::kSelectionRate;
      for (const auto& [m, r] : kRates) {
        if (m == metric) rate = r;
      }
      b = GapBounds(rate, groups, overall, eligible, agg, level);
      method = "newcombe-bonferroni-folded";
      break;
    }
    case Metric::kEqualizedOddsDifference:
    case Metric::kAverageOddsDifference: {
      const Bounds tpr = GapBounds(Rate::kTpr, groups, overall, eligible, agg, half);
      const Bounds fpr = GapBounds(Rate::kFpr, groups, overall, eligible, agg, half);
      if (metric == Metric::kEqualizedOddsDifference) {
        b = {std::max(tpr.low, fpr.low), std::max(tpr.high, fpr.high)};
      } else {
        b = {0.5 * (tpr.low + fpr.low), 0.5 * (tpr.high + fpr.high)};
      }
      method = "newcombe-bonferroni-folded";
      break;
    }
    case Metric::kDemographicParityRatio:
      if (agg == Aggregation::kBetweenGroups) {
        b = MinOverMaxBounds(RateBox(Rate::kSelectionRate, groups, eligible, level));
        method = "wilson-sidak-box";
      } else {
        b = RatioToOverallBounds(Rate::kSelectionRate, groups, overall, eligible, level);
        method = "wilson-bonferroni-box";
      }
      break;
    case Metric::kDisparateImpactRatio: {
      const std::vector<Interval> box = RateBox(Rate::kSelectionRate, groups, eligible, level);
      method = "wilson-sidak-box";
      if (options.reference == ReferenceKind::kBest) {
        b = MinOverMaxBounds(box);
        break;
      }
      const auto ref = static_cast<size_t>(std::find(eligible.begin(), eligible.end(),
                                                     static_cast<size_t>(options.reference_group)) -
                                           eligible.begin());
      b = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
      for (size_t k = 0; k < box.size(); ++k) {
        if (k == ref) continue;
        b.low = std::min(b.low, box[k].low / box[ref].high);
        b.high = std::min(b.high, box[k].high / box[ref].low);
      }
      break;
    }
    case Metric::kGroupAccuracyMin: {
      const std::vector<Interval> box = RateBox(Rate::kAccuracy, groups, eligible, level);
      b = {1.0, 1.0};
      for (const Interval& w : box) {
        b.low = std::min(b.low, w.low);
        b.high = std::min(b.high, w.high);
      }
      method = "wilson-sidak-box";
      break;
    }
    case Metric::kTheilIndex:
      b = TheilBounds(overall, level);
      method = "wilson-bonferroni-box";
      break;
  }
  Interval out;
  out.low = b.low;
  out.high = b.high;
  out.level = level;
  out.method = method;
  stats::RequireContains(out, *value.value, MetricName(metric));
  return out;
}

std::optional<double> TheilIndex(double count_b0, double count_b1, double count_b2) {
  const double n = count_b0 + count_b1 + count_b2;
  if (n <= 0.0) return std::nullopt;
  const double mu = (count_b1 + 2.0 * count_b2) / n;
  if (mu <= 0.0) return std::nullopt;
  // Rows with b = 0 contribute 0 (the limit of x ln x at 0).
  const double t1 = (1.0 / mu) * std::log(1.0 / mu);
  const double t2 = (2.0 / mu) * std::log(2.0 / mu);
  return (count_b1 * t1 + count_b2 * t2) / n;
}

std::vector<CellCounts> DrawCellReplicates(std::span<const CellCounts> groups, int resamples,
                                           uint64_t seed) {
  std::vector<double> weights;
  int64_t n = 0;
  for (const CellCounts& c : groups) {
    for (int64_t v : {c.tp, c.fp, c.fn, c.tn}) weights.push_back(static_cast<double>(v));
    n += c.size();
  }
  std::vector<CellCounts> out(static_cast<size_t>(resamples) * groups.size());
  if (n == 0) return out;
  random::Rng rng(seed);
  for (int b = 0; b < resamples; ++b) {
    const std::vector<int64_t> draw = random::Multinomial(rng, n, weights);
    CellCounts* row = &out[static_cast<size_t>(b) * groups.size()];
    for (size_t g = 0; g < groups.size(); ++g) {
      row[g] = {draw[4 * g], draw[4 * g + 1], draw[4 * g + 2], draw[4 * g + 3]};
    }
  }
  return out;
}

Replicates TheilPoissonBootstrap(const CellCounts& overall, int resamples, uint64_t seed) {
  const double cells[3] = {static_cast<double>(overall.fn),
                           static_cast<double>(overall.tp + overall.tn),
                           static_cast<double>(overall.fp)};
  random::Rng rng(seed);
  Replicates out;
  out.values.reserve(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    double w[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < 3; ++k) {
      if (cells[k] > 0.0) w[k] = static_cast<double>(random::Poisson(rng, cells[k]));
    }
    if (auto v = TheilIndex(w[0], w[1], w[2])) {
      out.values.push_back(*v);
    } else {
      ++out.undefined;
    }
  }
  return out;
}

}  // namespace greenlight::fairness
