#include "reports/report.h"

#include <filesystem>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "core/json_limits.h"

namespace greenlight {
namespace {

nlohmann::json OptionalNumber(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json ProfileJson(const ProfileRef& p) {
  return {{"name", p.name},
          {"version", p.version},
          {"sha256", p.sha256},
          {"source", p.source},
          {"authority", p.authority}};
}

ProfileRef ProfileFromJson(const nlohmann::json& j, const std::string& where);

nlohmann::json ResultJson(const CriterionResult& r) {
  nlohmann::json j = {
      {"id", r.id},
      {"metric", r.metric},
      {"concern", r.concern},
      {"severity", r.severity},
      {"status", std::string(StatusName(r.status))},
      {"value", OptionalNumber(r.value)},
      {"unit", r.unit},
      {"interval", nullptr},
      {"samples", r.samples},
      {"threshold", {{"op", r.threshold.op}, {"value", r.threshold.value}}},
      {"confidence", OptionalNumber(r.confidence)},
      {"method", r.method},
      {"deterministic", r.deterministic},
      {"reference", r.reference},
      {"message", r.message},
      {"params", r.params},
      {"details", r.details},
      {"elapsed_s", r.elapsed_s},
      {"profile", r.profile ? ProfileJson(*r.profile) : nlohmann::json(nullptr)},
      {"overrides", r.overrides},
  };
  if (r.threshold.high) j["threshold"]["high"] = *r.threshold.high;
  // Only when known, so a report read back from an older statement serialises to its own bytes.
  if (r.line) {
    j["location"] = {{"line", *r.line}};
    if (!r.line_file.empty()) j["location"]["file"] = r.line_file;
  }
  if (r.interval) {
    j["interval"] = {{"low", r.interval->low},
                     {"high", r.interval->high},
                     {"level", r.interval->level},
                     {"method", r.interval->method}};
  }
  return j;
}

template <typename T>
T Get(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw InputError(where + ": missing field '" + key + "'");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return JsonInteger<T>(j.at(key), where + "." + key);
  } else {
    try {
      return j.at(key).get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where + "." + key + ": " + e.what());
    }
  }
}

// An optional integer field: `fallback` when absent or null.
template <typename T>
T GetOr(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  return Get<T>(j, key, where);
}

nlohmann::json SelectionJson(const Report::Dataset::Selection& selection) {
  nlohmann::json j = {{"method", selection.method},
                      {"declared_as", selection.declared_as},
                      {"requested", selection.requested}};
  if (selection.seed) j["seed"] = *selection.seed;
  if (selection.method == "stratified") {
    nlohmann::json strata = nlohmann::json::array();
    for (const auto& s : selection.strata) {
      strata.push_back(
          {{"label", s.label}, {"rows_in_file", s.rows_in_file}, {"rows_drawn", s.rows_drawn}});
    }
    j["strata"] = strata;
  }
  return j;
}

Report::Dataset::Selection SelectionFromJson(const nlohmann::json& j) {
  const std::string where = "predicate.dataset.selection";
  Report::Dataset::Selection s;
  s.method = Get<std::string>(j, "method", where);
  s.declared_as = j.value("declared_as", "");
  s.requested = GetOr<int64_t>(j, "requested", 0, where);
  if (j.contains("seed") && !j["seed"].is_null()) s.seed = Get<uint64_t>(j, "seed", where);
  for (const auto& st : j.value("strata", nlohmann::json::array())) {
    s.strata.push_back({Get<int64_t>(st, "label", where + ".strata"),
                        Get<int64_t>(st, "rows_in_file", where + ".strata"),
                        Get<int64_t>(st, "rows_drawn", where + ".strata")});
  }
  return s;
}

// 10000 -> "10,000".
std::string Grouped(int64_t n) {
  // Through uint64_t: -n of the most negative int64_t overflows.
  std::string digits =
      std::to_string(n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<size_t>(i), ",");
  }
  return (n < 0 ? "-" : "") + digits;
}

ProfileRef ProfileFromJson(const nlohmann::json& j, const std::string& where) {
  return {Get<std::string>(j, "name", where), Get<std::string>(j, "version", where),
          Get<std::string>(j, "sha256", where), j.value("source", ""), j.value("authority", "")};
}

}  // namespace

std::string AuditedRowsText(const Report::Dataset& d) {
  if (!d.total_rows || !d.selection) {
    return "audited " + Grouped(d.rows) + " rows (the file's rows and the selection not recorded)";
  }
  const auto& s = *d.selection;
  std::string how;
  const std::string seed = s.seed ? " (seed " + std::to_string(*s.seed) + ")" : "";
  if (s.method == "first") {
    how = "first " + Grouped(d.rows);
  } else if (s.method == "random") {
    how = "random " + Grouped(d.rows) + seed;
  } else if (s.method == "stratified") {
    how = "stratified by label, " + Grouped(d.rows) + seed;
  } else {
    how = "all rows";
  }
  return "audited " + Grouped(d.rows) + " of " + Grouped(*d.total_rows) + " rows: " + how;
}

nlohmann::json ToStatement(const Report& report) {
  nlohmann::json subject = nlohmann::json::array();
  if (report.model) {
    subject.push_back({{"name", std::filesystem::path(report.model->path).filename().string()},
                       {"digest", {{"sha256", report.model->sha256}}}});
    if (report.reference) {
      subject.push_back(
          {{"name", std::filesystem::path(report.reference->path).filename().string()},
           {"digest", {{"sha256", report.reference->sha256}}}});
    }
    if (report.surrogate) {
      subject.push_back(
          {{"name", std::filesystem::path(report.surrogate->path).filename().string()},
           {"digest", {{"sha256", report.surrogate->sha256}}}});
    }
  } else {
    for (const auto& f : report.dataset.files) {
      subject.push_back({{"name", std::filesystem::path(f.path).filename().string()},
                         {"digest", {{"sha256", f.sha256}}}});
    }
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : report.dataset.files) {
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"role", f.role}});
  }
  nlohmann::json profiles = nlohmann::json::array();
  for (const auto& p : report.criteria.profiles) profiles.push_back(ProfileJson(p));
  nlohmann::json remote_inputs = nlohmann::json::array();
  for (const auto& i : report.criteria.remote_inputs) {
    remote_inputs.push_back({{"field", i.field}, {"url", i.url}, {"sha256", i.sha256}});
  }
  nlohmann::json results = nlohmann::json::array();
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& r : report.results) {
    results.push_back(ResultJson(r));
    counts[std::string(StatusName(r.status))] =
        counts.value(std::string(StatusName(r.status)), 0) + 1;
  }
  nlohmann::json predicate = {
      {"tool",
       {{"name", report.tool.name},
        {"version", report.tool.version},
        {"git_revision", report.tool.git_revision},
        {"build_type", report.tool.build_type}}},
      {"created_at", report.created_at},
      {"criteria",
       {{"name", report.criteria.name},
        {"version", report.criteria.version},
        {"path", report.criteria.path},
        {"sha256", report.criteria.sha256},
        {"description", report.criteria.description},
        {"authority", report.criteria.authority},
        {"profiles", profiles},
        {"remote_inputs", remote_inputs}}},
      {"model", nullptr},
      {"dataset",
       {{"format", report.dataset.format},
        {"path", report.dataset.path},
        {"sha256", report.dataset.sha256},
        {"rows", report.dataset.rows},
        {"files", files}}},
      {"environment", report.environment},
      {"seed", report.seed},
      {"seed_generator", report.seed_generator},
      {"verdict", std::string(StatusName(report.verdict))},
      {"summary", counts},
      {"results", results},
  };
  // Reports written before total_rows and selection existed are read back without them.
  if (report.dataset.total_rows) predicate["dataset"]["total_rows"] = *report.dataset.total_rows;
  if (report.dataset.selection) {
    predicate["dataset"]["selection"] = SelectionJson(*report.dataset.selection);
  }
  auto model_json = [](const Report::Model& m) {
    nlohmann::json j{
        {"path", m.path},     {"sha256", m.sha256},         {"format", m.format},
        {"device", m.device}, {"parameters", m.parameters}, {"size_bytes", m.size_bytes}};
    // Only for a language model: classifier reports keep their exact bytes.
    if (m.tokenizer) {
      j["tokenizer"] = *m.tokenizer;
      j["context_length"] = m.context_length;
    }
    return j;
  };
  if (report.model) predicate["model"] = model_json(*report.model);
  // Only when there is one: reports without a reference keep their exact bytes.
  if (report.reference) predicate["reference"] = model_json(*report.reference);
  if (report.surrogate) predicate["surrogate"] = model_json(*report.surrogate);
  return {{"_type", kStatementType},
          {"subject", subject},
          {"predicateType", kPredicateType},
          {"predicate", predicate}};
}

std::string SerializeStatement(const Report& report) { return ToStatement(report).dump(2) + "\n"; }

namespace {

Report FromStatementUnchecked(const nlohmann::json& st) {
  if (!st.is_object()) throw InputError("statement: not a JSON object");
  if (Get<std::string>(st, "_type", "statement") != kStatementType) {
    throw InputError("statement._type: expected " + std::string(kStatementType));
  }
  if (Get<std::string>(st, "predicateType", "statement") != kPredicateType) {
    throw InputError("statement.predicateType: expected " + std::string(kPredicateType));
  }
  const nlohmann::json& p = st.at("predicate");
  Report r;
  const auto& tool = p.at("tool");
  r.tool = {Get<std::string>(tool, "name", "predicate.tool"),
            Get<std::string>(tool, "version", "predicate.tool"),
            Get<std::string>(tool, "git_revision", "predicate.tool"), tool.value("build_type", "")};
  r.created_at = Get<std::string>(p, "created_at", "predicate");
  const auto& c = p.at("criteria");
  r.criteria = {Get<std::string>(c, "name", "predicate.criteria"),
                Get<std::string>(c, "version", "predicate.criteria"),
                Get<std::string>(c, "path", "predicate.criteria"),
                Get<std::string>(c, "sha256", "predicate.criteria"),
                c.value("description", ""),
                c.value("authority", "")};
  for (const auto& j : c.value("profiles", nlohmann::json::array())) {
    r.criteria.profiles.push_back(ProfileFromJson(j, "predicate.criteria.profiles"));
  }
  for (const auto& j : c.value("remote_inputs", nlohmann::json::array())) {
    const std::string w = "predicate.criteria.remote_inputs";
    r.criteria.remote_inputs.push_back({Get<std::string>(j, "field", w),
                                        Get<std::string>(j, "url", w),
                                        Get<std::string>(j, "sha256", w)});
  }
  for (const std::string field : {"model", "reference", "surrogate"}) {
    if (!p.contains(field) || p[field].is_null()) continue;
    const auto& m = p[field];
    const std::string where = "predicate." + field;
    Report::Model model;
    model.path = Get<std::string>(m, "path", where);
    model.sha256 = Get<std::string>(m, "sha256", where);
    model.format = m.value("format", "");
    model.device = m.value("device", "");
    model.parameters = Get<int64_t>(m, "parameters", where);
    model.size_bytes = Get<int64_t>(m, "size_bytes", where);
    if (m.contains("tokenizer") && m["tokenizer"].is_object()) {
      model.tokenizer = m["tokenizer"];
      model.context_length = Get<int64_t>(m, "context_length", where);
    }
    (field == "model" ? r.model : field == "reference" ? r.reference : r.surrogate) = model;
  }
  const auto& d = p.at("dataset");
  r.dataset.format = d.value("format", "");
  r.dataset.path = Get<std::string>(d, "path", "predicate.dataset");
  r.dataset.sha256 = Get<std::string>(d, "sha256", "predicate.dataset");
  r.dataset.rows = Get<int64_t>(d, "rows", "predicate.dataset");
  if (d.contains("total_rows") && !d["total_rows"].is_null()) {
    r.dataset.total_rows = Get<int64_t>(d, "total_rows", "predicate.dataset");
  }
  if (d.contains("selection") && !d["selection"].is_null()) {
    r.dataset.selection = SelectionFromJson(d["selection"]);
  }
  for (const auto& f : d.value("files", nlohmann::json::array())) {
    r.dataset.files.push_back({Get<std::string>(f, "path", "predicate.dataset.files"),
                               Get<std::string>(f, "sha256", "predicate.dataset.files"),
                               f.value("role", "")});
  }
  r.environment = p.value("environment", nlohmann::json::object());
  r.seed = GetOr<uint64_t>(p, "seed", 0, "predicate");
  r.seed_generator = p.value("seed_generator", std::string());
  const auto verdict = ParseStatus(Get<std::string>(p, "verdict", "predicate"));
  if (!verdict) throw InputError("predicate.verdict: unknown status");
  r.verdict = *verdict;
  for (const auto& j : p.at("results")) {
    const std::string where = "predicate.results[" + j.value("id", "?") + "]";
    CriterionResult x;
    x.id = Get<std::string>(j, "id", where);
    x.metric = Get<std::string>(j, "metric", where);
    x.concern = j.value("concern", "");
    x.severity = Get<std::string>(j, "severity", where);
    const auto status = ParseStatus(Get<std::string>(j, "status", where));
    if (!status) throw InputError(where + ".status: unknown status");
    x.status = *status;
    if (j.contains("value") && !j["value"].is_null()) x.value = j["value"].get<double>();
    x.unit = j.value("unit", "");
    if (j.contains("interval") && !j["interval"].is_null()) {
      const auto& i = j["interval"];
      x.interval = Interval{Get<double>(i, "low", where), Get<double>(i, "high", where),
                            Get<double>(i, "level", where), i.value("method", "")};
    }
    x.samples = GetOr<int64_t>(j, "samples", 0, where);
    const auto& t = j.at("threshold");
    x.threshold.op = Get<std::string>(t, "op", where);
    x.threshold.value = Get<double>(t, "value", where);
    if (t.contains("high")) x.threshold.high = t["high"].get<double>();
    if (j.contains("confidence") && !j["confidence"].is_null())
      x.confidence = j["confidence"].get<double>();
    x.method = j.value("method", "");
    x.deterministic = j.value("deterministic", true);
    x.reference = j.value("reference", "");
    x.message = j.value("message", "");
    x.params = j.value("params", nlohmann::json::object());
    x.details = j.value("details", nlohmann::json::object());
    x.elapsed_s = j.value("elapsed_s", 0.0);
    if (j.contains("profile") && !j["profile"].is_null()) {
      x.profile = ProfileFromJson(j["profile"], where + ".profile");
    }
    if (j.contains("overrides") && !j["overrides"].is_null()) {
      // [{field, profile_value, value}]: what the criteria file changed of its profile's criterion.
      const auto& o = j["overrides"];
      if (!o.is_array()) throw InputError(where + ".overrides: not an array");
      for (size_t k = 0; k < o.size(); ++k) {
        const std::string at = where + ".overrides[" + std::to_string(k) + "]";
        if (!o[k].is_object()) throw InputError(at + ": not an object");
        Get<std::string>(o[k], "field", at);
        if (!o[k].contains("profile_value")) {
          throw InputError(at + ": missing field 'profile_value'");
        }
        if (!o[k].contains("value")) throw InputError(at + ": missing field 'value'");
      }
      x.overrides = o;
    }
    if (j.contains("location") && !j["location"].is_null()) {
      const auto& l = j["location"];
      x.line = Get<int>(l, "line", where + ".location");
      if (*x.line < 1) throw InputError(where + ".location.line: must be at least 1");
      x.line_file = l.value("file", "");
    }
    r.results.push_back(std::move(x));
  }
  return r;
}

}  // namespace

Report FromStatement(const nlohmann::json& statement) {
  try {
    return FromStatementUnchecked(statement);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong type or a missing object.
    throw InputError("statement: not a greenlight report: " + JsonErrorText(e));
  }
}

}  // namespace greenlight
