// IDX files (LeCun's MNIST format, also Fashion-MNIST), gzip'd or plain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace greenlight {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {10000, 28, 28}
  std::vector<uint8_t> data;  // unsigned-byte payload (type code 0x08)
  int64_t file_items = 0;     // items along the first dimension in the file, before `limit`
};

// Reads an unsigned-byte IDX array, keeping at most `limit` items along the first dimension.
// Throws InputError naming the file on a bad magic number, type or truncated payload.
IdxArray ReadIdxFile(const std::filesystem::path& path, std::optional<int64_t> limit);

}  // namespace greenlight
