// Reading results out of a report statement in tests.
#pragma once

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace greenlight::testing {

// The result with criterion id `id` in a report statement's predicate; fails the test when the
// report has none.
inline const nlohmann::json& Result(const nlohmann::json& report, const std::string& id) {
  for (const nlohmann::json& r : report["predicate"]["results"]) {
    if (r["id"] == id) return r;
  }
  BOOST_FAIL("no result " + id);
  static const nlohmann::json none;
  return none;
}

}  // namespace greenlight::testing
