#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

namespace greenlight::net {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

double EnvNumber(const char* name, double fallback, double min, double max) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(x >= min && x <= max)) {
    throw InputError(std::string(name) + "='" + v + "': expected a number in [" +
                     std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return x;
}

std::string EnvText(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

struct Transfer {
  std::string body;
  int64_t max_bytes = 0;
  bool too_large = false;
};

size_t OnData(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (static_cast<int64_t>(t->body.size() + n) > t->max_bytes) {
    t->too_large = true;
    return 0;  // Aborts the transfer (CURLE_WRITE_ERROR).
  }
  t->body.append(data, n);
  return n;
}

enum class Outcome { kDone, kRetry };

struct Attempt {
  Outcome outcome = Outcome::kDone;
  HttpResponse response;
  std::string redirect;  // Location of a 3xx when following.
  std::string transient_reason;
};

bool TransientStatus(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

Attempt Once(const HttpRequest& req, const std::string& url, const HttpOptions& opt) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw HttpError(ErrorKind::kRuntime, url + ": cannot initialise libcurl");
  CURL* h = curl.get();
  Transfer t;
  t.max_bytes = opt.max_bytes;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connect_timeout_s * 1e3));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.total_timeout_s * 1e3));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opt.max_bytes));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "greenlight");
  if (!opt.ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opt.ca_bundle.c_str());
  if (!opt.ca_path.empty()) curl_easy_setopt(h, CURLOPT_CAPATH, opt.ca_path.c_str());
  curl_slist* headers = nullptr;
  for (const auto& hd : req.headers) headers = curl_slist_append(headers, hd.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  if (headers != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }

  const CURLcode rc = curl_easy_perform(h);
  Attempt a;
  const std::string detail = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_OK:
      break;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WRITE_ERROR:
      if (rc == CURLE_FILESIZE_EXCEEDED || t.too_large) {
        throw HttpError(ErrorKind::kInput, url + ": response larger than the limit of " +
                                               std::to_string(opt.max_bytes) +
                                               " bytes (GREENLIGHT_HTTP_MAX_BYTES)");
      }
      throw HttpError(ErrorKind::kRuntime, url + ": " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      throw HttpError(ErrorKind::kInput, url + ": TLS certificate verification failed: " + detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
      throw HttpError(ErrorKind::kInput, url + ": only https:// is fetched: " + detail);
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      a.outcome = Outcome::kRetry;
      a.transient_reason = rc == CURLE_PARTIAL_FILE         ? "truncated body (" + detail + ")"
                           : rc == CURLE_OPERATION_TIMEDOUT ? "timed out (" + detail + ")"
                                                            : detail;
      return a;
    default:
      throw HttpError(ErrorKind::kRuntime, url + ": " + detail);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.response.status);
  char* type = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
    a.response.content_type = type;
  }
  char* location = nullptr;
  if (a.response.status >= 300 && a.response.status < 400 &&
      curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr) {
    a.redirect = location;
  }
  a.response.body = std::move(t.body);
  a.response.final_url = url;
  if (TransientStatus(a.response.status)) {
    a.outcome = Outcome::kRetry;
    a.transient_reason = "HTTP " + std::to_string(a.response.status);
  }
  return a;
}

}  // namespace

HttpOptions HttpOptions::FromEnvironment() {
  HttpOptions o;
  o.connect_timeout_s =
      EnvNumber("GREENLIGHT_HTTP_CONNECT_TIMEOUT_S", o.connect_timeout_s, 0.001, 3600.0);
  o.total_timeout_s = EnvNumber("GREENLIGHT_HTTP_TIMEOUT_S", o.total_timeout_s, 0.001, 86400.0);
  o.retries = static_cast<int>(EnvNumber("GREENLIGHT_HTTP_RETRIES", o.retries, 0, 10));
  o.max_bytes = static_cast<int64_t>(
      EnvNumber("GREENLIGHT_HTTP_MAX_BYTES", static_cast<double>(o.max_bytes), 1, 1e15));
  o.ca_bundle = EnvText("CURL_CA_BUNDLE");
  if (o.ca_bundle.empty()) o.ca_bundle = EnvText("SSL_CERT_FILE");
  o.ca_path = EnvText("SSL_CERT_DIR");
  return o;
}

bool LooksLikeUrl(const std::string& text) { return text.find("://") != std::string::npos; }

bool IsHttpsUrl(const std::string& text) {
  return text.size() > 8 && std::equal(text.begin(), text.begin() + 8, "https://",
                                       [](char a, char b) { return std::tolower(a) == b; });
}

HttpResponse Send(const HttpRequest& request, const HttpOptions& options) {
  GlobalInit();
  if (!IsHttpsUrl(request.url)) {
    throw HttpError(ErrorKind::kInput, request.url + ": only https:// URLs are fetched");
  }
  std::string url = request.url;
  int hops = 0;
  int attempts = 0;
  double backoff = options.backoff_initial_s;
  std::string last_reason;
  while (true) {
    ++attempts;
    Attempt a = Once(request, url, options);
    if (a.outcome == Outcome::kRetry) {
      last_reason = a.transient_reason;
      if (attempts > options.retries) {
        throw HttpError(ErrorKind::kRuntime, url + ": " + last_reason + " (" +
                                                 std::to_string(attempts) +
                                                 (attempts == 1 ? " attempt)" : " attempts)"));
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
      backoff = std::min(backoff * 2.0, 8.0);
      continue;
    }
    if (!a.redirect.empty() && request.follow_redirects && request.method == "GET") {
      if (!IsHttpsUrl(a.redirect)) {
        throw HttpError(ErrorKind::kInput,
                        url + ": redirect to a non-https URL refused (" + a.redirect + ")");
      }
      if (++hops > 5) throw HttpError(ErrorKind::kInput, request.url + ": too many redirects");
      url = a.redirect;
      attempts = 0;  // Retries count per URL.
      backoff = options.backoff_initial_s;
      continue;
    }
    a.response.attempts = attempts;
    return a.response;
  }
}

}  // namespace greenlight::net
