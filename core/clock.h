// Wall-clock helpers for report timestamps.
#pragma once

#include <chrono>
#include <string>

namespace greenlight {

// RFC 3339 UTC timestamp with second precision, e.g. "2026-11-28T13:29:33Z".
std::string FormatRfc3339Utc(std::chrono::system_clock::time_point t);
std::string NowRfc3339Utc();

}  // namespace greenlight
