#include "auditors/fairness/fairness_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/stats.h"

namespace greenlight::fairness {

CellCounts GroupedCounts::Total() const {
  CellCounts t;
  for (const CellCounts& c : cells) t += c;
  return t;
}

namespace {

void AddRow(CellCounts& c, bool label_favourable, bool predicted_favourable) {
  if (label_favourable) {
    ++(predicted_favourable ? c.tp : c.fn);
  } else {
    ++(predicted_favourable ? c.fp : c.tn);
  }
}

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
    AddRow(counts[static_cast<size_t>(it->second)], y, predicted[i] == favourable);
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
    AddRow(out.cells[static_cast<size_t>(g)], !labels.empty() && labels[i] == favourable,
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
  std::mt19937_64 rng(seed);
  for (int b = 0; b < resamples; ++b) {
    const std::vector<int64_t> draw = stats::MultinomialDraw(n, weights, rng);
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
  std::mt19937_64 rng(seed);
  Replicates out;
  out.values.reserve(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    double w[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < 3; ++k) {
      if (cells[k] > 0.0) {
        std::poisson_distribution<int64_t> draw(cells[k]);
        w[k] = static_cast<double>(draw(rng));
      }
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
