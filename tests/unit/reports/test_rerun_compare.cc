#define BOOST_TEST_MODULE reports_rerun_compare
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "reports/rerun_compare.h"

using greenlight::AllMatch;
using greenlight::CompareResults;
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
  BOOST_TEST(rows[0].match);
  BOOST_TEST(rows[0].note == "identical");
  BOOST_TEST(rows[1].match);
  BOOST_TEST(!rows[2].match);
  BOOST_TEST(rows[2].note.find("differs") != std::string::npos);
  BOOST_TEST(!AllMatch(rows));
}

BOOST_AUTO_TEST_CASE(deterministic_intervals_must_reproduce_too) {
  auto with_interval = [](double low, double high) {
    json r = Result("A", 0.5);
    r["interval"] = {{"low", low}, {"high", high}, {"level", 0.95}};
    return r;
  };
  BOOST_TEST(CompareResults(json::array({with_interval(0.4, 0.6)}),
                            json::array({with_interval(0.4, 0.6 + 5e-13)}))[0]
                 .match);
  const auto moved = CompareResults(json::array({with_interval(0.4, 0.6)}),
                                    json::array({with_interval(0.4, 0.61)}));
  BOOST_TEST(!moved[0].match);
  BOOST_TEST(moved[0].note.find("interval differs") != std::string::npos);
  BOOST_TEST(
      !CompareResults(json::array({with_interval(0.4, 0.6)}), json::array({Result("A", 0.5)}))[0]
           .match);
}

BOOST_AUTO_TEST_CASE(undefined_values_and_statuses) {
  const auto both_null = CompareResults(json::array({Result("A", nullptr, "INCONCLUSIVE")}),
                                        json::array({Result("A", nullptr, "INCONCLUSIVE")}));
  BOOST_TEST(both_null[0].match);
  const auto one_null = CompareResults(json::array({Result("A", 0.5)}),
                                       json::array({Result("A", nullptr, "INCONCLUSIVE")}));
  BOOST_TEST(!one_null[0].match);
  const auto status = CompareResults(json::array({Result("A", 0.5, "PASS")}),
                                     json::array({Result("A", 0.5, "FAIL")}));
  BOOST_TEST(!status[0].match);
}

BOOST_AUTO_TEST_CASE(measured_values_must_fall_in_the_recorded_interval) {
  const json recorded = json::array({Measured("L1", 2.0, 1.8, 2.3), Measured("L2", 2.0, 1.8, 2.3),
                                     Measured("L3", 2.0, 1.8, 2.3), Measured("L4", 2.0, 1.8, 2.3)});
  const json rerun = json::array({Measured("L1", 2.29, 0, 0), Measured("L2", 1.8, 0, 0),
                                  Measured("L3", 2.31, 0, 0), Measured("L4", 1.79, 0, 0, "FAIL")});
  const auto rows = CompareResults(recorded, rerun);
  BOOST_TEST(rows[0].match);
  BOOST_TEST(rows[1].match);  // The interval's ends count as inside.
  BOOST_TEST(!rows[2].match);
  BOOST_TEST(!rows[3].match);
  BOOST_TEST(!rows[0].deterministic);

  json no_interval = Measured("L5", 2.0, 0, 0);
  no_interval.erase("interval");
  BOOST_TEST(
      !CompareResults(json::array({no_interval}), json::array({Measured("L5", 2.0, 0, 0)}))[0]
           .match);
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
  BOOST_TEST(!AllMatch(rows));
  BOOST_TEST(AllMatch(CompareResults(json::array(), json::array())));
}
