// counterfactual_preference and counterfactual_loglik_gap: one scoring of every pair's two
// sentences (CounterfactualWork, shared by both metrics), per-pair statistics, and intervals over
// pairs: the modified Wilson interval for the share, Student's t for the mean gap.
#include "auditors/language/counterfactual.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "auditors/language/language_metrics.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "core/stats.h"
#include "models/model.h"

namespace greenlight::language {

namespace {

constexpr std::string_view kPlaceholder = "{term}";

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The column (1-based) of `"key"` in a line, else 1.
int64_t ColumnOf(std::string_view line, const std::string& key) {
  const size_t at = line.find("\"" + key + "\"");
  return at == std::string_view::npos ? 1 : static_cast<int64_t>(at) + 1;
}

void AddPair(PairSet& set, CounterfactualPair pair) {
  if (std::find(set.categories.begin(), set.categories.end(), pair.category) ==
      set.categories.end()) {
    set.categories.push_back(pair.category);
  }
  set.pairs.push_back(std::move(pair));
}

}  // namespace

PairSet ReadPairsFile(const std::filesystem::path& path) {
  const std::string bytes = ReadFile(path, kMaxDatasetFileBytes, "pairs file");
  PairSet set;
  set.source = "file " + path.filename().string();
  set.sha256 = Sha256Hex(bytes);
  const std::string where = path.string();
  size_t start = 0;
  for (int64_t line_no = 1; start < bytes.size(); ++line_no) {
    size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    std::string_view line(bytes.data() + start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string at = where + ":" + std::to_string(line_no) + ":";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(at + std::to_string(std::max<size_t>(e.byte, 1)) +
                       ": not a JSON object: " + JsonErrorText(e));
    }
    if (!j.is_object()) throw InputError(at + "1: expected a JSON object, got " + j.type_name());
    for (const auto& [key, value] : j.items()) {
      if (key != "category" && key != "stereotyped" && key != "other") {
        throw InputError(at + std::to_string(ColumnOf(line, key)) + ": unknown field '" + key +
                         "' (known: category, stereotyped, other)");
      }
    }
    CounterfactualPair pair;
    for (auto [key, field] :
         {std::pair{"category", &pair.category}, std::pair{"stereotyped", &pair.stereotyped},
          std::pair{"other", &pair.other}}) {
      if (!j.contains(key)) throw InputError(at + "1: missing field '" + key + "'");
      const auto& v = j.at(key);
      if (!v.is_string() || v.get<std::string>().empty()) {
        throw InputError(at + std::to_string(ColumnOf(line, key)) + ": field '" + key +
                         "' must be a non-empty string");
      }
      *field = v.get<std::string>();
    }
    if (pair.stereotyped == pair.other) {
      throw InputError(at + std::to_string(ColumnOf(line, "other")) +
                       ": the two sentences are the same; a pair must differ in its identity term");
    }
    AddPair(set, std::move(pair));
  }
  if (set.pairs.empty()) throw InputError(where + ": no pairs (one JSON object per line)");
  set.pairs_in_source = static_cast<int64_t>(set.pairs.size());
  return set;
}

PairSet PairsFromTemplates(const nlohmann::json& templates, const nlohmann::json& terms) {
  if (!terms.is_object() || terms.empty()) {
    throw ParamError("terms", "expected a mapping of term-list names to lists of terms");
  }
  std::map<std::string, std::vector<std::string>> lists;
  std::vector<std::string> list_names;
  for (const auto& [name, list] : terms.items()) {
    if (!list.is_array() || list.empty()) {
      throw ParamError("terms", "terms." + name + ": expected a non-empty list of terms");
    }
    for (const auto& term : list) {
      if (!term.is_string() || term.get<std::string>().empty()) {
        throw ParamError(
            "terms",
            "terms." + name + ": every term must be a non-empty string, got " + term.dump());
      }
      lists[name].push_back(term.get<std::string>());
    }
    list_names.push_back(name);
  }
  if (!templates.is_object() || templates.empty()) {
    throw ParamError("templates", "expected a mapping of categories to lists of templates");
  }
  PairSet set;
  set.source = "templates";
  set.sha256 = Sha256Hex(CanonicalText({{"templates", templates}, {"terms", terms}}));
  std::set<std::string> used;
  for (const auto& [category, list] : templates.items()) {
    if (!list.is_array() || list.empty()) {
      throw ParamError("templates", "templates." + category + ": expected a non-empty list");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = "templates." + category + "[" + std::to_string(i) + "]";
      const auto& t = list[i];
      if (!t.is_object()) {
        throw ParamError("templates", at + ": expected {text, stereotyped, other}");
      }
      for (const auto& [key, value] : t.items()) {
        if (key != "text" && key != "stereotyped" && key != "other") {
          throw ParamError("templates",
                           at + ": unknown field '" + key + "' (known: text, stereotyped, other)");
        }
        if (!value.is_string()) throw ParamError("templates", at + "." + key + ": expected string");
      }
      for (const char* key : {"text", "stereotyped", "other"}) {
        if (!t.contains(key)) throw ParamError("templates", at + ": missing field '" + key + "'");
      }
      const std::string text = t.at("text").get<std::string>();
      if (text.find(kPlaceholder) == std::string::npos) {
        throw ParamError("templates", at + ".text: has no " + std::string(kPlaceholder));
      }
      const std::string a = t.at("stereotyped").get<std::string>();
      const std::string b = t.at("other").get<std::string>();
      for (const std::string& name : {a, b}) {
        if (!lists.contains(name)) {
          throw ParamError("templates", at + ": unknown term list '" + name +
                                            "' (known: " + Joined(list_names) + ")");
        }
      }
      if (a == b) throw ParamError("templates", at + ": stereotyped and other are the same list");
      if (lists[a].size() != lists[b].size()) {
        throw ParamError("templates", at + ": term lists '" + a + "' (" +
                                          std::to_string(lists[a].size()) + ") and '" + b + "' (" +
                                          std::to_string(lists[b].size()) +
                                          ") differ in length; term i of one pairs with term i "
                                          "of the other");
      }
      used.insert(a);
      used.insert(b);
      auto fill = [&](const std::string& term) {
        std::string s = text;
        for (size_t p = s.find(kPlaceholder); p != std::string::npos;
             p = s.find(kPlaceholder, p + term.size())) {
          s.replace(p, kPlaceholder.size(), term);
        }
        return s;
      };
      for (size_t k = 0; k < lists[a].size(); ++k) {
        CounterfactualPair pair{category, fill(lists[a][k]), fill(lists[b][k])};
        if (pair.stereotyped == pair.other) {
          throw ParamError("templates", at + ": terms '" + lists[a][k] + "' and '" + lists[b][k] +
                                            "' give the same sentence");
        }
        AddPair(set, std::move(pair));
      }
    }
  }
  for (const std::string& name : list_names) {
    if (!used.contains(name)) {
      throw ParamError("terms", "terms." + name + ": no template uses this list");
    }
  }
  set.pairs_in_source = static_cast<int64_t>(set.pairs.size());
  return set;
}

void FilterCategories(PairSet& set, const std::vector<std::string>& categories) {
  if (categories.empty()) return;
  for (const std::string& c : categories) {
    if (std::find(set.categories.begin(), set.categories.end(), c) == set.categories.end()) {
      throw ParamError("categories", "no pair has category '" + c +
                                         "' (the pairs have: " + Joined(set.categories) + ")");
    }
  }
  PairSet kept;
  kept.source = set.source;
  kept.sha256 = set.sha256;
  kept.pairs_in_source = set.pairs_in_source;
  for (auto& pair : set.pairs) {
    if (std::find(categories.begin(), categories.end(), pair.category) != categories.end()) {
      AddPair(kept, std::move(pair));
    }
  }
  set = std::move(kept);
}

// ---- Statistics ----

void CounterfactualStats::Merge(const CounterfactualStats& other) {
  if (sha256.empty() && scores.empty()) {
    *this = other;
    return;
  }
  if (other.sha256 != sha256 || other.categories != categories) {
    throw RuntimeError("counterfactual statistics of different pairs cannot be merged");
  }
  category_of.insert(category_of.end(), other.category_of.begin(), other.category_of.end());
  scores.insert(scores.end(), other.scores.begin(), other.scores.end());
}

nlohmann::json CounterfactualStats::ToJson() const {
  nlohmann::json s = nlohmann::json::array(), o = nlohmann::json::array();
  nlohmann::json ts = nlohmann::json::array(), to = nlohmann::json::array();
  for (const PairScore& p : scores) {
    s.push_back(p.loglik_stereotyped);
    o.push_back(p.loglik_other);
    ts.push_back(p.tokens_stereotyped);
    to.push_back(p.tokens_other);
  }
  return {{"sha256", sha256},
          {"source", source},
          {"pairs_in_source", pairs_in_source},
          {"categories", categories},
          {"category_of", category_of},
          {"loglik_stereotyped", s},
          {"loglik_other", o},
          {"tokens_stereotyped", ts},
          {"tokens_other", to}};
}

CounterfactualStats CounterfactualStats::FromJson(const nlohmann::json& j) {
  CounterfactualStats c;
  c.sha256 = j.at("sha256").get<std::string>();
  c.source = j.at("source").get<std::string>();
  c.pairs_in_source = JsonCount(j.at("pairs_in_source"), "pairs_in_source");
  c.categories = j.at("categories").get<std::vector<std::string>>();
  c.category_of = JsonIntegers<int32_t>(j.at("category_of"), "category_of");
  const auto s = j.at("loglik_stereotyped").get<std::vector<double>>();
  const auto o = j.at("loglik_other").get<std::vector<double>>();
  const auto ts = JsonIntegers<int64_t>(j.at("tokens_stereotyped"), "tokens_stereotyped");
  const auto to = JsonIntegers<int64_t>(j.at("tokens_other"), "tokens_other");
  const size_t n = c.category_of.size();
  if (s.size() != n || o.size() != n || ts.size() != n || to.size() != n) {
    throw InputError("counterfactual statistics: per-pair arrays differ in length");
  }
  for (size_t i = 0; i < n; ++i) {
    if (c.category_of[i] < 0 || static_cast<size_t>(c.category_of[i]) >= c.categories.size() ||
        !std::isfinite(s[i]) || !std::isfinite(o[i]) || s[i] > 0 || o[i] > 0 || ts[i] < 1 ||
        to[i] < 1) {
      throw InputError("counterfactual statistics: pair " + std::to_string(i) +
                       " has impossible scores");
    }
    c.scores.push_back({s[i], o[i], ts[i], to[i]});
  }
  return c;
}

Measurement PreferenceOf(const std::vector<PairScore>& scores, double level) {
  Measurement m;
  m.unit = "ratio";
  m.samples = static_cast<int64_t>(scores.size());
  if (scores.empty()) return m;
  int64_t preferred = 0;
  for (const PairScore& p : scores) preferred += p.loglik_stereotyped > p.loglik_other ? 1 : 0;
  const auto n = static_cast<int64_t>(scores.size());
  m.value = static_cast<double>(preferred) / static_cast<double>(n);
  m.interval = stats::WilsonInterval(preferred, n, level);
  return m;
}

Measurement MeanGapOf(const std::vector<PairScore>& scores, double level) {
  Measurement m;
  m.unit = "nats";
  m.samples = static_cast<int64_t>(scores.size());
  if (scores.empty()) return m;
  const auto n = static_cast<double>(scores.size());
  double mean = 0.0;
  for (const PairScore& p : scores) mean += p.loglik_stereotyped - p.loglik_other;
  mean /= n;
  m.value = mean;
  if (scores.size() < 2) return m;
  double ss = 0.0;
  for (const PairScore& p : scores) {
    const double d = p.loglik_stereotyped - p.loglik_other - mean;
    ss += d * d;
  }
  const double se = std::sqrt(ss / (n - 1.0) / n);
  const double t = boost::math::quantile(boost::math::students_t(n - 1.0), 0.5 + level / 2.0);
  m.interval = Interval{mean - t * se, mean + t * se, level, "student-t"};
  return m;
}

namespace {

nlohmann::json IntervalJson(const std::optional<Interval>& i) {
  if (!i) return nullptr;
  return {{"low", i->low}, {"high", i->high}, {"level", i->level}, {"method", i->method}};
}

nlohmann::json ValueJson(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The scores with each sentence's log-likelihood divided by its scored tokens.
std::vector<PairScore> PerToken(const std::vector<PairScore>& scores) {
  std::vector<PairScore> out;
  out.reserve(scores.size());
  for (const PairScore& p : scores) {
    out.push_back({p.loglik_stereotyped / static_cast<double>(p.tokens_stereotyped),
                   p.loglik_other / static_cast<double>(p.tokens_other), 1, 1});
  }
  return out;
}

}  // namespace

nlohmann::json CounterfactualDetails(const CounterfactualStats& s, double level) {
  int64_t preferred = 0, ties = 0, unequal = 0;
  for (const PairScore& p : s.scores) {
    preferred += p.loglik_stereotyped > p.loglik_other ? 1 : 0;
    ties += p.loglik_stereotyped == p.loglik_other ? 1 : 0;
    unequal += p.tokens_stereotyped != p.tokens_other ? 1 : 0;
  }
  nlohmann::json d = {
      {"pairs", s.scores.size()},
      {"pairs_source", s.source},
      {"pairs_sha256", s.sha256},
      {"pairs_in_source", s.pairs_in_source},
      {"stereotyped_preferred", preferred},
      {"ties", ties},
      {"pairs_with_unequal_token_counts", unequal},
      {"loglik",
       "sum of ln p(token i | tokens before i) over tokens 2..n of the sentence (no BOS), nats"}};
  nlohmann::json table = nlohmann::json::array();
  for (size_t c = 0; c < s.categories.size(); ++c) {
    std::vector<PairScore> in;
    for (size_t i = 0; i < s.scores.size(); ++i) {
      if (static_cast<size_t>(s.category_of[i]) == c) in.push_back(s.scores[i]);
    }
    const Measurement p = PreferenceOf(in, level);
    const Measurement g = MeanGapOf(in, level);
    table.push_back({{"category", s.categories[c]},
                     {"pairs", in.size()},
                     {"preference", ValueJson(p.value)},
                     {"preference_interval", IntervalJson(p.interval)},
                     {"mean_gap_nats", ValueJson(g.value)},
                     {"gap_interval", IntervalJson(g.interval)}});
  }
  d["categories"] = table;
  const std::vector<PairScore> per_token = PerToken(s.scores);
  const Measurement p = PreferenceOf(per_token, level);
  const Measurement g = MeanGapOf(per_token, level);
  d["per_token"] = {
      {"what", "each sentence's log-likelihood divided by its scored tokens (mean ln p per token)"},
      {"preference", ValueJson(p.value)},
      {"preference_interval", IntervalJson(p.interval)},
      {"mean_gap_nats_per_token", ValueJson(g.value)},
      {"gap_interval", IntervalJson(g.interval)}};
  return d;
}

namespace {

// ---- The work: every pair's two sentences scored once ----

struct CounterfactualRecord final : WorkRecord {
  std::vector<PairScore> scores;
  int64_t rows() const override { return static_cast<int64_t>(scores.size()); }
};

class CounterfactualWork final : public Work {
 public:
  explicit CounterfactualWork(std::shared_ptr<const PairSet> pairs) : pairs_(std::move(pairs)) {}
  // The scored sentences decide the work: the same pairs under two criteria are scored once.
  std::string key() const override {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& p : pairs_->pairs) all.push_back({p.stereotyped, p.other});
    return "counterfactual_pairs:" + Sha256Hex(all.dump());
  }
  // A property of the model on fixed sentences, not of the audited rows.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const>) const override {
    if (context.model() == nullptr) throw InputError("counterfactual metrics need a model");
    CausalLanguageModel& lm = RequireCapability<CausalLanguageModel>(*context.model());
    auto record = std::make_shared<CounterfactualRecord>();
    const auto& pairs = pairs_->pairs;
    for (size_t i = 0; i < pairs.size(); ++i) {
      const DocumentScore s = ScoreDocument(lm, pairs[i].stereotyped);
      const DocumentScore o = ScoreDocument(lm, pairs[i].other);
      if (s.tokens == 0 || o.tokens == 0) {
        throw InputError("pair " + std::to_string(i + 1) + " (" + pairs[i].category +
                         "): a sentence of fewer than two tokens has nothing to score: '" +
                         (s.tokens == 0 ? pairs[i].stereotyped : pairs[i].other) + "'");
      }
      record->scores.push_back({-s.nll, -o.nll, s.tokens, o.tokens});
      if (i % 16 == 15) {
        context.Progress("", "scoring sentence pairs",
                         static_cast<double>(i + 1) / static_cast<double>(pairs.size()));
      }
    }
    return record;
  }

 private:
  std::shared_ptr<const PairSet> pairs_;
};

// ---- The metrics ----

struct CounterfactualParams {
  std::optional<std::string> pairs;
  std::optional<nlohmann::json> templates;
  std::optional<nlohmann::json> terms;
  std::vector<std::string> categories;
};

class BoundCounterfactual final : public BoundParams {
 public:
  BoundCounterfactual(std::shared_ptr<const PairSet> p, nlohmann::json values)
      : pairs(std::move(p)) {
    SetValues(std::move(values));
  }
  const std::shared_ptr<const PairSet> pairs;
};

struct Stats final : MetricStats {
  explicit Stats(CounterfactualStats v) : value(std::move(v)) {}
  nlohmann::json ToJson() const override { return value.ToJson(); }
  CounterfactualStats value;
};

enum class Kind { kPreference, kGap };

class CounterfactualMetric final : public Metric {
 public:
  explicit CounterfactualMetric(Kind kind)
      : kind_(kind),
        schema_(ParamSchema<CounterfactualParams>()
                    .Field("pairs", &CounterfactualParams::pairs,
                           "JSON Lines file of sentence pairs {category, stereotyped, other}, "
                           "relative to the criteria file",
                           File())
                    .Field("templates", &CounterfactualParams::templates,
                           "instead of pairs: category -> list of {text with {term}, "
                           "stereotyped: term list, other: term list}")
                    .Field("terms", &CounterfactualParams::terms,
                           "with templates: term-list name -> list of terms (lists paired "
                           "element by element)")
                    .Field("categories", &CounterfactualParams::categories,
                           "score only these categories (default: all)")
                    .Check([](const CounterfactualParams& p) {
                      if (p.pairs.has_value() == p.templates.has_value()) {
                        throw ParamError(p.pairs ? "templates" : "",
                                         "give either pairs (a file) or templates with terms");
                      }
                      if (p.templates.has_value() != p.terms.has_value()) {
                        throw ParamError(p.terms ? "terms" : "templates",
                                         "templates and terms go together");
                      }
                    })) {
    spec_ = kind == Kind::kPreference
                ? DescribeMetric("counterfactual_preference", "ratio", "fairness",
                                 "share of sentence pairs differing only in an identity term "
                                 "whose stereotyped sentence the causal language model finds "
                                 "more likely (0.5: no preference)",
                                 /*needs_model=*/true, /*needs_labels=*/false)
                : DescribeMetric("counterfactual_loglik_gap", "nats", "fairness",
                                 "mean log-likelihood of the stereotyped sentence minus that of "
                                 "its counterfactual, over sentence pairs (a causal language "
                                 "model; 0: no preference)",
                                 /*needs_model=*/true, /*needs_labels=*/false);
    spec_.params = schema_.Specs();
  }

  const MetricSpec& spec() const override { return spec_; }
  std::map<std::string, ParamDomain> domains() const override { return schema_.Domains(); }

  std::shared_ptr<const BoundParams> Bind(const nlohmann::json& params) const override {
    const auto bound = schema_.Bind(params);
    const CounterfactualParams& p = bound->value;
    PairSet set;
    if (p.pairs) {
      try {
        set = ReadPairsFile(*p.pairs);
      } catch (const InputError& e) {
        throw ParamError("pairs", e.what());
      }
    } else {
      set = PairsFromTemplates(*p.templates, *p.terms);
    }
    FilterCategories(set, p.categories);
    return std::make_shared<const BoundCounterfactual>(
        std::make_shared<const PairSet>(std::move(set)), bound->values());
  }

  std::shared_ptr<const Work> Needs(const BoundParams& params) const override {
    return std::make_shared<CounterfactualWork>(Pairs(params));
  }

  std::unique_ptr<MetricStats> Accumulate(const BoundParams& params,
                                          const MetricInput& input) const override {
    const auto* record = dynamic_cast<const CounterfactualRecord*>(&input.record);
    if (record == nullptr) throw RuntimeError(spec_.name + ": work record of the wrong kind");
    const PairSet& set = *Pairs(params);
    if (record->rows() != static_cast<int64_t>(set.pairs.size())) {
      throw RuntimeError(spec_.name + ": scores of other pairs");
    }
    CounterfactualStats s;
    s.sha256 = set.sha256;
    s.source = set.source;
    s.pairs_in_source = set.pairs_in_source;
    s.categories = set.categories;
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const auto& category = set.pairs[static_cast<size_t>(i)].category;
      s.category_of.push_back(
          static_cast<int32_t>(std::find(set.categories.begin(), set.categories.end(), category) -
                               set.categories.begin()));
      s.scores.push_back(record->scores[static_cast<size_t>(i)]);
    }
    return std::make_unique<Stats>(std::move(s));
  }
  void Merge(MetricStats& into, const MetricStats& part) const override {
    dynamic_cast<Stats&>(into).value.Merge(dynamic_cast<const Stats&>(part).value);
  }
  std::unique_ptr<MetricStats> StatsFromJson(const nlohmann::json& json) const override {
    return std::make_unique<Stats>(CounterfactualStats::FromJson(json));
  }

  Measurement Finalize(const BoundParams&, const MetricStats& stats,
                       const FinalizeContext& ctx) const override {
    const CounterfactualStats& s = dynamic_cast<const Stats&>(stats).value;
    if (s.scores.empty()) throw InputError("no sentence pairs were scored");
    const auto n = std::to_string(s.scores.size());
    Measurement r;
    if (kind_ == Kind::kPreference) {
      r = PreferenceOf(s.scores, ctx.confidence);
      r.method = "share of " + n +
                 " pairs whose stereotyped sentence has the strictly higher log-likelihood (sum of "
                 "ln p over tokens 2..n, no BOS); modified Wilson score interval over pairs";
    } else {
      r = MeanGapOf(s.scores, ctx.confidence);
      r.method = "mean over " + n +
                 " pairs of log-likelihood(stereotyped) - log-likelihood(other), nats (sums of "
                 "ln p over tokens 2..n, no BOS); Student t interval over pairs";
      if (!r.interval) r.message = "one pair: no interval";
    }
    r.details = CounterfactualDetails(s, ctx.confidence);
    return r;
  }

 private:
  std::shared_ptr<const PairSet> Pairs(const BoundParams& params) const {
    const auto* bound = dynamic_cast<const BoundCounterfactual*>(&params);
    if (bound == nullptr) throw RuntimeError(spec_.name + ": parameters bound by another metric");
    return bound->pairs;
  }

  Kind kind_;
  ParamSchema<CounterfactualParams> schema_;
  MetricSpec spec_;
};

}  // namespace

std::unique_ptr<Metric> MakeCounterfactualPreference() {
  return std::make_unique<CounterfactualMetric>(Kind::kPreference);
}
std::unique_ptr<Metric> MakeCounterfactualLoglikGap() {
  return std::make_unique<CounterfactualMetric>(Kind::kGap);
}

}  // namespace greenlight::language
