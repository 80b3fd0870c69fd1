// Plain result data shared by the engine, the auditors and the reports.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace greenlight {

enum class Status { kPass, kFail, kWarn, kInconclusive, kError, kSkipped };

std::string_view StatusName(Status status);                // "PASS", "FAIL", ...
std::optional<Status> ParseStatus(std::string_view name);  // Inverse of StatusName.

// A two-sided interval at confidence `level` (e.g. 0.95) and how it was obtained.
struct Interval {
  double low = 0.0;
  double high = 0.0;
  double level = 0.95;
  std::string method;  // "wilson", "bootstrap-percentile", "order-statistic", ...
};

// What an auditor measured for one criterion. `value` is absent when the metric is undefined on
// this data (0/0), which the verdict rules turn into INCONCLUSIVE, never into a silent zero.
struct Measurement {
  std::optional<double> value;
  std::string unit;
  std::optional<Interval> interval;
  int64_t samples = 0;
  // How the figure was obtained, e.g. "measured:single_stream" or "estimate:cpu-time". Estimates
  // must start with "estimate:".
  std::string method;
  // true when re-running on the same inputs must give the same value bit for bit (counts, model
  // outputs); false for timings and energy, which agree only within their intervals.
  bool deterministic = true;
  // Set by a metric whose evidence cannot decide any threshold (run-length minimums not met, a
  // required meter missing, a peak that cannot be reset): the reason. Metrics never choose a
  // status; the engine judges such a result INCONCLUSIVE with this reason.
  std::optional<std::string> undecidable;
  // What would decide when the interval straddles the threshold (shown by the engine then).
  std::string message;
  nlohmann::json details = nlohmann::json::object();
};

// A policy profile a criteria file extended (docs/profiles.md), as the loader records it and the
// report names it.
struct ProfileRef {
  std::string name;
  std::string version;
  std::string sha256;  // Of the profile file's bytes.
  std::string source;  // The path or URL the criteria file named.
  std::string authority;
};

// A criterion's threshold as a result states it: `high` only for "between".
struct ResultThreshold {
  std::string op;  // "gt" | "gte" | "lt" | "lte" | "eq" | "between"
  double value = 0.0;
  std::optional<double> high;
};

// What one criterion got: the one result type from the engine that fills it to every reporter
// and the report's JSON (the field names are the JSON's). The engine sets the criterion's identity
// when it starts a criterion (id through line_file), and the measurement, status and message when
// it judges it; a criterion that could not be measured keeps the measurement fields' defaults.
struct CriterionResult {
  std::string id;
  std::string metric;
  std::string concern;
  std::string severity;  // "mandatory" | "advisory"
  Status status = Status::kError;
  std::optional<double> value;
  std::string unit;
  std::optional<Interval> interval;
  int64_t samples = 0;
  ResultThreshold threshold;
  std::optional<double> confidence;
  std::string method;
  bool deterministic = true;
  std::string reference;
  std::string message;
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json details = nlohmann::json::object();
  double elapsed_s = 0.0;             // Wall-clock seconds spent on the criterion.
  std::optional<ProfileRef> profile;  // The profile the criterion came from, if any.
  // [{field, profile_value, value}]: what the criteria file changed from the profile.
  nlohmann::json overrides = nlohmann::json::array();
  // Where the criterion is declared, for annotations (github, sarif): the 1-based line of its
  // `id:` and, for a criterion of an extended profile, that profile's file or URL (empty: the
  // criteria file). Absent in reports written before it was recorded; such reports still render.
  std::optional<int> line;
  std::string line_file;
};

}  // namespace greenlight
