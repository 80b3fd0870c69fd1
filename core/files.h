// File helpers: bounded whole-file reads of regular files with clear errors, and atomic writes
// (temporary file in the same directory, fsync, rename) so an interrupted run never leaves a
// half-written output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace greenlight {

// Size limits per input kind, in bytes (documented in README, "Limits"). A larger file is refused
// with InputError (exit 3) before it is read, so a huge or endless input cannot exhaust memory.
inline constexpr uint64_t kMaxCriteriaBytes = uint64_t{1} << 20;      // 1 MiB
inline constexpr uint64_t kMaxKeyBytes = uint64_t{64} << 10;          // 64 KiB
inline constexpr uint64_t kMaxReportBytes = uint64_t{64} << 20;       // 64 MiB (JSON/envelope)
inline constexpr uint64_t kMaxDatasetFileBytes = uint64_t{1} << 30;   // 1 GiB (as stored)
inline constexpr uint64_t kMaxDecompressedBytes = uint64_t{1} << 30;  // 1 GiB (gzip'd IDX)
inline constexpr uint64_t kMaxModelBytes = uint64_t{4} << 30;         // 4 GiB

// Reads the whole file, which must be a regular file (FIFOs, devices, sockets and directories are
// refused without blocking) of at most `max_bytes`. `kind` names the input in messages ("criteria
// file"). Throws InputError "<path>: <reason>"; the bytes returned are the ones to hash and use.
std::string ReadFile(const std::filesystem::path& path, uint64_t max_bytes = kMaxReportBytes,
                     std::string_view kind = "file");

// Creates parent directories as needed. `mode` is applied to the temporary file before it is
// moved into place, so the final file never exists with looser permissions. With
// `replace_existing` false the temporary file is hard-linked instead of renamed: link(2) fails
// rather than replace, so an existing file (a key, say) is never overwritten; that case throws
// InputError "<path>: already exists; refusing to overwrite it". Other failures throw RuntimeError.
void WriteFileAtomic(const std::filesystem::path& path, std::string_view content,
                     unsigned mode = 0644, bool replace_existing = true);

// Writes `content` to a new temporary file "<dir>/.<name>.XXXXXX" with `mode` set before any byte
// is written, fsynced, and returns its path; the caller renames it into place. Throws RuntimeError.
std::filesystem::path WriteTemporaryFile(const std::filesystem::path& dir, const std::string& name,
                                         std::string_view content, unsigned mode = 0644);

// fsyncs a directory so renames inside it survive a crash. Throws RuntimeError.
void SyncDirectory(const std::filesystem::path& dir);

// An exclusive advisory lock (flock) on `path`, created if needed, held until destruction.
// Blocks while another process holds it. Throws RuntimeError when the lock file cannot be opened.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// Checks that `text` is valid UTF-8 (RFC 3629: no overlongs, surrogates or code points above
// U+10FFFF). Returns the byte offset of the first invalid sequence, or npos when valid.
size_t FindInvalidUtf8(std::string_view text);

// How PortablePath names a file that shares no folder with `base` but the root (another tree,
// such as /usr/share/...): by its file name alone (a report, which names files for people and
// identifies them by digest), or by its absolute path (a record that must find the file again).
enum class UnrelatedTree { kFileName, kAbsolute };

// `file` as a path relative to the folder `base` (both made absolute against the working
// directory first), so that what is written about a file stays true when the tree moves: e.g.
// "../models/cnn.pt" rather than a chain of "../" up to the root.
std::string PortablePath(const std::filesystem::path& file, const std::filesystem::path& base,
                         UnrelatedTree unrelated = UnrelatedTree::kFileName);

// 1-based line and column (in bytes) of byte `offset` in `text`.
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};
TextPosition PositionOf(std::string_view text, size_t offset);

}  // namespace greenlight
