#include "core/result.h"

#include <array>
#include <utility>

namespace greenlight {
namespace {
constexpr std::array<std::pair<Status, std::string_view>, 6> kNames = {{
    {Status::kPass, "PASS"},
    {Status::kFail, "FAIL"},
    {Status::kWarn, "WARN"},
    {Status::kInconclusive, "INCONCLUSIVE"},
    {Status::kError, "ERROR"},
    {Status::kSkipped, "SKIPPED"},
}};
}  // namespace

std::string_view StatusName(Status status) {
  for (const auto& [s, name] : kNames) {
    if (s == status) return name;
  }
  return "ERROR";
}

std::optional<Status> ParseStatus(std::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

}  // namespace greenlight
