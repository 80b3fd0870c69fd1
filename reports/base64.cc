#include "reports/base64.h"

#include <array>
#include <cstdint>

namespace greenlight {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Sextet value of `c` in either alphabet, or -1. Characters 62 and 63 are told apart by the
// caller, which must not mix the two alphabets.
int SextetOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::optional<std::string> Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kStandard[(n >> 18) & 63]);
    out.push_back(kStandard[(n >> 12) & 63]);
    out.push_back(kStandard[(n >> 6) & 63]);
    out.push_back(kStandard[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kStandard[(n >> 18) & 63]);
    out.push_back(kStandard[(n >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    const uint32_t n =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kStandard[(n >> 18) & 63]);
    out.push_back(kStandard[(n >> 12) & 63]);
    out.push_back(kStandard[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text, std::string* error) {
  // Split off the padding: at most two '=' and only at the very end, completing a 4-char group.
  size_t data_len = text.size();
  while (data_len > 0 && text[data_len - 1] == '=') --data_len;
  const size_t padding = text.size() - data_len;
  if (padding > 2) return Fail(error, "too much '=' padding");
  if (padding > 0 && text.size() % 4 != 0)
    return Fail(error, "'=' padding does not complete a group of 4");
  if (data_len % 4 == 1)
    return Fail(error, "impossible length (" + std::to_string(data_len) + " characters)");
  if (padding > 0 && (data_len % 4) + padding != 4)
    return Fail(error, "wrong amount of '=' padding");

  bool standard = false;
  bool url_safe = false;
  std::string out;
  out.reserve(data_len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    const char c = text[i];
    const int v = SextetOf(c);
    if (v < 0) {
      if (c == '=') return Fail(error, "'=' inside the text at offset " + std::to_string(i));
      return Fail(error, "character " + std::to_string(static_cast<unsigned char>(c)) +
                             " at offset " + std::to_string(i) + " is not base64");
    }
    standard |= (c == '+' || c == '/');
    url_safe |= (c == '-' || c == '_');
    if (standard && url_safe) return Fail(error, "mixes the standard and URL-safe alphabets");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits (2 or 4) are padding bits of the last character and must be zero (canonical).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Fail(error, "non-zero unused bits in the last character (non-canonical encoding)");
  }
  return out;
}

}  // namespace greenlight
