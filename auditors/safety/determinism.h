// Determinism: the same inputs run several times, with several intra-op thread counts and batch
// sizes; the largest absolute difference of any raw output from the first run.
#pragma once

#include "auditors/auditor.h"

namespace greenlight::safety {

std::vector<MetricSpec> DeterminismMetrics();
Measurement MeasureDeterminism(const MetricRequest& req, AuditContext& ctx);

}  // namespace greenlight::safety
