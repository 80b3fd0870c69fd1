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

}  // namespace greenlight
