// The accuracy family on the metric framework (auditors/metric.h): accuracy, top-k accuracy,
// precision, recall, F1 and ROC AUC, each with a 95 % (or the criterion's) interval and its sample
// count. One file per metric; each is registered by one line in auditors/builtin.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auditors/metric.h"

namespace greenlight {
namespace accuracy {

std::unique_ptr<Metric> MakeAccuracy();           // accuracy.cc
std::unique_ptr<Metric> MakeTopKAccuracy();       // top_k_accuracy.cc
std::unique_ptr<Metric> MakePrecision();          // class_scores.cc
std::unique_ptr<Metric> MakeRecall();             // class_scores.cc
std::unique_ptr<Metric> MakeF1();                 // class_scores.cc
std::unique_ptr<Metric> MakeRocAuc();             // roc_auc.cc
std::unique_ptr<Metric> MakeAccuracyRetention();  // accuracy_retention.cc

// Percentile-bootstrap resamples shared by the bootstrapped metrics of this family.
inline constexpr int64_t kDefaultResamples = 1000;
inline constexpr double kMinResamples = 100;

// Sufficient statistics of the count metrics: the confusion matrix (confusion[true * classes +
// predicted]) and where the predictions came from. Merge adds cells: exact in any order.
struct ConfusionStats {
  int64_t classes = 0;
  std::vector<int64_t> counts;
  std::string source;  // "model:<sha256>" or "recorded"

  int64_t rows() const;
  void Merge(const ConfusionStats& other);
  nlohmann::json ToJson() const;
  static ConfusionStats FromJson(const nlohmann::json& json);
  // The rows [begin, end) of an outputs record. Throws InputError on a class index out of range.
  static ConfusionStats Of(const OutputsRecord& record, RowRange rows);
  // Details shared by the count metrics: the matrix and the prediction source.
  nlohmann::json Details() const;
};

// confusion[true * classes + predicted]: counts.
std::vector<int64_t> ConfusionMatrix(std::span<const int64_t> labels,
                                     std::span<const int64_t> predicted, int64_t classes);

// Per-class and averaged scores from a confusion matrix; nullopt when undefined (0/0).
std::optional<double> Precision(std::span<const int64_t> confusion, int64_t classes, int64_t cls);
std::optional<double> Recall(std::span<const int64_t> confusion, int64_t classes, int64_t cls);
std::optional<double> F1(std::span<const int64_t> confusion, int64_t classes, int64_t cls);
// average: "macro" (unweighted mean over classes present in labels or predictions), "weighted"
// (by support), "micro" (pooled counts).
std::optional<double> Averaged(std::span<const int64_t> confusion, int64_t classes,
                               const std::string& metric, const std::string& average);

// Area under the ROC curve (Mann-Whitney U with mid-ranks for ties), with per-row weights
// (bootstrap multiplicities; empty = all 1). nullopt when one class has no weight.
std::optional<double> RocAuc(std::span<const double> scores, std::span<const int64_t> labels,
                             std::span<const uint32_t> weights = {});

}  // namespace accuracy
}  // namespace greenlight
