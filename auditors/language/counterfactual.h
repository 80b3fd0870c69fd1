// Counterfactual bias of causal language models (docs/language-models.md, "Counterfactual bias"):
// sentence pairs that differ only in an identity term, CrowS-Pairs style. Each pair has a
// stereotyped sentence and the same sentence with another identity term; the model's
// log-likelihood of each (the perplexity scoring's sum over tokens 2..n, no BOS) gives
// counterfactual_preference (the share of pairs whose stereotyped sentence is the more likely;
// 0.5 is no preference) and counterfactual_loglik_gap (the mean log-likelihood difference, nats;
// 0 is none), overall and per category. Pairs come from a JSONL file or from templates × term
// lists in the criteria. The pair reading and the statistics are exposed for the tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auditors/metric.h"
#include "core/result.h"

namespace greenlight::language {

struct CounterfactualPair {
  std::string category;
  std::string stereotyped;
  std::string other;
};

// The pairs a criterion scores, after its category filter.
struct PairSet {
  // "file <name>" (the file's name, no folders) or "templates".
  std::string source;
  // SHA-256 of the pairs file's bytes, or of the canonical JSON of the templates and terms.
  std::string sha256;
  int64_t pairs_in_source = 0;          // Before the category filter.
  std::vector<std::string> categories;  // Of the scored pairs, in order of first appearance.
  std::vector<CounterfactualPair> pairs;
};

// Reads a pairs file: JSON Lines, one object per line with the string fields "category",
// "stereotyped" and "other" (no others); blank lines are skipped. Throws InputError
// "<path>:<line>:<col>: <problem>" for unreadable JSON, a missing, extra or empty field, or two
// sentences that are the same, and when the file has no pair.
PairSet ReadPairsFile(const std::filesystem::path& path);

// Pairs from templates × term lists: `terms` maps a list name to its terms; `templates` maps a
// category to a list of {text, stereotyped, other}, where text holds "{term}" and stereotyped and
// other name two term lists of equal length. Term i of the stereotyped list and term i of the
// other give one pair. Throws ParamError naming the parameter on any inconsistency.
PairSet PairsFromTemplates(const nlohmann::json& templates, const nlohmann::json& terms);

// Keeps the pairs of `categories` (all when empty). Throws ParamError("categories") naming a
// category that no pair has, with the known ones.
void FilterCategories(PairSet& set, const std::vector<std::string>& categories);

// One pair's log-likelihoods (nats; sums of log p over tokens 2..n) and scored tokens.
struct PairScore {
  double loglik_stereotyped = 0.0;
  double loglik_other = 0.0;
  int64_t tokens_stereotyped = 0;
  int64_t tokens_other = 0;
};

// Per-pair scores with their categories, in pair order: the statistics of both metrics. Merging
// concatenates, so partials merge exactly.
struct CounterfactualStats {
  std::string sha256;
  std::string source;
  int64_t pairs_in_source = 0;
  std::vector<std::string> categories;
  std::vector<int32_t> category_of;  // Pair -> index into categories.
  std::vector<PairScore> scores;

  void Merge(const CounterfactualStats& other);
  nlohmann::json ToJson() const;
  static CounterfactualStats FromJson(const nlohmann::json& j);
};

// The per-category table and the normalised variant both metrics report in their details.
nlohmann::json CounterfactualDetails(const CounterfactualStats& s, double level);
// Share of pairs whose stereotyped sentence has the strictly higher log-likelihood, with the
// modified Wilson interval; nullopt value without pairs.
Measurement PreferenceOf(const std::vector<PairScore>& scores, double level);
// Mean of loglik_stereotyped - loglik_other with the Student t interval (none for one pair).
Measurement MeanGapOf(const std::vector<PairScore>& scores, double level);

std::unique_ptr<Metric> MakeCounterfactualPreference();
std::unique_ptr<Metric> MakeCounterfactualLoglikGap();

}  // namespace greenlight::language
