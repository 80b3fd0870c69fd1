// The explicit list of built-in metrics (see docs/architecture: no static registration). A
// framework metric is registered by one line here; concerns still on the legacy Auditor path
// register their auditor.
#include "auditors/accuracy/accuracy_metrics.h"
#include "auditors/auditor.h"
#include "auditors/efficiency/efficiency_auditor.h"
#include "auditors/energy/energy_auditor.h"
#include "auditors/fairness/fairness_auditor.h"
#include "auditors/metric.h"
#include "auditors/safety/safety_metrics.h"

namespace greenlight {

void RegisterBuiltinAuditors(AuditorRegistry& registry) {
  // Metrics on the framework (auditors/metric.h).
  RegisterMetric(registry, accuracy::MakeAccuracy());
  RegisterMetric(registry, accuracy::MakeTopKAccuracy());
  RegisterMetric(registry, accuracy::MakePrecision());
  RegisterMetric(registry, accuracy::MakeRecall());
  RegisterMetric(registry, accuracy::MakeF1());
  RegisterMetric(registry, accuracy::MakeRocAuc());
  RegisterMetric(registry, safety::MakeEce());
  RegisterMetric(registry, safety::MakeEceEqualMass());
  RegisterMetric(registry, safety::MakeAdversarialAccuracy());
  RegisterMetric(registry, safety::MakeAttackSuccessRate());
  RegisterMetric(registry, safety::MakeEmpiricalRobustness());
  RegisterMetric(registry, safety::MakeCorruptionAccuracy());
  RegisterMetric(registry, safety::MakeCorruptionAccuracyDrop());
  RegisterMetric(registry, safety::MakeDeterminismMaxAbsDiff());
  RegisterMetric(registry, safety::MakeOodAuroc());
  RegisterMetric(registry, safety::MakeMonotonicityViolationRate());
  RegisterMetric(registry, safety::MakePerturbationFlipRate());
  RegisterMetric(registry, safety::MakeInvalidInputSilentRate());

  // Legacy path: concerns whose metrics have not moved to the framework yet.
  RegisterEfficiencyAuditor(registry);
  RegisterEnergyAuditor(registry);
  RegisterFairnessAuditor(registry);
}

}  // namespace greenlight
