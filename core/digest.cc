#include "core/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace greenlight {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtx NewSha256() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw RuntimeError("OpenSSL: cannot initialise SHA-256");
  }
  return ctx;
}

std::string Finish(EVP_MD_CTX* ctx) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md.data(), &len) != 1) throw RuntimeError("OpenSSL: SHA-256 failed");
  return ToHex(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

}  // namespace

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  MdCtx ctx = NewSha256();
  if (EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1) {
    throw RuntimeError("OpenSSL: SHA-256 failed");
  }
  return Finish(ctx.get());
}

std::string Sha256File(const std::filesystem::path& path) {
  const std::string name = path.string();
  // O_NONBLOCK: a FIFO without a writer must be refused, not waited on.
  const int fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw InputError(name + ": cannot open file for reading: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw InputError(name + ": not a regular file");
  }
  MdCtx ctx = NewSha256();
  std::array<char, 1 << 16> buf{};
  while (true) {
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      throw InputError(name + ": read error: " + std::strerror(errno));
    }
    if (got == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(got)) != 1) {
      throw RuntimeError("OpenSSL: SHA-256 failed");
    }
  }
  return Finish(ctx.get());
}

struct Sha256Stream::Impl {
  MdCtx ctx = NewSha256();
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {}
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(impl_->ctx.get(), bytes.data(), bytes.size()) != 1) {
    throw RuntimeError("OpenSSL: SHA-256 failed");
  }
}

std::string Sha256Stream::Hex() { return Finish(impl_->ctx.get()); }

}  // namespace greenlight
