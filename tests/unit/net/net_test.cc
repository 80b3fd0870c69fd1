// net: pinned fetches over real HTTPS (a test CA and tests/net/test_server.py on 127.0.0.1), the
// content-addressed cache, and the grid-intensity response shapes. Digests are checked against
// sha256sum, not against our own SHA-256.
#define BOOST_TEST_MODULE net
#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "auditors/energy/grid_intensity_source.h"
#include "core/digest.h"
#include "core/error.h"
#include "net/http_client.h"
#include "net/pinned_fetch.h"
#include "tests/net/https_test_server.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
namespace net = greenlight::net;
using greenlight::ErrorKind;

namespace {

// sha256sum's digest of a file: the independent reference.
std::string Sha256Sum(const std::filesystem::path& p) {
  const auto r = t::RunShell("sha256sum " + t::Quote(p));
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  return r.out.substr(0, 64);
}

struct Fixture {
  Fixture() {
    setenv("GREENLIGHT_CACHE_DIR", (cache / "c").c_str(), 1);
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    std::string body;
    for (int i = 0; i < 20000; ++i) body += "row " + std::to_string(i) + "\n";
    t::WriteText(server.root() / "data.txt", body);
    digest = Sha256Sum(server.root() / "data.txt");
    options.ca_bundle = server.ca_file().string();
    options.connect_timeout_s = 2;
    options.total_timeout_s = 5;
    options.retries = 2;
    options.backoff_initial_s = 0.05;
  }
  ~Fixture() { unsetenv("GREENLIGHT_CACHE_DIR"); }

  // Runs `body`, expecting a greenlight::Error of `kind` whose message contains `needle`.
  template <typename F>
  void ExpectError(F&& body, ErrorKind kind, const std::string& needle) {
    try {
      body();
      BOOST_ERROR("expected an error containing '" + needle + "'");
    } catch (const greenlight::Error& e) {
      BOOST_TEST_INFO(e.what());
      BOOST_CHECK(e.kind() == kind);
      BOOST_CHECK_NE(std::string(e.what()).find(needle), std::string::npos);
    }
  }
  std::filesystem::path Cached() const { return cache / "c" / "sha256" / digest; }

  t::TempDir cache;
  t::HttpsTestServer server;
  std::string digest;
  net::HttpOptions options;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(pinned_fetch, Fixture)

BOOST_AUTO_TEST_CASE(good_digest_is_cached_and_used_without_the_server) {
  const auto path = net::FetchPinned(server.Url("/files/data.txt"), digest, options);
  BOOST_CHECK_EQUAL(path, Cached());
  BOOST_CHECK_EQUAL(Sha256Sum(path), digest);
  server.Stop();
  // The cache answers, verified again, with the server gone.
  BOOST_CHECK_EQUAL(net::FetchPinned(server.Url("/files/data.txt"), digest, options), Cached());
}

BOOST_AUTO_TEST_CASE(uppercase_digest_is_the_same_pin) {
  std::string upper = digest;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_CHECK_EQUAL(net::FetchPinned(server.Url("/files/data.txt"), upper, options), Cached());
}

BOOST_AUTO_TEST_CASE(wrong_digest_is_input_error_and_nothing_is_stored) {
  const std::string wrong(64, 'a');
  ExpectError([&] { net::FetchPinned(server.Url("/files/data.txt"), wrong, options); },
              ErrorKind::kInput, "sha256 mismatch: pinned " + wrong + ", received " + digest);
  BOOST_CHECK(!std::filesystem::exists(cache / "c" / "sha256" / wrong));
  BOOST_CHECK(!std::filesystem::exists(Cached()));
}

BOOST_AUTO_TEST_CASE(corrupt_cache_entry_is_fetched_again) {
  t::WriteText(Cached(), "tampered");
  BOOST_CHECK_EQUAL(net::FetchPinned(server.Url("/files/data.txt"), digest, options), Cached());
  BOOST_CHECK_EQUAL(Sha256Sum(Cached()), digest);
}

BOOST_AUTO_TEST_CASE(truncated_body_is_retried_then_fails) {
  ExpectError([&] { net::FetchPinned(server.Url("/truncated/data.txt"), digest, options); },
              ErrorKind::kRuntime, "truncated body");
  BOOST_CHECK(!std::filesystem::exists(Cached()));
}

BOOST_AUTO_TEST_CASE(slow_server_times_out) {
  options.total_timeout_s = 0.5;
  options.retries = 0;
  ExpectError([&] { net::FetchPinned(server.Url("/slow/data.txt"), digest, options); },
              ErrorKind::kRuntime, "timed out");
}

BOOST_AUTO_TEST_CASE(server_error_then_success_is_retried) {
  net::HttpRequest req;
  req.url = server.Url("/flaky/data.txt");
  const auto resp = net::Send(req, options);
  BOOST_CHECK_EQUAL(resp.status, 200);
  BOOST_CHECK_EQUAL(resp.attempts, 2);
  BOOST_CHECK_EQUAL(greenlight::Sha256Hex(resp.body), digest);
}

BOOST_AUTO_TEST_CASE(no_retries_means_the_500_is_final) {
  options.retries = 0;
  ExpectError([&] { net::FetchPinned(server.Url("/flaky/other.txt"), digest, options); },
              ErrorKind::kRuntime, "HTTP 500");
}

BOOST_AUTO_TEST_CASE(redirect_to_plain_http_is_refused) {
  ExpectError([&] { net::FetchPinned(server.Url("/redirect-http/data.txt"), digest, options); },
              ErrorKind::kInput, "redirect to a non-https URL refused (http://127.0.0.1:");
}

BOOST_AUTO_TEST_CASE(redirect_to_https_is_followed) {
  BOOST_CHECK_EQUAL(net::FetchPinned(server.Url("/redirect-https/data.txt"), digest, options),
                    Cached());
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_is_refused) {
  options.ca_bundle = server.other_ca_file().string();
  ExpectError([&] { net::FetchPinned(server.Url("/files/data.txt"), digest, options); },
              ErrorKind::kInput, "TLS certificate verification failed");
  BOOST_CHECK(!std::filesystem::exists(Cached()));
}

BOOST_AUTO_TEST_CASE(oversize_body_is_refused_with_and_without_content_length) {
  options.max_bytes = 1000;
  for (const std::string route : {"/files/data.txt", "/chunked/data.txt"}) {
    ExpectError([&] { net::FetchPinned(server.Url(route), digest, options); }, ErrorKind::kInput,
                "larger than the limit of 1000 bytes");
  }
  BOOST_CHECK(!std::filesystem::exists(Cached()));
}

BOOST_AUTO_TEST_CASE(plain_http_url_is_never_fetched) {
  ExpectError([&] { net::FetchPinned("http://127.0.0.1:1/files/data.txt", digest, options); },
              ErrorKind::kInput, "only https:// URLs are fetched");
}

BOOST_AUTO_TEST_CASE(unreachable_server_is_a_runtime_error) {
  const std::string url = server.Url("/files/data.txt");
  server.Stop();
  options.retries = 1;
  ExpectError([&] { net::FetchPinned(url, digest, options); }, ErrorKind::kRuntime, "(2 attempts)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(options_from_environment) {
  setenv("GREENLIGHT_HTTP_TIMEOUT_S", "2.5", 1);
  setenv("GREENLIGHT_HTTP_RETRIES", "7", 1);
  setenv("CURL_CA_BUNDLE", "/tmp/ca.pem", 1);
  const auto o = net::HttpOptions::FromEnvironment();
  BOOST_CHECK_EQUAL(o.total_timeout_s, 2.5);
  BOOST_CHECK_EQUAL(o.retries, 7);
  BOOST_CHECK_EQUAL(o.ca_bundle, "/tmp/ca.pem");
  setenv("GREENLIGHT_HTTP_RETRIES", "many", 1);
  BOOST_CHECK_THROW(net::HttpOptions::FromEnvironment(), greenlight::InputError);
  unsetenv("GREENLIGHT_HTTP_TIMEOUT_S");
  unsetenv("GREENLIGHT_HTTP_RETRIES");
  unsetenv("CURL_CA_BUNDLE");
}

BOOST_AUTO_TEST_CASE(cache_dir_follows_the_documented_variables) {
  setenv("GREENLIGHT_CACHE_DIR", "/x/gl", 1);
  BOOST_CHECK_EQUAL(net::CacheDir(), "/x/gl");
  unsetenv("GREENLIGHT_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/x/xdg", 1);
  BOOST_CHECK_EQUAL(net::CacheDir(), "/x/xdg/greenlight");
  unsetenv("XDG_CACHE_HOME");
}

// The two documented response shapes, with the figures they carry.
BOOST_AUTO_TEST_CASE(grid_response_shapes) {
  namespace energy = greenlight::energy;
  const auto em = energy::ParseGridResponse(
      R"({"zone":"DE","carbonIntensity":302,"datetime":"2019-01-01T00:00:00.000Z"})");
  BOOST_CHECK_EQUAL(em.g_per_kwh, 302.0);
  BOOST_CHECK_EQUAL(em.zone, "DE");
  BOOST_CHECK_EQUAL(em.timestamp, "2019-01-01T00:00:00.000Z");
  const auto gb = energy::ParseGridResponse(
      R"({"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":263,"index":"moderate"}}]})");
  BOOST_CHECK_EQUAL(gb.g_per_kwh, 263.0);
  BOOST_CHECK_EQUAL(gb.figure, "actual");
  const auto forecast = energy::ParseGridResponse(
      R"({"data":[{"from":"2018-01-20T12:00Z","intensity":{"forecast":266,"actual":null}}]})");
  BOOST_CHECK_EQUAL(forecast.g_per_kwh, 266.0);
  BOOST_CHECK_EQUAL(forecast.figure, "forecast");
  for (const char* bad :
       {"not json", R"({"zone":"DE"})", R"({"carbonIntensity":-1,"datetime":"x"})",
        R"({"carbonIntensity":"high","datetime":"x"})", R"({"carbonIntensity":5})",
        R"({"data":[]})"}) {
    BOOST_CHECK_THROW(energy::ParseGridResponse(bad), greenlight::InputError);
  }
}

BOOST_AUTO_TEST_CASE(live_grid_endpoint_good_malformed_down) {
  namespace energy = greenlight::energy;
  setenv("no_proxy", "127.0.0.1", 1);
  t::HttpsTestServer server("grid-token");
  t::TempDir tmp;
  setenv("CURL_CA_BUNDLE", server.ca_file().c_str(), 1);
  setenv("GREENLIGHT_HTTP_RETRIES", "0", 1);
  setenv("GREENLIGHT_HTTP_TIMEOUT_S", "3", 1);
  t::WriteText(tmp / "token", "grid-token\n");
  energy::LiveGridSpec spec = energy::ParseLiveGridSpec(
      {{"url", server.Url("/grid/em")}, {"zone", "DE"}, {"token_file", (tmp / "token").string()}});
  const auto good = energy::FetchLiveGridIntensity(spec);
  BOOST_CHECK_EQUAL(good.g_per_kwh, 123.5);
  BOOST_CHECK_EQUAL(good.zone, "DE");  // Echoed by the server from ?zone=
  BOOST_CHECK_EQUAL(good.timestamp, "2026-11-29T18:00:00.000Z");
  spec.token_file.clear();
  BOOST_CHECK_THROW(energy::FetchLiveGridIntensity(spec), greenlight::Error);  // 401
  spec.token_file = (tmp / "token").string();
  spec.url = server.Url("/grid/malformed");
  BOOST_CHECK_THROW(energy::FetchLiveGridIntensity(spec), greenlight::InputError);
  spec.url = server.Url("/grid/em");
  server.Stop();
  try {
    energy::FetchLiveGridIntensity(spec);
    BOOST_ERROR("a stopped endpoint answered");
  } catch (const greenlight::Error& e) {
    BOOST_CHECK(e.kind() == ErrorKind::kRuntime);
  }
  BOOST_CHECK_THROW(energy::ParseLiveGridSpec({{"url", "http://x/grid"}}), greenlight::InputError);
  BOOST_CHECK_THROW(energy::ParseLiveGridSpec({{"url", "https://x"}, {"zone", 3}}),
                    greenlight::InputError);
  unsetenv("CURL_CA_BUNDLE");
  unsetenv("GREENLIGHT_HTTP_RETRIES");
  unsetenv("GREENLIGHT_HTTP_TIMEOUT_S");
}
