// The details JSON Schemas of the metrics (schemas/details/<metric>.schema.json, shared shapes in
// common.schema.json), parsed with valijson for the tests that check real details against them.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "tests/test_util.h"

namespace greenlight::testing {

inline std::filesystem::path SchemaDir() { return SourceDir() / "schemas" / "details"; }

inline nlohmann::json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return nlohmann::json::parse(in);
}

// The parsed schema of every metric, `$ref`s to common.schema.json resolved from schemas/details/.
class DetailsSchemas {
 public:
  bool Has(const std::string& metric) const {
    return std::filesystem::exists(SchemaDir() / (metric + ".schema.json"));
  }

  // Empty when `details` is valid for `metric`; otherwise every violation, separated by "; ".
  std::string Errors(const std::string& metric, const nlohmann::json& details) {
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(details);
    if (validator.validate(Get(metric), target, &results)) return "";
    std::string why;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      std::string where;
      for (const auto& c : e.context) where += c;
      why += where + ": " + e.description + "; ";
    }
    return why.empty() ? "invalid" : why;
  }

  const valijson::Schema& Get(const std::string& metric) {
    auto& slot = schemas_[metric];
    if (!slot) {
      const nlohmann::json doc = ReadJson(SchemaDir() / (metric + ".schema.json"));
      slot = std::make_unique<valijson::Schema>();
      valijson::SchemaParser parser;
      valijson::adapters::NlohmannJsonAdapter adapter(doc);
      // A reference names a file beside the schema (after its $id's base): load it from there.
      auto fetch = [](const std::string& uri) -> const nlohmann::json* {
        std::string name = uri.substr(uri.find_last_of('/') + 1);
        name = name.substr(0, name.find('#'));
        return new nlohmann::json(ReadJson(SchemaDir() / name));
      };
      auto release = [](const nlohmann::json* doc) { delete doc; };
      parser.populateSchema(adapter, *slot, fetch, release);
    }
    return *slot;
  }

 private:
  std::map<std::string, std::unique_ptr<valijson::Schema>> schemas_;
};

}  // namespace greenlight::testing
