#include "engine/verdict.h"

#include <sstream>

namespace greenlight {
namespace {

std::string Num(double v) {
  std::ostringstream ss;
  ss.precision(6);
  ss << v;
  return ss.str();
}

}  // namespace

Judgement Judge(const Criterion& c, const Measurement& m) {
  const bool advisory = c.severity == Severity::kAdvisory;
  auto soften = [&](Status s) { return advisory && s == Status::kFail ? Status::kWarn : s; };
  if (m.forced_status) return {soften(*m.forced_status), m.message};
  if (!m.value) {
    return {Status::kInconclusive,
            m.message.empty() ? c.metric + " is undefined on this data" : m.message};
  }
  const double v = *m.value;
  const Threshold& t = c.threshold;
  if (!c.confidence) {
    const bool pass = t.Passes(v);
    return {soften(pass ? Status::kPass : Status::kFail),
            Num(v) + (pass ? " satisfies " : " does not satisfy ") + t.ToString()};
  }
  // Exact figures (counts, sizes) carry no interval: they are their own interval.
  const double lo = m.interval ? m.interval->low : v;
  const double hi = m.interval ? m.interval->high : v;
  const std::string range =
      "[" + Num(lo) + ", " + Num(hi) + "] at " + Num(*c.confidence * 100) + "%";
  bool pass = false;
  bool fail = false;
  if (t.op == "between") {
    pass = lo >= t.value && hi <= t.high;
    fail = hi < t.value || lo > t.high;
  } else if (t.op == "eq") {
    pass = lo == t.value && hi == t.value;
    fail = hi < t.value || lo > t.value;
  } else {
    pass = t.Passes(lo) && t.Passes(hi);
    fail = !t.Passes(lo) && !t.Passes(hi);
  }
  if (pass) return {Status::kPass, "interval " + range + " satisfies " + t.ToString()};
  if (fail)
    return {soften(Status::kFail), "interval " + range + " lies wholly outside " + t.ToString()};
  // What would decide depends on the interval: the auditor says so when more data would not
  // (a systematic band); otherwise the interval is a sampling interval and more data narrows it.
  return {
      Status::kInconclusive,
      "interval " + range + " straddles the threshold " + t.ToString() +
          ": not decided at this confidence; " +
          (m.message.empty() ? "more data (rows, queries, repetitions) narrows a sampling interval"
                             : m.message)};
}

Status OverallVerdict(std::span<const JudgedCriterion> results) {
  bool error = false, inconclusive = false;
  for (const auto& r : results) {
    if (r.severity != Severity::kMandatory) continue;
    if (r.status == Status::kFail) return Status::kFail;
    error |= r.status == Status::kError;
    inconclusive |= r.status == Status::kInconclusive;
  }
  if (error) return Status::kError;
  if (inconclusive) return Status::kInconclusive;
  return Status::kPass;
}

ExitCode ExitCodeFor(Status verdict) {
  switch (verdict) {
    case Status::kPass:
      return ExitCode::kPass;
    case Status::kFail:
      return ExitCode::kFail;
    case Status::kInconclusive:
      return ExitCode::kInconclusive;
    default:
      return ExitCode::kRuntimeError;
  }
}

}  // namespace greenlight
