#define BOOST_TEST_MODULE models
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "core/error.h"
#include "datasets/dataset.h"
#include "models/model.h"
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
std::unique_ptr<gl::Dataset> FirstImages(int64_t n) {
  gl::DatasetSpec spec;
  spec.format = "idx";
  spec.images = t::FashionDir() / "t10k-images-idx3-ubyte.gz";
  spec.labels = t::FashionDir() / "t10k-labels-idx1-ubyte.gz";
  spec.scale = 1.0 / 255.0;
  spec.limit = n;
  return gl::LoadDataset(spec);
}
}  // namespace

// conv1 20·1·5·5+20, conv2 20·20·5·5+20, fc1 2000·50+50, fc2 50·10+10.
constexpr int64_t kCnnParameters = 520 + 10020 + 100050 + 510;

BOOST_AUTO_TEST_CASE(cnn_loads_with_metadata) {
  const auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn.pt"));
  BOOST_TEST(model->info().parameters == kCnnParameters);
  BOOST_TEST(model->info().size_bytes ==
             static_cast<int64_t>(std::filesystem::file_size(t::ModelsDir() / "fashion_cnn.pt")));
  BOOST_TEST(model->info().sha256.size() == 64u);
  BOOST_TEST(model->input_size() == 784);
}

// The outputs equal what PyTorch computes in Python for the same file and inputs.
BOOST_AUTO_TEST_CASE(forward_matches_pytorch) {
  const auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn.pt"));
  const auto data = FirstImages(4);
  int64_t classes = 0;
  const auto out = model->Forward(data->features(), 4, &classes);
  BOOST_REQUIRE(classes == 10);
  const auto py = t::RunPython(
      "import gzip, numpy as np, torch\n"
      "x = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
      "').read()[16:16+4*784], np.uint8).astype(np.float32)\n"
      "x = torch.from_numpy(x * np.float32(1.0/255.0)).reshape(4, 1, 28, 28)\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / "fashion_cnn.pt").string() +
      "')\n"
      "with torch.no_grad(): y = m(x)\n"
      "print(' '.join(repr(float(v)) for v in y.flatten()))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  std::istringstream in(py.out);
  for (size_t i = 0; i < out.size(); ++i) {
    double v = 0;
    in >> v;
    BOOST_TEST(std::abs(out[i] - v) < 1e-5, "output " << i << ": " << out[i] << " vs " << v);
  }
}

BOOST_AUTO_TEST_CASE(int8_dynamic_quantized_twin_runs) {
  const auto model = gl::LoadTorchScriptModel(CnnSpec("fashion_cnn_int8.pt"));
  // Packed int8 weights are counted too: same architecture, same count.
  BOOST_TEST(model->info().parameters == kCnnParameters);
  const auto data = FirstImages(8);
  int64_t classes = 0;
  const auto out = model->Forward(data->features(), 8, &classes);
  BOOST_TEST(classes == 10);
  for (int i = 0; i < 8; ++i) {
    const auto p = gl::ToProbabilities(std::span<const float>(out).subspan(i * 10, 10),
                                       gl::OutputKind::kLogProbabilities);
    double sum = 0;
    for (double v : p) sum += v;
    BOOST_TEST(std::abs(sum - 1.0) < 1e-4);
  }
}

BOOST_AUTO_TEST_CASE(bad_files_and_shapes_are_input_errors) {
  t::TempDir dir;
  t::WriteText(dir / "corrupt.pt", "this is not a zip archive");
  auto spec = CnnSpec("fashion_cnn.pt");
  spec.path = dir / "corrupt.pt";
  try {
    gl::LoadTorchScriptModel(spec);
    BOOST_FAIL("corrupt file loaded");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()).find(spec.path.string() +
                                          ": not a loadable TorchScript model") == 0u);
  }
  spec.path = dir / "missing.pt";
  BOOST_CHECK_THROW(gl::LoadTorchScriptModel(spec), gl::InputError);

  // Declared shape [1, 14, 56] has the same size but the CNN cannot take it.
  auto wrong = CnnSpec("fashion_cnn.pt");
  wrong.input_shape = {1, 14, 56};
  const auto model = gl::LoadTorchScriptModel(wrong);
  const auto data = FirstImages(1);
  int64_t classes = 0;
  try {
    model->Forward(data->features(), 1, &classes);
    BOOST_FAIL("wrong shape accepted");
  } catch (const gl::InputError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("forward pass failed for input shape [1, 1, 14, 56]") != std::string::npos);
    BOOST_TEST(msg.find("declared input.shape [1, 14, 56]") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(probability_conversions) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const auto p = gl::ToProbabilities(logits, gl::OutputKind::kLogits);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  BOOST_TEST(std::abs(p[2] - std::exp(3.0) / z) < 1e-7);
  const std::vector<float> logp = {std::log(0.25f), std::log(0.75f)};
  const auto q = gl::ToProbabilities(logp, gl::OutputKind::kLogProbabilities);
  BOOST_TEST(std::abs(q[1] - 0.75) < 1e-6);
}
