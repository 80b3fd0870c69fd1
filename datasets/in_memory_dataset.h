// Datasets held in memory: the rows a DatasetSource reads, and a source over rows already in
// memory (a CSV file, data built in code).
#pragma once

#include <memory>

#include "datasets/dataset.h"

namespace greenlight {

class InMemoryDataset final : public Dataset {
 public:
  const DatasetInfo& info() const override { return info_; }
  const std::vector<int64_t>& sample_shape() const override { return shape_; }
  int64_t sample_size() const override { return sample_size_; }
  std::span<const float> features() const override { return features_; }
  const std::vector<std::string>& feature_names() const override { return feature_names_; }
  bool has_labels() const override { return has_labels_; }
  std::span<const int64_t> labels() const override { return labels_; }
  int64_t num_classes() const override { return num_classes_; }
  const std::map<std::string, std::vector<std::string>>& sensitive() const override {
    return sensitive_;
  }
  bool has_predictions() const override { return has_predictions_; }
  std::span<const int64_t> predictions() const override { return predictions_; }
  std::span<const double> scores() const override { return scores_; }
  std::span<const std::string> texts() const override { return texts_; }

  // Builders used by the readers (and by tests that construct data directly).
  DatasetInfo info_;
  std::vector<int64_t> shape_;
  int64_t sample_size_ = 0;
  std::vector<float> features_;
  std::vector<std::string> feature_names_;
  bool has_labels_ = false;
  std::vector<int64_t> labels_;
  int64_t num_classes_ = 0;
  std::map<std::string, std::vector<std::string>> sensitive_;
  bool has_predictions_ = false;
  std::vector<int64_t> predictions_;
  std::vector<double> scores_;
  std::vector<std::string> texts_;
};

// Rows [begin, end) of `data` copied out, with data's num_classes and info (rows set to the
// copy's). Throws InputError unless 0 <= begin <= end <= data.rows().
std::unique_ptr<InMemoryDataset> CopyRows(const Dataset& data, int64_t begin, int64_t end);

// A source whose rows are all in memory already.
class InMemorySource final : public DatasetSource {
 public:
  explicit InMemorySource(std::unique_ptr<Dataset> owned)
      : owned_(std::move(owned)), data_(*owned_) {}
  // `borrowed` must outlive the source.
  explicit InMemorySource(const Dataset& borrowed) : data_(borrowed) {}

  const DatasetInfo& info() const override { return data_.info(); }
  const std::vector<int64_t>& sample_shape() const override { return data_.sample_shape(); }
  int64_t sample_size() const override { return data_.sample_size(); }
  bool has_labels() const override { return data_.has_labels(); }
  int64_t num_classes() const override { return data_.num_classes(); }
  const Dataset& Metadata() const override { return data_; }
  std::unique_ptr<Dataset> Read(int64_t begin, int64_t end) const override {
    return CopyRows(data_, begin, end);
  }
  const Dataset* InMemory() const override { return &data_; }

 private:
  std::unique_ptr<Dataset> owned_;
  const Dataset& data_;
};

}  // namespace greenlight
