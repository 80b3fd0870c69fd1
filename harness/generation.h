// Timed text generation of a causal language model (docs/language-models.md, "Generation speed"):
// the decode loop, and a run of it under the classifier latency's run rules (warm-up, minimum
// query count AND minimum duration, optional maximum, contiguous repetitions, window observers),
// after MLPerf Inference's LLM scenarios: TTFT is the time from issuing a query to its first
// output token, TPOT = (e2e − TTFT) / (output tokens − 1) per query.
//
// Reaches the model through the CausalLanguageModel capability only (models/capabilities.h).
// When the model exports prefill/step, tokens are decoded with its cache; otherwise (or with
// DecodeMode::kRecompute) every new token is one forward pass over the whole prefix.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/random.h"
#include "harness/harness.h"
#include "models/capabilities.h"
#include "models/model.h"

namespace greenlight::harness {

enum class DecodeMode {
  kAuto,       // The model's cache (prefill + step) when it exports them, else recompute.
  kRecompute,  // One forward pass over the whole prefix per new token, even with a cache.
};
std::string DecodeModeName(DecodeMode mode);       // "auto" | "recompute"
DecodeMode ParseDecodeMode(const std::string& s);  // Throws InputError on an unknown name.

// How each next token is chosen from its logits.
struct Decoding {
  bool sample = false;       // false: greedy (the first index of the largest logit).
  double temperature = 1.0;  // Sampling: logits / temperature (> 0).
  int64_t top_k = 0;         // Sampling: only the k largest logits (ties: lower ids); 0 = all.
  uint64_t seed = 0;         // Sampling: see SequenceSeed.
};

struct GenerationSettings {
  Scenario scenario = Scenario::kSingleStream;
  int64_t batch_size = 1;  // Sequences per query (always 1 in single_stream).
  int threads = 0;         // Intra-op threads during the run; 0 = leave LibTorch's setting.
  // The first prompt_tokens tokens of each document; absent: each whole document (single_stream
  // only, as a batch needs prompts of one length).
  std::optional<int64_t> prompt_tokens;
  int64_t max_new_tokens = 32;  // Output tokens per sequence: exactly this many (no stop token).
  Decoding decoding;
  DecodeMode decode = DecodeMode::kAuto;
  int64_t warmup_queries = 4;
  int64_t min_queries = 100;
  double min_duration_s = 2.0;
  double max_duration_s = 0.0;  // 0 = no maximum.
  int repetitions = 10;
};

// Why `settings` cannot run (a sentence naming the setting), or nullopt.
std::optional<std::string> GenerationSettingsProblem(const GenerationSettings& settings);

// The cache key of a run: model digest + every setting that changes what is measured.
std::string GenerationKey(const ModelInfo& model, const GenerationSettings& settings);

// The prompts of `texts` (one per document, in row order) for `settings`, tokenized with the
// model's tokenizer (no BOS). Throws InputError naming the row when a document has fewer tokens
// than prompt_tokens (or none), and naming both settings when prompt + max_new_tokens exceeds the
// model's context_length.
std::vector<std::vector<int64_t>> BuildPrompts(const CausalLanguageModel& lm,
                                               std::span<const std::string> texts,
                                               const GenerationSettings& settings);

// The generator seed of the sequence whose prompt is document `row`: SplitMix64 of the decoding
// seed and the row, so a prompt's sampled output is the same in every query that holds it.
uint64_t SequenceSeed(uint64_t seed, int64_t row);

// The next token of one logits row (vocab floats) by `decoding`; `rng` is drawn from only when
// sampling (one uniform per token, inverse CDF over the kept ids in ascending order).
int64_t ChooseToken(std::span<const float> logits, const Decoding& decoding, random::Rng* rng);

// Times of one query, steady_clock ns from issuing it: ttft_ns when every sequence of the batch
// has its first token, e2e_ns when every one has its last; step_ns[k - 1] the time from token k
// to token k + 1 (k = 1 .. n - 1), so ttft_ns + Σ step_ns = e2e_ns.
struct QueryTrace {
  int64_t ttft_ns = 0;
  int64_t e2e_ns = 0;
  std::vector<int64_t> step_ns;
};

// One query: `batch` prompts of `prompt_length` tokens (row-major), `settings.max_new_tokens`
// tokens generated for each, by the model's cache when `use_cache`, else by recomputing the
// prefix. `rows` are the prompts' document rows (batch of them, for SequenceSeed). Returns the
// generated tokens, batch × max_new_tokens row-major. Throws what the model throws.
std::vector<int64_t> GenerateQuery(CausalLanguageModel& lm, std::span<const int64_t> prompts,
                                   int64_t batch, int64_t prompt_length,
                                   std::span<const int64_t> rows,
                                   const GenerationSettings& settings, bool use_cache,
                                   QueryTrace* trace = nullptr);

// Everything one generation run produced. `run` holds what a classifier run holds, with one query
// = one generation request of batch_size sequences: latencies_ns are the queries' e2e times,
// samples the sequences, and the run-length rules, repetitions, window and machine context mean
// what they mean there (RunSettings: scenario, batch, threads, warm-up, minimums, repetitions).
struct GenerationResult {
  RunResult run;
  GenerationSettings settings;
  bool cache = false;                  // Decoded with the model's prefill/step cache.
  std::string mode_reason;             // Why this mode (a sentence).
  int64_t prompts = 0;                 // Distinct prompts (documents) the queries rotated over.
  std::vector<int64_t> prompt_tokens;  // Per query: prompt length (tokens per sequence).
  std::vector<int64_t> ttft_ns;        // Per query.
  // Per query, max_new_tokens - 1 step times (QueryTrace::step_ns), row-major.
  std::vector<int64_t> step_ns;
  int64_t output_tokens_per_query() const { return settings.batch_size * settings.max_new_tokens; }
  int64_t output_tokens() const { return run.queries * output_tokens_per_query(); }
};

// Runs the timed generation now. Queries take the prompts in rotation, `batch_size` consecutive
// ones each (wrapping). `observers` see Begin/End(run key) around the timed queries and each
// repetition's window, as in Run(). Throws InputError on bad settings or prompts, RuntimeError
// when the model offers no CausalLanguageModel or fails.
std::shared_ptr<const GenerationResult> RunGeneration(
    Model& model, const std::vector<std::vector<int64_t>>& prompts,
    const GenerationSettings& settings,
    const std::vector<std::shared_ptr<WindowObserver>>& observers);

}  // namespace greenlight::harness
