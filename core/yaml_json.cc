#include "core/yaml_json.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/files.h"

namespace greenlight {
namespace {

// Limits that keep a hostile criteria file (documented in README, "Limits") from exhausting
// memory or the stack: an alias bomb expands to at most kMaxNodes nodes.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = 100'000;
constexpr size_t kMaxScalarBytes = 64 * 1024;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view StripSign(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return s;
}

// YAML 1.2 core schema: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
// Hand-written rather than std::regex, whose recursive matcher overflows the stack on long input.
bool LooksLikeFloat(std::string_view s) {
  s = StripSign(s);
  const size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  if (e != std::string_view::npos && !AllDigits(StripSign(s.substr(e + 1)))) return false;
  const size_t dot = mantissa.find('.');
  if (dot == std::string_view::npos) return AllDigits(mantissa);
  const std::string_view whole = mantissa.substr(0, dot);
  const std::string_view frac = mantissa.substr(dot + 1);
  if (whole.empty()) return AllDigits(frac);
  return AllDigits(whole) && (frac.empty() || AllDigits(frac));
}

[[noreturn]] void FailAt(const YamlDocument& doc, const YAML::Node& node, const std::string& msg);

nlohmann::json ConvertScalar(const YAML::Node& node, const YamlDocument& doc) {
  const std::string& s = node.Scalar();
  if (s.size() > kMaxScalarBytes) {
    FailAt(doc, node,
           "scalar of " + std::to_string(s.size()) + " bytes, over the limit of " +
               std::to_string(kMaxScalarBytes));
  }
  if (node.Tag() == "!") return s;  // Quoted or block scalar: always a string.
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (AllDigits(StripSign(s))) {
    int64_t v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    // Out of int64 range: kept as a number when a double can hold it.
  }
  if (LooksLikeFloat(s)) {
    errno = 0;
    const double v = std::strtod(s.c_str(), nullptr);
    // ERANGE with a finite result is underflow: the nearest double (0 or a denormal) is kept.
    if (!std::isfinite(v)) {
      FailAt(doc, node,
             "number '" + s.substr(0, 40) + (s.size() > 40 ? "..." : "") +
                 "' is out of range (a finite number is required)");
    }
    return v;
  }
  const std::string_view body = StripSign(s);
  if (body == ".inf" || body == ".Inf" || body == ".INF" || s == ".nan" || s == ".NaN" ||
      s == ".NAN") {
    FailAt(doc, node, "'" + s + "' is not a finite number (a finite number is required)");
  }
  return s;
}

SourceMark MarkOf(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return {m.line + 1, m.column + 1};
}

[[noreturn]] void FailAt(const YamlDocument& doc, const YAML::Node& node, const std::string& msg) {
  const SourceMark m = MarkOf(node);
  throw InputError(doc.path.string() + ":" + std::to_string(m.line) + ":" +
                   std::to_string(m.column) + ": " + msg);
}

nlohmann::json Convert(const YAML::Node& node, const std::string& pointer, YamlDocument& doc,
                       int depth, size_t& nodes) {
  if (++nodes > kMaxNodes) {
    FailAt(doc, node,
           "the document expands to more than " + std::to_string(kMaxNodes) +
               " nodes (aliases included)");
  }
  if (depth > kMaxDepth) {
    FailAt(doc, node, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  doc.marks[pointer] = MarkOf(node);
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ConvertScalar(node, doc);
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      size_t i = 0;
      for (const auto& child : node) {
        arr.push_back(Convert(child, pointer + "/" + std::to_string(i++), doc, depth + 1, nodes));
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
        const std::string& key = kv.first.Scalar();
        if (key.size() > kMaxScalarBytes) FailAt(doc, kv.first, "mapping key too long");
        if (obj.contains(key)) {
          const SourceMark m = MarkOf(kv.first);
          throw InputError(doc.path.string() + ":" + std::to_string(m.line) + ":" +
                           std::to_string(m.column) + ": duplicate key '" + key + "'");
        }
        const std::string child = pointer + "/" + JsonPointerEscape(key);
        obj[key] = Convert(kv.second, child, doc, depth + 1, nodes);
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

namespace {

// yaml-cpp 0.7 never returns on some malformed input: a document starting with ", x" makes its
// parser emit null nodes forever (found by fuzz_criteria). A well-formed stream has at most a few
// events per byte of text (each scalar, collection start or implicit null rests on at least one
// token or indicator), so the text is first parsed with this handler, which only counts events and
// stops at kEventsPerByte per byte. Aliases are single events here; their expansion is limited
// separately when the nodes are converted.
class EventBudget final : public YAML::EventHandler {
 public:
  static constexpr size_t kEventsPerByte = 4;
  explicit EventBudget(size_t bytes) : max_(kEventsPerByte * bytes + 64) {}

  void OnDocumentStart(const YAML::Mark& mark) override { Count(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnMapEnd() override {}

  // Parses every document of `text` into this handler; returns false when the budget ran out.
  bool Run(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    try {
      while (parser.HandleNextDocument(*this)) {
      }
    } catch (const Stop&) {
      return false;
    }
    return true;
  }

  // Set when the budget ran out: where the parser was.
  const std::optional<YAML::Mark>& exceeded() const { return exceeded_; }

 private:
  struct Stop {};
  void Count(const YAML::Mark& mark) {
    if (++events_ > max_) {
      exceeded_ = mark;
      throw Stop{};
    }
  }
  size_t max_;
  size_t events_ = 0;
  std::optional<YAML::Mark> exceeded_;
};

}  // namespace

YamlDocument ParseYaml(const std::string& text, const std::filesystem::path& name) {
  YamlDocument doc;
  doc.path = name;
  if (const size_t bad = FindInvalidUtf8(text); bad != std::string::npos) {
    const TextPosition pos = PositionOf(text, bad);
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw InputError(name.string() + ":" + std::to_string(pos.line) + ":" +
                     std::to_string(pos.column) + ": invalid UTF-8 (byte " + byte + ")");
  }
  std::vector<YAML::Node> documents;
  try {
    EventBudget budget(text.size());
    if (!budget.Run(text)) {
      const YAML::Mark& m = *budget.exceeded();
      throw InputError(name.string() + ":" + std::to_string(m.line + 1) + ":" +
                       std::to_string(m.column + 1) +
                       ": invalid YAML: the parser makes no progress here");
    }
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw InputError(name.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  if (documents.size() > 1) {
    const SourceMark m = MarkOf(documents[1]);
    const std::string where =
        m.line > 0 ? ":" + std::to_string(m.line) + ":" + std::to_string(m.column) : "";
    throw InputError(name.string() + where +
                     ": a second YAML document (after '---'); the file must hold exactly one");
  }
  const YAML::Node root = documents.empty() ? YAML::Node() : documents.front();
  try {
    size_t nodes = 0;
    doc.value = Convert(root, "", doc, 0, nodes);
  } catch (const YAML::Exception& e) {
    throw InputError(name.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  return doc;
}

YamlDocument LoadYamlFile(const std::filesystem::path& path) {
  return ParseYaml(ReadFile(path, kMaxCriteriaBytes, "YAML file"), path);
}

}  // namespace greenlight
