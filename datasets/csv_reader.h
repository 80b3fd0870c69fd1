// RFC 4180 CSV: a header row, quoted fields (with "" escapes), comma separators.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace greenlight {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> line_numbers;  // 1-based source line of each row, for error messages.

  // Index of `column` in the header; throws InputError naming `file` when absent.
  size_t Column(const std::string& column, const std::string& file) const;
};

// Parses the whole file. Throws InputError "<file>:<line>: <problem>" on a row with the wrong
// number of fields or an unterminated quote, "<file>:<line>:<column>: invalid UTF-8 (byte 0xNN)".
CsvTable ParseCsv(const std::string& text, const std::string& file);

// The same parser fed a file's bytes in consecutive pieces, so that a file need not be in memory.
// Blank lines are skipped. Errors are those of ParseCsv, thrown as soon as they are met.
class CsvStream {
 public:
  // Called for each data record: its fields (which it may move from), the line it starts on and
  // the byte offset of its first byte. Returns false to stop the stream (Feed then ignores the
  // rest).
  using RecordFn =
      std::function<bool(std::vector<std::string>& fields, int64_t line, uint64_t offset)>;

  // A whole file: the first record is the header; lines and offsets count from the start.
  CsvStream(std::string file, RecordFn on_record);
  // A stream that starts at a record boundary inside a file whose header is known (`fields`
  // fields a record): the first byte fed is at `offset`, on `line`. Text is not re-checked for
  // UTF-8 (the file was checked when it was opened).
  CsvStream(std::string file, RecordFn on_record, size_t fields, int64_t line, uint64_t offset);

  void Feed(std::string_view bytes);
  // The end of the input: completes a last record without a newline; throws on an unterminated
  // quote and, for a whole file, on a file without a header.
  void Finish();
  bool stopped() const { return stopped_; }
  const std::vector<std::string>& header() const { return header_; }

 private:
  void EndRecord();
  void CheckLine();

  std::string file_;
  RecordFn on_record_;
  bool whole_file_ = true;
  bool check_utf8_ = true;
  size_t fields_ = 0;  // Fields a record has (the header's), once known.
  std::vector<std::string> header_;
  std::vector<std::string> record_;
  std::string field_;
  std::string line_text_;  // The current line's bytes, for the UTF-8 check.
  int64_t line_ = 1;
  int64_t record_line_ = 1;
  uint64_t offset_ = 0;         // Of the next byte fed.
  uint64_t record_offset_ = 0;  // Of the current record's first byte.
  bool record_open_ = false;    // A byte of the current record has been seen.
  bool in_quotes_ = false;
  bool field_started_ = false;
  bool pending_quote_ = false;  // A '"' inside quotes, the last byte fed: "" or the closing one.
  bool stopped_ = false;
};

}  // namespace greenlight
