// The thirteen fairness metrics, one class registered under thirteen names. Every one reads the
// same parameters, the same work (the rows' groups beside the classifier outputs) and the same
// statistics (per-group confusion counts in the favourable sense); value and interval come from
// fairness_metrics.h (Evaluate, MetricInterval) on the merged counts, so a merged audit gives the
// single-run result exactly.

#include "auditors/fairness/group_metrics.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"
#include "core/suggest.h"

namespace greenlight::fairness {
namespace {

// ---- Parameters ----

struct GroupParams {
  std::optional<StringOrList> sensitive;  // Absent: the dataset's only sensitive column.
  std::string reference = "majority";
  int64_t favourable = 1;
  std::optional<double> threshold;  // Absent: the predicted class.
  int64_t min_group_size = 1;
  std::string aggregation = "between_groups";
};

// Gaps and ratios between groups take `aggregation`; the other metrics do not, so a criterion
// that sets it there is told so when it loads.
bool UsesAggregation(Metric m) {
  return m != Metric::kSelectionRate && m != Metric::kDisparateImpactRatio &&
         m != Metric::kGroupAccuracyMin && m != Metric::kTheilIndex;
}

ParamSchema<GroupParams> Schema(Metric metric) {
  ParamSchema<GroupParams> schema;
  schema
      .Field("sensitive", &GroupParams::sensitive,
             "sensitive column, or a list of columns for intersectional groups (default: the "
             "dataset's only sensitive column)")
      .Field("reference", &GroupParams::reference,
             "reference group of disparate_impact_ratio (and of the table's ratio-to-reference "
             "column): a group value (or name 'col=value, ...'), 'majority' (largest group) or "
             "'best' (highest selection rate)")
      .Field("favourable", &GroupParams::favourable,
             "the predicted class (and label) that is favourable")
      .Field("threshold", &GroupParams::threshold,
             "predict class 1 when the class-1 score is >= threshold (default: the predicted "
             "class)")
      .Field("min_group_size", &GroupParams::min_group_size,
             "groups with fewer rows are reported but left out of aggregates", AtLeast(1));
  if (UsesAggregation(metric)) {
    schema.Field("aggregation", &GroupParams::aggregation,
                 "gaps and ratios between groups (max - min, min / max) or of each group to the "
                 "overall rate",
                 OneOf({"between_groups", "to_overall"}));
  }
  return schema;
}

// The sensitive columns a criterion groups by: the ones it names, else the dataset's only one.
// `who` prefixes the messages ("selection_rate: ").
std::vector<std::string> Columns(const std::optional<StringOrList>& sensitive, const Dataset& data,
                                 const std::string& who) {
  std::vector<std::string> columns;
  if (sensitive) {
    columns = sensitive->values;
  } else if (data.sensitive().size() == 1) {
    columns = {data.sensitive().begin()->first};
  }
  std::string available;
  for (const auto& [name, values] : data.sensitive()) {
    available += (available.empty() ? "" : ", ") + name;
  }
  if (available.empty()) available = "none";
  if (columns.empty()) {
    throw InputError(
        who + "params.sensitive names no column (dataset.sensitive columns: " + available + ")");
  }
  for (const auto& col : columns) {
    if (data.sensitive().count(col) == 0) {
      throw InputError(who + "sensitive column '" + col +
                       "' is not among the dataset's sensitive columns (" + available +
                       "); list it under dataset.sensitive");
    }
  }
  return columns;
}

// ---- Work: the rows' groups ----

class GroupsWork final : public Work {
 public:
  // paired: the reference model's outputs beside the model's (WithReference).
  explicit GroupsWork(std::optional<StringOrList> sensitive, bool paired = false)
      : sensitive_(std::move(sensitive)), paired_(paired) {}

  // Depends on the columns only (their spelling as one string or a list does not matter).
  std::string key() const override {
    return std::string(paired_ ? "fairness-groups+reference:" : "fairness-groups:") +
           CanonicalText(sensitive_ ? nlohmann::json(sensitive_->values) : nlohmann::json(nullptr));
  }

  std::shared_ptr<const Work> WithReference() const override {
    return std::make_shared<GroupsWork>(sensitive_, /*paired=*/true);
  }

  // One record row per dataset row, and the statistics are keyed by the groups' values (not
  // their ids, which depend on the order of first appearance): shards merge exactly.
  Sharding sharding() const override { return Sharding::kRows; }

  std::shared_ptr<const WorkRecord> Run(
      AuditContext& context, std::span<Instrument* const> /*instruments*/) const override {
    auto record = std::make_shared<GroupsRecord>();
    record->outputs = &context.Outputs("outputs");
    if (paired_) {
      // The reference model's pass over the same rows, shared with the paired accuracy metrics.
      record->reference = &context.ReferenceOutputs("outputs+reference");
      if (record->reference->rows != record->outputs->rows) {
        throw RuntimeError("the reference model's outputs cover " +
                           std::to_string(record->reference->rows) + " rows, the model's " +
                           std::to_string(record->outputs->rows));
      }
    }
    const Dataset& data = context.dataset();
    if (data.has_labels()) record->labels = data.labels();
    record->columns = Columns(sensitive_, data, "fairness: ");
    const auto n = static_cast<size_t>(record->outputs->rows);
    std::vector<std::span<const std::string>> columns;
    for (const auto& name : record->columns) {
      const std::vector<std::string>& col = data.sensitive().at(name);
      if (col.size() != n) {
        throw InputError("fairness: sensitive column '" + name + "' has " +
                         std::to_string(col.size()) + " values for " + std::to_string(n) +
                         " predictions");
      }
      columns.emplace_back(col);
    }
    if (!record->labels.empty() && record->labels.size() != n) {
      throw InputError("fairness: " + std::to_string(record->labels.size()) + " labels for " +
                       std::to_string(n) + " predictions");
    }
    // Keyed by the values joined with the unit separator, which does not occur in the CSV text
    // fields of the data sets we read.
    std::unordered_map<std::string, int32_t> ids;
    std::string key;
    record->group_of.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      key.clear();
      for (size_t c = 0; c < columns.size(); ++c) {
        if (c > 0) key.push_back('\x1f');
        key += columns[c][i];
      }
      const auto [it, inserted] = ids.try_emplace(key, static_cast<int32_t>(record->groups.size()));
      if (inserted) {
        std::vector<std::string> values;
        for (const auto& col : columns) values.push_back(col[i]);
        record->groups.push_back(std::move(values));
      }
      record->group_of.push_back(it->second);
    }
    return record;
  }

 private:
  std::optional<StringOrList> sensitive_;
  bool paired_ = false;
};

// ---- Statistics: per-group confusion counts ----

// Sufficient statistics of every fairness metric: the confusion counts (favourable = positive) of
// each group that has rows, keyed by the group's values. Merge adds counts group by group: exact
// in any order.
struct GroupStats {
  std::vector<std::string> columns;
  bool has_labels = false;
  std::string source;  // Where the predictions came from: "model:<sha256>" or "recorded:<column>".
  std::map<std::vector<std::string>, CellCounts> cells;

  void Merge(const GroupStats& other) {
    if (other.columns != columns || other.has_labels != has_labels || other.source != source) {
      throw RuntimeError(
          "fairness counts of different sensitive columns, labels or prediction sources");
    }
    for (const auto& [values, counts] : other.cells) cells[values] += counts;
  }

  nlohmann::json ToJson() const {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& [values, c] : cells) {
      groups.push_back(
          {{"values", values}, {"tp", c.tp}, {"fp", c.fp}, {"fn", c.fn}, {"tn", c.tn}});
    }
    return {{"columns", columns}, {"labels", has_labels}, {"source", source}, {"groups", groups}};
  }

  static GroupStats FromJson(const nlohmann::json& json) {
    GroupStats s;
    s.columns = json.at("columns").get<std::vector<std::string>>();
    s.has_labels = json.at("labels").get<bool>();
    s.source = json.at("source").get<std::string>();
    int64_t rows = 0;
    for (const auto& g : json.at("groups")) {
      auto values = g.at("values").get<std::vector<std::string>>();
      const CellCounts c{JsonCount(g.at("tp"), "tp"), JsonCount(g.at("fp"), "fp"),
                         JsonCount(g.at("fn"), "fn"), JsonCount(g.at("tn"), "tn")};
      if (values.size() != s.columns.size()) {
        throw InputError("fairness statistics: a group needs one value per column");
      }
      rows += c.size();  // Each term <= 2^40: no overflow before the check.
      if (rows > kMaxStatisticRows) {
        throw InputError("fairness statistics: the groups add up to more than 2^40 rows");
      }
      if (!s.cells.emplace(std::move(values), c).second) {
        throw InputError("fairness statistics: a group is listed twice");
      }
    }
    return s;
  }

  // The groups as fairness_metrics.h takes them: named "col=value, col2=value2", sorted by name,
  // so that the order does not depend on the rows' order.
  GroupedCounts Grouped() const {
    GroupedCounts out;
    out.has_labels = has_labels;
    for (const auto& [values, c] : cells) {
      std::string name;
      for (size_t k = 0; k < values.size(); ++k) {
        if (k > 0) name += ", ";
        name += columns[k] + "=" + values[k];
      }
      out.names.push_back(std::move(name));
      out.values.push_back(values);
      out.cells.push_back(c);
    }
    std::vector<size_t> order(out.names.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return out.names[a] < out.names[b]; });
    GroupedCounts sorted;
    sorted.has_labels = has_labels;
    for (size_t k : order) {
      sorted.names.push_back(out.names[k]);
      sorted.values.push_back(out.values[k]);
      sorted.cells.push_back(out.cells[k]);
    }
    return sorted;
  }
};

// ---- Report details ----

constexpr Rate kTableRates[] = {Rate::kBaseRate, Rate::kSelectionRate, Rate::kTpr,     Rate::kFpr,
                                Rate::kFnr,      Rate::kPpv,           Rate::kAccuracy};

nlohmann::json RateJson(const CellCounts& c, Rate rate, bool has_labels, double level) {
  if (rate != Rate::kSelectionRate && !has_labels) return nullptr;
  const auto [num, den] = RateFraction(c, rate);
  nlohmann::json j = {{"numerator", num}, {"denominator", den}};
  if (den == 0) {
    j["value"] = nullptr;
    j["note"] = "undefined (0/0)";
    return j;
  }
  const Interval w = stats::WilsonInterval(num, den, level);
  j["value"] = static_cast<double>(num) / static_cast<double>(den);
  j["low"] = w.low;
  j["high"] = w.high;
  return j;
}

nlohmann::json GroupRow(const std::string& name, const CellCounts& c, bool has_labels,
                        double level) {
  nlohmann::json row = {{"group", name}, {"size", c.size()}};
  if (has_labels) row["counts"] = {{"tp", c.tp}, {"fp", c.fp}, {"fn", c.fn}, {"tn", c.tn}};
  for (Rate rate : kTableRates) {
    row[std::string(RateName(rate))] = RateJson(c, rate, has_labels, level);
  }
  return row;
}

nlohmann::json Details(const GroupParams& p, const GroupStats& s, const GroupedCounts& counts,
                       const CellCounts& total, const Options& options, double level) {
  nlohmann::json table = nlohmann::json::array();
  std::optional<double> ref_rate;
  std::string ref_name;
  if (options.reference_group >= 0) {
    ref_name = counts.names[static_cast<size_t>(options.reference_group)];
    ref_rate =
        RateOf(counts.cells[static_cast<size_t>(options.reference_group)], Rate::kSelectionRate);
  } else if (options.reference == ReferenceKind::kBest) {
    for (size_t g = 0; g < counts.cells.size(); ++g) {
      auto v = RateOf(counts.cells[g], Rate::kSelectionRate);
      if (options.eligible[g] && v && (!ref_rate || *v > *ref_rate)) {
        ref_rate = v;
        ref_name = counts.names[g];
      }
    }
  }
  for (size_t g = 0; g < counts.cells.size(); ++g) {
    nlohmann::json row = GroupRow(counts.names[g], counts.cells[g], counts.has_labels, level);
    row["in_aggregates"] = static_cast<bool>(options.eligible[g]);
    row["reference"] = counts.names[g] == ref_name;
    auto sr = RateOf(counts.cells[g], Rate::kSelectionRate);
    row["selection_rate_ratio_to_reference"] =
        sr && ref_rate && *ref_rate > 0.0 ? nlohmann::json(*sr / *ref_rate) : nullptr;
    table.push_back(std::move(row));
  }
  return {
      {"groups", table},
      {"overall", GroupRow("all rows", total, counts.has_labels, level)},
      {"group_rate_interval", {{"method", "wilson"}, {"level", level}}},
      {"sensitive", s.columns},
      {"favourable", p.favourable},
      {"positive_means", "favourable outcome (predicted and labelled class == favourable)"},
      {"threshold", p.threshold ? nlohmann::json(*p.threshold) : nullptr},
      {"reference", {{"requested", p.reference}, {"group", ref_name}}},
      {"min_group_size", p.min_group_size},
      {"aggregation", p.aggregation},
      {"labels", counts.has_labels},
      {"predictions", s.source},
  };
}

// ---- The metric ----

// How MetricInterval builds each metric's interval, for the result's method field.
std::string_view IntervalMethod(Metric metric) {
  switch (metric) {
    case Metric::kSelectionRate:
      return "Wilson score interval";
    case Metric::kDemographicParityRatio:
    case Metric::kDisparateImpactRatio:
    case Metric::kGroupAccuracyMin:
      return "simultaneous Wilson intervals of the group rates (Sidak), bounds at the box's "
             "corners";
    case Metric::kTheilIndex:
      return "extremes over simultaneous Wilson intervals of the false-negative and "
             "false-positive shares (Bonferroni)";
    default:
      return "Newcombe hybrid score intervals of the signed group differences (Bonferroni over "
             "comparisons), folded to the gap";
  }
}

std::string_view Describe(Metric metric) {
  switch (metric) {
    case Metric::kSelectionRate:
      return "share of all rows predicted favourable (per-group rates in the details)";
    case Metric::kDemographicParityDifference:
      return "selection-rate gap between groups (0 = parity)";
    case Metric::kDemographicParityRatio:
      return "smallest over largest group selection rate (1 = parity)";
    case Metric::kDisparateImpactRatio:
      return "lowest selection rate of a group over the reference group's (four-fifths rule: >= "
             "0.8)";
    case Metric::kEqualOpportunityDifference:
      return "true-positive-rate gap between groups (favourable outcome = positive)";
    case Metric::kEqualizedOddsDifference:
      return "larger of the true- and false-positive-rate gaps";
    case Metric::kAverageOddsDifference:
      return "mean of the true- and false-positive-rate gaps";
    case Metric::kPredictiveParityDifference:
      return "precision (PPV) gap between groups";
    case Metric::kFalsePositiveRateDifference:
      return "false-positive-rate gap between groups";
    case Metric::kFalseNegativeRateDifference:
      return "false-negative-rate gap between groups";
    case Metric::kAccuracyDifference:
      return "accuracy gap between groups";
    case Metric::kGroupAccuracyMin:
      return "lowest accuracy of any group";
    case Metric::kTheilIndex:
      return "Theil index (generalized entropy, alpha = 1) of b = yhat - y + 1 over all rows";
  }
  return "";
}

// Whether a group of `counts` is the one `reference` names: by its name ("afam=no, single=yes"),
// or, with one sensitive column, by its value ("no").
bool Names(const GroupedCounts& counts, size_t g, const std::string& reference) {
  return counts.names[g] == reference ||
         (counts.values[g].size() == 1 && counts.values[g][0] == reference);
}

// Inside the metric class `Metric` names the framework's base class; the fairness metric is its
// Kind.
using Kind = Metric;

class GroupMetric final : public TypedMetric<GroupParams, GroupStats, GroupsRecord> {
 public:
  explicit GroupMetric(Kind metric)
      : TypedMetric(DescribeMetric(std::string(MetricName(metric)),
                                   metric == Kind::kTheilIndex ? "index" : "ratio", "fairness",
                                   std::string(Describe(metric)), /*needs_model=*/false,
                                   NeedsLabels(metric)),
                    Schema(metric)),
        metric_(metric) {}

 protected:
  // The named columns and reference group must occur in the data: otherwise the criterion would
  // measure something else, so the run stops as bad input.
  void CheckData(const GroupParams& p, const Dataset& data) const override {
    const std::vector<std::string> columns = Columns(p.sensitive, data, spec().name + ": ");
    if (p.reference == "majority" || p.reference == "best") return;
    // The groups exactly as the measurement forms them; the predictions do not matter here.
    std::vector<std::span<const std::string>> spans;
    for (const auto& col : columns) spans.emplace_back(data.sensitive().at(col));
    const std::vector<int64_t> none(static_cast<size_t>(data.rows()), 0);
    const GroupedCounts groups = CountGroups(columns, spans, {}, none, 1);
    for (size_t g = 0; g < groups.names.size(); ++g) {
      if (Names(groups, g, p.reference)) return;
    }
    std::vector<std::string> candidates = groups.names;
    if (columns.size() == 1) {
      candidates.clear();
      for (const auto& v : groups.values) candidates.push_back(v[0]);
    }
    const std::string file =
        data.info().files.empty() ? "the dataset" : data.info().files.front().path.string();
    std::string msg = "params.reference: group \"" + p.reference + "\" matches no audited row of " +
                      (columns.size() == 1 ? "column '" + columns[0] + "'"
                                           : "the groups of columns " + QuotedList(columns)) +
                      " in " + file + " (" + (columns.size() == 1 ? "values" : "groups") + ": " +
                      QuotedList(candidates) + ")";
    if (auto hint = ClosestMatch(p.reference, candidates)) {
      msg += "; did you mean \"" + *hint + "\"?";
    }
    throw InputError(msg);
  }

  std::shared_ptr<const Work> Needs(const GroupParams& p) const override {
    return std::make_shared<GroupsWork>(p.sensitive);
  }

  GroupStats Accumulate(const GroupParams& p, const GroupsRecord& record,
                        const MetricInput& input) const override {
    const ClassifierOutputs& out = *record.outputs;
    if (p.threshold && out.positive_scores.empty()) {
      throw InputError(
          "fairness: threshold needs class-1 scores (a binary model, or "
          "dataset.predictions.score_column)");
    }
    std::vector<CellCounts> by_id(record.groups.size());
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const auto row = static_cast<size_t>(i);
      // With a threshold, the predicted class is 1 when the class-1 score reaches it, else 0.
      const int64_t predicted =
          p.threshold ? (out.positive_scores[row] >= *p.threshold ? 1 : 0) : out.predicted[row];
      const bool labelled = !record.labels.empty() && record.labels[row] == p.favourable;
      by_id[static_cast<size_t>(record.group_of[row])].Add(labelled, predicted == p.favourable);
    }
    GroupStats s;
    s.columns = record.columns;
    s.has_labels = !record.labels.empty();
    s.source = out.source;
    for (size_t g = 0; g < by_id.size(); ++g) {
      if (by_id[g].size() > 0) s.cells[record.groups[g]] = by_id[g];
    }
    return s;
  }

  Measurement Finalize(const GroupParams& p, const GroupStats& s,
                       const FinalizeContext& ctx) const override {
    const std::string& name = spec().name;
    if (NeedsLabels(metric_) && !s.has_labels) {
      throw InputError(name + " needs true labels: the dataset has no label (dataset.label)");
    }
    const GroupedCounts counts = s.Grouped();
    const CellCounts total = counts.Total();
    const size_t groups = counts.cells.size();
    if (total.size() == 0) throw InputError(name + ": the dataset has no rows");
    Measurement r;
    r.unit = spec().unit;
    r.samples = total.size();

    // Eligibility and the reference group are fixed from the observed data.
    Options options;
    options.aggregation =
        p.aggregation == "to_overall" ? Aggregation::kToOverall : Aggregation::kBetweenGroups;
    options.eligible.resize(groups);
    int majority = -1;
    for (size_t g = 0; g < groups; ++g) {
      options.eligible[g] = counts.cells[g].size() >= p.min_group_size;
      if (options.eligible[g] &&
          (majority < 0 ||
           counts.cells[g].size() > counts.cells[static_cast<size_t>(majority)].size())) {
        majority = static_cast<int>(g);
      }
    }
    if (p.reference == "best") {
      options.reference = ReferenceKind::kBest;
    } else if (p.reference == "majority") {
      options.reference = ReferenceKind::kMajority;
      options.reference_group = majority;
    } else {
      options.reference = ReferenceKind::kGroup;
      for (size_t g = 0; g < groups; ++g) {
        if (Names(counts, g, p.reference)) options.reference_group = static_cast<int>(g);
      }
      if (options.reference_group < 0) {
        std::string names;
        for (const auto& n : counts.names) names += (names.empty() ? "" : "; ") + n;
        throw InputError(name + ": reference group '" + p.reference +
                         "' does not occur in the data (groups: " + names + ")");
      }
    }

    const Evaluation observed = Evaluate(metric_, counts.cells, total, counts.names, options);
    r.value = observed.value;
    r.details = Details(p, s, counts, total, options, ctx.confidence);
    if (metric_ == Kind::kEqualizedOddsDifference || metric_ == Kind::kAverageOddsDifference) {
      const Evaluation tpr =
          Evaluate(Kind::kEqualOpportunityDifference, counts.cells, total, counts.names, options);
      const Evaluation fpr =
          Evaluate(Kind::kFalsePositiveRateDifference, counts.cells, total, counts.names, options);
      r.details["components"] = {
          {"tpr_difference", tpr.value ? nlohmann::json(*tpr.value) : nullptr},
          {"fpr_difference", fpr.value ? nlohmann::json(*fpr.value) : nullptr}};
    }
    if (metric_ == Kind::kTheilIndex) {
      r.details["theil_cells"] = {{"b0_false_negatives", total.fn},
                                  {"b1_correct", total.tp + total.tn},
                                  {"b2_false_positives", total.fp}};
    }
    if (!r.value) {
      r.method = "count: per-group confusion counts";
      r.message = name + " is undefined: " + observed.undefined_reason;
      return r;
    }
    if (ctx.value_only) return r;  // The Theil index's interval resamples.
    r.interval =
        MetricInterval(metric_, counts.cells, total, counts.names, options, ctx.confidence);
    r.method = std::string(metric_ == Kind::kTheilIndex
                               ? "count: generalized entropy (alpha = 1) of b = yhat - y + 1; "
                               : "count: per-group confusion counts; ") +
               std::string(IntervalMethod(metric_));
    return r;
  }

 private:
  Kind metric_;
};

}  // namespace

std::unique_ptr<greenlight::Metric> MakeGroupMetric(Metric metric) {
  return std::make_unique<GroupMetric>(metric);
}

}  // namespace greenlight::fairness
