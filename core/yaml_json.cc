#include "core/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>

#include "core/error.h"
#include "core/files.h"

namespace greenlight {
namespace {

nlohmann::json ConvertScalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // Quoted or block scalar: always a string.
  static const std::regex kNull("^(~|null|Null|NULL|)$");
  static const std::regex kTrue("^(true|True|TRUE)$");
  static const std::regex kFalse("^(false|False|FALSE)$");
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  static const std::regex kInf("^[-+]?\\.(inf|Inf|INF)$");
  static const std::regex kNan("^\\.(nan|NaN|NAN)$");
  if (std::regex_match(s, kNull)) return nullptr;
  if (std::regex_match(s, kTrue)) return true;
  if (std::regex_match(s, kFalse)) return false;
  if (std::regex_match(s, kInt)) {
    int64_t v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return std::stod(s);  // Out of int64 range: keep as a number.
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  if (std::regex_match(s, kInf)) {
    return s[0] == '-' ? -std::numeric_limits<double>::infinity()
                       : std::numeric_limits<double>::infinity();
  }
  if (std::regex_match(s, kNan)) return std::numeric_limits<double>::quiet_NaN();
  return s;
}

SourceMark MarkOf(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return {m.line + 1, m.column + 1};
}

nlohmann::json Convert(const YAML::Node& node, const std::string& pointer, YamlDocument& doc) {
  doc.marks[pointer] = MarkOf(node);
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ConvertScalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      size_t i = 0;
      for (const auto& child : node) {
        arr.push_back(Convert(child, pointer + "/" + std::to_string(i++), doc));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          const SourceMark m = MarkOf(kv.first);
          throw InputError(doc.path.string() + ":" + std::to_string(m.line) + ":" +
                           std::to_string(m.column) + ": mapping keys must be plain strings");
        }
        const std::string key = kv.first.Scalar();
        if (obj.contains(key)) {
          const SourceMark m = MarkOf(kv.first);
          throw InputError(doc.path.string() + ":" + std::to_string(m.line) + ":" +
                           std::to_string(m.column) + ": duplicate key '" + key + "'");
        }
        const std::string child = pointer + "/" + JsonPointerEscape(key);
        obj[key] = Convert(kv.second, child, doc);
        doc.marks.emplace(child, MarkOf(kv.first));
      }
      return obj;
    }
  }
  return nullptr;
}

}  // namespace

std::string JsonPointerEscape(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string YamlDocument::Where(const std::string& pointer) const {
  std::string p = pointer;
  while (true) {
    auto it = marks.find(p);
    if (it != marks.end()) {
      return (it->second.file.empty() ? path.string() : it->second.file) + ":" +
             std::to_string(it->second.line) + ":" + std::to_string(it->second.column);
    }
    if (p.empty()) return path.string();
    p = p.substr(0, p.rfind('/'));
  }
}

YamlDocument ParseYaml(const std::string& text, const std::filesystem::path& name) {
  YamlDocument doc;
  doc.path = name;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(name.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  try {
    doc.value = Convert(root, "", doc);
  } catch (const YAML::Exception& e) {
    throw InputError(name.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  return doc;
}

YamlDocument LoadYamlFile(const std::filesystem::path& path) {
  return ParseYaml(ReadFile(path), path);
}

}  // namespace greenlight
