// IDX files (LeCun's MNIST format, also Fashion-MNIST), gzip'd or plain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace greenlight {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {10000, 28, 28}
  std::vector<uint8_t> data;  // unsigned-byte payload (type code 0x08)
  int64_t file_items = 0;     // items along the first dimension in the file, before `limit`
};

// Parses an unsigned-byte IDX array from a file's bytes (gzip'd or plain), keeping at most `limit`
// items along the first dimension. `file` names the source in messages. The dimensions are checked
// against the bytes actually present before anything is allocated for them; decompression stops at
// kMaxDecompressedBytes. Throws InputError "<file>: <problem>" on a bad magic number, type, size,
// corrupt gzip stream or truncated payload.
IdxArray ParseIdx(std::string_view bytes, const std::string& file, std::optional<int64_t> limit);

// ReadFile (regular files up to kMaxDatasetFileBytes) then ParseIdx.
IdxArray ReadIdxFile(const std::filesystem::path& path, std::optional<int64_t> limit);

}  // namespace greenlight
