#include "datasets/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
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

std::unique_ptr<Dataset> LoadIdx(const DatasetSpec& spec) {
  auto ds = std::make_unique<InMemoryDataset>();
  // Each file is read once: the bytes hashed for the report are the bytes parsed.
  const std::string image_bytes = ReadFile(spec.images, kMaxDatasetFileBytes, "IDX file");
  const std::string label_bytes = ReadFile(spec.labels, kMaxDatasetFileBytes, "IDX file");
  IdxArray images = ParseIdx(image_bytes, spec.images.string(), spec.limit);
  IdxArray labels = ParseIdx(label_bytes, spec.labels.string(), spec.limit);
  if (images.dims.size() < 2) {
    throw InputError(spec.images.string() + ": expected an image array (at least 2 dimensions)");
  }
  if (labels.dims.size() != 1)
    throw InputError(spec.labels.string() + ": expected a 1-D label array");
  if (images.dims[0] != labels.dims[0]) {
    throw InputError(spec.labels.string() + ": " + std::to_string(labels.dims[0]) + " labels for " +
                     std::to_string(images.dims[0]) + " images in " + spec.images.string());
  }
  const int64_t n = images.dims[0];
  // Images get a channel dimension: N × H × W becomes per-sample {1, H, W}.
  ds->shape_.assign(images.dims.begin() + 1, images.dims.end());
  if (ds->shape_.size() == 2) ds->shape_.insert(ds->shape_.begin(), 1);
  ds->sample_size_ = n > 0 ? static_cast<int64_t>(images.data.size()) / n : 0;
  ds->features_.resize(images.data.size());
  const float scale = static_cast<float>(spec.scale);
  std::transform(images.data.begin(), images.data.end(), ds->features_.begin(),
                 [scale](uint8_t b) { return static_cast<float>(b) * scale; });
  ds->has_labels_ = true;
  ds->labels_.assign(labels.data.begin(), labels.data.end());
  ds->num_classes_ =
      ds->labels_.empty() ? 0 : *std::max_element(ds->labels_.begin(), ds->labels_.end()) + 1;
  ds->info_.format = "idx";
  ds->info_.rows = n;
  ds->info_.files = {{spec.images, Sha256Hex(image_bytes), "images"},
                     {spec.labels, Sha256Hex(label_bytes), "labels"}};
  return ds;
}

std::unique_ptr<Dataset> LoadCsv(const DatasetSpec& spec) {
  const std::string file = spec.path.string();
  const std::string text = ReadFile(spec.path, kMaxDatasetFileBytes, "CSV file");
  const CsvTable table = ParseCsv(text, file);
  auto ds = std::make_unique<InMemoryDataset>();
  const int64_t total = static_cast<int64_t>(table.rows.size());
  const int64_t n = spec.limit ? std::min(total, std::max<int64_t>(0, *spec.limit)) : total;

  std::vector<size_t> feature_cols;
  for (const auto& f : spec.features) feature_cols.push_back(table.Column(f, file));
  for (const auto& [col, enc] : spec.encode)
    table.Column(col, file);  // Declared columns must exist.
  ds->feature_names_ = spec.features;
  ds->shape_ = {static_cast<int64_t>(feature_cols.size())};
  ds->sample_size_ = static_cast<int64_t>(feature_cols.size());
  ds->features_.reserve(static_cast<size_t>(n) * feature_cols.size());

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

  for (int64_t r = 0; r < n; ++r) {
    for (size_t col : feature_cols) ds->features_.push_back(static_cast<float>(value_of(col, r)));
  }

  if (spec.label) {
    const size_t col = table.Column(spec.label->column, file);
    ds->has_labels_ = true;
    ds->labels_.reserve(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
      const std::string& raw = table.rows[static_cast<size_t>(r)][col];
      if (spec.label->positive) {
        ds->labels_.push_back(raw == *spec.label->positive ? 1 : 0);
        continue;
      }
      const double v = value_of(col, r);
      if (v < 0 || v != std::floor(v)) {
        throw InputError(file + ":" + std::to_string(table.line_numbers[static_cast<size_t>(r)]) +
                         ": label column '" + spec.label->column +
                         "' must hold non-negative class indices (or declare label.positive)");
      }
      ds->labels_.push_back(static_cast<int64_t>(v));
    }
    ds->num_classes_ = spec.label->positive ? 2
                       : ds->labels_.empty()
                           ? 0
                           : *std::max_element(ds->labels_.begin(), ds->labels_.end()) + 1;
  }

  for (const auto& s : spec.sensitive) {
    const size_t col = table.Column(s, file);
    auto& values = ds->sensitive_[s];
    values.reserve(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) values.push_back(table.rows[static_cast<size_t>(r)][col]);
  }

  if (spec.predictions) {
    const PredictionSpec& p = *spec.predictions;
    ds->has_predictions_ = true;
    ds->predictions_.reserve(static_cast<size_t>(n));
    if (p.score_column) {
      const size_t col = table.Column(*p.score_column, file);
      for (int64_t r = 0; r < n; ++r) {
        const double score = value_of(col, r);
        ds->scores_.push_back(score);
        ds->predictions_.push_back(score >= p.threshold.value_or(0.5) ? 1 : 0);
      }
    } else {
      const size_t col = table.Column(p.column.value_or(""), file);
      for (int64_t r = 0; r < n; ++r) {
        const std::string& raw = table.rows[static_cast<size_t>(r)][col];
        if (p.positive) {
          ds->predictions_.push_back(raw == *p.positive ? 1 : 0);
        } else {
          const double v = value_of(col, r);
          ds->predictions_.push_back(static_cast<int64_t>(v));
        }
      }
    }
  }

  ds->info_.format = "csv";
  ds->info_.rows = n;
  ds->info_.files = {{spec.path, Sha256Hex(text), "table"}};
  return ds;
}

}  // namespace

std::unique_ptr<Dataset> LoadDataset(const DatasetSpec& spec) {
  if (spec.format == "idx") return LoadIdx(spec);
  if (spec.format == "csv") return LoadCsv(spec);
  throw InputError("unknown dataset format '" + spec.format + "' (expected idx or csv)");
}

}  // namespace greenlight
