// Capabilities of LibTorch runtimes that hand tensors to tensor-level code (the timing harness,
// adversarial attacks, invalid-input probes). Include only from targets that link LibTorch
// (greenlight::torch); everything else uses models/model.h and models/capabilities.h.
#pragma once

#include <torch/script.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "models/model.h"

namespace greenlight {

// Tensor-level access to the forward pass, without host copies: what a timed query runner needs
// to stage its queries on the device once and time only the forward passes.
class TensorAccess {
 public:
  static constexpr std::string_view kName = "tensor-level access";
  virtual ~TensorAccess() = default;

  // The device the model runs on; inputs must be there.
  virtual const torch::Device& device() const = 0;
  // Wraps host floats (batch × input_size()) as a batch × input_shape float tensor on device()
  // (no copy on CPU: the tensor aliases `input`, which must outlive it). Throws InputError on a
  // size mismatch.
  virtual torch::Tensor MakeInput(std::span<const float> input, int64_t batch) const = 0;
  // Forward on a ready batch × input_shape tensor on device(); no copies. Gradients follow the
  // caller's grad mode. Throws InputError when the model rejects the input.
  virtual torch::Tensor ForwardTensor(const torch::Tensor& input) = 0;
  // The same model loaded again on another device ("cpu", "cuda", "cuda:N"). Throws InputError
  // when that device is unknown or unavailable.
  virtual std::unique_ptr<Model> LoadOnDevice(const std::string& device) const = 0;
};

// Gradients of the outputs with respect to the input (FGSM, PGD, minimal FGSM). Offered only when
// the forward pass is differentiable w.r.t. its input (an int8 dynamic-quantized model is not).
class InputGradients {
 public:
  static constexpr std::string_view kName = "input gradients";
  virtual ~InputGradients() = default;

  // Forward with autograd enabled: `input` (batch × input_shape on the model's device, with
  // requires_grad set by the caller) stays connected to the returned output, so
  // torch::autograd::grad(f(output), input) works. Throws InputError when the model rejects it.
  virtual torch::Tensor DifferentiableForward(const torch::Tensor& input) = 0;
};

// Raw inputs: the model is called with any tensor (wrong dtype, wrong shape, NaN) without the
// checks Forward makes, so probes can record how it reacts.
class RawInputs {
 public:
  static constexpr std::string_view kName = "raw tensor inputs";
  virtual ~RawInputs() = default;

  // Calls the model's forward on `input` as given (on the CPU) and returns what it returned;
  // whatever the model throws (c10::Error, std::runtime_error) propagates unchanged. Safe to call
  // in a forked child only for a model on the CPU.
  virtual c10::IValue ForwardRaw(const torch::Tensor& input) = 0;
};

}  // namespace greenlight
