// RFC 4180 CSV: a header row, quoted fields (with "" escapes), comma separators.
#pragma once

#include <filesystem>
#include <string>
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
// number of fields or an unterminated quote.
CsvTable ParseCsv(const std::string& text, const std::string& file);

}  // namespace greenlight
