// Interoperability with independent implementations on this machine: the openssl command line
// (pkeyutl -rawin) and Python's `cryptography` package.
#define BOOST_TEST_MODULE reports_interop
#include <sys/stat.h>

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
using greenlight::signing_testing::ReadBytes;
using greenlight::signing_testing::RunCombined;
using greenlight::signing_testing::WriteBytes;
using greenlight::testing::Quote;
using greenlight::testing::TempDir;

namespace {

const std::string kOpenssl = GREENLIGHT_OPENSSL_EXECUTABLE;
const std::string kPython = GREENLIGHT_PYTHON;

// Signs a small report with a fresh greenlight key; returns the envelope written to DIR/env.json
// and the key files.
struct Signed {
  KeyFiles files;
  DsseEnvelope envelope;
};

Signed SignWithGreenlight(const TempDir& dir) {
  const auto key = Ed25519PrivateKey::Generate();
  Signed s{.files = WriteKeyFiles(key, dir / "gl")};
  s.envelope =
      SignEnvelope(kInTotoPayloadType, "{\"_type\":\"https://in-toto.io/Statement/v1\"}\n", key);
  WriteBytes(dir / "env.json", SerializeEnvelope(s.envelope));
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(openssl_verifies_a_greenlight_envelope) {
  TempDir dir;
  const Signed s = SignWithGreenlight(dir);
  // What a regulator does with only openssl: rebuild PAE, decode the signature, verify.
  const auto env = ParseEnvelope(ReadBytes(dir / "env.json"), nullptr).value();
  WriteBytes(dir / "pae.bin", Pae(env.payload_type, env.payload));
  WriteBytes(dir / "sig.bin", env.signatures[0].sig);
  const auto ok =
      RunCombined(kOpenssl + " pkeyutl -verify -rawin -pubin -inkey " + Quote(s.files.public_key) +
                  " -in " + Quote(dir / "pae.bin") + " -sigfile " + Quote(dir / "sig.bin"));
  BOOST_TEST(ok.exit_code == 0, ok.output);
  BOOST_TEST(ok.output.find("Signature Verified Successfully") != std::string::npos, ok.output);

  // openssl also rejects it once one byte of the PAE changes.
  std::string pae = ReadBytes(dir / "pae.bin");
  pae[pae.size() - 3] ^= 0x20;
  WriteBytes(dir / "pae.bin", pae);
  const auto bad =
      RunCombined(kOpenssl + " pkeyutl -verify -rawin -pubin -inkey " + Quote(s.files.public_key) +
                  " -in " + Quote(dir / "pae.bin") + " -sigfile " + Quote(dir / "sig.bin"));
  BOOST_TEST(bad.exit_code != 0, bad.output);
}

BOOST_AUTO_TEST_CASE(greenlight_verifies_an_openssl_signature_and_loads_openssl_keys) {
  TempDir dir;
  auto run = [](const std::string& cmd) {
    const auto r = RunCombined(cmd);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, cmd << "\n" << r.output);
    return r;
  };
  run(kOpenssl + " genpkey -algorithm ed25519 -out " + Quote(dir / "ossl.key"));
  run(kOpenssl + " pkey -in " + Quote(dir / "ossl.key") + " -pubout -out " +
      Quote(dir / "ossl.pub"));
  const std::string payload = "{\"made\":\"by openssl\"}";
  WriteBytes(dir / "pae.bin", Pae(kInTotoPayloadType, payload));
  run(kOpenssl + " pkeyutl -sign -rawin -inkey " + Quote(dir / "ossl.key") + " -in " +
      Quote(dir / "pae.bin") + " -out " + Quote(dir / "sig.bin"));

  const auto pub = Ed25519PublicKey::FromPemFile(dir / "ossl.pub");
  DsseEnvelope env{.payload_type = std::string(kInTotoPayloadType), .payload = payload};
  env.signatures.push_back({.keyid = "", .sig = ReadBytes(dir / "sig.bin")});
  const std::vector<Ed25519PublicKey> keys{pub};
  const auto check = VerifyEnvelope(env, keys);
  BOOST_TEST(check.valid, check.reason);

  // keyid = sha256 of the DER SubjectPublicKeyInfo, computed by openssl itself.
  run(kOpenssl + " pkey -pubin -in " + Quote(dir / "ossl.pub") + " -outform DER -out " +
      Quote(dir / "ossl.der"));
  BOOST_TEST(pub.KeyId() == Sha256Hex(ReadBytes(dir / "ossl.der")));
  const auto dgst = run(kOpenssl + " dgst -sha256 -r " + Quote(dir / "ossl.der"));
  BOOST_TEST(dgst.output.substr(0, 64) == pub.KeyId());

  // The openssl private key signs identically through greenlight (Ed25519 is deterministic).
  BOOST_REQUIRE(::chmod((dir / "ossl.key").c_str(), 0600) == 0);
  const auto key = Ed25519PrivateKey::FromPemFile(dir / "ossl.key");
  BOOST_TEST(key.Sign(Pae(kInTotoPayloadType, payload)) == ReadBytes(dir / "sig.bin"));
}

BOOST_AUTO_TEST_CASE(other_key_types_and_encrypted_keys_are_refused) {
  TempDir dir;
  auto run = [](const std::string& cmd) {
    const auto r = RunCombined(cmd);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, cmd << "\n" << r.output);
  };
  run(kOpenssl + " genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
      Quote(dir / "ec.key"));
  run(kOpenssl + " pkey -in " + Quote(dir / "ec.key") + " -pubout -out " + Quote(dir / "ec.pub"));
  run("chmod 600 " + Quote(dir / "ec.key"));
  try {
    Ed25519PublicKey::FromPemFile(dir / "ec.pub");
    BOOST_FAIL("accepted an EC public key");
  } catch (const InputError& e) {
    BOOST_TEST(std::string(e.what()).find("not an Ed25519 key") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(Ed25519PrivateKey::FromPemFile(dir / "ec.key"), InputError);

  // A passphrase-protected key fails at once instead of prompting.
  run(kOpenssl + " genpkey -algorithm ed25519 -aes-256-cbc -pass pass:secret -out " +
      Quote(dir / "enc.key"));
  run("chmod 600 " + Quote(dir / "enc.key"));
  BOOST_CHECK_THROW(Ed25519PrivateKey::FromPemFile(dir / "enc.key"), InputError);
}

BOOST_AUTO_TEST_CASE(python_cryptography_verifies_a_greenlight_envelope) {
  TempDir dir;
  const Signed s = SignWithGreenlight(dir);
  // An independent DSSE verifier: parses the envelope JSON, builds PAE itself, checks the keyid
  // definition, and verifies with the `cryptography` package.
  const std::string script = R"PY(
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import serialization
env = json.load(open(sys.argv[1]))
pub = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
body = base64.b64decode(env["payload"], validate=True)
ptype = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
sig = env["signatures"][0]
assert sig["keyid"] == hashlib.sha256(der).hexdigest(), "keyid"
pub.verify(base64.b64decode(sig["sig"], validate=True), pae)
try:
    pub.verify(base64.b64decode(sig["sig"]), pae + b"x")
    print("tampered PAE accepted"); sys.exit(2)
except Exception:
    pass
print("python-verified")
)PY";
  WriteBytes(dir / "verify.py", script);
  const auto r = RunCombined(kPython + " " + Quote(dir / "verify.py") + " " +
                             Quote(dir / "env.json") + " " + Quote(s.files.public_key));
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("python-verified") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(greenlight_verifies_a_python_made_envelope_with_url_safe_base64) {
  TempDir dir;
  const std::string script = R"PY(
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key = Ed25519PrivateKey.generate()
open(sys.argv[2], "wb").write(key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
body = json.dumps({"_type": "https://in-toto.io/Statement/v1", "x": "\u00e9" * 7}).encode()
ptype = b"application/vnd.in-toto+json"
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
json.dump({"payloadType": ptype.decode(), "payload": u(body),
           "signatures": [{"keyid": "", "sig": u(key.sign(pae))}]}, open(sys.argv[1], "w"))
)PY";
  WriteBytes(dir / "sign.py", script);
  const auto r = RunCombined(kPython + " " + Quote(dir / "sign.py") + " " +
                             Quote(dir / "env.json") + " " + Quote(dir / "py.pub"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::string error;
  const auto env = ParseEnvelope(ReadBytes(dir / "env.json"), &error);
  BOOST_REQUIRE_MESSAGE(env.has_value(), error);
  const std::vector<Ed25519PublicKey> keys{Ed25519PublicKey::FromPemFile(dir / "py.pub")};
  const auto check = VerifyEnvelope(*env, keys);
  BOOST_TEST(check.valid, check.reason);
}
