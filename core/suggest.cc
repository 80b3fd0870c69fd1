#include "core/suggest.h"

#include <algorithm>
#include <cctype>

namespace greenlight {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view value,
                                        const std::vector<std::string>& candidates) {
  if (std::find(candidates.begin(), candidates.end(), value) != candidates.end()) {
    return std::nullopt;
  }
  const std::string lower = Lower(value);
  const size_t budget = std::max<size_t>(1, value.size() / 3);
  std::optional<std::string> best;
  size_t best_distance = budget + 1;
  for (const auto& c : candidates) {
    const size_t d = EditDistance(lower, Lower(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string QuotedList(const std::vector<std::string>& values, size_t max_shown) {
  std::string out;
  for (size_t i = 0; i < values.size() && i < max_shown; ++i) {
    out += (i ? ", \"" : "\"") + values[i] + "\"";
  }
  if (values.size() > max_shown) {
    out += ", … (" + std::to_string(values.size()) + " values)";
  }
  return out;
}

}  // namespace greenlight
