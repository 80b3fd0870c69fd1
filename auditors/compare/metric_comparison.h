// metric_delta and metric_retention: another metric (the compared metric, named by
// params.metric, its own parameters beside it) measured on the model and on the reference model,
// on the same rows, and compared: model - reference, or model / reference. The interval comes
// from a paired bootstrap over rows (the same resampled rows for both models). Metrics whose work
// is the rows pass over classifier outputs or language-model document scores can be compared, and
// robustness metrics that expose per-row outcomes (PairableMetric, auditors/paired_outcomes.h),
// whose work is then run for both models (Work::WithReference); timed, metered and model-fact
// metrics have dedicated comparisons (latency_speedup, energy_saving, ...).
#pragma once

#include <memory>

#include "auditors/auditor.h"
#include "auditors/metric.h"

namespace greenlight::compare {

// The compared metric is looked up in `registry` when criteria bind, so the registry must outlive
// the returned metric (it is registered into the same registry).
std::unique_ptr<Metric> MakeMetricDelta(const AuditorRegistry& registry);
std::unique_ptr<Metric> MakeMetricRetention(const AuditorRegistry& registry);

}  // namespace greenlight::compare
