#include "datasets/idx_reader.h"

#include <zlib.h>

#include <array>
#include <memory>
#include <string>

#include "core/error.h"

namespace greenlight {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

}  // namespace

IdxArray ReadIdxFile(const std::filesystem::path& path, std::optional<int64_t> limit) {
  const std::string file = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(file + ": no such file");
  // gzread reads plain files transparently, so .gz and uncompressed IDX both work.
  std::unique_ptr<gzFile_s, GzCloser> gz(gzopen(file.c_str(), "rb"));
  if (!gz) throw InputError(file + ": cannot open");
  auto read_exact = [&](void* buf, size_t n, const char* what) {
    size_t done = 0;
    while (done < n) {
      const int chunk = static_cast<int>(std::min<size_t>(n - done, 1u << 30));
      const int got =
          gzread(gz.get(), static_cast<char*>(buf) + done, static_cast<unsigned>(chunk));
      if (got < 0) {
        int errnum = 0;
        throw InputError(file + ": corrupt gzip stream while reading " + what + ": " +
                         gzerror(gz.get(), &errnum));
      }
      if (got == 0) throw InputError(file + ": truncated IDX file while reading " + what);
      done += static_cast<size_t>(got);
    }
  };
  std::array<uint8_t, 4> magic{};
  read_exact(magic.data(), 4, "the magic number");
  if (magic[0] != 0 || magic[1] != 0)
    throw InputError(file + ": not an IDX file (bad magic number)");
  if (magic[2] != 0x08) {
    throw InputError(file + ": IDX element type 0x" + std::to_string(magic[2]) +
                     " is not supported (only unsigned bytes, 0x08)");
  }
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4)
    throw InputError(file + ": IDX file with " + std::to_string(ndims) + " dimensions");
  IdxArray out;
  int64_t items = 1;
  for (int i = 0; i < ndims; ++i) {
    std::array<uint8_t, 4> b{};
    read_exact(b.data(), 4, "the dimensions");
    const int64_t d = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | b[3];
    out.dims.push_back(d);
  }
  out.file_items = out.dims[0];
  if (limit && *limit < out.dims[0]) out.dims[0] = std::max<int64_t>(0, *limit);
  for (int64_t d : out.dims) items *= d;
  out.data.resize(static_cast<size_t>(items));
  if (items > 0) read_exact(out.data.data(), out.data.size(), "the data");
  return out;
}

}  // namespace greenlight
