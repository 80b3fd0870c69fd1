// The explicit list of built-in metrics (see docs/architecture: no static registration). A
// metric is registered by one line here.
#include "auditors/accuracy/accuracy_metrics.h"
#include "auditors/auditor.h"
#include "auditors/compare/metric_comparison.h"
#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/energy/energy_metrics.h"
#include "auditors/fairness/group_metrics.h"
#include "auditors/language/counterfactual.h"
#include "auditors/language/generation_metrics.h"
#include "auditors/language/language_metrics.h"
#include "auditors/language/lm_facts.h"
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
  RegisterMetric(registry, accuracy::MakeAccuracyRetention());
  RegisterMetric(registry, accuracy::MakeAccuracyDelta());
  RegisterMetric(registry, accuracy::MakePredictionAgreement());
  RegisterMetric(registry, accuracy::MakeMcNemarPValue());
  // Any row-wise metric on both models; the compared metric is looked up in this registry.
  RegisterMetric(registry, compare::MakeMetricDelta(registry));
  RegisterMetric(registry, compare::MakeMetricRetention(registry));
  using fairness::MakeGroupMetric;
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kSelectionRate));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kDemographicParityDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kDemographicParityRatio));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kDisparateImpactRatio));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kEqualOpportunityDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kEqualizedOddsDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kAverageOddsDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kPredictiveParityDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kFalsePositiveRateDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kFalseNegativeRateDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kAccuracyDifference));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kGroupAccuracyMin));
  RegisterMetric(registry, MakeGroupMetric(fairness::Metric::kTheilIndex));
  RegisterMetric(registry, language::MakePerplexity());
  RegisterMetric(registry, language::MakeBitsPerByte());
  RegisterMetric(registry, language::MakeNextTokenAccuracy());
  // Generation speed of causal LMs (one timed generation run per distinct settings).
  for (double p : {0.5, 0.9, 0.99}) {
    RegisterMetric(registry, language::MakeTtftPercentile(p));
    RegisterMetric(registry, language::MakeTpotPercentile(p));
    RegisterMetric(registry, language::MakeE2eLatencyPercentile(p));
  }
  RegisterMetric(registry, language::MakeOutputTokensPerSecond());
  RegisterMetric(registry, language::MakeCounterfactualPreference());
  RegisterMetric(registry, language::MakeCounterfactualLoglikGap());
  RegisterMetric(registry, language::MakeFlopsPerToken());
  RegisterMetric(registry, language::MakeKvCacheBytesPerToken());
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
  RegisterMetric(registry, efficiency::MakeSparsity());
  RegisterMetric(registry, efficiency::MakeNonzeroParameters());
  RegisterMetric(registry, efficiency::MakeParameterReduction());
  RegisterMetric(registry, efficiency::MakeSizeReduction());
  RegisterMetric(registry, efficiency::MakeFlopsReduction());
  RegisterMetric(registry, efficiency::MakeLatencySpeedup());
  RegisterMetric(registry, efficiency::MakeThroughputRatio());
  RegisterMetric(registry, efficiency::MakePeakMemoryRatio());
  RegisterMetric(registry, energy::MakeEnergyPerInference());
  RegisterMetric(registry, energy::MakeEnergyPer1000Inferences());
  RegisterMetric(registry, energy::MakeAveragePower());
  RegisterMetric(registry, energy::MakeInferencesPerJoule());
  RegisterMetric(registry, energy::MakeCarbonPer1000Inferences());
  RegisterMetric(registry, energy::MakeSciPerInference());
  RegisterMetric(registry, energy::MakeEnergySaving());
  RegisterMetric(registry, energy::MakeEnergyPerOutputToken());
  RegisterMetric(registry, energy::MakeEnergyPer1000Tokens());
  RegisterMetric(registry, energy::MakeCarbonPer1000Tokens());
}

}  // namespace greenlight
