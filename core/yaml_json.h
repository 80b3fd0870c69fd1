// YAML documents as JSON values (for schema validation with valijson), keeping every node's
// source position so errors can name the file, line and column.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace greenlight {

struct SourceMark {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  // The file the node came from when it is not the document's own (an extended profile's
  // criterion in an effective criteria document); empty otherwise.
  std::string file;
};

struct YamlDocument {
  std::filesystem::path path;
  nlohmann::json value;
  // JSON Pointer ("/criteria/0/metric") -> position of that node in the file.
  std::map<std::string, SourceMark> marks;

  // "<path>:<line>:<col>" for the node at `pointer`, or for its nearest ancestor that has one.
  std::string Where(const std::string& pointer) const;
};

// Parses YAML 1.2 core-schema scalars (plain scalars become null/bool/int/float when they look like
// one; quoted scalars stay strings). Throws InputError "<path>:<line>:<col>: <problem>".
YamlDocument LoadYamlFile(const std::filesystem::path& path);
YamlDocument ParseYaml(const std::string& text, const std::filesystem::path& name);

// Escapes a key for use in a JSON Pointer (RFC 6901).
std::string JsonPointerEscape(const std::string& key);

}  // namespace greenlight
