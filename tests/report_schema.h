// Validation of real documents against the published JSON Schemas (schemas/), shared by the
// tests: reports (schemas/report.schema.json), partials, SARIF.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace greenlight::testing {

// Empty when `doc` is valid against the JSON Schema in `schema_file`; otherwise every violation,
// separated by "; ".
inline std::string SchemaErrors(const std::filesystem::path& schema_file,
                                const nlohmann::json& doc) {
  std::ifstream in(schema_file);
  const nlohmann::json schema_doc = nlohmann::json::parse(in);
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  if (validator.validate(schema, target, &results)) return "";
  std::string why;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) why += e.description + "; ";
  return why.empty() ? "invalid" : why;
}

// The same against schemas/report.schema.json.
inline std::string ReportSchemaErrors(const nlohmann::json& doc) {
  return SchemaErrors(
      std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "schemas" / "report.schema.json", doc);
}

}  // namespace greenlight::testing
