// The Dataset interface (after LoadGen's QuerySampleLibrary) and the specification of where a
// dataset comes from, as declared in the criteria file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "datasets/sampling.h"

namespace greenlight {

// How a text column becomes a number or a class: {"no": 0, "yes": 1}.
using Encoding = std::map<std::string, double>;

// A binary label or decision column holds `positive` (class 1) and the values of `negative`
// (class 0). Without `negative` the column may hold one value besides `positive`, which is class
// 0; any other value is an error, as is a declared value that occurs in no row of the file.
struct LabelSpec {
  std::string column;
  std::optional<std::string> positive;  // Binary label: value == positive -> 1.
  std::vector<std::string> negative;    // Values meaning 0 (empty: the one other value).
};

// Black-box mode: recorded decisions instead of a model.
struct PredictionSpec {
  std::optional<std::string> column;        // Predicted class column ...
  std::optional<std::string> positive;      // ... value that means class 1 (see LabelSpec).
  std::optional<std::string> score_column;  // Or a score column ...
  std::optional<double> threshold;          // ... with prediction = (score >= threshold).
  std::vector<std::string> negative;        // With `positive`: the values that mean class 0.
};

struct DatasetSpec {
  std::string format;  // "idx" | "csv" | "text" | "jsonl"
  // IDX (gzip'd or plain): images and labels files.
  std::filesystem::path images;
  std::filesystem::path labels;
  double scale = 1.0;  // IDX: raw byte × scale = model input.
  // CSV.
  std::filesystem::path path;
  std::vector<std::string> features;
  std::map<std::string, Encoding> encode;
  std::optional<LabelSpec> label;
  std::vector<std::string> sensitive;
  std::optional<PredictionSpec> predictions;
  // Text (`path`): one document per line ("lines") or per blank-line-separated paragraph.
  std::string split = "lines";
  // JSON Lines (`path`): the field holding each document's text; `label` (column: the field of a
  // class index) and `sensitive` (one entry: the group field) are optional.
  std::string text_field;
  std::optional<int64_t> limit;      // `limit: N`: the first N rows (same as sample first N).
  std::optional<SampleSpec> sample;  // `sample:`; takes the place of limit when given.
  // Where each declared value sits in the criteria file ("criteria.yaml:20:35"), keyed by its
  // field ("label.positive", "predictions.negative", "encode.<column>.<key>"), so that a value
  // that matches no row is reported at its place. Empty when the spec was built in code.
  std::map<std::string, std::string> where;

  // The selection the spec asks for: `sample`, else `limit` as first N, else all rows.
  SampleSpec Selection() const;
};

struct DatasetFile {
  std::filesystem::path path;
  std::string sha256;
  std::string role;  // "images", "labels", "table"
};

// How the audited rows were chosen from the file, for the report.
struct DatasetSelection {
  SampleMethod method = SampleMethod::kAll;
  bool from_limit = false;  // Declared as `limit: N`.
  int64_t requested = 0;    // Rows asked for (kAll: the file's rows).
  uint64_t seed = 0;        // kRandom and kStratified.
  std::vector<StratumDraw> strata;
};

struct DatasetInfo {
  std::string format;
  std::vector<DatasetFile> files;
  int64_t rows = 0;        // Rows audited.
  int64_t total_rows = 0;  // Rows in the file (all rows of the IDX arrays, data rows of a CSV).
  DatasetSelection selection;
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual const DatasetInfo& info() const = 0;
  int64_t rows() const { return info().rows; }

  // Per-row feature shape ({1, 28, 28} for images, {n_features} for tables); empty without
  // features (black-box mode).
  virtual const std::vector<int64_t>& sample_shape() const = 0;
  virtual int64_t sample_size() const = 0;
  // rows × sample_size() floats, row-major, already scaled/encoded for the model.
  virtual std::span<const float> features() const = 0;
  std::span<const float> row(int64_t i) const {
    return features().subspan(static_cast<size_t>(i * sample_size()),
                              static_cast<size_t>(sample_size()));
  }
  virtual const std::vector<std::string>& feature_names() const = 0;

  virtual bool has_labels() const = 0;
  virtual std::span<const int64_t> labels() const = 0;
  // Number of classes the labels use (max label + 1); 0 without labels.
  virtual int64_t num_classes() const = 0;

  // Sensitive columns kept aside (raw text values), by column name.
  virtual const std::map<std::string, std::vector<std::string>>& sensitive() const = 0;

  // Black-box mode: recorded predicted classes (and scores when a score column was given).
  virtual bool has_predictions() const = 0;
  virtual std::span<const int64_t> predictions() const = 0;
  virtual std::span<const double> scores() const = 0;

  // Text datasets (format text or jsonl): one document per row, valid non-empty UTF-8. Empty for
  // every other format; a row's features are then empty (sample_size() is 0).
  virtual std::span<const std::string> texts() const { return {}; }
};

// A dataset as an audit holds it: described and checked when opened, its rows read in blocks
// when they are used, so that the memory of an audit does not grow with the number of rows
// (docs/datasets.md, "Streaming"). Rows are numbered 0..rows()-1 in the order of the selection.
// Read may be called from the audit and from the worker it forks; each has its own readers.
class DatasetSource {
 public:
  virtual ~DatasetSource() = default;

  virtual const DatasetInfo& info() const = 0;
  int64_t rows() const { return info().rows; }
  virtual const std::vector<int64_t>& sample_shape() const = 0;
  virtual int64_t sample_size() const = 0;
  virtual bool has_labels() const = 0;
  // Classes the labels of all selected rows use (max label + 1); every block read keeps it, so
  // the statistics of every block have the same shape.
  virtual int64_t num_classes() const = 0;

  // Every selected row's labels, sensitive values and recorded predictions, and no features
  // (features() is empty; sample_size() is the source's): what the checks of criteria against
  // the data read. Valid while the source lives.
  virtual const Dataset& Metadata() const = 0;
  // Rows [begin, end) with their features, in memory; info().rows is end - begin. Throws
  // InputError unless 0 <= begin <= end <= rows(), RuntimeError when a file changed meanwhile.
  virtual std::unique_ptr<Dataset> Read(int64_t begin, int64_t end) const = 0;
  // The whole dataset when the source already holds every row in memory (then Read copies out of
  // it), else null.
  virtual const Dataset* InMemory() const { return nullptr; }
};

// Opens the dataset the spec describes and selects the rows spec.Selection() picks. Relative paths
// must already be resolved. IDX files are read block by block when rows are read; a CSV file is
// read into memory. Throws InputError naming the file (and line, for CSV) on any problem,
// including, over the whole CSV file, a declared label, decision or encoding value that occurs in
// no row (with the values that do occur and the closest one) and a binary label value that is
// neither `positive` nor declared `negative`.
std::unique_ptr<DatasetSource> OpenDataset(const DatasetSpec& spec);

// OpenDataset, then every selected row in memory.
std::unique_ptr<Dataset> LoadDataset(const DatasetSpec& spec);

}  // namespace greenlight
