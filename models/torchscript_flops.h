// FLOP counting for TorchScript models (the TorchScript runtime's GraphIntrospection): the
// operator kinds of the inlined forward graph, and 2 × multiply-accumulates recorded in one real
// forward pass. Internal to models/.
#pragma once

#include <string>
#include <vector>

#include "models/capabilities.h"
#include "models/torchscript_model.h"

namespace greenlight {

// Operator names whose multiply-accumulates are counted (outermost call only, so that
// aten::linear is not counted again through the aten::addmm it calls).
const std::vector<std::string>& CountedOperatorNames();

// Runs one forward pass of `input` (a batch on the model's device) with a thread-local
// RecordFunction observer and counts 2 × multiply-accumulates of convolutions, linear layers
// (float and quantized) and matrix products. Bias additions, activations, pooling,
// normalisation and softmax are not counted. graph_ops lists the aten::/quantized:: node kinds
// of the inlined forward graph.
FlopCount CountTorchScriptFlops(TorchScriptModel& model, const torch::Tensor& input);

}  // namespace greenlight
