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

// The delta-method variance of a precision, recall or F1 (one class, or the macro or weighted
// average; not micro, which is accuracy, a proportion) as a function of the confusion cells, which
// are multinomial: var = sum m_ij g_ij^2 - (sum m_ij g_ij)^2 / n with g the gradient of the score
// in the cell counts m_ij (the multinomial covariance; Takahashi et al., "Confidence interval for
// micro-averaged F1 and macro-averaged F1 scores", Applied Intelligence 52, 2022, derive the same
// for F1). `cells` may be real-valued (pseudo-counts); the classes averaged over are those present
// in `present_from` (a class absent from its labels and predictions is left out, as Averaged
// does). nullopt when the score is undefined.
struct ScoreVariance {
  double value = 0.0;
  double variance = 0.0;
};
std::optional<ScoreVariance> DeltaScoreVariance(std::span<const double> cells,
                                                std::span<const int64_t> present_from,
                                                int64_t classes, const std::string& metric,
                                                const std::string& average,
                                                std::optional<int64_t> cls);

// The interval of a precision, recall or F1 from its delta-method variance, as a proportion of
// n_eff trials (stats::EffectiveWilsonInterval): n_eff is the smaller of the one from the observed
// cells and the one from the cells with 1/2 added to every cell among the present classes. The
// observed cells alone give no variance to a class whose errors are all 0 (a perfect sample), the
// pseudo-counts do (as the Jeffreys prior does for a proportion); taking the smaller n_eff keeps
// the wider interval. Contains the estimate.
Interval DeltaScoreInterval(std::span<const int64_t> confusion, int64_t classes,
                            const std::string& metric, const std::string& average,
                            std::optional<int64_t> cls, double level);

// Area under the ROC curve (Mann-Whitney U with mid-ranks for ties), with per-row weights
// (bootstrap multiplicities; empty = all 1). nullopt when one class has no weight.
std::optional<double> RocAuc(std::span<const double> scores, std::span<const int64_t> labels,
                             std::span<const uint32_t> weights = {});

}  // namespace accuracy
}  // namespace greenlight
