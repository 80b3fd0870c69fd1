// The seam between greenlight and the model runtime, after MLPerf LoadGen's SystemUnderTest: a
// small interface (spec, info, batched forward, threads), so nothing outside the runtimes (and the
// tensor-level metrics) sees LibTorch. What a runtime can do beyond that (input gradients, timed
// queries on staged tensors, graph introspection, raw inputs) is a capability, asked for
// explicitly with Capability<C>() (see models/capabilities.h); runtimes are chosen by
// `model.format` from a ModelRegistry (models/model_registry.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace greenlight {

// What the model's output vector means, declared in the criteria.
enum class OutputKind { kLogits, kProbabilities, kLogProbabilities };

// How a language model's text becomes token ids (criteria `model.tokenizer`).
struct TokenizerSpec {
  std::string kind = "bytes";  // "bytes" (UTF-8 bytes, 256 ids) or "sentencepiece".
  std::filesystem::path path;  // The sentencepiece model file; empty for bytes.
  // The tokenizer file as already read (ReadTokenizerBytes), as ModelSpec::bytes for the model:
  // every process of one audit tokenizes with the bytes whose digest the report records. Null:
  // the runtime reads `path` itself, once.
  std::shared_ptr<const std::string> bytes;
};

struct ModelSpec {
  std::string format = "torchscript";  // The runtime that loads it (a ModelRegistry key).
  std::filesystem::path path;
  OutputKind output = OutputKind::kLogits;
  std::vector<int64_t> input_shape;  // Per-sample shape, e.g. {1, 28, 28}.
  double input_min = 0.0;            // Declared input range (safety auditors clip to it).
  double input_max = 1.0;
  std::string device = "cpu";  // "cpu" or "cuda" / "cuda:N".
  // The model file as already read (ReadModelBytes), shared and immutable. When set, a runtime
  // loads from these bytes and never reads `path` again, so every process that loads the model
  // during one audit (the supervised worker and its restarts) measures the bytes whose digest the
  // report records. Null: the runtime reads `path` itself, once.
  std::shared_ptr<const std::string> bytes;
  // Language models (format causal_lm): the tokenizer and the longest token sequence one forward
  // pass takes. A spec with a tokenizer is a language model's: it takes token sequences, and
  // `output` and `input_shape` do not apply.
  std::optional<TokenizerSpec> tokenizer;
  int64_t context_length = 0;
};

// The tokenizer a language model was audited with, for the report.
struct TokenizerInfo {
  std::string kind;            // "bytes" | "sentencepiece"
  std::filesystem::path path;  // Empty for bytes.
  std::string sha256;          // Of the tokenizer file; empty for bytes.
  int64_t vocab_size = 0;
};

struct ModelInfo {
  std::filesystem::path path;
  std::string sha256;
  int64_t size_bytes = 0;
  int64_t parameters = 0;  // Elements of all parameters (quantized packed weights included).
  std::string format;      // "torchscript", "causal_lm"
  std::string device;
  std::optional<TokenizerInfo> tokenizer;  // Language models only.
  int64_t context_length = 0;              // Language models only.
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelSpec& spec() const = 0;
  virtual const ModelInfo& info() const = 0;

  // Number of values per sample in the input (product of spec().input_shape).
  int64_t input_size() const;

  // Runs one forward pass without gradients. `input` holds `batch` samples, row-major, each of
  // input_size() floats. Returns batch × outputs floats, as the model produced them (see
  // OutputKind), and sets *outputs_per_sample. Throws InputError on a shape the model rejects,
  // RuntimeError when the runtime fails. Not thread-safe: one caller at a time.
  virtual std::vector<float> Forward(std::span<const float> input, int64_t batch,
                                     int64_t* outputs_per_sample) = 0;

  // Intra-op threads used by forward passes (process-wide for LibTorch).
  virtual void SetThreads(int threads) = 0;
  virtual int threads() const = 0;

  // The capability C (an interface from models/capabilities.h or models/torch_capabilities.h) if
  // this runtime offers it for this model, else null. The pointer is owned by the model and lives
  // as long as it. Callers handle null: a metric whose capability is missing reports why
  // (MissingCapability) instead of failing the audit.
  template <typename C>
  C* Capability() {
    return static_cast<C*>(FindCapability(typeid(C)));
  }

  // The reason a metric gets when Capability<C>() is null, e.g. "model runtime 'torchscript'
  // offers no input gradients for fashion_cnn_int8.pt (<the runtime's explanation>)".
  template <typename C>
  std::string MissingCapability() const {
    return DescribeMissingCapability(C::kName, typeid(C));
  }

 protected:
  // Runtimes return a pointer to their implementation of the capability interface `type`
  // (static_cast to that interface type, then to void*), or null when they do not offer it.
  virtual void* FindCapability(const std::type_info& type);
  // Why the capability `type` is missing for this model (empty: no more than its absence).
  virtual std::string CapabilityGap(const std::type_info& type) const;

 private:
  std::string DescribeMissingCapability(std::string_view name, const std::type_info& type) const;
};

// Capability<C>() or, when the runtime does not offer C, a RuntimeError carrying
// MissingCapability<C>(): for metrics that cannot be measured without it (the engine records the
// criterion as ERROR with that reason and the other criteria still run).
[[noreturn]] void ThrowMissingCapability(const std::string& reason);
template <typename C>
C& RequireCapability(Model& model) {
  if (C* c = model.Capability<C>()) return *c;
  ThrowMissingCapability(model.MissingCapability<C>());
}

// Reads the model file `spec.path` once (a regular file of at most kMaxModelBytes), for
// ModelSpec::bytes. Throws InputError "<path>: model file not found" or ReadFile's errors.
std::shared_ptr<const std::string> ReadModelBytes(const ModelSpec& spec);

// The tokenizer of a language model's ModelInfo as JSON ({kind, path, sha256, vocab_size}; path
// and sha256 empty for bytes) and back, for the worker's answers, partials and reports.
nlohmann::json TokenizerInfoToJson(const TokenizerInfo& info);
// Throws nlohmann::json exceptions on a missing or mistyped field.
TokenizerInfo TokenizerInfoFromJson(const nlohmann::json& j);

// Reads the tokenizer file `spec.path` once, for TokenizerSpec::bytes. Throws InputError
// "<path>: tokenizer file not found" or ReadFile's errors.
std::shared_ptr<const std::string> ReadTokenizerBytes(const TokenizerSpec& spec);

// Loads a TorchScript file (torch.jit.script / torch.jit.trace, int8 dynamic-quantized included).
// Throws InputError naming the file when it is missing, corrupt or not TorchScript.
std::unique_ptr<Model> LoadTorchScriptModel(const ModelSpec& spec);

// Converts one sample's raw outputs to class probabilities (softmax / exp / as is).
std::vector<double> ToProbabilities(std::span<const float> outputs, OutputKind kind);

// Converts a batch of raw outputs (batch × outputs floats) to class probabilities (batch × classes
// doubles). A single output is a binary classifier's class-1 logit / log-probability /
// probability, and becomes two classes [1 - p, p]; *classes receives the class count.
std::vector<double> OutputsToProbabilities(std::span<const float> raw, int64_t batch,
                                           int64_t outputs, OutputKind kind, int64_t* classes);

// Whether the model runtime's own log messages reach standard error. LibTorch warns through its
// warning handler on every call of some kernels (qnnpack's dynamic-quantized linear layers warn
// on each forward pass: hundreds of thousands of lines in an int8 audit), which would bury
// greenlight's own output; by default they are dropped. Process-wide; a worker forked afterwards
// inherits the setting. Default: false (quiet).
void SetRuntimeLogVerbose(bool verbose);
bool RuntimeLogVerbose();

// The LibTorch version the library was built against ("1.13.1").
std::string TorchVersion();

}  // namespace greenlight
