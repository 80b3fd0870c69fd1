#include "auditors/fairness/fairness_auditor.h"

#include <algorithm>
#include <memory>

#include "auditors/fairness/fairness_metrics.h"
#include "core/error.h"
#include "core/stats.h"
#include "core/suggest.h"

namespace greenlight {
namespace {

using fairness::CellCounts;
using fairness::GroupedCounts;
using fairness::Metric;
using fairness::Rate;

constexpr Rate kTableRates[] = {Rate::kBaseRate, Rate::kSelectionRate, Rate::kTpr,     Rate::kFpr,
                                Rate::kFnr,      Rate::kPpv,           Rate::kAccuracy};

bool UsesAggregation(Metric m) {
  return m != Metric::kSelectionRate && m != Metric::kDisparateImpactRatio &&
         m != Metric::kGroupAccuracyMin && m != Metric::kTheilIndex;
}

// How MetricInterval builds each metric's interval, for the report's method field.
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

bool RateNeedsLabels(Rate rate) { return rate != Rate::kSelectionRate; }

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

struct Settings {
  std::vector<std::string> sensitive;
  std::string reference = "majority";
  int64_t favourable = 1;
  std::optional<double> threshold;
  int64_t min_group_size = 1;
  fairness::Aggregation aggregation = fairness::Aggregation::kBetweenGroups;
};

Settings ParseSettings(const MetricRequest& req, const Dataset& data) {
  Settings s;
  const std::string who = req.metric + ": ";
  if (auto it = req.params.find("sensitive"); it != req.params.end() && !it->is_null()) {
    if (it->is_string()) {
      s.sensitive = {it->get<std::string>()};
    } else {
      s.sensitive = it->get<std::vector<std::string>>();
    }
  } else if (data.sensitive().size() == 1) {
    s.sensitive = {data.sensitive().begin()->first};
  }
  std::string available;
  for (const auto& [name, values] : data.sensitive()) {
    available += (available.empty() ? "" : ", ") + name;
  }
  if (available.empty()) available = "none";
  if (s.sensitive.empty()) {
    throw InputError(
        who + "params.sensitive names no column (dataset.sensitive columns: " + available + ")");
  }
  for (const auto& col : s.sensitive) {
    if (data.sensitive().count(col) == 0) {
      throw InputError(who + "sensitive column '" + col +
                       "' is not among the dataset's sensitive columns (" + available +
                       "); list it under dataset.sensitive");
    }
  }
  s.reference = req.Param<std::string>("reference", "majority");
  s.favourable = req.Param<int64_t>("favourable", 1);
  if (auto it = req.params.find("threshold"); it != req.params.end() && !it->is_null()) {
    s.threshold = it->get<double>();
  }
  s.min_group_size = req.Param<int64_t>("min_group_size", 1);
  if (s.min_group_size < 1) throw InputError(who + "min_group_size must be at least 1");
  const std::string aggregation = req.Param<std::string>("aggregation", "between_groups");
  if (aggregation == "between_groups") {
    s.aggregation = fairness::Aggregation::kBetweenGroups;
  } else if (aggregation == "to_overall") {
    s.aggregation = fairness::Aggregation::kToOverall;
  } else {
    throw InputError(who + "aggregation must be between_groups or to_overall, not '" + aggregation +
                     "'");
  }
  return s;
}

std::string CountsKey(const Settings& s) {
  std::string key = "fairness:counts";
  for (const auto& col : s.sensitive) key += "|" + col;
  key += "|fav=" + std::to_string(s.favourable);
  if (s.threshold) key += "|thr=" + std::to_string(*s.threshold);
  return key;
}

std::shared_ptr<GroupedCounts> Count(const Settings& s, AuditContext& ctx,
                                     const std::string& criterion_id) {
  const Dataset& data = ctx.dataset();
  const ClassifierOutputs& out = ctx.Outputs(criterion_id);
  std::vector<int64_t> thresholded;
  std::span<const int64_t> predicted = out.predicted;
  if (s.threshold) {
    if (out.positive_scores.empty()) {
      throw InputError(
          "fairness: threshold needs class-1 scores (a binary model, or "
          "dataset.predictions.score_column)");
    }
    thresholded.reserve(out.positive_scores.size());
    for (double score : out.positive_scores) thresholded.push_back(score >= *s.threshold ? 1 : 0);
    predicted = thresholded;
  }
  std::vector<std::span<const std::string>> columns;
  for (const auto& col : s.sensitive) columns.emplace_back(data.sensitive().at(col));
  const std::span<const int64_t> labels =
      data.has_labels() ? data.labels() : std::span<const int64_t>();
  return std::make_shared<GroupedCounts>(
      fairness::CountGroups(s.sensitive, columns, labels, predicted, s.favourable));
}

nlohmann::json RateJson(const CellCounts& c, Rate rate, bool has_labels, double level) {
  if (RateNeedsLabels(rate) && !has_labels) return nullptr;
  const auto [num, den] = fairness::RateFraction(c, rate);
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
    row[std::string(fairness::RateName(rate))] = RateJson(c, rate, has_labels, level);
  }
  return row;
}

class FairnessAuditor final : public Auditor {
 public:
  std::vector<MetricSpec> metrics() const override {
    const std::vector<ParamSpec> params = {
        {"sensitive", ParamType::kStringOrList,
         "sensitive column, or a list of columns for intersectional groups (default: the "
         "dataset's only sensitive column)"},
        {"reference", ParamType::kString,
         "reference group of disparate_impact_ratio (and of the table's ratio-to-reference "
         "column): a group value (or name 'col=value, ...'), 'majority' (largest group) or "
         "'best' (highest selection rate)",
         "majority"},
        {"favourable", ParamType::kInteger, "the predicted class (and label) that is favourable",
         1},
        {"threshold", ParamType::kNumber,
         "predict class 1 when the class-1 score is >= threshold (default: the predicted class)"},
        {"min_group_size", ParamType::kInteger,
         "groups with fewer rows are reported but left out of aggregates", 1},
        {"aggregation",
         ParamType::kString,
         "gaps and ratios between groups (max - min, min / max) or of each group to the overall "
         "rate",
         "between_groups",
         false,
         {"between_groups", "to_overall"}},
    };
    std::vector<MetricSpec> out;
    for (Metric m : fairness::kAllMetrics) {
      // Only the parameters that change the metric are accepted: aggregation for the gaps and
      // ratios between groups.
      std::vector<ParamSpec> own;
      for (const ParamSpec& p : params) {
        if (p.name == "aggregation" && !UsesAggregation(m)) continue;
        own.push_back(p);
      }
      out.push_back({std::string(fairness::MetricName(m)),
                     m == Metric::kTheilIndex ? "index" : "ratio", "fairness",
                     std::string(Describe(m)), std::move(own), /*needs_model=*/false,
                     fairness::NeedsLabels(m)});
    }
    return out;
  }

  void CheckData(const MetricRequest& req, const Dataset& data) const override {
    const Settings s = ParseSettings(req, data);
    if (s.reference == "majority" || s.reference == "best") return;
    // The groups exactly as the measurement forms them; the predictions do not matter here.
    std::vector<std::span<const std::string>> columns;
    for (const auto& col : s.sensitive) columns.emplace_back(data.sensitive().at(col));
    const std::vector<int64_t> none(static_cast<size_t>(data.rows()), 0);
    const GroupedCounts groups = fairness::CountGroups(s.sensitive, columns, {}, none, 1);
    std::vector<std::string> candidates = groups.names;
    if (s.sensitive.size() == 1) {
      candidates.clear();
      for (const auto& v : groups.values) candidates.push_back(v[0]);
    }
    for (size_t g = 0; g < groups.names.size(); ++g) {
      if (groups.names[g] == s.reference ||
          (s.sensitive.size() == 1 && groups.values[g][0] == s.reference)) {
        return;
      }
    }
    const std::string file =
        data.info().files.empty() ? "the dataset" : data.info().files.front().path.string();
    std::string msg =
        "params.reference: group \"" + s.reference + "\" matches no audited row of " +
        (s.sensitive.size() == 1 ? "column '" + s.sensitive[0] + "'"
                                 : "the groups of columns " + QuotedList(s.sensitive)) +
        " in " + file + " (" + (s.sensitive.size() == 1 ? "values" : "groups") + ": " +
        QuotedList(candidates) + ")";
    if (auto hint = ClosestMatch(s.reference, candidates))
      msg += "; did you mean \"" + *hint + "\"?";
    throw InputError(msg);
  }

  Measurement Measure(const MetricRequest& req, AuditContext& ctx) override {
    const auto metric = fairness::ParseMetric(req.metric);
    if (!metric) throw InputError("fairness auditor has no metric '" + req.metric + "'");
    const Dataset& data = ctx.dataset();
    Measurement r;
    r.unit = *metric == Metric::kTheilIndex ? "index" : "ratio";
    if (fairness::NeedsLabels(*metric) && !data.has_labels()) {
      r.forced_status = Status::kSkipped;
      r.method = "none";
      r.message = req.metric + " needs true labels: the dataset has no label (dataset.label)";
      return r;
    }
    const Settings s = ParseSettings(req, data);
    const std::string counts_key = CountsKey(s);
    const auto counts =
        ctx.Shared<GroupedCounts>(counts_key, [&] { return Count(s, ctx, req.criterion_id); });
    const CellCounts total = counts->Total();
    const size_t groups = counts->cells.size();
    r.samples = total.size();
    if (total.size() == 0) throw InputError(req.metric + ": the dataset has no rows");

    // Eligibility and the reference group are fixed from the observed data.
    fairness::Options options;
    options.aggregation = s.aggregation;
    options.eligible.resize(groups);
    int majority = -1;
    for (size_t g = 0; g < groups; ++g) {
      options.eligible[g] = counts->cells[g].size() >= s.min_group_size;
      if (options.eligible[g] &&
          (majority < 0 ||
           counts->cells[g].size() > counts->cells[static_cast<size_t>(majority)].size())) {
        majority = static_cast<int>(g);
      }
    }
    if (s.reference == "best") {
      options.reference = fairness::ReferenceKind::kBest;
    } else if (s.reference == "majority") {
      options.reference = fairness::ReferenceKind::kMajority;
      options.reference_group = majority;
    } else {
      options.reference = fairness::ReferenceKind::kGroup;
      for (size_t g = 0; g < groups; ++g) {
        if (counts->names[g] == s.reference ||
            (s.sensitive.size() == 1 && counts->values[g][0] == s.reference)) {
          options.reference_group = static_cast<int>(g);
        }
      }
      if (options.reference_group < 0) {
        std::string names;
        for (const auto& n : counts->names) names += (names.empty() ? "" : "; ") + n;
        throw InputError(req.metric + ": reference group '" + s.reference +
                         "' does not occur in the data (groups: " + names + ")");
      }
    }

    const fairness::Evaluation observed =
        fairness::Evaluate(*metric, counts->cells, total, counts->names, options);
    r.value = observed.value;
    r.details = Details(req, s, *counts, total, options, ctx);
    if (*metric == Metric::kEqualizedOddsDifference || *metric == Metric::kAverageOddsDifference) {
      auto tpr = fairness::Evaluate(Metric::kEqualOpportunityDifference, counts->cells, total,
                                    counts->names, options);
      auto fpr = fairness::Evaluate(Metric::kFalsePositiveRateDifference, counts->cells, total,
                                    counts->names, options);
      r.details["components"] = {
          {"tpr_difference", tpr.value ? nlohmann::json(*tpr.value) : nullptr},
          {"fpr_difference", fpr.value ? nlohmann::json(*fpr.value) : nullptr}};
    }
    if (*metric == Metric::kTheilIndex) {
      r.details["theil_cells"] = {{"b0_false_negatives", total.fn},
                                  {"b1_correct", total.tp + total.tn},
                                  {"b2_false_positives", total.fp}};
    }
    if (!r.value) {
      r.method = "count: per-group confusion counts";
      r.message = req.metric + " is undefined: " + observed.undefined_reason;
      return r;
    }

    r.interval = fairness::MetricInterval(*metric, counts->cells, total, counts->names, options,
                                          req.confidence);
    r.method = std::string(*metric == Metric::kTheilIndex
                               ? "count: generalized entropy (alpha = 1) of b = yhat - y + 1; "
                               : "count: per-group confusion counts; ") +
               std::string(IntervalMethod(*metric));
    return r;
  }

 private:
  static nlohmann::json Details(const MetricRequest& req, const Settings& s,
                                const GroupedCounts& counts, const CellCounts& total,
                                const fairness::Options& options, AuditContext& ctx) {
    nlohmann::json table = nlohmann::json::array();
    std::optional<double> ref_rate;
    std::string ref_name;
    if (options.reference_group >= 0) {
      ref_name = counts.names[static_cast<size_t>(options.reference_group)];
      ref_rate = fairness::RateOf(counts.cells[static_cast<size_t>(options.reference_group)],
                                  Rate::kSelectionRate);
    } else if (options.reference == fairness::ReferenceKind::kBest) {
      for (size_t g = 0; g < counts.cells.size(); ++g) {
        auto v = fairness::RateOf(counts.cells[g], Rate::kSelectionRate);
        if (options.eligible[g] && v && (!ref_rate || *v > *ref_rate)) {
          ref_rate = v;
          ref_name = counts.names[g];
        }
      }
    }
    for (size_t g = 0; g < counts.cells.size(); ++g) {
      nlohmann::json row =
          GroupRow(counts.names[g], counts.cells[g], counts.has_labels, req.confidence);
      row["in_aggregates"] = static_cast<bool>(options.eligible[g]);
      row["reference"] = counts.names[g] == ref_name;
      auto sr = fairness::RateOf(counts.cells[g], Rate::kSelectionRate);
      row["selection_rate_ratio_to_reference"] =
          sr && ref_rate && *ref_rate > 0.0 ? nlohmann::json(*sr / *ref_rate) : nullptr;
      table.push_back(std::move(row));
    }
    return {
        {"groups", table},
        {"overall", GroupRow("all rows", total, counts.has_labels, req.confidence)},
        {"group_rate_interval", {{"method", "wilson"}, {"level", req.confidence}}},
        {"sensitive", s.sensitive},
        {"favourable", s.favourable},
        {"positive_means", "favourable outcome (predicted and labelled class == favourable)"},
        {"threshold", s.threshold ? nlohmann::json(*s.threshold) : nullptr},
        {"reference", {{"requested", s.reference}, {"group", ref_name}}},
        {"min_group_size", s.min_group_size},
        {"aggregation",
         s.aggregation == fairness::Aggregation::kBetweenGroups ? "between_groups" : "to_overall"},
        {"labels", counts.has_labels},
        {"predictions", ctx.Outputs(req.criterion_id).source},
    };
  }
};

}  // namespace

void RegisterFairnessAuditor(AuditorRegistry& registry) {
  registry.Register(std::make_unique<FairnessAuditor>());
}

}  // namespace greenlight
