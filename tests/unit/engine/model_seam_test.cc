// The model seam as the engine uses it: model.format chosen from a ModelRegistry at load (unknown
// formats are file:line:col errors), the engine loading through the registry it is given, and a
// metric whose capability the runtime lacks ending in ERROR with the reason while the others run.
#define BOOST_TEST_MODULE model_seam
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "models/model_registry.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

const std::string kHeader =
    "apiVersion: greenlight/v1\n"
    "kind: Criteria\n"
    "metadata: {name: t, version: '1'}\n";
const std::string kAccuracy =
    "criteria:\n  - id: A\n    metric: accuracy\n    threshold: {gte: 0.5}\n"
    "    severity: mandatory\n";

gl::AuditorRegistry Auditors() {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  return registry;
}

}  // namespace

BOOST_AUTO_TEST_CASE(unknown_format_names_file_line_column_and_the_known_formats) {
  t::TempDir dir;
  t::WriteText(dir / "c.yaml", kHeader +
                                   "model:\n"
                                   "  format: onnx\n"
                                   "  path: m.onnx\n"
                                   "  output: logits\n"
                                   "  input: {shape: [4]}\n"
                                   "dataset: {format: idx, images: i.gz, labels: l.gz}\n" +
                                   kAccuracy);
  // "  format: onnx" is line 5; the value starts at column 11.
  BOOST_CHECK_EXCEPTION(
      gl::LoadCriteria(dir / "c.yaml", Auditors()), gl::InputError, [&](const gl::InputError& e) {
        const std::string expected = (dir / "c.yaml").string() +
                                     ":5:11: model.format: unknown model format 'onnx' (known: "
                                     "causal_lm, torchscript)";
        BOOST_TEST(std::string(e.what()) == expected);
        return true;
      });
  // A registry that knows the format accepts the same file.
  gl::ModelRegistry runtimes;
  gl::RegisterBuiltinRuntimes(runtimes);
  runtimes.Register("onnx", [](const gl::ModelSpec& spec) -> std::unique_ptr<gl::Model> {
    throw gl::InputError(spec.path.string() + ": not loaded in this test");
  });
  const auto c = gl::LoadCriteria(dir / "c.yaml", Auditors(), {}, runtimes);
  BOOST_TEST(c.model->format == "onnx");
}

BOOST_AUTO_TEST_CASE(format_defaults_to_torchscript) {
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               kHeader + t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 10) + kAccuracy);
  BOOST_TEST(gl::LoadCriteria(dir / "c.yaml", Auditors()).model->format == "torchscript");
}

BOOST_AUTO_TEST_CASE(engine_loads_through_the_registry_and_reports_missing_capabilities) {
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               kHeader + t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 40) +
                   "criteria:\n"
                   "  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n"
                   "  - {id: ADV, metric: adversarial_accuracy, params: {epsilon: 0.1},\n"
                   "     threshold: {gte: 0.1}, severity: advisory}\n"
                   "  - {id: FLOPS, metric: flops_per_sample, threshold: {lte: 1e9},\n"
                   "     severity: mandatory}\n");
  const gl::AuditorRegistry auditors = Auditors();
  const gl::CriteriaFile criteria = gl::LoadCriteria(dir / "c.yaml", auditors);
  gl::ModelRegistry runtimes;
  std::vector<std::string> loaded;
  runtimes.Register("torchscript", [&](const gl::ModelSpec& spec) {
    loaded.push_back(spec.path.filename().string());
    return gl::LoadTorchScriptModel(spec);
  });
  gl::AuditOptions options;
  options.runtimes = &runtimes;
  // In this process: the loader's record of what it loaded must be visible here (a supervised
  // worker would load the model in its own memory).
  options.isolate_model = false;
  const gl::AuditOutcome outcome = gl::RunAudit(criteria, auditors, options);
  BOOST_TEST(loaded == std::vector<std::string>{"fashion_cnn_int8.pt"});
  BOOST_REQUIRE(outcome.results.size() == 3u);
  BOOST_TEST(gl::StatusName(outcome.results[0].result.status) == "PASS");
  // The int8 model cannot be differentiated: the attack is ERROR with the runtime's reason.
  BOOST_TEST(gl::StatusName(outcome.results[1].result.status) == "ERROR");
  BOOST_TEST(outcome.results[1].result.message.find("model runtime 'torchscript' offers no input "
                                                    "gradients for fashion_cnn_int8.pt (") == 0u,
             outcome.results[1].result.message);
  // Graph introspection is there: 2 × the hand-counted MACs of the CNN (efficiency tests).
  BOOST_TEST(gl::StatusName(outcome.results[2].result.status) == "PASS");
  BOOST_TEST(*outcome.results[2].result.value == 8777000.0);
}
