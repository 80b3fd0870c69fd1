// The criteria model and its loader: YAML -> JSON -> JSON Schema (draft-07, valijson) -> semantic
// checks against the metric catalog. Every error names the file, line, column and field.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/params.h"
#include "core/yaml_json.h"
#include "datasets/dataset.h"
#include "engine/profiles.h"
#include "models/model.h"
#include "models/model_registry.h"

namespace greenlight {

enum class Severity { kMandatory, kAdvisory };

struct Threshold {
  std::string op;  // "gt" | "gte" | "lt" | "lte" | "eq" | "between"
  double value = 0.0;
  double high = 0.0;  // Upper bound for "between" (value is the lower bound).

  bool Passes(double x) const;
  std::string ToString() const;  // ">= 0.85", "in [0.8, 1.25]"
};

struct Criterion {
  std::string id;
  std::string metric;
  std::string description;
  nlohmann::json params = nlohmann::json::object();  // With the metric's defaults filled in.
  // Framework metrics: the typed parameters bound at load (params == bound->values()). Null for
  // metrics measured by a legacy auditor.
  std::shared_ptr<const BoundParams> bound;
  Threshold threshold;
  Severity severity = Severity::kMandatory;
  std::optional<double> confidence;
  // Longest the model may run for this criterion, seconds (time_budget_s); absent: the default
  // (kDefaultTimeBudgetS in engine/supervisor.h) or AuditOptions::time_budget_s.
  std::optional<double> time_budget_s;
  std::string reference;
  std::string where;  // "file:line:col" of the criterion, for messages.
  // Line of the criterion's `id:` (1-based; 0 when unknown) and the file it is in when that is
  // not the criteria file (an extended profile's criterion): reports point annotations there.
  int line = 0;
  std::string line_file;
  std::optional<ProfileRef> profile;  // The profile it came from (extends:); none for own ones.
  nlohmann::json overrides = nlohmann::json::array();  // [{field, profile_value, value}]
};

struct CriteriaMetadata {
  std::string name;
  std::string version;
  std::string description;
  std::string authority;
};

struct CriteriaFile {
  std::filesystem::path path;
  std::string sha256;
  CriteriaMetadata metadata;
  std::optional<ModelSpec> model;  // Absent in black-box mode.
  // The reference model a compressed (or otherwise changed) model is compared with (reference:,
  // or --reference): read, hashed and loaded like the model, in the same worker. Absent unless
  // given.
  std::optional<ModelSpec> reference;
  // The surrogate model transfer attacks are crafted on (surrogate:, or --surrogate; craft_on:
  // surrogate): read, hashed and loaded like the reference. Absent unless given; given, some
  // criterion crafts on it.
  std::optional<ModelSpec> surrogate;
  DatasetSpec dataset;
  std::vector<Criterion> criteria;
  uint64_t seed = 0;
  std::optional<int> threads;
  std::vector<ProfileRef> profiles;        // Extended profiles, in order.
  std::vector<RemoteInput> remote_inputs;  // Pinned https inputs, with their cached copies.
};

// Loads and validates a criteria file, after resolving its profiles and remote inputs
// (ResolveEffectiveCriteria). `model_override` replaces model.path (the model section
// must then still declare output and input). `reference_override` replaces reference.path, or,
// without a reference: section, names a reference read as the model is (its output, input, format
// and device). Relative paths resolve against the file's folder. model.format and
// reference.format (default torchscript) must be formats `runtimes` knows. A criterion whose
// metric compares with the reference model (Metric::NeedsReference) needs a reference.
// `surrogate_override` is to surrogate: what `reference_override` is to reference:. A criterion
// that crafts on the surrogate (Metric::NeedsSurrogate) needs one, and a surrogate needs such a
// criterion (a subject that influenced nothing is bad input).
// Throws InputError "<file>:<line>:<col>: <field>: <problem>".
CriteriaFile LoadCriteria(const std::filesystem::path& path, const AuditorRegistry& registry,
                          const std::optional<std::filesystem::path>& model_override = {},
                          const ModelRegistry& runtimes = BuiltinModelRegistry(),
                          const std::optional<std::filesystem::path>& reference_override = {},
                          const std::optional<std::filesystem::path>& surrogate_override = {});

// LoadCriteria on the file's bytes, already read (`path` names it and anchors relative paths).
CriteriaFile ParseCriteria(const std::string& text, const std::filesystem::path& path,
                           const AuditorRegistry& registry,
                           const std::optional<std::filesystem::path>& model_override = {},
                           const ModelRegistry& runtimes = BuiltinModelRegistry(),
                           const std::optional<std::filesystem::path>& reference_override = {},
                           const std::optional<std::filesystem::path>& surrogate_override = {});

// The criteria JSON Schema compiled into the binary (schemas/criteria.schema.json).
const std::string& CriteriaSchemaText();

}  // namespace greenlight
