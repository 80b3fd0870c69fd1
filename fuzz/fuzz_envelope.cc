// Envelope verifier: DSSE parsing, base64, signature check, statement shape, as `verify` runs it
// (with one trusted key, so the payload checks after a forged or absent signature are reached only
// through ParseEnvelope and VerifyEnvelope; CheckStatementShape is fuzzed on the payload directly).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json_limits.h"
#include "reports/dsse.h"
#include "reports/ed25519.h"
#include "reports/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const greenlight::Ed25519PrivateKey* key =
      new greenlight::Ed25519PrivateKey(greenlight::Ed25519PrivateKey::Generate());
  const std::string text(reinterpret_cast<const char*>(data), size);
  greenlight::VerifyRequest request;
  request.trusted_keys.push_back(key->PublicKey());
  const greenlight::ReportVerification result = greenlight::VerifySignedReport(text, request);
  if (result.valid) __builtin_trap();  // Nothing unsigned by `key` may verify.
  std::string error;
  if (const auto envelope = greenlight::ParseEnvelope(text, &error)) {
    try {
      const nlohmann::json statement = greenlight::ParseJsonDocument(envelope->payload, "payload");
      greenlight::CheckStatementShape(statement, "");
    } catch (const greenlight::InputError&) {
    }
  }
  return 0;
}
