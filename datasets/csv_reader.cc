#include "datasets/csv_reader.h"

#include <cstdio>
#include <map>
#include <string_view>

#include "core/error.h"
#include "core/files.h"

namespace greenlight {

size_t CsvTable::Column(const std::string& column, const std::string& file) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == column) return i;
  }
  std::string known;
  for (const auto& h : header) known += (known.empty() ? "" : ", ") + h;
  throw InputError(file + ":1: no column '" + column + "' (columns: " + known + ")");
}

CsvTable ParseCsv(const std::string& text, const std::string& file) {
  if (const size_t bad = FindInvalidUtf8(text); bad != std::string::npos) {
    const TextPosition pos = PositionOf(text, bad);
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw InputError(file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) +
                     ": invalid UTF-8 (byte " + byte + ")");
  }
  CsvTable table;
  std::vector<std::string> record;
  std::string field;
  int64_t line = 1;
  int64_t record_line = 1;
  bool in_quotes = false;
  bool field_started = false;
  auto end_record = [&]() {
    record.push_back(field);
    field.clear();
    field_started = false;
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (table.header.empty()) {
        std::map<std::string_view, size_t> seen;
        for (size_t i = 0; i < record.size(); ++i) {
          const auto [it, fresh] = seen.emplace(record[i], i);
          if (!fresh) {
            throw InputError(file + ":" + std::to_string(record_line) + ": column '" + record[i] +
                             "' appears twice in the header (columns " +
                             std::to_string(it->second + 1) + " and " + std::to_string(i + 1) +
                             ")");
          }
        }
        table.header = std::move(record);
      } else {
        if (record.size() != table.header.size()) {
          throw InputError(file + ":" + std::to_string(record_line) + ": expected " +
                           std::to_string(table.header.size()) + " fields, found " +
                           std::to_string(record.size()));
        }
        table.rows.push_back(std::move(record));
        table.line_numbers.push_back(record_line);
      }
    }
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (field_started && !field.empty()) {
          throw InputError(file + ":" + std::to_string(line) + ": quote inside an unquoted field");
        }
        in_quotes = true;
        field_started = true;
        break;
      case ',':
        record.push_back(field);
        field.clear();
        field_started = false;
        break;
      case '\r':
        break;
      case '\n':
        end_record();
        ++line;
        record_line = line;
        break;
      default:
        field += c;
        field_started = true;
    }
  }
  if (in_quotes)
    throw InputError(file + ":" + std::to_string(record_line) + ": unterminated quoted field");
  if (field_started || !record.empty()) end_record();
  if (table.header.empty()) throw InputError(file + ": empty CSV file (no header row)");
  return table;
}

}  // namespace greenlight
