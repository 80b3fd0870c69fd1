// Criteria loader: YAML -> JSON -> schema -> semantic checks against the metric catalog. Bad input
// must surface as greenlight::InputError; any other exception or a crash is a finding.
//
// The auditors link LibTorch, whose headers clang 14 cannot compile in C++20, so the catalog comes
// from the real binary instead: GREENLIGHT_FUZZ_CATALOG names the output of
// `greenlight metrics --json` (scripts/fuzz.sh writes it), and every metric in it is registered
// with its real parameters, types, defaults and choices. Nothing is measured here.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "core/error.h"
#include "core/files.h"
#include "engine/criteria.h"

namespace {

using greenlight::MetricSpec;
using greenlight::ParamSpec;
using greenlight::ParamType;

class CatalogAuditor final : public greenlight::Auditor {
 public:
  CatalogAuditor(std::string concern, std::vector<MetricSpec> metrics)
      : concern_(std::move(concern)), metrics_(std::move(metrics)) {}
  std::string_view concern() const override { return concern_; }
  std::vector<MetricSpec> metrics() const override { return metrics_; }
  greenlight::Measurement Measure(const greenlight::MetricRequest&,
                                  greenlight::AuditContext&) override {
    throw greenlight::RuntimeError("the fuzz catalog measures nothing");
  }

 private:
  std::string concern_;
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
    std::map<std::string, std::vector<MetricSpec>> by_concern;
    for (const auto& m : catalog) {
      MetricSpec spec{m["name"], m["unit"],        m["concern"],     m["description"],
                      {},        m["needs_model"], m["needs_labels"]};
      for (const auto& p : m["params"]) {
        spec.params.push_back(ParamSpec{p["name"], ParseType(p["type"]), p["description"],
                                        p["default"], p["required"], p["choices"]});
      }
      by_concern[spec.concern].push_back(std::move(spec));
    }
    auto* r = new greenlight::AuditorRegistry();
    for (auto& [concern, metrics] : by_concern) {
      r->Register(std::make_unique<CatalogAuditor>(concern, std::move(metrics)));
    }
    return r;
  }();
  return *registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    greenlight::ParseCriteria(text, "/fuzz/criteria.yaml", Registry());
  } catch (const greenlight::InputError&) {
  }
  return 0;
}
