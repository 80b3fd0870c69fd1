#include "core/clock.h"

#include <ctime>

namespace greenlight {

std::string FormatRfc3339Utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NowRfc3339Utc() { return FormatRfc3339Utc(std::chrono::system_clock::now()); }

}  // namespace greenlight
