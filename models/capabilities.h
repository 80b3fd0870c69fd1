// Capabilities a model runtime may offer beyond the Model interface, free of runtime types (see
// Model::Capability<C>()). Capabilities that hand tensors to tensor-level metrics live in
// models/torch_capabilities.h, which only targets that link LibTorch include.
//
// Each capability is an interface with a kName that reads in a sentence ("offers no <kName>").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizer.h"

namespace greenlight {

// One counted operator call of a FLOP count.
struct CountedOp {
  std::string name;                          // "aten::conv2d", "quantized::linear_dynamic", ...
  std::vector<std::vector<int64_t>> inputs;  // Tensor input shapes (empty for non-tensors).
  std::vector<int64_t> output;               // First output's shape.
  int64_t reduction = 0;                     // Multiply-accumulates per output element.
  int64_t macs = 0;
};

struct FlopCount {
  int64_t batch = 0;
  int64_t macs = 0;   // Whole batch.
  int64_t flops = 0;  // 2 × macs, whole batch.
  std::vector<CountedOp> ops;
  // Operator kinds of the model's graph and their counts: shows which operators the model has,
  // counted or not.
  std::map<std::string, int64_t> graph_ops;
  nlohmann::json ToJson() const;
};

// Introspection of the model's computation graph.
class GraphIntrospection {
 public:
  static constexpr std::string_view kName = "graph introspection";
  virtual ~GraphIntrospection() = default;

  // Runs one forward pass of `batch` samples (`input`: batch × input_size() floats) and counts
  // 2 × multiply-accumulates of convolutions, linear layers (float and quantized) and matrix
  // products, with the shapes of that real run. Bias additions, activations, pooling,
  // normalisation and softmax are not counted. Throws RuntimeError when the graph is unreadable.
  virtual FlopCount CountFlops(std::span<const float> input, int64_t batch) = 0;
};

// The model's weights, counted: what pruning changes (a pruned model keeps its shapes, so its
// parameter count does not move, but its zeros do).
struct WeightCounts {
  // Elements of every parameter tensor and of every packed quantized weight and bias: the same
  // elements ModelInfo::parameters counts.
  int64_t elements = 0;
  // Those exactly zero (a quantized weight: whose dequantized value is zero).
  int64_t zeros = 0;
  int64_t tensors = 0;
};

class WeightInspection {
 public:
  static constexpr std::string_view kName = "weight inspection";
  virtual ~WeightInspection() = default;
  // Reads the weights (no forward pass). Throws RuntimeError when they cannot be read.
  virtual WeightCounts CountWeights() = 0;
};

// The model's key-value cache between incremental calls: its layout is the model's own business
// (greenlight only hands it back to the model's next step), except its size. Owned by the caller.
class DecodeCache {
 public:
  virtual ~DecodeCache() = default;
  // Bytes of the cache's storage as the runtime holds it (a tensor: elements × element size).
  virtual int64_t bytes() const = 0;
};

// What one incremental call returns: batch × tokens × vocab_size() logits and the cache to pass
// to the next step.
struct DecodeStep {
  std::vector<float> logits;
  std::unique_ptr<DecodeCache> cache;
};

// A causal language model (docs/language-models.md): token ids in, next-token logits out, with
// the tokenizer it was trained with. Token ids are int64 in 0..vocab_size()-1, row-major
// batch × length; logits are float32, row-major batch × length × vocab_size(), where logits at
// position t score the token at position t + 1 given tokens 0..t.
class CausalLanguageModel {
 public:
  static constexpr std::string_view kName = "causal language modelling";
  virtual ~CausalLanguageModel() = default;

  // The model's output width V; at least the tokenizer's vocabulary.
  virtual int64_t vocab_size() const = 0;
  // The longest sequence one call takes (criteria model.context_length).
  virtual int64_t context_length() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;

  // One forward pass without gradients over `batch` sequences of `length` tokens
  // (1 <= length <= context_length()). Throws InputError on ids outside the vocabulary or a
  // length beyond the context, RuntimeError when the model fails or returns another shape.
  virtual std::vector<float> Logits(std::span<const int64_t> tokens, int64_t batch,
                                    int64_t length) = 0;

  // Whether the model exports the incremental methods prefill and step.
  virtual bool incremental() const = 0;
  // The incremental methods, when incremental(): Prefill takes batch × length tokens and returns
  // their logits and the cache; Step takes one token per sequence (batch ids) and the cache of
  // the previous call, and returns batch × 1 logits and the next cache. Throw RuntimeError when
  // the model is not incremental or fails.
  virtual DecodeStep Prefill(std::span<const int64_t> tokens, int64_t batch, int64_t length) = 0;
  virtual DecodeStep Step(std::span<const int64_t> tokens, int64_t batch,
                          const DecodeCache& cache) = 0;

  // One forward pass over batch × length tokens (as Logits) with its operators counted as
  // GraphIntrospection::CountFlops counts them: 2 × multiply-accumulates of linear layers (float
  // and quantized) and matrix products (attention's included), with the shapes of that run; the
  // embedding lookup, normalisation, activations and softmax are not counted. Throws like Logits,
  // and RuntimeError when the graph is unreadable.
  virtual FlopCount CountFlops(std::span<const int64_t> tokens, int64_t batch, int64_t length) = 0;
};

}  // namespace greenlight
