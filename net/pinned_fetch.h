// Remote inputs pinned by digest: fetched over https, kept in a content-addressed cache, and used
// only when their SHA-256 is the one the criteria pin.
#pragma once

#include <filesystem>
#include <string>

#include "net/http_client.h"

namespace greenlight::net {

// The cache folder: $GREENLIGHT_CACHE_DIR, else $XDG_CACHE_HOME/greenlight, else
// $HOME/.cache/greenlight. Files live at <dir>/sha256/<64 hex digits>.
std::filesystem::path CacheDir();

// True for 64 hexadecimal digits (either case).
bool IsSha256Hex(const std::string& text);

// The local path of the content with SHA-256 `sha256` (lowercase or uppercase hex), fetching it
// from `url` when the cache lacks it. A cached file is hashed again before each use; a corrupt one
// is fetched anew. Throws InputError "<url>: sha256 mismatch: ..." when the body's digest differs
// (nothing is stored or used), HttpError for network failures (see Send).
std::filesystem::path FetchPinned(const std::string& url, const std::string& sha256,
                                  const HttpOptions& options);

}  // namespace greenlight::net
