// Tabular robustness: monotonicity of the class score in a declared feature (sweep over a grid
// with the other features fixed) and prediction flips under small noise on numeric features.
#pragma once

#include "auditors/auditor.h"

namespace greenlight::safety {

std::vector<MetricSpec> TabularMetrics();
Measurement MeasureTabular(const MetricRequest& req, AuditContext& ctx);

}  // namespace greenlight::safety
