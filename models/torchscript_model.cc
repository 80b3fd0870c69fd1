#include "models/torchscript_model.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <atomic>
#include <filesystem>
#include <sstream>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "models/torch_messages.h"
#include "models/torchscript_flops.h"

namespace greenlight {
namespace {

std::atomic<bool> runtime_log_verbose{false};

// Routes LibTorch's warnings (TORCH_WARN): to LibTorch's own handler (glog on stderr) when the
// runtime's log is verbose, dropped otherwise.
class RoutedWarnings final : public c10::WarningHandler {
 public:
  explicit RoutedWarnings(c10::WarningHandler* original) : original_(original) {}
  void process(const c10::SourceLocation& where, const std::string& message,
               const bool verbatim) override {
    if (runtime_log_verbose.load(std::memory_order_relaxed)) {
      original_->process(where, message, verbatim);
    }
  }

 private:
  c10::WarningHandler* original_;
};

// Installed once, before the first model loads (LibTorch keeps a pointer: never destroyed).
void RouteRuntimeWarnings() {
  static RoutedWarnings* const routed = [] {
    auto* handler = new RoutedWarnings(c10::Warning::get_warning_handler());
    c10::Warning::set_warning_handler(handler);
    return handler;
  }();
  (void)routed;
}

void SelectQuantizedEngine() {
  // Debian's LibTorch ships QNNPACK (not FBGEMM); dynamic-quantized models exported with
  // engine qnnpack must run with it.
  const auto& engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::QEngine::QNNPACK) != engines.end()) {
    at::globalContext().setQEngine(at::QEngine::QNNPACK);
  }
}

int64_t CountParameters(torch::jit::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  // Dynamic-quantized Linear keeps its weights in packed params, not parameters; their
  // LinearPackedParams module exposes _weight_bias() to unpack them.
  for (const auto& sub : module.modules()) {
    if (auto method = sub.find_method("_weight_bias")) {
      auto wb = (*method)(std::vector<c10::IValue>{}).toTuple();
      for (const auto& e : wb->elements()) {
        if (e.isTensor()) n += e.toTensor().numel();
      }
    }
  }
  return n;
}

}  // namespace

TorchScriptModel::TorchScriptModel(const ModelSpec& spec, std::optional<std::string> bytes)
    : spec_(spec), device_(torch::kCPU) {
  const std::string file = spec.path.string();
  // Read once: the module is deserialised from the same bytes whose digest the report records.
  if (bytes) {
    bytes_ = std::move(*bytes);
  } else if (spec.bytes) {
    bytes_ = *spec.bytes;
  } else {
    bytes_ = *ReadModelBytes(spec);
  }
  spec_.bytes.reset();  // Held once, in bytes_.
  try {
    device_ = torch::Device(spec.device);
  } catch (const c10::Error& e) {
    throw InputError(file + ": unknown device '" + spec.device + "'");
  }
  if (device_.is_cuda() && !torch::cuda::is_available()) {
    throw InputError(file + ": device '" + spec.device + "' requested but CUDA is not available");
  }
  RouteRuntimeWarnings();
  SelectQuantizedEngine();
  try {
    std::istringstream in(bytes_);
    module_ = torch::jit::load(in, device_);
  } catch (const c10::Error& e) {
    throw InputError(
        file + ": not a loadable TorchScript model: " + FirstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw InputError(file + ": not a loadable TorchScript model: " + FirstLine(e.what()));
  }
  module_.eval();
  info_.path = spec.path;
  info_.sha256 = Sha256Hex(bytes_);
  info_.size_bytes = static_cast<int64_t>(bytes_.size());
  info_.format = "torchscript";
  info_.device = device_.str();
  try {
    info_.parameters = CountParameters(module_);
  } catch (const c10::Error& e) {
    throw InputError(file + ": cannot count parameters: " + FirstLine(e.what_without_backtrace()));
  }
}

torch::Tensor TorchScriptModel::MakeInput(std::span<const float> input, int64_t batch) const {
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), spec_.input_shape.begin(), spec_.input_shape.end());
  if (static_cast<int64_t>(input.size()) != batch * input_size()) {
    throw InputError(spec_.path.string() + ": input has " + std::to_string(input.size()) +
                     " values, expected " + std::to_string(batch * input_size()) + " for shape " +
                     ShapeString(shape));
  }
  // from_blob does not copy; the const_cast is safe because forward passes do not write inputs.
  auto t = torch::from_blob(const_cast<float*>(input.data()), shape, torch::kFloat32);
  return device_.is_cpu() ? t : t.to(device_);
}

torch::Tensor TorchScriptModel::ForwardTensor(const torch::Tensor& input) {
  auto fail = [&](const std::string& why) {
    return InputError(spec_.path.string() + ": forward pass failed for input shape " +
                      ShapeString(input.sizes()) + " (declared input.shape " +
                      ShapeString(spec_.input_shape) + "): " + Cause(why));
  };
  try {
    return module_.forward({input}).toTensor();
  } catch (const c10::Error& e) {
    throw fail(e.what_without_backtrace());
  } catch (const std::runtime_error& e) {  // torch::jit interpreter errors
    throw fail(e.what());
  }
}

std::vector<float> TorchScriptModel::Forward(std::span<const float> input, int64_t batch,
                                             int64_t* outputs_per_sample) {
  torch::NoGradGuard no_grad;
  torch::Tensor out = ForwardTensor(MakeInput(input, batch));
  if (out.dim() == 1 && batch == 1) out = out.unsqueeze(0);
  if (out.dim() != 2 || out.size(0) != batch) {
    throw InputError(spec_.path.string() + ": expected output of shape [" + std::to_string(batch) +
                     ", classes], got " + ShapeString(out.sizes()));
  }
  out = out.to(torch::kCPU, torch::kFloat32).contiguous();
  *outputs_per_sample = out.size(1);
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::unique_ptr<Model> TorchScriptModel::LoadOnDevice(const std::string& device) const {
  ModelSpec spec = spec_;
  spec.device = device;
  return std::make_unique<TorchScriptModel>(spec, bytes_);
}

torch::Tensor TorchScriptModel::DifferentiableForward(const torch::Tensor& input) {
  torch::AutoGradMode enable_grad(true);
  return ForwardTensor(input);
}

c10::IValue TorchScriptModel::ForwardRaw(const torch::Tensor& input) {
  return module_.forward({input});
}

WeightCounts TorchScriptModel::CountWeights() {
  WeightCounts out;
  auto add = [&out](const at::Tensor& t) {
    const at::Tensor values = t.is_quantized() ? t.dequantize() : t;
    out.elements += values.numel();
    out.zeros += (values == 0).sum().item<int64_t>();
    ++out.tensors;
  };
  try {
    torch::NoGradGuard no_grad;
    // The elements CountParameters counts: parameters, then packed quantized weights and biases.
    for (const auto& p : module_.parameters(/*recurse=*/true)) add(p);
    for (const auto& sub : module_.modules()) {
      if (auto method = sub.find_method("_weight_bias")) {
        auto wb = (*method)(std::vector<c10::IValue>{}).toTuple();
        for (const auto& e : wb->elements()) {
          if (e.isTensor()) add(e.toTensor());
        }
      }
    }
  } catch (const c10::Error& e) {
    throw RuntimeError(spec_.path.string() +
                       ": cannot read the weights: " + FirstLine(e.what_without_backtrace()));
  }
  return out;
}

FlopCount TorchScriptModel::CountFlops(std::span<const float> input, int64_t batch) {
  return CountTorchScriptFlops(*this, MakeInput(input, batch).clone());
}

void TorchScriptModel::ProbeGradients() {
  if (gradient_gap_) return;
  std::vector<int64_t> shape{1};
  shape.insert(shape.end(), spec_.input_shape.begin(), spec_.input_shape.end());
  const double middle = 0.5 * (spec_.input_min + spec_.input_max);
  try {
    torch::AutoGradMode enable_grad(true);
    const torch::Tensor x =
        torch::full(shape, middle, torch::TensorOptions().dtype(torch::kFloat32).device(device_))
            .set_requires_grad(true);
    const torch::Tensor y = module_.forward({x}).toTensor();
    if (!y.requires_grad()) {
      gradient_gap_ = "its output is not differentiable with respect to its input";
      return;
    }
    const auto grads = torch::autograd::grad({y.to(torch::kFloat32).sum()}, {x}, {},
                                             /*retain_graph=*/false, /*create_graph=*/false,
                                             /*allow_unused=*/true);
    gradient_gap_ =
        grads.empty() || !grads[0].defined()
            ? "its output does not depend on its input through differentiable operations"
            : "";
  } catch (const c10::Error& e) {
    gradient_gap_ = "backpropagation failed: " + Cause(e.what_without_backtrace());
  } catch (const std::runtime_error& e) {
    gradient_gap_ = "backpropagation failed: " + Cause(e.what());
  }
}

void* TorchScriptModel::FindCapability(const std::type_info& type) {
  if (type == typeid(TensorAccess)) return static_cast<TensorAccess*>(this);
  if (type == typeid(RawInputs)) return static_cast<RawInputs*>(this);
  if (type == typeid(GraphIntrospection)) return static_cast<GraphIntrospection*>(this);
  if (type == typeid(WeightInspection)) return static_cast<WeightInspection*>(this);
  if (type == typeid(InputGradients)) {
    ProbeGradients();
    return gradient_gap_->empty() ? static_cast<InputGradients*>(this) : nullptr;
  }
  return nullptr;
}

std::string TorchScriptModel::CapabilityGap(const std::type_info& type) const {
  if (type == typeid(InputGradients)) {
    // The gap is known once probed; probing only reads the model.
    const_cast<TorchScriptModel*>(this)->ProbeGradients();
    return *gradient_gap_;
  }
  return "";
}

void TorchScriptModel::SetThreads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

int TorchScriptModel::threads() const { return at::get_num_threads(); }

std::unique_ptr<Model> LoadTorchScriptModel(const ModelSpec& spec) {
  return std::make_unique<TorchScriptModel>(spec);
}

std::string TorchVersion() { return TORCH_VERSION; }

void SetRuntimeLogVerbose(bool verbose) { runtime_log_verbose.store(verbose); }
bool RuntimeLogVerbose() { return runtime_log_verbose.load(); }

}  // namespace greenlight
