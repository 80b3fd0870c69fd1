// The explicit list of built-in concerns (see ARCHITECTURE.md: no static registration).
#include "auditors/accuracy/accuracy_auditor.h"
#include "auditors/auditor.h"
#include "auditors/efficiency/efficiency_auditor.h"
#include "auditors/fairness/fairness_auditor.h"
#include "auditors/safety/safety_auditor.h"

namespace greenlight {

void RegisterBuiltinAuditors(AuditorRegistry& registry) {
  RegisterAccuracyAuditor(registry);
  RegisterEfficiencyAuditor(registry);
  RegisterFairnessAuditor(registry);
  RegisterSafetyAuditor(registry);
}

}  // namespace greenlight
