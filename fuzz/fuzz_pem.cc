// PEM key parsing (public SubjectPublicKeyInfo and private PKCS#8 Ed25519).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "reports/ed25519.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    greenlight::Ed25519PublicKey::FromPem(text, "fuzz.pem");
  } catch (const greenlight::InputError&) {
  }
  try {
    greenlight::Ed25519PrivateKey::FromPem(text, "fuzz.pem");
  } catch (const greenlight::InputError&) {
  }
  return 0;
}
