// Generation speed of causal language models (docs/language-models.md, "Generation speed"): TTFT,
// TPOT and end-to-end latency percentiles and output tokens per second, from one timed generation
// run (harness/generation.h) per distinct settings, shared by every criterion with those settings
// (and by the energy-per-token metrics, auditors/energy, whose meters attach to it).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "auditors/metric.h"
#include "auditors/params.h"
#include "harness/generation.h"

namespace greenlight::language {

// The generation settings of a criterion (names as in the criteria file). batch_size absent: 1 in
// single_stream, 8 in offline; seed absent: the audit's seed.
struct GenerationParams {
  std::string scenario = "single_stream";
  std::optional<int64_t> batch_size;
  int64_t threads = 0;
  std::optional<int64_t> prompt_tokens;
  int64_t max_new_tokens = 32;
  std::string decoding = "greedy";
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<int64_t> seed;
  std::string decode = "auto";
  int64_t warmup_queries = 4;
  int64_t min_queries = 1024;
  double min_duration_s = 10.0;
  double max_duration_s = 0.0;
  int64_t repetitions = 10;
};

// Throws ParamError("max_new_tokens") when prompt_tokens + max_new_tokens exceed the declared
// model's context_length (a language model's; other models are left to the run).
void CheckGenerationFitsModel(const GenerationParams& params, const ModelSpec& model);

// The harness settings of `params`; `audit_seed` stands in for an absent seed.
harness::GenerationSettings ToGenerationSettings(const GenerationParams& params,
                                                 uint64_t audit_seed);

namespace generation_detail {
template <typename P, typename T>
T P::*Member(T GenerationParams::*member) {
  return member;  // A member of the base is a member of the derived struct.
}
}  // namespace generation_detail

// Adds the generation settings' fields and their cross-field rules to the schema of a parameter
// struct P that derives from GenerationParams. `min_new_tokens`: 2 for the metrics that need a
// second token (TPOT).
template <typename P>
ParamSchema<P>& AddGenerationFields(ParamSchema<P>& schema, int64_t min_new_tokens = 1) {
  auto field = [](auto member) { return generation_detail::Member<P>(member); };
  schema
      .Field("scenario", field(&GenerationParams::scenario),
             "single_stream (one prompt per query) or offline (batches of prompts)",
             OneOf({"single_stream", "offline"}))
      .Field("batch_size", field(&GenerationParams::batch_size),
             "prompts per query (1 in single_stream; default 8 in offline)", AtLeast(1))
      .Field("threads", field(&GenerationParams::threads),
             "intra-op threads during the run (0: LibTorch default)", AtLeast(0))
      .Field("prompt_tokens", field(&GenerationParams::prompt_tokens),
             "prompt = the first prompt_tokens tokens of each document (default: the whole "
             "document; offline needs it)",
             AtLeast(1))
      .Field("max_new_tokens", field(&GenerationParams::max_new_tokens),
             "tokens generated per prompt (exactly this many: no stop token)",
             AtLeast(static_cast<double>(min_new_tokens)))
      .Field("decoding", field(&GenerationParams::decoding),
             "greedy (the most likely token) or sampling (temperature, top_k, seed)",
             OneOf({"greedy", "sampling"}))
      .Field("temperature", field(&GenerationParams::temperature),
             "sampling: logits / temperature (default 1)")
      .Field("top_k", field(&GenerationParams::top_k),
             "sampling: only the k most likely tokens (default 0: all)", AtLeast(0))
      .Field("seed", field(&GenerationParams::seed),
             "sampling: generator seed (default: the "
             "audit's seed)",
             AtLeast(0))
      .Field("decode", field(&GenerationParams::decode),
             "auto (the model's cache when it exports prefill/step) or recompute (the whole "
             "prefix every token)",
             OneOf({"auto", "recompute"}))
      .Field("warmup_queries", field(&GenerationParams::warmup_queries),
             "untimed queries before the run", AtLeast(0))
      .Field("min_queries", field(&GenerationParams::min_queries),
             "run-length rule: at least this many timed queries", AtLeast(1))
      .Field("min_duration_s", field(&GenerationParams::min_duration_s),
             "run-length rule: timed part at least this long", AtLeast(0))
      .Field("max_duration_s", field(&GenerationParams::max_duration_s),
             "stop the timed run after this long (0: no maximum); a run stopped before its "
             "minimums is INCONCLUSIVE",
             AtLeast(0))
      .Field("repetitions", field(&GenerationParams::repetitions),
             "contiguous repetitions the timed run is split into; intervals come from the spread "
             "between them (at least 5)",
             Between(harness::kMinRepetitions, 1000))
      .Check([](const P& derived) {
        // Through the base: a derived struct may hold other fields of the same names.
        const GenerationParams& p = derived;
        if (p.scenario == "single_stream" && p.batch_size && *p.batch_size != 1) {
          throw ParamError("batch_size",
                           "single_stream queries have batch_size 1 (use scenario: offline for "
                           "batches)");
        }
        if (p.scenario == "offline" && !p.prompt_tokens) {
          throw ParamError("prompt_tokens",
                           "offline batches need prompts of one length: set prompt_tokens");
        }
        if (p.decoding == "greedy") {
          for (const auto& [name, given] :
               {std::pair<const char*, bool>{"temperature", p.temperature.has_value()},
                {"top_k", p.top_k.has_value()},
                {"seed", p.seed.has_value()}}) {
            if (given) throw ParamError(name, "applies to decoding: sampling only");
          }
        }
        if (p.temperature && !(*p.temperature > 0.0)) {
          throw ParamError("temperature", "must be > 0");
        }
      });
  return schema;
}

// The timed generation run of one settings, as framework work.
struct GenerationRecord final : WorkRecord {
  std::shared_ptr<const harness::GenerationResult> result;
  int64_t rows() const override { return result->run.queries; }
};

class GenerationWork final : public Work {
 public:
  explicit GenerationWork(const GenerationParams& params);
  std::string key() const override { return key_; }
  // Timing is a property of the node: measured on the one shard asked to time.
  Sharding sharding() const override { return Sharding::kOnce; }
  // Tokenizes the audited documents into prompts (BuildPrompts: InputError naming the row or the
  // settings) and runs the harness with the plan's instruments on its window and repetitions.
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const> instruments) const override;

 private:
  GenerationParams params_;
  std::string key_;
};

// A generation result as lossless JSON, and back (the metrics' statistics travel between
// machines in a sharded audit).
nlohmann::json GenerationToJson(const harness::GenerationResult& result);
harness::GenerationResult GenerationFromJson(const nlohmann::json& json);

// The statistics of a generation run: the whole run, held by the shard that timed it (null in the
// others); merging two runs is an error.
struct GenerationStats {
  nlohmann::json run;
  void Merge(const GenerationStats& other);
  nlohmann::json ToJson() const { return run; }
  static GenerationStats FromJson(const nlohmann::json& j) { return {j}; }
};

// The per-query figures of a run, ms: TTFT, TPOT = (e2e − TTFT) / (n − 1) (empty when n = 1),
// e2e.
struct QueryFigures {
  std::vector<double> ttft_ms;
  std::vector<double> tpot_ms;
  std::vector<double> e2e_ms;
};
QueryFigures FiguresOf(const harness::GenerationResult& result);

// Each output position's step time averaged over the run's queries (ms; position k = the time
// from token k to token k + 1, k = 1 .. n − 1): how TPOT moves as the output grows.
std::vector<double> MeanStepMsByPosition(const harness::GenerationResult& result);

// The run's facts for a report (settings, decode mode and why, run-length rules, counts).
nlohmann::json GenerationRunDetails(const harness::GenerationResult& result);

// The metrics, one factory each (registered in auditors/builtin.cc). `p`: 0.5, 0.9 or 0.99.
std::unique_ptr<Metric> MakeTtftPercentile(double p);
std::unique_ptr<Metric> MakeTpotPercentile(double p);
std::unique_ptr<Metric> MakeE2eLatencyPercentile(double p);
std::unique_ptr<Metric> MakeOutputTokensPerSecond();

}  // namespace greenlight::language
