#include "datasets/file_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"

namespace greenlight {
namespace {

int64_t ModifiedNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string TypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

constexpr size_t kBlockBytes = size_t{1} << 16;

}  // namespace

OpenFile::OpenFile(const std::filesystem::path& path, uint64_t max_bytes, std::string_view kind)
    : name_(path.string()) {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise block forever.
  fd_ = ::open(name_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw InputError(name_ + ": no such file");
    throw InputError(name_ + ": cannot open file: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw InputError(name_ + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw InputError(name_ + ": is " + TypeName(st.st_mode) + ", expected a regular " +
                     std::string(kind));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  mtime_ns_ = ModifiedNs(st);
  if (size_ > max_bytes) {
    ::close(fd_);
    throw InputError(name_ + ": " + std::string(kind) + " is " + std::to_string(size_) +
                     " bytes, over the limit of " + std::to_string(max_bytes) + " bytes");
  }
}

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

size_t OpenFile::ReadAt(uint64_t offset, char* out, size_t n) const {
  size_t done = 0;
  while (done < n && offset + done < size_) {
    const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw InputError(name_ + ": read error: " + std::strerror(errno));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

std::string OpenFile::Sha256() const {
  Sha256Stream hash;
  std::vector<char> block(kBlockBytes);
  uint64_t at = 0;
  while (at < size_) {
    const size_t got = ReadAt(at, block.data(), block.size());
    if (got == 0) break;
    hash.Update(std::string_view(block.data(), got));
    at += got;
  }
  if (at != size_) throw RuntimeError(name_ + ": changed while the audit was reading it");
  return hash.Hex();
}

void OpenFile::CheckUnchanged() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != size_ ||
      ModifiedNs(st) != mtime_ns_) {
    throw RuntimeError(name_ +
                       ": changed while the audit was reading it (its size or modification time "
                       "is not the one it was opened with)");
  }
}

// The decoder's state: where it is in the file and in the content.
struct ContentReader::Inflater {
  z_stream zs{};
  bool live = false;
  uint64_t file_at = 0;     // Next compressed byte to feed.
  uint64_t content_at = 0;  // Content offset of the next byte inflate produces.
  bool ended = false;       // The last member ended at the end of the file.
  std::vector<char> in = std::vector<char>(kBlockBytes);

  ~Inflater() {
    if (live) inflateEnd(&zs);
  }
  void Restart(const std::string& name) {
    if (live) inflateEnd(&zs);
    zs = z_stream{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw RuntimeError(name + ": zlib init failed");
    live = true;
    file_at = 0;
    content_at = 0;
    ended = false;
  }
};

ContentReader::ContentReader(const OpenFile& file) : file_(file) {
  std::array<char, 2> magic{};
  gzip_ = file.ReadAt(0, magic.data(), 2) == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
          static_cast<unsigned char>(magic[1]) == 0x8b;
}

ContentReader::~ContentReader() = default;

size_t ContentReader::Read(uint64_t offset, char* out, size_t n) const {
  std::lock_guard<std::mutex> lock(mutex_);
  file_.CheckUnchanged();
  return ReadLocked(offset, out, n);
}

size_t ContentReader::ReadLocked(uint64_t offset, char* out, size_t n) const {
  if (!gzip_) return file_.ReadAt(offset, out, n);
  const std::string& name = file_.name();
  if (!inflater_) inflater_ = std::make_unique<Inflater>();
  Inflater& z = *inflater_;
  if (!z.live || offset < z.content_at) z.Restart(name);
  std::vector<char> skip;
  size_t done = 0;
  while (done < n && !z.ended) {
    // Bytes before `offset` are decoded into a scratch block and dropped.
    const bool skipping = z.content_at < offset;
    if (skipping && skip.empty()) skip.resize(kBlockBytes);
    const uint64_t want = skipping ? std::min<uint64_t>(offset - z.content_at, kBlockBytes)
                                   : static_cast<uint64_t>(n - done);
    char* dst = skipping ? skip.data() : out + done;
    if (z.zs.avail_in == 0) {
      const size_t got = file_.ReadAt(z.file_at, z.in.data(), z.in.size());
      z.file_at += got;
      z.zs.next_in = reinterpret_cast<Bytef*>(z.in.data());
      z.zs.avail_in = static_cast<uInt>(got);
    }
    const bool input_left = z.zs.avail_in > 0;
    z.zs.next_out = reinterpret_cast<Bytef*>(dst);
    z.zs.avail_out = static_cast<uInt>(want);
    const int rc = inflate(&z.zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      throw InputError(name + ": corrupt gzip stream: " + (z.zs.msg ? z.zs.msg : "inflate failed"));
    }
    const uint64_t produced = want - z.zs.avail_out;
    z.content_at += produced;
    if (!skipping) done += static_cast<size_t>(produced);
    if (z.content_at > kMaxDecompressedBytes) {
      throw InputError(name + ": decompresses to more than " +
                       std::to_string(kMaxDecompressedBytes) + " bytes, over the limit");
    }
    if (rc == Z_STREAM_END) {
      if (z.zs.avail_in == 0 && z.file_at >= file_.size()) {
        z.ended = true;
      } else if (inflateReset(&z.zs) != Z_OK) {  // Another gzip member follows.
        throw RuntimeError(name + ": zlib reset failed");
      }
      continue;
    }
    if (!input_left && produced == 0) throw InputError(name + ": truncated gzip stream");
  }
  return done;
}

uint64_t ContentReader::Size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!gzip_) return file_.size();
  if (size_ < 0) {
    // Decode to the end from wherever the decoder is.
    if (!inflater_ || !inflater_->live) {
      inflater_ = std::make_unique<Inflater>();
      inflater_->Restart(file_.name());
    }
    std::vector<char> block(kBlockBytes);
    while (!inflater_->ended) {
      const uint64_t at = inflater_->content_at;
      if (ReadLocked(at, block.data(), block.size()) == 0) break;
    }
    size_ = static_cast<int64_t>(inflater_->content_at);
  }
  return static_cast<uint64_t>(size_);
}

}  // namespace greenlight
