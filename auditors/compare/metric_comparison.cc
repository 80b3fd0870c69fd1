// metric_delta and metric_retention. The statistics are the audited rows themselves (labels, both
// models' outputs, the rows' groups): the compared metric's value on a bootstrap resample needs
// the resampled rows, and no smaller summary of an arbitrary metric gives it. Merge appends rows
// in row order, so a sharded or block-wise audit merges into the single run's rows exactly, and
// Finalize (every random draw) reproduces the single run's interval bit for bit. A robustness
// metric (PairableMetric) is compared through its per-row outcomes on both models instead, with
// the same bootstrap (PairedOutcomes).
#include "auditors/compare/metric_comparison.h"

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "auditors/accuracy/accuracy_metrics.h"
#include "auditors/fairness/group_metrics.h"
#include "auditors/language/language_metrics.h"
#include "auditors/paired_outcomes.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/random.h"
#include "core/stats.h"

namespace greenlight::compare {
namespace {

constexpr int64_t kDefaultResamples = 1000;
constexpr int64_t kMinResamples = 100;

enum class Comparison { kDelta, kRetention };

// " (did you mean 'a', 'b'?)" as the criteria loader writes it, or "".
std::string DidYouMean(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out = " (did you mean ";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + ("'" + names[i] + "'");
  return out + "?)";
}

// ---- Parameters: the compared metric, bound by its own schema ----

struct ComparisonParams {
  const Metric* metric = nullptr;             // The compared metric; owned by the registry.
  std::shared_ptr<const BoundParams> params;  // Its bound parameters.
  std::shared_ptr<const Work> work;           // Its work with the reference's outputs beside.
  int64_t resamples = kDefaultResamples;
};

class BoundComparison final : public BoundParams {
 public:
  BoundComparison(ComparisonParams p, nlohmann::json values) : value(std::move(p)) {
    SetValues(std::move(values));
  }
  const ComparisonParams value;
};

// ---- Statistics: the rows ----

// Doubles travel as JSON numbers (nlohmann writes the shortest text that reads back to the same
// double); a non-finite output as the string "nan", "inf" or "-inf".
nlohmann::json DoublesJson(const std::vector<double>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) {
    if (std::isfinite(v)) {
      out.push_back(v);
    } else {
      out.push_back(std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    }
  }
  return out;
}

std::vector<double> DoublesFromJson(const nlohmann::json& j, const char* where) {
  if (!j.is_array()) throw InputError(std::string(where) + ": not an array");
  std::vector<double> out;
  out.reserve(j.size());
  for (const auto& v : j) {
    if (v.is_number()) {
      out.push_back(v.get<double>());
    } else if (v == "nan") {
      out.push_back(std::nan(""));
    } else if (v == "inf" || v == "-inf") {
      out.push_back(v == "inf" ? INFINITY : -INFINITY);
    } else {
      throw InputError(std::string(where) + ": expected a number, got " + v.dump());
    }
  }
  return out;
}

// One model's outputs on the rows, as ClassifierOutputs holds them.
struct SideRows {
  std::string source;
  int64_t classes = 0;
  std::vector<int64_t> predicted;
  std::vector<double> probabilities;    // rows x classes, or empty.
  std::vector<double> positive_scores;  // rows, or empty.

  void Append(const ClassifierOutputs& out, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto r = static_cast<size_t>(i);
      predicted.push_back(out.predicted[r]);
      if (!out.probabilities.empty()) {
        probabilities.insert(probabilities.end(), out.probabilities.begin() + i * out.classes,
                             out.probabilities.begin() + (i + 1) * out.classes);
      }
      if (!out.positive_scores.empty()) positive_scores.push_back(out.positive_scores[r]);
    }
  }
  void Merge(const SideRows& other) {
    if (other.source != source || other.classes != classes ||
        other.probabilities.empty() != probabilities.empty() ||
        other.positive_scores.empty() != positive_scores.empty()) {
      throw RuntimeError("comparison rows of different models cannot be merged");
    }
    predicted.insert(predicted.end(), other.predicted.begin(), other.predicted.end());
    probabilities.insert(probabilities.end(), other.probabilities.begin(),
                         other.probabilities.end());
    positive_scores.insert(positive_scores.end(), other.positive_scores.begin(),
                           other.positive_scores.end());
  }
  nlohmann::json ToJson() const {
    return {{"source", source},
            {"classes", classes},
            {"predicted", predicted},
            {"probabilities", DoublesJson(probabilities)},
            {"positive_scores", DoublesJson(positive_scores)}};
  }
  static SideRows FromJson(const nlohmann::json& j, size_t rows) {
    SideRows s;
    s.source = j.at("source").get<std::string>();
    s.classes = JsonCount(j.at("classes"), "classes");
    s.predicted = JsonIntegers<int64_t>(j.at("predicted"), "predicted");
    s.probabilities = DoublesFromJson(j.at("probabilities"), "probabilities");
    s.positive_scores = DoublesFromJson(j.at("positive_scores"), "positive_scores");
    // Checked by division: rows x classes from untrusted JSON could overflow a product.
    const auto k = static_cast<size_t>(s.classes);
    const bool probabilities_fit =
        s.probabilities.empty() ||
        (k > 0 && s.probabilities.size() % k == 0 && s.probabilities.size() / k == rows);
    if (s.predicted.size() != rows || !probabilities_fit ||
        (!s.positive_scores.empty() && s.positive_scores.size() != rows)) {
      throw InputError("comparison statistics: outputs do not match " + std::to_string(rows) +
                       " rows");
    }
    // A metric indexes the probabilities by the predicted class.
    for (int64_t c : s.predicted) {
      if (c < 0 || (s.classes > 0 && c >= s.classes)) {
        throw InputError("comparison statistics: a predicted class outside the model's classes");
      }
    }
    return s;
  }
};

// One language model's scores of the documents (language::LmScoresRecord), per document.
struct LmSide {
  std::string source;
  int64_t context_length = 0;
  std::vector<language::DocumentScore> documents;

  void Merge(const LmSide& other) {
    if (other.source != source || other.context_length != context_length) {
      throw RuntimeError("comparison rows of different language models cannot be merged");
    }
    documents.insert(documents.end(), other.documents.begin(), other.documents.end());
  }
  nlohmann::json ToJson() const {
    nlohmann::json nll = nlohmann::json::array(), tokens = nlohmann::json::array();
    nlohmann::json bytes = nlohmann::json::array(), correct = nlohmann::json::array();
    for (const auto& d : documents) {
      nll.push_back(d.nll);
      tokens.push_back(d.tokens);
      bytes.push_back(d.bytes);
      correct.push_back(d.correct);
    }
    return {{"source", source}, {"context_length", context_length},
            {"nll", nll},       {"tokens", tokens},
            {"bytes", bytes},   {"correct", correct}};
  }
  static LmSide FromJson(const nlohmann::json& j, size_t rows) {
    LmSide s;
    s.source = j.at("source").get<std::string>();
    s.context_length = JsonCount(j.at("context_length"), "context_length");
    const auto nll = j.at("nll").get<std::vector<double>>();
    const auto tokens = JsonIntegers<int64_t>(j.at("tokens"), "tokens");
    const auto bytes = JsonIntegers<int64_t>(j.at("bytes"), "bytes");
    const auto correct = JsonIntegers<int64_t>(j.at("correct"), "correct");
    if (nll.size() != rows || tokens.size() != rows || bytes.size() != rows ||
        correct.size() != rows) {
      throw InputError("comparison statistics: document scores do not match " +
                       std::to_string(rows) + " rows");
    }
    for (size_t i = 0; i < rows; ++i) {
      if (!std::isfinite(nll[i]) || nll[i] < 0 || tokens[i] < 0 || bytes[i] < 0 || correct[i] < 0 ||
          correct[i] > tokens[i]) {
        throw InputError("comparison statistics: document " + std::to_string(i) +
                         " has impossible scores");
      }
      s.documents.push_back({nll[i], tokens[i], bytes[i], correct[i]});
    }
    return s;
  }
};

// Every audited row: its label, both models' outputs and (fairness) its group; or, for language
// models, both models' scores of each document.
struct PairedRows {
  bool language = false;  // The rows are documents scored by two language models.
  LmSide lm_model, lm_reference;
  bool grouped = false;  // The rows come from a fairness groups record.
  int64_t rows = 0;
  int64_t classes = 0;  // The record's classes (the confusion matrix's side).
  bool labelled = false;
  std::vector<int64_t> labels;  // rows, when labelled.
  SideRows model, reference;
  std::vector<std::string> columns;              // Sensitive columns (grouped).
  std::vector<std::vector<std::string>> groups;  // Group id -> its values (grouped).
  std::vector<int32_t> group_of;                 // Row -> group id (grouped).

  static PairedRows Of(const WorkRecord& record, RowRange range) {
    PairedRows s;
    if (const auto* lm = dynamic_cast<const language::LmScoresRecord*>(&record)) {
      if (static_cast<int64_t>(lm->reference.size()) != lm->rows()) {
        throw RuntimeError("comparison: no reference model scores");
      }
      s.language = true;
      s.rows = range.end - range.begin;
      for (auto [side, docs, context, source] :
           {std::tuple{&s.lm_model, &lm->documents, lm->context_length, &lm->source},
            std::tuple{&s.lm_reference, &lm->reference, lm->reference_context_length,
                       &lm->reference_source}}) {
        side->source = *source;
        side->context_length = context;
        side->documents.assign(docs->begin() + range.begin, docs->begin() + range.end);
      }
      return s;
    }
    const ClassifierOutputs* model = nullptr;
    const ClassifierOutputs* reference = nullptr;
    std::span<const int64_t> labels;
    if (const auto* o = dynamic_cast<const OutputsRecord*>(&record)) {
      model = o->outputs;
      reference = o->reference;
      labels = o->labels;
      s.classes = o->classes;
    } else if (const auto* g = dynamic_cast<const fairness::GroupsRecord*>(&record)) {
      model = g->outputs;
      reference = g->reference;
      labels = g->labels;
      s.grouped = true;
      s.classes = std::max(model->classes, reference ? reference->classes : 0);
      s.columns = g->columns;
      // Only the groups of these rows, renumbered in order of first appearance.
      std::map<int32_t, int32_t> renumbered;
      for (int64_t i = range.begin; i < range.end; ++i) {
        const int32_t id = g->group_of[static_cast<size_t>(i)];
        const auto [it, added] = renumbered.try_emplace(id, static_cast<int32_t>(s.groups.size()));
        if (added) s.groups.push_back(g->groups[static_cast<size_t>(id)]);
        s.group_of.push_back(it->second);
      }
    } else {
      throw RuntimeError("comparison: work record of the wrong kind");
    }
    if (reference == nullptr) throw RuntimeError("comparison: no reference model outputs");
    s.rows = range.end - range.begin;
    s.labelled = !labels.empty();
    if (s.labelled) s.labels.assign(labels.begin() + range.begin, labels.begin() + range.end);
    s.model.source = model->source;
    s.model.classes = model->classes;
    s.model.Append(*model, range.begin, range.end);
    s.reference.source = reference->source;
    s.reference.classes = reference->classes;
    s.reference.Append(*reference, range.begin, range.end);
    return s;
  }

  void Merge(const PairedRows& other) {
    if (rows == 0 && model.predicted.empty() && model.source.empty() && lm_model.source.empty()) {
      *this = other;
      return;
    }
    if (other.rows == 0) return;
    if (other.language != language) {
      throw RuntimeError("comparison rows of different work cannot be merged");
    }
    if (language) {
      lm_model.Merge(other.lm_model);
      lm_reference.Merge(other.lm_reference);
      rows += other.rows;
      return;
    }
    if (other.grouped != grouped || other.labelled != labelled || other.columns != columns) {
      throw RuntimeError("comparison rows of different work cannot be merged");
    }
    model.Merge(other.model);
    reference.Merge(other.reference);
    rows += other.rows;
    classes = std::max(classes, other.classes);
    labels.insert(labels.end(), other.labels.begin(), other.labels.end());
    if (!grouped) return;
    // Groups are identified by their values: the other part's ids are mapped onto ours.
    std::map<std::vector<std::string>, int32_t> ids;
    for (size_t g = 0; g < groups.size(); ++g) ids[groups[g]] = static_cast<int32_t>(g);
    std::vector<int32_t> mapped(other.groups.size());
    for (size_t g = 0; g < other.groups.size(); ++g) {
      const auto [it, added] =
          ids.try_emplace(other.groups[g], static_cast<int32_t>(groups.size()));
      if (added) groups.push_back(other.groups[g]);
      mapped[g] = it->second;
    }
    for (int32_t id : other.group_of) group_of.push_back(mapped[static_cast<size_t>(id)]);
  }

  nlohmann::json ToJson() const {
    if (language) {
      return {{"language", true},
              {"rows", rows},
              {"model", lm_model.ToJson()},
              {"reference", lm_reference.ToJson()}};
    }
    nlohmann::json j = {{"grouped", grouped},
                        {"rows", rows},
                        {"classes", classes},
                        {"labels", labelled ? nlohmann::json(labels) : nlohmann::json(nullptr)},
                        {"model", model.ToJson()},
                        {"reference", reference.ToJson()}};
    if (grouped) {
      j["columns"] = columns;
      j["groups"] = groups;
      j["group_of"] = group_of;
    }
    return j;
  }

  static PairedRows FromJson(const nlohmann::json& j) {
    PairedRows s;
    if (j.contains("language") && j.at("language").get<bool>()) {
      s.language = true;
      s.rows = JsonCount(j.at("rows"), "rows");
      s.lm_model = LmSide::FromJson(j.at("model"), static_cast<size_t>(s.rows));
      s.lm_reference = LmSide::FromJson(j.at("reference"), static_cast<size_t>(s.rows));
      return s;
    }
    s.grouped = j.at("grouped").get<bool>();
    s.rows = JsonCount(j.at("rows"), "rows");
    s.classes = JsonCount(j.at("classes"), "classes");
    const auto n = static_cast<size_t>(s.rows);
    s.labelled = !j.at("labels").is_null();
    if (s.labelled) s.labels = JsonIntegers<int64_t>(j.at("labels"), "labels");
    if (s.labelled && s.labels.size() != n) {
      throw InputError("comparison statistics: labels do not match " + std::to_string(n) + " rows");
    }
    s.model = SideRows::FromJson(j.at("model"), n);
    s.reference = SideRows::FromJson(j.at("reference"), n);
    auto in_range = [&](const std::vector<int64_t>& v) {
      for (int64_t x : v) {
        if (x < 0 || x >= std::max<int64_t>(s.classes, 1)) return false;
      }
      return true;
    };
    if (!in_range(s.model.predicted) || !in_range(s.reference.predicted)) {
      throw InputError("comparison statistics: a predicted class outside the classes");
    }
    if (s.grouped) {
      s.columns = j.at("columns").get<std::vector<std::string>>();
      s.groups = j.at("groups").get<std::vector<std::vector<std::string>>>();
      s.group_of = JsonIntegers<int32_t>(j.at("group_of"), "group_of");
      if (s.group_of.size() != n) {
        throw InputError("comparison statistics: groups do not match " + std::to_string(n) +
                         " rows");
      }
      for (int32_t g : s.group_of) {
        if (g < 0 || static_cast<size_t>(g) >= s.groups.size()) {
          throw InputError("comparison statistics: a group id outside the groups");
        }
      }
    }
    return s;
  }
};

// ---- Statistics of a pairable metric (PairableMetric: attacks, corruptions): per-row outcomes
// ----

// One model's side: the compared metric's own statistics (its report on that model) and the
// per-row outcomes the paired bootstrap resamples.
struct OutcomeSide {
  std::string source;
  std::unique_ptr<MetricStats> stats;
  RowOutcomes outcomes;
};

// Both models' outcomes on the same rows, in row order. Merge appends (the compared metric's own
// statistics merge by its exact Merge), so block-wise partials merge into the whole run's.
struct PairedOutcomes {
  const Metric* metric = nullptr;  // The compared metric; owned by the registry.
  nlohmann::json pairing;          // How each side was obtained (PairedRecord::pairing).
  int64_t rows = 0;
  OutcomeSide model, reference;

  static PairedOutcomes Of(const Metric& metric, const BoundParams& params,
                           const PairedRecord& record, RowRange range) {
    const auto* pairable = dynamic_cast<const PairableMetric*>(&metric);
    if (pairable == nullptr) {
      throw RuntimeError("comparison: " + metric.spec().name + " has no per-row outcomes");
    }
    PairedOutcomes s;
    s.metric = &metric;
    s.pairing = record.pairing;
    s.rows = range.end - range.begin;
    for (auto [side, side_record, source] :
         {std::tuple{&s.model, record.model.get(), &record.model_source},
          std::tuple{&s.reference, record.reference.get(), &record.reference_source}}) {
      side->source = *source;
      side->stats = metric.Accumulate(params, {*side_record, nullptr, range});
      side->outcomes = pairable->Outcomes(params, *side_record, range);
    }
    return s;
  }

  void Merge(const PairedOutcomes& other) {
    if (other.metric != metric || other.pairing != pairing || other.model.source != model.source ||
        other.reference.source != reference.source) {
      throw RuntimeError("comparison outcomes of different runs cannot be merged");
    }
    for (auto [into, part] :
         {std::pair{&model, &other.model}, std::pair{&reference, &other.reference}}) {
      metric->Merge(*into->stats, *part->stats);
      auto& o = into->outcomes;
      o.numerator.insert(o.numerator.end(), part->outcomes.numerator.begin(),
                         part->outcomes.numerator.end());
      o.denominator.insert(o.denominator.end(), part->outcomes.denominator.begin(),
                           part->outcomes.denominator.end());
    }
    rows += other.rows;
  }

  nlohmann::json ToJson() const {
    const auto side = [](const OutcomeSide& s) {
      return nlohmann::json{{"source", s.source},
                            {"stats", s.stats->ToJson()},
                            {"numerator", DoublesJson(s.outcomes.numerator)},
                            {"denominator", DoublesJson(s.outcomes.denominator)}};
    };
    return {{"outcomes",
             {{"metric", metric->spec().name},
              {"pairing", pairing},
              {"rows", rows},
              {"model", side(model)},
              {"reference", side(reference)}}}};
  }

  static PairedOutcomes FromJson(const nlohmann::json& outer, const AuditorRegistry& registry) {
    const nlohmann::json& j = outer.at("outcomes");
    PairedOutcomes s;
    const std::string name = j.at("metric").get<std::string>();
    s.metric = FindFrameworkMetric(registry, name);
    if (s.metric == nullptr || dynamic_cast<const PairableMetric*>(s.metric) == nullptr) {
      throw InputError("comparison statistics: '" + name + "' is no metric with per-row outcomes");
    }
    s.pairing = j.at("pairing");
    s.rows = JsonCount(j.at("rows"), "rows");
    for (auto [side, key] : {std::pair{&s.model, "model"}, std::pair{&s.reference, "reference"}}) {
      const nlohmann::json& sj = j.at(key);
      side->source = sj.at("source").get<std::string>();
      side->stats = s.metric->StatsFromJson(sj.at("stats"));
      side->outcomes.numerator = DoublesFromJson(sj.at("numerator"), "numerator");
      side->outcomes.denominator = DoublesFromJson(sj.at("denominator"), "denominator");
      const auto& o = side->outcomes;
      if (o.numerator.size() != static_cast<size_t>(s.rows) ||
          o.denominator.size() != static_cast<size_t>(s.rows)) {
        throw InputError("comparison statistics: outcomes do not match " + std::to_string(s.rows) +
                         " rows");
      }
      for (size_t i = 0; i < o.numerator.size(); ++i) {
        if (!std::isfinite(o.numerator[i]) || !std::isfinite(o.denominator[i]) ||
            o.denominator[i] < 0.0) {
          throw InputError("comparison statistics: row " + std::to_string(i) +
                           " has an impossible outcome");
        }
      }
    }
    return s;
  }
};

// The rows pass's rows, or (a pairable metric) the outcomes.
struct Stats final : MetricStats {
  explicit Stats(PairedRows v) : value(std::move(v)) {}
  explicit Stats(PairedOutcomes o) : outcomes(std::make_unique<PairedOutcomes>(std::move(o))) {}
  nlohmann::json ToJson() const override { return outcomes ? outcomes->ToJson() : value.ToJson(); }
  PairedRows value;
  std::unique_ptr<PairedOutcomes> outcomes;
};

// ---- Records of the rows under either model ----

// The rows `weights` selects (row i repeated weights[i] times, in row order; empty: every row
// once) as two records of the compared metric's kind: one with the model's outputs, one with the
// reference's. The records point into this object, which therefore neither copies nor moves.
class Views {
 public:
  Views(const PairedRows& s, std::span<const uint32_t> weights) {
    std::vector<size_t> rows;
    rows.reserve(static_cast<size_t>(s.rows));
    for (size_t i = 0; i < static_cast<size_t>(s.rows); ++i) {
      const uint32_t times = weights.empty() ? 1u : weights[i];
      for (uint32_t t = 0; t < times; ++t) rows.push_back(i);
    }
    if (s.language) {
      for (auto [side, record] : {std::pair{&s.lm_model, &model_record_},
                                  std::pair{&s.lm_reference, &reference_record_}}) {
        auto lm = std::make_unique<language::LmScoresRecord>();
        lm->context_length = side->context_length;
        lm->source = side->source;
        lm->documents.reserve(rows.size());
        for (size_t i : rows) lm->documents.push_back(side->documents[i]);
        *record = std::move(lm);
      }
      return;
    }
    Select(s.model, rows, model_);
    Select(s.reference, rows, reference_);
    if (s.labelled) {
      for (size_t i : rows) labels_.push_back(s.labels[i]);
    }
    for (auto [out, record] :
         {std::pair{&model_, &model_record_}, std::pair{&reference_, &reference_record_}}) {
      if (s.grouped) {
        auto g = std::make_unique<fairness::GroupsRecord>();
        g->outputs = out;
        g->labels = labels_;
        g->columns = s.columns;
        g->groups = s.groups;
        for (size_t i : rows) g->group_of.push_back(s.group_of[i]);
        *record = std::move(g);
      } else {
        auto o = std::make_unique<OutputsRecord>();
        o->outputs = out;
        o->labels = labels_;
        o->classes = s.classes;
        *record = std::move(o);
      }
    }
  }
  Views(const Views&) = delete;
  Views& operator=(const Views&) = delete;

  const WorkRecord& model() const { return *model_record_; }
  const WorkRecord& reference() const { return *reference_record_; }

 private:
  static void Select(const SideRows& side, const std::vector<size_t>& rows,
                     ClassifierOutputs& out) {
    out.rows = static_cast<int64_t>(rows.size());
    out.classes = side.classes;
    out.source = side.source;
    out.predicted.reserve(rows.size());
    const auto k = static_cast<size_t>(side.classes);
    if (!side.probabilities.empty()) out.probabilities.reserve(rows.size() * k);
    for (size_t i : rows) {
      out.predicted.push_back(side.predicted[i]);
      if (!side.probabilities.empty()) {
        out.probabilities.insert(out.probabilities.end(), side.probabilities.begin() + i * k,
                                 side.probabilities.begin() + (i + 1) * k);
      }
      if (!side.positive_scores.empty()) out.positive_scores.push_back(side.positive_scores[i]);
    }
  }

  ClassifierOutputs model_, reference_;
  std::vector<int64_t> labels_;
  std::unique_ptr<WorkRecord> model_record_, reference_record_;
};

nlohmann::json IntervalJson(const std::optional<Interval>& ci) {
  if (!ci) return nullptr;
  return {{"low", ci->low}, {"high", ci->high}, {"level", ci->level}, {"method", ci->method}};
}

// ---- The metric ----

class ComparisonMetric final : public Metric {
 public:
  ComparisonMetric(const AuditorRegistry& registry, Comparison kind)
      : registry_(registry), kind_(kind) {
    const bool delta = kind == Comparison::kDelta;
    spec_ = DescribeMetric(
        delta ? "metric_delta" : "metric_retention", delta ? "metric's unit" : "ratio", "safety",
        delta ? "another metric (params.metric, its parameters beside) on the model minus the "
                "same on the reference model, on the same rows; paired bootstrap interval"
              : "another metric (params.metric, its parameters beside) on the model divided by "
                "the same on the reference model, on the same rows; paired bootstrap interval",
        /*needs_model=*/true, /*needs_labels=*/false);
    spec_.needs_reference = true;
    ParamSpec metric;
    metric.name = "metric";
    metric.type = ParamType::kString;
    metric.description =
        "the compared metric (a metric of the rows pass: accuracy, f1, ece, a fairness "
        "metric, perplexity, bits_per_byte, next_token_accuracy, ...; or a robustness metric "
        "paired by its per-row outcomes: adversarial_accuracy, attack_success_rate, "
        "empirical_robustness, corruption_accuracy, corruption_accuracy_drop, run on both "
        "models over the same rows); its own parameters go beside this one";
    metric.required = true;
    ParamSpec resamples;
    resamples.name = "paired_resamples";
    resamples.type = ParamType::kInteger;
    resamples.description = "paired bootstrap resamples for the interval";
    resamples.default_value = kDefaultResamples;
    spec_.params = {metric, resamples};
  }

  const MetricSpec& spec() const override { return spec_; }
  std::map<std::string, ParamDomain> domains() const override {
    return {{"metric", Required()}, {"paired_resamples", AtLeast(kMinResamples)}};
  }

  std::shared_ptr<const BoundParams> Bind(const nlohmann::json& params) const override {
    if (!params.is_object()) throw ParamError("", "params must be a mapping");
    if (!params.contains("metric")) {
      throw ParamError("", "needs parameter 'metric' (the metric to compare, e.g. f1)");
    }
    const nlohmann::json& name_json = params.at("metric");
    if (!name_json.is_string()) {
      throw ParamError("metric", "expected string, got " + std::string(name_json.type_name()) +
                                     " " + name_json.dump());
    }
    const std::string name = name_json.get<std::string>();
    ComparisonParams p;
    p.metric = FindFrameworkMetric(registry_, name);
    if (p.metric == nullptr) {
      throw ParamError("metric", "unknown metric '" + name + "'" +
                                     DidYouMean(registry_.ClosestMetrics(name)) +
                                     "; `greenlight metrics` lists them all");
    }
    if (name == "metric_delta" || name == "metric_retention") {
      throw ParamError("metric", "'" + name + "' is itself a comparison; compare a metric");
    }
    nlohmann::json inner = params;
    inner.erase("metric");
    if (inner.contains("paired_resamples")) {
      const nlohmann::json& r = inner.at("paired_resamples");
      if (!r.is_number_integer()) {
        throw ParamError("paired_resamples",
                         "expected integer, got " + std::string(r.type_name()) + " " + r.dump());
      }
      p.resamples = r.get<int64_t>();
      if (p.resamples < kMinResamples) {
        throw ParamError("paired_resamples", "must be at least " + std::to_string(kMinResamples) +
                                                 ", got " + std::to_string(p.resamples));
      }
      inner.erase("paired_resamples");
    }
    try {
      p.params = p.metric->Bind(inner);
    } catch (const ParamError& e) {
      throw ParamError(e.field(), "metric '" + name + "': " + e.what());
    }
    // A pairable metric runs its work on both models; its own use of the reference (craft_on:
    // reference crafts an attack there) is then the choice of crafting model, not a comparison.
    const bool pairable = dynamic_cast<const PairableMetric*>(p.metric) != nullptr;
    if (p.metric->NeedsReference(*p.params) && !pairable) {
      throw ParamError("metric", "metric '" + name +
                                     "' already compares the model with the reference model; "
                                     "use it directly");
    }
    const std::shared_ptr<const Work> work = p.metric->Needs(*p.params);
    p.work = work->WithReference();
    if (!p.work || p.metric->MakeInstrument(*p.params) != nullptr) {
      throw ParamError(
          "metric", "metric '" + name + "' has no row-wise statistics to pair (its work '" +
                        work->key() +
                        "' is not the rows pass over classifier outputs or language-model "
                        "scores, nor a robustness run with per-row outcomes); compare speed, "
                        "throughput, memory, energy, size, parameters and FLOPs with "
                        "latency_speedup, throughput_ratio, peak_memory_ratio, energy_saving, "
                        "size_reduction, parameter_reduction and flops_reduction; the other safety "
                        "metrics' values are no mean of per-row outcomes");
    }
    // Rows are compared, so every audited row must be one: a row limit of the compared metric
    // would select different rows on a resample. A pairable metric's limit selects the rows of
    // its own run, the same on both models.
    const nlohmann::json& values = p.params->values();
    if (!pairable && values.contains("limit") && values.at("limit").is_number_integer() &&
        values.at("limit").get<int64_t>() != 0) {
      throw ParamError("limit", "metric '" + name +
                                    "': a comparison uses every audited row; select rows with "
                                    "the dataset's sample: section instead");
    }
    nlohmann::json shown = values;
    shown["metric"] = name;
    shown["paired_resamples"] = p.resamples;
    return std::make_shared<const BoundComparison>(std::move(p), std::move(shown));
  }

  void CheckData(const BoundParams& params, const Dataset& data) const override {
    const ComparisonParams& p = Typed(params);
    p.metric->CheckData(*p.params, data);
  }
  std::shared_ptr<const Work> Needs(const BoundParams& params) const override {
    return Typed(params).work;
  }
  bool NeedsReference(const BoundParams&) const override { return true; }
  // The compared metric's crafting model (craft_on: surrogate) is loaded for it.
  bool NeedsSurrogate(const BoundParams& params) const override {
    const ComparisonParams& p = Typed(params);
    return p.metric->NeedsSurrogate(*p.params);
  }

  std::unique_ptr<MetricStats> Accumulate(const BoundParams& params,
                                          const MetricInput& input) const override {
    if (const auto* paired = dynamic_cast<const PairedRecord*>(&input.record)) {
      const ComparisonParams& p = Typed(params);
      return std::make_unique<Stats>(PairedOutcomes::Of(*p.metric, *p.params, *paired, input.rows));
    }
    return std::make_unique<Stats>(PairedRows::Of(input.record, input.rows));
  }
  void Merge(MetricStats& into, const MetricStats& part) const override {
    auto& a = dynamic_cast<Stats&>(into);
    const auto& b = dynamic_cast<const Stats&>(part);
    if ((a.outcomes == nullptr) != (b.outcomes == nullptr)) {
      throw RuntimeError("comparison statistics of different work cannot be merged");
    }
    if (a.outcomes) {
      a.outcomes->Merge(*b.outcomes);
    } else {
      a.value.Merge(b.value);
    }
  }
  std::unique_ptr<MetricStats> StatsFromJson(const nlohmann::json& json) const override {
    if (json.contains("outcomes")) {
      return std::make_unique<Stats>(PairedOutcomes::FromJson(json, registry_));
    }
    return std::make_unique<Stats>(PairedRows::FromJson(json));
  }

  Measurement Finalize(const BoundParams& params, const MetricStats& stats,
                       const FinalizeContext& ctx) const override {
    const ComparisonParams& p = Typed(params);
    const Stats& typed = dynamic_cast<const Stats&>(stats);
    if (typed.outcomes) return FinalizeOutcomes(p, *typed.outcomes, ctx);
    const PairedRows& s = typed.value;
    const Metric& inner = *p.metric;
    const std::string& name = inner.spec().name;
    if (s.rows == 0) throw InputError("the dataset has no rows");
    if (inner.spec().needs_labels && !s.labelled) {
      throw InputError(name + " needs labels and the dataset has none");
    }
    const auto n = s.rows;
    const RowRange all{0, n};

    // The compared metric on each model, as it reports itself (value, interval, method).
    FinalizeContext own;
    own.seed = ctx.seed;
    own.confidence = ctx.confidence;
    const Views views(s, {});
    const Measurement model = MeasureRows(inner, *p.params, {views.model(), nullptr, all}, own);
    const Measurement reference =
        MeasureRows(inner, *p.params, {views.reference(), nullptr, all}, own);

    Measurement r;
    r.unit = kind_ == Comparison::kDelta ? (model.unit.empty() ? inner.spec().unit : model.unit)
                                         : "ratio";
    r.samples = n;
    r.details = {
        {"metric", name},
        {"params", p.params->values()},
        {"unit", model.unit.empty() ? inner.spec().unit : model.unit},
        {"model", Side(model, s.language ? s.lm_model.source : s.model.source)},
        {"reference", Side(reference, s.language ? s.lm_reference.source : s.reference.source)}};
    if (!model.value || !reference.value) {
      r.method = Method(name);
      r.message = UndefinedMessage(name, model, reference);
      return r;
    }
    if (kind_ == Comparison::kRetention) RequireRatio(name, *model.value, *reference.value);
    r.value = Compare(*model.value, *reference.value);

    // The paired bootstrap: one draw of row multiplicities per resample, applied to both models.
    FinalizeContext quick;
    quick.seed = ctx.seed;
    quick.confidence = ctx.confidence;
    quick.value_only = true;
    PairedBootstrap(p, n, ctx, r, [&](std::span<const uint32_t> w) {
      const Views v(s, w);
      std::optional<double> m, f;
      try {
        m = MeasureRows(inner, *p.params, {v.model(), nullptr, all}, quick).value;
        f = MeasureRows(inner, *p.params, {v.reference(), nullptr, all}, quick).value;
      } catch (const InputError&) {
        return std::optional<double>();  // Undefined on this resample (e.g. one class left).
      }
      if (!m || !f || (kind_ == Comparison::kRetention && !(*f > 0.0))) {
        return std::optional<double>();
      }
      return std::optional<double>(Compare(*m, *f));
    });
    return r;
  }

 private:
  // The pairable metric's outcomes on both models: the compared metric's own statistics give each
  // side's report and the value; the per-row outcomes give the paired bootstrap.
  Measurement FinalizeOutcomes(const ComparisonParams& p, const PairedOutcomes& s,
                               const FinalizeContext& ctx) const {
    const Metric& inner = *p.metric;
    const std::string& name = inner.spec().name;
    if (s.rows == 0) throw InputError("the dataset has no rows");
    FinalizeContext own;
    own.seed = ctx.seed;
    own.confidence = ctx.confidence;
    const Measurement model = inner.Finalize(*p.params, *s.model.stats, own);
    const Measurement reference = inner.Finalize(*p.params, *s.reference.stats, own);
    Measurement r;
    r.unit = kind_ == Comparison::kDelta ? (model.unit.empty() ? inner.spec().unit : model.unit)
                                         : "ratio";
    r.samples = s.rows;
    r.details = {{"metric", name},
                 {"params", p.params->values()},
                 {"unit", model.unit.empty() ? inner.spec().unit : model.unit},
                 {"model", Side(model, s.model.source)},
                 {"reference", Side(reference, s.reference.source)},
                 {"pairing", s.pairing},
                 {"outcome", dynamic_cast<const PairableMetric&>(inner).OutcomeName(*p.params)}};
    r.method = Method(name);
    if (!model.value || !reference.value) {
      r.message = UndefinedMessage(name, model, reference);
      return r;
    }
    if (kind_ == Comparison::kRetention) RequireRatio(name, *model.value, *reference.value);
    r.value = Compare(*model.value, *reference.value);
    if (const std::optional<accuracy::PairedCounts> table = BinaryTable(s)) {
      // A 0/1 success per row on both models: the paired 2x2 table's adjusted intervals, which
      // keep a width when no row is discordant (a bootstrap of such rows resamples nothing and
      // gives [0, 0]), as accuracy_delta and accuracy_retention use them.
      r.interval = kind_ == Comparison::kDelta
                       ? accuracy::PairedDifferenceInterval(*table, ctx.confidence)
                       : accuracy::PairedRatioInterval(*table, ctx.confidence);
      r.method = Method(name,
                        "a 0/1 outcome per row on both models: interval from the paired "
                        "2x2 table (" +
                            r.interval->method + ")");
      r.details["paired_table"] = {{"both_correct", table->both_correct},
                                   {"model_only_correct", table->model_only},
                                   {"reference_only_correct", table->reference_only},
                                   {"both_wrong", table->both_wrong}};
      return r;
    }
    // A resample's value on each model: sum(w * numerator) / sum(w * denominator).
    const auto weighted = [](const RowOutcomes& o, std::span<const uint32_t> w) {
      double num = 0.0, den = 0.0;
      for (size_t i = 0; i < w.size(); ++i) {
        num += w[i] * o.numerator[i];
        den += w[i] * o.denominator[i];
      }
      return den > 0.0 ? std::optional<double>(num / den) : std::optional<double>();
    };
    PairedBootstrap(p, s.rows, ctx, r, [&](std::span<const uint32_t> w) {
      const std::optional<double> m = weighted(s.model.outcomes, w);
      const std::optional<double> f = weighted(s.reference.outcomes, w);
      if (!m || !f || (kind_ == Comparison::kRetention && !(*f > 0.0))) {
        return std::optional<double>();
      }
      return std::optional<double>(Compare(*m, *f));
    });
    return r;
  }

  // The paired 2x2 table of outcomes that are a 0/1 success over a denominator of 1 on every row
  // of both models (adversarial_accuracy; corruption_accuracy of one corruption cell); nullopt for
  // any other outcome (a share of several cells, a success rate, a perturbation size).
  static std::optional<accuracy::PairedCounts> BinaryTable(const PairedOutcomes& s) {
    const RowOutcomes& m = s.model.outcomes;
    const RowOutcomes& f = s.reference.outcomes;
    const auto binary = [](const RowOutcomes& o, size_t i) {
      return o.denominator[i] == 1.0 && (o.numerator[i] == 0.0 || o.numerator[i] == 1.0);
    };
    accuracy::PairedCounts t;
    for (size_t i = 0; i < m.numerator.size(); ++i) {
      if (!binary(m, i) || !binary(f, i)) return std::nullopt;
      const bool model_right = m.numerator[i] == 1.0;
      const bool reference_right = f.numerator[i] == 1.0;
      ++(model_right ? (reference_right ? t.both_correct : t.model_only)
                     : (reference_right ? t.reference_only : t.both_wrong));
    }
    t.rows = t.labelled();
    if (t.rows == 0) return std::nullopt;
    return t;
  }

  // The paired percentile bootstrap over n rows (`replicate` gives the comparison on one draw of
  // row multiplicities, applied to both models), its details, and the interval widened to contain
  // r.value; a message instead when every resample is undefined.
  void PairedBootstrap(
      const ComparisonParams& p, int64_t n, const FinalizeContext& ctx, Measurement& r,
      const std::function<std::optional<double>(std::span<const uint32_t>)>& replicate) const {
    const std::string& name = p.metric->spec().name;
    const auto resamples = static_cast<int>(p.resamples);
    int step = 0;
    stats::BootstrapResult boot =
        stats::RowBootstrap(n, resamples, ctx.seed, [&](std::span<const uint32_t> w) {
          if (++step % 50 == 0 && ctx.progress) {
            ctx.progress(static_cast<double>(step) / resamples);
          }
          return replicate(w);
        });
    r.details["bootstrap"] = {{"resamples", resamples},
                              {"seed", ctx.seed},
                              {"generator", random::kGeneratorName},
                              {"undefined_resamples", boot.undefined},
                              {"method",
                               "paired percentile bootstrap over rows: each resample draws row "
                               "multiplicities once and applies them to both models"}};
    r.method = Method(name);
    if (boot.replicates.empty()) {
      r.message = name + " is undefined on every bootstrap resample: no interval";
      return;
    }
    r.interval = stats::PercentileIntervalContaining(boot.replicates, ctx.confidence, *r.value);
    r.interval->method = "paired-" + r.interval->method;
  }

  const ComparisonParams& Typed(const BoundParams& params) const {
    const auto* bound = dynamic_cast<const BoundComparison*>(&params);
    if (bound == nullptr) throw RuntimeError(spec_.name + ": parameters bound by another metric");
    return bound->value;
  }
  double Compare(double model, double reference) const {
    return kind_ == Comparison::kDelta ? model - reference : model / reference;
  }
  // A ratio to a reference value of 0 (or of the other sign) says nothing about how much was kept.
  void RequireRatio(const std::string& name, double model, double reference) const {
    if (reference == 0.0) {
      throw InputError("metric_retention: the reference model's " + name +
                       " is 0, so a ratio to it is meaningless; compare with metric_delta");
    }
    if (reference < 0.0 || model < 0.0) {
      throw InputError("metric_retention: " + name + " is negative (model " +
                       std::to_string(model) + ", reference " + std::to_string(reference) +
                       "), so a ratio is meaningless; compare with metric_delta");
    }
  }
  std::string Method(const std::string& name, const std::string& interval =
                                                  "paired percentile bootstrap over rows (the "
                                                  "same resampled rows for both models)") const {
    return name + (kind_ == Comparison::kDelta ? " of the model - " : " of the model / ") + name +
           " of the reference model, on the same rows; " + interval;
  }
  // Why there is no comparison: the compared metric is undefined on one of the models.
  static std::string UndefinedMessage(const std::string& name, const Measurement& model,
                                      const Measurement& reference) {
    const Measurement& undefined = model.value ? reference : model;
    return name + " is undefined on the " + (model.value ? "reference model" : "model") +
           (undefined.message.empty() ? "" : ": " + undefined.message);
  }
  static nlohmann::json Side(const Measurement& m, const std::string& source) {
    return {{"source", source},
            {"value", m.value ? nlohmann::json(*m.value) : nlohmann::json(nullptr)},
            {"interval", IntervalJson(m.interval)},
            {"samples", m.samples},
            {"method", m.method}};
  }

  const AuditorRegistry& registry_;
  Comparison kind_;
  MetricSpec spec_;
};

}  // namespace

std::unique_ptr<Metric> MakeMetricDelta(const AuditorRegistry& registry) {
  return std::make_unique<ComparisonMetric>(registry, Comparison::kDelta);
}
std::unique_ptr<Metric> MakeMetricRetention(const AuditorRegistry& registry) {
  return std::make_unique<ComparisonMetric>(registry, Comparison::kRetention);
}

}  // namespace greenlight::compare
