#include "reports/dsse.h"

#include <nlohmann/json.hpp>

#include "core/json_limits.h"
#include "reports/base64.h"

namespace greenlight {

std::string Pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out.reserve(out.size() + payload_type.size() + payload.size() + 48);
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

DsseEnvelope SignEnvelope(std::string_view payload_type, std::string_view payload,
                          const Ed25519PrivateKey& key) {
  DsseEnvelope envelope{.payload_type = std::string(payload_type), .payload = std::string(payload)};
  envelope.signatures.push_back(
      {.keyid = key.PublicKey().KeyId(), .sig = key.Sign(Pae(payload_type, payload))});
  return envelope;
}

std::string SerializeEnvelope(const DsseEnvelope& envelope) {
  nlohmann::ordered_json doc;
  doc["payloadType"] = envelope.payload_type;
  doc["payload"] = Base64Encode(envelope.payload);
  doc["signatures"] = nlohmann::ordered_json::array();
  for (const auto& s : envelope.signatures) {
    nlohmann::ordered_json entry;
    entry["keyid"] = s.keyid;
    entry["sig"] = Base64Encode(s.sig);
    doc["signatures"].push_back(std::move(entry));
  }
  return doc.dump(2) + "\n";
}

std::optional<DsseEnvelope> ParseEnvelope(std::string_view json_text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<DsseEnvelope> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  if (auto deep = CheckJsonDepth(json_text)) return fail("not a DSSE envelope: " + *deep);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    return fail("not a DSSE envelope: invalid JSON at byte " + std::to_string(e.byte) +
                " (truncated or corrupted file?)");
  } catch (const nlohmann::json::exception& e) {
    return fail("not a DSSE envelope: " + JsonErrorText(e));
  }
  if (!doc.is_object()) return fail("not a DSSE envelope: the top level is not a JSON object");
  for (const char* field : {"payloadType", "payload", "signatures"}) {
    if (!doc.contains(field))
      return fail(std::string("not a DSSE envelope: no '") + field + "' field");
  }
  if (!doc["payloadType"].is_string()) return fail("'payloadType' is not a string");
  if (!doc["payload"].is_string()) return fail("'payload' is not a string");
  if (!doc["signatures"].is_array()) return fail("'signatures' is not an array");

  DsseEnvelope envelope;
  envelope.payload_type = doc["payloadType"].get<std::string>();
  std::string why;
  auto payload = Base64Decode(doc["payload"].get<std::string>(), &why);
  if (!payload) return fail("'payload' is not valid base64: " + why);
  envelope.payload = std::move(*payload);

  const auto& sigs = doc["signatures"];
  for (size_t i = 0; i < sigs.size(); ++i) {
    const std::string where = "signatures[" + std::to_string(i) + "]";
    if (!sigs[i].is_object()) return fail(where + " is not an object");
    if (!sigs[i].contains("sig") || !sigs[i]["sig"].is_string()) {
      return fail(where + " has no 'sig' string");
    }
    DsseSignature signature;
    if (sigs[i].contains("keyid")) {
      if (!sigs[i]["keyid"].is_string()) return fail(where + ".keyid is not a string");
      signature.keyid = sigs[i]["keyid"].get<std::string>();
    }
    auto sig = Base64Decode(sigs[i]["sig"].get<std::string>(), &why);
    if (!sig) return fail(where + ".sig is not valid base64: " + why);
    signature.sig = std::move(*sig);
    envelope.signatures.push_back(std::move(signature));
  }
  return envelope;
}

EnvelopeVerification VerifyEnvelope(const DsseEnvelope& envelope,
                                    std::span<const Ed25519PublicKey> trusted_keys) {
  EnvelopeVerification result;
  if (trusted_keys.empty()) {
    result.reason = "no trusted public key given";
    return result;
  }
  if (envelope.signatures.empty()) {
    result.reason = "the envelope has no signatures";
    return result;
  }
  const std::string pae = Pae(envelope.payload_type, envelope.payload);
  for (size_t i = 0; i < envelope.signatures.size(); ++i) {
    for (const auto& key : trusted_keys) {
      if (key.Verify(pae, envelope.signatures[i].sig)) {
        result.valid = true;
        result.keyid = key.KeyId();
        result.signature_index = i;
        return result;
      }
    }
  }
  // Say whether the signer claims to be a trusted key (then the bytes were altered) or not.
  std::string claimed;
  bool claims_trusted = false;
  for (const auto& s : envelope.signatures) {
    claimed += (claimed.empty() ? "" : ", ") + (s.keyid.empty() ? std::string("(none)") : s.keyid);
    for (const auto& key : trusted_keys)
      claims_trusted |= (!s.keyid.empty() && s.keyid == key.KeyId());
  }
  if (claims_trusted) {
    result.reason =
        "signature does not verify: the payload, its type or the signature was altered "
        "after signing (keyid " +
        claimed + ")";
  } else {
    std::string trusted;
    for (const auto& key : trusted_keys) trusted += (trusted.empty() ? "" : ", ") + key.KeyId();
    result.reason = "not signed by a trusted key: signature keyid(s) " + claimed +
                    "; trusted keyid(s) " + trusted;
  }
  return result;
}

}  // namespace greenlight
