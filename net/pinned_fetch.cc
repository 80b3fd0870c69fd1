#include "net/pinned_fetch.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/digest.h"
#include "core/files.h"

namespace greenlight::net {

std::filesystem::path CacheDir() {
  if (const char* d = std::getenv("GREENLIGHT_CACHE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    return std::filesystem::path(x) / "greenlight";
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return std::filesystem::path(h) / ".cache" / "greenlight";
  }
  throw InputError(
      "no cache folder for remote inputs: set GREENLIGHT_CACHE_DIR, XDG_CACHE_HOME or HOME");
}

bool IsSha256Hex(const std::string& text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::filesystem::path FetchPinned(const std::string& url, const std::string& sha256,
                                  const HttpOptions& options) {
  if (!IsSha256Hex(sha256)) {
    throw InputError(url + ": the pinned sha256 must be 64 hexadecimal digits, got '" + sha256 +
                     "'");
  }
  std::string want = sha256;
  std::transform(want.begin(), want.end(), want.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::filesystem::path path = CacheDir() / "sha256" / want;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    if (Sha256File(path) == want) return path;
    std::filesystem::remove(path, ec);  // Corrupt entry: fetch again.
  }
  HttpRequest req;
  req.url = url;
  const HttpResponse resp = Send(req, options);
  if (resp.status != 200) {
    throw HttpError(
        resp.status >= 400 && resp.status < 500 ? ErrorKind::kInput : ErrorKind::kRuntime,
        url + ": HTTP " + std::to_string(resp.status) + "; nothing was used");
  }
  const std::string got = Sha256Hex(resp.body);
  if (got != want) {
    throw InputError(url + ": sha256 mismatch: pinned " + want + ", received " + got + " (" +
                     std::to_string(resp.body.size()) + " bytes); nothing was used");
  }
  WriteFileAtomic(path, resp.body, 0644);
  return path;
}

}  // namespace greenlight::net
