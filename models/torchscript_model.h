// The TorchScript runtime: LibTorch's implementation of Model and of the capabilities it offers
// (tensor access, input gradients when the model is differentiable, raw inputs, graph
// introspection). Internal to models/: everything else asks Model::Capability<C>().
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>

#include "models/capabilities.h"
#include "models/model.h"
#include "models/torch_capabilities.h"

namespace greenlight {

class TorchScriptModel final : public Model,
                               public TensorAccess,
                               public InputGradients,
                               public RawInputs,
                               public GraphIntrospection,
                               public WeightInspection {
 public:
  // Throws InputError naming the file when it is missing, corrupt or not TorchScript.
  // `bytes`: the model file as already read (a twin on another device is made from the same
  // bytes, never from a re-read of a file that may have been replaced since).
  explicit TorchScriptModel(const ModelSpec& spec, std::optional<std::string> bytes = std::nullopt);

  const ModelSpec& spec() const override { return spec_; }
  const ModelInfo& info() const override { return info_; }
  std::vector<float> Forward(std::span<const float> input, int64_t batch,
                             int64_t* outputs_per_sample) override;
  void SetThreads(int threads) override;
  int threads() const override;

  // TensorAccess.
  const torch::Device& device() const override { return device_; }
  torch::Tensor MakeInput(std::span<const float> input, int64_t batch) const override;
  torch::Tensor ForwardTensor(const torch::Tensor& input) override;
  std::unique_ptr<Model> LoadOnDevice(const std::string& device) const override;

  // InputGradients (offered only when ProbeGradients() found the forward pass differentiable).
  torch::Tensor DifferentiableForward(const torch::Tensor& input) override;

  // RawInputs.
  c10::IValue ForwardRaw(const torch::Tensor& input) override;

  // GraphIntrospection.
  FlopCount CountFlops(std::span<const float> input, int64_t batch) override;
  // WeightInspection.
  WeightCounts CountWeights() override;

  torch::jit::Module& module() { return module_; }
  // The model file's bytes as read once at load: the module was deserialised from them and
  // info().sha256 is their digest, so a reload never sees a file swapped since.
  const std::string& bytes() const { return bytes_; }

 protected:
  void* FindCapability(const std::type_info& type) override;
  std::string CapabilityGap(const std::type_info& type) const override;

 private:
  // One forward and backward pass of batch 1 (every input at the middle of the declared range)
  // decides whether the model offers InputGradients; the first request runs it, once.
  void ProbeGradients();

  ModelSpec spec_;
  ModelInfo info_;
  std::string bytes_;
  torch::jit::Module module_;
  torch::Device device_;
  // Empty: not probed yet; "": differentiable; otherwise why not.
  std::optional<std::string> gradient_gap_;
};

}  // namespace greenlight
