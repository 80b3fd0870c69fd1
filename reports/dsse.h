// DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse, envelope.md and protocol.md)
// signed with Ed25519.
//
//   {"payloadType": TYPE, "payload": base64(BODY), "signatures": [{"keyid": ID, "sig":
//   base64(SIG)}]}
//
// SIG is Ed25519 over PAE(TYPE, BODY) = "DSSEv1" SP LEN(TYPE) SP TYPE SP LEN(BODY) SP BODY, where
// LEN is the decimal byte length without leading zeros and SP one space (0x20). The keyid is only a
// hint: verification tries every trusted key on every signature and reports the key that matched.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reports/ed25519.h"

namespace greenlight {

inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";

// Pre-Authentication Encoding, DSSE v1: the exact bytes that are signed.
std::string Pae(std::string_view payload_type, std::string_view payload);

struct DsseSignature {
  std::string keyid;  // May be empty (DSSE makes it optional).
  std::string sig;    // Raw signature bytes (decoded).
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  // Raw payload bytes (decoded).
  std::vector<DsseSignature> signatures;
};

// Signs PAE(payload_type, payload) with `key`; the signature's keyid is the key's KeyId().
DsseEnvelope SignEnvelope(std::string_view payload_type, std::string_view payload,
                          const Ed25519PrivateKey& key);

// The envelope as JSON text (standard padded base64, 2-space indented, trailing newline).
std::string SerializeEnvelope(const DsseEnvelope& envelope);

// Parses envelope JSON, decoding standard or URL-safe base64 with optional padding. On anything
// that is not a well-formed envelope returns nullopt and sets *error to the reason. Parsing does
// not look inside the payload.
std::optional<DsseEnvelope> ParseEnvelope(std::string_view json_text, std::string* error);

struct EnvelopeVerification {
  bool valid = false;
  std::string reason;          // Why it is not valid (empty when valid).
  std::string keyid;           // KeyId() of the trusted key that verified a signature.
  size_t signature_index = 0;  // Which entry of `signatures` verified.
};

// Valid when at least one signature verifies over PAE(payload_type, payload) under one of
// `trusted_keys`. Looks at nothing but the PAE bytes: the payload is not parsed here, so nothing
// the signer did not vouch for is ever interpreted.
EnvelopeVerification VerifyEnvelope(const DsseEnvelope& envelope,
                                    std::span<const Ed25519PublicKey> trusted_keys);

}  // namespace greenlight
