#include "models/torchscript_flops.h"

#include <ATen/record_function.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include "core/error.h"
#include "models/quantized_params.h"

namespace greenlight {
namespace {

// kQuantizedConv: a statically quantized convolution, whose weight is packed (its shape is read
// from the unpacked weight; then it counts as kConv).
enum class OpKind {
  kConv,
  kQuantizedConv,
  kConvTransposed,
  kLinear,
  kMatmul,
  kAddmm,
  kBaddbmm,
  kDot
};

const std::map<std::string, OpKind, std::less<>>& OpKinds() {
  static const std::map<std::string, OpKind, std::less<>> kinds = {
      {"aten::conv1d", OpKind::kConv},
      {"aten::conv2d", OpKind::kConv},
      {"aten::conv3d", OpKind::kConv},
      {"aten::convolution", OpKind::kConv},  // transposed flag checked at run time
      {"aten::_convolution", OpKind::kConv},
      {"aten::conv_transpose1d", OpKind::kConvTransposed},
      {"aten::conv_transpose2d", OpKind::kConvTransposed},
      {"aten::conv_transpose3d", OpKind::kConvTransposed},
      {"quantized::conv1d", OpKind::kQuantizedConv},
      {"quantized::conv1d_relu", OpKind::kQuantizedConv},
      {"quantized::conv2d", OpKind::kQuantizedConv},
      {"quantized::conv2d_relu", OpKind::kQuantizedConv},
      {"quantized::conv2d.new", OpKind::kQuantizedConv},
      {"quantized::conv2d_relu.new", OpKind::kQuantizedConv},
      {"quantized::conv3d", OpKind::kQuantizedConv},
      {"quantized::conv3d_relu", OpKind::kQuantizedConv},
      {"quantized::conv3d.new", OpKind::kQuantizedConv},
      {"quantized::conv3d_relu.new", OpKind::kQuantizedConv},
      {"aten::linear", OpKind::kLinear},
      {"quantized::linear_dynamic", OpKind::kLinear},
      {"quantized::linear_relu_dynamic", OpKind::kLinear},
      {"quantized::linear_dynamic_fp16", OpKind::kLinear},
      {"quantized::linear", OpKind::kLinear},
      {"quantized::linear_relu", OpKind::kLinear},
      {"aten::matmul", OpKind::kMatmul},
      {"aten::mm", OpKind::kMatmul},
      {"aten::bmm", OpKind::kMatmul},
      {"aten::mv", OpKind::kMatmul},
      {"aten::addmm", OpKind::kAddmm},
      {"aten::addmv", OpKind::kAddmm},
      {"aten::baddbmm", OpKind::kBaddbmm},
      {"aten::addbmm", OpKind::kBaddbmm},
      {"aten::dot", OpKind::kDot},
  };
  return kinds;
}

// Observer state of the counting thread. The callback is thread-local (addThreadLocalCallback),
// so only operators dispatched from the thread running CountTorchScriptFlops are seen.
thread_local int t_depth = 0;
thread_local std::vector<CountedOp>* t_sink = nullptr;

struct OpContext : public at::ObserverContext {
  bool outer = false;
  OpKind kind = OpKind::kConv;
  CountedOp op;
};

std::vector<int64_t> ShapeOf(const c10::IValue& v) {
  if (!v.isTensor()) return {};
  const auto sizes = v.toTensor().sizes();
  return {sizes.begin(), sizes.end()};
}

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
  if (t_sink == nullptr) return nullptr;
  const auto& kinds = OpKinds();
  auto it = kinds.find(std::string_view(fn.name()));
  if (it == kinds.end()) return nullptr;
  auto ctx = std::make_unique<OpContext>();
  ctx->outer = t_depth == 0;
  ++t_depth;
  if (ctx->outer) {
    ctx->kind = it->second;
    ctx->op.name = it->first;
    auto inputs = fn.inputs();
    // After the first (profiling) run of a TorchScript method, the interpreter's optimized plan
    // can record values that lie below the operator's arguments on its stack (a residual kept
    // for a later add before `x + self.proj(y)`), so that linear(x, w, b) is seen as (r, x, w, b);
    // PyTorch's own profiler shows the same shapes. The arguments are the last ones.
    if (const auto schema = fn.operator_schema()) {
      const size_t arguments = schema->arguments().size();
      if (inputs.size() > arguments) inputs = inputs.slice(inputs.size() - arguments);
    }
    for (const auto& v : inputs) ctx->op.inputs.push_back(ShapeOf(v));
    // aten::convolution / aten::_convolution(input, weight, bias, stride, padding, dilation,
    // transposed, ...): a transposed convolution reduces over the input, not the output.
    if ((ctx->op.name == "aten::convolution" || ctx->op.name == "aten::_convolution") &&
        inputs.size() > 6 && inputs[6].isBool() && inputs[6].toBool()) {
      ctx->kind = OpKind::kConvTransposed;
    }
    // quantized::conv2d(qx, packed_weight, scale, zero_point): the weight's shape, unpacked.
    if (ctx->kind == OpKind::kQuantizedConv && inputs.size() > 1) {
      // An exception must not leave the observer; an unreadable weight counts nothing (macs 0 in
      // the details) rather than a guess.
      try {
        const auto weight = UnpackQuantizedConv(inputs[1]);
        if (!weight.empty()) {
          const auto sizes = weight.front().sizes();
          ctx->op.inputs[1] = {sizes.begin(), sizes.end()};
        }
      } catch (const c10::Error&) {
      }
      ctx->kind = OpKind::kConv;
    }
  }
  return ctx;
}

// Multiply-accumulates per output element (or, for transposed convolutions, per input element).
int64_t Reduction(const OpContext& c) {
  const auto& in = c.op.inputs;
  auto last = [](const std::vector<int64_t>& s) -> int64_t { return s.empty() ? 0 : s.back(); };
  switch (c.kind) {
    case OpKind::kConv:
    case OpKind::kQuantizedConv:
    case OpKind::kConvTransposed: {
      // weight: [out, in/groups, k...] (transposed: [in, out/groups, k...]).
      if (in.size() < 2 || in[1].empty() || in[1][0] == 0) return 0;
      return Numel(in[1]) / in[1][0];
    }
    case OpKind::kLinear:  // input [..., in_features]
    case OpKind::kMatmul:  // a [..., k] (or [k])
      return in.empty() ? 0 : last(in[0]);
    case OpKind::kAddmm:    // addmm(bias, m1 [n, k], m2), addmv(self, mat [n, k], vec)
    case OpKind::kBaddbmm:  // baddbmm(self, b1 [b, n, k], b2)
      return in.size() < 2 ? 0 : last(in[1]);
    case OpKind::kDot:
      return in.empty() ? 0 : last(in[0]);
  }
  return 0;
}

// The output shape of a float linear layer or a matrix product, from its arguments' shapes (the
// recorded output is not reliable in an optimized TorchScript plan, like the inputs above); empty
// when the arguments do not give it (a packed quantized weight).
std::vector<int64_t> OutputFromInputs(const OpContext& c) {
  const auto& in = c.op.inputs;
  if (in.size() < 2 || in[0].empty() || in[1].empty()) return {};
  const auto& a = in[0];
  const auto& b = in[1];
  if (c.kind == OpKind::kLinear) {
    if (c.op.name != "aten::linear" || b.size() != 2) return {};
    std::vector<int64_t> out(a.begin(), a.end() - 1);
    out.push_back(b[0]);
    return out;
  }
  if (c.kind != OpKind::kMatmul) return {};
  if (a.size() == 1 && b.size() == 1) return {1};
  if (a.size() == 1) {  // [k] @ [..., k, m] -> [..., m]
    std::vector<int64_t> out(b.begin(), b.end() - 2);
    out.push_back(b.back());
    return out;
  }
  if (b.size() == 1) return {a.begin(), a.end() - 1};  // [..., n, k] @ [k] -> [..., n]
  // Batch dimensions broadcast (numpy rules), then [n, m].
  const size_t batch = std::max(a.size(), b.size()) - 2;
  std::vector<int64_t> out(batch, 1);
  for (size_t i = 0; i < batch; ++i) {
    const size_t from_end = batch - i;  // 1-based position from the end of the batch dims
    const int64_t da = a.size() - 2 >= from_end ? a[a.size() - 2 - from_end] : 1;
    const int64_t db = b.size() - 2 >= from_end ? b[b.size() - 2 - from_end] : 1;
    out[i] = std::max(da, db);
  }
  out.push_back(a[a.size() - 2]);
  out.push_back(b.back());
  return out;
}

void OnEnd(const at::RecordFunction& fn, at::ObserverContext* base) {
  auto* ctx = static_cast<OpContext*>(base);
  if (ctx == nullptr) return;
  --t_depth;
  if (!ctx->outer || t_sink == nullptr) return;
  ctx->op.output = OutputFromInputs(*ctx);
  const auto& outputs = fn.outputs();
  if (ctx->op.output.empty() && !outputs.empty()) ctx->op.output = ShapeOf(outputs[0]);
  ctx->op.reduction = Reduction(*ctx);
  if (ctx->kind == OpKind::kConvTransposed) {
    ctx->op.macs = ctx->op.inputs.empty() ? 0 : Numel(ctx->op.inputs[0]) * ctx->op.reduction;
  } else if (ctx->kind == OpKind::kDot) {
    ctx->op.macs = ctx->op.reduction;
  } else {
    // No captured output shape (should not happen for these operators): count nothing rather
    // than guess; the op still appears in the details with macs 0.
    ctx->op.macs = ctx->op.output.empty() ? 0 : Numel(ctx->op.output) * ctx->op.reduction;
  }
  t_sink->push_back(std::move(ctx->op));
}

void CollectGraphOps(const torch::jit::Block* block, std::map<std::string, int64_t>& out) {
  for (const torch::jit::Node* node : block->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (kind.rfind("aten::", 0) == 0 || kind.rfind("quantized::", 0) == 0) ++out[kind];
    for (const torch::jit::Block* sub : node->blocks()) CollectGraphOps(sub, out);
  }
}

// Removes the thread-local callback and the sink however CountTorchScriptFlops leaves.
class ObserverGuard {
 public:
  explicit ObserverGuard(std::vector<CountedOp>* sink) {
    t_sink = sink;
    t_depth = 0;
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(&OnStart, &OnEnd).needsInputs(true).needsOutputs(true));
  }
  ~ObserverGuard() {
    at::removeCallback(handle_);
    t_sink = nullptr;
    t_depth = 0;
  }
  ObserverGuard(const ObserverGuard&) = delete;
  ObserverGuard& operator=(const ObserverGuard&) = delete;

 private:
  at::CallbackHandle handle_;
};

}  // namespace

const std::vector<std::string>& CountedOperatorNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, kind] : OpKinds()) v.push_back(name);
    return v;
  }();
  return names;
}

nlohmann::json FlopCount::ToJson() const {
  nlohmann::json ops_json = nlohmann::json::array();
  for (const auto& op : ops) {
    ops_json.push_back({{"op", op.name},
                        {"input_shapes", op.inputs},
                        {"output_shape", op.output},
                        {"macs_per_output", op.reduction},
                        {"macs", op.macs},
                        {"flops", 2 * op.macs}});
  }
  return {{"batch", batch},
          {"macs", macs},
          {"flops", flops},
          {"counted_ops", ops_json},
          {"graph_ops", graph_ops}};
}

FlopCount CountTorchScriptFlops(TorchScriptModel& model, const torch::Tensor& input) {
  FlopCount count;
  count.batch = input.dim() > 0 ? input.size(0) : 1;
  try {
    auto graph = model.module().get_method("forward").graph()->copy();
    torch::jit::Inline(*graph);
    CollectGraphOps(graph->block(), count.graph_ops);
  } catch (const c10::Error& e) {
    throw RuntimeError(model.spec().path.string() +
                       ": cannot read the forward graph: " + e.what_without_backtrace());
  }
  {
    torch::NoGradGuard no_grad;
    ObserverGuard guard(&count.ops);
    model.ForwardTensor(input);
  }
  for (const auto& op : count.ops) count.macs += op.macs;
  count.flops = 2 * count.macs;
  return count;
}

}  // namespace greenlight
