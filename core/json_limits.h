// Limits for JSON read from users (reports, envelopes, payloads), checked on the raw text before
// any parser or recursive walk sees it, so a hostile file cannot exhaust the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace greenlight {

// greenlight's own reports nest 6 levels; 64 leaves room for any honest producer.
inline constexpr size_t kMaxJsonDepth = 64;

// Returns a reason ("nested deeper than 64 levels at byte N") when arrays/objects in `text` nest
// deeper than `max_depth`, else nullopt. Brackets inside strings are ignored; the text need not be
// valid JSON (the parser reports that).
std::optional<std::string> CheckJsonDepth(std::string_view text, size_t max_depth = kMaxJsonDepth);

// The reason in a nlohmann exception without its "[json.exception.kind.id] " prefix, e.g.
// "number overflow parsing '1e999'".
std::string JsonErrorText(const nlohmann::json::exception& e);

// Parses user-supplied JSON after CheckJsonDepth. Throws InputError "<what>: <problem>" (byte
// offset of a syntax error, a number no double can hold, or the depth limit).
nlohmann::json ParseJsonDocument(std::string_view text, const std::string& what);

// An integer read from untrusted JSON with its range checked. nlohmann's get<int64_t>() of a
// floating-point number casts it (undefined behaviour beyond the type: 4e46, or 300.0 into a
// uint8_t) and silently truncates 2.5 to 2; this accepts only an integer token that fits T.
// Throws InputError "<where>: not an integer" or "<where>: integer N out of range".
template <typename T>
T JsonInteger(const nlohmann::json& v, std::string_view where) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= kMax) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    const bool fits =
        i >= 0 ? static_cast<uint64_t>(i) <= kMax
               : std::is_signed_v<T> && i >= static_cast<int64_t>(std::numeric_limits<T>::min());
    if (fits) return static_cast<T>(i);
  } else {
    throw InputError(std::string(where) + ": not an integer");
  }
  throw InputError(std::string(where) + ": integer " + v.dump() + " out of range");
}

// An array of integers, each read as JsonInteger<T> ("<where>[i]: ..." on the first bad one).
template <typename T>
std::vector<T> JsonIntegers(const nlohmann::json& v, std::string_view where) {
  if (!v.is_array()) throw InputError(std::string(where) + ": not an array");
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    out.push_back(JsonInteger<T>(v[i], std::string(where) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

// The most rows one set of statistics read from untrusted JSON (a partial) may describe: 2^40,
// about 1.1e12. With at most a million partials (kMaxShards), every merged count and every sum of
// counts stays far below 2^63, so merging never overflows.
inline constexpr int64_t kMaxStatisticRows = int64_t{1} << 40;

// A count of rows: an integer in [0, kMaxStatisticRows] ("<where>: count N is negative" or
// "... exceeds 2^40 rows").
inline int64_t JsonCount(const nlohmann::json& v, std::string_view where) {
  const auto n = JsonInteger<int64_t>(v, where);
  if (n < 0) throw InputError(std::string(where) + ": count " + std::to_string(n) + " is negative");
  if (n > kMaxStatisticRows) {
    throw InputError(std::string(where) + ": count " + std::to_string(n) + " exceeds 2^40 rows");
  }
  return n;
}

// Counts of disjoint sets of rows (the cells of one table): each a JsonCount, and their sum at
// most kMaxStatisticRows.
inline std::vector<int64_t> JsonCounts(const nlohmann::json& v, std::string_view where) {
  if (!v.is_array()) throw InputError(std::string(where) + ": not an array");
  std::vector<int64_t> out;
  out.reserve(v.size());
  int64_t total = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    out.push_back(JsonCount(v[i], std::string(where) + "[" + std::to_string(i) + "]"));
    total += out.back();  // Both terms <= 2^40: no overflow before the check.
    if (total > kMaxStatisticRows) {
      throw InputError(std::string(where) + ": the counts add up to more than 2^40 rows");
    }
  }
  return out;
}

}  // namespace greenlight
