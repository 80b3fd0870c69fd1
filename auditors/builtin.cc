// The explicit list of built-in metrics (see docs/architecture: no static registration). A
// framework metric is registered by one line here; concerns still on the legacy Auditor path
// register their auditor.
#include "auditors/accuracy/accuracy_metrics.h"
#include "auditors/auditor.h"
#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/energy/energy_metrics.h"
#include "auditors/fairness/fairness_auditor.h"
#include "auditors/metric.h"
#include "auditors/safety/safety_auditor.h"

namespace greenlight {

void RegisterBuiltinAuditors(AuditorRegistry& registry) {
  // Metrics on the framework (auditors/metric.h).
  RegisterMetric(registry, accuracy::MakeAccuracy());
  RegisterMetric(registry, accuracy::MakeTopKAccuracy());
  RegisterMetric(registry, accuracy::MakePrecision());
  RegisterMetric(registry, accuracy::MakeRecall());
  RegisterMetric(registry, accuracy::MakeF1());
  RegisterMetric(registry, accuracy::MakeRocAuc());
  RegisterMetric(registry, efficiency::MakeLatencyPercentile(0.5));
  RegisterMetric(registry, efficiency::MakeLatencyPercentile(0.9));
  RegisterMetric(registry, efficiency::MakeLatencyPercentile(0.95));
  RegisterMetric(registry, efficiency::MakeLatencyPercentile(0.99));
  RegisterMetric(registry, efficiency::MakeLatencyPercentile(0.999));
  RegisterMetric(registry, efficiency::MakeLatencyMean());
  RegisterMetric(registry, efficiency::MakeThroughput());
  RegisterMetric(registry, efficiency::MakePeakMemory());
  RegisterMetric(registry, efficiency::MakeModelParameters());
  RegisterMetric(registry, efficiency::MakeModelSize());
  RegisterMetric(registry, efficiency::MakeFlopsPerSample());
  RegisterMetric(registry, energy::MakeEnergyPerInference());
  RegisterMetric(registry, energy::MakeEnergyPer1000Inferences());
  RegisterMetric(registry, energy::MakeAveragePower());
  RegisterMetric(registry, energy::MakeInferencesPerJoule());
  RegisterMetric(registry, energy::MakeCarbonPer1000Inferences());
  RegisterMetric(registry, energy::MakeSciPerInference());

  // Legacy path: concerns whose metrics have not moved to the framework yet.
  RegisterFairnessAuditor(registry);
  RegisterSafetyAuditor(registry);
}

}  // namespace greenlight
