#include "models/causal_lm_model.h"

#include <sstream>

#include "core/digest.h"
#include "core/error.h"
#include "models/torch_messages.h"
#include "models/torchscript_flops.h"

namespace greenlight {
namespace {

// The cache between incremental calls: the model's own tensor, handed back unchanged.
struct TorchDecodeCache final : DecodeCache {
  explicit TorchDecodeCache(torch::Tensor t) : tensor(std::move(t)) {}
  int64_t bytes() const override {
    return tensor.numel() * static_cast<int64_t>(tensor.element_size());
  }
  torch::Tensor tensor;
};

}  // namespace

CausalLmModel::CausalLmModel(const ModelSpec& spec) : spec_(spec) {
  const std::string file = spec.path.string();
  if (!spec.tokenizer) throw InputError(file + ": a causal_lm model needs a tokenizer");
  if (spec.context_length < 2) {
    throw InputError(file + ": a causal_lm model needs a context_length of at least 2");
  }
  ModelSpec module_spec = spec;
  module_spec.input_shape.clear();
  module_ = std::make_unique<TorchScriptModel>(module_spec);
  spec_.bytes.reset();  // Held once, by the module.

  TokenizerSpec tokenizer_spec = *spec.tokenizer;
  TokenizerInfo tokenizer_info;
  tokenizer_info.kind = tokenizer_spec.kind;
  if (tokenizer_spec.kind != "bytes") {
    if (!tokenizer_spec.bytes) tokenizer_spec.bytes = ReadTokenizerBytes(tokenizer_spec);
    tokenizer_info.path = tokenizer_spec.path;
    tokenizer_info.sha256 = Sha256Hex(*tokenizer_spec.bytes);
  }
  tokenizer_ = LoadTokenizer(tokenizer_spec);
  tokenizer_info.vocab_size = tokenizer_->vocab_size();
  spec_.tokenizer->bytes.reset();

  torch::jit::Module& module = module_->module();
  const bool has_prefill = module.find_method("prefill").has_value();
  const bool has_step = module.find_method("step").has_value();
  if (has_prefill != has_step) {
    throw InputError(file + ": the model exports " + (has_prefill ? "prefill" : "step") +
                     " but not " + (has_prefill ? "step" : "prefill") +
                     "; the incremental methods come both or neither");
  }
  incremental_ = has_prefill;

  // One token through forward: the output width is the vocabulary the model scores.
  torch::Tensor logits;
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor one = torch::zeros({1, 1}, torch::kInt64).to(module_->device());
    const c10::IValue out = module.forward({one});
    if (!out.isTensor()) {
      throw InputError(file + ": forward must return a logits tensor [B, T, V], got " +
                       out.tagKind());
    }
    logits = out.toTensor();
  } catch (const c10::Error& e) {
    throw InputError(file +
                     ": forward(tokens int64 [1, 1]) failed: " + Cause(e.what_without_backtrace()));
  } catch (const InputError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw InputError(file + ": forward(tokens int64 [1, 1]) failed: " + Cause(e.what()));
  }
  if (logits.dim() != 3 || logits.size(0) != 1 || logits.size(1) != 1 ||
      !logits.is_floating_point()) {
    throw InputError(file +
                     ": forward(tokens int64 [1, 1]) must return float logits [1, 1, V], got " +
                     ShapeString(logits.sizes()));
  }
  vocab_size_ = logits.size(2);
  if (tokenizer_->vocab_size() > vocab_size_) {
    const std::string tokenizer_name = tokenizer_spec.kind == "bytes"
                                           ? std::string("the bytes tokenizer")
                                           : tokenizer_spec.path.string();
    throw InputError(tokenizer_name + ": the tokenizer has " +
                     std::to_string(tokenizer_->vocab_size()) + " tokens but " + file +
                     " scores only V = " + std::to_string(vocab_size_));
  }

  info_ = module_->info();
  info_.format = spec.format;
  info_.tokenizer = tokenizer_info;
  info_.context_length = spec.context_length;
}

std::vector<float> CausalLmModel::Forward(std::span<const float> /*input*/, int64_t /*batch*/,
                                          int64_t* /*outputs_per_sample*/) {
  throw RuntimeError(spec_.path.filename().string() + " is a causal language model (format " +
                     spec_.format +
                     "): it takes token sequences, not rows of floats, so classifier metrics "
                     "cannot measure it");
}

torch::Tensor CausalLmModel::Tokens(std::span<const int64_t> tokens, int64_t batch,
                                    int64_t length) const {
  if (batch < 1 || length < 1 || static_cast<int64_t>(tokens.size()) != batch * length) {
    throw InputError(spec_.path.string() + ": " + std::to_string(tokens.size()) +
                     " token ids do not make a batch of " + std::to_string(batch) + " × " +
                     std::to_string(length));
  }
  if (length > spec_.context_length) {
    throw InputError(spec_.path.string() + ": a sequence of " + std::to_string(length) +
                     " tokens exceeds the context_length of " +
                     std::to_string(spec_.context_length));
  }
  for (int64_t id : tokens) {
    if (id < 0 || id >= vocab_size_) {
      throw InputError(spec_.path.string() + ": token id " + std::to_string(id) +
                       " is outside the vocabulary 0.." + std::to_string(vocab_size_ - 1));
    }
  }
  // from_blob does not copy; forward passes do not write their inputs.
  torch::Tensor t =
      torch::from_blob(const_cast<int64_t*>(tokens.data()), {batch, length}, torch::kInt64);
  return module_->device().is_cpu() ? t : t.to(module_->device());
}

std::vector<float> CausalLmModel::HostLogits(const torch::Tensor& logits, int64_t batch,
                                             int64_t length, const char* method) const {
  if (logits.dim() != 3 || logits.size(0) != batch || logits.size(1) != length ||
      logits.size(2) != vocab_size_) {
    throw RuntimeError(spec_.path.string() + ": " + method + " returned logits of shape " +
                       ShapeString(logits.sizes()) + ", expected [" + std::to_string(batch) + ", " +
                       std::to_string(length) + ", " + std::to_string(vocab_size_) + "]");
  }
  const torch::Tensor host = logits.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
}

std::vector<float> CausalLmModel::Logits(std::span<const int64_t> tokens, int64_t batch,
                                         int64_t length) {
  const torch::Tensor input = Tokens(tokens, batch, length);
  try {
    torch::NoGradGuard no_grad;
    return HostLogits(module_->module().forward({input}).toTensor(), batch, length, "forward");
  } catch (const c10::Error& e) {
    throw RuntimeError(spec_.path.string() +
                       ": forward failed: " + Cause(e.what_without_backtrace()));
  }
}

DecodeStep CausalLmModel::Prefill(std::span<const int64_t> tokens, int64_t batch, int64_t length) {
  if (!incremental_) ThrowMissingCapability(spec_.path.string() + ": the model exports no prefill");
  const torch::Tensor input = Tokens(tokens, batch, length);
  try {
    torch::NoGradGuard no_grad;
    const auto out = module_->module().run_method("prefill", input).toTuple();
    DecodeStep step;
    step.logits = HostLogits(out->elements().at(0).toTensor(), batch, length, "prefill");
    step.cache = std::make_unique<TorchDecodeCache>(out->elements().at(1).toTensor());
    return step;
  } catch (const c10::Error& e) {
    throw RuntimeError(spec_.path.string() +
                       ": prefill failed: " + Cause(e.what_without_backtrace()));
  }
}

DecodeStep CausalLmModel::Step(std::span<const int64_t> tokens, int64_t batch,
                               const DecodeCache& cache) {
  if (!incremental_) ThrowMissingCapability(spec_.path.string() + ": the model exports no step");
  const auto* torch_cache = dynamic_cast<const TorchDecodeCache*>(&cache);
  if (torch_cache == nullptr) {
    throw RuntimeError(spec_.path.string() + ": step given a cache this model did not make");
  }
  const torch::Tensor input = Tokens(tokens, batch, 1);
  try {
    torch::NoGradGuard no_grad;
    const auto out = module_->module().run_method("step", input, torch_cache->tensor).toTuple();
    DecodeStep step;
    step.logits = HostLogits(out->elements().at(0).toTensor(), batch, 1, "step");
    step.cache = std::make_unique<TorchDecodeCache>(out->elements().at(1).toTensor());
    return step;
  } catch (const c10::Error& e) {
    throw RuntimeError(spec_.path.string() + ": step failed: " + Cause(e.what_without_backtrace()));
  }
}

FlopCount CausalLmModel::CountFlops(std::span<const int64_t> tokens, int64_t batch,
                                    int64_t length) {
  return CountTorchScriptFlops(*module_, Tokens(tokens, batch, length));
}

void* CausalLmModel::FindCapability(const std::type_info& type) {
  if (type == typeid(CausalLanguageModel)) return static_cast<CausalLanguageModel*>(this);
  if (type == typeid(WeightInspection)) return static_cast<WeightInspection*>(this);
  return nullptr;
}

std::string CausalLmModel::CapabilityGap(const std::type_info& /*type*/) const {
  return "a causal language model takes token sequences; only language-model metrics and weight "
         "counts apply";
}

std::unique_ptr<Model> LoadCausalLmModel(const ModelSpec& spec) {
  return std::make_unique<CausalLmModel>(spec);
}

}  // namespace greenlight
