// Text pieces shared by the reporters (numbers, thresholds, status order, escaping), so every
// format writes a figure the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report.h"

namespace greenlight {

// A metric's plain-language name for readers who are not engineers ("Accuracy: share of correct
// predictions"); a metric without one is its id with spaces.
std::string PlainName(const std::string& metric);

// Four significant digits keep ratios (0.8832) and milliseconds (1.234) readable alike; "nan",
// "inf", "-inf" for non-finite values.
std::string FormatNumber(double v);

// Whether a result's method marks it as an estimate rather than a measurement: every estimate's
// method starts "estimate:" (e.g. "estimate:cpu-time ...").
bool IsEstimate(std::string_view method);

// ">= 0.85", "< 10", "in [0.8, 1.25]".
std::string ThresholdText(const ResultThreshold& threshold);

// "0.91 ms" (the unit left out for ratios), or "-" for an undefined value.
std::string ValueText(const CriterionResult& result);

// "[0.88, 0.93] 95% wilson" ("[0.88, 0.93] 95%" without the method), or "-" without an interval.
std::string IntervalText(const CriterionResult& result, bool with_method = true);

// "value 12.5 ms, interval [11.25, 13.75] 95% repetitions, threshold <= 10": the parts that exist
// (an undefined value or a missing interval is left out).
std::string FigureText(const CriterionResult& result);

// A result that compares the model with the reference model, side by side: the figure both
// models are measured by, each one's figure (from the details the metric records), and the
// compared value (the result's own value). Read from the details of the paired accuracy metrics
// (model_accuracy / reference_accuracy), latency_speedup (*_latency_ms), throughput_ratio
// (*_samples_per_s), energy_saving (*_energy_per_inference_mj), peak_memory_ratio (the highest
// round's peak of each) and the reductions (details.model / details.reference: size_bytes,
// elements, flops).
struct SideBySide {
  std::string figure;  // "accuracy", "p50 latency", "file size", ...
  std::string unit;    // "ms", "bytes", ... ("" for a proportion or a count)
  double reference = 0.0;
  double model = 0.0;
  bool reference_declared = false;  // The reference's figure is declared in the criteria.
  std::string reference_text;       // "0.277 ms", "0.9 (declared)"
  std::string model_text;           // "0.235 ms"
  std::string compared_text;        // "latency_speedup 1.185 [1.162, 1.208] 90%"
};
// nullopt for a result without both figures (it renders as before).
std::optional<SideBySide> SideBySideOf(const CriterionResult& result);
// "p50 latency: reference model 0.277 ms, model 0.235 ms; latency_speedup 1.185 [1.162, 1.208]
// 90%".
std::string SideBySideText(const SideBySide& side);

// How bad a status is, for ordering and for `diff`: PASS 0 < WARN 1 < SKIPPED 2 <
// INCONCLUSIVE 3 < ERROR 4 < FAIL 5.
int StatusRank(Status status);

// The results ordered worst status first (FAIL, ERROR, INCONCLUSIVE, SKIPPED, WARN, PASS), the
// criteria file's order kept within a status.
std::vector<const CriterionResult*> WorstFirst(const Report& report);

// "2 FAIL, 1 INCONCLUSIVE, 5 PASS" (worst first, statuses that occur only).
std::string StatusCounts(const Report& report);

// The file a criterion's line is in: its profile's file, else the criteria file. An absolute path
// under the current directory is made relative to it (annotations want paths from the checkout).
std::string CriterionFile(const Report& report, const CriterionResult& result);

// XML character data and attribute values (&, <, >, ", ' escaped; characters XML 1.0 cannot
// carry are replaced by U+FFFD). In an attribute, tab, LF and CR are written as character
// references, which a parser keeps (it turns literal ones into spaces).
std::string XmlEscape(std::string_view text, bool attribute = false);

// A Markdown table cell: '|' escaped, line breaks as spaces.
std::string MarkdownCell(std::string_view text);

// A path as a URI reference (RFC 3986): a relative path stays relative, an absolute one becomes
// a file:// URI; bytes outside the unreserved set and '/' are percent-encoded.
std::string PathUri(const std::string& path);

}  // namespace greenlight
