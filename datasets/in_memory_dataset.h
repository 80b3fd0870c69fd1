// A Dataset held in memory: what every reader produces.
#pragma once

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
};

}  // namespace greenlight
