// Accuracy auditor: accuracy, top-k accuracy, precision, recall, F1 and ROC AUC, each with a 95 %
// (or the criterion's) interval and its sample count; the confusion matrix in the details.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "auditors/auditor.h"

namespace greenlight {

void RegisterAccuracyAuditor(AuditorRegistry& registry);

namespace accuracy {

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
