#include "reports/rerun_compare.h"

#include <cmath>
#include <cstdio>
#include <set>

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

void Judge(RerunRow& row, const nlohmann::json& rerun) {
  if (Str(rerun, "metric") != row.metric) {
    row.note = "metric differs: recorded " + row.metric + ", re-run " + Str(rerun, "metric");
    return;
  }
  if (row.deterministic) {
    if (!row.recorded && !row.rerun) {
      row.match = row.recorded_status == row.rerun_status;
      row.note = row.match ? "both undefined" : "status differs";
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
    row.match = true;
    row.note = delta == 0.0 ? "identical" : "|diff| " + Fmt(delta) + " <= 1e-12";
    return;
  }
  // Measured: the recorded interval says how far a repeat may move.
  if (!row.rerun) {
    row.note = "re-run has no value";
    return;
  }
  if (!row.interval_low || !row.interval_high) {
    row.note = "measured value recorded without an interval: cannot be compared";
    return;
  }
  if (*row.rerun < *row.interval_low || *row.rerun > *row.interval_high) {
    row.note = "outside the recorded interval [" + Fmt(*row.interval_low) + ", " +
               Fmt(*row.interval_high) + "]";
    return;
  }
  row.match = true;
  row.note = "within the recorded interval";
  if (row.recorded_status != row.rerun_status) row.note += " (status changed)";
}

}  // namespace

std::vector<RerunRow> CompareResults(const nlohmann::json& recorded_results,
                                     const nlohmann::json& rerun_results) {
  std::vector<RerunRow> rows;
  std::set<std::string> seen;
  if (recorded_results.is_array()) {
    for (const auto& rec : recorded_results) {
      RerunRow row;
      row.id = Str(rec, "id");
      row.metric = Str(rec, "metric");
      row.deterministic = !(rec.contains("deterministic") && rec["deterministic"].is_boolean() &&
                            !rec["deterministic"].get<bool>());
      row.recorded = Num(rec, "value");
      row.recorded_status = Str(rec, "status");
      if (rec.contains("interval") && rec["interval"].is_object()) {
        row.interval_low = Num(rec["interval"], "low");
        row.interval_high = Num(rec["interval"], "high");
      }
      seen.insert(row.id);
      const nlohmann::json* again = FindById(rerun_results, row.id);
      if (again == nullptr) {
        row.note = "missing from the re-run";
      } else {
        row.rerun = Num(*again, "value");
        row.rerun_status = Str(*again, "status");
        Judge(row, *again);
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

}  // namespace greenlight
