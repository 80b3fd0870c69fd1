// The paired metrics: the model compared with the reference model (criteria reference:) on the same
// rows, from one outputs pass over each. accuracy_delta (model - reference), prediction_agreement
// (same top-1 class) and mcnemar_p_value (McNemar's exact test on the discordant pairs) share the
// work and the statistics: the 2 x 2 table of correctness and the agreement count.
#include <algorithm>
#include <cmath>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/json_limits.h"
#include "core/stats.h"

namespace greenlight::accuracy {

double PairedCounts::model_accuracy() const {
  return static_cast<double>(both_correct + model_only) / static_cast<double>(labelled());
}

double PairedCounts::reference_accuracy() const {
  return static_cast<double>(both_correct + reference_only) / static_cast<double>(labelled());
}

void PairedCounts::Merge(const PairedCounts& other) {
  if (rows == 0 && model_source.empty()) {
    model_source = other.model_source;
    reference_source = other.reference_source;
  } else if (other.rows > 0 &&
             (other.model_source != model_source || other.reference_source != reference_source)) {
    throw RuntimeError("paired statistics of different models cannot be merged");
  }
  rows += other.rows;
  agree += other.agree;
  both_correct += other.both_correct;
  model_only += other.model_only;
  reference_only += other.reference_only;
  both_wrong += other.both_wrong;
}

nlohmann::json PairedCounts::ToJson() const {
  return {{"rows", rows},
          {"agree", agree},
          {"table", {both_correct, model_only, reference_only, both_wrong}},
          {"model_source", model_source},
          {"reference_source", reference_source}};
}

PairedCounts PairedCounts::FromJson(const nlohmann::json& json) {
  PairedCounts s;
  s.rows = JsonCount(json.at("rows"), "rows");
  s.agree = JsonCount(json.at("agree"), "agree");
  const auto table = JsonCounts(json.at("table"), "table");
  if (table.size() != 4) throw RuntimeError("paired statistics: the table needs 4 cells");
  // The table counts labelled rows (empty without labels); agreements are among all rows.
  const int64_t labelled = table[0] + table[1] + table[2] + table[3];
  if (s.agree > s.rows || labelled > s.rows) {
    throw InputError("paired statistics: " + std::to_string(s.agree) + " agreements and " +
                     std::to_string(labelled) + " tabled rows among " + std::to_string(s.rows) +
                     " rows");
  }
  s.both_correct = table[0];
  s.model_only = table[1];
  s.reference_only = table[2];
  s.both_wrong = table[3];
  s.model_source = json.at("model_source").get<std::string>();
  s.reference_source = json.at("reference_source").get<std::string>();
  return s;
}

PairedCounts PairedCounts::Of(const OutputsRecord& record, RowRange rows) {
  if (record.reference == nullptr) throw RuntimeError("no reference model outputs to compare");
  const std::vector<int64_t>& model = record.outputs->predicted;
  const std::vector<int64_t>& reference = record.reference->predicted;
  PairedCounts s;
  s.model_source = record.outputs->source;
  s.reference_source = record.reference->source;
  s.rows = rows.end - rows.begin;
  const bool labelled = !record.labels.empty();
  for (int64_t i = rows.begin; i < rows.end; ++i) {
    const auto r = static_cast<size_t>(i);
    if (model[r] == reference[r]) ++s.agree;
    if (!labelled) continue;
    const bool m = model[r] == record.labels[r];
    const bool f = reference[r] == record.labels[r];
    (m ? (f ? s.both_correct : s.model_only) : (f ? s.reference_only : s.both_wrong)) += 1;
  }
  return s;
}

nlohmann::json PairedCounts::Details() const {
  nlohmann::json d = {{"rows", rows},
                      {"agreeing_rows", agree},
                      {"model_source", model_source},
                      {"reference_source", reference_source}};
  if (labelled() > 0) {
    d["paired_table"] = {{"both_correct", both_correct},
                         {"model_only_correct", model_only},
                         {"reference_only_correct", reference_only},
                         {"both_wrong", both_wrong}};
    d["model_accuracy"] = model_accuracy();
    d["reference_accuracy"] = reference_accuracy();
  }
  return d;
}

Interval PairedDifferenceInterval(const PairedCounts& s, double level) {
  const auto n = static_cast<double>(s.labelled());
  const double z = stats::NormalQuantile(0.5 + level / 2.0);
  const double b = (static_cast<double>(s.model_only) + 1.0) / (n + 2.0);
  const double c = (static_cast<double>(s.reference_only) + 1.0) / (n + 2.0);
  const double center = b - c;
  const double half = z * std::sqrt(std::max(0.0, b + c - center * center) / (n + 2.0));
  const double estimate = static_cast<double>(s.model_only - s.reference_only) / n;
  Interval ci;
  ci.low = std::max(-1.0, std::min(center - half, estimate));
  ci.high = std::min(1.0, std::max(center + half, estimate));
  ci.level = level;
  ci.method = "Bonett-Price adjusted Wald (paired)";
  return ci;
}

Interval PairedRatioInterval(const PairedCounts& s, double level) {
  const double z = stats::NormalQuantile(0.5 + level / 2.0);
  const auto a = static_cast<double>(s.both_correct);
  const auto b = static_cast<double>(s.model_only);
  const auto c = static_cast<double>(s.reference_only);
  const double log_ratio = std::log((a + b + 1.0) / (a + c + 1.0));
  const double se = std::sqrt((b + c + 2.0) / ((a + b + 1.0) * (a + c + 1.0)));
  const double estimate = (a + b) / (a + c);
  Interval ci;
  ci.low = std::min(std::exp(log_ratio - z * se), estimate);
  ci.high = std::max(std::exp(log_ratio + z * se), estimate);
  ci.level = level;
  ci.method = "paired log-ratio (delta method, Bonett-Price adjusted counts)";
  return ci;
}

double McNemarExactPValue(int64_t b, int64_t c) {
  const int64_t m = b + c;
  const int64_t k = std::min(b, c);
  // P(X <= k) >= 1/2 once k >= (m - 1) / 2 (exactly 1/2 for odd m and k = (m - 1) / 2).
  if (m == 0 || 2 * k + 1 >= m) return 1.0;
  // P(X <= k), X ~ Binomial(m, 1/2): the terms C(m, i) 2^-m relative to the largest, i = k, by
  // the recurrence t(i - 1) = t(i) i / (m - i + 1), then scaled by C(m, k) 2^-m from log-gamma in
  // long double (each term is far below the smallest double for large m; the sum need not be).
  long double sum = 0.0L, term = 1.0L;
  for (int64_t i = k; i >= 0 && term > 1e-30L; --i) {
    sum += term;
    term *= static_cast<long double>(i) / static_cast<long double>(m - i + 1);
  }
  const auto lm = static_cast<long double>(m), lk = static_cast<long double>(k);
  const long double log_top = std::lgamma(lm + 1.0L) - std::lgamma(lk + 1.0L) -
                              std::lgamma(lm - lk + 1.0L) - lm * std::log(2.0L);
  return static_cast<double>(std::min(1.0L, 2.0L * std::exp(log_top) * sum));
}

namespace {

struct NoParams {};

// Base of the three paired metrics: one work (both models' outputs), one table.
class PairedMetric : public TypedMetric<NoParams, PairedCounts, OutputsRecord> {
 public:
  using TypedMetric::TypedMetric;

 protected:
  std::shared_ptr<const Work> Needs(const NoParams&) const override {
    return std::make_shared<PairedOutputsWork>();
  }
  PairedCounts Accumulate(const NoParams&, const OutputsRecord& record,
                          const MetricInput& input) const override {
    return PairedCounts::Of(record, input.rows);
  }
};

MetricSpec PairedSpec(std::string name, std::string unit, std::string description,
                      bool needs_labels) {
  MetricSpec spec = DescribeMetric(std::move(name), std::move(unit), "safety",
                                   std::move(description), /*needs_model=*/true, needs_labels);
  spec.needs_reference = true;
  return spec;
}

void RequireLabelled(const PairedCounts& s) {
  if (s.labelled() == 0) throw InputError("the dataset has no labelled rows");
}

class AccuracyDeltaMetric final : public PairedMetric {
 public:
  AccuracyDeltaMetric()
      : PairedMetric(
            PairedSpec("accuracy_delta", "ratio",
                       "the model's accuracy minus the reference model's, on the same rows",
                       /*needs_labels=*/true),
            ParamSchema<NoParams>()) {}

 protected:
  Measurement Finalize(const NoParams&, const PairedCounts& s,
                       const FinalizeContext& ctx) const override {
    RequireLabelled(s);
    Measurement r;
    r.unit = "ratio";
    r.samples = s.labelled();
    r.value =
        static_cast<double>(s.model_only - s.reference_only) / static_cast<double>(s.labelled());
    r.interval = PairedDifferenceInterval(s, ctx.confidence);
    r.method =
        "paired count: (model-only correct - reference-only correct) / rows; Bonett-Price "
        "adjusted Wald interval for paired proportions";
    r.details = s.Details();
    return r;
  }
};

class PredictionAgreementMetric final : public PairedMetric {
 public:
  PredictionAgreementMetric()
      : PairedMetric(
            PairedSpec("prediction_agreement", "ratio",
                       "share of rows where the model and the reference model predict the same "
                       "class (top-1)",
                       /*needs_labels=*/false),
            ParamSchema<NoParams>()) {}

 protected:
  Measurement Finalize(const NoParams&, const PairedCounts& s,
                       const FinalizeContext& ctx) const override {
    if (s.rows == 0) throw InputError("the dataset has no rows");
    Measurement r;
    r.unit = "ratio";
    r.samples = s.rows;
    r.value = static_cast<double>(s.agree) / static_cast<double>(s.rows);
    r.interval = stats::WilsonInterval(s.agree, s.rows, ctx.confidence);
    r.method = "count: rows with the same top-1 class / rows; Wilson score interval";
    r.details = s.Details();
    return r;
  }
};

class McNemarPValueMetric final : public PairedMetric {
 public:
  McNemarPValueMetric()
      : PairedMetric(PairedSpec("mcnemar_p_value", "probability",
                                "McNemar's exact two-sided p-value that the model and the "
                                "reference model are equally accurate (discordant pairs)",
                                /*needs_labels=*/true),
                     ParamSchema<NoParams>()) {}

 protected:
  Measurement Finalize(const NoParams&, const PairedCounts& s,
                       const FinalizeContext&) const override {
    RequireLabelled(s);
    Measurement r;
    r.unit = "probability";
    r.samples = s.labelled();
    r.value = McNemarExactPValue(s.model_only, s.reference_only);
    r.method =
        "McNemar's exact test: 2 P(X <= min(b, c)), X ~ Binomial(b + c, 1/2), b and c the "
        "discordant pairs; a p-value, exact for the rows audited (no interval)";
    r.details = s.Details();
    r.details["discordant_pairs"] = s.model_only + s.reference_only;
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeAccuracyDelta() { return std::make_unique<AccuracyDeltaMetric>(); }
std::unique_ptr<Metric> MakePredictionAgreement() {
  return std::make_unique<PredictionAgreementMetric>();
}
std::unique_ptr<Metric> MakeMcNemarPValue() { return std::make_unique<McNemarPValueMetric>(); }

}  // namespace greenlight::accuracy
