// LibTorch implementation of Model. Include only where tensors or autograd are needed
// (models/, auditors/safety, benchmarks/); everything else uses models/model.h.
#pragma once

#include <torch/script.h>

#include <string>

#include "models/model.h"

namespace greenlight {

class TorchScriptModel final : public Model {
 public:
  // Throws InputError naming the file when it is missing, corrupt or not TorchScript.
  explicit TorchScriptModel(const ModelSpec& spec);

  const ModelSpec& spec() const override { return spec_; }
  const ModelInfo& info() const override { return info_; }
  std::vector<float> Forward(std::span<const float> input, int64_t batch,
                             int64_t* outputs_per_sample) override;
  void SetThreads(int threads) override;
  int threads() const override;

  // Forward on a ready tensor (batch × input_shape, on device()), no copies: used by the timing
  // harness and by auditors that need autograd (which enable gradients themselves).
  torch::Tensor ForwardTensor(const torch::Tensor& input);
  // Wraps host floats as a tensor of shape batch × input_shape on device() (copies only to GPU).
  torch::Tensor MakeInput(std::span<const float> input, int64_t batch) const;

  torch::jit::Module& module() { return module_; }
  // The model file's bytes as read once at load: the module was deserialised from them and
  // info().sha256 is their digest, so a reload never sees a file swapped since.
  const std::string& bytes() const { return bytes_; }
  const torch::Device& device() const { return device_; }

 private:
  ModelSpec spec_;
  ModelInfo info_;
  std::string bytes_;
  torch::jit::Module module_;
  torch::Device device_;
};

}  // namespace greenlight
