#include "engine/yaml_schema.h"

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#include <vector>

#include "core/error.h"

namespace greenlight::yaml_doc {
namespace {

// valijson reports a context path like ["<root>", "[criteria]", "[0]", "[metric]"]; turn it into
// a JSON Pointer so the YAML marks can locate it.
std::string ContextToPointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string key = part;
    if (key.size() >= 2 && key.front() == '[' && key.back() == ']')
      key = key.substr(1, key.size() - 2);
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
      key = key.substr(1, key.size() - 2);
    pointer += "/" + JsonPointerEscape(key);
  }
  return pointer;
}

}  // namespace

std::string FieldName(const std::string& pointer) {
  if (pointer.empty()) return "(top level)";
  std::string out = pointer.substr(1);
  for (auto& c : out) {
    if (c == '/') c = '.';
  }
  return out;
}

void Fail(const YamlDocument& doc, const std::string& pointer, const std::string& msg) {
  throw InputError(doc.Where(pointer) + ": " + FieldName(pointer) + ": " + msg);
}

CompiledSchema::CompiledSchema(std::string_view schema_json)
    : schema_(std::make_unique<valijson::Schema>()) {
  const nlohmann::json doc = nlohmann::json::parse(schema_json);
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  parser.populateSchema(adapter, *schema_);
}

CompiledSchema::~CompiledSchema() = default;

void CompiledSchema::Validate(const YamlDocument& doc) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc.value);
  if (validator.validate(*schema_, target, &results)) return;
  valijson::ValidationResults::Error error;
  valijson::ValidationResults::Error best;
  bool have = false;
  while (results.popError(error)) {
    if (!have || error.context.size() > best.context.size()) {
      best = error;
      have = true;
    }
  }
  Fail(doc, ContextToPointer(best.context), "schema violation: " + best.description);
}

}  // namespace greenlight::yaml_doc
