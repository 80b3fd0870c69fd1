#include "engine/verdict.h"

#include <cmath>
#include <sstream>

namespace greenlight {
namespace {

std::string Num(double v) {
  std::ostringstream ss;
  ss.precision(6);
  ss << v;
  return ss.str();
}

bool OneSided(const Threshold& t) { return t.op != "between" && t.op != "eq"; }

}  // namespace

double IntervalLevel(const Criterion& c) {
  if (!c.confidence) return 0.95;
  if (!OneSided(c.threshold)) return *c.confidence;
  // Rounded to 12 decimals so that reports show 0.9, not 0.8999999999999999, for c = 0.95.
  return std::round((2.0 * *c.confidence - 1.0) * 1e12) / 1e12;
}

Judgement Judge(const Criterion& c, const Measurement& m) {
  const bool advisory = c.severity == Severity::kAdvisory;
  auto soften = [&](Status s) { return advisory && s == Status::kFail ? Status::kWarn : s; };
  if (m.undecidable) return {Status::kInconclusive, *m.undecidable};
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
  if (m.interval && (v < lo - 1e-9 || v > hi + 1e-9)) {
    return {Status::kError, "the interval [" + Num(lo) + ", " + Num(hi) +
                                "] does not contain the estimate " + Num(v) +
                                ": the metric's interval is defective"};
  }
  // What would decide depends on the interval: the auditor says so when more data would not
  // (a systematic band); otherwise the interval is a sampling interval and more data narrows it.
  const std::string what_decides =
      "not decided at this confidence; " +
      (m.message.empty()
           ? std::string("more data (rows, queries, repetitions) narrows a sampling interval")
           : m.message);
  const std::string level = Num(*c.confidence * 100) + "%";
  if (!OneSided(t)) {
    const std::string range = "interval [" + Num(lo) + ", " + Num(hi) + "] at " + level;
    bool pass = false;
    bool fail = false;
    if (t.op == "between") {
      pass = lo >= t.value && hi <= t.high;
      fail = hi < t.value || lo > t.high;
    } else {
      pass = lo == t.value && hi == t.value;
      fail = hi < t.value || lo > t.value;
    }
    if (pass) return {Status::kPass, range + " satisfies " + t.ToString()};
    if (fail) return {soften(Status::kFail), range + " lies wholly outside " + t.ToString()};
    return {Status::kInconclusive,
            range + " straddles the threshold " + t.ToString() + ": " + what_decides};
  }
  // gt/gte: the lower bound must pass, and the upper bound must fail for a FAIL; lt/lte mirror.
  const bool upper_side = t.op == "lt" || t.op == "lte";
  const double pass_bound = upper_side ? hi : lo;
  const double fail_bound = upper_side ? lo : hi;
  auto bound = [&](bool upper, double x) {
    return "one-sided " + level + (upper ? " upper" : " lower") + " bound " + Num(x);
  };
  if (t.Passes(pass_bound)) {
    return {Status::kPass, bound(upper_side, pass_bound) + " satisfies " + t.ToString()};
  }
  if (!t.Passes(fail_bound)) {
    return {soften(Status::kFail),
            bound(!upper_side, fail_bound) + " lies beyond the threshold " + t.ToString()};
  }
  return {Status::kInconclusive, "the one-sided " + level + " bounds [" + Num(lo) + ", " + Num(hi) +
                                     "] straddle the threshold " + t.ToString() + ": " +
                                     what_decides};
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
