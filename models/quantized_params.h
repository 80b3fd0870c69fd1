// Weights that a quantized TorchScript operator receives packed. Internal to the TorchScript
// runtime (includes LibTorch).
#pragma once

#include <ATen/core/ivalue.h>

#include <vector>

namespace greenlight {

// The weight (and the bias, when there is one) that a statically quantized convolution keeps
// packed in a TorchScript custom-class object (torch.classes.quantized.Conv2dPackedParamsBase or
// Conv3dPackedParamsBase), unpacked: the weight keeps the float layer's shape [out, in / groups,
// kernel...]. Empty when `value` is no such object. Throws c10::Error when unpacking fails.
// (Weight counts need no unpacking here: a scripted quantized convolution module exports
// _weight_bias(), as the linear layers' packed parameters do.)
std::vector<at::Tensor> UnpackQuantizedConv(const c10::IValue& value);

}  // namespace greenlight
