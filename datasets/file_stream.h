// A data file held open for the whole audit and read in blocks, so that a dataset larger than
// memory can be audited (datasets stream: docs/datasets.md, "Streaming").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace greenlight {

// A regular file opened once. Reads are by offset (pread), so processes forked from the audit
// (the supervised model worker) share the descriptor without disturbing each other's position.
// The audit keeps reading the file it opened: a file replaced (renamed over) meanwhile is not
// seen, and one changed in place (another size or modification time) stops the read with an
// error rather than mixing two versions.
class OpenFile {
 public:
  // Throws InputError "<file>: <problem>" when the path is missing, not a regular file (a FIFO is
  // refused, not waited on), or larger than `max_bytes`; `kind` names it ("IDX file").
  OpenFile(const std::filesystem::path& path, uint64_t max_bytes, std::string_view kind);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }
  // Up to `n` bytes at `offset` into `out`; fewer only at the end of the file.
  size_t ReadAt(uint64_t offset, char* out, size_t n) const;
  // SHA-256 of the whole file, read block by block.
  std::string Sha256() const;
  // Throws RuntimeError when the file no longer has the size and modification time it was opened
  // with.
  void CheckUnchanged() const;

 private:
  std::string name_;
  int fd_ = -1;
  uint64_t size_ = 0;
  int64_t mtime_ns_ = 0;
};

// The content of an OpenFile: its bytes, inflated when the file is gzip'd (every member of a
// multi-member file), read at any offset of the content. Going forward decodes only what lies in
// between; going back restarts the decoder at the file's beginning. Thread-safe (one reader at a
// time); each process works on its own copy of the decoder state.
class ContentReader {
 public:
  explicit ContentReader(const OpenFile& file);
  ~ContentReader();
  ContentReader(const ContentReader&) = delete;
  ContentReader& operator=(const ContentReader&) = delete;

  bool gzip() const { return gzip_; }
  // Reads up to `n` bytes of content at `offset`; fewer only at the end of the content. Throws
  // InputError on a corrupt or truncated gzip stream and when the content would exceed
  // kMaxDecompressedBytes.
  size_t Read(uint64_t offset, char* out, size_t n) const;
  // The content's size: the file size for a plain file; for a gzip'd one, found by decoding to
  // the end (once).
  uint64_t Size() const;

 private:
  struct Inflater;
  size_t ReadLocked(uint64_t offset, char* out, size_t n) const;
  const OpenFile& file_;
  bool gzip_ = false;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<Inflater> inflater_;
  mutable int64_t size_ = -1;
};

}  // namespace greenlight
