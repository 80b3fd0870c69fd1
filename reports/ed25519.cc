#include "reports/ed25519.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"

namespace greenlight {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, PkeyDeleter());
}

// The most recent OpenSSL error as text, clearing the queue so it does not leak into later calls.
std::string OpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  std::string text = "unknown OpenSSL error";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

// Never prompts for a passphrase: an encrypted key is reported as unusable instead of blocking.
int NoPassphrase(char*, int, int, void*) { return -1; }

Bio MemoryBio(std::string_view text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw RuntimeError("OpenSSL: cannot allocate a memory BIO");
  return bio;
}

std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

void RequireEd25519(EVP_PKEY* key, const std::string& source, const char* what) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
    throw InputError(source + ": " + what + " is not an Ed25519 key (found " +
                     (EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown") +
                     ")");
  }
}

std::string ModeOctal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Ed25519PublicKey

Ed25519PublicKey Ed25519PublicKey::FromPem(std::string_view pem, const std::string& source) {
  Bio bio = MemoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr);
  if (key == nullptr) {
    throw InputError(source + ": not a PEM public key (expected '-----BEGIN PUBLIC KEY-----'): " +
                     OpenSslError());
  }
  auto owned = Own(key);
  RequireEd25519(key, source, "public key");
  return Ed25519PublicKey(std::move(owned));
}

Ed25519PublicKey Ed25519PublicKey::FromPemFile(const std::filesystem::path& path) {
  return FromPem(ReadFile(path, kMaxKeyBytes, "key file"), path.string());
}

Ed25519PublicKey Ed25519PublicKey::FromRaw(std::string_view raw) {
  if (raw.size() != kEd25519KeyBytes) {
    throw InputError("Ed25519 public key must be 32 bytes, got " + std::to_string(raw.size()));
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  if (key == nullptr) throw InputError("invalid Ed25519 public key: " + OpenSslError());
  return Ed25519PublicKey(Own(key));
}

bool Ed25519PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kEd25519SignatureBytes) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) throw RuntimeError("OpenSSL: cannot allocate a digest context");
  // Ed25519 takes no digest (NULL md): the message is hashed inside, in one shot.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    throw RuntimeError("OpenSSL: cannot initialise Ed25519 verification: " + OpenSslError());
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();  // A failed verification queues an error; it is an answer, not a failure.
  return rc == 1;
}

std::string Ed25519PublicKey::Raw() const {
  unsigned char raw[kEd25519KeyBytes];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1 || len != sizeof raw) {
    throw RuntimeError("OpenSSL: cannot export the Ed25519 public key: " + OpenSslError());
  }
  return std::string(reinterpret_cast<const char*>(raw), len);
}

std::string Ed25519PublicKey::Der() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) throw RuntimeError("OpenSSL: cannot DER-encode the public key: " + OpenSslError());
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Ed25519PublicKey::Pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    throw RuntimeError("OpenSSL: cannot PEM-encode the public key: " + OpenSslError());
  }
  return DrainBio(bio.get());
}

std::string Ed25519PublicKey::KeyId() const { return Sha256Hex(Der()); }

// ---------------------------------------------------------------------------------------------
// Ed25519PrivateKey

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    throw RuntimeError("OpenSSL: Ed25519 key generation failed: " + OpenSslError());
  }
  return Ed25519PrivateKey(Own(key));
}

Ed25519PrivateKey Ed25519PrivateKey::FromSeed(std::string_view seed) {
  if (seed.size() != kEd25519KeyBytes) {
    throw InputError("Ed25519 secret key must be 32 bytes, got " + std::to_string(seed.size()));
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (key == nullptr) throw InputError("invalid Ed25519 secret key: " + OpenSslError());
  return Ed25519PrivateKey(Own(key));
}

Ed25519PrivateKey Ed25519PrivateKey::FromPem(std::string_view pem, const std::string& source) {
  Bio bio = MemoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (key == nullptr) {
    throw InputError(
        source + ": not an unencrypted PEM private key (expected '-----BEGIN PRIVATE KEY-----'): " +
        OpenSslError());
  }
  auto owned = Own(key);
  RequireEd25519(key, source, "private key");
  return Ed25519PrivateKey(std::move(owned));
}

Ed25519PrivateKey Ed25519PrivateKey::FromPemFile(const std::filesystem::path& path,
                                                 bool allow_insecure_permissions) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw InputError(path.string() + ": cannot read private key: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw InputError(path.string() + ": private key is not a regular file");
  if ((st.st_mode & 0077) != 0 && !allow_insecure_permissions) {
    throw InputError(path.string() + ": private key is accessible by group or others (mode " +
                     ModeOctal(st.st_mode) + "); run 'chmod 600 " + path.string() +
                     "' or pass --insecure-key");
  }
  return FromPem(ReadFile(path, kMaxKeyBytes, "key file"), path.string());
}

std::string Ed25519PrivateKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    throw RuntimeError("OpenSSL: cannot initialise Ed25519 signing: " + OpenSslError());
  }
  unsigned char sig[kEd25519SignatureBytes];
  size_t len = sizeof sig;
  if (EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != sizeof sig) {
    throw RuntimeError("OpenSSL: Ed25519 signing failed: " + OpenSslError());
  }
  return std::string(reinterpret_cast<const char*>(sig), len);
}

Ed25519PublicKey Ed25519PrivateKey::PublicKey() const {
  unsigned char raw[kEd25519KeyBytes];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1 || len != sizeof raw) {
    throw RuntimeError("OpenSSL: cannot derive the Ed25519 public key: " + OpenSslError());
  }
  return Ed25519PublicKey::FromRaw(std::string_view(reinterpret_cast<const char*>(raw), len));
}

std::string Ed25519PrivateKey::Pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw RuntimeError("OpenSSL: cannot PEM-encode the private key: " + OpenSslError());
  }
  return DrainBio(bio.get());
}

// ---------------------------------------------------------------------------------------------

KeyFiles WriteKeyFiles(const Ed25519PrivateKey& key, const std::filesystem::path& prefix) {
  if (prefix.empty() || !prefix.has_filename()) {
    throw InputError("key prefix '" + prefix.string() + "' must end with a file name");
  }
  KeyFiles files{.private_key = prefix.string() + ".key", .public_key = prefix.string() + ".pub"};
  std::error_code ec;
  for (const auto& path : {files.private_key, files.public_key}) {
    if (std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
      throw InputError(path.string() + ": already exists; refusing to overwrite it");
    }
  }
  const auto parent = files.private_key.has_parent_path() ? files.private_key.parent_path()
                                                          : std::filesystem::path(".");
  std::filesystem::create_directories(parent, ec);
  if (ec) throw RuntimeError(parent.string() + ": cannot create directory: " + ec.message());

  const Ed25519PublicKey pub = key.PublicKey();
  WriteFileAtomic(files.private_key, key.Pem(), 0600, /*replace_existing=*/false);
  try {
    WriteFileAtomic(files.public_key, pub.Pem(), 0644, /*replace_existing=*/false);
  } catch (...) {
    // Leave no private key without its public half (it was created by us a moment ago).
    std::filesystem::remove(files.private_key, ec);
    throw;
  }
  files.keyid = pub.KeyId();
  return files;
}

}  // namespace greenlight
