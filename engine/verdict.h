// Verdict rules: from a measurement and a criterion to a status, and from statuses to the verdict.
#pragma once

#include <span>
#include <string>

#include "core/error.h"
#include "core/result.h"
#include "engine/criteria.h"

namespace greenlight {

struct Judgement {
  Status status;
  std::string message;
};

// The two-sided level at which a criterion's interval is measured. With `confidence: c` and a
// one-sided threshold (gt, gte, lt, lte), 2c - 1: each end of an equal-tailed interval at that
// level is a one-sided bound at level c, which is what a one-sided decision needs (as a
// non-inferiority test uses a one-sided bound). between and eq need both ends at once: level c.
// Without a confidence, 0.95 (the interval is reported; the point estimate decides).
double IntervalLevel(const Criterion& criterion);

// With a confidence c, the one-sided bounds decide a one-sided threshold: gte/gt PASS needs the
// lower c-bound on the passing side and FAIL the upper c-bound on the failing side; lte/lt
// mirror it. between/eq PASS needs the whole two-sided c-interval inside, FAIL wholly outside.
// Anything else is INCONCLUSIVE. Without a confidence, the point estimate decides. An undefined
// value is INCONCLUSIVE; a forced status wins; an advisory FAIL is WARN. An interval that does not
// contain its own estimate is ERROR: every interval must, so it is a defect of the metric.
// When the bounds straddle the threshold, the message says what would decide: the measurement's
// own `message` when it has one (an auditor whose interval is a systematic band says that more
// samples cannot narrow it), else that more data narrows a sampling interval.
Judgement Judge(const Criterion& criterion, const Measurement& measurement);

struct JudgedCriterion {
  Severity severity;
  Status status;
};
// FAIL if any mandatory FAIL; else ERROR if any mandatory ERROR; else INCONCLUSIVE if any
// mandatory INCONCLUSIVE; else PASS. Advisory criteria never change it.
Status OverallVerdict(std::span<const JudgedCriterion> results);

// 0 PASS, 1 FAIL, 2 INCONCLUSIVE, 4 ERROR.
ExitCode ExitCodeFor(Status verdict);

}  // namespace greenlight
