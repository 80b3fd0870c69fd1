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
  // Set by an auditor that knows the evidence is not usable (e.g. run-length minimums not met,
  // label missing): the engine uses it instead of the threshold comparison.
  std::optional<Status> forced_status;
  std::string message;
  nlohmann::json details = nlohmann::json::object();
};

}  // namespace greenlight
