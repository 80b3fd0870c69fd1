#define BOOST_TEST_MODULE reports_ed25519
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "core/digest.h"
#include "core/error.h"
#include "reports/ed25519.h"
#include "tests/test_util.h"
#include "tests/unit/reports/signing_test_util.h"

using greenlight::Ed25519PrivateKey;
using greenlight::Ed25519PublicKey;
using greenlight::signing_testing::FromHex;
using greenlight::testing::TempDir;

namespace {

struct Vector {
  const char* secret_key;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1, TEST 1 and TEST 2 (hex, copied from the RFC).
const Vector kRfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
};

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rfc8032_test_vectors_sign_and_verify) {
  for (const auto& v : kRfc8032) {
    const auto key = Ed25519PrivateKey::FromSeed(FromHex(v.secret_key));
    BOOST_TEST(greenlight::ToHex(key.PublicKey().Raw()) == v.public_key);
    const std::string message = FromHex(v.message);
    const std::string signature = key.Sign(message);
    BOOST_TEST(greenlight::ToHex(signature) == v.signature);

    const auto pub = Ed25519PublicKey::FromRaw(FromHex(v.public_key));
    BOOST_TEST(pub.Verify(message, FromHex(v.signature)));
    BOOST_TEST(!pub.Verify(message + "x", FromHex(v.signature)));
    std::string flipped = FromHex(v.signature);
    flipped[10] = static_cast<char>(flipped[10] ^ 0x01);
    BOOST_TEST(!pub.Verify(message, flipped));
    BOOST_TEST(!pub.Verify(message, FromHex(v.signature).substr(0, 63)));
    BOOST_TEST(!pub.Verify(message, ""));
  }
  // Each vector's signature is bound to its own key.
  const auto pub1 = Ed25519PublicKey::FromRaw(FromHex(kRfc8032[0].public_key));
  BOOST_TEST(!pub1.Verify(FromHex(kRfc8032[1].message), FromHex(kRfc8032[1].signature)));
}

// keyid = SHA-256 of the DER SubjectPublicKeyInfo; for Ed25519 that DER is a fixed 12-byte
// RFC 8410 prefix followed by the 32 raw key bytes.
BOOST_AUTO_TEST_CASE(keyid_is_sha256_of_spki_der) {
  const auto pub = Ed25519PublicKey::FromRaw(FromHex(kRfc8032[0].public_key));
  const std::string der = FromHex("302a300506032b6570032100") + FromHex(kRfc8032[0].public_key);
  BOOST_TEST(pub.Der() == der);
  BOOST_TEST(pub.KeyId() == greenlight::Sha256Hex(der));
  BOOST_TEST(pub.KeyId().size() == 64u);
  BOOST_TEST(pub.Pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
  BOOST_TEST(Ed25519PublicKey::FromPem(pub.Pem(), "mem").Raw() == pub.Raw());
}

BOOST_AUTO_TEST_CASE(pem_round_trip_of_private_key) {
  const auto key = Ed25519PrivateKey::Generate();
  const std::string pem = key.Pem();
  BOOST_TEST(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));  // PKCS#8
  const auto again = Ed25519PrivateKey::FromPem(pem, "mem");
  BOOST_TEST(again.PublicKey().Raw() == key.PublicKey().Raw());
  BOOST_TEST(key.PublicKey().Verify("m", again.Sign("m")));
  // Two fresh keys differ.
  BOOST_TEST(Ed25519PrivateKey::Generate().PublicKey().Raw() != key.PublicKey().Raw());
}

BOOST_AUTO_TEST_CASE(key_files_have_safe_modes_and_are_never_overwritten) {
  TempDir dir;
  const auto key = Ed25519PrivateKey::Generate();
  const auto files = greenlight::WriteKeyFiles(key, dir / "sub/demo");
  BOOST_TEST(files.private_key == dir / "sub/demo.key");
  BOOST_TEST(files.public_key == dir / "sub/demo.pub");
  BOOST_TEST(ModeOf(files.private_key) == 0600u);
  BOOST_TEST(ModeOf(files.public_key) == 0644u);
  BOOST_TEST(files.keyid == key.PublicKey().KeyId());
  BOOST_TEST(Ed25519PublicKey::FromPemFile(files.public_key).KeyId() == files.keyid);
  BOOST_TEST(Ed25519PrivateKey::FromPemFile(files.private_key).PublicKey().KeyId() == files.keyid);

  // A second keygen to the same prefix must fail and leave both files untouched.
  const std::string before_key = greenlight::signing_testing::ReadBytes(files.private_key);
  const std::string before_pub = greenlight::signing_testing::ReadBytes(files.public_key);
  BOOST_CHECK_THROW(greenlight::WriteKeyFiles(Ed25519PrivateKey::Generate(), dir / "sub/demo"),
                    greenlight::InputError);
  BOOST_TEST(greenlight::signing_testing::ReadBytes(files.private_key) == before_key);
  BOOST_TEST(greenlight::signing_testing::ReadBytes(files.public_key) == before_pub);

  // Only one of the pair existing also refuses, and creates nothing.
  greenlight::signing_testing::WriteBytes(dir / "half.pub", "x");
  BOOST_CHECK_THROW(greenlight::WriteKeyFiles(key, dir / "half"), greenlight::InputError);
  BOOST_TEST(!std::filesystem::exists(dir / "half.key"));
  BOOST_TEST(greenlight::signing_testing::ReadBytes(dir / "half.pub") == "x");
}

BOOST_AUTO_TEST_CASE(refuses_private_key_readable_by_others) {
  TempDir dir;
  const auto files = greenlight::WriteKeyFiles(Ed25519PrivateKey::Generate(), dir / "k");
  for (mode_t mode : {0640, 0604, 0620, 0644}) {
    BOOST_REQUIRE(::chmod(files.private_key.c_str(), mode) == 0);
    try {
      Ed25519PrivateKey::FromPemFile(files.private_key);
      BOOST_FAIL("accepted a key with mode " << std::oct << mode);
    } catch (const greenlight::InputError& e) {
      BOOST_TEST(std::string(e.what()).find("--insecure-key") != std::string::npos);
    }
    BOOST_TEST(Ed25519PrivateKey::FromPemFile(files.private_key, true).PublicKey().KeyId() ==
               files.keyid);
  }
  BOOST_REQUIRE(::chmod(files.private_key.c_str(), 0400) == 0);
  BOOST_CHECK_NO_THROW(Ed25519PrivateKey::FromPemFile(files.private_key));
}

BOOST_AUTO_TEST_CASE(bad_key_input_is_an_input_error_naming_the_file) {
  TempDir dir;
  greenlight::signing_testing::WriteBytes(dir / "garbage.pub", "not a key\n");
  try {
    Ed25519PublicKey::FromPemFile(dir / "garbage.pub");
    BOOST_FAIL("accepted garbage");
  } catch (const greenlight::InputError& e) {
    BOOST_TEST(std::string(e.what()).find("garbage.pub") != std::string::npos);
  }
  BOOST_CHECK_THROW(Ed25519PublicKey::FromPemFile(dir / "missing.pub"), greenlight::InputError);
  BOOST_CHECK_THROW(Ed25519PrivateKey::FromPemFile(dir / "missing.key"), greenlight::InputError);
  // A private key where a public key is expected, and vice versa.
  const auto key = Ed25519PrivateKey::Generate();
  BOOST_CHECK_THROW(Ed25519PublicKey::FromPem(key.Pem(), "k"), greenlight::InputError);
  BOOST_CHECK_THROW(Ed25519PrivateKey::FromPem(key.PublicKey().Pem(), "p"), greenlight::InputError);
  BOOST_CHECK_THROW(Ed25519PublicKey::FromRaw(std::string(31, 'a')), greenlight::InputError);
  BOOST_CHECK_THROW(Ed25519PrivateKey::FromSeed(std::string(33, 'a')), greenlight::InputError);
}
