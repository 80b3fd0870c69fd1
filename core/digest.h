// SHA-256 digests (OpenSSL EVP) of files and byte strings, as lowercase hex.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace greenlight {

std::string Sha256Hex(std::string_view bytes);
// Streams the file; throws InputError naming the file when it cannot be read.
std::string Sha256File(const std::filesystem::path& path);
std::string ToHex(std::string_view bytes);

}  // namespace greenlight
