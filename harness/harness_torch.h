// LibTorch-level entry points of the timing harness, for programs that hold their own query
// tensors (benchmarks/suite compares the harness with a bare loop on the very same tensors).
// Metrics use harness.h; include this only where LibTorch is already in use.
#pragma once

#include <memory>
#include <vector>

#include "harness/harness.h"
#include "models/torch_capabilities.h"

namespace greenlight::harness {

// The query tensors Run() uses: one per query of `batch` consecutive dataset rows (wrapping),
// shaped batch × the model's input shape, on the model's device; distinct rows for every query
// up to 256 MiB of inputs, after which the rotation repeats. The model must offer TensorAccess
// (RuntimeError otherwise).
std::vector<torch::Tensor> BuildQueryInputs(const Dataset& dataset, Model& model, int64_t batch);

// Run() on the given query tensors (rotated in order from the first; at least one), keyed by
// RunKey(model.info(), settings). settings.device is ignored: the tensors and model decide it.
std::shared_ptr<const RunResult> RunOnInputs(
    Model& model, const std::vector<torch::Tensor>& inputs, const RunSettings& settings,
    const std::vector<std::shared_ptr<WindowObserver>>& observers);

}  // namespace greenlight::harness
