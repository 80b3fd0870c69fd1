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

// With a confidence level, PASS needs the whole interval on the passing side of the threshold and
// FAIL needs it wholly on the failing side; otherwise INCONCLUSIVE. Without one, the point
// estimate decides. An undefined value is INCONCLUSIVE; a forced status wins; an advisory FAIL is
// WARN. When the interval straddles the threshold, the message says what would decide: the
// measurement's own `message` when it has one (an auditor whose interval is a systematic band
// says that more samples cannot narrow it), else that more data narrows a sampling interval.
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
