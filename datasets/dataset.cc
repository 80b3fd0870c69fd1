#include "datasets/dataset.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <type_traits>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/suggest.h"
#include "datasets/csv_reader.h"
#include "datasets/file_stream.h"
#include "datasets/idx_reader.h"
#include "datasets/in_memory_dataset.h"
#include "datasets/text_source.h"

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

DatasetSelection Record(const SampleSpec& spec, int64_t total, const RowSelection& selected) {
  DatasetSelection s;
  s.method = spec.method;
  s.from_limit = spec.from_limit;
  s.requested = spec.method == SampleMethod::kAll ? total : spec.size;
  s.seed = spec.seed;
  s.strata = selected.strata;
  return s;
}

// An IDX image/label pair read in blocks: the labels (one byte a row) are read when the source
// opens, the images when their rows are read. Both files are held open from the first read to
// the last, so the bytes audited are the bytes hashed for the report.
class IdxSource final : public DatasetSource {
 public:
  explicit IdxSource(const DatasetSpec& spec)
      : images_file_(spec.images, kMaxDatasetFileBytes, "IDX file"),
        labels_file_(spec.labels, kMaxDatasetFileBytes, "IDX file"),
        images_(images_file_),
        scale_(static_cast<float>(spec.scale)) {
    const SampleSpec selection = spec.Selection();
    // The images' header, and a payload that holds every declared image.
    const std::vector<int64_t> dims = ReadImageHeader();
    const int64_t items = dims[0];
    const uint64_t payload = images_.Size() - header_bytes_;
    // Each factor is below 2^32; the product is compared with the payload before it can overflow.
    bool fits = true;
    uint64_t width = 1;
    for (size_t d = 1; d < dims.size() && fits; ++d) {
      const uint64_t f = static_cast<uint64_t>(dims[d]);
      if (f != 0 && width > payload / f) fits = false;
      width *= f;
    }
    if (fits && width > 0 && static_cast<uint64_t>(items) > payload / width) fits = false;
    width_ = fits ? static_cast<int64_t>(width) : 0;
    if (!fits) {
      std::string shape;
      for (int64_t d : dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
      throw InputError(images_file_.name() + ": IDX header declares " + shape +
                       " items but the file holds only " + std::to_string(payload) +
                       " data bytes (truncated or corrupt)");
    }
    // The labels: small, read whole (their content, inflated when gzip'd).
    const ContentReader label_reader(labels_file_);
    std::string label_content(label_reader.Size(), '\0');
    label_content.resize(label_reader.Read(0, label_content.data(), label_content.size()));
    const IdxArray labels = ParseIdx(label_content, labels_file_.name(), std::nullopt);
    if (labels.dims.size() != 1) {
      throw InputError(labels_file_.name() + ": expected a 1-D label array");
    }
    if (items != labels.file_items) {
      throw InputError(labels_file_.name() + ": " + std::to_string(labels.file_items) +
                       " labels for " + std::to_string(items) + " images in " +
                       images_file_.name());
    }
    // First N considers only the first N rows; a random or stratified sample draws from all.
    const int64_t considered =
        selection.method == SampleMethod::kFirst ? std::min(items, selection.size) : items;
    std::vector<int64_t> file_labels(labels.data.begin(),
                                     labels.data.begin() + static_cast<std::ptrdiff_t>(considered));
    RowSelection selected = SelectRows(selection, considered, file_labels);
    const int64_t n = static_cast<int64_t>(selected.rows.size());
    labels_.reserve(static_cast<size_t>(n));
    for (int64_t r : selected.rows) labels_.push_back(file_labels[static_cast<size_t>(r)]);
    num_classes_ = labels_.empty() ? 0 : *std::max_element(labels_.begin(), labels_.end()) + 1;
    // The first n rows in order need no index; a sample keeps its rows' file positions.
    contiguous_ = n == 0 || selected.rows.back() == n - 1;
    if (!contiguous_) file_rows_ = std::move(selected.rows);
    // Images get a channel dimension: N × H × W becomes per-sample {1, H, W}.
    shape_.assign(dims.begin() + 1, dims.end());
    if (shape_.size() == 2) shape_.insert(shape_.begin(), 1);
    info_.format = "idx";
    info_.rows = n;
    info_.total_rows = items;
    info_.selection = Record(selection, items, selected);
    info_.files = {{spec.images, images_file_.Sha256(), "images"},
                   {spec.labels, labels_file_.Sha256(), "labels"}};
  }

  const DatasetInfo& info() const override { return info_; }
  const std::vector<int64_t>& sample_shape() const override { return shape_; }
  int64_t sample_size() const override { return width_; }
  bool has_labels() const override { return true; }
  int64_t num_classes() const override { return num_classes_; }

  const Dataset& Metadata() const override {
    if (!metadata_) {
      auto m = Describe(0, info_.rows);
      m->labels_ = labels_;
      metadata_ = std::move(m);
    }
    return *metadata_;
  }

  std::unique_ptr<Dataset> Read(int64_t begin, int64_t end) const override {
    if (begin < 0 || begin > end || end > info_.rows) {
      throw InputError("rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") are not within the dataset's " + std::to_string(info_.rows) + " rows");
    }
    auto ds = Describe(begin, end);
    ds->labels_.assign(labels_.begin() + begin, labels_.begin() + end);
    const size_t width = static_cast<size_t>(width_);
    std::string pixels(static_cast<size_t>(end - begin) * width, '\0');
    if (contiguous_) {
      ReadImages(begin, end - begin, pixels.data());
    } else {
      // Selected rows are in file order: the reads go forward through the file.
      for (int64_t r = begin; r < end; ++r) {
        ReadImages(file_rows_[static_cast<size_t>(r)], 1,
                   pixels.data() + static_cast<size_t>(r - begin) * width);
      }
    }
    ds->features_.resize(pixels.size());
    std::transform(pixels.begin(), pixels.end(), ds->features_.begin(),
                   [this](char b) { return static_cast<float>(static_cast<uint8_t>(b)) * scale_; });
    return ds;
  }

 private:
  std::vector<int64_t> ReadImageHeader() {
    std::array<char, 4> magic{};
    const auto byte = [](char c) { return static_cast<uint8_t>(c); };
    if (images_.Read(0, magic.data(), 4) < 4) {
      throw InputError(images_file_.name() + ": truncated IDX file while reading the magic number");
    }
    if (byte(magic[0]) != 0 || byte(magic[1]) != 0) {
      throw InputError(images_file_.name() + ": not an IDX file (bad magic number)");
    }
    if (byte(magic[2]) != 0x08) {
      throw InputError(images_file_.name() + ": IDX element type 0x" +
                       std::to_string(byte(magic[2])) +
                       " is not supported (only unsigned bytes, 0x08)");
    }
    const int ndims = byte(magic[3]);
    if (ndims < 1 || ndims > 4) {
      throw InputError(images_file_.name() + ": IDX file with " + std::to_string(ndims) +
                       " dimensions");
    }
    if (ndims < 2) {
      throw InputError(images_file_.name() + ": expected an image array (at least 2 dimensions)");
    }
    std::string raw(4 * static_cast<size_t>(ndims), '\0');
    if (images_.Read(4, raw.data(), raw.size()) < raw.size()) {
      throw InputError(images_file_.name() + ": truncated IDX file while reading the dimensions");
    }
    header_bytes_ = 4 + raw.size();
    std::vector<int64_t> dims;
    for (int i = 0; i < ndims; ++i) {
      int64_t d = 0;
      for (int k = 0; k < 4; ++k) d = (d << 8) | byte(raw[static_cast<size_t>(4 * i + k)]);
      dims.push_back(d);
    }
    return dims;
  }

  // `count` images from file row `first` into `out`.
  void ReadImages(int64_t first, int64_t count, char* out) const {
    const uint64_t bytes = static_cast<uint64_t>(count) * static_cast<uint64_t>(width_);
    const uint64_t at =
        header_bytes_ + static_cast<uint64_t>(first) * static_cast<uint64_t>(width_);
    if (images_.Read(at, out, bytes) != bytes) {
      throw RuntimeError(images_file_.name() + ": ended before image " + std::to_string(first) +
                         " (changed while the audit was reading it?)");
    }
  }

  // A dataset of rows [begin, end) with this source's description and no rows read yet.
  std::unique_ptr<InMemoryDataset> Describe(int64_t begin, int64_t end) const {
    auto ds = std::make_unique<InMemoryDataset>();
    ds->info_ = info_;
    ds->info_.rows = end - begin;
    ds->shape_ = shape_;
    ds->sample_size_ = width_;
    ds->has_labels_ = true;
    ds->num_classes_ = num_classes_;
    return ds;
  }

  OpenFile images_file_;
  OpenFile labels_file_;
  ContentReader images_;
  float scale_;
  uint64_t header_bytes_ = 0;
  int64_t width_ = 0;
  std::vector<int64_t> shape_;
  std::vector<int64_t> labels_;     // Of the selected rows, 8 bytes a row.
  bool contiguous_ = true;          // The selection is the file's first rows.
  std::vector<int64_t> file_rows_;  // Else each selected row's file row, ascending.
  int64_t num_classes_ = 0;
  DatasetInfo info_;
  mutable std::unique_ptr<Dataset> metadata_;
};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// "criteria.yaml:20:35: dataset.label.positive" when the spec knows the place, else the field.
std::string DeclaredAt(const DatasetSpec& spec, const std::string& field) {
  auto it = spec.where.find(field);
  return (it != spec.where.end() ? it->second + ": " : "") + "dataset." + field;
}

// A declared value must occur in the column somewhere in the file: one that matches no row
// silently turns every row into the other class (or leaves an encoding unused).
void RequireOccurs(const DatasetSpec& spec, const std::string& field, const std::string& value,
                   const std::string& column, const std::set<std::string>& seen) {
  if (seen.count(value) != 0) return;
  const std::vector<std::string> values(seen.begin(), seen.end());
  std::string msg = DeclaredAt(spec, field) + ": " + Quoted(value) +
                    " occurs in no row of column '" + column + "' of " + spec.path.string() +
                    " (values: " + QuotedList(values) + ")";
  if (auto hint = ClosestMatch(value, values)) msg += "; did you mean " + Quoted(*hint) + "?";
  throw InputError(msg);
}

// A binary column (label or recorded decision) as 0/1, row after row, under the contract of
// LabelSpec: `positive` is 1, the values of `negative` are 0; without `negative` the one other
// value is 0 and a second other value is an error. The first error is kept and thrown once the
// whole column has been seen, with the values it holds.
class BinaryColumn {
 public:
  BinaryColumn(std::string field, std::string column, std::string positive,
               std::vector<std::string> negative)
      : field_(std::move(field)),
        column_(std::move(column)),
        positive_(std::move(positive)),
        negative_(std::move(negative)) {}

  int64_t Decode(const std::string& raw, int64_t line) {
    seen_.insert(raw);
    if (raw == positive_) return 1;
    const bool declared =
        negative_.empty() ? (!other_ || *other_ == raw)
                          : std::find(negative_.begin(), negative_.end(), raw) != negative_.end();
    if (!declared && !bad_) bad_ = {line, raw, other_};
    if (!other_) other_ = raw;
    return 0;
  }

  // After every row: the declared values must occur, and no row may hold another value.
  void Check(const DatasetSpec& spec) const {
    RequireOccurs(spec, field_ + ".positive", positive_, column_, seen_);
    for (const auto& v : negative_) RequireOccurs(spec, field_ + ".negative", v, column_, seen_);
    if (!bad_) return;
    const std::string zero = negative_.empty()
                                 ? "the column's other value " + Quoted(*bad_->other)
                                 : field_ + ".negative (" + QuotedList(negative_) + ")";
    throw InputError(spec.path.string() + ":" + std::to_string(bad_->line) + ": column '" +
                     column_ + "': value " + Quoted(bad_->raw) + " is neither " + field_ +
                     ".positive " + Quoted(positive_) + " nor " + zero +
                     "; a binary column holds the positive value and the values declared in " +
                     field_ + ".negative (values in the file: " +
                     QuotedList(std::vector<std::string>(seen_.begin(), seen_.end())) + ")");
  }

 private:
  struct Bad {
    int64_t line = 0;
    std::string raw;
    std::optional<std::string> other;
  };
  std::string field_;
  std::string column_;
  std::string positive_;
  std::vector<std::string> negative_;
  std::set<std::string> seen_;
  std::optional<std::string> other_;  // Without `negative`: the first value that is not positive.
  std::optional<Bad> bad_;
};

// A CSV table read in blocks. Opening reads the file twice, as a stream: first every row (the
// digest, the structure, the declared values that must occur, the labels the selection may
// need), then the selected rows (each value must convert; the labels, sensitive values and
// recorded predictions are kept, a few bytes a row). Reading rows parses them again from the
// nearest checkpoint (the byte offset of every 256th row), so the features are never all in
// memory.
class CsvSource final : public DatasetSource {
 public:
  explicit CsvSource(const DatasetSpec& spec)
      : spec_(spec), file_(spec.path, kMaxDatasetFileBytes, "CSV file") {
    const std::string& name = file_.name();
    // Pass 1: every row.
    Sha256Stream hash;
    std::vector<int64_t> file_labels;
    std::map<std::string, std::set<std::string>> encoded_values;
    std::optional<BinaryColumn> label_column;
    std::optional<BinaryColumn> decision_column;
    std::optional<std::string> label_error;  // First bad class index.
    int64_t total = 0;
    bool resolved = false;
    CsvStream* stream_ptr = nullptr;
    auto resolve = [&] {
      if (!resolved) ResolveColumns(stream_ptr->header());
      resolved = true;
      if (spec_.label && spec_.label->positive) {
        label_column.emplace("label", spec_.label->column, *spec_.label->positive,
                             spec_.label->negative);
      }
      if (spec_.predictions && !spec_.predictions->score_column && spec_.predictions->positive) {
        decision_column.emplace("predictions", spec_.predictions->column.value_or(""),
                                *spec_.predictions->positive, spec_.predictions->negative);
      }
    };
    CsvStream stream(name, [&](std::vector<std::string>& fields, int64_t line, uint64_t offset) {
      if (!resolved) resolve();
      if (total % kCheckpointRows == 0) checkpoints_.push_back({offset, line});
      for (auto& [col, values] : encoded_values) values.insert(fields[ColumnIndex(col)]);
      if (spec_.label) {
        const std::string& raw = fields[label_col_];
        if (label_column) {
          file_labels.push_back(label_column->Decode(raw, line));
        } else {
          int64_t label = 0;
          std::string problem;
          if (!ClassIndex(label_col_, raw, line, &label, &problem) && !label_error) {
            label_error = problem;
          }
          file_labels.push_back(label);
        }
      }
      if (decision_column) decision_column->Decode(fields[prediction_col_], line);
      ++total;
      return true;
    });
    stream_ptr = &stream;
    for (const auto& [col, enc] : spec_.encode) encoded_values[col];
    ReadAll(0, [&](std::string_view block) {
      hash.Update(block);
      stream.Feed(block);
    });
    stream.Finish();
    if (!resolved) resolve();
    // The checks of pass 1, in the order of the criteria's fields.
    for (const auto& [col, enc] : spec_.encode) {
      for (const auto& [key, number] : enc) {
        RequireOccurs(spec_, "encode." + col + "." + key, key, col, encoded_values[col]);
      }
    }
    if (label_column) label_column->Check(spec_);
    if (label_error) throw InputError(*label_error);
    if (decision_column) decision_column->Check(spec_);

    const SampleSpec selection = spec_.Selection();
    if (selection.method == SampleMethod::kStratified && !spec_.label) {
      throw InputError(DeclaredAt(spec_, "sample.method") +
                       ": stratified sampling is by label and the dataset declares no label");
    }
    RowSelection selected = SelectRows(selection, total, file_labels);
    const int64_t n = static_cast<int64_t>(selected.rows.size());
    contiguous_ = n == 0 || selected.rows.back() == n - 1;

    metadata_ = std::make_unique<InMemoryDataset>();
    InMemoryDataset& meta = *metadata_;
    meta.feature_names_ = spec_.features;
    meta.shape_ = {static_cast<int64_t>(feature_cols_.size())};
    meta.sample_size_ = static_cast<int64_t>(feature_cols_.size());
    if (spec_.label) {
      meta.has_labels_ = true;
      if (contiguous_) {  // The first n rows: no copy beside the file's labels.
        file_labels.resize(static_cast<size_t>(n));
        file_labels.shrink_to_fit();
        meta.labels_ = std::move(file_labels);
      } else {
        meta.labels_.reserve(static_cast<size_t>(n));
        for (int64_t r : selected.rows) {
          meta.labels_.push_back(file_labels[static_cast<size_t>(r)]);
        }
      }
      meta.num_classes_ = spec_.label->positive ? 2
                          : meta.labels_.empty()
                              ? 0
                              : *std::max_element(meta.labels_.begin(), meta.labels_.end()) + 1;
    }
    file_labels = {};
    if (!contiguous_) file_rows_ = std::move(selected.rows);
    meta.info_.format = "csv";
    meta.info_.rows = n;
    meta.info_.total_rows = total;
    meta.info_.selection = Record(selection, total, selected);
    meta.info_.files = {{spec_.path, hash.Hex(), "table"}};

    // Pass 2: the selected rows. Every feature (then every recorded prediction) must convert;
    // the first problem in that order is the error, as when the whole table was in memory.
    std::optional<std::string> feature_error;
    std::optional<std::string> prediction_error;
    for (const auto& s : spec_.sensitive) meta.sensitive_[s].reserve(static_cast<size_t>(n));
    if (spec_.predictions) {
      meta.has_predictions_ = true;
      meta.predictions_.reserve(static_cast<size_t>(n));
    }
    ForEachRow(0, n, [&](std::vector<std::string>& fields, int64_t line) {
      if (!feature_error) {
        for (size_t col : feature_cols_) {
          double v = 0;
          std::string problem;
          if (!Value(col, fields[col], line, &v, &problem)) {
            feature_error = problem;
            break;
          }
        }
      }
      for (size_t k = 0; k < spec_.sensitive.size(); ++k) {
        meta.sensitive_[spec_.sensitive[k]].push_back(fields[sensitive_cols_[k]]);
      }
      if (spec_.predictions) {
        const PredictionSpec& p = *spec_.predictions;
        double v = 0;
        std::string problem;
        if (p.score_column) {
          if (!Value(score_col_, fields[score_col_], line, &v, &problem) && !prediction_error) {
            prediction_error = problem;
          }
          meta.scores_.push_back(v);
          meta.predictions_.push_back(v >= p.threshold.value_or(0.5) ? 1 : 0);
        } else if (p.positive) {
          meta.predictions_.push_back(fields[prediction_col_] == *p.positive ? 1 : 0);
        } else {
          if (!Value(prediction_col_, fields[prediction_col_], line, &v, &problem) &&
              !prediction_error) {
            prediction_error = problem;
          }
          meta.predictions_.push_back(static_cast<int64_t>(v));
        }
      }
    });
    if (feature_error) throw InputError(*feature_error);
    if (prediction_error) throw InputError(*prediction_error);
  }

  const DatasetInfo& info() const override { return metadata_->info_; }
  const std::vector<int64_t>& sample_shape() const override { return metadata_->shape_; }
  int64_t sample_size() const override { return metadata_->sample_size_; }
  bool has_labels() const override { return metadata_->has_labels_; }
  int64_t num_classes() const override { return metadata_->num_classes_; }
  const Dataset& Metadata() const override { return *metadata_; }

  std::unique_ptr<Dataset> Read(int64_t begin, int64_t end) const override {
    auto out = CopyRows(*metadata_, begin, end);
    out->features_.reserve(static_cast<size_t>(end - begin) * feature_cols_.size());
    ForEachRow(begin, end, [&](std::vector<std::string>& fields, int64_t line) {
      for (size_t col : feature_cols_) {
        double v = 0;
        std::string problem;
        if (!Value(col, fields[col], line, &v, &problem)) {
          throw RuntimeError(problem + " (the file changed while the audit was reading it?)");
        }
        out->features_.push_back(static_cast<float>(v));
      }
    });
    if (out->features_.size() != static_cast<size_t>(end - begin) * feature_cols_.size()) {
      throw RuntimeError(file_.name() + ": ended before row " + std::to_string(end) +
                         " (changed while the audit was reading it?)");
    }
    return out;
  }

 private:
  static constexpr int64_t kCheckpointRows = 256;
  static constexpr size_t kBlockBytes = size_t{1} << 16;

  struct Checkpoint {
    uint64_t offset = 0;  // Of the row's first byte.
    int64_t line = 0;
  };

  void ResolveColumns(const std::vector<std::string>& header) {
    CsvTable names;
    names.header = header;
    const std::string& file = file_.name();
    header_ = header;
    for (const auto& f : spec_.features) feature_cols_.push_back(names.Column(f, file));
    for (const auto& [col, enc] : spec_.encode) names.Column(col, file);
    if (spec_.label) label_col_ = names.Column(spec_.label->column, file);
    for (const auto& s : spec_.sensitive) sensitive_cols_.push_back(names.Column(s, file));
    if (spec_.predictions) {
      const PredictionSpec& p = *spec_.predictions;
      if (p.score_column) {
        score_col_ = names.Column(*p.score_column, file);
      } else {
        prediction_col_ = names.Column(p.column.value_or(""), file);
      }
    }
  }

  size_t ColumnIndex(const std::string& column) const {
    return static_cast<size_t>(std::find(header_.begin(), header_.end(), column) - header_.begin());
  }

  // A text value as a number: through the column's declared encoding, else parsed.
  bool Value(size_t col, const std::string& raw, int64_t line, double* out,
             std::string* problem) const {
    const std::string& name = header_[col];
    const std::string where = file_.name() + ":" + std::to_string(line);
    if (auto it = spec_.encode.find(name); it != spec_.encode.end()) {
      auto v = it->second.find(raw);
      if (v == it->second.end()) {
        *problem = where + ": column '" + name + "': value '" + raw + "' has no declared encoding";
        return false;
      }
      *out = v->second;
      return true;
    }
    if (auto v = ParseNumber(raw)) {
      *out = *v;
      return true;
    }
    *problem = where + ": column '" + name + "': '" + raw +
               "' is not a number and the column has no declared encoding";
    return false;
  }

  bool ClassIndex(size_t col, const std::string& raw, int64_t line, int64_t* out,
                  std::string* problem) const {
    double v = 0;
    if (!Value(col, raw, line, &v, problem)) return false;
    if (v < 0 || v != std::floor(v)) {
      *problem = file_.name() + ":" + std::to_string(line) + ": label column '" +
                 spec_.label->column +
                 "' must hold non-negative class indices (or declare label.positive)";
      return false;
    }
    *out = static_cast<int64_t>(v);
    return true;
  }

  // Feeds `consume` the file's bytes from `offset` on, block by block, until it returns false.
  template <typename F>
  void ReadAll(uint64_t offset, F&& consume) const {
    std::vector<char> block(kBlockBytes);
    while (offset < file_.size()) {
      const size_t got = file_.ReadAt(offset, block.data(), block.size());
      if (got == 0) break;
      offset += got;
      if constexpr (std::is_same_v<decltype(consume(std::string_view())), bool>) {
        if (!consume(std::string_view(block.data(), got))) return;
      } else {
        consume(std::string_view(block.data(), got));
      }
    }
  }

  // Calls `row(fields, line)` for the selected rows [begin, end), in order, parsing from the
  // checkpoint before the first of them.
  template <typename F>
  void ForEachRow(int64_t begin, int64_t end, F&& row) const {
    if (begin < 0 || begin > end || end > metadata_->info_.rows) {
      throw InputError("rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") are not within the dataset's " + std::to_string(metadata_->info_.rows) +
                       " rows");
    }
    if (begin == end) return;
    file_.CheckUnchanged();
    const auto file_row = [&](int64_t r) {
      return contiguous_ ? r : file_rows_[static_cast<size_t>(r)];
    };
    const int64_t first = file_row(begin);
    const size_t k = static_cast<size_t>(first / kCheckpointRows);
    int64_t at = static_cast<int64_t>(k) * kCheckpointRows;  // File row of the next record.
    int64_t next = begin;                                    // Selected row wanted next.
    CsvStream stream(
        file_.name(),
        [&](std::vector<std::string>& fields, int64_t line, uint64_t) {
          if (at == file_row(next)) {
            row(fields, line);
            ++next;
          }
          ++at;
          return next < end;
        },
        header_.size(), checkpoints_[k].line, checkpoints_[k].offset);
    ReadAll(checkpoints_[k].offset, [&](std::string_view block) {
      stream.Feed(block);
      return !stream.stopped();
    });
    if (!stream.stopped()) stream.Finish();
    if (next != end) {
      throw RuntimeError(file_.name() + ": ended before row " + std::to_string(end) +
                         " (changed while the audit was reading it?)");
    }
  }

  DatasetSpec spec_;
  OpenFile file_;
  std::vector<std::string> header_;
  std::vector<size_t> feature_cols_;
  std::vector<size_t> sensitive_cols_;
  size_t label_col_ = 0;
  size_t prediction_col_ = 0;
  size_t score_col_ = 0;
  std::vector<Checkpoint> checkpoints_;  // Of file rows 0, 256, 512, ...
  bool contiguous_ = true;               // The selection is the file's first rows.
  std::vector<int64_t> file_rows_;       // Else each selected row's file row, ascending.
  std::unique_ptr<InMemoryDataset> metadata_;
};

}  // namespace

SampleSpec DatasetSpec::Selection() const {
  if (sample) return *sample;
  if (limit) return {SampleMethod::kFirst, std::max<int64_t>(0, *limit), 0, /*from_limit=*/true};
  return {};
}

std::unique_ptr<DatasetSource> OpenDataset(const DatasetSpec& spec) {
  if (spec.format == "idx") return std::make_unique<IdxSource>(spec);
  if (spec.format == "csv") return std::make_unique<CsvSource>(spec);
  if (spec.format == "text" || spec.format == "jsonl") return OpenTextDataset(spec);
  throw InputError("unknown dataset format '" + spec.format +
                   "' (expected idx, csv, text or jsonl)");
}

std::unique_ptr<Dataset> LoadDataset(const DatasetSpec& spec) {
  const std::unique_ptr<DatasetSource> source = OpenDataset(spec);
  return source->Read(0, source->rows());
}

std::unique_ptr<InMemoryDataset> CopyRows(const Dataset& data, int64_t begin, int64_t end) {
  if (begin < 0 || begin > end || end > data.rows()) {
    throw InputError("rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") are not within the dataset's " + std::to_string(data.rows()) + " rows");
  }
  auto out = std::make_unique<InMemoryDataset>();
  out->info_ = data.info();
  out->info_.rows = end - begin;
  out->shape_ = data.sample_shape();
  out->sample_size_ = data.sample_size();
  const auto part = [&](auto all, int64_t width) {
    using T = typename decltype(all)::value_type;
    if (all.empty()) return std::vector<std::remove_const_t<T>>{};
    const auto first = all.begin() + static_cast<std::ptrdiff_t>(begin * width);
    return std::vector<std::remove_const_t<T>>(
        first, first + static_cast<std::ptrdiff_t>((end - begin) * width));
  };
  out->features_ = part(data.features(), data.sample_size());
  out->feature_names_ = data.feature_names();
  out->has_labels_ = data.has_labels();
  out->labels_ = part(data.labels(), 1);
  out->num_classes_ = data.num_classes();
  for (const auto& [name, values] : data.sensitive()) {
    out->sensitive_[name].assign(values.begin() + begin, values.begin() + end);
  }
  out->has_predictions_ = data.has_predictions();
  out->predictions_ = part(data.predictions(), 1);
  out->scores_ = part(data.scores(), 1);
  out->texts_ = part(data.texts(), 1);
  return out;
}

}  // namespace greenlight
