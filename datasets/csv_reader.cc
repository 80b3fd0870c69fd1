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

CsvStream::CsvStream(std::string file, RecordFn on_record)
    : file_(std::move(file)), on_record_(std::move(on_record)) {}

CsvStream::CsvStream(std::string file, RecordFn on_record, size_t fields, int64_t line,
                     uint64_t offset)
    : file_(std::move(file)),
      on_record_(std::move(on_record)),
      whole_file_(false),
      check_utf8_(false),
      fields_(fields),
      line_(line),
      record_line_(line),
      offset_(offset),
      record_offset_(offset) {}

void CsvStream::CheckLine() {
  if (!check_utf8_) return;
  if (const size_t bad = FindInvalidUtf8(line_text_); bad != std::string::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(line_text_[bad]));
    throw InputError(file_ + ":" + std::to_string(line_) + ":" + std::to_string(bad + 1) +
                     ": invalid UTF-8 (byte " + byte + ")");
  }
  line_text_.clear();
}

void CsvStream::EndRecord() {
  record_.push_back(std::move(field_));
  field_.clear();
  field_started_ = false;
  const bool blank = record_.size() == 1 && record_[0].empty();
  if (!blank) {
    if (whole_file_ && header_.empty()) {
      std::map<std::string_view, size_t> seen;
      for (size_t i = 0; i < record_.size(); ++i) {
        const auto [it, fresh] = seen.emplace(record_[i], i);
        if (!fresh) {
          throw InputError(file_ + ":" + std::to_string(record_line_) + ": column '" + record_[i] +
                           "' appears twice in the header (columns " +
                           std::to_string(it->second + 1) + " and " + std::to_string(i + 1) + ")");
        }
      }
      header_ = std::move(record_);
      fields_ = header_.size();
    } else {
      if (record_.size() != fields_) {
        throw InputError(file_ + ":" + std::to_string(record_line_) + ": expected " +
                         std::to_string(fields_) + " fields, found " +
                         std::to_string(record_.size()));
      }
      if (!on_record_(record_, record_line_, record_offset_)) stopped_ = true;
    }
  }
  record_.clear();
  record_open_ = false;
}

void CsvStream::Feed(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size() && !stopped_; ++i, ++offset_) {
    const char c = bytes[i];
    if (!record_open_) {
      record_open_ = true;
      record_offset_ = offset_;
      record_line_ = line_;
    }
    if (check_utf8_ && c != '\n') line_text_ += c;
    if (pending_quote_) {
      pending_quote_ = false;
      if (c == '"') {  // "" inside quotes: one quote.
        field_ += '"';
        continue;
      }
      in_quotes_ = false;  // The closing quote; this byte is read outside the quotes.
    }
    if (in_quotes_) {
      if (c == '"') {
        pending_quote_ = true;
      } else {
        if (c == '\n') {
          CheckLine();
          ++line_;
        }
        field_ += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (field_started_ && !field_.empty()) {
          throw InputError(file_ + ":" + std::to_string(line_) +
                           ": quote inside an unquoted field");
        }
        in_quotes_ = true;
        field_started_ = true;
        break;
      case ',':
        record_.push_back(std::move(field_));
        field_.clear();
        field_started_ = false;
        break;
      case '\r':
        break;
      case '\n':
        CheckLine();
        EndRecord();
        ++line_;
        break;
      default:
        field_ += c;
        field_started_ = true;
    }
  }
}

void CsvStream::Finish() {
  if (stopped_) return;
  if (pending_quote_) {
    pending_quote_ = false;
    in_quotes_ = false;
  }
  CheckLine();
  if (in_quotes_) {
    throw InputError(file_ + ":" + std::to_string(record_line_) + ": unterminated quoted field");
  }
  if (field_started_ || !record_.empty()) EndRecord();
  if (whole_file_ && header_.empty()) {
    throw InputError(file_ + ": empty CSV file (no header row)");
  }
}

CsvTable ParseCsv(const std::string& text, const std::string& file) {
  CsvTable table;
  CsvStream stream(file, [&](std::vector<std::string>& fields, int64_t line, uint64_t) {
    table.rows.push_back(std::move(fields));
    table.line_numbers.push_back(line);
    return true;
  });
  stream.Feed(text);
  stream.Finish();
  table.header = stream.header();
  return table;
}

}  // namespace greenlight
