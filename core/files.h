// File helpers: whole-file reads with clear errors, and atomic writes (temporary file in the same
// directory, fsync, rename) so an interrupted run never leaves a half-written output.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace greenlight {

// Throws InputError "<path>: <reason>" when the file is missing or unreadable.
std::string ReadFile(const std::filesystem::path& path);

// Creates parent directories as needed. `mode` is applied to the temporary file before it is
// moved into place, so the final file never exists with looser permissions. With
// `replace_existing` false the temporary file is hard-linked instead of renamed: link(2) fails
// rather than replace, so an existing file (a key, say) is never overwritten; that case throws
// InputError "<path>: already exists; refusing to overwrite it". Other failures throw RuntimeError.
void WriteFileAtomic(const std::filesystem::path& path, std::string_view content,
                     unsigned mode = 0644, bool replace_existing = true);

}  // namespace greenlight
