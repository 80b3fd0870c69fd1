// Limits for JSON read from users (reports, envelopes, payloads), checked on the raw text before
// any parser or recursive walk sees it, so a hostile file cannot exhaust the stack.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace greenlight
