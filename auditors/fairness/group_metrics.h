// The fairness family on the metric framework (auditors/metric.h): the thirteen group metrics of
// fairness_metrics.h, measured by one class and registered under their own names (one line each in
// auditors/builtin.cc). They share one parameter struct, one piece of work (the rows' groups beside
// the classifier outputs) and one kind of sufficient statistics (group x label x prediction
// counts); only the arithmetic differs, and fairness_metrics.h dispatches on the metric.
#pragma once

#include <memory>

#include "auditors/fairness/fairness_metrics.h"
#include "auditors/metric.h"

namespace greenlight::fairness {

// The framework metric that measures `metric` (its name is MetricName(metric)).
std::unique_ptr<greenlight::Metric> MakeGroupMetric(Metric metric);

}  // namespace greenlight::fairness
