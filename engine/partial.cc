#include "engine/partial.h"

#include <algorithm>
#include <map>

#include "core/clock.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "datasets/sampling.h"
#include "engine/plan.h"
#include "engine/verdict.h"

namespace greenlight {
namespace {

using nlohmann::json;

std::string_view ShardingName(Sharding s) {
  switch (s) {
    case Sharding::kRows:
      return "rows";
    case Sharding::kOnce:
      return "once";
    case Sharding::kUnsplittable:
      break;
  }
  return "unsplittable";
}

// Paths in a partial are relative to the partial's own folder when the two share one below the
// root (a shared file system mounted elsewhere on another node keeps them true), else absolute.
std::string PathFrom(const std::filesystem::path& file, const std::filesystem::path& partial_dir) {
  return PortablePath(file, partial_dir, UnrelatedTree::kAbsolute);
}

// A path read from the partial at `partial_file`, resolved against its folder.
std::filesystem::path PathIn(const std::filesystem::path& partial_file,
                             const std::string& recorded) {
  const std::filesystem::path p(recorded);
  if (p.is_absolute()) return p;
  return (std::filesystem::absolute(partial_file).parent_path() / p).lexically_normal();
}

json ModelToJson(const ModelInfo& m, const std::filesystem::path& dir) {
  json j = {{"path", PathFrom(m.path, dir)}, {"sha256", m.sha256}, {"size_bytes", m.size_bytes},
            {"parameters", m.parameters},    {"format", m.format}, {"device", m.device}};
  if (m.tokenizer) {
    TokenizerInfo tokenizer = *m.tokenizer;
    if (!tokenizer.path.empty()) tokenizer.path = PathFrom(tokenizer.path, dir);
    j["tokenizer"] = TokenizerInfoToJson(tokenizer);
    j["context_length"] = m.context_length;
  }
  return j;
}

ModelInfo ModelFromJson(const json& j, const std::filesystem::path& partial_file) {
  ModelInfo m;
  m.path = PathIn(partial_file, j.at("path").get<std::string>());
  m.sha256 = j.at("sha256").get<std::string>();
  m.size_bytes = JsonInteger<int64_t>(j.at("size_bytes"), "model.size_bytes");
  m.parameters = JsonInteger<int64_t>(j.at("parameters"), "model.parameters");
  m.format = j.at("format").get<std::string>();
  m.device = j.at("device").get<std::string>();
  if (j.contains("tokenizer")) {
    m.tokenizer = TokenizerInfoFromJson(j.at("tokenizer"));
    if (!m.tokenizer->path.empty()) {
      m.tokenizer->path = PathIn(partial_file, m.tokenizer->path.string());
    }
    m.context_length = JsonInteger<int64_t>(j.at("context_length"), "model.context_length");
  }
  return m;
}

json DatasetToJson(const DatasetInfo& d, const std::filesystem::path& dir) {
  json files = json::array();
  for (const DatasetFile& f : d.files) {
    files.push_back({{"path", PathFrom(f.path, dir)}, {"sha256", f.sha256}, {"role", f.role}});
  }
  json strata = json::array();
  for (const StratumDraw& s : d.selection.strata) {
    strata.push_back(
        {{"label", s.label}, {"rows_in_file", s.rows_in_file}, {"rows_drawn", s.rows_drawn}});
  }
  return {{"format", d.format},
          {"rows", d.rows},
          {"total_rows", d.total_rows},
          {"selection",
           {{"method", SampleMethodName(d.selection.method)},
            {"from_limit", d.selection.from_limit},
            {"requested", d.selection.requested},
            {"seed", d.selection.seed},
            {"strata", strata}}},
          {"files", files}};
}

DatasetInfo DatasetFromJson(const json& j, const std::filesystem::path& partial_file) {
  DatasetInfo d;
  d.format = j.at("format").get<std::string>();
  d.rows = JsonInteger<int64_t>(j.at("rows"), "dataset.rows");
  d.total_rows = JsonInteger<int64_t>(j.at("total_rows"), "dataset.total_rows");
  const json& s = j.at("selection");
  const std::string method = s.at("method").get<std::string>();
  bool known = false;
  for (SampleMethod m : {SampleMethod::kAll, SampleMethod::kFirst, SampleMethod::kRandom,
                         SampleMethod::kStratified}) {
    if (SampleMethodName(m) == method) {
      d.selection.method = m;
      known = true;
    }
  }
  if (!known) throw InputError("dataset.selection.method '" + method + "' is unknown");
  d.selection.from_limit = s.at("from_limit").get<bool>();
  d.selection.requested = JsonInteger<int64_t>(s.at("requested"), "dataset.selection.requested");
  d.selection.seed = JsonInteger<uint64_t>(s.at("seed"), "dataset.selection.seed");
  for (const json& st : s.at("strata")) {
    d.selection.strata.push_back(
        {JsonInteger<int64_t>(st.at("label"), "dataset.selection.strata[].label"),
         JsonInteger<int64_t>(st.at("rows_in_file"), "dataset.selection.strata[].rows_in_file"),
         JsonInteger<int64_t>(st.at("rows_drawn"), "dataset.selection.strata[].rows_drawn")});
  }
  for (const json& f : j.at("files")) {
    d.files.push_back({PathIn(partial_file, f.at("path").get<std::string>()),
                       f.at("sha256").get<std::string>(), f.at("role").get<std::string>()});
  }
  return d;
}

json EnvironmentToJson(const EnvironmentInfo& e) {
  return {
      {"cpu_model", e.cpu_model}, {"logical_cores", e.logical_cores},       {"os", e.os},
      {"hostname", e.hostname},   {"libtorch_version", e.libtorch_version}, {"device", e.device},
      {"threads", e.threads}};
}

EnvironmentInfo EnvironmentFromJson(const json& j) {
  EnvironmentInfo e;
  e.cpu_model = j.at("cpu_model").get<std::string>();
  e.logical_cores = JsonInteger<int>(j.at("logical_cores"), "environment.logical_cores");
  e.os = j.at("os").get<std::string>();
  e.hostname = j.at("hostname").get<std::string>();
  e.libtorch_version = j.at("libtorch_version").get<std::string>();
  e.device = j.at("device").get<std::string>();
  e.threads = JsonInteger<int>(j.at("threads"), "environment.threads");
  return e;
}

// What must be equal in every partial of one audit, with the name a message gives it.
const std::vector<std::pair<json::json_pointer, std::string>>& SharedFields() {
  static const std::vector<std::pair<json::json_pointer, std::string>> fields = {
      {json::json_pointer("/version"), "format version"},
      {json::json_pointer("/criteria/sha256"), "criteria digest"},
      {json::json_pointer("/model/sha256"), "model digest"},
      {json::json_pointer("/reference/sha256"), "reference model digest"},
      {json::json_pointer("/surrogate/sha256"), "surrogate model digest"},
      {json::json_pointer("/model/tokenizer/sha256"), "tokenizer digest"},
      {json::json_pointer("/reference/tokenizer/sha256"), "reference tokenizer digest"},
      {json::json_pointer("/model/context_length"), "context length"},
      {json::json_pointer("/dataset/files"), "dataset digests"},
      {json::json_pointer("/dataset/rows"), "selected rows"},
      {json::json_pointer("/dataset/selection"), "row selection"},
      {json::json_pointer("/seed"), "seed"},
      {json::json_pointer("/shard/count"), "shard count"},
      {json::json_pointer("/shard/once_on_shard"), "timing shard (--time-on-shard)"},
  };
  return fields;
}

// The field of `partial` at `pointer` as far as it identifies the audit: the data files by their
// digests and roles only (shards may mount the same files at other paths); null when absent.
json Identity(const json& partial, const json::json_pointer& pointer) {
  if (!partial.contains(pointer)) return json();
  const json& value = partial.at(pointer);
  if (pointer.to_string() != "/dataset/files" || !value.is_array()) return value;
  json digests = json::array();
  for (const json& f : value) {
    digests.push_back(json::array({f.value("role", ""), f.value("sha256", "")}));
  }
  return digests;
}

std::string Short(const json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (value.is_array() && !value.empty() && value.back().is_array()) {
    text = value.back().back().dump();  // The last file's digest.
    text = text.substr(1, text.size() - 2);
  }
  if (text.size() > 16) text = text.substr(0, 12) + "...";
  return text;
}

}  // namespace

json PartialToJson(const CriteriaFile& criteria, const AuditOutcome& outcome,
                   const ShardSpec& shard, int64_t once_on_shard,
                   const std::filesystem::path& partial_dir) {
  json j = {
      {"format", kPartialFormat},
      {"version", kPartialFormatVersion},
      {"shard",
       {{"index", shard.index},
        {"count", shard.count},
        {"rows", {{"begin", outcome.shard_rows.begin}, {"end", outcome.shard_rows.end}}},
        {"once_on_shard", once_on_shard}}},
      {"criteria", {{"path", PathFrom(criteria.path, partial_dir)}, {"sha256", criteria.sha256}}},
      {"dataset", DatasetToJson(outcome.dataset, partial_dir)},
      {"environment", EnvironmentToJson(outcome.environment)},
      {"seed", outcome.seed},
      {"started_at", outcome.started_at},
      {"finished_at", outcome.finished_at}};
  if (outcome.model) j["model"] = ModelToJson(*outcome.model, partial_dir);
  if (outcome.reference) j["reference"] = ModelToJson(*outcome.reference, partial_dir);
  if (outcome.surrogate) j["surrogate"] = ModelToJson(*outcome.surrogate, partial_dir);
  json results = json::array();
  for (const CriterionOutcome& o : outcome.results) {
    json r = {{"id", o.criterion.id},
              {"metric", o.criterion.metric},
              {"params", o.criterion.params},
              {"sharding", ShardingName(o.sharding)}};
    if (o.stats) {
      r["state"] = "measured";
      r["stats"] = *o.stats;
      r["elapsed_s"] = o.result.elapsed_s;
    } else if (o.elsewhere) {
      r["state"] = "elsewhere";
    } else {
      r["state"] = o.result.status == Status::kSkipped ? "skipped" : "error";
      r["message"] = o.result.message;
    }
    results.push_back(std::move(r));
  }
  j["results"] = std::move(results);
  return j;
}

PartialSet CheckPartials(const std::vector<PartialFile>& partials) {
  if (partials.empty()) throw InputError("merge: no partials given");
  PartialSet set;
  const PartialFile& first = partials.front();
  for (const PartialFile& p : partials) {
    const std::string where = p.path.string();
    try {
      if (!p.json.is_object() || p.json.value("format", "") != kPartialFormat) {
        throw InputError(where + ": not a greenlight partial (\"format\": \"" +
                         std::string(kPartialFormat) + "\" is missing)");
      }
      if (p.json.at("version") != kPartialFormatVersion) {
        throw InputError(where + ": partial format version " + p.json.at("version").dump() +
                         " is not the supported " + std::to_string(kPartialFormatVersion));
      }
      for (const auto& [pointer, name] : SharedFields()) {
        const json mine = Identity(p.json, pointer);
        const json theirs = Identity(first.json, pointer);
        if (mine != theirs) {
          throw InputError(where + ": foreign partial: its " + name + " " + Short(mine) +
                           " differs from " + first.path.string() + "'s " + Short(theirs));
        }
      }
      const int64_t index =
          JsonInteger<int64_t>(p.json.at("/shard/index"_json_pointer), where + ": shard.index");
      const int64_t count =
          JsonInteger<int64_t>(p.json.at("/shard/count"_json_pointer), where + ": shard.count");
      if (count < 1 || count > kMaxShards || index < 0 || index >= count) {
        throw InputError(where + ": shard " + std::to_string(index) + "/" + std::to_string(count) +
                         " is not a shard of " + std::to_string(count));
      }
      if (set.by_shard.empty()) set.by_shard.assign(static_cast<size_t>(count), nullptr);
      const PartialFile*& slot = set.by_shard[static_cast<size_t>(index)];
      if (slot != nullptr) {
        throw InputError(where + ": shard " + ShardName({index, count}) + " is repeated (also " +
                         slot->path.string() + ")");
      }
      slot = &p;
      const int64_t rows =
          JsonInteger<int64_t>(p.json.at("/dataset/rows"_json_pointer), where + ": dataset.rows");
      const RowRange expected = ShardRows(rows, {index, count}, kOutputsBatchRows);
      const json& got = p.json.at("/shard/rows"_json_pointer);
      if (JsonInteger<int64_t>(got.at("begin"), where + ": shard.rows.begin") != expected.begin ||
          JsonInteger<int64_t>(got.at("end"), where + ": shard.rows.end") != expected.end) {
        throw InputError(where + ": shard " + ShardName({index, count}) + " covers rows [" +
                         got.at("begin").dump() + ", " + got.at("end").dump() + "), not [" +
                         std::to_string(expected.begin) + ", " + std::to_string(expected.end) +
                         ") of " + std::to_string(rows));
      }
    } catch (const json::exception& e) {
      throw InputError(where + ": malformed partial: " + JsonErrorText(e));
    }
  }
  std::string missing;
  for (size_t i = 0; i < set.by_shard.size(); ++i) {
    if (set.by_shard[i] == nullptr) {
      missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
  }
  set.count = static_cast<int64_t>(set.by_shard.size());
  if (!missing.empty()) {
    throw InputError("merge: shard" +
                     std::string(missing.find(',') == std::string::npos ? " " : "s ") + missing +
                     " of " + std::to_string(set.count) + " missing (" +
                     std::to_string(partials.size()) + " partials given)");
  }
  try {
    set.once_on_shard = JsonInteger<int64_t>(first.json.at("/shard/once_on_shard"_json_pointer),
                                             first.path.string() + ": shard.once_on_shard");
    if (set.once_on_shard < 0 || set.once_on_shard >= set.count) {
      throw InputError(first.path.string() + ": once_on_shard " +
                       std::to_string(set.once_on_shard) + " is not a shard of " +
                       std::to_string(set.count));
    }
    set.criteria_path =
        PathIn(first.path, first.json.at("/criteria/path"_json_pointer).get<std::string>());
    set.criteria_sha256 = first.json.at("/criteria/sha256"_json_pointer).get<std::string>();
    if (first.json.contains("model")) {
      set.model_path =
          PathIn(first.path, first.json.at("/model/path"_json_pointer).get<std::string>());
    }
    if (first.json.contains("reference")) {
      set.reference_path =
          PathIn(first.path, first.json.at("/reference/path"_json_pointer).get<std::string>());
    }
    if (first.json.contains("surrogate")) {
      set.surrogate_path =
          PathIn(first.path, first.json.at("/surrogate/path"_json_pointer).get<std::string>());
    }
  } catch (const json::exception& e) {
    throw InputError(first.path.string() + ": malformed partial: " + JsonErrorText(e));
  }
  return set;
}

AuditOutcome MergePartials(const CriteriaFile& criteria, const AuditorRegistry& registry,
                           const PartialSet& set, ProgressSink* progress) {
  if (criteria.sha256 != set.criteria_sha256) {
    throw InputError(criteria.path.string() + ": its SHA-256 " + criteria.sha256.substr(0, 12) +
                     "... is not the " + set.criteria_sha256.substr(0, 12) +
                     "... the shards audited");
  }
  const PartialFile& once = *set.by_shard.at(static_cast<size_t>(set.once_on_shard));
  AuditOutcome out;
  std::vector<const json*> results;  // Per shard.
  try {
    // The node that measured what is measured once (timing, energy) is the report's environment;
    // each shard's own environment stays in its partial. A field out of range names the partial.
    try {
      if (once.json.contains("model")) out.model = ModelFromJson(once.json.at("model"), once.path);
      if (once.json.contains("reference")) {
        out.reference = ModelFromJson(once.json.at("reference"), once.path);
      }
      if (once.json.contains("surrogate")) {
        out.surrogate = ModelFromJson(once.json.at("surrogate"), once.path);
      }
      out.dataset = DatasetFromJson(once.json.at("dataset"), once.path);
      out.environment = EnvironmentFromJson(once.json.at("environment"));
      out.seed = JsonInteger<uint64_t>(once.json.at("seed"), "seed");
    } catch (const InputError& e) {
      throw InputError(once.path.string() + ": " + e.what());
    }
    out.started_at = once.json.at("started_at").get<std::string>();
    out.finished_at = once.json.at("finished_at").get<std::string>();
    for (const PartialFile* p : set.by_shard) {
      out.started_at = std::min(out.started_at, p->json.at("started_at").get<std::string>());
      out.finished_at = std::max(out.finished_at, p->json.at("finished_at").get<std::string>());
      const json& r = p->json.at("results");
      if (!r.is_array() || r.size() != criteria.criteria.size()) {
        throw InputError(p->path.string() + ": has " + std::to_string(r.size()) +
                         " results; the criteria file has " +
                         std::to_string(criteria.criteria.size()) + " criteria");
      }
      for (size_t i = 0; i < r.size(); ++i) {
        const Criterion& c = criteria.criteria[i];
        if (r[i].at("id") != c.id || r[i].at("metric") != c.metric ||
            r[i].at("params") != c.params) {
          throw InputError(p->path.string() + ": result " + std::to_string(i + 1) + " is " +
                           r[i].at("id").dump() + " (" + r[i].at("metric").dump() +
                           "); the criteria file has " + c.id + " (" + c.metric +
                           ") with other parameters");
        }
      }
      results.push_back(&r);
    }
  } catch (const json::exception& e) {
    throw InputError("merge: malformed partial: " + JsonErrorText(e));
  }

  // How each criterion shards is the plan's, not the partials' word: a partial claiming "once"
  // for rows would drop every other shard's rows from the merge.
  const AuditPlan plan(criteria.criteria, registry);
  std::vector<JudgedCriterion> judged;
  for (size_t i = 0; i < criteria.criteria.size(); ++i) {
    const Criterion& c = criteria.criteria[i];
    CriterionOutcome r = NewOutcome(c, registry);
    const PartialFile* reading = set.by_shard.front();  // The partial being read, for messages.
    try {
      const Metric* metric = FindFrameworkMetric(registry, c.metric);
      const AuditPlan::Item* item = plan.ItemOf(i);
      if (metric == nullptr || item == nullptr) {
        throw RuntimeError("metric '" + c.metric + "' cannot be merged");
      }
      const std::string sharding(ShardingName(item->work->sharding()));
      for (const PartialFile* p : set.by_shard) {
        reading = p;
        const json& claimed = p->json.at("results").at(i).at("sharding");
        if (claimed != sharding) {
          throw InputError(p->path.string() + ": criterion " + c.id + " is recorded as sharding " +
                           claimed.dump() + "; its work shards by \"" + sharding + "\"");
        }
      }
      // The shards that measured this criterion, in shard order.
      std::vector<size_t> shards;
      if (sharding == "once") {
        shards = {static_cast<size_t>(set.once_on_shard)};
      } else {
        for (size_t k = 0; k < results.size(); ++k) shards.push_back(k);
      }
      std::unique_ptr<MetricStats> merged;
      std::optional<Status> unmeasured;
      for (size_t k : shards) {
        const json& entry = (*results[k])[i];
        reading = set.by_shard[k];
        const std::string state = entry.at("state").get<std::string>();
        if (state != "measured" && state != "elsewhere" && state != "skipped" && state != "error") {
          throw InputError(reading->path.string() + ": criterion " + c.id + ": state \"" + state +
                           "\" is not measured, elsewhere, skipped or error");
        }
        if (state == "measured") {
          // Statistics that do not parse or merge come from a damaged or altered partial: bad
          // input, not a measurement.
          try {
            std::unique_ptr<MetricStats> part = metric->StatsFromJson(entry.at("stats"));
            if (merged) {
              metric->Merge(*merged, *part);
            } else {
              merged = std::move(part);
            }
          } catch (const std::exception& e) {
            throw InputError(set.by_shard[k]->path.string() + ": criterion " + c.id +
                             ": its statistics do not merge: " + e.what());
          }
          r.result.elapsed_s += entry.value("elapsed_s", 0.0);
          continue;
        }
        // Every shard skips alike (no labels); the first error of any shard is the criterion's.
        unmeasured = state == "skipped" ? Status::kSkipped : Status::kError;
        r.result.message = state == "elsewhere"
                               ? "shard " + std::to_string(k) + " left it to another shard"
                               : (state == "skipped" ? "" : "shard " + std::to_string(k) + ": ") +
                                     entry.value("message", std::string());
        break;
      }
      if (unmeasured) {
        r.result.status = *unmeasured;
      } else {
        FinalizeCriterion(criteria, i, *metric, *merged, progress, r);
      }
    } catch (const InputError&) {
      throw;
    } catch (const json::exception& e) {
      throw InputError(reading->path.string() + ": criterion " + c.id +
                       ": malformed partial: " + JsonErrorText(e));
    } catch (const std::exception& e) {
      r.result.status = Status::kError;
      r.result.message = e.what();
    }
    judged.push_back({c.severity, r.result.status});
    out.results.push_back(std::move(r));
  }
  out.verdict = OverallVerdict(judged);
  return out;
}

}  // namespace greenlight
