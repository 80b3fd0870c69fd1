// End-to-end: `greenlight metrics [NAME|CONCERN]` filters the catalog, prints each shared parameter
// once, and refuses unknown names. The expectations are computed from the unfiltered --json
// catalog, not from the text output's own code.
#define BOOST_TEST_MODULE metrics_e2e
#include <boost/test/unit_test.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(filters_by_concern_and_name_with_json_and_text) {
  const auto all = t::RunCli("metrics --json");
  BOOST_REQUIRE(all.exit_code == 0);
  const json catalog = json::parse(all.out);
  for (const std::string concern : {"safety", "efficiency", "fairness"}) {
    size_t expected = 0;
    for (const auto& m : catalog) expected += m["concern"] == concern;
    const auto r = t::RunCli("metrics --json " + concern);
    BOOST_TEST(r.exit_code == 0, r.err);
    const json some = json::parse(r.out);
    BOOST_TEST(some.size() == expected, concern);
    for (const auto& m : some) BOOST_TEST(m["concern"] == concern);
  }
  const auto one = t::RunCli("metrics --json latency_p99_ms");
  BOOST_TEST(json::parse(one.out).size() == 1u);
  BOOST_TEST(json::parse(one.out)[0]["name"] == "latency_p99_ms");

  // Text: every efficiency metric listed, nothing of other concerns, and each parameter that
  // several efficiency metrics declare identically printed once.
  const auto text = t::RunCli("metrics efficiency");
  BOOST_TEST(text.exit_code == 0, text.err);
  std::map<std::string, int> users;  // "name: description" -> metrics declaring it identically
  for (const auto& m : catalog) {
    if (m["concern"] != "efficiency") {
      BOOST_TEST(Count(text.out, "  " + m["name"].get<std::string>() + " (") == 0u);
      continue;
    }
    BOOST_TEST(Count(text.out, "\n  " + m["name"].get<std::string>() + " (") == 1u);
    for (const auto& p : m["params"]) users[p.dump()]++;
  }
  int shared = 0;
  for (const auto& [param, n] : users) {
    if (n < 2) continue;
    ++shared;
    const json p = json::parse(param);
    const std::string line =
        "      " + p["name"].get<std::string>() + ": " + p["type"].get<std::string>();
    BOOST_TEST(Count(text.out, line) >= 1u, line);
  }
  BOOST_TEST(shared > 10);  // The timed-run and meter settings.
  BOOST_TEST(Count(text.out, "      min_queries: ") == 1u, text.out);
  BOOST_TEST(Count(text.out, "      meter: ") == 1u);

  // The single metric shows its parameters inline.
  const auto p99 = t::RunCli("metrics latency_p99_ms");
  BOOST_TEST(p99.out.find("      min_queries: ") != std::string::npos);
  BOOST_TEST(p99.out.find("parameter group") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_names_are_bad_input_listing_the_concerns) {
  const auto r = t::RunCli("metrics latency_p98_ms");
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  BOOST_TEST(r.err.find("unknown metric or concern 'latency_p98_ms' (concerns: efficiency, "
                        "fairness, safety; closest metrics: ") != std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("'latency_p99_ms'") != std::string::npos, r.err);
}
