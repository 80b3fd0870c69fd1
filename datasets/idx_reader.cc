#include "datasets/idx_reader.h"

#include <zlib.h>

#include <array>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/files.h"

namespace greenlight {
namespace {

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Inflates every gzip member in `bytes`, refusing output beyond kMaxDecompressedBytes.
std::string Gunzip(std::string_view bytes, const std::string& file) {
  if (bytes.size() > std::numeric_limits<uInt>::max()) {
    throw InputError(file + ": gzip file too large");
  }
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw RuntimeError(file + ": zlib init failed");
  struct Ender {
    z_stream* zs;
    ~Ender() { inflateEnd(zs); }
  } ender{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  std::array<char, 1 << 16> buf{};
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      throw InputError(file + ": corrupt gzip stream: " + (zs.msg ? zs.msg : "inflate failed"));
    }
    const size_t produced = buf.size() - zs.avail_out;
    if (out.size() + produced > kMaxDecompressedBytes) {
      throw InputError(file + ": decompresses to more than " +
                       std::to_string(kMaxDecompressedBytes) + " bytes, over the limit");
    }
    out.append(buf.data(), produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return out;
      if (inflateReset(&zs) != Z_OK) throw RuntimeError(file + ": zlib reset failed");
      continue;  // Another gzip member follows.
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) throw InputError(file + ": truncated gzip stream");
  }
}

}  // namespace

IdxArray ParseIdx(std::string_view bytes, const std::string& file, std::optional<int64_t> limit) {
  std::string inflated;
  std::string_view data = bytes;
  if (IsGzip(bytes)) {
    inflated = Gunzip(bytes, file);
    data = inflated;
  }
  if (data.size() < 4)
    throw InputError(file + ": truncated IDX file while reading the magic number");
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(data[i]); };
  if (byte(0) != 0 || byte(1) != 0) throw InputError(file + ": not an IDX file (bad magic number)");
  if (byte(2) != 0x08) {
    throw InputError(file + ": IDX element type 0x" + std::to_string(byte(2)) +
                     " is not supported (only unsigned bytes, 0x08)");
  }
  const int ndims = byte(3);
  if (ndims < 1 || ndims > 4)
    throw InputError(file + ": IDX file with " + std::to_string(ndims) + " dimensions");
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (data.size() < header)
    throw InputError(file + ": truncated IDX file while reading the dimensions");
  IdxArray out;
  for (int i = 0; i < ndims; ++i) {
    const size_t at = 4 + 4 * static_cast<size_t>(i);
    const int64_t d = (int64_t{byte(at)} << 24) | (int64_t{byte(at + 1)} << 16) |
                      (int64_t{byte(at + 2)} << 8) | byte(at + 3);
    out.dims.push_back(d);
  }
  out.file_items = out.dims[0];
  // The declared item count must fit in the bytes present (checked without overflow: each factor
  // is below 2^32 and the product is compared before it can exceed the payload size).
  const uint64_t payload = data.size() - header;
  uint64_t declared = 1;
  bool fits = true;
  for (int64_t d : out.dims) {
    if (d == 0) {
      declared = 0;
      break;
    }
    if (declared > payload / static_cast<uint64_t>(d)) fits = false;
    if (fits) declared *= static_cast<uint64_t>(d);
  }
  if (!fits || declared > payload) {
    std::string shape;
    for (int64_t d : out.dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    throw InputError(file + ": IDX header declares " + shape + " items but the file holds only " +
                     std::to_string(payload) + " data bytes (truncated or corrupt)");
  }
  if (limit && *limit < out.dims[0]) out.dims[0] = std::max<int64_t>(0, *limit);
  uint64_t items = 1;
  for (int64_t d : out.dims) items *= static_cast<uint64_t>(d);
  const auto* begin = reinterpret_cast<const uint8_t*>(data.data() + header);
  out.data.assign(begin, begin + items);
  return out;
}

IdxArray ReadIdxFile(const std::filesystem::path& path, std::optional<int64_t> limit) {
  return ParseIdx(ReadFile(path, kMaxDatasetFileBytes, "IDX file"), path.string(), limit);
}

}  // namespace greenlight
