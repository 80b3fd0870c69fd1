// Policy profiles and remote inputs: the step before criteria validation that turns a criteria
// file into its effective document. It loads each profile the file `extends:` (a path, or an
// https URL pinned by SHA-256), fills in the profile's ${parameters} from `with:`, applies the
// file's `overrides:` where the profile marks a field overridable, appends the file's own
// criteria, and replaces every pinned remote input ({url, sha256}) by its verified cached copy.
// Positions are kept: a node that came from a profile is reported at the profile's file and line.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"  // ProfileRef
#include "core/yaml_json.h"

namespace greenlight {

// Where one effective criterion came from.
struct CriterionOrigin {
  int profile = -1;  // Index into EffectiveCriteria::profiles; -1 for the file's own criteria.
  // [{field, profile_value, value}] for every field the criteria file overrode.
  nlohmann::json overrides = nlohmann::json::array();
};

// A remote input replaced by its cached copy.
struct RemoteInput {
  std::string field;  // "model.path", "dataset.images", ...
  std::string url;
  std::string sha256;
  std::filesystem::path path;  // The verified file in the cache.
};

struct EffectiveCriteria {
  YamlDocument doc;  // The effective criteria document, for the schema and semantic checks.
  std::vector<ProfileRef> profiles;
  std::map<std::string, CriterionOrigin> origins;  // By criterion id.
  std::vector<RemoteInput> remote_inputs;
};

// Resolves `doc` (a parsed criteria file; relative profile paths resolve against its folder).
// A document without extends, overrides or remote inputs comes back unchanged. Throws InputError
// "<file>:<line>:<col>: <field>: <problem>" (an override of a field the profile does not mark
// overridable, a missing or unknown parameter, a digest mismatch, ...); network failures keep
// their kind (see net::Send).
EffectiveCriteria ResolveEffectiveCriteria(const YamlDocument& doc);

// Checks a profile file on its own (schema, parameter declarations and references). Returns its
// description; throws InputError like ResolveEffectiveCriteria.
ProfileRef ValidateProfileFile(const std::filesystem::path& path);
bool IsProfileDocument(const YamlDocument& doc);

// The effective document as YAML, each criterion preceded by a comment naming its profile
// (name, version, digest) and any override.
std::string EffectiveCriteriaYaml(const EffectiveCriteria& effective);

}  // namespace greenlight
