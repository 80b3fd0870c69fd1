// The capabilities the TorchScript runtime offers on the real example models, checked against
// independent references: PyTorch's Python front end (Debian's python3) for the gradients and for
// what the int8 dynamic-quantized model can do, a hand count for the FLOPs.
#define BOOST_TEST_MODULE model_capabilities
#include "models/capabilities.h"

#include <torch/csrc/autograd/autograd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "datasets/dataset.h"
#include "models/model.h"
#include "models/model_registry.h"
#include "models/torch_capabilities.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

gl::ModelSpec CnnSpec(const std::string& file) {
  gl::ModelSpec spec;
  spec.path = t::ModelsDir() / file;
  spec.output = gl::OutputKind::kLogProbabilities;
  spec.input_shape = {1, 28, 28};
  return spec;
}

std::vector<float> FirstImage() {
  gl::DatasetSpec spec;
  spec.format = "idx";
  spec.images = t::FashionDir() / "t10k-images-idx3-ubyte.gz";
  spec.labels = t::FashionDir() / "t10k-labels-idx1-ubyte.gz";
  spec.scale = 1.0 / 255.0;
  spec.limit = 1;
  const auto data = gl::LoadDataset(spec);
  const auto row = data->row(0);
  return {row.begin(), row.end()};
}

// What PyTorch says about differentiating the model w.r.t. its input: "differentiable",
// "no_grad_fn" (the output is not connected to the input) or "backward_failed".
std::string PyTorchGradientVerdict(const std::string& file) {
  const auto r = t::RunPython(
      "import torch\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / file).string() +
      "')\n"
      "m.eval()\n"
      "x = torch.full((1, 1, 28, 28), 0.5, requires_grad=True)\n"
      "y = m(x)\n"
      "if not y.requires_grad:\n"
      "    print('no_grad_fn')\n"
      "else:\n"
      "    try:\n"
      "        g, = torch.autograd.grad(y.sum(), x, allow_unused=True)\n"
      "        print('differentiable' if g is not None else 'no_grad_fn')\n"
      "    except RuntimeError:\n"
      "        print('backward_failed')\n");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out.substr(0, r.out.find('\n'));
}

}  // namespace

BOOST_AUTO_TEST_CASE(fp32_cnn_offers_every_capability) {
  auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn.pt"));
  BOOST_TEST(model->Capability<gl::InputGradients>() != nullptr);
  BOOST_TEST(model->Capability<gl::TensorAccess>() != nullptr);
  BOOST_TEST(model->Capability<gl::RawInputs>() != nullptr);
  BOOST_TEST(model->Capability<gl::GraphIntrospection>() != nullptr);
  BOOST_TEST(PyTorchGradientVerdict("fashion_cnn.pt") == "differentiable");
}

BOOST_AUTO_TEST_CASE(fp32_gradients_match_pytorch_autograd) {
  auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn.pt"));
  auto& gradients = gl::RequireCapability<gl::InputGradients>(*model);
  auto& tensors = gl::RequireCapability<gl::TensorAccess>(*model);
  const std::vector<float> x = FirstImage();
  // d log p_0 / d x for the first test image, through the capability.
  torch::Tensor input = tensors.MakeInput(x, 1).clone().set_requires_grad(true);
  const torch::Tensor out = gradients.DifferentiableForward(input);
  const torch::Tensor g =
      torch::autograd::grad({out.select(1, 0).sum()}, {input})[0].reshape({-1}).contiguous();
  // The same derivative from PyTorch's Python front end on the same file and image (finite
  // differences are no reference here: ReLU and max-pool kinks are hit at any usable step).
  const auto py = t::RunPython(
      "import gzip, numpy as np, torch\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / "fashion_cnn.pt").string() +
      "')\n"
      "m.eval()\n"
      "with gzip.open('" +
      (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
      "') as f:\n"
      "    raw = np.frombuffer(f.read(), np.uint8, offset=16)[:784]\n"
      "x = torch.from_numpy(raw.astype(np.float64) * (1.0 / 255.0)).float()\n"
      "x = x.reshape(1, 1, 28, 28).requires_grad_(True)\n"
      "g, = torch.autograd.grad(m(x)[0, 0], x)\n"
      "print(' '.join(repr(float(v)) for v in g.reshape(-1)))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  std::istringstream in(py.out);
  std::vector<double> expected;
  for (double v; in >> v;) expected.push_back(v);
  BOOST_REQUIRE(expected.size() == x.size());
  double max_diff = 0.0, max_abs = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    max_diff =
        std::max(max_diff, std::fabs(g[static_cast<int64_t>(i)].item<float>() - expected[i]));
    max_abs = std::max(max_abs, std::fabs(expected[i]));
  }
  BOOST_TEST(max_abs > 1e-3);  // A real gradient, not zeros on both sides.
  BOOST_TEST(max_diff <= 1e-5 * std::max(1.0, max_abs), "max |difference| " << max_diff);
}

BOOST_AUTO_TEST_CASE(int8_model_offers_no_input_gradients_and_says_why) {
  // PyTorch itself cannot differentiate the dynamic-quantized linear layers w.r.t. the input.
  BOOST_TEST(PyTorchGradientVerdict("fashion_cnn_int8.pt") != "differentiable");
  auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn_int8.pt"));
  BOOST_TEST(model->Capability<gl::InputGradients>() == nullptr);
  const std::string why = model->MissingCapability<gl::InputGradients>();
  BOOST_TEST(why.find("model runtime 'torchscript' offers no input gradients for "
                      "fashion_cnn_int8.pt (") == 0u,
             why);
  BOOST_CHECK_EXCEPTION(gl::RequireCapability<gl::InputGradients>(*model), gl::RuntimeError,
                        [&](const gl::RuntimeError& e) { return std::string(e.what()) == why; });
  // What it does offer: tensors, raw inputs and its graph (quantized::linear_dynamic counted).
  BOOST_TEST(model->Capability<gl::TensorAccess>() != nullptr);
  BOOST_TEST(model->Capability<gl::RawInputs>() != nullptr);
  auto* graph = model->Capability<gl::GraphIntrospection>();
  BOOST_REQUIRE(graph != nullptr);
  const gl::FlopCount count = graph->CountFlops(FirstImage(), 1);
  // Hand count: conv1 20·24·24·(1·5·5), conv2 20·20·20·(20·5·5), fc1 2000·50, fc2 50·10 MACs,
  // as for the float model; fc1 and fc2 run quantized::linear_dynamic.
  constexpr int64_t kMacs = 20 * 24 * 24 * 25 + 20 * 20 * 20 * (20 * 25) + 2000 * 50 + 50 * 10;
  BOOST_TEST(count.macs == kMacs);
  BOOST_TEST(count.flops == 2 * kMacs);
  int quantized = 0;
  for (const auto& op : count.ops) quantized += op.name == "quantized::linear_dynamic";
  BOOST_TEST(quantized == 2);
  // The capability is still usable after the failed probe: forward passes are unaffected.
  int64_t outputs = 0;
  BOOST_TEST(model->Forward(FirstImage(), 1, &outputs).size() == 10u);
}

BOOST_AUTO_TEST_CASE(raw_inputs_reach_the_module_unchecked) {
  auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn.pt"));
  auto& raw = gl::RequireCapability<gl::RawInputs>(*model);
  // Forward refuses a flat input; the raw path hands it to the module, which raises itself.
  BOOST_CHECK_THROW(raw.ForwardRaw(torch::zeros({1, 784})), std::exception);
  // A float64 input of the right shape: the module's own dtype error, not a greenlight check.
  BOOST_CHECK_THROW(raw.ForwardRaw(torch::zeros({1, 1, 28, 28}, torch::kFloat64)), std::exception);
  const c10::IValue ok = raw.ForwardRaw(torch::zeros({2, 1, 28, 28}));
  BOOST_TEST(ok.toTensor().size(0) == 2);
}

BOOST_AUTO_TEST_CASE(tensor_access_loads_a_twin_on_another_device) {
  auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn.pt"));
  auto& tensors = gl::RequireCapability<gl::TensorAccess>(*model);
  const auto twin = tensors.LoadOnDevice("cpu");
  BOOST_TEST(twin->info().sha256 == model->info().sha256);
  const auto x = FirstImage();
  int64_t outputs = 0;
  BOOST_TEST(twin->Forward(x, 1, &outputs) == model->Forward(x, 1, &outputs));
  BOOST_CHECK_THROW(tensors.LoadOnDevice("tpu"), gl::InputError);
}

BOOST_AUTO_TEST_CASE(registry_loads_by_format_and_lists_the_known_ones) {
  const gl::ModelRegistry& builtin = gl::BuiltinModelRegistry();
  BOOST_TEST(builtin.formats() == (std::vector<std::string>{"causal_lm", "torchscript"}));
  const auto model = builtin.Load(CnnSpec("fashion_cnn.pt"));
  BOOST_TEST(model->info().format == "torchscript");

  gl::ModelSpec onnx = CnnSpec("fashion_cnn.pt");
  onnx.format = "onnx";
  BOOST_CHECK_EXCEPTION(builtin.Load(onnx), gl::InputError, [&](const gl::InputError& e) {
    return std::string(e.what()) ==
           onnx.path.string() + ": unknown model format 'onnx' (known: causal_lm, torchscript)";
  });

  // A second runtime joins with one Register call; the list stays sorted.
  gl::ModelRegistry registry;
  gl::RegisterBuiltinRuntimes(registry);
  int loads = 0;
  registry.Register("another", [&](const gl::ModelSpec& spec) {
    ++loads;
    return gl::LoadTorchScriptModel(spec);
  });
  BOOST_TEST(registry.FormatList() == "another, causal_lm, torchscript");
  gl::ModelSpec other = CnnSpec("fashion_cnn.pt");
  other.format = "another";
  BOOST_TEST(registry.Load(other)->info().parameters == model->info().parameters);
  BOOST_TEST(loads == 1);
  BOOST_CHECK_THROW(registry.Register("torchscript", &gl::LoadTorchScriptModel), std::logic_error);
}

// Weight counts (WeightInspection) against PyTorch's own: parameters plus the packed weights of
// dynamic-quantized layers (dequantized), on the FP32 CNN, its int8 twin and a copy of the FP32 CNN
// magnitude-pruned here (70 % of every weight tensor set to zero), so every count is nonzero.
BOOST_AUTO_TEST_CASE(weight_counts_match_pytorch) {
  t::TempDir dir;
  const std::string pruned = (dir / "pruned.pt").string();
  const auto r = t::RunPython(
      "import torch\n"
      "torch.backends.quantized.engine = 'qnnpack'\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / "fashion_cnn.pt").string() +
      "')\n"
      "with torch.no_grad():\n"
      "    for name, p in m.named_parameters():\n"
      "        if name.endswith('weight'):\n"
      "            k = int(0.7 * p.numel())\n"
      "            cut = p.abs().flatten().kthvalue(k).values\n"
      "            p[p.abs() <= cut] = 0\n"
      "m.save('" +
      pruned +
      "')\n"
      "def count(path):\n"
      "    m = torch.jit.load(path)\n"
      "    el = z = n = 0\n"
      "    tensors = list(m.parameters())\n"
      "    for sub in m.modules():\n"
      "        if hasattr(sub, '_weight_bias'):\n"
      "            tensors += [e for e in sub._weight_bias() if isinstance(e, torch.Tensor)]\n"
      "    for e in tensors:\n"
      "        d = e.dequantize() if e.is_quantized else e\n"
      "        el += d.numel(); z += int((d == 0).sum()); n += 1\n"
      "    print(el, z, n)\n"
      "for path in ['" +
      (t::ModelsDir() / "fashion_cnn.pt").string() + "', '" +
      (t::ModelsDir() / "fashion_cnn_int8.pt").string() + "', '" + pruned +
      "']:\n"
      "    count(path)\n");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream expected(r.out);
  for (const std::string file : {"fashion_cnn.pt", "fashion_cnn_int8.pt", "pruned"}) {
    gl::ModelSpec spec = CnnSpec("fashion_cnn.pt");
    spec.path = file == "pruned" ? std::filesystem::path(pruned) : t::ModelsDir() / file;
    auto model = gl::LoadTorchScriptModel(spec);
    auto* weights = model->Capability<gl::WeightInspection>();
    BOOST_REQUIRE(weights != nullptr);
    const gl::WeightCounts c = weights->CountWeights();
    int64_t elements = 0, zeros = 0, tensors = 0;
    expected >> elements >> zeros >> tensors;
    BOOST_TEST_CONTEXT(file) {
      BOOST_TEST(c.elements == elements);
      BOOST_TEST(c.zeros == zeros);
      BOOST_TEST(c.tensors == tensors);
      BOOST_TEST(c.elements ==
                 model->info().parameters);  // The same elements model_parameters counts.
      if (file == "pruned") BOOST_TEST(c.zeros > c.elements / 2);
    }
  }
}
