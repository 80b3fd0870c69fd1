// Capabilities a model runtime may offer beyond the Model interface, free of runtime types (see
// Model::Capability<C>()). Capabilities that hand tensors to tensor-level metrics live in
// models/torch_capabilities.h, which only targets that link LibTorch include.
//
// Each capability is an interface with a kName that reads in a sentence ("offers no <kName>").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace greenlight
