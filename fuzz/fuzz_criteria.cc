// Criteria loader: YAML -> JSON -> schema -> semantic checks against the real metric catalog.
// Bad input must surface as greenlight::InputError; any other exception or a crash is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auditors/auditor.h"
#include "core/error.h"
#include "engine/criteria.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const greenlight::AuditorRegistry* registry = [] {
    auto* r = new greenlight::AuditorRegistry();
    greenlight::RegisterBuiltinAuditors(*r);
    return r;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    greenlight::ParseCriteria(text, "/fuzz/criteria.yaml", *registry);
  } catch (const greenlight::InputError&) {
  }
  return 0;
}
