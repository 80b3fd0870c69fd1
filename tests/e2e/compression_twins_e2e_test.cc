// The shipped compression policy (criteria/compression.yaml) on every compression twin that
// examples/export_models.py makes of fashion_cnn.pt: static int8 quantization, 70 % magnitude
// pruning, structured pruning (half the channels) and a distilled student. Each audit measures
// every criterion (none ERROR), and the model facts equal independent references: file sizes from
// the file system, zero weights counted by PyTorch, and multiply-accumulates by hand from the
// architectures (a convolution's output elements × its kernel volume × its input channels; a
// linear layer's inputs × outputs).
#define BOOST_TEST_MODULE compression_twins_e2e
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/report_json.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using json = nlohmann::json;

namespace {

using greenlight::testing::Result;

// Multiply-accumulates of one 28 × 28 image through FashionCnn's shape with c1 and c2
// convolution channels (5 × 5 kernels, stride 1) and `hidden` units.
double Macs(int c1, int c2, int hidden) {
  const double conv1 = 24.0 * 24.0 * c1 * (1 * 5 * 5);
  const double conv2 = 20.0 * 20.0 * c2 * (c1 * 5 * 5);
  const double fc1 = c2 * 10.0 * 10.0 * hidden;  // After 2 × 2 max-pooling: c2 × 10 × 10 inputs.
  const double fc2 = hidden * 10.0;
  return conv1 + conv2 + fc1 + fc2;
}

json Audit(const std::string& twin, const t::TempDir& tmp) {
  const auto r =
      t::RunCli("-q audit -c " + t::Quote(t::SourceDir() / "criteria" / "compression.yaml") +
                " --model " + t::Quote(t::ModelsDir() / twin) + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(r.exit_code <= 2, twin << ": " << r.out << r.err);
  BOOST_TEST(r.err.empty(), r.err);
  json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  BOOST_TEST(report["subject"].size() == 2u);
  for (const json& result : report["predicate"]["results"]) {
    BOOST_TEST(result["status"] != "ERROR", twin << ": " << result.dump());
  }
  const double twin_bytes = static_cast<double>(std::filesystem::file_size(t::ModelsDir() / twin));
  const double fp32_bytes =
      static_cast<double>(std::filesystem::file_size(t::ModelsDir() / "fashion_cnn.pt"));
  BOOST_TEST(Result(report, "CMP-06")["value"].get<double>() == 1.0 - twin_bytes / fp32_bytes,
             boost::test_tools::tolerance(1e-12));
  return report;
}

// Zero and total elements of the model's parameters, counted by PyTorch.
std::pair<double, double> ZeroWeights(const std::string& twin) {
  const auto py = t::RunPython(
      "import torch\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / twin).string() +
      "')\n"
      "ps = list(m.parameters())\n"
      "print(sum(int((p == 0).sum()) for p in ps), sum(p.numel() for p in ps))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  std::istringstream in(py.out);
  double zeros = 0, total = 0;
  in >> zeros >> total;
  return {zeros, total};
}

}  // namespace

BOOST_AUTO_TEST_CASE(static_int8_twin) {
  t::TempDir tmp;
  const json report = Audit("fashion_cnn_static_int8.pt", tmp);
  // Static quantization executes every multiply-accumulate of the float model, in int8.
  BOOST_TEST(Result(report, "CMP-09")["value"].get<double>() == 0.0,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(magnitude_pruned_twin) {
  t::TempDir tmp;
  const json report = Audit("fashion_cnn_pruned.pt", tmp);
  const auto [zeros, total] = ZeroWeights("fashion_cnn_pruned.pt");
  BOOST_TEST(zeros / total > 0.6);  // 70 % of the weights, fewer of all parameters (biases).
  BOOST_TEST(Result(report, "CMP-07")["value"].get<double>() == zeros / total,
             boost::test_tools::tolerance(1e-12));
  // Dense kernels multiply the zeros too: the operations executed do not change.
  BOOST_TEST(Result(report, "CMP-09")["value"].get<double>() == 0.0,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(structured_pruned_twin) {
  t::TempDir tmp;
  const json report = Audit("fashion_cnn_structured.pt", tmp);
  BOOST_TEST(
      Result(report, "CMP-09")["value"].get<double>() == 1.0 - Macs(10, 10, 50) / Macs(20, 20, 50),
      boost::test_tools::tolerance(1e-12));
  const auto [zeros, total] = ZeroWeights("fashion_cnn_structured.pt");
  BOOST_TEST(Result(report, "CMP-07")["value"].get<double>() == zeros / total,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(distilled_student) {
  t::TempDir tmp;
  const json report = Audit("fashion_cnn_student.pt", tmp);
  BOOST_TEST(
      Result(report, "CMP-09")["value"].get<double>() == 1.0 - Macs(8, 8, 32) / Macs(20, 20, 50),
      boost::test_tools::tolerance(1e-12));
}
