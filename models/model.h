// The seam between greenlight and the model runtime, after MLPerf LoadGen's SystemUnderTest: a
// small interface, so nothing outside models/ (and the auditors that need autograd) sees LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace greenlight {

// What the model's output vector means, declared in the criteria.
enum class OutputKind { kLogits, kProbabilities, kLogProbabilities };

struct ModelSpec {
  std::filesystem::path path;
  OutputKind output = OutputKind::kLogits;
  std::vector<int64_t> input_shape;  // Per-sample shape, e.g. {1, 28, 28}.
  double input_min = 0.0;            // Declared input range (safety auditors clip to it).
  double input_max = 1.0;
  std::string device = "cpu";  // "cpu" or "cuda" / "cuda:N".
};

struct ModelInfo {
  std::filesystem::path path;
  std::string sha256;
  int64_t size_bytes = 0;
  int64_t parameters = 0;  // Elements of all parameters (quantized packed weights included).
  std::string format;      // "torchscript"
  std::string device;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelSpec& spec() const = 0;
  virtual const ModelInfo& info() const = 0;

  // Number of values per sample in the input (product of spec().input_shape).
  int64_t input_size() const;

  // Runs one forward pass without gradients. `input` holds `batch` samples, row-major, each of
  // input_size() floats. Returns batch × outputs floats, as the model produced them (see
  // OutputKind), and sets *outputs_per_sample. Throws InputError on a shape the model rejects,
  // RuntimeError when the runtime fails. Not thread-safe: one caller at a time.
  virtual std::vector<float> Forward(std::span<const float> input, int64_t batch,
                                     int64_t* outputs_per_sample) = 0;

  // Intra-op threads used by forward passes (process-wide for LibTorch).
  virtual void SetThreads(int threads) = 0;
  virtual int threads() const = 0;
};

// Loads a TorchScript file (torch.jit.script / torch.jit.trace, int8 dynamic-quantized included).
// Throws InputError naming the file when it is missing, corrupt or not TorchScript.
std::unique_ptr<Model> LoadTorchScriptModel(const ModelSpec& spec);

// Converts one sample's raw outputs to class probabilities (softmax / exp / as is).
std::vector<double> ToProbabilities(std::span<const float> outputs, OutputKind kind);

// Converts a batch of raw outputs (batch × outputs floats) to class probabilities (batch × classes
// doubles). A single output is a binary classifier's class-1 logit / log-probability /
// probability, and becomes two classes [1 - p, p]; *classes receives the class count.
std::vector<double> OutputsToProbabilities(std::span<const float> raw, int64_t batch,
                                           int64_t outputs, OutputKind kind, int64_t* classes);

// The LibTorch version the library was built against ("1.13.1").
std::string TorchVersion();

}  // namespace greenlight
