// Base64 (RFC 4648) for DSSE envelopes. DSSE requires verifiers to accept both the standard and the
// URL-safe alphabet, with or without '=' padding; signers here always emit standard, padded text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace greenlight {

// Standard alphabet (RFC 4648 §4), '=' padded.
std::string Base64Encode(std::string_view bytes);

// Decodes standard (§4) or URL-safe (§5) base64, padding optional. Strict, so that no two distinct
// texts of one alphabet decode to the same bytes: returns nullopt (and sets *error when given) on
// characters outside the alphabet (whitespace included), both alphabets mixed in one text, wrong
// or misplaced padding, an impossible length, or non-zero unused bits in the last character.
std::optional<std::string> Base64Decode(std::string_view text, std::string* error = nullptr);

}  // namespace greenlight
