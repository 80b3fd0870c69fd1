#define BOOST_TEST_MODULE reports_rerun_compare
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "reports/rerun_compare.h"

using greenlight::CompareResults;
namespace greenlight {
// Boost.Test prints the outcomes of failed checks by name.
inline std::ostream& operator<<(std::ostream& out, RerunOutcome outcome) {
  return out << RerunOutcomeName(outcome);
}
}  // namespace greenlight

using greenlight::RerunOutcome;
using greenlight::Summarize;
using nlohmann::json;

namespace {

json Result(const std::string& id, const json& value, const std::string& status = "PASS") {
  return {{"id", id}, {"metric", "accuracy"}, {"status", status}, {"value", value}};
}

json Measured(const std::string& id, double value, double low, double high,
              const std::string& status = "PASS") {
  return {{"id", id},
          {"metric", "latency_p99_ms"},
          {"status", status},
          {"value", value},
          {"deterministic", false},
          {"interval", {{"low", low}, {"high", high}, {"level", 0.95}}}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(deterministic_values_must_agree_to_1e_12) {
  const json recorded = json::array({Result("A", 0.9123), Result("B", 0.5), Result("C", 0.25)});
  const json rerun =
      json::array({Result("A", 0.9123), Result("B", 0.5 + 9e-13), Result("C", 0.25 + 2e-12)});
  const auto rows = CompareResults(recorded, rerun);
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0].outcome == RerunOutcome::kMatch);
  BOOST_TEST(rows[0].note == "identical");
  BOOST_TEST(rows[1].outcome == RerunOutcome::kMatch);
  BOOST_TEST(rows[2].outcome == RerunOutcome::kInvalid);
  BOOST_TEST(rows[2].note.find("differs") != std::string::npos);
  BOOST_TEST(Summarize(rows).invalid == 1);
}

BOOST_AUTO_TEST_CASE(deterministic_intervals_must_reproduce_too) {
  auto with_interval = [](double low, double high) {
    json r = Result("A", 0.5);
    r["interval"] = {{"low", low}, {"high", high}, {"level", 0.95}};
    return r;
  };
  BOOST_TEST(CompareResults(json::array({with_interval(0.4, 0.6)}),
                            json::array({with_interval(0.4, 0.6 + 5e-13)}))[0]
                 .outcome == RerunOutcome::kMatch);
  const auto moved = CompareResults(json::array({with_interval(0.4, 0.6)}),
                                    json::array({with_interval(0.4, 0.61)}));
  BOOST_TEST(moved[0].outcome == RerunOutcome::kInvalid);
  BOOST_TEST(moved[0].note.find("interval differs") != std::string::npos);
  BOOST_TEST(
      CompareResults(json::array({with_interval(0.4, 0.6)}), json::array({Result("A", 0.5)}))[0]
          .outcome == RerunOutcome::kInvalid);
}

BOOST_AUTO_TEST_CASE(undefined_values_and_statuses) {
  const auto both_null = CompareResults(json::array({Result("A", nullptr, "INCONCLUSIVE")}),
                                        json::array({Result("A", nullptr, "INCONCLUSIVE")}));
  BOOST_TEST(both_null[0].outcome == RerunOutcome::kMatch);
  const auto one_null = CompareResults(json::array({Result("A", 0.5)}),
                                       json::array({Result("A", nullptr, "INCONCLUSIVE")}));
  BOOST_TEST(one_null[0].outcome == RerunOutcome::kInvalid);
  const auto status = CompareResults(json::array({Result("A", 0.5, "PASS")}),
                                     json::array({Result("A", 0.5, "FAIL")}));
  BOOST_TEST(status[0].outcome == RerunOutcome::kInvalid);
}

BOOST_AUTO_TEST_CASE(measured_values_are_compared_as_two_measurements) {
  // Recorded [1.8, 2.3] against re-runs: overlapping; apart by 0.1 (4.1 % of 2.45, within the
  // default 10 %); apart by 0.5 (16.7 % of 3.0, beyond it); overlapping with another status.
  const json recorded = json::array({Measured("L1", 2.0, 1.8, 2.3), Measured("L2", 2.0, 1.8, 2.3),
                                     Measured("L3", 2.0, 1.8, 2.3), Measured("L4", 2.0, 1.8, 2.3)});
  const json rerun =
      json::array({Measured("L1", 2.5, 2.2, 2.7), Measured("L2", 2.45, 2.4, 2.5),
                   Measured("L3", 3.0, 2.8, 3.1), Measured("L4", 1.9, 1.85, 1.95, "FAIL")});
  const auto rows = CompareResults(recorded, rerun);
  BOOST_TEST(!rows[0].deterministic);
  BOOST_TEST(!rows[0].estimated);
  BOOST_TEST(rows[0].outcome == RerunOutcome::kConsistent);
  BOOST_TEST(rows[0].note == "intervals overlap");
  BOOST_TEST(rows[1].outcome == RerunOutcome::kConsistent);
  BOOST_TEST(rows[1].note.find("0.1 apart") != std::string::npos, rows[1].note);
  BOOST_TEST(rows[2].outcome == RerunOutcome::kDrifted);
  BOOST_TEST(rows[2].note.find("0.5 apart") != std::string::npos, rows[2].note);
  BOOST_TEST(rows[3].outcome == RerunOutcome::kConsistent);
  BOOST_TEST(rows[3].note.find("status changed") != std::string::npos);
  const auto sum = Summarize(rows);
  BOOST_TEST(sum.consistent == 3);
  BOOST_TEST(sum.drifted == 1);
  BOOST_TEST(sum.invalid == 0);
  // A tolerance of 0.25 makes the 0.5 gap consistent; 0 requires the intervals to overlap.
  BOOST_TEST(CompareResults(recorded, rerun, 0.25)[2].outcome == RerunOutcome::kConsistent);
  BOOST_TEST(CompareResults(recorded, rerun, 0.0)[1].outcome == RerunOutcome::kDrifted);
}

BOOST_AUTO_TEST_CASE(equal_measured_values_without_intervals_are_consistent) {
  // The determinism check is measured (deterministic: false) and records no interval: 0 and 0.
  json a = Measured("D", 0.0, 0, 0);
  a.erase("interval");
  const auto rows = CompareResults(json::array({a}), json::array({a}));
  BOOST_TEST(rows[0].outcome == RerunOutcome::kConsistent);
  BOOST_TEST(rows[0].note == "equal values");
  json b = a;
  b["value"] = 0.5;
  BOOST_TEST(CompareResults(json::array({a}), json::array({b}))[0].outcome ==
             RerunOutcome::kDrifted);
  // A measured value on one side only drifted (a meter missing now), it was not forged.
  json none = a;
  none["value"] = nullptr;
  BOOST_TEST(CompareResults(json::array({a}), json::array({none}))[0].outcome ==
             RerunOutcome::kDrifted);
}

BOOST_AUTO_TEST_CASE(estimates_of_the_same_method_and_machine_compare_without_their_band) {
  // Two CPU-time estimates: 10 and 13 mJ, each with the x0.5-x2 band ([5, 20] and [6.5, 26])
  // around repetition intervals [9.5, 10.5] and [12, 14]. The band is the same model error on both
  // sides: the comparison uses the repetition intervals (1.5 apart = 11.5 % of 13: DRIFTED), where
  // the banded intervals would have hidden any change.
  auto estimate = [](double v, double lo, double hi, const std::string& key) {
    json r = Measured("E", v, lo * 0.5, hi * 2.0);
    r["metric"] = "energy_per_inference_mj";
    r["method"] = "estimate:cpu-time: CPU time x watts per thread";
    r["details"] = {
        {"systematic_band", {{"low_factor", 0.5}, {"high_factor", 2.0}, {"same_method_key", key}}},
        {"statistical_interval", {{"low", lo}, {"high", hi}, {"level", 0.95}}}};
    return r;
  };
  const std::string k = "estimate:cpu-time|host=a|watts_per_thread=3.349";
  const auto same = CompareResults(json::array({estimate(10, 9.5, 10.5, k)}),
                                   json::array({estimate(13, 12, 14, k)}));
  BOOST_TEST(same[0].outcome == RerunOutcome::kDrifted);
  BOOST_TEST(same[0].estimated);  // Shown as "estimated", never as "measured".
  BOOST_TEST(*same[0].interval_high == 10.5);
  BOOST_TEST(*same[0].rerun_low == 12.0);
  BOOST_TEST(same[0].note.find("shared band cancels") != std::string::npos, same[0].note);
  // Another machine (or coefficient): the bands do not cancel, the full intervals overlap.
  const auto other = CompareResults(json::array({estimate(10, 9.5, 10.5, k)}),
                                    json::array({estimate(13, 12, 14, k + "|host=b")}));
  BOOST_TEST(other[0].outcome == RerunOutcome::kConsistent);
  BOOST_TEST(other[0].note.find("bands do not cancel") != std::string::npos, other[0].note);
  // Within the tolerance once the change is small: 10 vs 10.8 with overlapping repetitions.
  BOOST_TEST(CompareResults(json::array({estimate(10, 9.5, 10.5, k)}),
                            json::array({estimate(10.8, 10.3, 11.3, k)}))[0]
                 .outcome == RerunOutcome::kConsistent);
}

BOOST_AUTO_TEST_CASE(environments_side_by_side) {
  json a = {{"environment", {{"cpu_model", "X"}, {"threads", 1}}},
            {"created_at", "2026-11-29T10:00:00Z"},
            {"results", json::array({{{"id", "L"},
                                      {"details",
                                       {{"run",
                                         {{"gbench_context",
                                           {{"cpu_scaling", "enabled"},
                                            {"context", {{"load_avg", {1.5, 1.0, 0.5}}}}}}}}}}}})}};
  json b = a;
  b["environment"]["threads"] = 2;
  b["results"][0]["details"]["run"]["gbench_context"]["context"]["load_avg"] = {3.0, 2.0, 1.0};
  const auto rows = greenlight::CompareEnvironments(a, b);
  auto find = [&](const std::string& f) {
    for (const auto& r : rows) {
      if (r.field == f) return r;
    }
    BOOST_FAIL("no row " + f);
    return rows.front();
  };
  BOOST_TEST(!find("cpu_model").differs);
  BOOST_TEST(find("threads").differs);
  BOOST_TEST(find("threads").recorded == "1");
  BOOST_TEST(find("threads").rerun == "2");
  BOOST_TEST(find("load_avg").differs);
  BOOST_TEST(find("load_avg").rerun == "[3.0,2.0,1.0]");
  BOOST_TEST(!find("cpu_scaling").differs);
}

BOOST_AUTO_TEST_CASE(missing_extra_and_renamed_criteria_never_match) {
  json renamed = Result("B", 0.5);
  renamed["metric"] = "f1";
  const auto rows = CompareResults(json::array({Result("A", 0.5), Result("B", 0.5)}),
                                   json::array({renamed, Result("C", 0.5)}));
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0].id == "A");
  BOOST_TEST(rows[0].note == "missing from the re-run");
  BOOST_TEST(rows[1].note.find("metric differs") != std::string::npos);
  BOOST_TEST(rows[2].id == "C");
  BOOST_TEST(rows[2].note == "not in the signed report");
  for (const auto& r : rows) BOOST_TEST(r.outcome == RerunOutcome::kInvalid);
  BOOST_TEST(Summarize(CompareResults(json::array(), json::array())).invalid == 0);
}
