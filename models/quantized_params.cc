#include "models/quantized_params.h"

#include <ATen/core/class_type.h>
#include <ATen/native/quantized/PackedParams.h>

#include <string>
#include <tuple>

namespace greenlight {

std::vector<at::Tensor> UnpackQuantizedConv(const c10::IValue& value) {
  if (!value.isObject()) return {};
  const auto& name = value.toObjectRef().type()->name();
  if (!name) return {};
  const std::string qualified = name->qualifiedName();
  std::tuple<at::Tensor, c10::optional<at::Tensor>> weight_bias;
  if (qualified == "__torch__.torch.classes.quantized.Conv2dPackedParamsBase") {
    // Quantized 1-d convolutions are packed as 2-d ones with a kernel height of 1.
    weight_bias = value.toCustomClass<ConvPackedParamsBase<2>>()->unpack();
  } else if (qualified == "__torch__.torch.classes.quantized.Conv3dPackedParamsBase") {
    weight_bias = value.toCustomClass<ConvPackedParamsBase<3>>()->unpack();
  } else {
    return {};
  }
  std::vector<at::Tensor> out{std::get<0>(weight_bias)};
  if (std::get<1>(weight_bias)) out.push_back(*std::get<1>(weight_bias));
  return out;
}

}  // namespace greenlight
