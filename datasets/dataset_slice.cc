#include "datasets/dataset_slice.h"

#include <string>

#include "core/error.h"

namespace greenlight {
namespace {

template <typename T>
std::span<const T> Part(std::span<const T> all, int64_t begin, int64_t end, int64_t width = 1) {
  if (all.empty()) return all;
  return all.subspan(static_cast<size_t>(begin * width),
                     static_cast<size_t>((end - begin) * width));
}

class DatasetSlice final : public Dataset {
 public:
  DatasetSlice(const Dataset& whole, int64_t begin, int64_t end)
      : whole_(whole), begin_(begin), end_(end), info_(whole.info()) {
    info_.rows = end - begin;
    for (const auto& [name, values] : whole.sensitive()) {
      sensitive_[name].assign(values.begin() + begin, values.begin() + end);
    }
  }

  const DatasetInfo& info() const override { return info_; }
  const std::vector<int64_t>& sample_shape() const override { return whole_.sample_shape(); }
  int64_t sample_size() const override { return whole_.sample_size(); }
  std::span<const float> features() const override {
    return Part(whole_.features(), begin_, end_, whole_.sample_size());
  }
  const std::vector<std::string>& feature_names() const override { return whole_.feature_names(); }
  bool has_labels() const override { return whole_.has_labels(); }
  std::span<const int64_t> labels() const override { return Part(whole_.labels(), begin_, end_); }
  int64_t num_classes() const override { return whole_.num_classes(); }
  const std::map<std::string, std::vector<std::string>>& sensitive() const override {
    return sensitive_;
  }
  bool has_predictions() const override { return whole_.has_predictions(); }
  std::span<const int64_t> predictions() const override {
    return Part(whole_.predictions(), begin_, end_);
  }
  std::span<const double> scores() const override { return Part(whole_.scores(), begin_, end_); }
  std::span<const std::string> texts() const override { return Part(whole_.texts(), begin_, end_); }

 private:
  const Dataset& whole_;
  int64_t begin_;
  int64_t end_;
  DatasetInfo info_;
  std::map<std::string, std::vector<std::string>> sensitive_;
};

void CheckRange(int64_t begin, int64_t end, int64_t rows) {
  if (begin < 0 || begin > end || end > rows) {
    throw InputError("rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") are not within the dataset's " + std::to_string(rows) + " rows");
  }
}

class SourceSlice final : public DatasetSource {
 public:
  SourceSlice(const DatasetSource& whole, int64_t begin, int64_t end)
      : whole_(whole), begin_(begin), end_(end), info_(whole.info()) {
    info_.rows = end - begin;
  }

  const DatasetInfo& info() const override { return info_; }
  const std::vector<int64_t>& sample_shape() const override { return whole_.sample_shape(); }
  int64_t sample_size() const override { return whole_.sample_size(); }
  bool has_labels() const override { return whole_.has_labels(); }
  int64_t num_classes() const override { return whole_.num_classes(); }
  const Dataset& Metadata() const override {
    if (!metadata_) metadata_ = std::make_unique<DatasetSlice>(whole_.Metadata(), begin_, end_);
    return *metadata_;
  }
  std::unique_ptr<Dataset> Read(int64_t begin, int64_t end) const override {
    CheckRange(begin, end, info_.rows);
    return whole_.Read(begin_ + begin, begin_ + end);
  }
  const Dataset* InMemory() const override {
    const Dataset* all = whole_.InMemory();
    if (all == nullptr) return nullptr;
    if (!in_memory_) in_memory_ = std::make_unique<DatasetSlice>(*all, begin_, end_);
    return in_memory_.get();
  }

 private:
  const DatasetSource& whole_;
  int64_t begin_;
  int64_t end_;
  DatasetInfo info_;
  // Views built on first use (the engine's calls come from one thread).
  mutable std::unique_ptr<Dataset> metadata_;
  mutable std::unique_ptr<Dataset> in_memory_;
};

}  // namespace

std::unique_ptr<Dataset> SliceRows(const Dataset& whole, int64_t begin, int64_t end) {
  CheckRange(begin, end, whole.rows());
  return std::make_unique<DatasetSlice>(whole, begin, end);
}

std::unique_ptr<DatasetSource> SliceRows(const DatasetSource& whole, int64_t begin, int64_t end) {
  CheckRange(begin, end, whole.rows());
  return std::make_unique<SourceSlice>(whole, begin, end);
}

}  // namespace greenlight
