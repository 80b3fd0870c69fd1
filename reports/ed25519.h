// Ed25519 keys, signatures and key files through the OpenSSL 3 EVP API (RFC 8032 "pure" Ed25519,
// no pre-hash, no context).
//
// Key files: the private key is PKCS#8 PEM ("BEGIN PRIVATE KEY"), the public key
// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") — the formats `openssl genpkey -algorithm ed25519`
// and `openssl pkey -pubout` use, so either side can be made or checked with plain openssl.
//
// Key id: the lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo (44 bytes for
// Ed25519), i.e. `openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header.

namespace greenlight {

inline constexpr size_t kEd25519KeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

class Ed25519PublicKey {
 public:
  // Throws InputError naming `source` when the text is not an Ed25519 SubjectPublicKeyInfo PEM.
  static Ed25519PublicKey FromPem(std::string_view pem, const std::string& source);
  // Throws InputError when the file is unreadable or not an Ed25519 public key.
  static Ed25519PublicKey FromPemFile(const std::filesystem::path& path);
  // The 32-byte encoded point A of RFC 8032. Throws InputError on a wrong length.
  static Ed25519PublicKey FromRaw(std::string_view raw);

  // True only when `signature` is a valid Ed25519 signature of `message` under this key. Never
  // throws for wrong-length or malformed signatures: they are simply not valid.
  bool Verify(std::string_view message, std::string_view signature) const;

  std::string Raw() const;    // 32 bytes.
  std::string Der() const;    // SubjectPublicKeyInfo DER.
  std::string Pem() const;    // SubjectPublicKeyInfo PEM.
  std::string KeyId() const;  // Lowercase hex SHA-256 of Der().

 private:
  explicit Ed25519PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

class Ed25519PrivateKey {
 public:
  // A fresh key from OpenSSL's CSPRNG.
  static Ed25519PrivateKey Generate();
  // The 32-byte secret seed of RFC 8032 ("SECRET KEY" in its test vectors).
  static Ed25519PrivateKey FromSeed(std::string_view seed);
  // Throws InputError naming `source` when the text is not an unencrypted Ed25519 PKCS#8 PEM.
  static Ed25519PrivateKey FromPem(std::string_view pem, const std::string& source);
  // Like ssh, refuses (InputError) a key file that group or others may read or write, unless
  // `allow_insecure_permissions`: a signing key others can read proves nothing.
  static Ed25519PrivateKey FromPemFile(const std::filesystem::path& path,
                                       bool allow_insecure_permissions = false);

  // The 64-byte signature R || S of `message` (deterministic, RFC 8032 §5.1.6).
  std::string Sign(std::string_view message) const;
  Ed25519PublicKey PublicKey() const;
  std::string Pem() const;  // PKCS#8 PEM, unencrypted.

 private:
  explicit Ed25519PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

struct KeyFiles {
  std::filesystem::path private_key;  // PREFIX.key
  std::filesystem::path public_key;   // PREFIX.pub
  std::string keyid;
};

// Writes `key` to PREFIX.key (mode 0600) and its public half to PREFIX.pub (mode 0644). Never
// overwrites: throws InputError when either file exists, before writing anything; each file is
// written to a temporary name and hard-linked into place, which fails rather than replaces if
// the name appeared meanwhile. Throws RuntimeError on I/O failures.
KeyFiles WriteKeyFiles(const Ed25519PrivateKey& key, const std::filesystem::path& prefix);

}  // namespace greenlight
