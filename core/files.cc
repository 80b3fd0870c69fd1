#include "core/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace greenlight {
namespace {

std::string FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::string ReadFile(const std::filesystem::path& path, uint64_t max_bytes, std::string_view kind) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO without a writer would otherwise block forever.
  const int fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw InputError(name + ": no such file");
    throw InputError(name + ": cannot open file: " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(name + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    throw InputError(name + ": is " + FileTypeName(st.st_mode) + ", expected a regular " +
                     std::string(kind));
  }
  auto too_big = [&](uint64_t size) {
    return InputError(
        name + ": " + std::string(kind) + " is " +
        (size > max_bytes ? std::to_string(size) : "more than " + std::to_string(max_bytes)) +
        " bytes, over the limit of " + std::to_string(max_bytes) + " bytes");
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) throw too_big(st.st_size);
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  // The file may change size while it is read: read until EOF, never past the limit.
  while (true) {
    if (done == out.size()) {
      if (out.size() >= max_bytes + 1) throw too_big(out.size());
      out.resize(std::min<uint64_t>(max_bytes + 1, std::max<size_t>(out.size() * 2, 4096)));
    }
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(name + ": read error: " + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done > max_bytes) throw too_big(done);
  out.resize(done);
  return out;
}

std::filesystem::path WriteTemporaryFile(const std::filesystem::path& dir, const std::string& name,
                                         std::string_view content, unsigned mode) {
  std::string tmpl = (dir / ("." + name + ".XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const int fd = mkstemp(buf.data());
  const std::string target = (dir / name).string();
  if (fd < 0) {
    throw RuntimeError(target + ": cannot create temporary file: " + std::strerror(errno));
  }
  const std::string tmp(buf.data());
  auto fail = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    throw RuntimeError(target + ": " + what + ": " + reason);
  };
  if (::fchmod(fd, mode) != 0) fail("cannot set permissions");
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw RuntimeError(target + ": close failed: " + reason);
  }
  return tmp;
}

void SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError(dir.string() + ": cannot open directory: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw RuntimeError(dir.string() + ": fsync failed: " + std::strerror(err));
}

FileLock::FileLock(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw RuntimeError(path.string() + ": cannot open lock file: " + std::strerror(errno));
  }
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string reason = std::strerror(errno);
    ::close(fd_);
    throw RuntimeError(path.string() + ": cannot lock: " + reason);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // Closing releases the flock.
}

void WriteFileAtomic(const std::filesystem::path& path, std::string_view content, unsigned mode,
                     bool replace_existing) {
  std::error_code ec;
  const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::filesystem::create_directories(parent, ec);
  if (ec) throw RuntimeError(parent.string() + ": cannot create directory: " + ec.message());
  const std::string tmp =
      WriteTemporaryFile(parent, path.filename().string(), content, mode).string();
  if (!replace_existing) {
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc == 0) return;
    if (err == EEXIST)
      throw InputError(path.string() + ": already exists; refusing to overwrite it");
    throw RuntimeError(path.string() + ": cannot create: " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw RuntimeError(path.string() + ": rename failed: " + reason);
  }
}

size_t FindInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // No overlongs.
      if (c == 0xED) hi = 0x9F;  // No surrogates.
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // No overlongs.
      if (c == 0xF4) hi = 0x8F;  // Nothing above U+10FFFF.
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

TextPosition PositionOf(std::string_view text, size_t offset) {
  TextPosition pos;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

std::string PortablePath(const std::filesystem::path& file, const std::filesystem::path& base,
                         UnrelatedTree unrelated) {
  const std::filesystem::path to = std::filesystem::absolute(file).lexically_normal();
  const std::filesystem::path from = std::filesystem::absolute(base).lexically_normal();
  auto a = to.begin(), b = from.begin();
  int shared = 0;
  for (; a != to.end() && b != from.end() && *a == *b; ++a, ++b) {
    if (!a->empty() && *a != to.root_path()) ++shared;
  }
  const std::filesystem::path rel = to.lexically_relative(from);
  if (shared == 0 || rel.empty()) {
    return unrelated == UnrelatedTree::kAbsolute ? to.string() : to.filename().string();
  }
  return rel.string();
}

}  // namespace greenlight
