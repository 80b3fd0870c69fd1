// Floating-point operation count of one forward pass, from the TorchScript graph with the shapes
// of one real run. Include only where LibTorch is already in use (it takes a TorchScriptModel).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/torchscript_model.h"

namespace greenlight::efficiency {

// One counted operator call.
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
  // Node kinds of the inlined forward graph (aten::/quantized:: only) and their counts: shows
  // which operators the model has, counted or not.
  std::map<std::string, int64_t> graph_ops;
  nlohmann::json ToJson() const;
};

// Operator names whose multiply-accumulates are counted (outermost call only, so that
// aten::linear is not counted again through the aten::addmm it calls).
const std::vector<std::string>& CountedOperatorNames();

// Runs one forward pass of `input` (a batch on the model's device) with a thread-local
// RecordFunction observer and counts 2 × multiply-accumulates of convolutions, linear layers
// (float and quantized) and matrix products. Bias additions, activations, pooling,
// normalisation and softmax are not counted.
FlopCount CountFlops(TorchScriptModel& model, const torch::Tensor& input);

}  // namespace greenlight::efficiency
