// Tampering: whatever changes after signing must be rejected, with a reason that says what.
#define BOOST_TEST_MODULE reports_tamper
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/error.h"
#include "reports/base64.h"
#include "reports/dsse.h"
#include "reports/verify.h"
#include "tests/test_util.h"
#include "tests/unit/reports/signing_test_util.h"

using namespace greenlight;
using greenlight::signing_testing::MakeStatement;
using greenlight::signing_testing::WriteBytes;
using greenlight::testing::TempDir;

namespace {

struct Fixture {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  std::vector<Ed25519PublicKey> trusted{key.PublicKey()};

  VerifyRequest Request() const {
    return VerifyRequest{.trusted_keys = trusted,
                         .predicate_type = signing_testing::kTestPredicateType};
  }
  std::string SignedReport(const nlohmann::json& statement) const {
    return SerializeEnvelope(SignEnvelope(kInTotoPayloadType, statement.dump(2) + "\n", key));
  }
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(tamper, Fixture)

// Every byte of a small payload replaced by each of the 255 other values.
BOOST_AUTO_TEST_CASE(every_single_byte_change_of_the_payload_is_rejected) {
  const std::string payload = R"({"_type":"https://in-toto.io/Statement/v1","v":"PASS"})";
  const DsseEnvelope original = SignEnvelope(kInTotoPayloadType, payload, key);
  BOOST_REQUIRE(VerifyEnvelope(original, trusted).valid);
  size_t accepted = 0;
  size_t tried = 0;
  for (size_t i = 0; i < payload.size(); ++i) {
    for (int delta = 1; delta < 256; ++delta) {
      DsseEnvelope env = original;
      env.payload[i] = static_cast<char>(static_cast<unsigned char>(env.payload[i]) + delta);
      const auto check = VerifyEnvelope(env, trusted);
      ++tried;
      if (check.valid)
        ++accepted;
      else if (!Contains(check.reason, "altered"))
        BOOST_FAIL("unclear reason: " << check.reason);
    }
  }
  BOOST_TEST(tried == payload.size() * 255);
  BOOST_TEST(accepted == 0u);
}

// Every byte of the 64-byte signature replaced by each of the 255 other values.
BOOST_AUTO_TEST_CASE(every_single_byte_change_of_the_signature_is_rejected) {
  const DsseEnvelope original = SignEnvelope(kInTotoPayloadType, "{\"v\":1}", key);
  BOOST_REQUIRE(original.signatures[0].sig.size() == 64u);
  size_t accepted = 0;
  for (size_t i = 0; i < 64; ++i) {
    for (int delta = 1; delta < 256; ++delta) {
      DsseEnvelope env = original;
      auto& sig = env.signatures[0].sig;
      sig[i] = static_cast<char>(static_cast<unsigned char>(sig[i]) + delta);
      if (VerifyEnvelope(env, trusted).valid) ++accepted;
    }
  }
  BOOST_TEST(accepted == 0u);
}

// The same at the level of the file a regulator receives: every character of the base64 payload
// and signature text replaced by every printable ASCII character. Each variant must be rejected,
// except the one DSSE allows: '+'<->'-' and '/'<->'_' turning the text into the URL-safe alphabet,
// which decodes to the identical signed bytes.
BOOST_AUTO_TEST_CASE(every_single_character_change_of_the_envelope_text_is_rejected) {
  const std::string payload = "{\"v\":\"\xfb\xff\xbf\"}";
  const DsseEnvelope original = SignEnvelope(kInTotoPayloadType, payload, key);
  const nlohmann::json doc = nlohmann::json::parse(SerializeEnvelope(original));
  size_t same_bytes = 0;
  for (const std::string field : {"payload", "sig"}) {
    const std::string text = field == "payload" ? doc["payload"].get<std::string>()
                                                : doc["signatures"][0]["sig"].get<std::string>();
    for (size_t i = 0; i < text.size(); ++i) {
      for (int c = 0x20; c < 0x7f; ++c) {
        if (c == text[i]) continue;
        nlohmann::json changed = doc;
        std::string t = text;
        t[i] = static_cast<char>(c);
        if (field == "payload")
          changed["payload"] = t;
        else
          changed["signatures"][0]["sig"] = t;
        std::string error;
        const auto env = ParseEnvelope(changed.dump(), &error);
        if (!env) continue;  // Rejected as malformed base64.
        if (!VerifyEnvelope(*env, trusted).valid) continue;
        // Accepted: only legitimate when nothing signed changed.
        BOOST_TEST(env->payload == original.payload);
        BOOST_TEST(env->signatures[0].sig == original.signatures[0].sig);
        const char from = text[i];
        BOOST_TEST(((from == '+' && c == '-') || (from == '/' && c == '_')),
                   "accepted " << field << "[" << i << "] '" << from << "' -> '" << char(c) << "'");
        ++same_bytes;
      }
    }
  }
  BOOST_TEST_MESSAGE("alphabet-swap variants that decode to the signed bytes: " << same_bytes);
}

BOOST_AUTO_TEST_CASE(changing_the_payload_type_is_rejected) {
  DsseEnvelope env = SignEnvelope(kInTotoPayloadType, "{}", key);
  env.payload_type = "application/json";
  BOOST_TEST(!VerifyEnvelope(env, trusted).valid);
}

BOOST_AUTO_TEST_CASE(a_report_payload_moved_into_another_envelope_is_rejected) {
  const std::string pass = SignedReport(MakeStatement(std::string(64, 'a')));
  nlohmann::json failing = MakeStatement(std::string(64, 'a'));
  failing["predicate"]["verdict"] = "FAIL";
  const std::string fail = SignedReport(failing);
  BOOST_REQUIRE(VerifySignedReport(pass, Request()).valid);
  BOOST_REQUIRE(VerifySignedReport(fail, Request()).valid);

  // The FAIL report's envelope carrying the PASS report's payload (same key, both genuine).
  nlohmann::json swapped = nlohmann::json::parse(fail);
  swapped["payload"] = nlohmann::json::parse(pass)["payload"];
  const auto check = VerifySignedReport(swapped.dump(), Request());
  BOOST_TEST(!check.valid);
  BOOST_TEST(!check.signature_ok);
  BOOST_TEST(Contains(check.reason, "altered"), check.reason);
  BOOST_TEST(check.statement.is_null());  // The unsigned payload was never parsed.
}

BOOST_AUTO_TEST_CASE(a_wrong_key_is_rejected) {
  const std::string text = SignedReport(MakeStatement(std::string(64, 'a')));
  VerifyRequest request = Request();
  request.trusted_keys = {Ed25519PrivateKey::Generate().PublicKey()};
  const auto check = VerifySignedReport(text, request);
  BOOST_TEST(!check.valid);
  BOOST_TEST(Contains(check.reason, "not signed by a trusted key"), check.reason);
  BOOST_TEST(Contains(check.reason, key.PublicKey().KeyId()), check.reason);
}

BOOST_AUTO_TEST_CASE(every_truncation_of_the_file_is_rejected) {
  const std::string text = SignedReport(MakeStatement(std::string(64, 'a')));
  BOOST_REQUIRE(VerifySignedReport(text, Request()).valid);
  // The serialized envelope ends in "}\n": dropping the newline alone still leaves the same
  // signed document, so every cut before the closing brace must be rejected.
  const size_t closing = text.rfind('}');
  for (size_t len = 0; len <= closing; ++len) {
    const auto check = VerifySignedReport(text.substr(0, len), Request());
    BOOST_TEST(!check.valid, "accepted a file cut at " << len << " bytes");
    BOOST_TEST(!check.reason.empty());
  }
  BOOST_TEST(
      Contains(VerifySignedReport(text.substr(0, text.size() / 2), Request()).reason, "truncated"));
  // A payload cut short inside well-formed JSON.
  nlohmann::json doc = nlohmann::json::parse(text);
  const std::string b64 = doc["payload"].get<std::string>();
  for (size_t len = 0; len < b64.size(); len += 4) {
    doc["payload"] = b64.substr(0, len);
    BOOST_TEST(!VerifySignedReport(doc.dump(), Request()).valid);
  }
}

BOOST_AUTO_TEST_CASE(a_model_differing_in_one_byte_is_rejected) {
  TempDir dir;
  std::string model(4096, '\0');
  for (size_t i = 0; i < model.size(); ++i) model[i] = static_cast<char>((i * 131) & 0xFF);
  WriteBytes(dir / "model.pt", model);
  const std::string text = SignedReport(MakeStatement(Sha256Hex(model)));

  VerifyRequest request = Request();
  request.models = {dir / "model.pt"};
  const auto good = VerifySignedReport(text, request);
  BOOST_TEST(good.valid, good.reason);
  BOOST_REQUIRE(good.artifacts.size() == 1u);
  BOOST_TEST(good.artifacts[0].matched);
  BOOST_TEST(good.artifacts[0].matched_what == "subject fashion_cnn.pt");

  for (size_t pos : {size_t{0}, size_t{1000}, model.size() - 1}) {
    std::string other = model;
    other[pos] = static_cast<char>(other[pos] ^ 0x01);
    WriteBytes(dir / "other.pt", other);
    request.models = {dir / "other.pt"};
    const auto bad = VerifySignedReport(text, request);
    BOOST_TEST(!bad.valid);
    BOOST_TEST(bad.signature_ok);  // The report is genuine; the model is not the audited one.
    BOOST_TEST(Contains(bad.reason, "is not the audited model"), bad.reason);
  }
  // An unreadable model is bad input, not an invalid report.
  request.models = {dir / "missing.pt"};
  BOOST_CHECK_THROW(VerifySignedReport(text, request), InputError);
}

BOOST_AUTO_TEST_CASE(criteria_and_dataset_files_must_match_the_predicate) {
  TempDir dir;
  WriteBytes(dir / "criteria.yaml", "criteria: []\n");
  WriteBytes(dir / "data.csv", "a,b\n1,2\n");
  WriteBytes(dir / "labels.gz", "labels");
  nlohmann::json statement =
      MakeStatement(std::string(64, 'a'), Sha256Hex("criteria: []\n"), Sha256Hex("a,b\n1,2\n"));
  statement["predicate"]["dataset"]["files"][0]["sha256"] = Sha256Hex("labels");
  const std::string text = SignedReport(statement);

  VerifyRequest request = Request();
  request.criteria = dir / "criteria.yaml";
  request.datasets = {dir / "data.csv", dir / "labels.gz"};
  const auto good = VerifySignedReport(text, request);
  BOOST_TEST(good.valid, good.reason);
  BOOST_TEST(good.verdict == "PASS");
  BOOST_REQUIRE(good.artifacts.size() == 3u);
  BOOST_TEST(good.artifacts[2].matched_what == "predicate.dataset.files[0]");

  WriteBytes(dir / "criteria2.yaml", "criteria: [] \n");
  request.criteria = dir / "criteria2.yaml";
  auto bad = VerifySignedReport(text, request);
  BOOST_TEST(!bad.valid);
  BOOST_TEST(Contains(bad.reason, "criteria"), bad.reason);

  request.criteria.reset();
  WriteBytes(dir / "data2.csv", "a,b\n1,3\n");
  request.datasets = {dir / "data2.csv"};
  bad = VerifySignedReport(text, request);
  BOOST_TEST(!bad.valid);
  BOOST_TEST(Contains(bad.reason, "dataset"), bad.reason);
}

BOOST_AUTO_TEST_CASE(a_genuine_signature_over_the_wrong_content_is_rejected) {
  // Signed, but not an in-toto statement of the expected kind: step 2 rejects it.
  auto check = VerifySignedReport(
      SerializeEnvelope(SignEnvelope("application/json", MakeStatement("x").dump(), key)),
      Request());
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.signature_ok);
  BOOST_TEST(Contains(check.reason, "payloadType"), check.reason);

  check = VerifySignedReport(SerializeEnvelope(SignEnvelope(kInTotoPayloadType, "{not json", key)),
                             Request());
  BOOST_TEST(Contains(check.reason, "not JSON"), check.reason);
  // A signed payload holding a number no double can hold is refused with a reason, not a crash.
  check = VerifySignedReport(
      SerializeEnvelope(SignEnvelope(kInTotoPayloadType, "{\"n\": 1e999}", key)), Request());
  BOOST_TEST(!check.valid);
  BOOST_TEST(Contains(check.reason, "number overflow parsing '1e999'"), check.reason);

  nlohmann::json wrong_type = MakeStatement(std::string(64, 'a'));
  wrong_type["_type"] = "https://in-toto.io/Statement/v0.1";
  BOOST_TEST(Contains(VerifySignedReport(SignedReport(wrong_type), Request()).reason, "_type"));

  nlohmann::json wrong_predicate = MakeStatement(std::string(64, 'a'));
  wrong_predicate["predicateType"] = "https://example.com/other";
  BOOST_TEST(Contains(VerifySignedReport(SignedReport(wrong_predicate), Request()).reason,
                      "predicateType"));

  nlohmann::json bad_digest = MakeStatement("ABC");
  BOOST_TEST(Contains(VerifySignedReport(SignedReport(bad_digest), Request()).reason, "sha256"));

  // A repeated key: readers disagree on which value counts, so the payload is refused.
  std::string twice = MakeStatement(std::string(64, 'a')).dump();
  twice.insert(twice.find("\"verdict\""), "\"verdict\":\"FAIL\",");
  BOOST_REQUIRE(twice.find("\"verdict\":\"FAIL\",") != std::string::npos);
  check = VerifySignedReport(SerializeEnvelope(SignEnvelope(kInTotoPayloadType, twice, key)),
                             Request());
  BOOST_TEST(!check.valid);
  BOOST_TEST(Contains(check.reason, "repeats the key 'verdict'"), check.reason);
  // The same key in different objects is fine.
  nlohmann::json nested = MakeStatement(std::string(64, 'a'));
  nested["predicate"]["extra"] = {{"verdict", "x"}};
  BOOST_TEST(VerifySignedReport(SignedReport(nested), Request()).valid);

  nlohmann::json no_verdict = MakeStatement(std::string(64, 'a'));
  no_verdict["predicate"].erase("verdict");
  BOOST_TEST(Contains(VerifySignedReport(SignedReport(no_verdict), Request()).reason, "verdict"));
}

BOOST_AUTO_TEST_SUITE_END()
