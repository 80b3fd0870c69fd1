// Validation of real reports against the published schema (schemas/report.schema.json), shared by
// every test that runs the CLI.
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

// Empty when `doc` is valid; otherwise every violation, separated by "; ".
inline std::string ReportSchemaErrors(const nlohmann::json& doc) {
  std::ifstream in(std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "schemas" / "report.schema.json");
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

}  // namespace greenlight::testing
