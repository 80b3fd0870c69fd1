// The causal_lm runtime: a TorchScript causal language model (docs/language-models.md has the
// contract) with its tokenizer. Internal to models/: everything else asks
// Model::Capability<CausalLanguageModel>().
#pragma once

#include <memory>
#include <string>

#include "models/capabilities.h"
#include "models/model.h"
#include "models/tokenizer.h"
#include "models/torchscript_model.h"

namespace greenlight {

class CausalLmModel final : public Model, public CausalLanguageModel, public WeightInspection {
 public:
  // Loads the module (from spec.bytes when set) and the tokenizer, and runs one token through
  // forward to learn the vocabulary width V. Throws InputError naming the file when the module is
  // not loadable, lacks forward, exports only one of prefill and step, returns logits of another
  // shape than [B, T, V], or has fewer outputs than the tokenizer has tokens.
  explicit CausalLmModel(const ModelSpec& spec);

  const ModelSpec& spec() const override { return spec_; }
  const ModelInfo& info() const override { return info_; }
  // A language model takes token sequences, not rows of floats: always throws RuntimeError, so a
  // classifier metric asked of it ends in ERROR with that reason.
  std::vector<float> Forward(std::span<const float> input, int64_t batch,
                             int64_t* outputs_per_sample) override;
  void SetThreads(int threads) override { module_->SetThreads(threads); }
  int threads() const override { return module_->threads(); }

  // CausalLanguageModel.
  int64_t vocab_size() const override { return vocab_size_; }
  int64_t context_length() const override { return spec_.context_length; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  std::vector<float> Logits(std::span<const int64_t> tokens, int64_t batch,
                            int64_t length) override;
  bool incremental() const override { return incremental_; }
  DecodeStep Prefill(std::span<const int64_t> tokens, int64_t batch, int64_t length) override;
  DecodeStep Step(std::span<const int64_t> tokens, int64_t batch,
                  const DecodeCache& cache) override;
  FlopCount CountFlops(std::span<const int64_t> tokens, int64_t batch, int64_t length) override;

  // WeightInspection (the module's, as for a classifier).
  WeightCounts CountWeights() override { return module_->CountWeights(); }

 protected:
  void* FindCapability(const std::type_info& type) override;
  std::string CapabilityGap(const std::type_info& type) const override;

 private:
  // `tokens` (batch × length ids) as an int64 tensor; checks ids and length.
  torch::Tensor Tokens(std::span<const int64_t> tokens, int64_t batch, int64_t length) const;
  // The logits tensor as host floats, after checking its shape is [batch, length, V].
  std::vector<float> HostLogits(const torch::Tensor& logits, int64_t batch, int64_t length,
                                const char* method) const;

  ModelSpec spec_;
  ModelInfo info_;
  std::unique_ptr<TorchScriptModel> module_;
  std::unique_ptr<Tokenizer> tokenizer_;
  int64_t vocab_size_ = 0;
  bool incremental_ = false;
};

// Loads a causal language model (ModelRegistry loader for format "causal_lm").
std::unique_ptr<Model> LoadCausalLmModel(const ModelSpec& spec);

}  // namespace greenlight
