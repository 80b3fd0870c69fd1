// Result-by-result comparison of two reports (greenlight diff), as Google Benchmark's compare tool
// compares two runs: results are matched by criterion id; a change is "beyond the intervals" when
// the two intervals do not overlap, so it is not explained by the sampling error either reports.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reports/report.h"

namespace greenlight {

struct ResultChange {
  enum class Kind { kMatched, kAdded, kRemoved };
  Kind kind = Kind::kMatched;
  std::string id;
  std::optional<CriterionResult> before;  // Absent for an added criterion.
  std::optional<CriterionResult> after;   // Absent for a removed one.
  // Matched only: the status moved up or down StatusRank's order (PASS < WARN < SKIPPED <
  // INCONCLUSIVE < ERROR < FAIL).
  bool worse = false;
  bool better = false;
  // Matched only: both have intervals and they do not overlap.
  bool beyond_intervals = false;
};

struct ReportDiff {
  Status verdict_before = Status::kError;
  Status verdict_after = Status::kError;
  // The old report's order, then the criteria only the new report has.
  std::vector<ResultChange> changes;

  bool VerdictWorse() const;
  // What `diff` exits 1 on: a matched criterion's status or the verdict got worse.
  bool AnyWorse() const;
};

ReportDiff DiffReports(const Report& before, const Report& after);

// A Markdown summary: the verdicts, the counts, and one table row per criterion, the changes that
// got worse first.
std::string DiffMarkdown(const ReportDiff& diff, const Report& before, const Report& after);

// The same as JSON (documented in docs/reports.md).
nlohmann::json DiffJson(const ReportDiff& diff, const Report& before, const Report& after);

}  // namespace greenlight
