// Criteria loader: YAML -> JSON -> schema -> profiles -> typed parameter binding -> semantic checks
// against the metric catalog. Bad input must surface as greenlight::InputError; any other
// exception or a crash is a finding.
//
// The metrics that need no runtime (the accuracy family) are registered for real, so their typed
// parameter binding is fuzzed too. The others live in libraries that include LibTorch, whose
// headers clang 14 cannot compile in C++20, so their specs come from the real binary instead:
// GREENLIGHT_FUZZ_CATALOG names the output of `greenlight metrics --json` (scripts/fuzz.sh writes
// it), and every metric in it not registered already is entered with its real parameters, types,
// defaults and choices. The "torchscript" format is known but never loaded: nothing is measured.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "auditors/accuracy/accuracy_metrics.h"
#include "auditors/auditor.h"
#include "auditors/metric.h"
#include "core/error.h"
#include "core/files.h"
#include "engine/criteria.h"
#include "fuzz/no_model_runtimes.h"
#include "models/model_registry.h"

namespace {

using greenlight::MetricSpec;
using greenlight::ParamSpec;
using greenlight::ParamType;

class CatalogAuditor final : public greenlight::Auditor {
 public:
  explicit CatalogAuditor(std::vector<MetricSpec> metrics) : metrics_(std::move(metrics)) {}
  std::vector<MetricSpec> metrics() const override { return metrics_; }
  greenlight::Measurement Measure(const greenlight::MetricRequest&,
                                  greenlight::AuditContext&) override {
    throw greenlight::RuntimeError("the fuzz catalog measures nothing");
  }

 private:
  std::vector<MetricSpec> metrics_;
};

ParamType ParseType(const std::string& name) {
  for (ParamType t : {ParamType::kNumber, ParamType::kInteger, ParamType::kString, ParamType::kBool,
                      ParamType::kStringList, ParamType::kNumberList, ParamType::kIntegerList,
                      ParamType::kStringOrList, ParamType::kObject}) {
    if (greenlight::ParamTypeName(t) == name) return t;
  }
  std::abort();  // The catalog and this build disagree: not a fuzzing finding, a setup error.
}

const greenlight::AuditorRegistry& Registry() {
  static const greenlight::AuditorRegistry* registry = [] {
    const char* path = std::getenv("GREENLIGHT_FUZZ_CATALOG");
    if (path == nullptr) std::abort();
    const nlohmann::json catalog = nlohmann::json::parse(greenlight::ReadFile(path));
    auto* r = new greenlight::AuditorRegistry();
    namespace accuracy = greenlight::accuracy;
    for (auto make : {accuracy::MakeAccuracy, accuracy::MakeTopKAccuracy, accuracy::MakePrecision,
                      accuracy::MakeRecall, accuracy::MakeF1, accuracy::MakeRocAuc,
                      accuracy::MakeAccuracyRetention, accuracy::MakeAccuracyDelta,
                      accuracy::MakePredictionAgreement, accuracy::MakeMcNemarPValue}) {
      greenlight::RegisterMetric(*r, make());
    }
    std::vector<MetricSpec> catalog_metrics;
    for (const auto& m : catalog) {
      if (greenlight::FindFrameworkMetric(*r, m["name"].get<std::string>()) != nullptr) continue;
      MetricSpec spec{m["name"], m["unit"],        m["concern"],     m["description"],
                      {},        m["needs_model"], m["needs_labels"]};
      for (const auto& p : m["params"]) {
        spec.params.push_back(ParamSpec{p["name"], ParseType(p["type"]), p["description"],
                                        p["default"], p["required"], p["choices"]});
      }
      catalog_metrics.push_back(std::move(spec));
    }
    r->Register(std::make_unique<CatalogAuditor>(std::move(catalog_metrics)));
    return r;
  }();
  return *registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    greenlight::ParseCriteria(text, "/fuzz/criteria.yaml", Registry(), {},
                              greenlight::fuzz::NoModelRuntimes());
  } catch (const greenlight::InputError&) {
  }
  return 0;
}
