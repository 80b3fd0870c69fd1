#include "auditors/safety/isolation.h"

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

namespace greenlight {
namespace {

using safety::IsolatedOutcome;
using safety::RunIsolated;

BOOST_AUTO_TEST_SUITE(isolation)

BOOST_AUTO_TEST_CASE(returns_the_probe_result) {
  const auto o = RunIsolated([] { return std::string("silent\nfinite output"); }, 10.0);
  BOOST_TEST(static_cast<int>(o.kind) == static_cast<int>(IsolatedOutcome::Kind::kCompleted));
  BOOST_TEST(o.payload == "silent\nfinite output");
}

BOOST_AUTO_TEST_CASE(large_results_pass_the_pipe) {
  const auto o = RunIsolated([] { return std::string(1 << 20, 'x'); }, 30.0);
  BOOST_TEST(static_cast<int>(o.kind) == static_cast<int>(IsolatedOutcome::Kind::kCompleted));
  BOOST_TEST(o.payload.size() == size_t{1} << 20);
}

BOOST_AUTO_TEST_CASE(segfault_becomes_an_outcome) {
  const auto o = RunIsolated(
      []() -> std::string {
        std::raise(SIGSEGV);
        return "unreachable";
      },
      10.0);
  BOOST_TEST(static_cast<int>(o.kind) == static_cast<int>(IsolatedOutcome::Kind::kCrashed));
  BOOST_TEST(o.signal == SIGSEGV);
  BOOST_TEST(o.Describe().find("signal 11") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(abort_becomes_an_outcome) {
  const auto o = RunIsolated([]() -> std::string { std::abort(); }, 10.0);
  BOOST_TEST(static_cast<int>(o.kind) == static_cast<int>(IsolatedOutcome::Kind::kCrashed));
  BOOST_TEST(o.signal == SIGABRT);
}

BOOST_AUTO_TEST_CASE(escaping_exception_becomes_an_outcome) {
  const auto o = RunIsolated([]() -> std::string { throw std::runtime_error("boom"); }, 10.0);
  BOOST_TEST(static_cast<int>(o.kind) == static_cast<int>(IsolatedOutcome::Kind::kCrashed));
  BOOST_TEST(o.exit_code == 3);
  BOOST_TEST(o.payload == "boom");
}

BOOST_AUTO_TEST_CASE(hang_is_killed_at_the_timeout) {
  const auto o = RunIsolated(
      []() -> std::string {
        volatile bool forever = true;
        while (forever) {
        }
        return "unreachable";
      },
      0.5);
  BOOST_TEST(static_cast<int>(o.kind) == static_cast<int>(IsolatedOutcome::Kind::kTimedOut));
  BOOST_TEST(o.Describe().find("timed out") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace greenlight
