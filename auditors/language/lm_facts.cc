// flops_per_token and kv_cache_bytes_per_token: one run of the model on T token ids each (a
// property of the model, measured once per audit), no statistics beyond the count.
#include "auditors/language/lm_facts.h"

#include <optional>
#include <string>
#include <vector>

#include "auditors/efficiency/efficiency_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "models/capabilities.h"
#include "models/model.h"

namespace greenlight::language {
namespace {

enum class Fact { kFlops, kKvCache };

struct FactParams {
  std::optional<int64_t> tokens;  // Absent: the model's context length.
};

// The facts travel as the model facts' do (one row, merged only with the same facts).
using FactsRecord = efficiency::ModelFactsRecord;
using efficiency::FactStats;

// T token ids 0, 1, 2, ... (mod V): the counted operators and the cache's size depend on how many
// tokens there are, not on which.
std::vector<int64_t> Ids(int64_t n, int64_t vocab) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i % vocab;
  return ids;
}

class FactsWork final : public Work {
 public:
  FactsWork(Fact fact, std::optional<int64_t> tokens) : fact_(fact), tokens_(tokens) {}
  std::string key() const override {
    return std::string(fact_ == Fact::kFlops ? "lm_flops" : "lm_kv_cache") +
           ":tokens=" + (tokens_ ? std::to_string(*tokens_) : "context");
  }
  // A property of the model, not of the rows.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const>) const override {
    if (context.model() == nullptr) throw InputError("language-model metrics need a model");
    Model& model = *context.model();
    CausalLanguageModel& lm = RequireCapability<CausalLanguageModel>(model);
    const int64_t n = tokens_.value_or(lm.context_length());
    if (n > lm.context_length()) {
      throw InputError("tokens = " + std::to_string(n) + " exceeds the model's context_length of " +
                       std::to_string(lm.context_length()));
    }
    auto record = std::make_shared<FactsRecord>();
    const std::vector<int64_t> ids = Ids(n, lm.vocab_size());
    if (fact_ == Fact::kFlops) {
      record->facts = lm.CountFlops(ids, 1, n).ToJson();
    } else {
      if (!lm.incremental()) {
        throw RuntimeError(model.spec().path.string() +
                           " exports no prefill and step: it keeps no decode cache to measure");
      }
      // The cache of n tokens, made by both incremental methods: prefill of n - 1, one step.
      const DecodeStep prefill =
          lm.Prefill(std::span(ids).first(static_cast<size_t>(n - 1)), 1, n - 1);
      const DecodeStep step =
          lm.Step(std::span(ids).subspan(static_cast<size_t>(n - 1)), 1, *prefill.cache);
      record->facts = {{"bytes_after_prefill", prefill.cache->bytes()},
                       {"bytes_after_step", step.cache->bytes()},
                       {"step_growth_bytes", step.cache->bytes() - prefill.cache->bytes()}};
    }
    record->facts["tokens"] = n;
    record->facts["sha256"] = model.info().sha256;
    return record;
  }

 private:
  Fact fact_;
  std::optional<int64_t> tokens_;
};

class FactMetric final : public TypedMetric<FactParams, FactStats, FactsRecord> {
 public:
  explicit FactMetric(Fact fact)
      : TypedMetric(Describe(fact),
                    ParamSchema<FactParams>().Field(
                        "tokens", &FactParams::tokens,
                        fact == Fact::kFlops
                            ? "tokens of the counted forward pass (default: the context length)"
                            : "tokens the measured cache holds (default: the context length)",
                        AtLeast(2))),
        fact_(fact) {}

 protected:
  void CheckModel(const FactParams& p, const ModelSpec& model) const override {
    if (p.tokens && model.tokenizer && model.context_length >= 1 &&
        *p.tokens > model.context_length) {
      throw ParamError("tokens", "tokens = " + std::to_string(*p.tokens) +
                                     " exceeds the model's context_length of " +
                                     std::to_string(model.context_length));
    }
  }
  std::shared_ptr<const Work> Needs(const FactParams& p) const override {
    return std::make_shared<FactsWork>(fact_, p.tokens);
  }
  FactStats Accumulate(const FactParams&, const FactsRecord& record,
                       const MetricInput& input) const override {
    const bool holds_row = input.rows.begin <= 0 && input.rows.end >= 1;
    return {holds_row ? record.facts : nlohmann::json()};
  }
  Measurement Finalize(const FactParams&, const FactStats& stats,
                       const FinalizeContext&) const override {
    if (stats.facts.is_null()) throw RuntimeError(spec().name + ": the model's facts are missing");
    const nlohmann::json& f = stats.facts;
    const auto n = JsonInteger<int64_t>(f.at("tokens"), "tokens");
    if (n < 2) throw InputError(spec().name + ": facts of fewer than two tokens");
    Measurement m;
    m.samples = 1;
    m.details = f;
    const std::string t = std::to_string(n);
    if (fact_ == Fact::kFlops) {
      m.value = static_cast<double>(JsonInteger<int64_t>(f.at("flops"), "flops")) /
                static_cast<double>(n);
      m.unit = "FLOP";
      m.method =
          "count: 2 x multiply-accumulates of the linear layers (float and quantized) and "
          "matrix products (attention's included) recorded in one forward pass of " +
          t + " tokens, batch 1, divided by " + t +
          "; embedding lookup, normalisation, activations and softmax not counted";
    } else {
      m.value =
          static_cast<double>(JsonInteger<int64_t>(f.at("bytes_after_step"), "bytes_after_step")) /
          static_cast<double>(n);
      m.unit = "bytes";
      m.method = "count: bytes of the model's decode cache (elements x element size) holding " + t +
                 " tokens (prefill of " + std::to_string(n - 1) + ", one step), divided by " + t;
    }
    return m;
  }

 private:
  static MetricSpec Describe(Fact fact) {
    if (fact == Fact::kFlops) {
      return DescribeMetric("flops_per_token", "FLOP", "efficiency",
                            "FLOPs of one forward pass of a causal language model over T tokens "
                            "(the context length unless params.tokens), per token",
                            /*needs_model=*/true, /*needs_labels=*/false);
    }
    return DescribeMetric("kv_cache_bytes_per_token", "bytes", "efficiency",
                          "bytes of a causal language model's decode cache holding T tokens (the "
                          "context length unless params.tokens), per token",
                          /*needs_model=*/true, /*needs_labels=*/false);
  }

  Fact fact_;
};

}  // namespace

std::unique_ptr<Metric> MakeFlopsPerToken() { return std::make_unique<FactMetric>(Fact::kFlops); }
std::unique_ptr<Metric> MakeKvCacheBytesPerToken() {
  return std::make_unique<FactMetric>(Fact::kKvCache);
}

}  // namespace greenlight::language
