#include "reports/rerun_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "reports/report_text.h"

namespace greenlight {
namespace {

std::string Str(const nlohmann::json& r, const char* key) {
  return r.is_object() && r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : "";
}

std::optional<double> Num(const nlohmann::json& r, const char* key) {
  if (!r.is_object() || !r.contains(key) || !r[key].is_number()) return std::nullopt;
  return r[key].get<double>();
}

std::string Fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::optional<double> IntervalEnd(const nlohmann::json& r, const char* end) {
  if (!r.is_object() || !r.contains("interval") || !r["interval"].is_object()) return std::nullopt;
  return Num(r["interval"], end);
}

const nlohmann::json* FindById(const nlohmann::json& results, const std::string& id) {
  if (!results.is_array()) return nullptr;
  for (const auto& r : results) {
    if (Str(r, "id") == id) return &r;
  }
  return nullptr;
}

const nlohmann::json& Details(const nlohmann::json& r) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return r.is_object() && r.contains("details") && r["details"].is_object() ? r["details"] : kEmpty;
}

// The same-method key of a result with a systematic band, "" without one.
std::string SameMethodKey(const nlohmann::json& r) {
  const auto& d = Details(r);
  if (!d.contains("systematic_band") || !d["systematic_band"].is_object()) return "";
  return Str(d["systematic_band"], "same_method_key");
}

void JudgeDeterministic(RerunRow& row, const nlohmann::json& rerun) {
  if (!row.recorded && !row.rerun) {
    row.outcome =
        row.recorded_status == row.rerun_status ? RerunOutcome::kMatch : RerunOutcome::kInvalid;
    row.note = row.outcome == RerunOutcome::kMatch ? "both undefined" : "status differs";
    return;
  }
  if (!row.recorded || !row.rerun) {
    row.note = row.recorded ? "re-run has no value" : "recorded no value";
    return;
  }
  const double delta = std::fabs(*row.recorded - *row.rerun);
  if (!(delta <= kDeterministicTolerance)) {
    row.note = "deterministic value differs by " + Fmt(delta) + " (allowed 1e-12)";
    return;
  }
  if (row.recorded_status != row.rerun_status) {
    row.note = "status differs";
    return;
  }
  // A deterministic metric's interval (Wilson, seeded bootstrap) must reproduce as well.
  const std::optional<double> low = IntervalEnd(rerun, "low");
  const std::optional<double> high = IntervalEnd(rerun, "high");
  if (row.interval_low.has_value() != low.has_value() ||
      row.interval_high.has_value() != high.has_value()) {
    row.note = "interval present on one side only";
    return;
  }
  if (low && !(std::fabs(*low - *row.interval_low) <= kDeterministicTolerance &&
               std::fabs(*high - *row.interval_high) <= kDeterministicTolerance)) {
    row.note = "interval differs: recorded [" + Fmt(*row.interval_low) + ", " +
               Fmt(*row.interval_high) + "], re-run [" + Fmt(*low) + ", " + Fmt(*high) + "]";
    return;
  }
  row.outcome = RerunOutcome::kMatch;
  row.note = delta == 0.0 ? "identical" : "|diff| " + Fmt(delta) + " <= 1e-12";
}

// The interval of a measured result to compare: the statistical one when `statistical`, else the
// reported one; the value itself when there is none.
std::pair<double, double> ComparedInterval(const nlohmann::json& r, double value,
                                           bool statistical) {
  const nlohmann::json* iv = nullptr;
  if (statistical) {
    const auto& d = Details(r);
    if (d.contains("statistical_interval")) iv = &d["statistical_interval"];
  } else if (r.contains("interval") && r["interval"].is_object()) {
    iv = &r["interval"];
  }
  if (iv != nullptr) {
    const auto lo = Num(*iv, "low"), hi = Num(*iv, "high");
    if (lo && hi) return {std::min(*lo, *hi), std::max(*lo, *hi)};
  }
  return {value, value};
}

void JudgeMeasured(RerunRow& row, const nlohmann::json& recorded, const nlohmann::json& rerun,
                   double tolerance) {
  if (!row.recorded && !row.rerun) {
    row.outcome = RerunOutcome::kConsistent;
    row.note = "both undefined";
    return;
  }
  if (!row.recorded || !row.rerun) {
    row.outcome = RerunOutcome::kDrifted;
    row.note = row.recorded ? "re-run has no value" : "recorded no value";
    if (!row.rerun && rerun.contains("message") && rerun["message"].is_string()) {
      row.note += ": " + rerun["message"].get<std::string>();
    }
    return;
  }
  // Two figures of the same method on the same machine share the band's error: compare what
  // varies between them (the repetitions' intervals).
  const std::string key = SameMethodKey(recorded);
  const bool shared = !key.empty() && key == SameMethodKey(rerun) &&
                      Details(recorded).contains("statistical_interval") &&
                      Details(rerun).contains("statistical_interval");
  const auto [lo1, hi1] = ComparedInterval(recorded, *row.recorded, shared);
  const auto [lo2, hi2] = ComparedInterval(rerun, *row.rerun, shared);
  row.interval_low = lo1;
  row.interval_high = hi1;
  row.rerun_low = lo2;
  row.rerun_high = hi2;
  const double gap = std::max(0.0, std::max(lo1, lo2) - std::min(hi1, hi2));
  const double scale = std::max(std::fabs(*row.recorded), std::fabs(*row.rerun));
  const double allowed = tolerance * scale;
  const bool consistent = gap <= allowed;
  row.outcome = consistent ? RerunOutcome::kConsistent : RerunOutcome::kDrifted;
  if (gap == 0.0) {
    row.note = lo1 == hi1 && lo2 == hi2 ? "equal values" : "intervals overlap";
  } else {
    row.note = "intervals " + Fmt(gap) + " apart (" + Fmt(scale > 0 ? 100.0 * gap / scale : 0.0) +
               "% of the value; tolerance " + Fmt(100.0 * tolerance) + "%)";
  }
  if (shared) {
    row.note +=
        "; same method and machine: the shared band cancels, repetitions' intervals "
        "compared";
  } else if (!key.empty()) {
    row.note +=
        "; different method, coefficients or machine: the bands do not cancel, full "
        "intervals compared";
  }
  if (row.recorded_status != row.rerun_status) row.note += " (status changed)";
}

void Judge(RerunRow& row, const nlohmann::json& recorded, const nlohmann::json& rerun,
           double tolerance) {
  if (Str(rerun, "metric") != row.metric) {
    row.note = "metric differs: recorded " + row.metric + ", re-run " + Str(rerun, "metric");
    return;
  }
  if (row.deterministic) {
    JudgeDeterministic(row, rerun);
  } else {
    JudgeMeasured(row, recorded, rerun, tolerance);
  }
}

std::string Text(const nlohmann::json* v) {
  if (v == nullptr || v->is_null()) return "-";
  return v->is_string() ? v->get<std::string>() : v->dump();
}

// The benchmark context of the first measured result that has one.
const nlohmann::json* TimingContext(const nlohmann::json& predicate) {
  if (!predicate.contains("results") || !predicate["results"].is_array()) return nullptr;
  for (const auto& r : predicate["results"]) {
    const auto& d = Details(r);
    if (d.contains("run") && d["run"].is_object() && d["run"].contains("gbench_context")) {
      return &d["run"]["gbench_context"];
    }
  }
  return nullptr;
}

}  // namespace

std::string RerunOutcomeName(RerunOutcome outcome) {
  switch (outcome) {
    case RerunOutcome::kMatch:
      return "match";
    case RerunOutcome::kConsistent:
      return "CONSISTENT";
    case RerunOutcome::kDrifted:
      return "DRIFTED";
    case RerunOutcome::kInvalid:
      break;
  }
  return "INVALID";
}

std::vector<RerunRow> CompareResults(const nlohmann::json& recorded_results,
                                     const nlohmann::json& rerun_results,
                                     double relative_tolerance) {
  std::vector<RerunRow> rows;
  std::set<std::string> seen;
  if (recorded_results.is_array()) {
    for (const auto& rec : recorded_results) {
      RerunRow row;
      row.id = Str(rec, "id");
      row.metric = Str(rec, "metric");
      row.deterministic = !(rec.contains("deterministic") && rec["deterministic"].is_boolean() &&
                            !rec["deterministic"].get<bool>());
      row.estimated = IsEstimate(Str(rec, "method"));
      row.recorded = Num(rec, "value");
      row.recorded_status = Str(rec, "status");
      row.interval_low = IntervalEnd(rec, "low");
      row.interval_high = IntervalEnd(rec, "high");
      seen.insert(row.id);
      const nlohmann::json* again = FindById(rerun_results, row.id);
      if (again == nullptr) {
        row.note = "missing from the re-run";
      } else {
        row.rerun = Num(*again, "value");
        row.rerun_status = Str(*again, "status");
        Judge(row, rec, *again, relative_tolerance);
      }
      rows.push_back(std::move(row));
    }
  }
  if (rerun_results.is_array()) {
    for (const auto& again : rerun_results) {
      const std::string id = Str(again, "id");
      if (seen.count(id) != 0) continue;
      RerunRow row{.id = id, .metric = Str(again, "metric")};
      row.rerun = Num(again, "value");
      row.rerun_status = Str(again, "status");
      row.note = "not in the signed report";
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

RerunSummary Summarize(const std::vector<RerunRow>& rows) {
  RerunSummary s;
  for (const auto& r : rows) {
    switch (r.outcome) {
      case RerunOutcome::kMatch:
        ++s.match;
        break;
      case RerunOutcome::kConsistent:
        ++s.consistent;
        break;
      case RerunOutcome::kDrifted:
        ++s.drifted;
        break;
      case RerunOutcome::kInvalid:
        ++s.invalid;
        break;
    }
  }
  return s;
}

std::vector<EnvironmentRow> CompareEnvironments(const nlohmann::json& recorded_predicate,
                                                const nlohmann::json& rerun_predicate) {
  std::vector<EnvironmentRow> rows;
  auto add = [&rows](const std::string& field, const nlohmann::json* a, const nlohmann::json* b) {
    EnvironmentRow row{field, Text(a), Text(b), false};
    row.differs = row.recorded != row.rerun;
    rows.push_back(std::move(row));
  };
  auto object_at = [](const nlohmann::json* p, const char* key) -> const nlohmann::json* {
    if (p == nullptr || !p->is_object() || !p->contains(key) || !(*p)[key].is_object()) {
      return nullptr;
    }
    return &(*p)[key];
  };
  auto field = [](const nlohmann::json* p, const std::string& key) -> const nlohmann::json* {
    if (p == nullptr || !p->contains(key)) return nullptr;
    return &(*p)[key];
  };
  const nlohmann::json* env_a = object_at(&recorded_predicate, "environment");
  const nlohmann::json* env_b = object_at(&rerun_predicate, "environment");
  std::set<std::string> keys;
  for (const auto* env : {env_a, env_b}) {
    if (env == nullptr) continue;
    for (const auto& [k, v] : env->items()) keys.insert(k);
  }
  for (const auto& k : keys) add(k, field(env_a, k), field(env_b, k));

  const nlohmann::json* ctx_a = TimingContext(recorded_predicate);
  const nlohmann::json* ctx_b = TimingContext(rerun_predicate);
  if (ctx_a != nullptr || ctx_b != nullptr) {
    const nlohmann::json* raw_a = object_at(ctx_a, "context");
    const nlohmann::json* raw_b = object_at(ctx_b, "context");
    add("load_avg", field(raw_a, "load_avg"), field(raw_b, "load_avg"));
    for (const char* k : {"num_cpus", "mhz_per_cpu", "cpu_scaling", "library_build_type"}) {
      add(k, field(ctx_a, k), field(ctx_b, k));
    }
    add("timing_warnings", field(ctx_a, "warnings"), field(ctx_b, "warnings"));
  }
  add("created_at", field(&recorded_predicate, "created_at"),
      field(&rerun_predicate, "created_at"));
  return rows;
}

}  // namespace greenlight
