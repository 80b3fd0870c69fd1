#include "engine/profiles.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <regex>
#include <set>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "engine/yaml_schema.h"
#include "greenlight/profile_schema.h"
#include "net/pinned_fetch.h"

namespace greenlight {
namespace {

using yaml_doc::Fail;
using yaml_doc::FieldName;

void ValidateProfileSchema(const YamlDocument& doc) {
  static const yaml_doc::CompiledSchema schema(kProfileSchemaJson);
  schema.Validate(doc);
}

bool ParamTypeMatches(const nlohmann::json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_number_integer();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "string_or_list") {
    if (v.is_string()) return true;
    if (!v.is_array() || v.empty()) return false;
    for (const auto& e : v) {
      if (!e.is_string()) return false;
    }
    return true;
  }
  return true;  // any
}

const std::regex& WholeReference() {
  static const std::regex re(R"(^\$\{([a-z][a-z0-9_]*)\}$)");
  return re;
}
const std::regex& AnyReference() {
  static const std::regex re(R"(\$\{([a-z][a-z0-9_]*)\})");
  return re;
}

std::string ScalarText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Replaces ${name} in every string of `v`: a string that is exactly one reference takes the
// parameter's value and type; references inside longer text are replaced by the value's text.
// `check_only` validates the names without values (ValidateProfileFile).
void Substitute(nlohmann::json& v, const std::string& pointer, const nlohmann::json& values,
                const YamlDocument& doc, bool check_only) {
  if (v.is_object()) {
    for (auto& [k, e] : v.items()) {
      Substitute(e, pointer + "/" + JsonPointerEscape(k), values, doc, check_only);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      Substitute(v[i], pointer + "/" + std::to_string(i), values, doc, check_only);
    }
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), AnyReference());
         it != std::sregex_iterator(); ++it) {
      if (!values.contains((*it)[1].str())) {
        Fail(doc, pointer,
             "unknown parameter '${" + (*it)[1].str() + "}' (declare it under parameters:)");
      }
    }
    if (check_only) return;
    std::smatch m;
    if (std::regex_match(s, m, WholeReference())) {
      v = values.at(m[1].str());
      return;
    }
    std::string out;
    auto last = s.cbegin();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), AnyReference());
         it != std::sregex_iterator(); ++it) {
      out.append(last, s.cbegin() + it->position());
      out += ScalarText(values.at((*it)[1].str()));
      last = s.cbegin() + it->position() + it->length();
    }
    out.append(last, s.cend());
    v = out;
  }
}

struct LoadedProfile {
  YamlDocument doc;
  ProfileRef ref;
};

LoadedProfile ParseProfile(const std::string& text, const std::string& display,
                           const std::string& source) {
  LoadedProfile p;
  p.doc = ParseYaml(text, display);
  if (!p.doc.value.is_object()) Fail(p.doc, "", "a profile must be a YAML mapping");
  ValidateProfileSchema(p.doc);
  const auto& meta = p.doc.value["metadata"];
  p.ref.name = meta["name"].get<std::string>();
  p.ref.version = meta["version"].get<std::string>();
  p.ref.authority = meta["authority"].get<std::string>();
  p.ref.sha256 = Sha256Hex(text);
  p.ref.source = source;
  // Parameter defaults must have the declared type; every ${reference} must be declared.
  const nlohmann::json params = p.doc.value.value("parameters", nlohmann::json::object());
  for (const auto& [name, decl] : params.items()) {
    if (decl.contains("default") &&
        !ParamTypeMatches(decl["default"], decl["type"].get<std::string>())) {
      Fail(p.doc, "/parameters/" + name + "/default",
           "the default is not a " + decl["type"].get<std::string>());
    }
  }
  nlohmann::json criteria = p.doc.value["criteria"];
  Substitute(criteria, "/criteria", params, p.doc, true);
  return p;
}

std::string PinnedField(const nlohmann::json& entry, const char* key) {
  return entry.contains(key) && entry[key].is_string() ? entry[key].get<std::string>() : "";
}

// A digest of digits only (or digits and one 'e') reads as a YAML number: ask for quotes.
void RequireTextDigest(const YamlDocument& doc, const nlohmann::json& entry,
                       const std::string& pointer) {
  if (entry.contains("sha256") && !entry["sha256"].is_string()) {
    Fail(doc, pointer + "/sha256",
         "expected 64 hex digits as a string (quote it: sha256: \"...\")");
  }
}

// Rethrows a network or fetch failure with the position of the field that named the URL.
template <typename F>
auto AtPosition(const YamlDocument& doc, const std::string& pointer, F&& body) {
  try {
    return body();
  } catch (const Error& e) {
    const std::string msg = doc.Where(pointer) + ": " + FieldName(pointer) + ": " + e.what();
    if (e.kind() == ErrorKind::kInput) throw InputError(msg);
    throw RuntimeError(msg);
  }
}

// Copies the marks under `from` (in `src`) to `to`, tagged with `file` when it is not the
// document's own.
void CopyMarks(const YamlDocument& src, const std::string& from, const std::string& to,
               const std::string& file, YamlDocument& dst) {
  for (auto it = src.marks.lower_bound(from); it != src.marks.end(); ++it) {
    const std::string& p = it->first;
    if (p.compare(0, from.size(), from) != 0) break;
    if (p.size() > from.size() && p[from.size()] != '/') continue;
    SourceMark m = it->second;
    if (!file.empty()) m.file = file;
    dst.marks[to + p.substr(from.size())] = m;
  }
}

bool OverrideAllowed(const nlohmann::json& overridable, const std::string& field) {
  for (const auto& f : overridable) {
    const std::string a = f.get<std::string>();
    if (a == field || (a == "params" && field.rfind("params.", 0) == 0)) return true;
  }
  return false;
}

void ResolveRemoteInputs(EffectiveCriteria& out,
                         const std::function<const net::HttpOptions&()>& http) {
  static const std::vector<std::pair<const char*, const char*>> kFields = {
      {"model", "path"},     {"reference", "path"}, {"surrogate", "path"},
      {"dataset", "images"}, {"dataset", "labels"}, {"dataset", "path"}};
  nlohmann::json& v = out.doc.value;
  for (const auto& [section, key] : kFields) {
    if (!v.contains(section) || !v[section].is_object() || !v[section].contains(key)) continue;
    nlohmann::json& field = v[section][key];
    const std::string pointer = std::string("/") + section + "/" + key;
    const std::string name = std::string(section) + "." + key;
    if (field.is_string()) {
      if (net::LooksLikeUrl(field.get<std::string>())) {
        Fail(out.doc, pointer,
             "a remote input must be pinned: {url: https://..., sha256: <64 hex digits>}");
      }
      continue;
    }
    if (!field.is_object()) continue;  // The schema reports it.
    RequireTextDigest(out.doc, field, pointer);
    const std::string url = PinnedField(field, "url");
    const std::string sha = PinnedField(field, "sha256");
    if (url.empty() || sha.empty() || field.size() != 2) {
      Fail(out.doc, pointer, "a remote input is {url: https://..., sha256: <64 hex digits>}");
    }
    if (!net::IsSha256Hex(sha)) Fail(out.doc, pointer + "/sha256", "expected 64 hex digits");
    const auto path =
        AtPosition(out.doc, pointer + "/url", [&] { return net::FetchPinned(url, sha, http()); });
    std::string lower = sha;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.remote_inputs.push_back({name, url, lower, path});
    field = path.string();
  }
}

}  // namespace

bool IsProfileDocument(const YamlDocument& doc) {
  return doc.value.is_object() && doc.value.value("kind", "") == "Profile";
}

ProfileRef ValidateProfileFile(const std::filesystem::path& path) {
  const std::string text = ReadFile(path);
  return ParseProfile(text, path.string(), path.string()).ref;
}

EffectiveCriteria ResolveEffectiveCriteria(const YamlDocument& doc) {
  EffectiveCriteria out;
  out.doc = doc;
  const nlohmann::json& v = doc.value;
  if (!v.is_object()) return out;
  const bool has_extends = v.contains("extends");
  if (!has_extends && v.contains("overrides")) {
    Fail(doc, "/overrides", "overrides: needs extends: (it changes criteria of a profile)");
  }
  // Read the network settings only when something is fetched.
  std::unique_ptr<net::HttpOptions> options;
  const std::function<const net::HttpOptions&()> http = [&]() -> const net::HttpOptions& {
    if (!options) options = std::make_unique<net::HttpOptions>(net::HttpOptions::FromEnvironment());
    return *options;
  };

  if (has_extends) {
    const std::filesystem::path base = std::filesystem::absolute(doc.path).parent_path();
    nlohmann::json extends = v["extends"];
    if (extends.is_string() || extends.is_object()) extends = nlohmann::json::array({extends});
    if (!extends.is_array() || extends.empty()) {
      Fail(doc, "/extends",
           "expected a profile (path, {path, with} or {url, sha256, with}) or a list of them");
    }
    const nlohmann::json own = v.value("criteria", nlohmann::json::array());
    const nlohmann::json overrides = v.value("overrides", nlohmann::json::object());
    if (!overrides.is_object())
      Fail(doc, "/overrides", "expected a mapping: criterion id -> fields");
    nlohmann::json criteria = nlohmann::json::array();
    YamlDocument& eff = out.doc;
    eff.value.erase("extends");
    eff.value.erase("overrides");
    for (auto it = eff.marks.begin(); it != eff.marks.end();) {
      const std::string& p = it->first;
      const bool drop = p.rfind("/extends", 0) == 0 || p.rfind("/overrides", 0) == 0 ||
                        p.rfind("/criteria/", 0) == 0;
      it = drop ? eff.marks.erase(it) : std::next(it);
    }
    std::set<std::string> overridden;

    for (size_t e = 0; e < extends.size(); ++e) {
      const std::string at = v["extends"].is_array() ? "/extends/" + std::to_string(e) : "/extends";
      nlohmann::json entry = extends[e];
      if (entry.is_string()) entry = {{"path", entry}};
      if (!entry.is_object()) Fail(doc, at, "expected a path or {path|url, sha256, with}");
      for (const auto& [k, _] : entry.items()) {
        if (k != "path" && k != "url" && k != "sha256" && k != "with") {
          Fail(doc, at + "/" + k, "unknown key (expected path or url with sha256, and with)");
        }
      }
      std::string text, source, display;
      RequireTextDigest(doc, entry, at);
      if (entry.contains("url")) {
        source = PinnedField(entry, "url");
        const std::string sha = PinnedField(entry, "sha256");
        if (source.empty()) Fail(doc, at + "/url", "expected an https URL");
        if (sha.empty()) {
          Fail(doc, at, "a profile fetched by URL must be pinned: add sha256: <64 hex digits>");
        }
        if (!net::IsSha256Hex(sha)) Fail(doc, at + "/sha256", "expected 64 hex digits");
        const auto path =
            AtPosition(doc, at + "/url", [&] { return net::FetchPinned(source, sha, http()); });
        text = ReadFile(path);
        display = source;
      } else if (entry.contains("path") && entry["path"].is_string()) {
        source = entry["path"].get<std::string>();
        if (net::LooksLikeUrl(source)) {
          Fail(doc, at + "/path", "a URL goes under url: with its sha256");
        }
        std::filesystem::path p(source);
        p = p.is_absolute() ? p : (base / p).lexically_normal();
        text = AtPosition(doc, at + "/path", [&] { return ReadFile(p); });
        if (entry.contains("sha256")) {
          const std::string got = Sha256Hex(text);
          if (PinnedField(entry, "sha256") != got) {
            Fail(doc, at + "/sha256", "the profile's sha256 is " + got + ", not the pinned one");
          }
        }
        display = p.string();
      } else {
        Fail(doc, at, "expected path: or url: with sha256:");
      }
      LoadedProfile profile = ParseProfile(text, display, source);
      const int index = static_cast<int>(out.profiles.size());
      for (const auto& p : out.profiles) {
        if (p.name == profile.ref.name) Fail(doc, at, "profile '" + p.name + "' is extended twice");
      }
      out.profiles.push_back(profile.ref);

      // Parameter values: declared ones only, of the declared type; defaults fill the rest.
      const nlohmann::json decls = profile.doc.value.value("parameters", nlohmann::json::object());
      const nlohmann::json with = entry.value("with", nlohmann::json::object());
      if (!with.is_object()) Fail(doc, at + "/with", "expected a mapping of parameter values");
      nlohmann::json values = nlohmann::json::object();
      for (const auto& [name, value] : with.items()) {
        const std::string wp = at + "/with/" + JsonPointerEscape(name);
        if (!decls.contains(name)) {
          std::string known;
          for (const auto& [n, _] : decls.items()) known += (known.empty() ? "" : ", ") + n;
          Fail(doc, wp,
               "profile '" + profile.ref.name + "' has no parameter '" + name +
                   "' (parameters: " + (known.empty() ? "none" : known) + ")");
        }
        const auto& d = decls[name];
        if (!ParamTypeMatches(value, d["type"].get<std::string>())) {
          Fail(doc, wp, "expected " + d["type"].get<std::string>() + ", got " + value.dump());
        }
        if (value.is_number() &&
            ((d.contains("minimum") && value.get<double>() < d["minimum"].get<double>()) ||
             (d.contains("maximum") && value.get<double>() > d["maximum"].get<double>()))) {
          Fail(doc, wp,
               "out of the declared range [" + d.value("minimum", nlohmann::json()).dump() + ", " +
                   d.value("maximum", nlohmann::json()).dump() + "]");
        }
        values[name] = value;
      }
      for (const auto& [name, d] : decls.items()) {
        if (values.contains(name)) continue;
        if (!d.contains("default")) {
          Fail(doc, at,
               "profile '" + profile.ref.name + "' needs parameter '" + name + "' under with: (" +
                   d["description"].get<std::string>() + ")");
        }
        values[name] = d["default"];
      }

      const nlohmann::json& pcrit = profile.doc.value["criteria"];
      for (size_t j = 0; j < pcrit.size(); ++j) {
        nlohmann::json c = pcrit[j];
        const std::string from = "/criteria/" + std::to_string(j);
        Substitute(c, from, values, profile.doc, false);
        const nlohmann::json overridable = c.value("overridable", nlohmann::json::array());
        c.erase("overridable");
        const std::string to = "/criteria/" + std::to_string(criteria.size());
        CopyMarks(profile.doc, from, to, display, eff);
        CriterionOrigin origin;
        origin.profile = index;
        const std::string id = c["id"].get<std::string>();
        if (overrides.contains(id)) {
          overridden.insert(id);
          const std::string op = "/overrides/" + JsonPointerEscape(id);
          const auto& o = overrides[id];
          if (!o.is_object()) Fail(doc, op, "expected a mapping of the fields to change");
          for (const auto& [field, value] : o.items()) {
            const std::string fp = op + "/" + JsonPointerEscape(field);
            if (field == "params") {
              if (!value.is_object()) Fail(doc, fp, "expected a mapping of parameters");
              for (const auto& [k, pv] : value.items()) {
                const std::string pp = fp + "/" + JsonPointerEscape(k);
                if (!OverrideAllowed(overridable, "params." + k)) {
                  Fail(doc, pp,
                       "profile '" + profile.ref.name + "' " + profile.ref.version +
                           " does not allow overriding params." + k + " of criterion '" + id + "'");
                }
                nlohmann::json& params = c["params"];
                if (!params.is_object()) params = nlohmann::json::object();
                origin.overrides.push_back({{"field", "params." + k},
                                            {"profile_value", params.value(k, nlohmann::json())},
                                            {"value", pv}});
                params[k] = pv;
                CopyMarks(doc, pp, to + "/params/" + JsonPointerEscape(k), "", eff);
              }
              continue;
            }
            if (field != "threshold" && field != "confidence" && field != "severity" &&
                field != "description") {
              Fail(doc, fp,
                   "cannot be overridden (overridable fields: threshold, confidence, severity, "
                   "description, params)");
            }
            if (!OverrideAllowed(overridable, field)) {
              std::string allowed;
              for (const auto& a : overridable)
                allowed += (allowed.empty() ? "" : ", ") + a.get<std::string>();
              Fail(doc, fp,
                   "profile '" + profile.ref.name + "' " + profile.ref.version +
                       " does not allow overriding the " + field + " of criterion '" + id +
                       "' (overridable: " + (allowed.empty() ? "nothing" : allowed) + ")");
            }
            origin.overrides.push_back({{"field", field},
                                        {"profile_value", c.value(field, nlohmann::json())},
                                        {"value", value}});
            c[field] = value;
            // Positions of the overridden field are the override's.
            for (auto it = eff.marks.lower_bound(to + "/" + field); it != eff.marks.end();) {
              if (it->first.rfind(to + "/" + field, 0) != 0) break;
              it = eff.marks.erase(it);
            }
            CopyMarks(doc, fp, to + "/" + JsonPointerEscape(field), "", eff);
          }
        }
        out.origins[id] = origin;
        criteria.push_back(std::move(c));
      }
    }
    for (const auto& [id, _] : overrides.items()) {
      if (!overridden.count(id)) {
        Fail(doc, "/overrides/" + JsonPointerEscape(id),
             "no criterion '" + id + "' in the extended profiles");
      }
    }
    if (!own.is_array()) Fail(doc, "/criteria", "expected a list of criteria");
    for (size_t j = 0; j < own.size(); ++j) {
      const std::string to = "/criteria/" + std::to_string(criteria.size());
      CopyMarks(doc, "/criteria/" + std::to_string(j), to, "", eff);
      criteria.push_back(own[j]);
    }
    eff.value["criteria"] = criteria;
  }

  // Remote inputs are fetched only when the document names one (no network otherwise).
  ResolveRemoteInputs(out, http);
  return out;
}

namespace {

void Emit(YAML::Emitter& e, const nlohmann::json& v) {
  if (v.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, x] : v.items()) {
      e << YAML::Key << k << YAML::Value;
      Emit(e, x);
    }
    e << YAML::EndMap;
  } else if (v.is_array()) {
    const bool flat =
        std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_primitive(); });
    e << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& x : v) Emit(e, x);
    e << YAML::EndSeq;
  } else if (v.is_string()) {
    e << YAML::DoubleQuoted << v.get<std::string>();
  } else if (v.is_null()) {
    e << YAML::Null;
  } else {
    e << v.dump();  // Numbers and booleans as JSON writes them (round-trips exactly).
  }
}

}  // namespace

std::string EffectiveCriteriaYaml(const EffectiveCriteria& effective) {
  // Keys in the order the documentation writes them; any other key follows, alphabetically.
  static const std::vector<std::string> kTop = {"apiVersion", "kind",      "metadata",  "settings",
                                                "model",      "reference", "surrogate", "dataset"};
  static const std::vector<std::string> kCriterion = {
      "id", "metric", "description", "params", "threshold", "severity", "confidence", "reference"};
  auto emit_ordered = [](const nlohmann::json& obj, const std::vector<std::string>& order,
                         const std::set<std::string>& skip) {
    YAML::Emitter e;
    e << YAML::BeginMap;
    for (const auto& k : order) {
      if (obj.contains(k) && !skip.count(k)) {
        e << YAML::Key << k << YAML::Value;
        Emit(e, obj[k]);
      }
    }
    for (const auto& [k, x] : obj.items()) {
      if (std::find(order.begin(), order.end(), k) == order.end() && !skip.count(k)) {
        e << YAML::Key << k << YAML::Value;
        Emit(e, x);
      }
    }
    e << YAML::EndMap;
    return std::string(e.c_str());
  };
  std::string out = emit_ordered(effective.doc.value, kTop, {"criteria"}) + "\ncriteria:\n";
  for (const auto& c : effective.doc.value.value("criteria", nlohmann::json::array())) {
    const auto it = effective.origins.find(c.value("id", ""));
    if (it != effective.origins.end() && it->second.profile >= 0) {
      const ProfileRef& p = effective.profiles[static_cast<size_t>(it->second.profile)];
      out += "  # from profile " + p.name + " " + p.version + " (sha256 " + p.sha256 + ")\n";
      for (const auto& o : it->second.overrides) {
        out += "  # override " + o["field"].get<std::string>() + ": " + o["profile_value"].dump() +
               " -> " + o["value"].dump() + "\n";
      }
    }
    const std::string item = emit_ordered(c, kCriterion, {});
    std::string prefix = "  - ";
    size_t begin = 0;
    while (begin < item.size()) {
      size_t nl = item.find('\n', begin);
      if (nl == std::string::npos) nl = item.size();
      out += prefix + item.substr(begin, nl - begin) + "\n";
      prefix = "    ";
      begin = nl + 1;
    }
  }
  return out;
}

}  // namespace greenlight
