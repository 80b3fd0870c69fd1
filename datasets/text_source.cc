#include "datasets/text_source.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "datasets/in_memory_dataset.h"

namespace greenlight {
namespace {

// The byte offset of the first byte that does not start or continue a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;  // Overlong.
      if (c == 0xED) hi = 0x9F;  // Surrogates.
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;  // Overlong.
      if (c == 0xF4) hi = 0x8F;  // Above U+10FFFF.
    } else {
      return i;
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= s.size()) return i;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return i;
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return std::string_view::npos;
}

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

// The file's lines without their line ends ("\n" or "\r\n"); a final line end ends the last line.
std::vector<std::string_view> Lines(std::string_view content) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string ScalarText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

class TextParser {
 public:
  explicit TextParser(const DatasetSpec& spec) : spec_(spec), name_(spec.path.string()) {}

  std::unique_ptr<InMemoryDataset> Parse(const std::string& content) {
    if (const size_t bad = FirstInvalidUtf8(content); bad != std::string::npos) {
      const size_t line_start = content.rfind('\n', bad == 0 ? 0 : bad - 1);
      const size_t line = 1 + static_cast<size_t>(std::count(
                                  content.begin(), content.begin() + static_cast<long>(bad), '\n'));
      const size_t column =
          bad - (line_start == std::string::npos || bad == 0 ? 0 : line_start + 1) + 1;
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(content[bad]));
      throw InputError(name_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
                       ": invalid UTF-8 (byte " + byte + ")");
    }
    auto data = std::make_unique<InMemoryDataset>();
    const std::vector<std::string_view> lines = Lines(content);
    if (spec_.format == "jsonl") {
      ParseJsonLines(lines, *data);
    } else if (spec_.split == "paragraphs") {
      ParseParagraphs(lines, *data);
    } else {
      for (size_t i = 0; i < lines.size(); ++i) {
        // A final empty line is the file's last line end, not a document.
        if (lines[i].empty() && i + 1 == lines.size()) break;
        if (Blank(lines[i])) {
          throw InputError(At(i) +
                           ": empty document (split: lines reads one document per "
                           "line; use split: paragraphs for blank-line-separated text)");
        }
        data->texts_.emplace_back(lines[i]);
      }
    }
    if (data->texts_.empty()) throw InputError(name_ + ": no documents");
    return data;
  }

 private:
  std::string At(size_t line_index) const { return name_ + ":" + std::to_string(line_index + 1); }

  // Paragraphs: maximal runs of non-blank lines, joined with "\n".
  void ParseParagraphs(const std::vector<std::string_view>& lines, InMemoryDataset& data) const {
    std::string paragraph;
    for (std::string_view line : lines) {
      if (Blank(line)) {
        if (!paragraph.empty()) data.texts_.push_back(std::move(paragraph));
        paragraph.clear();
        continue;
      }
      if (!paragraph.empty()) paragraph += '\n';
      paragraph += line;
    }
    if (!paragraph.empty()) data.texts_.push_back(std::move(paragraph));
  }

  void ParseJsonLines(const std::vector<std::string_view>& lines, InMemoryDataset& data) const {
    const bool has_label = spec_.label.has_value();
    const std::string group = spec_.sensitive.empty() ? std::string() : spec_.sensitive.front();
    int64_t max_label = -1;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].empty() && i + 1 == lines.size()) break;
      if (Blank(lines[i])) throw InputError(At(i) + ": empty line (one JSON object per line)");
      nlohmann::json row;
      try {
        row = nlohmann::json::parse(lines[i]);
      } catch (const nlohmann::json::parse_error& e) {
        // e.byte is the 1-based position in the line where parsing stopped.
        throw InputError(At(i) + ":" + std::to_string(e.byte) + ": not valid JSON");
      }
      if (!row.is_object()) throw InputError(At(i) + ": expected a JSON object");
      const auto text = row.find(spec_.text_field);
      if (text == row.end()) {
        throw InputError(At(i) + ": no field '" + spec_.text_field + "' (dataset.text)");
      }
      if (!text->is_string()) {
        throw InputError(At(i) + ": field '" + spec_.text_field + "' is a " + text->type_name() +
                         ", not a string");
      }
      std::string document = text->get<std::string>();
      if (Blank(document)) {
        throw InputError(At(i) + ": field '" + spec_.text_field + "' is an empty document");
      }
      data.texts_.push_back(std::move(document));
      if (has_label) {
        const auto label = row.find(spec_.label->column);
        if (label == row.end()) {
          throw InputError(At(i) + ": no field '" + spec_.label->column + "' (dataset.label)");
        }
        if (!label->is_number_integer() || label->get<int64_t>() < 0) {
          throw InputError(At(i) + ": field '" + spec_.label->column + "' is " + label->dump() +
                           ", not a non-negative integer class index");
        }
        data.labels_.push_back(label->get<int64_t>());
        max_label = std::max(max_label, data.labels_.back());
      }
      if (!group.empty()) {
        const auto value = row.find(group);
        if (value == row.end()) {
          throw InputError(At(i) + ": no field '" + group + "' (dataset.group)");
        }
        if (value->is_structured() || value->is_null()) {
          throw InputError(At(i) + ": field '" + group + "' is a " + value->type_name() +
                           ", not a string, number or boolean");
        }
        data.sensitive_[group].push_back(ScalarText(*value));
      }
    }
    data.has_labels_ = has_label;
    data.num_classes_ = max_label + 1;
  }

  const DatasetSpec& spec_;
  std::string name_;
};

}  // namespace

std::unique_ptr<DatasetSource> OpenTextDataset(const DatasetSpec& spec) {
  const std::string content = ReadFile(spec.path, kMaxDatasetFileBytes,
                                       spec.format == "jsonl" ? "JSON Lines file" : "text file");
  std::unique_ptr<InMemoryDataset> all = TextParser(spec).Parse(content);
  const auto total = static_cast<int64_t>(all->texts_.size());
  all->info_.rows = total;
  const SampleSpec selection = spec.Selection();
  const RowSelection selected = SelectRows(selection, total, all->labels_);

  auto data = std::make_unique<InMemoryDataset>();
  data->info_.format = spec.format;
  data->info_.files = {{spec.path, Sha256Hex(content), "documents"}};
  data->info_.rows = static_cast<int64_t>(selected.rows.size());
  data->info_.total_rows = total;
  data->info_.selection.method = selection.method;
  data->info_.selection.from_limit = selection.from_limit;
  data->info_.selection.requested = selection.method == SampleMethod::kAll ? total : selection.size;
  data->info_.selection.seed = selection.seed;
  data->info_.selection.strata = selected.strata;
  data->has_labels_ = all->has_labels_;
  data->num_classes_ = all->num_classes_;
  for (int64_t row : selected.rows) {
    data->texts_.push_back(std::move(all->texts_[static_cast<size_t>(row)]));
    if (all->has_labels_) data->labels_.push_back(all->labels_[static_cast<size_t>(row)]);
    for (const auto& [name, values] : all->sensitive_) {
      data->sensitive_[name].push_back(values[static_cast<size_t>(row)]);
    }
  }
  return std::make_unique<InMemorySource>(std::move(data));
}

}  // namespace greenlight
