#include "core/json_limits.h"

#include "core/error.h"

namespace greenlight {

std::optional<std::string> CheckJsonDepth(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // Skips the escaped character, a quote included.
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return "JSON nested deeper than " + std::to_string(max_depth) + " levels at byte " +
               std::to_string(i);
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

std::string JsonErrorText(const nlohmann::json::exception& e) {
  // nlohmann's messages start with "[json.exception.<kind>.<id>] "; the rest is the reason.
  std::string text = e.what();
  if (const size_t close = text.find("] ");
      text.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
    text.erase(0, close + 2);
  }
  return text;
}

nlohmann::json ParseJsonDocument(std::string_view text, const std::string& what) {
  if (auto deep = CheckJsonDepth(text)) throw InputError(what + ": " + *deep);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(what + ": not valid JSON at byte " + std::to_string(e.byte));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406: a number such as 1e999 that no double can hold.
    throw InputError(what + ": " + JsonErrorText(e));
  }
}

}  // namespace greenlight
