// SHA-256 digests (OpenSSL EVP) of files and byte strings, as lowercase hex.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace greenlight {

std::string Sha256Hex(std::string_view bytes);
// Streams the file; throws InputError naming the file when it cannot be read.
std::string Sha256File(const std::filesystem::path& path);
std::string ToHex(std::string_view bytes);

// SHA-256 of bytes fed in pieces (a file read block by block).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  // The digest of everything fed so far, as lowercase hex; the stream is then spent.
  std::string Hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace greenlight
