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

namespace greenlight {

// How a text column becomes a number or a class: {"no": 0, "yes": 1}.
using Encoding = std::map<std::string, double>;

struct LabelSpec {
  std::string column;
  std::optional<std::string> positive;  // Binary label: value == positive -> 1, else 0.
};

// Black-box mode: recorded decisions instead of a model.
struct PredictionSpec {
  std::optional<std::string> column;        // Predicted class column ...
  std::optional<std::string> positive;      // ... value that means class 1.
  std::optional<std::string> score_column;  // Or a score column ...
  std::optional<double> threshold;          // ... with prediction = (score >= threshold).
};

struct DatasetSpec {
  std::string format;  // "idx" | "csv"
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
  std::optional<int64_t> limit;  // First N rows only.
};

struct DatasetFile {
  std::filesystem::path path;
  std::string sha256;
  std::string role;  // "images", "labels", "table"
};

struct DatasetInfo {
  std::string format;
  std::vector<DatasetFile> files;
  int64_t rows = 0;
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
};

// Reads the dataset the spec describes. Relative paths must already be resolved. Throws
// InputError naming the file (and line, for CSV) on any problem.
std::unique_ptr<Dataset> LoadDataset(const DatasetSpec& spec);

}  // namespace greenlight
