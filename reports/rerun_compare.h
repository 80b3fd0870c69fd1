// Comparing a re-run audit with the results a signed report recorded (`greenlight verify --rerun`).
// Works on the report's JSON results (predicate.results[]), so it needs neither the engine nor
// LibTorch: the CLI re-runs the audit and hands both result lists here.
//
// Deterministic figures (counts, model outputs, seeded intervals) must reproduce exactly: a
// difference means the report does not describe these inputs (INVALID). Measured figures
// (timings, energy) are two measurements of the same thing: they are CONSISTENT when their
// intervals agree within a relative tolerance and DRIFTED otherwise, which says the machine or
// its load changed, not that the report was forged.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace greenlight {

// Deterministic metrics (counts, model outputs) must agree to this absolute tolerance; it only
// absorbs the last-bit noise of printing and re-parsing a double.
inline constexpr double kDeterministicTolerance = 1e-12;

// Default of `verify --tolerance`: two measurements are consistent when the gap between their
// intervals is at most this fraction of the larger value (0 when the intervals overlap).
inline constexpr double kDefaultRerunTolerance = 0.10;

enum class RerunOutcome {
  kMatch,       // Deterministic: reproduced exactly.
  kConsistent,  // Measured: the two measurements agree within the tolerance.
  kDrifted,     // Measured: they do not; the environment or its load changed.
  kInvalid,     // A deterministic mismatch, or a criterion missing, added or renamed.
};
std::string RerunOutcomeName(RerunOutcome outcome);  // "match", "CONSISTENT", "DRIFTED", "INVALID"

struct RerunRow {
  std::string id;
  std::string metric;
  bool deterministic = true;
  bool estimated = false;  // The recorded figure is an estimate (its method "estimate:...").
  std::optional<double> recorded;
  std::optional<double> rerun;
  // The intervals compared for a measured figure (for an estimate compared with an estimate of
  // the same method and machine: the repetitions' intervals, without the shared band); for a
  // deterministic one, the recorded interval.
  std::optional<double> interval_low;
  std::optional<double> interval_high;
  std::optional<double> rerun_low;
  std::optional<double> rerun_high;
  std::string recorded_status;
  std::string rerun_status;
  RerunOutcome outcome = RerunOutcome::kInvalid;
  std::string note;  // How it was judged, or why it did not match.
};

// One row per criterion id of either list, in the recorded order then rerun-only ids.
// - deterministic (result field "deterministic", default true): both values null, or
//   |recorded - rerun| <= kDeterministicTolerance; the same status; and the interval, when
//   recorded, reproduced to the same tolerance (Wilson and seeded bootstrap intervals are
//   deterministic too). Otherwise INVALID.
// - measured ("deterministic": false): each side's interval (the value itself when it has none)
//   is compared with the other's; CONSISTENT when they overlap or their gap is at most
//   relative_tolerance × max(|recorded|, |rerun|), else DRIFTED. Equal values without intervals
//   are consistent. A status change is noted, not judged: it follows from the values. When both
//   figures carry details.systematic_band with the same same_method_key (the same method, e.g.
//   the CPU-time estimate, with the same coefficients on the same machine), the band's error is
//   common to both and cancels in their ratio: their details.statistical_interval are compared
//   instead of the band-widened intervals. A value on one side only is DRIFTED.
// - a criterion missing from either side, or a different metric under the same id: INVALID.
std::vector<RerunRow> CompareResults(const nlohmann::json& recorded_results,
                                     const nlohmann::json& rerun_results,
                                     double relative_tolerance = kDefaultRerunTolerance);

struct RerunSummary {
  int match = 0, consistent = 0, drifted = 0, invalid = 0;
};
RerunSummary Summarize(const std::vector<RerunRow>& rows);

// One line of the environment comparison: a field of predicate.environment, or of the timing
// context of the first measured result (load average, CPU scaling, ...), recorded and now.
struct EnvironmentRow {
  std::string field;
  std::string recorded;
  std::string rerun;
  bool differs = false;
};
// Every environment field of either report (the union, in key order) and the timing context
// (details.run.gbench_context: load_avg, cpu_scaling, mhz_per_cpu, library_build_type, and the
// noisy-context warnings), rendered as JSON text; "-" for a field one side lacks.
std::vector<EnvironmentRow> CompareEnvironments(const nlohmann::json& recorded_predicate,
                                                const nlohmann::json& rerun_predicate);

}  // namespace greenlight
