// End-to-end signing: keygen, audit --key, verify (files, keys, tampering, --rerun), show, and a
// regulator's check with nothing but openssl, all through the real greenlight binary.
#define BOOST_TEST_MODULE signing_e2e
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "reports/base64.h"
#include "reports/dsse.h"
#include "reports/ed25519.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

// A small audit (first 300 test images) so the suite stays quick.
std::string Criteria() {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: signing-e2e, version: '1'}\n"
         "settings: {seed: 11}\n" +
         t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 300) +
         "criteria:\n"
         "  - {id: ACC-01, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory, "
         "confidence: 0.95}\n"
         "  - {id: F1-01, metric: f1, threshold: {gte: 0.5}, severity: advisory}\n";
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One signed audit shared by the read-only checks below.
struct Signed {
  t::TempDir dir;
  std::filesystem::path key, pub, other_pub, criteria, out, envelope, model;
  Signed() {
    key = dir / "vendor.key";
    pub = dir / "vendor.pub";
    other_pub = dir / "other.pub";
    criteria = dir / "criteria.yaml";
    out = dir / "out";
    envelope = out / "report.dsse.json";
    model = t::ModelsDir() / "fashion_cnn.pt";
    t::WriteText(criteria, Criteria());
    auto r = t::RunCli("keygen --out " + t::Quote(dir / "vendor"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    r = t::RunCli("keygen --out " + t::Quote(dir / "other"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    r = t::RunCli("audit --criteria " + t::Quote(criteria) + " --out " + t::Quote(out) + " --key " +
                  t::Quote(key));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    BOOST_REQUIRE(std::filesystem::exists(envelope));
  }
  t::CommandResult Verify(const std::string& extra) const {
    return t::RunCli("verify " + t::Quote(envelope) + " " + extra);
  }
};

Signed& Shared() {
  static Signed s;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(keygen_writes_0600_pkcs8_and_never_overwrites) {
  t::TempDir dir;
  const auto r = t::RunCli("keygen --out " + t::Quote(dir / "k"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  struct stat st {};
  BOOST_REQUIRE(::stat((dir / "k.key").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  const std::string key = t::ReadText(dir / "k.key");
  BOOST_TEST(key.starts_with("-----BEGIN PRIVATE KEY-----"));
  BOOST_TEST(t::ReadText(dir / "k.pub").starts_with("-----BEGIN PUBLIC KEY-----"));
  // The printed keyid is sha256 of the public key's DER, as openssl computes it.
  const auto der = t::RunShell("(openssl pkey -pubin -in " + t::Quote(dir / "k.pub") +
                               " -outform DER | sha256sum)");
  BOOST_TEST(Has(r.out, der.out.substr(0, 64)), r.out << " vs " << der.out);

  const auto again = t::RunCli("keygen --out " + t::Quote(dir / "k"));
  BOOST_TEST(again.exit_code == 3);
  BOOST_TEST(Has(again.err, "refusing to overwrite"), again.err);
  BOOST_TEST(t::ReadText(dir / "k.key") == key);
  BOOST_TEST(t::RunCli("keygen").exit_code == 3);  // --out is required.
}

BOOST_AUTO_TEST_CASE(audit_key_signs_the_exact_bytes_of_report_json) {
  const Signed& s = Shared();
  const std::string report = t::ReadText(s.out / "report.json");
  const json env = json::parse(t::ReadText(s.envelope));
  BOOST_TEST(env["payloadType"] == "application/vnd.in-toto+json");
  BOOST_TEST(greenlight::Base64Decode(env["payload"].get<std::string>()).value() == report);
  const auto pub = greenlight::Ed25519PublicKey::FromPemFile(s.pub);
  BOOST_TEST(env["signatures"][0]["keyid"] == pub.KeyId());
}

BOOST_AUTO_TEST_CASE(verify_accepts_the_genuine_report_and_files) {
  const Signed& s = Shared();
  const auto r = s.Verify("--pubkey " + t::Quote(s.pub) + " --model " + t::Quote(s.model) +
                          " --criteria " + t::Quote(s.criteria) + " --dataset " +
                          t::Quote(t::FashionDir() / "t10k-labels-idx1-ubyte.gz"));
  BOOST_TEST(r.exit_code == 0, r.out << r.err);
  BOOST_TEST(Has(r.out, "\nverified\n"), r.out);
  BOOST_TEST(Has(r.out, greenlight::Ed25519PublicKey::FromPemFile(s.pub).KeyId()), r.out);
  BOOST_TEST(Has(r.out, "verdict:   PASS"), r.out);
  // Several trusted keys: any one that verifies is enough.
  const auto two = s.Verify("--pubkey " + t::Quote(s.other_pub) + " --pubkey " + t::Quote(s.pub));
  BOOST_TEST(two.exit_code == 0, two.out << two.err);
}

BOOST_AUTO_TEST_CASE(verify_rejects_wrong_key_model_criteria_dataset) {
  const Signed& s = Shared();
  auto r = s.Verify("--pubkey " + t::Quote(s.other_pub));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "INVALID: not signed by a trusted key"), r.out);

  t::TempDir dir;
  std::string model = t::ReadText(s.model);
  model[model.size() / 2] = static_cast<char>(model[model.size() / 2] ^ 0x01);
  t::WriteText(dir / "fashion_cnn.pt", model);
  r = s.Verify("--pubkey " + t::Quote(s.pub) + " --model " + t::Quote(dir / "fashion_cnn.pt"));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "is not the audited model"), r.out);

  t::WriteText(dir / "criteria.yaml", Criteria() + "# changed\n");
  r = s.Verify("--pubkey " + t::Quote(s.pub) + " --criteria " + t::Quote(dir / "criteria.yaml"));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "INVALID: criteria"), r.out);

  r = s.Verify("--pubkey " + t::Quote(s.pub) + " --dataset " + t::Quote(s.criteria));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "INVALID: dataset"), r.out);
}

BOOST_AUTO_TEST_CASE(verify_rejects_tampered_and_truncated_envelopes) {
  const Signed& s = Shared();
  t::TempDir dir;
  const std::string text = t::ReadText(s.envelope);

  // The verdict edited inside the payload, re-encoded cleanly.
  json env = json::parse(text);
  std::string payload = greenlight::Base64Decode(env["payload"].get<std::string>()).value();
  const auto at = payload.find("\"verdict\": \"PASS\"");
  BOOST_REQUIRE(at != std::string::npos);
  payload.replace(at, 17, "\"verdict\": \"FAIL\"");
  env["payload"] = greenlight::Base64Encode(payload);
  t::WriteText(dir / "edited.json", env.dump(2));
  auto r = t::RunCli("verify " + t::Quote(dir / "edited.json") + " --pubkey " + t::Quote(s.pub));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "altered after signing"), r.out);

  t::WriteText(dir / "truncated.json", text.substr(0, text.size() / 3));
  r = t::RunCli("verify " + t::Quote(dir / "truncated.json") + " --pubkey " + t::Quote(s.pub));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "truncated"), r.out);

  t::WriteText(dir / "empty.json", "");
  BOOST_TEST(t::RunCli("verify " + t::Quote(dir / "empty.json") + " --pubkey " + t::Quote(s.pub))
                 .exit_code == 1);
}

BOOST_AUTO_TEST_CASE(verify_bad_input_exits_3) {
  const Signed& s = Shared();
  t::TempDir dir;
  BOOST_TEST(t::RunCli("verify " + t::Quote(dir / "missing.json") + " --pubkey " + t::Quote(s.pub))
                 .exit_code == 3);
  BOOST_TEST(s.Verify("--pubkey " + t::Quote(dir / "missing.pub")).exit_code == 3);
  t::WriteText(dir / "garbage.pub", "hello\n");
  const auto garbage = s.Verify("--pubkey " + t::Quote(dir / "garbage.pub"));
  BOOST_TEST(garbage.exit_code == 3);
  BOOST_TEST(Has(garbage.err, "garbage.pub"), garbage.err);
  BOOST_TEST(s.Verify("").exit_code == 3);  // --pubkey is required.
  BOOST_TEST(
      s.Verify("--pubkey " + t::Quote(s.pub) + " --model " + t::Quote(dir / "nope.pt")).exit_code ==
      3);
}

BOOST_AUTO_TEST_CASE(insecure_key_permissions_are_refused_before_the_audit) {
  const Signed& s = Shared();
  t::TempDir dir;
  t::WriteText(dir / "loose.key", t::ReadText(s.key));
  BOOST_REQUIRE(::chmod((dir / "loose.key").c_str(), 0644) == 0);
  const std::string base = "audit --criteria " + t::Quote(s.criteria) + " --out " +
                           t::Quote(dir / "out") + " --key " + t::Quote(dir / "loose.key");
  auto r = t::RunCli(base);
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(Has(r.err, "--insecure-key"), r.err);
  BOOST_TEST(!std::filesystem::exists(dir / "out" / "report.json"));
  r = t::RunCli(base + " --insecure-key");
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(std::filesystem::exists(dir / "out" / "report.dsse.json"));
  // A later unsigned run into the same directory drops the now-stale envelope.
  r = t::RunCli("audit --criteria " + t::Quote(s.criteria) + " --out " + t::Quote(dir / "out"));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(!std::filesystem::exists(dir / "out" / "report.dsse.json"));
}

BOOST_AUTO_TEST_CASE(rerun_reproduces_every_result) {
  const Signed& s = Shared();
  const auto r = s.Verify("--pubkey " + t::Quote(s.pub) + " --model " + t::Quote(s.model) +
                          " --criteria " + t::Quote(s.criteria) + " --rerun");
  BOOST_TEST(r.exit_code == 0, r.out << r.err);
  BOOST_TEST(Has(r.out, "re-run: 2 deterministic results match; 0 measured results CONSISTENT"),
             r.out);
  BOOST_TEST(Has(r.out, "ACC-01"), r.out);
  BOOST_TEST(!Has(r.out, "INVALID"), r.out);
  BOOST_TEST(Has(r.out, "\nverified\n"), r.out);
}

// A vendor who signs a report whose numbers the model does not produce: the signature is
// genuine, the re-run exposes it.
BOOST_AUTO_TEST_CASE(rerun_exposes_a_signed_report_with_inflated_numbers) {
  const Signed& s = Shared();
  t::TempDir dir;
  json statement = json::parse(t::ReadText(s.out / "report.json"));
  statement["predicate"]["results"][0]["value"] =
      statement["predicate"]["results"][0]["value"].get<double>() + 0.01;
  const auto key = greenlight::Ed25519PrivateKey::FromPemFile(s.key);
  t::WriteText(dir / "forged.dsse.json",
               greenlight::SerializeEnvelope(greenlight::SignEnvelope(
                   greenlight::kInTotoPayloadType, statement.dump(2) + "\n", key)));
  const auto r = t::RunCli("verify " + t::Quote(dir / "forged.dsse.json") + " --pubkey " +
                           t::Quote(s.pub) + " --model " + t::Quote(s.model) + " --criteria " +
                           t::Quote(s.criteria) + " --rerun");
  BOOST_TEST(r.exit_code == 1, r.out << r.err);
  BOOST_TEST(Has(r.out, "INVALID"), r.out);
  BOOST_TEST(Has(r.out, "1 of 2 results not reproduced"), r.out);
}

// Measured results (latency, energy) are compared as two measurements: a re-run on the same
// machine is CONSISTENT (exit 0), and a signed report whose timing the machine no longer shows is
// DRIFTED (exit 2), not INVALID: the deterministic figures still match.
BOOST_AUTO_TEST_CASE(rerun_of_measured_results_is_consistent_or_drifted_never_invalid) {
  t::TempDir dir;
  const auto criteria = dir / "timing.yaml";
  const std::string run = "{threads: 1, min_queries: 300, min_duration_s: 0.5, warmup_queries: 16}";
  t::WriteText(
      criteria,
      "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: rerun-e2e, version: "
      "'1'}\nsettings: {seed: 5}\n" +
          t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 200) +
          "criteria:\n"
          "  - {id: ACC-01, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n"
          "  - {id: LAT-01, metric: latency_p50_ms, params: " +
          run +
          ", threshold: {lte: 1000}, severity: mandatory, confidence: 0.95}\n"
          "  - {id: NRG-01, metric: energy_per_inference_mj, params: {threads: 1, "
          "min_queries: 300, min_duration_s: 0.5, warmup_queries: 16, meter: estimate, "
          "idle_baseline_s: 0}, threshold: {lte: 100000}, severity: mandatory}\n");
  const Signed& s = Shared();
  auto r = t::RunCli("audit --criteria " + t::Quote(criteria) + " --out " + t::Quote(dir / "out") +
                     " --key " + t::Quote(s.key));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
  const std::string verify = " --pubkey " + t::Quote(s.pub) + " --model " + t::Quote(s.model) +
                             " --criteria " + t::Quote(criteria) + " --rerun";
  // The same machine a moment later; a wide tolerance (the intervals may lie half a value apart)
  // keeps a loaded test machine from drifting.
  r = t::RunCli("verify " + t::Quote(dir / "out" / "report.dsse.json") + verify +
                " --tolerance 0.5");
  BOOST_TEST(r.exit_code == 0, r.out << r.err);
  BOOST_TEST(Has(r.out, "1 deterministic results match; 2 measured results CONSISTENT"), r.out);
  BOOST_TEST(Has(r.out, "ENVIRONMENT"), r.out);
  BOOST_TEST(Has(r.out, "load_avg"), r.out);
  BOOST_TEST(Has(r.out, "same method and machine: the shared band cancels"), r.out);

  // A genuine signature on a latency ten times below anything this machine does.
  json statement = json::parse(t::ReadText(dir / "out" / "report.json"));
  for (auto& res : statement["predicate"]["results"]) {
    if (res["id"] != "LAT-01") continue;
    res["value"] = res["value"].get<double>() / 10.0;
    res["interval"]["low"] = res["interval"]["low"].get<double>() / 10.0;
    res["interval"]["high"] = res["interval"]["high"].get<double>() / 10.0;
  }
  const auto key = greenlight::Ed25519PrivateKey::FromPemFile(s.key);
  t::WriteText(dir / "fast.dsse.json",
               greenlight::SerializeEnvelope(greenlight::SignEnvelope(
                   greenlight::kInTotoPayloadType, statement.dump(2) + "\n", key)));
  r = t::RunCli("verify " + t::Quote(dir / "fast.dsse.json") + verify + " --tolerance 0.5");
  BOOST_TEST(r.exit_code == 2, r.out << r.err);
  BOOST_TEST(Has(r.out, "DRIFTED: 1 of 2 measured results moved beyond the tolerance (50%)"),
             r.out);
  BOOST_TEST(!Has(r.out, "INVALID"), r.out);
}

BOOST_AUTO_TEST_CASE(show_says_whether_the_signature_was_checked) {
  const Signed& s = Shared();
  auto r = t::RunCli("show " + t::Quote(s.envelope));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(Has(r.out, "NOT CHECKED"), r.out);
  BOOST_TEST(Has(r.out, "ACC-01"), r.out);
  r = t::RunCli("show " + t::Quote(s.envelope) + " --pubkey " + t::Quote(s.pub));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(Has(r.out, "signature: verified with key " +
                            greenlight::Ed25519PublicKey::FromPemFile(s.pub).KeyId()),
             r.out);
  r = t::RunCli("show " + t::Quote(s.envelope) + " --pubkey " + t::Quote(s.other_pub));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(Has(r.out, "signature: INVALID"), r.out);
  r = t::RunCli("show " + t::Quote(s.out / "report.json"));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(Has(r.out, "ACC-01"), r.out);
}

// docs/signing.md's recipe for a regulator holding only openssl and coreutils.
BOOST_AUTO_TEST_CASE(a_regulator_verifies_with_only_openssl) {
  if (t::RunShell("command -v jq").exit_code != 0) {
    BOOST_TEST_MESSAGE("jq is not installed: the openssl-only recipe is not exercised here");
    return;
  }
  const Signed& s = Shared();
  t::TempDir dir;
  const std::string script =
      "set -eu\ncd " + t::Quote(dir.path()) + "\nenv=" + t::Quote(s.envelope) +
      "\n"
      "jq -r .payload \"$env\" | base64 -d > payload.json\n"
      "jq -r '.signatures[0].sig' \"$env\" | base64 -d > sig.bin\n"
      "type=$(jq -r .payloadType \"$env\")\n"
      "{ printf 'DSSEv1 %d %s %d ' \"${#type}\" \"$type\" \"$(wc -c < payload.json)\"; cat "
      "payload.json; } > pae.bin\n"
      "openssl pkeyutl -verify -rawin -pubin -inkey " +
      t::Quote(s.pub) +
      " -in pae.bin -sigfile sig.bin\n"
      "test \"$(sha256sum < " +
      t::Quote(s.model) +
      " | cut -c1-64)\" = \"$(jq -r '.subject[0].digest.sha256' payload.json)\"\n"
      "echo model-matches\n";
  t::WriteText(dir / "check.sh", script);
  const auto r = t::RunShell("bash " + t::Quote(dir / "check.sh"));
  BOOST_TEST(r.exit_code == 0, r.out << r.err);
  BOOST_TEST(Has(r.out, "Signature Verified Successfully"), r.out);
  BOOST_TEST(Has(r.out, "model-matches"), r.out);
  BOOST_TEST(t::ReadText(dir / "payload.json") == t::ReadText(s.out / "report.json"));
}
