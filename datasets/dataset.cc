#include "datasets/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/suggest.h"
#include "datasets/csv_reader.h"
#include "datasets/idx_reader.h"
#include "datasets/in_memory_dataset.h"

namespace greenlight {
namespace {

std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double v = 0.0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (*begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || p != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Rows `selection` picks, copied out of a row-major array of `width` values per row.
template <typename T>
std::vector<T> Gather(const std::vector<T>& all, size_t width, const std::vector<int64_t>& rows) {
  std::vector<T> out;
  out.reserve(rows.size() * width);
  for (int64_t r : rows) {
    const auto begin = all.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(r) * width);
    out.insert(out.end(), begin, begin + static_cast<std::ptrdiff_t>(width));
  }
  return out;
}

DatasetSelection Record(const SampleSpec& spec, int64_t total, const RowSelection& selected) {
  DatasetSelection s;
  s.method = spec.method;
  s.from_limit = spec.from_limit;
  s.requested = spec.method == SampleMethod::kAll ? total : spec.size;
  s.seed = spec.seed;
  s.strata = selected.strata;
  return s;
}

std::unique_ptr<Dataset> LoadIdx(const DatasetSpec& spec) {
  auto ds = std::make_unique<InMemoryDataset>();
  const SampleSpec selection = spec.Selection();
  // First N reads only N rows; a random or stratified sample needs them all.
  std::optional<int64_t> read_limit;
  if (selection.method == SampleMethod::kFirst) read_limit = selection.size;
  // Each file is read once: the bytes hashed for the report are the bytes parsed.
  const std::string image_bytes = ReadFile(spec.images, kMaxDatasetFileBytes, "IDX file");
  const std::string label_bytes = ReadFile(spec.labels, kMaxDatasetFileBytes, "IDX file");
  IdxArray images = ParseIdx(image_bytes, spec.images.string(), read_limit);
  IdxArray labels = ParseIdx(label_bytes, spec.labels.string(), read_limit);
  if (images.dims.size() < 2) {
    throw InputError(spec.images.string() + ": expected an image array (at least 2 dimensions)");
  }
  if (labels.dims.size() != 1)
    throw InputError(spec.labels.string() + ": expected a 1-D label array");
  if (images.file_items != labels.file_items) {
    throw InputError(spec.labels.string() + ": " + std::to_string(labels.file_items) +
                     " labels for " + std::to_string(images.file_items) + " images in " +
                     spec.images.string());
  }
  const int64_t read = images.dims[0];
  const size_t width = read > 0 ? images.data.size() / static_cast<size_t>(read) : 0;
  std::vector<int64_t> all_labels(labels.data.begin(), labels.data.end());
  const RowSelection selected = SelectRows(selection, read, all_labels);
  const int64_t n = static_cast<int64_t>(selected.rows.size());
  // Images get a channel dimension: N × H × W becomes per-sample {1, H, W}.
  ds->shape_.assign(images.dims.begin() + 1, images.dims.end());
  if (ds->shape_.size() == 2) ds->shape_.insert(ds->shape_.begin(), 1);
  ds->sample_size_ = static_cast<int64_t>(width);
  const std::vector<uint8_t> pixels =
      n == read ? std::move(images.data) : Gather(images.data, width, selected.rows);
  ds->features_.resize(pixels.size());
  const float scale = static_cast<float>(spec.scale);
  std::transform(pixels.begin(), pixels.end(), ds->features_.begin(),
                 [scale](uint8_t b) { return static_cast<float>(b) * scale; });
  ds->has_labels_ = true;
  ds->labels_ = n == read ? std::move(all_labels) : Gather(all_labels, 1, selected.rows);
  ds->num_classes_ =
      ds->labels_.empty() ? 0 : *std::max_element(ds->labels_.begin(), ds->labels_.end()) + 1;
  ds->info_.format = "idx";
  ds->info_.rows = n;
  ds->info_.total_rows = images.file_items;
  ds->info_.selection = Record(selection, images.file_items, selected);
  ds->info_.files = {{spec.images, Sha256Hex(image_bytes), "images"},
                     {spec.labels, Sha256Hex(label_bytes), "labels"}};
  return ds;
}

// The distinct values of a column over every row of the file, sorted.
std::vector<std::string> DistinctValues(const CsvTable& table, size_t col) {
  std::set<std::string> seen;
  for (const auto& row : table.rows) seen.insert(row[col]);
  return {seen.begin(), seen.end()};
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// "criteria.yaml:20:35: dataset.label.positive" when the spec knows the place, else the field.
std::string DeclaredAt(const DatasetSpec& spec, const std::string& field) {
  auto it = spec.where.find(field);
  return (it != spec.where.end() ? it->second + ": " : "") + "dataset." + field;
}

// A declared value must occur in the column somewhere in the file: one that matches no row
// silently turns every row into the other class (or leaves an encoding unused).
void RequireOccurs(const DatasetSpec& spec, const std::string& field, const std::string& value,
                   const std::string& column, const std::vector<std::string>& values) {
  if (std::binary_search(values.begin(), values.end(), value)) return;
  std::string msg = DeclaredAt(spec, field) + ": " + Quoted(value) +
                    " occurs in no row of column '" + column + "' of " + spec.path.string() +
                    " (values: " + QuotedList(values) + ")";
  if (auto hint = ClosestMatch(value, values)) msg += "; did you mean " + Quoted(*hint) + "?";
  throw InputError(msg);
}

// A binary column (label or recorded decision) as 0/1 for every row of the file, under the
// contract of LabelSpec: `positive` is 1, the values of `negative` are 0; without `negative` the
// one other value is 0 and a second other value is an error.
std::vector<int64_t> DecodeBinary(const DatasetSpec& spec, const CsvTable& table,
                                  const std::string& field, const std::string& column,
                                  const std::string& positive,
                                  const std::vector<std::string>& negative) {
  const std::string file = spec.path.string();
  const size_t col = table.Column(column, file);
  const std::vector<std::string> values = DistinctValues(table, col);
  RequireOccurs(spec, field + ".positive", positive, column, values);
  for (const auto& v : negative) RequireOccurs(spec, field + ".negative", v, column, values);
  std::vector<int64_t> out;
  out.reserve(table.rows.size());
  std::optional<std::string> other;  // Without `negative`: the first value that is not positive.
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::string& raw = table.rows[r][col];
    if (raw == positive) {
      out.push_back(1);
      continue;
    }
    const bool declared = negative.empty()
                              ? (!other || *other == raw)
                              : std::find(negative.begin(), negative.end(), raw) != negative.end();
    if (!declared) {
      const std::string zero = negative.empty()
                                   ? "the column's other value " + Quoted(*other)
                                   : field + ".negative (" + QuotedList(negative) + ")";
      throw InputError(file + ":" + std::to_string(table.line_numbers[r]) + ": column '" + column +
                       "': value " + Quoted(raw) + " is neither " + field + ".positive " +
                       Quoted(positive) + " nor " + zero +
                       "; a binary column holds the positive value and the values declared in " +
                       field + ".negative (values in the file: " + QuotedList(values) + ")");
    }
    if (!other) other = raw;
    out.push_back(0);
  }
  return out;
}

std::unique_ptr<Dataset> LoadCsv(const DatasetSpec& spec) {
  const std::string file = spec.path.string();
  const std::string text = ReadFile(spec.path, kMaxDatasetFileBytes, "CSV file");
  const CsvTable table = ParseCsv(text, file);
  auto ds = std::make_unique<InMemoryDataset>();
  const int64_t total = static_cast<int64_t>(table.rows.size());

  std::vector<size_t> feature_cols;
  for (const auto& f : spec.features) feature_cols.push_back(table.Column(f, file));
  // Declared columns must exist, and every key of an encoding must occur in its column.
  for (const auto& [col, enc] : spec.encode) {
    const std::vector<std::string> values = DistinctValues(table, table.Column(col, file));
    for (const auto& [key, number] : enc)
      RequireOccurs(spec, "encode." + col + "." + key, key, col, values);
  }

  // A text value becomes a number through the column's declared encoding, else it must parse.
  auto value_of = [&](size_t col, int64_t r) -> double {
    const std::string& raw = table.rows[static_cast<size_t>(r)][col];
    const std::string& name = table.header[col];
    const auto line = std::to_string(table.line_numbers[static_cast<size_t>(r)]);
    if (auto it = spec.encode.find(name); it != spec.encode.end()) {
      auto v = it->second.find(raw);
      if (v == it->second.end()) {
        throw InputError(file + ":" + line + ": column '" + name + "': value '" + raw +
                         "' has no declared encoding");
      }
      return v->second;
    }
    if (auto v = ParseNumber(raw)) return *v;
    throw InputError(file + ":" + line + ": column '" + name + "': '" + raw +
                     "' is not a number and the column has no declared encoding");
  };

  // Labels of every row of the file: the integrity checks cover the file, and a stratified
  // sample needs them before the rows are chosen.
  std::vector<int64_t> all_labels;
  if (spec.label) {
    if (spec.label->positive) {
      all_labels = DecodeBinary(spec, table, "label", spec.label->column, *spec.label->positive,
                                spec.label->negative);
    } else {
      const size_t col = table.Column(spec.label->column, file);
      all_labels.reserve(table.rows.size());
      for (int64_t r = 0; r < total; ++r) {
        const double v = value_of(col, r);
        if (v < 0 || v != std::floor(v)) {
          throw InputError(file + ":" + std::to_string(table.line_numbers[static_cast<size_t>(r)]) +
                           ": label column '" + spec.label->column +
                           "' must hold non-negative class indices (or declare label.positive)");
        }
        all_labels.push_back(static_cast<int64_t>(v));
      }
    }
  }
  std::vector<int64_t> all_decisions;
  if (spec.predictions && !spec.predictions->score_column && spec.predictions->positive) {
    const PredictionSpec& p = *spec.predictions;
    all_decisions =
        DecodeBinary(spec, table, "predictions", p.column.value_or(""), *p.positive, p.negative);
  }

  const SampleSpec selection = spec.Selection();
  if (selection.method == SampleMethod::kStratified && !spec.label) {
    throw InputError(DeclaredAt(spec, "sample.method") +
                     ": stratified sampling is by label and the dataset declares no label");
  }
  const RowSelection selected = SelectRows(selection, total, all_labels);
  const std::vector<int64_t>& rows = selected.rows;
  const int64_t n = static_cast<int64_t>(rows.size());

  ds->feature_names_ = spec.features;
  ds->shape_ = {static_cast<int64_t>(feature_cols.size())};
  ds->sample_size_ = static_cast<int64_t>(feature_cols.size());
  ds->features_.reserve(static_cast<size_t>(n) * feature_cols.size());
  for (int64_t r : rows) {
    for (size_t col : feature_cols) ds->features_.push_back(static_cast<float>(value_of(col, r)));
  }

  if (spec.label) {
    ds->has_labels_ = true;
    ds->labels_ = Gather(all_labels, 1, rows);
    ds->num_classes_ = spec.label->positive ? 2
                       : ds->labels_.empty()
                           ? 0
                           : *std::max_element(ds->labels_.begin(), ds->labels_.end()) + 1;
  }

  for (const auto& s : spec.sensitive) {
    const size_t col = table.Column(s, file);
    auto& values = ds->sensitive_[s];
    values.reserve(static_cast<size_t>(n));
    for (int64_t r : rows) values.push_back(table.rows[static_cast<size_t>(r)][col]);
  }

  if (spec.predictions) {
    const PredictionSpec& p = *spec.predictions;
    ds->has_predictions_ = true;
    ds->predictions_.reserve(static_cast<size_t>(n));
    if (p.score_column) {
      const size_t col = table.Column(*p.score_column, file);
      for (int64_t r : rows) {
        const double score = value_of(col, r);
        ds->scores_.push_back(score);
        ds->predictions_.push_back(score >= p.threshold.value_or(0.5) ? 1 : 0);
      }
    } else if (p.positive) {
      ds->predictions_ = Gather(all_decisions, 1, rows);
    } else {
      const size_t col = table.Column(p.column.value_or(""), file);
      for (int64_t r : rows) ds->predictions_.push_back(static_cast<int64_t>(value_of(col, r)));
    }
  }

  ds->info_.format = "csv";
  ds->info_.rows = n;
  ds->info_.total_rows = total;
  ds->info_.selection = Record(selection, total, selected);
  ds->info_.files = {{spec.path, Sha256Hex(text), "table"}};
  return ds;
}

}  // namespace

SampleSpec DatasetSpec::Selection() const {
  if (sample) return *sample;
  if (limit) return {SampleMethod::kFirst, std::max<int64_t>(0, *limit), 0, /*from_limit=*/true};
  return {};
}

std::unique_ptr<Dataset> LoadDataset(const DatasetSpec& spec) {
  if (spec.format == "idx") return LoadIdx(spec);
  if (spec.format == "csv") return LoadCsv(spec);
  throw InputError("unknown dataset format '" + spec.format + "' (expected idx or csv)");
}

}  // namespace greenlight
