// HTTPS requests over libcurl with the settings a regulator's workflow needs: TLS verification
// always on, https only (a redirect to plain http is refused), connect and total timeouts, bounded
// retries with exponential backoff on transient failures, and a size limit on the response body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace greenlight::net {

// Settings of every request. FromEnvironment() reads the documented variables:
//   GREENLIGHT_HTTP_CONNECT_TIMEOUT_S (default 10), GREENLIGHT_HTTP_TIMEOUT_S (total per attempt,
//   default 300), GREENLIGHT_HTTP_RETRIES (extra attempts, default 3), GREENLIGHT_HTTP_MAX_BYTES
//   (default 4 GiB), and the CA bundle from CURL_CA_BUNDLE, else SSL_CERT_FILE (else the system's).
// Proxies come from libcurl's usual variables (https_proxy, no_proxy).
struct HttpOptions {
  double connect_timeout_s = 10.0;
  double total_timeout_s = 300.0;
  int retries = 3;
  double backoff_initial_s = 0.5;  // Doubled after each failed attempt, at most 8 s.
  int64_t max_bytes = int64_t{4} << 30;
  std::string ca_bundle;  // Empty: the system's trust store.
  std::string ca_path;    // Directory of hashed certificates (SSL_CERT_DIR), optional.

  // Throws InputError naming the variable when one is set but not a number in range.
  static HttpOptions FromEnvironment();
};

struct HttpRequest {
  std::string method = "GET";        // GET or POST
  std::string url;                   // Must be https://
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POST only
  bool follow_redirects = true;      // GET only; https targets only, at most 5 hops.
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
  std::string final_url;
  int attempts = 0;
};

// Why a request failed. Security and size failures are the input's fault (exit 3); transport
// failures (unreachable, timeout, truncated body, 5xx after the retries) are runtime errors (exit
// 4).
class HttpError : public Error {
 public:
  HttpError(ErrorKind kind, const std::string& message) : Error(kind, message) {}
};

// Sends the request, retrying transient failures (connection refused or reset, timeout, truncated
// body, HTTP 408, 429 and 5xx). Returns the last response for any other status (4xx included);
// the caller judges it. Throws HttpError "<url>: <reason>" otherwise. Thread-safe.
HttpResponse Send(const HttpRequest& request, const HttpOptions& options);

// True for http(s) URLs that greenlight fetches ("https://..."); plain http is never fetched.
bool IsHttpsUrl(const std::string& text);
bool LooksLikeUrl(const std::string& text);  // Any scheme://

}  // namespace greenlight::net
