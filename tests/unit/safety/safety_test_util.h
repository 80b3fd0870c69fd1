// Shared set-up of the safety tests: the example CNN on the first Fashion-MNIST test images,
// the test models exported by make_test_models.py, and running one metric through the auditor.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auditors/auditor.h"
#include "datasets/dataset.h"
#include "models/model.h"

namespace greenlight::safety_test {

inline std::filesystem::path SourceDir() { return GREENLIGHT_SOURCE_DIR; }
inline std::filesystem::path TestModelsDir() { return SAFETY_TEST_MODELS_DIR; }
inline std::string FashionImages() {
  return "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
}
inline std::string FashionLabels() {
  return "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
}
inline std::filesystem::path FashionCnn() {
  return SourceDir() / "examples" / "models" / "fashion_cnn.pt";
}

inline ModelSpec ImageModelSpec(const std::filesystem::path& path, OutputKind output) {
  ModelSpec spec;
  spec.path = path;
  spec.output = output;
  spec.input_shape = {1, 28, 28};
  spec.input_min = 0.0;
  spec.input_max = 1.0;
  return spec;
}

inline std::unique_ptr<Dataset> FashionTest(int64_t rows) {
  DatasetSpec d;
  d.format = "idx";
  d.images = FashionImages();
  d.labels = FashionLabels();
  d.scale = 0.00392156862745098;
  d.limit = rows;
  return LoadDataset(d);
}

// The example CNN with the first `rows` test images, and a context over them.
struct Fixture {
  explicit Fixture(int64_t rows, uint64_t seed = 20261128)
      : model(LoadTorchScriptModel(ImageModelSpec(FashionCnn(), OutputKind::kLogProbabilities))),
        data(FashionTest(rows)),
        ctx(model.get(), *data, seed, nullptr) {
    RegisterBuiltinAuditors(registry);
  }
  Measurement Run(const std::string& metric, nlohmann::json params = nlohmann::json::object(),
                  uint64_t seed = 20261128) {
    MetricRequest req;
    req.criterion_id = "T";
    req.metric = metric;
    req.params = std::move(params);
    req.seed = seed;
    return registry.FindAuditor(metric)->Measure(req, ctx);
  }
  AuditorRegistry registry;
  std::unique_ptr<Model> model;
  std::unique_ptr<Dataset> data;
  AuditContext ctx;
};

// Runs a command and returns its standard output (throws on failure).
inline std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0)
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
  return out;
}

}  // namespace greenlight::safety_test
