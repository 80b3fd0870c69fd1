// Group fairness metrics as pure functions of per-group confusion counts, their closed-form
// intervals, and the count bootstraps the benchmark compares with. No model, no dataset: the
// metrics (group_metrics.cc) and the benchmark (benchmarks/suite/fairness_benchmark.cc) both build
// on these.
//
// Conventions (docs/fairness.md states them for users):
// - "Positive" means the favourable outcome: a row is predicted positive when its predicted class
//   is the favourable class, and labelled positive when its label is the favourable class (the
//   convention of AIF360's favorable_label). TPR, FPR, PPV and the Theil index use this sense.
// - Differences are magnitudes (>= 0, 0 = parity); ratios are in [0, 1] (1 = parity), except the
//   disparate impact ratio, which is each group's selection rate over the reference group's and
//   may exceed 1.
// - 0/0 rule: a rate with an empty denominator is undefined, and so is every metric that needs it
//   (value nullopt with the reason); it is never replaced by 0.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace greenlight::fairness {

// Counts of one group, with the favourable outcome as "positive".
struct CellCounts {
  int64_t tp = 0;  // labelled favourable, predicted favourable
  int64_t fp = 0;  // labelled unfavourable, predicted favourable
  int64_t fn = 0;  // labelled favourable, predicted unfavourable
  int64_t tn = 0;  // labelled unfavourable, predicted unfavourable
  int64_t size() const { return tp + fp + fn + tn; }
  // Counts one row.
  void Add(bool labelled_favourable, bool predicted_favourable) {
    if (labelled_favourable) {
      ++(predicted_favourable ? tp : fn);
    } else {
      ++(predicted_favourable ? fp : tn);
    }
  }
  CellCounts& operator+=(const CellCounts& o) {
    tp += o.tp;
    fp += o.fp;
    fn += o.fn;
    tn += o.tn;
    return *this;
  }
};

// Groups (every combination of sensitive values that occurs), sorted by name, with their counts.
// Without labels every row is counted as labelled unfavourable (fp/tn), so that the selection
// counts stay right; label-dependent metrics must not be evaluated then.
struct GroupedCounts {
  std::vector<std::string> names;                // "afam=no" or "afam=no, single=yes"
  std::vector<std::vector<std::string>> values;  // the raw values, one per sensitive column
  std::vector<CellCounts> cells;                 // one per group
  bool has_labels = false;
  CellCounts Total() const;
};

// One pass over the rows. `columns` are the sensitive columns (same length as `predicted`);
// `labels` empty means no labels. A row is predicted favourable when predicted == favourable.
GroupedCounts CountGroups(const std::vector<std::string>& column_names,
                          const std::vector<std::span<const std::string>>& columns,
                          std::span<const int64_t> labels, std::span<const int64_t> predicted,
                          int64_t favourable);

// The same from precomputed group ids in [0, names.size()) (the benchmark's input).
GroupedCounts CountCells(std::span<const int32_t> group_ids, std::vector<std::string> names,
                         std::span<const int64_t> labels, std::span<const int64_t> predicted,
                         int64_t favourable);

// Per-group rates; nullopt when the denominator is 0.
enum class Rate { kBaseRate, kSelectionRate, kTpr, kFpr, kFnr, kPpv, kAccuracy };
std::string_view RateName(Rate rate);
std::optional<double> RateOf(const CellCounts& c, Rate rate);
// Numerator and denominator of a rate (for Wilson intervals).
std::pair<int64_t, int64_t> RateFraction(const CellCounts& c, Rate rate);

enum class Metric {
  kSelectionRate,
  kDemographicParityDifference,
  kDemographicParityRatio,
  kDisparateImpactRatio,
  kEqualOpportunityDifference,
  kEqualizedOddsDifference,
  kAverageOddsDifference,
  kPredictiveParityDifference,
  kFalsePositiveRateDifference,
  kFalseNegativeRateDifference,
  kAccuracyDifference,
  kGroupAccuracyMin,
  kTheilIndex,
};
inline constexpr Metric kAllMetrics[] = {
    Metric::kSelectionRate,
    Metric::kDemographicParityDifference,
    Metric::kDemographicParityRatio,
    Metric::kDisparateImpactRatio,
    Metric::kEqualOpportunityDifference,
    Metric::kEqualizedOddsDifference,
    Metric::kAverageOddsDifference,
    Metric::kPredictiveParityDifference,
    Metric::kFalsePositiveRateDifference,
    Metric::kFalseNegativeRateDifference,
    Metric::kAccuracyDifference,
    Metric::kGroupAccuracyMin,
    Metric::kTheilIndex,
};
std::string_view MetricName(Metric metric);
std::optional<Metric> ParseMetric(std::string_view name);
bool NeedsLabels(Metric metric);

enum class Aggregation { kBetweenGroups, kToOverall };
enum class ReferenceKind { kGroup, kMajority, kBest };

// How the per-group rates become one number.
struct Options {
  Aggregation aggregation = Aggregation::kBetweenGroups;
  ReferenceKind reference = ReferenceKind::kMajority;
  // kGroup and kMajority: index of the reference group (fixed from the observed data); kBest
  // picks the group with the highest selection rate on the counts being evaluated.
  int reference_group = -1;
  // Which groups enter aggregates (size >= min_group_size on the observed data). Empty: all.
  std::vector<bool> eligible;
};

struct Evaluation {
  std::optional<double> value;
  std::string undefined_reason;  // Set when value is nullopt.
};

// The metric on one set of group counts (observed or resampled). `overall` is the pooled counts
// of all rows (including groups left out of aggregates), used by aggregation to_overall and by
// selection_rate and theil_index.
Evaluation Evaluate(Metric metric, std::span<const CellCounts> groups, const CellCounts& overall,
                    const std::vector<std::string>& names, const Options& options);

// The interval of `metric` on the observed counts at two-sided level `level`, built from the
// signed per-group quantities, never by resampling a folded statistic (docs/fairness.md gives the
// constructions and their sources):
// - gaps (max - min between groups, or max |group - overall|): Newcombe's hybrid score interval of
//   every pairwise difference (of each group against the rest of the rows, scaled to the overall
//   rate, for to_overall), Bonferroni-adjusted over the comparisons, then folded: |d| lies in
//   [0, max(|L|, |U|)] when [L, U] straddles 0, else between |L| and |U|;
// - ratios and group_accuracy_min: simultaneous Wilson intervals of the groups' rates (Sidak), the
//   ratio bounded by the extreme corners of that box;
// - equalized and average odds: the TPR and FPR gap intervals, each at half the error rate.
// Each end is a one-sided bound at (1 + level) / 2 (so the interval is usable for one-sided
// decisions at that level), and the interval contains the value Evaluate returns. nullopt when the
// metric is undefined on these counts.
// Conditional on the group sizes (and label counts), as the per-group rates are.
std::optional<Interval> MetricInterval(Metric metric, std::span<const CellCounts> groups,
                                       const CellCounts& overall,
                                       const std::vector<std::string>& names,
                                       const Options& options, double level);

// Theil index (generalized entropy, alpha = 1, AIF360's definition) of b_i = yhat_i - y_i + 1 over
// the rows: a function of the pooled counts of b = 0 (fn), 1 (tp + tn) and 2 (fp). Weighted
// counts (bootstrap) allowed. nullopt when there are no rows or every b_i is 0.
std::optional<double> TheilIndex(double count_b0, double count_b1, double count_b2);

// `resamples` multinomial draws of all n rows over the group × label × prediction cells: the
// exact distribution of the cell counts of a row bootstrap, at O(cells) per resample.
// Returns resamples × groups CellCounts, row-major. Deterministic in seed (random::Rng).
std::vector<CellCounts> DrawCellReplicates(std::span<const CellCounts> groups, int resamples,
                                           uint64_t seed);

// Poisson bootstrap of the Theil index: each row gets weight ~ Poisson(1); the weighted count of
// a cell holding k rows is then Poisson(k), so the draw is made per cell (b = 0, 1, 2), which is
// the same distribution as drawing every row's weight. Returns the defined replicates and the
// number of undefined ones.
struct Replicates {
  std::vector<double> values;
  int64_t undefined = 0;
};
Replicates TheilPoissonBootstrap(const CellCounts& overall, int resamples, uint64_t seed);

}  // namespace greenlight::fairness
