// Schema validation and located errors for the YAML documents the engine reads (criteria files and
// policy profiles): both report a problem as "<file>:<line>:<col>: <field.path>: <problem>".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/yaml_json.h"

namespace valijson {
class Schema;
}

namespace greenlight::yaml_doc {

// "criteria.0.metric" for the JSON Pointer "/criteria/0/metric"; "(top level)" for "".
std::string FieldName(const std::string& pointer);

// Throws InputError "<where pointer is>: <field>: <msg>".
[[noreturn]] void Fail(const YamlDocument& doc, const std::string& pointer, const std::string& msg);

// A JSON Schema compiled once (draft 7, as valijson reads it).
class CompiledSchema {
 public:
  // `schema_json` is the schema's text; a schema that does not parse is a build defect and throws
  // nlohmann::json::parse_error.
  explicit CompiledSchema(std::string_view schema_json);
  ~CompiledSchema();
  CompiledSchema(const CompiledSchema&) = delete;
  CompiledSchema& operator=(const CompiledSchema&) = delete;

  // Returns when `doc.value` is valid; otherwise Fail()s at the most specific violation (the
  // deepest one: valijson also lists the allOf/oneOf parents that fail with it).
  void Validate(const YamlDocument& doc) const;

 private:
  std::unique_ptr<valijson::Schema> schema_;
};

}  // namespace greenlight::yaml_doc
