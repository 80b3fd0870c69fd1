// End-to-end: the regulator's workflow with the real binary against a real HTTPS server on
// 127.0.0.1 (test CA made here with openssl): a vendor's criteria file extends a published profile
// by URL pinned by digest, audits, signs and submits; pinned remote models; overrides; the shipped
// profiles on the example models; live grid intensity. Digests are checked with sha256sum.
#define BOOST_TEST_MODULE policy_e2e
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <set>

#include "tests/net/https_test_server.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::string Sha256Sum(const std::filesystem::path& p) {
  const auto r = t::RunShell("sha256sum " + t::Quote(p));
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  return r.out.substr(0, 64);
}

std::filesystem::path ProfilesDir() { return t::SourceDir() / "criteria" / "profiles"; }

std::string HmdaSections() {
  return "model: {path: " + (t::ModelsDir() / "hmda_credit.pt").string() +
         ", output: logits, input: {shape: [12]}}\n"
         "dataset: {format: csv, path: " +
         (t::SourceDir() / "examples" / "data" / "hmda.csv").string() +
         ", features: [pirat, hirat, lvrat, chist, mhist, phist, unemp, selfemp, insurance, "
         "condomin, single, hschool], encode: {phist: {'no': 0, 'yes': 1}, selfemp: {'no': 0, "
         "'yes': 1}, insurance: {'no': 0, 'yes': 1}, condomin: {'no': 0, 'yes': 1}, single: "
         "{'no': 0, 'yes': 1}, hschool: {'no': 0, 'yes': 1}}, label: {column: deny, positive: "
         "'yes'}, sensitive: [afam]}\n";
}

json ReadJson(const std::filesystem::path& p) { return json::parse(t::ReadText(p)); }

const json& Result(const json& report, const std::string& id) {
  for (const auto& r : report["predicate"]["results"]) {
    if (r["id"] == id) return r;
  }
  BOOST_FAIL("no result " + id);
  static const json none;
  return none;
}

// A server with the shipped profiles under /files/, and the environment that trusts it.
struct Fixture {
  Fixture() {
    for (const auto& e : std::filesystem::directory_iterator(ProfilesDir())) {
      std::filesystem::copy_file(e.path(), server.root() / e.path().filename());
    }
    env = server.Env() + "GREENLIGHT_CACHE_DIR=" + t::Quote(tmp / "cache") + " ";
  }
  t::CommandResult Cli(const std::string& args) { return t::RunCli("-q " + args); }
  t::CommandResult CliEnv(const std::string& args) {
    return t::RunShell(env + "NO_COLOR=1 '" + std::string(GREENLIGHT_CLI) + "' -q " + args);
  }
  std::string FourFifthsExtends(const std::string& extra = "") {
    const std::string name = "us-ugesp-four-fifths.yaml";
    return "extends:\n  - url: " + server.Url("/files/" + name) +
           "\n    sha256: " + Sha256Sum(ProfilesDir() / name) +
           "\n    with: {sensitive: afam, favourable: 0}\n" + extra;
  }
  std::string Header() {
    return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: acme-credit, version: "
           "1.0.0}\n";
  }

  t::TempDir tmp;
  t::HttpsTestServer server;
  std::string env;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(policy, Fixture)

// The issue's "done means": ten lines extend a profile by URL; audit, sign, submit; the report
// names the profile (name, version, digest) of every criterion and the override.
BOOST_AUTO_TEST_CASE(vendor_extends_by_url_audits_signs_and_submits) {
  const auto criteria = tmp / "acme.yaml";
  t::WriteText(criteria, Header() + FourFifthsExtends() + HmdaSections() +
                             "overrides:\n  UGESP-4D-SIGNIFICANCE: {confidence: 0.9}\n");
  const std::string profile_sha = Sha256Sum(ProfilesDir() / "us-ugesp-four-fifths.yaml");

  const auto eff = CliEnv("validate --effective " + t::Quote(criteria));
  BOOST_TEST_INFO(eff.err);
  BOOST_REQUIRE_EQUAL(eff.exit_code, 0);
  BOOST_CHECK_NE(eff.out.find("from profile us-ugesp-four-fifths 1.0.0 (sha256 " + profile_sha),
                 std::string::npos);
  BOOST_CHECK_NE(eff.out.find("override confidence: 0.95 -> 0.9"), std::string::npos);
  BOOST_CHECK_NE(eff.out.find("sensitive: \"afam\""), std::string::npos);
  // The printed effective criteria are themselves a valid criteria file.
  t::WriteText(tmp / "effective.yaml", eff.out);
  const auto reval = Cli("validate " + t::Quote(tmp / "effective.yaml"));
  BOOST_TEST_INFO(reval.err);
  BOOST_CHECK_EQUAL(reval.exit_code, 0);

  BOOST_REQUIRE_EQUAL(Cli("keygen --out " + t::Quote(tmp / "vendor")).exit_code, 0);
  const auto audit = CliEnv("audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "out") +
                            " --key " + t::Quote(tmp / "vendor.key"));
  BOOST_TEST_INFO(audit.err);
  BOOST_REQUIRE(audit.exit_code <= 2);
  BOOST_CHECK_NE(audit.out.find("profile us-ugesp-four-fifths 1.0.0"), std::string::npos);
  BOOST_CHECK_NE(audit.out.find("UGESP-4D-SIGNIFICANCE: overrides confidence of profile "
                                "us-ugesp-four-fifths 1.0.0: 0.95 -> 0.9"),
                 std::string::npos);
  const json report = ReadJson(tmp / "out" / "report.json");
  BOOST_CHECK_EQUAL(t::ReportSchemaErrors(report), "");
  const json& profiles = report["predicate"]["criteria"]["profiles"];
  BOOST_REQUIRE_EQUAL(profiles.size(), 1u);
  BOOST_CHECK_EQUAL(profiles[0]["sha256"], profile_sha);
  BOOST_CHECK_EQUAL(profiles[0]["source"], server.Url("/files/us-ugesp-four-fifths.yaml"));
  for (const auto& r : report["predicate"]["results"]) {
    BOOST_CHECK_EQUAL(r["profile"]["name"], "us-ugesp-four-fifths");
    BOOST_CHECK_EQUAL(r["profile"]["version"], "1.0.0");
    BOOST_CHECK_EQUAL(r["profile"]["sha256"], profile_sha);
  }
  const json& ratio = Result(report, "UGESP-4D-RATIO");
  BOOST_CHECK(ratio["overrides"].empty());
  BOOST_CHECK_EQUAL(ratio["params"]["reference"], "best");
  BOOST_CHECK_EQUAL(ratio["threshold"]["value"], 0.8);
  const json& sig = Result(report, "UGESP-4D-SIGNIFICANCE");
  BOOST_CHECK_EQUAL(sig["confidence"], 0.9);
  BOOST_REQUIRE_EQUAL(sig["overrides"].size(), 1u);
  BOOST_CHECK_EQUAL(sig["overrides"][0]["field"], "confidence");
  BOOST_CHECK_EQUAL(sig["overrides"][0]["profile_value"], 0.95);
  BOOST_CHECK_EQUAL(sig["overrides"][0]["value"], 0.9);
  // A one-sided threshold at confidence 0.9 is decided on one-sided 90 % bounds: the ends of the
  // two-sided interval at 2 * 0.9 - 1.
  BOOST_CHECK_CLOSE(sig["interval"]["level"].get<double>(), 0.8, 1e-9);

  // Submit: accepted, then the same envelope again is the same receipt (idempotent).
  const auto envelope = tmp / "out" / "report.dsse.json";
  const std::string envelope_sha = Sha256Sum(envelope);
  const std::string submit = "submit " + t::Quote(envelope) + " --to " + server.Url("/intake") +
                             " --attach " + t::Quote(tmp / "out" / "report.json");
  const auto first = CliEnv(submit);
  BOOST_TEST_INFO(first.err);
  BOOST_REQUIRE_EQUAL(first.exit_code, 0);
  const json receipt = json::parse(first.out);
  BOOST_CHECK_EQUAL(receipt["status"], "accepted");
  BOOST_CHECK_EQUAL(receipt["envelope_sha256"], envelope_sha);
  BOOST_CHECK_EQUAL(receipt["duplicate"], false);
  BOOST_CHECK_EQUAL(receipt["attachments"][0], "report.json");
  const auto second = CliEnv(submit);
  BOOST_REQUIRE_EQUAL(second.exit_code, 0);
  const json again = json::parse(second.out);
  BOOST_CHECK_EQUAL(again["receipt_id"], receipt["receipt_id"]);
  BOOST_CHECK_EQUAL(again["duplicate"], true);
  // Both requests carried the envelope's digest as the idempotency key.
  const auto seen = t::RunShell(
      std::string(GREENLIGHT_PYTHON) +
      " -c \"import ssl, sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], "
      "context=ssl.create_default_context(cafile=sys.argv[2])).read().decode())\" " +
      server.Url("/requests") + " " + t::Quote(server.ca_file()));
  int keyed = 0;
  for (const auto& r : json::parse(seen.out)) {
    if (r["path"] == "/intake" &&
        r["headers"].value("idempotency-key", "") == "sha256:" + envelope_sha) {
      ++keyed;
    }
  }
  BOOST_CHECK_EQUAL(keyed, 2);

  // Rejected: exit 1 with the intake's reason. A 503 first: retried, then accepted.
  const auto rejected =
      CliEnv("submit " + t::Quote(envelope) + " --to " + server.Url("/intake-reject"));
  BOOST_CHECK_EQUAL(rejected.exit_code, 1);
  BOOST_CHECK_NE(rejected.err.find("rejected: criteria not accepted by this intake"),
                 std::string::npos);
  const auto flaky =
      CliEnv("submit " + t::Quote(envelope) + " --to " + server.Url("/intake-flaky"));
  BOOST_TEST_INFO(flaky.err);
  BOOST_CHECK_EQUAL(flaky.exit_code, 0);
  // Not an envelope: exit 3. Unreachable intake: exit 4.
  const auto bad =
      CliEnv("submit " + t::Quote(tmp / "out" / "report.json") + " --to " + server.Url("/intake"));
  BOOST_CHECK_EQUAL(bad.exit_code, 3);
  const std::string url = server.Url("/intake");
  server.Stop();
  const auto down = CliEnv("submit " + t::Quote(envelope) + " --to " + url);
  BOOST_CHECK_EQUAL(down.exit_code, 4);
  BOOST_CHECK_NE(down.err.find(url), std::string::npos);
}

BOOST_AUTO_TEST_CASE(submit_with_a_token) {
  t::HttpsTestServer guarded("s3cret");
  BOOST_REQUIRE_EQUAL(Cli("keygen --out " + t::Quote(tmp / "k")).exit_code, 0);
  const auto criteria = tmp / "local.yaml";
  t::WriteText(criteria, Header() + "extends:\n  - path: " +
                             (ProfilesDir() / "us-ugesp-four-fifths.yaml").string() +
                             "\n    with: {sensitive: afam, favourable: 0}\n" + HmdaSections());
  BOOST_REQUIRE(Cli("audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "o") + " --key " +
                    t::Quote(tmp / "k.key"))
                    .exit_code <= 2);
  const std::string envelope = t::Quote(tmp / "o" / "report.dsse.json");
  const std::string env = guarded.Env();
  auto submit = [&](const std::string& extra) {
    return t::RunShell(env + "'" + std::string(GREENLIGHT_CLI) + "' submit " + envelope + " --to " +
                       guarded.Url("/intake") + extra);
  };
  const auto missing = submit("");
  BOOST_CHECK_EQUAL(missing.exit_code, 3);
  BOOST_CHECK_NE(missing.err.find("not authorised"), std::string::npos);
  t::WriteText(tmp / "token", "s3cret\n");
  const auto ok = submit(" --token-file " + t::Quote(tmp / "token"));
  BOOST_TEST_INFO(ok.err);
  BOOST_CHECK_EQUAL(ok.exit_code, 0);
}

BOOST_AUTO_TEST_CASE(override_of_a_non_overridable_field_is_exit_3) {
  const auto criteria = tmp / "loosened.yaml";
  t::WriteText(criteria, Header() + FourFifthsExtends() + HmdaSections() +
                             "overrides:\n  UGESP-4D-RATIO:\n    threshold: {gte: 0.6}\n");
  const auto r = CliEnv("audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "out"));
  BOOST_CHECK_EQUAL(r.exit_code, 3);
  // Line 12 of the file: the threshold under overrides.
  BOOST_CHECK_NE(r.err.find(criteria.string() + ":12:"), std::string::npos);
  BOOST_CHECK_NE(r.err.find("does not allow overriding the threshold of criterion "
                            "'UGESP-4D-RATIO' (overridable: params.min_group_size)"),
                 std::string::npos);
  BOOST_CHECK(!std::filesystem::exists(tmp / "out" / "report.json"));
  // An allowed params override, and one of a parameter the profile does not open.
  t::WriteText(criteria, Header() + FourFifthsExtends() + HmdaSections() +
                             "overrides:\n  UGESP-4D-RATIO: {params: {reference: 'no'}}\n");
  const auto p = CliEnv("validate " + t::Quote(criteria));
  BOOST_CHECK_EQUAL(p.exit_code, 3);
  BOOST_CHECK_NE(p.err.find("does not allow overriding params.reference"), std::string::npos);
  t::WriteText(criteria, Header() + FourFifthsExtends() + HmdaSections() +
                             "overrides:\n  NOPE-1: {confidence: 0.9}\n");
  BOOST_CHECK_NE(CliEnv("validate " + t::Quote(criteria)).err.find("no criterion 'NOPE-1'"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(parameters_are_checked_where_they_are_given) {
  const auto criteria = tmp / "params.yaml";
  t::WriteText(criteria, Header() + "extends: {path: " +
                             (ProfilesDir() / "us-ugesp-four-fifths.yaml").string() +
                             ", with: {favourable: 0}}\n" + HmdaSections());
  auto r = Cli("validate " + t::Quote(criteria));
  BOOST_CHECK_EQUAL(r.exit_code, 3);
  BOOST_CHECK_NE(r.err.find("needs parameter 'sensitive' under with:"), std::string::npos);
  t::WriteText(criteria, Header() + "extends: {path: " +
                             (ProfilesDir() / "us-ugesp-four-fifths.yaml").string() +
                             ", with: {sensitive: afam, favorable: 0}}\n" + HmdaSections());
  r = Cli("validate " + t::Quote(criteria));
  BOOST_CHECK_EQUAL(r.exit_code, 3);
  BOOST_CHECK_NE(r.err.find(criteria.string() + ":4:"), std::string::npos);
  BOOST_CHECK_NE(r.err.find("has no parameter 'favorable'"), std::string::npos);
  t::WriteText(criteria, Header() + "extends: {path: " +
                             (ProfilesDir() / "us-ugesp-four-fifths.yaml").string() +
                             ", with: {sensitive: afam, min_group_size: 0}}\n" + HmdaSections());
  BOOST_CHECK_NE(Cli("validate " + t::Quote(criteria)).err.find("out of the declared range"),
                 std::string::npos);
}

// An error in a profile's criterion is reported at the profile's file and line.
BOOST_AUTO_TEST_CASE(errors_in_a_profile_name_the_profile) {
  const auto profile = tmp / "p.yaml";
  t::WriteText(profile,
               "apiVersion: greenlight/v1\nkind: Profile\n"
               "metadata: {name: p, version: '1', authority: test}\n"
               "parameters: {level: {type: number, description: a level}}\n"
               "criteria:\n"
               "  - {id: A, metric: accuracy, threshold: {gte: '${level}'}, severity: mandatory, "
               "reference: r}\n"
               "  - {id: B, metric: acuracy, threshold: {gte: 0.5}, severity: mandatory, "
               "reference: r}\n");
  const auto criteria = tmp / "c.yaml";
  t::WriteText(criteria,
               Header() + "extends: {path: p.yaml, with: {level: 0.5}}\n" + HmdaSections());
  const auto r = Cli("validate " + t::Quote(criteria));
  BOOST_CHECK_EQUAL(r.exit_code, 3);
  BOOST_TEST_INFO(r.err);
  BOOST_CHECK_NE(r.err.find(profile.string() + ":7:"), std::string::npos);
  BOOST_CHECK_NE(r.err.find("unknown metric 'acuracy'"), std::string::npos);
  // A reference to an undeclared parameter is caught when the profile is validated on its own.
  t::WriteText(profile,
               t::ReadText(profile).replace(t::ReadText(profile).find("${level}"), 8, "${levle}"));
  const auto v = Cli("validate " + t::Quote(profile));
  BOOST_CHECK_EQUAL(v.exit_code, 3);
  BOOST_CHECK_NE(v.err.find("unknown parameter '${levle}'"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_remote_profiles_are_exit_3_and_nothing_is_written) {
  const auto criteria = tmp / "bad.yaml";
  const std::string name = "us-ugesp-four-fifths.yaml";
  const std::string sha = Sha256Sum(ProfilesDir() / name);
  std::string wrong;
  for (int i = 0; i < 32; ++i) wrong += "ab";
  struct Case {
    std::string url, sha, env, needle;
  };
  const std::vector<Case> cases = {
      {server.Url("/files/" + name), wrong, "", "sha256 mismatch: pinned " + wrong},
      {server.Url("/redirect-http/" + name), sha, "", "redirect to a non-https URL refused"},
      {server.Url("/files/" + name), sha,
       "CURL_CA_BUNDLE=" + t::Quote(server.other_ca_file()) + " ",
       "TLS certificate verification failed"},
      {server.Url("/files/" + name), sha, "GREENLIGHT_HTTP_MAX_BYTES=100 ",
       "larger than the limit of 100 bytes"},
  };
  for (const auto& c : cases) {
    t::WriteText(criteria, Header() + "extends:\n  - url: " + c.url + "\n    sha256: " + c.sha +
                               "\n    with: {sensitive: afam}\n" + HmdaSections());
    const auto r = t::RunShell(env + c.env + "'" + std::string(GREENLIGHT_CLI) + "' audit -c " +
                               t::Quote(criteria) + " -o " + t::Quote(tmp / "out"));
    BOOST_TEST_INFO(c.needle + " / " + r.err);
    BOOST_CHECK_EQUAL(r.exit_code, 3);
    BOOST_CHECK_NE(r.err.find(criteria.string() + ":5:"), std::string::npos);  // extends[0].url
    BOOST_CHECK_MESSAGE(r.err.find(c.url) != std::string::npos, r.err);
    BOOST_CHECK_MESSAGE(r.err.find(c.needle) != std::string::npos, c.needle + " / " + r.err);
    BOOST_CHECK(!std::filesystem::exists(tmp / "out" / "report.json"));
    BOOST_CHECK(!std::filesystem::exists(tmp / "cache" / "sha256" / c.sha));
  }
  // A digest YAML reads as a number is refused with the way out.
  t::WriteText(criteria, Header() + "extends:\n  - url: " + server.Url("/files/" + name) +
                             "\n    sha256: " + std::string(64, '1') + "\n" + HmdaSections());
  BOOST_CHECK_NE(CliEnv("validate " + t::Quote(criteria)).err.find("(quote it"), std::string::npos);
  // A URL without a pinned digest is refused before any request.
  t::WriteText(criteria, Header() + "extends: {url: " + server.Url("/files/" + name) + "}\n" +
                             HmdaSections());
  const auto r = CliEnv("validate " + t::Quote(criteria));
  BOOST_CHECK_EQUAL(r.exit_code, 3);
  BOOST_CHECK_NE(r.err.find("must be pinned"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(remote_model_pinned_by_digest) {
  std::filesystem::copy_file(t::ModelsDir() / "hmda_credit.pt", server.root() / "m.pt");
  const std::string sha = Sha256Sum(t::ModelsDir() / "hmda_credit.pt");
  std::string sections = HmdaSections();
  const std::string local = (t::ModelsDir() / "hmda_credit.pt").string();
  auto with_model = [&](const std::string& digest) {
    std::string s = sections;
    s.replace(s.find(local), local.size(),
              "{url: " + server.Url("/files/m.pt") + ", sha256: " + digest + "}");
    return Header() + s +
           "criteria:\n  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: "
           "mandatory}\n";
  };
  const auto criteria = tmp / "remote.yaml";
  t::WriteText(criteria, with_model(sha));
  const auto r = CliEnv("audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "out"));
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit_code <= 2);
  const json report = ReadJson(tmp / "out" / "report.json");
  BOOST_CHECK_EQUAL(t::ReportSchemaErrors(report), "");
  BOOST_CHECK_EQUAL(report["predicate"]["model"]["sha256"], sha);
  const json& inputs = report["predicate"]["criteria"]["remote_inputs"];
  BOOST_REQUIRE_EQUAL(inputs.size(), 1u);
  BOOST_CHECK_EQUAL(inputs[0]["field"], "model.path");
  BOOST_CHECK_EQUAL(inputs[0]["url"], server.Url("/files/m.pt"));
  BOOST_CHECK_EQUAL(inputs[0]["sha256"], sha);

  std::string other = sha;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  t::WriteText(criteria, with_model(other));
  const auto bad = CliEnv("audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "out2"));
  BOOST_CHECK_EQUAL(bad.exit_code, 3);
  BOOST_CHECK_NE(bad.err.find("model.path.url: " + server.Url("/files/m.pt") + ": sha256 mismatch"),
                 std::string::npos);
  BOOST_CHECK(!std::filesystem::exists(tmp / "out2" / "report.json"));
}

// Live grid intensity: the carbon figure is the run's energy × the live intensity (hand
// arithmetic from the energy criterion of the same run); malformed or down → the configured
// fallback, labelled; down with require_live → INCONCLUSIVE.
BOOST_AUTO_TEST_CASE(live_grid_intensity_good_malformed_down) {
  auto criteria_for = [&](const std::string& url, bool require_live) {
    const std::string run =
        "scenario: single_stream, threads: 1, min_duration_s: 0.2, min_queries: 16, "
        "warmup_queries: 4";
    return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: grid, version: '1'}\n" +
           t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 64) +
           "criteria:\n"
           "  - {id: E, metric: energy_per_inference_mj, params: {" +
           run +
           "}, threshold: {gte: 0}, severity: mandatory}\n"
           "  - {id: C, metric: carbon_per_1000_inferences_g, params: {" +
           run + ", grid_intensity_g_per_kwh: 400, grid_intensity: {url: '" + url + "', zone: DE" +
           (require_live ? ", require_live: true" : "") +
           "}}, threshold: {gte: 0}, severity: mandatory}\n";
  };
  struct Case {
    std::string url;
    bool require_live;
    double intensity;
    std::string status;
  };
  const std::string down = "https://127.0.0.1:1/grid/em";
  const std::vector<Case> cases = {{server.Url("/grid/em"), false, 123.5, "PASS"},
                                   {server.Url("/grid/gb"), false, 197.0, "PASS"},
                                   {server.Url("/grid/malformed"), false, 400.0, "PASS"},
                                   {down, false, 400.0, "PASS"},
                                   {down, true, 400.0, "INCONCLUSIVE"}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.url << " require_live=" << c.require_live) {
      const auto criteria = tmp / "grid.yaml";
      t::WriteText(criteria, criteria_for(c.url, c.require_live));
      const auto r = CliEnv("audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "g"));
      BOOST_TEST_INFO(r.err);
      BOOST_REQUIRE(r.exit_code <= 2);
      const json report = ReadJson(tmp / "g" / "report.json");
      BOOST_CHECK_EQUAL(t::ReportSchemaErrors(report), "");
      const json& e = Result(report, "E");
      const json& carbon = Result(report, "C");
      BOOST_CHECK_EQUAL(carbon["status"], c.status);
      const json& grid = carbon["details"]["carbon"];
      BOOST_CHECK_EQUAL(grid["intensity_g_per_kwh"], c.intensity);
      const bool live = c.intensity != 400.0;
      BOOST_CHECK_EQUAL(grid["live"], live);
      if (live) {
        BOOST_CHECK_EQUAL(grid["source"], c.url);
        BOOST_CHECK(!grid["timestamp"].get<std::string>().empty());
      } else {
        BOOST_CHECK_EQUAL(grid["fallback"], true);
        BOOST_CHECK_EQUAL(grid["live_source"], c.url);
        BOOST_CHECK(!grid["live_error"].get<std::string>().empty());
      }
      // mJ per inference -> g per 1000 inferences: × 1e-3 J/mJ × 1000 / 3.6e6 J/kWh × g/kWh.
      const double expected = e["value"].get<double>() * 1e-3 * 1000.0 / 3.6e6 * c.intensity;
      BOOST_CHECK_CLOSE(carbon["value"].get<double>(), expected, 1e-6);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Every shipped profile validates on its own and runs, extended, on an example model.
BOOST_AUTO_TEST_CASE(shipped_profiles_run_on_the_example_models) {
  t::TempDir tmp;
  const std::string quick_run = "run_min_duration_s: 0.2, run_min_queries: 16";
  const std::string cnn = t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 400);
  const std::map<std::string, std::pair<std::string, std::string>> cases = {
      {"us-ugesp-four-fifths.yaml", {"{sensitive: afam, favourable: 0}", HmdaSections()}},
      {"nist-ai-rmf-measure-2.yaml",
       {"{min_accuracy: 0.8, max_ece: 0.1, max_flip_rate: 0.1, sensitive: afam, favourable: 0, " +
            quick_run + "}",
        HmdaSections()}},
      {"eu-ai-act-art15.yaml",
       {"{declared_accuracy: 0.8, declared_max_corruption_drop: 0.2, "
        "declared_adversarial_accuracy: 0.5, sample_limit: 100}",
        cnn}},
      {"eu-ai-act-annex-xi.yaml", {"{" + quick_run + "}", cnn}},
      {"gsf-sci.yaml", {"{embodied_total_g: 1000000, " + quick_run + "}", cnn}},
      {"mlperf-accuracy-retention.yaml",
       {"{reference_accuracy: 0.8771, reference_source: 'fashion_cnn.pt, all test images'}",
        t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 400)}},
  };
  std::set<std::string> shipped;
  for (const auto& e : std::filesystem::directory_iterator(ProfilesDir())) {
    shipped.insert(e.path().filename().string());
  }
  std::set<std::string> covered;
  for (const auto& [name, c] : cases) covered.insert(name);
  BOOST_CHECK(shipped == covered);

  for (const auto& [name, c] : cases) {
    BOOST_TEST_CONTEXT(name) {
      const auto profile = ProfilesDir() / name;
      const auto v = t::RunCli("validate " + t::Quote(profile));
      BOOST_TEST_INFO(v.err);
      BOOST_CHECK_EQUAL(v.exit_code, 0);
      BOOST_CHECK_NE(v.out.find("valid profile"), std::string::npos);
      const auto criteria = tmp / ("uses-" + name);
      t::WriteText(criteria,
                   "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: p, version: '1'}\n"
                   "settings: {seed: 7}\nextends: {path: " +
                       profile.string() + ", with: " + c.first + "}\n" + c.second);
      const auto out = tmp / ("out-" + name);
      const auto r = t::RunCli("-q audit -c " + t::Quote(criteria) + " -o " + t::Quote(out));
      BOOST_TEST_INFO(r.err);
      BOOST_REQUIRE(r.exit_code <= 2);
      const json report = ReadJson(out / "report.json");
      BOOST_CHECK_EQUAL(t::ReportSchemaErrors(report), "");
      const std::string sha = Sha256Sum(profile);
      for (const auto& res : report["predicate"]["results"]) {
        BOOST_TEST_INFO(res["id"].get<std::string>() + ": " + res["message"].get<std::string>());
        BOOST_CHECK_EQUAL(res["profile"]["sha256"], sha);
        BOOST_CHECK(res["status"] != "ERROR");
        BOOST_CHECK(!res["reference"].get<std::string>().empty());
        BOOST_CHECK_EQUAL(res["reference"].get<std::string>().find("${"), std::string::npos);
      }
    }
  }
}

// The MLPerf quality target on the int8 example model: the value is the model's accuracy, computed
// by PyTorch here, divided by the declared reference; the advisory criterion's bound is the
// one-sided 95 % Wilson bound (level 0.9 two-sided), computed here from its formula.
BOOST_AUTO_TEST_CASE(mlperf_retention_is_accuracy_over_the_declared_reference) {
  t::TempDir tmp;
  const int rows = 2000;
  const double reference = 0.8771;
  const auto criteria = tmp / "int8.yaml";
  t::WriteText(criteria,
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: p, version: '1'}\n"
               "extends: {path: " +
                   (ProfilesDir() / "mlperf-accuracy-retention.yaml").string() +
                   ", with: {reference_accuracy: 0.8771, reference_source: fp32}}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", rows));
  const auto r = t::RunCli("-q audit -c " + t::Quote(criteria) + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(r.exit_code <= 2, r.err);
  const json report = ReadJson(tmp / "out" / "report.json");
  const auto py = t::RunPython(
      "import gzip, numpy as np, torch\n"
      "x = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
      "').read()[16:], np.uint8).astype(np.float32) / 255.0\n"
      "y = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-labels-idx1-ubyte.gz").string() + "').read()[8:], np.uint8)\n" +
      "m = torch.jit.load('" + (t::ModelsDir() / "fashion_cnn_int8.pt").string() + "')\n" +
      "n = " + std::to_string(rows) + "\n" +
      "with torch.no_grad(): p = m(torch.from_numpy(x[:n * 784].copy()).reshape(-1, 1, 28, "
      "28)).argmax(1).numpy()\n"
      "print(int((p == y[:n]).sum()))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  const double correct = std::stod(py.out);
  const json& point = Result(report, "MLPERF-QUALITY-TARGET");
  BOOST_TEST(point["value"].get<double>() == correct / rows / reference,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(point["status"] == (correct / rows / reference >= 0.99 ? "PASS" : "FAIL"));
  BOOST_TEST(point["details"]["reference_source"] == "fp32");

  const json& bounded = Result(report, "MLPERF-QUALITY-TARGET-95");
  BOOST_TEST(bounded["interval"]["level"].get<double>() == 0.9,
             boost::test_tools::tolerance(1e-12));
  const double z = 1.6448536269514722;  // The 0.95 quantile of the standard normal.
  const double p = correct / rows, n = rows;
  const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z / (1 + z * z / n) * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  BOOST_TEST(bounded["interval"]["low"].get<double>() == (centre - half) / reference,
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(bounded["interval"]["high"].get<double>() == (centre + half) / reference,
             boost::test_tools::tolerance(1e-9));
}
