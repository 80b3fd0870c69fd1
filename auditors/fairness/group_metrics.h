// The fairness family on the metric framework (auditors/metric.h): the thirteen group metrics of
// fairness_metrics.h, measured by one class and registered under their own names (one line each in
// auditors/builtin.cc). They share one parameter struct, one piece of work (the rows' groups beside
// the classifier outputs) and one kind of sufficient statistics (group x label x prediction
// counts); only the arithmetic differs, and fairness_metrics.h dispatches on the metric.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "auditors/fairness/fairness_metrics.h"
#include "auditors/metric.h"

namespace greenlight::fairness {

// Every row's group (ids in order of first appearance) beside the classifier outputs and labels.
// One pass over the sensitive text columns, shared by every criterion that groups by the same
// columns; the forward pass itself is the audit's one outputs pass (AuditContext::Outputs).
struct GroupsRecord final : WorkRecord {
  const ClassifierOutputs* outputs = nullptr;  // Owned by the AuditContext.
  // The reference model's outputs on the same rows (the work's WithReference()); null otherwise.
  const ClassifierOutputs* reference = nullptr;
  std::span<const int64_t> labels;               // Empty when the dataset has no labels.
  std::vector<std::string> columns;              // The sensitive columns, resolved.
  std::vector<std::vector<std::string>> groups;  // Group id -> its values, one per column.
  std::vector<int32_t> group_of;                 // Row -> group id.
  int64_t rows() const override { return static_cast<int64_t>(group_of.size()); }
};

// The framework metric that measures `metric` (its name is MetricName(metric)).
std::unique_ptr<greenlight::Metric> MakeGroupMetric(Metric metric);

}  // namespace greenlight::fairness
