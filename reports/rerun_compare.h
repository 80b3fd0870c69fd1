// Comparing a re-run audit with the results a signed report recorded (`greenlight verify --rerun`).
// Works on the report's JSON results (predicate.results[]), so it needs neither the engine nor
// LibTorch: the CLI re-runs the audit and hands both result lists here.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace greenlight {

// Deterministic metrics (counts, model outputs) must agree to this absolute tolerance; it only
// absorbs the last-bit noise of printing and re-parsing a double.
inline constexpr double kDeterministicTolerance = 1e-12;

struct RerunRow {
  std::string id;
  std::string metric;
  bool deterministic = true;
  std::optional<double> recorded;
  std::optional<double> rerun;
  std::optional<double> interval_low;  // The recorded interval (what a measured value must hit).
  std::optional<double> interval_high;
  std::string recorded_status;
  std::string rerun_status;
  bool match = false;
  std::string note;  // How it was judged, or why it did not match.
};

// One row per criterion id of either list, in the recorded order then rerun-only ids.
// - deterministic (result field "deterministic", default true): both values null, or
//   |recorded - rerun| <= kDeterministicTolerance; the same status; and the interval, when
//   recorded, reproduced to the same tolerance (Wilson and seeded bootstrap intervals are
//   deterministic too);
// - measured ("deterministic": false): the re-run value lies within the recorded interval
//   [low, high] (a status change is noted, not a mismatch: it follows from where the new
//   value fell);
// - a criterion missing from either side, or a different metric under the same id, never matches.
std::vector<RerunRow> CompareResults(const nlohmann::json& recorded_results,
                                     const nlohmann::json& rerun_results);

inline bool AllMatch(const std::vector<RerunRow>& rows) {
  for (const auto& r : rows) {
    if (!r.match) return false;
  }
  return true;
}

}  // namespace greenlight
