// The safety concern: adversarial robustness, common corruptions, calibration, determinism,
// invalid inputs, out-of-distribution detection and tabular robustness (docs/safety.md).
#pragma once

#include "auditors/auditor.h"

namespace greenlight {

void RegisterSafetyAuditor(AuditorRegistry& registry);

}  // namespace greenlight
