#include "engine/criteria.h"

#include <cmath>
#include <set>
#include <sstream>

#include "auditors/metric.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "engine/yaml_schema.h"
#include "greenlight/criteria_schema.h"

namespace greenlight {
namespace {

std::string FormatNumber(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

using yaml_doc::Fail;

void ValidateAgainstSchema(const YamlDocument& doc) {
  static const yaml_doc::CompiledSchema schema(CriteriaSchemaText());
  schema.Validate(doc);
}

bool TypeMatches(const nlohmann::json& v, ParamType type) {
  auto all = [&](auto pred) {
    if (!v.is_array()) return false;
    for (const auto& e : v) {
      if (!pred(e)) return false;
    }
    return true;
  };
  switch (type) {
    case ParamType::kNumber:
      return v.is_number();
    case ParamType::kInteger:
      return v.is_number_integer();
    case ParamType::kString:
      return v.is_string();
    case ParamType::kBool:
      return v.is_boolean();
    case ParamType::kStringList:
      return all([](const auto& e) { return e.is_string(); });
    case ParamType::kNumberList:
      return all([](const auto& e) { return e.is_number(); });
    case ParamType::kIntegerList:
      return all([](const auto& e) { return e.is_number_integer(); });
    case ParamType::kStringOrList:
      return v.is_string() || all([](const auto& e) { return e.is_string(); });
    case ParamType::kObject:
      return v.is_object();
  }
  return false;
}

std::string Suggest(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out = " (did you mean ";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + ("'" + names[i] + "'");
  return out + "?)";
}

std::filesystem::path Resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

std::string ScalarText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// A scalar or a list of scalars as text; null gives an empty list.
std::vector<std::string> ScalarList(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) return {ScalarText(v)};
  for (const auto& e : v) out.push_back(ScalarText(e));
  return out;
}

Threshold ParseThreshold(const nlohmann::json& t) {
  Threshold out;
  // The schema allows exactly one key. (A structured binding of *t.items().begin() would refer
  // into a temporary iterator that is gone at the end of that statement.)
  const auto first = t.begin();
  const std::string& op = first.key();
  const nlohmann::json& value = first.value();
  out.op = op;
  if (op == "between") {
    out.value = value[0].get<double>();
    out.high = value[1].get<double>();
  } else {
    out.value = value.get<double>();
  }
  return out;
}

// A model: or reference: section. A reference's output, input, format and device default to
// the model's (`inherit`); a model's path is required by the schema.
ModelSpec ParseModelSpec(const YamlDocument& doc, const std::string& at, const nlohmann::json& m,
                         const std::filesystem::path& base, const ModelRegistry& runtimes,
                         const std::optional<ModelSpec>& inherit) {
  ModelSpec spec = inherit.value_or(ModelSpec{});
  spec.format = m.value("format", spec.format);
  if (!runtimes.Has(spec.format)) {
    Fail(doc, at + "/format",
         "unknown model format '" + spec.format + "' (known: " + runtimes.FormatList() + ")");
  }
  spec.path = Resolve(base, m["path"].get<std::string>());
  if (m.contains("output")) {
    const std::string output = m["output"].get<std::string>();
    spec.output = output == "logits"          ? OutputKind::kLogits
                  : output == "probabilities" ? OutputKind::kProbabilities
                                              : OutputKind::kLogProbabilities;
  }
  if (m.contains("input")) {
    spec.input_shape = m["input"]["shape"].get<std::vector<int64_t>>();
    if (m["input"].contains("range")) {
      spec.input_min = m["input"]["range"][0].get<double>();
      spec.input_max = m["input"]["range"][1].get<double>();
      if (!(spec.input_min < spec.input_max)) {
        Fail(doc, at + "/input/range", "the range must be [low, high] with low < high");
      }
    }
  }
  spec.device = m.value("device", inherit ? inherit->device : std::string("cpu"));
  spec.bytes.reset();
  if (m.contains("tokenizer")) {
    TokenizerSpec tokenizer;
    tokenizer.kind = m["tokenizer"]["kind"].get<std::string>();
    if (m["tokenizer"].contains("path")) {
      tokenizer.path = Resolve(base, m["tokenizer"]["path"].get<std::string>());
    }
    spec.tokenizer = tokenizer;
  }
  if (m.contains("context_length")) spec.context_length = m["context_length"].get<int64_t>();
  if (spec.tokenizer) spec.tokenizer->bytes.reset();
  // A language model's spec has a tokenizer; a classifier's has none (a reference may change the
  // format, and with it which of the two it is).
  const bool language_model = spec.format == "causal_lm";
  if (language_model && (!spec.tokenizer || spec.context_length < 1)) {
    Fail(doc, at, "a causal_lm model needs tokenizer: {kind: ...} and context_length: N");
  }
  if (!language_model && spec.tokenizer) {
    if (m.contains("tokenizer")) {
      Fail(doc, at + "/tokenizer",
           "only a language model (format: causal_lm) has a tokenizer; this one is '" +
               spec.format + "'");
    }
    spec.tokenizer.reset();
    spec.context_length = 0;
  }
  if (!language_model && spec.input_shape.empty()) {
    Fail(doc, at, "a '" + spec.format + "' model needs input: {shape: [...]} and output:");
  }
  return spec;
}

}  // namespace

bool Threshold::Passes(double x) const {
  if (op == "gt") return x > value;
  if (op == "gte") return x >= value;
  if (op == "lt") return x < value;
  if (op == "lte") return x <= value;
  if (op == "eq") return x == value;
  return x >= value && x <= high;  // between, inclusive
}

std::string Threshold::ToString() const {
  if (op == "between") return "in [" + FormatNumber(value) + ", " + FormatNumber(high) + "]";
  static const std::map<std::string, std::string> kSymbols = {
      {"gt", ">"}, {"gte", ">="}, {"lt", "<"}, {"lte", "<="}, {"eq", "=="}};
  return kSymbols.at(op) + " " + FormatNumber(value);
}

const std::string& CriteriaSchemaText() {
  static const std::string text(kCriteriaSchemaJson);
  return text;
}

CriteriaFile LoadCriteria(const std::filesystem::path& path, const AuditorRegistry& registry,
                          const std::optional<std::filesystem::path>& model_override,
                          const ModelRegistry& runtimes,
                          const std::optional<std::filesystem::path>& reference_override,
                          const std::optional<std::filesystem::path>& surrogate_override) {
  return ParseCriteria(ReadFile(path, kMaxCriteriaBytes, "criteria file"), path, registry,
                       model_override, runtimes, reference_override, surrogate_override);
}

CriteriaFile ParseCriteria(const std::string& text, const std::filesystem::path& path,
                           const AuditorRegistry& registry,
                           const std::optional<std::filesystem::path>& model_override,
                           const ModelRegistry& runtimes,
                           const std::optional<std::filesystem::path>& reference_override,
                           const std::optional<std::filesystem::path>& surrogate_override) {
  const YamlDocument source = ParseYaml(text, path);
  if (!source.value.is_object()) Fail(source, "", "a criteria file must be a YAML mapping");
  const EffectiveCriteria effective = ResolveEffectiveCriteria(source);
  const YamlDocument& doc = effective.doc;
  ValidateAgainstSchema(doc);
  const nlohmann::json& v = doc.value;
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();

  CriteriaFile out;
  out.path = path;
  out.sha256 = Sha256Hex(text);
  out.profiles = effective.profiles;
  out.remote_inputs = effective.remote_inputs;
  const auto& meta = v["metadata"];
  out.metadata = {meta["name"].get<std::string>(), meta["version"].get<std::string>(),
                  meta.value("description", ""), meta.value("authority", "")};
  if (v.contains("settings")) {
    out.seed = v["settings"].value("seed", uint64_t{0});
    if (v["settings"].contains("threads")) out.threads = v["settings"]["threads"].get<int>();
  }

  if (v.contains("model")) {
    ModelSpec spec = ParseModelSpec(doc, "/model", v["model"], base, runtimes, std::nullopt);
    if (model_override) spec.path = *model_override;
    out.model = spec;
  } else if (model_override) {
    throw InputError(path.string() +
                     ": --model given but the criteria have no model: section "
                     "(it declares the model's output and input shape)");
  }
  if (v.contains("reference")) {
    if (!out.model) Fail(doc, "/reference", "a reference model needs a model: section to compare");
    ModelSpec spec = ParseModelSpec(doc, "/reference", v["reference"], base, runtimes, out.model);
    if (reference_override) spec.path = *reference_override;
    out.reference = spec;
  } else if (reference_override) {
    if (!out.model) {
      throw InputError(path.string() +
                       ": --reference given but the criteria have no model: section to compare");
    }
    // Without a reference: section the reference is read as the model is.
    ModelSpec spec = *out.model;
    spec.path = *reference_override;
    out.reference = spec;
  }
  if (v.contains("surrogate")) {
    if (!out.model) Fail(doc, "/surrogate", "a surrogate model needs a model: section to attack");
    ModelSpec spec = ParseModelSpec(doc, "/surrogate", v["surrogate"], base, runtimes, out.model);
    // Adversarial inputs crafted on the surrogate are fed to the model as they are.
    if (spec.input_shape != out.model->input_shape) {
      Fail(doc, "/surrogate/input/shape",
           "the surrogate must take the model's input shape (the adversarial inputs crafted on it "
           "are fed to the model)");
    }
    if (surrogate_override) spec.path = *surrogate_override;
    out.surrogate = spec;
  } else if (surrogate_override) {
    if (!out.model) {
      throw InputError(path.string() +
                       ": --surrogate given but the criteria have no model: section to attack");
    }
    // Without a surrogate: section the surrogate is read as the model is.
    ModelSpec spec = *out.model;
    spec.path = *surrogate_override;
    out.surrogate = spec;
  }

  const auto& d = v["dataset"];
  DatasetSpec& ds = out.dataset;
  ds.format = d["format"].get<std::string>();
  const bool text_data = ds.format == "text" || ds.format == "jsonl";
  const bool language_model = out.model && out.model->tokenizer;
  if (out.model && text_data != language_model) {
    Fail(doc, "/dataset/format",
         language_model ? "a causal_lm model reads documents: the dataset's format must be text "
                          "or jsonl, not " +
                              ds.format
                        : "a " + ds.format +
                              " dataset holds documents, which only a language "
                              "model (model.format: causal_lm) reads");
  }
  if (text_data) {
    ds.path = Resolve(base, d["path"].get<std::string>());
    for (const std::string key :
         {"images", "labels", "scale", "features", "encode", "sensitive", "predictions"}) {
      if (d.contains(key)) {
        Fail(doc, "/dataset/" + key, "a " + ds.format + " dataset has no " + key + ":");
      }
    }
    if (ds.format == "text") {
      for (const std::string key : {"text", "label", "group"}) {
        if (d.contains(key)) {
          Fail(doc, "/dataset/" + key,
               "a text dataset has no " + key + ": (use format: jsonl for fields)");
        }
      }
      ds.split = d.value("split", std::string("lines"));
    } else {
      if (d.contains("split")) {
        Fail(doc, "/dataset/split",
             "a jsonl dataset has one document per line; split: is for text");
      }
      ds.text_field = d["text"].get<std::string>();
      if (d.contains("label"))
        ds.label = LabelSpec{d["label"].get<std::string>(), std::nullopt, {}};
      if (d.contains("group")) ds.sensitive = {d["group"].get<std::string>()};
    }
  } else if (ds.format == "idx") {
    ds.images = Resolve(base, d["images"].get<std::string>());
    ds.labels = Resolve(base, d["labels"].get<std::string>());
    ds.scale = d.value("scale", 1.0);
  } else {
    ds.path = Resolve(base, d["path"].get<std::string>());
    if (d.contains("features")) ds.features = d["features"].get<std::vector<std::string>>();
    if (d.contains("encode")) {
      for (const auto& [col, enc] : d["encode"].items()) {
        for (const auto& [k, val] : enc.items()) ds.encode[col][k] = val.get<double>();
      }
    }
    if (d.contains("label")) {
      LabelSpec label{d["label"]["column"].get<std::string>(), std::nullopt, {}};
      if (d["label"].contains("positive")) label.positive = ScalarText(d["label"]["positive"]);
      label.negative = ScalarList(d["label"].value("negative", nlohmann::json()));
      ds.label = label;
    }
    if (d.contains("sensitive")) ds.sensitive = d["sensitive"].get<std::vector<std::string>>();
    if (d.contains("predictions")) {
      const auto& p = d["predictions"];
      PredictionSpec pred;
      if (p.contains("column")) pred.column = p["column"].get<std::string>();
      if (p.contains("positive")) pred.positive = ScalarText(p["positive"]);
      pred.negative = ScalarList(p.value("negative", nlohmann::json()));
      if (p.contains("score_column")) pred.score_column = p["score_column"].get<std::string>();
      if (p.contains("threshold")) pred.threshold = p["threshold"].get<double>();
      ds.predictions = pred;
    }
    for (const std::string key : {"split", "text", "group"}) {
      if (d.contains(key)) {
        Fail(doc, "/dataset/" + key, "a " + ds.format + " dataset has no " + key + ":");
      }
    }
    if (out.model && ds.features.empty()) {
      Fail(doc, "/dataset", "a csv dataset audited with a model needs features: [columns]");
    }
  }
  if (d.contains("limit")) ds.limit = d["limit"].get<int64_t>();
  if (d.contains("sample")) {
    if (ds.limit) {
      Fail(doc, "/dataset/sample",
           "give limit or sample, not both (limit: N means sample: {method: first, size: N})");
    }
    const auto& smp = d["sample"];
    const std::string method = smp["method"].get<std::string>();
    SampleSpec sample;
    sample.method = method == "first"    ? SampleMethod::kFirst
                    : method == "random" ? SampleMethod::kRandom
                                         : SampleMethod::kStratified;
    sample.size = smp["size"].get<int64_t>();
    // The run seed unless the sample has its own; the report records the one used.
    sample.seed = smp.contains("seed") ? smp["seed"].get<uint64_t>() : out.seed;
    ds.sample = sample;
  }
  // Places of the declared values, for a value that turns out to match no row of the data.
  for (const std::string field : {"label", "predictions"}) {
    for (const std::string key : {"positive", "negative"}) {
      if (d.contains(field) && d[field].contains(key)) {
        ds.where[field + "." + key] = doc.Where("/dataset/" + field + "/" + key);
      }
    }
  }
  if (d.contains("sample")) ds.where["sample.method"] = doc.Where("/dataset/sample/method");
  for (const auto& [col, keys] : ds.encode) {
    for (const auto& [key, number] : keys) {
      ds.where["encode." + col + "." + key] =
          doc.Where("/dataset/encode/" + JsonPointerEscape(col) + "/" + JsonPointerEscape(key));
    }
  }
  if (!out.model && !ds.predictions && !text_data) {
    Fail(doc, "/dataset", "without a model: section the dataset must give recorded predictions");
  }

  std::set<std::string> ids;
  bool surrogate_used = false;  // Some criterion crafts on the surrogate.
  for (size_t i = 0; i < v["criteria"].size(); ++i) {
    const auto& c = v["criteria"][i];
    const std::string at = "/criteria/" + std::to_string(i);
    Criterion cr;
    cr.id = c["id"].get<std::string>();
    cr.where = doc.Where(at);
    if (const auto mark = doc.marks.find(at + "/id"); mark != doc.marks.end()) {
      cr.line = mark->second.line;
      cr.line_file = mark->second.file;
    }
    if (!ids.insert(cr.id).second) Fail(doc, at + "/id", "duplicate criterion id '" + cr.id + "'");
    cr.metric = c["metric"].get<std::string>();
    const MetricSpec* spec = registry.FindMetric(cr.metric);
    if (spec == nullptr) {
      Fail(doc, at + "/metric",
           "unknown metric '" + cr.metric + "'" + Suggest(registry.ClosestMetrics(cr.metric)) +
               "; `greenlight metrics` lists them all");
    }
    if (spec->needs_model && !out.model) {
      Fail(doc, at + "/metric", "metric '" + cr.metric + "' needs a model: section");
    }
    cr.description = c.value("description", "");
    cr.params = c.value("params", nlohmann::json::object());
    if (const Metric* metric = FindFrameworkMetric(registry, cr.metric)) {
      // File parameters name files relative to the criteria file, as model and dataset paths do.
      nlohmann::json given = cr.params;
      std::map<std::string, nlohmann::json> written;
      for (const auto& [name, domain] : metric->domains()) {
        if (!domain.file || !given.is_object() || !given.contains(name)) continue;
        if (!given[name].is_string()) continue;  // Bind reports the wrong type.
        written[name] = given[name];
        given[name] = Resolve(base, given[name].get<std::string>()).string();
      }
      try {
        cr.bound = metric->Bind(given);
      } catch (const ParamError& e) {
        const std::string pp =
            at + "/params" + (e.field().empty() ? "" : "/" + JsonPointerEscape(e.field()));
        Fail(doc, pp, e.what());
      }
      if (out.model) {
        try {
          metric->CheckModel(*cr.bound, *out.model);
        } catch (const ParamError& e) {
          const std::string pp =
              at + "/params" + (e.field().empty() ? "" : "/" + JsonPointerEscape(e.field()));
          Fail(doc, pp, e.what());
        }
      }
      if (metric->NeedsReference(*cr.bound) && !out.reference) {
        Fail(doc, at + "/metric",
             "criterion " + cr.id + ": metric '" + cr.metric +
                 "' compares with a reference model: add a reference: section (or --reference)");
      }
      if (metric->NeedsSurrogate(*cr.bound)) {
        if (!out.surrogate) {
          Fail(doc, at + "/metric",
               "criterion " + cr.id + ": metric '" + cr.metric +
                   "' crafts on a surrogate model: add a surrogate: section (or --surrogate)");
        }
        surrogate_used = true;
      }
      // The report lists the parameters in effect; optional ones left out stay out.
      cr.params = nlohmann::json::object();
      for (const auto& [name, value] : cr.bound->values().items()) {
        if (!value.is_null()) cr.params[name] = value;
      }
      for (const auto& [name, value] : written) cr.params[name] = value;
    }
    // Legacy path: string-keyed parameters checked against the catalog entry.
    if (!cr.bound) {
      for (const auto& [name, value] : cr.params.items()) {
        const ParamSpec* ps = nullptr;
        std::vector<std::string> names;
        for (const auto& p : spec->params) {
          names.push_back(p.name);
          if (p.name == name) ps = &p;
        }
        const std::string pp = at + "/params/" + JsonPointerEscape(name);
        if (ps == nullptr) {
          std::string known;
          for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
          Fail(doc, pp,
               "unknown parameter for metric '" + cr.metric +
                   "' (known: " + (known.empty() ? "none" : known) + ")");
        }
        if (!TypeMatches(value, ps->type)) {
          Fail(doc, pp,
               "expected " + std::string(ParamTypeName(ps->type)) + ", got " +
                   std::string(value.type_name()) + " " + value.dump());
        }
        if (!ps->choices.empty()) {
          auto check = [&](const nlohmann::json& e) {
            if (std::find(ps->choices.begin(), ps->choices.end(), e.get<std::string>()) ==
                ps->choices.end()) {
              std::string allowed;
              for (const auto& ch : ps->choices) allowed += (allowed.empty() ? "" : ", ") + ch;
              Fail(doc, pp, "'" + e.get<std::string>() + "' is not one of: " + allowed);
            }
          };
          if (value.is_array()) {
            for (const auto& e : value) check(e);
          } else {
            check(value);
          }
        }
      }
      for (const auto& p : spec->params) {
        if (!cr.params.contains(p.name)) {
          if (p.required) {
            Fail(doc, at + "/params",
                 "metric '" + cr.metric + "' needs parameter '" + p.name + "'");
          }
          if (!p.default_value.is_null()) cr.params[p.name] = p.default_value;
        }
      }
    }
    cr.threshold = ParseThreshold(c["threshold"]);
    if (cr.threshold.op == "between" && cr.threshold.value > cr.threshold.high) {
      Fail(doc, at + "/threshold/between", "the bounds must be [low, high] with low <= high");
    }
    cr.severity = c["severity"].get<std::string>() == "mandatory" ? Severity::kMandatory
                                                                  : Severity::kAdvisory;
    if (c.contains("confidence")) cr.confidence = c["confidence"].get<double>();
    if (c.contains("time_budget_s")) cr.time_budget_s = c["time_budget_s"].get<double>();
    cr.reference = c.value("reference", "");
    if (const auto o = effective.origins.find(cr.id); o != effective.origins.end()) {
      if (o->second.profile >= 0) cr.profile = effective.profiles[o->second.profile];
      cr.overrides = o->second.overrides;
    }
    out.criteria.push_back(std::move(cr));
  }
  // A subject that influenced nothing would mislead whoever reads the report.
  if (out.surrogate && !surrogate_used) {
    const std::string problem =
        "no criterion crafts on the surrogate model (params: {craft_on: surrogate} on an attack "
        "metric): remove it";
    if (v.contains("surrogate")) Fail(doc, "/surrogate", problem);
    throw InputError(path.string() + ": --surrogate given but " + problem);
  }
  return out;
}

}  // namespace greenlight
