#define BOOST_TEST_MODULE reports_dsse
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "reports/base64.h"
#include "reports/dsse.h"
#include "tests/test_util.h"
#include "tests/unit/reports/signing_test_util.h"

using namespace greenlight;

// The example in the DSSE v1 protocol specification.
BOOST_AUTO_TEST_CASE(pae_matches_the_dsse_specification_example) {
  BOOST_TEST(Pae("http://example.com/HelloWorld", "hello world") ==
             "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

BOOST_AUTO_TEST_CASE(pae_counts_bytes_not_characters) {
  BOOST_TEST(Pae("", "") == "DSSEv1 0  0 ");
  // "é" is two bytes in UTF-8; a NUL byte counts and is kept.
  BOOST_TEST(Pae("t", "\xc3\xa9") == "DSSEv1 1 t 2 \xc3\xa9");
  BOOST_TEST(Pae("t", std::string("a\0b", 3)) == std::string("DSSEv1 1 t 3 a\0b", 16));
  const std::string big(1000, 'x');
  BOOST_TEST(Pae("application/vnd.in-toto+json", big) ==
             "DSSEv1 28 application/vnd.in-toto+json 1000 " + big);
}

BOOST_AUTO_TEST_CASE(envelope_round_trip_and_verification) {
  const auto key = Ed25519PrivateKey::Generate();
  const std::string payload = "{\"a\": 1}\n";
  const DsseEnvelope env = SignEnvelope(kInTotoPayloadType, payload, key);
  BOOST_REQUIRE(env.signatures.size() == 1u);
  BOOST_TEST(env.signatures[0].keyid == key.PublicKey().KeyId());
  BOOST_TEST(key.PublicKey().Verify(Pae(kInTotoPayloadType, payload), env.signatures[0].sig));

  const std::string text = SerializeEnvelope(env);
  const auto doc = nlohmann::json::parse(text);
  BOOST_TEST(doc["payloadType"] == "application/vnd.in-toto+json");
  BOOST_TEST(Base64Decode(doc["payload"].get<std::string>()).value() == payload);
  BOOST_TEST(doc["signatures"][0]["keyid"] == key.PublicKey().KeyId());

  std::string error;
  const auto parsed = ParseEnvelope(text, &error);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), error);
  BOOST_TEST(parsed->payload == payload);
  BOOST_TEST(parsed->payload_type == kInTotoPayloadType);
  const std::vector<Ed25519PublicKey> keys{key.PublicKey()};
  const auto check = VerifyEnvelope(*parsed, keys);
  BOOST_TEST(check.valid);
  BOOST_TEST(check.keyid == key.PublicKey().KeyId());
}

BOOST_AUTO_TEST_CASE(accepts_url_safe_unpadded_base64_and_missing_keyid) {
  const auto key = Ed25519PrivateKey::Generate();
  // Payload bytes whose base64 uses characters 62/63, and a length that needs padding.
  const std::string payload("\xfb\xff\xbf\xfe\x00", 5);
  const std::string sig = key.Sign(Pae("x/y", payload));
  auto url = [](std::string s) {
    for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!s.empty() && s.back() == '=') s.pop_back();
    return s;
  };
  nlohmann::json doc = {{"payloadType", "x/y"},
                        {"payload", url(Base64Encode(payload))},
                        {"signatures", {{{"sig", url(Base64Encode(sig))}}}}};
  std::string error;
  const auto parsed = ParseEnvelope(doc.dump(), &error);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), error);
  BOOST_TEST(parsed->payload == payload);
  BOOST_TEST(parsed->signatures[0].keyid.empty());
  const std::vector<Ed25519PublicKey> keys{key.PublicKey()};
  BOOST_TEST(VerifyEnvelope(*parsed, keys).valid);
}

BOOST_AUTO_TEST_CASE(an_envelope_with_an_unrepresentable_number_is_refused) {
  std::string error;
  const auto parsed = ParseEnvelope(
      R"({"payloadType": "x/y", "payload": "", "signatures": [], "n": -1e999})", &error);
  BOOST_TEST(!parsed.has_value());
  BOOST_TEST(error == "not a DSSE envelope: number overflow parsing '-1e999'");
}

BOOST_AUTO_TEST_CASE(any_trusted_key_and_any_signature_may_verify) {
  const auto a = Ed25519PrivateKey::Generate();
  const auto b = Ed25519PrivateKey::Generate();
  const auto c = Ed25519PrivateKey::Generate();
  DsseEnvelope env = SignEnvelope("t", "body", a);
  env.signatures.push_back(SignEnvelope("t", "body", b).signatures[0]);

  const std::vector<Ed25519PublicKey> only_b{c.PublicKey(), b.PublicKey()};
  const auto check = VerifyEnvelope(env, only_b);
  BOOST_TEST(check.valid);
  BOOST_TEST(check.keyid == b.PublicKey().KeyId());
  BOOST_TEST(check.signature_index == 1u);

  const std::vector<Ed25519PublicKey> only_c{c.PublicKey()};
  const auto wrong = VerifyEnvelope(env, only_c);
  BOOST_TEST(!wrong.valid);
  BOOST_TEST(wrong.reason.find("not signed by a trusted key") != std::string::npos);

  // A lying keyid does not help: the keyid is a hint, the signature decides.
  DsseEnvelope liar = SignEnvelope("t", "body", c);
  liar.signatures[0].keyid = a.PublicKey().KeyId();
  const std::vector<Ed25519PublicKey> only_a{a.PublicKey()};
  const auto lie = VerifyEnvelope(liar, only_a);
  BOOST_TEST(!lie.valid);
  BOOST_TEST(lie.reason.find("altered") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_signatures_or_no_keys_is_never_valid) {
  const auto key = Ed25519PrivateKey::Generate();
  DsseEnvelope env = SignEnvelope("t", "body", key);
  BOOST_TEST(!VerifyEnvelope(env, {}).valid);
  env.signatures.clear();
  const std::vector<Ed25519PublicKey> keys{key.PublicKey()};
  const auto check = VerifyEnvelope(env, keys);
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.reason.find("no signatures") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_envelopes_are_rejected_with_a_reason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "invalid JSON"},
      {"{\"payloadType\": \"t\", \"payload\": \"aGk=\"", "invalid JSON"},
      {"[]", "not a JSON object"},
      {"{\"payload\": \"aGk=\", \"signatures\": []}", "payloadType"},
      {"{\"payloadType\": \"t\", \"signatures\": []}", "'payload'"},
      {"{\"payloadType\": \"t\", \"payload\": \"aGk=\"}", "'signatures'"},
      {"{\"payloadType\": 1, \"payload\": \"aGk=\", \"signatures\": []}", "payloadType"},
      {"{\"payloadType\": \"t\", \"payload\": \"a*k=\", \"signatures\": []}", "base64"},
      {"{\"payloadType\": \"t\", \"payload\": \"aGk=\", \"signatures\": [{}]}", "'sig'"},
      {"{\"payloadType\": \"t\", \"payload\": \"aGk=\", \"signatures\": [{\"sig\": \"!\"}]}",
       "base64"},
      {"{\"payloadType\": \"t\", \"payload\": \"aGk=\", \"signatures\": [{\"sig\": \"aGk=\", "
       "\"keyid\": 5}]}",
       "keyid"},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    BOOST_TEST(!ParseEnvelope(text, &error).has_value(), "accepted: " << text);
    BOOST_TEST(error.find(expected) != std::string::npos,
               "'" << error << "' lacks '" << expected << "'");
  }
}
