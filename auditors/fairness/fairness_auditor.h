// Fairness auditor: group metrics (demographic parity, disparate impact, equal opportunity,
// equalized odds, predictive parity, error-rate and accuracy gaps, Theil index) over one sensitive
// column or intersectional groups of several, each with a seeded bootstrap interval and a
// per-group table in the details. Works on model outputs or on recorded decisions (black-box
// mode: no model). The metric arithmetic lives in fairness_metrics.h.
#pragma once

#include "auditors/auditor.h"

namespace greenlight {

void RegisterFairnessAuditor(AuditorRegistry& registry);

}  // namespace greenlight
