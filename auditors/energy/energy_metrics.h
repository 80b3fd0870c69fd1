// Energy and carbon metrics: joules per inference, power, carbon per 1000 inferences and SCI per
// inference, read from energy meters around the same timed run the efficiency metrics time (the
// plan runs one timed run per distinct run settings and attaches the meters to it as an
// Instrument). Measured where a meter exists (RAPL, NVML, an external power log), otherwise
// estimated from CPU time and labelled `estimate:cpu-time`.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "auditors/energy/energy_meter.h"
#include "auditors/metric.h"
#include "core/result.h"

namespace greenlight::energy {

// The metrics, one factory each (registered in auditors/builtin.cc).
std::unique_ptr<Metric> MakeEnergyPerInference();
std::unique_ptr<Metric> MakeEnergyPer1000Inferences();
std::unique_ptr<Metric> MakeAveragePower();
std::unique_ptr<Metric> MakeInferencesPerJoule();
std::unique_ptr<Metric> MakeCarbonPer1000Inferences();
std::unique_ptr<Metric> MakeSciPerInference();
// The same figures per output token of a causal LM's timed generation run (the meters around
// language::GenerationWork's window; docs/language-models.md, "Energy per token").
std::unique_ptr<Metric> MakeEnergyPerOutputToken();
std::unique_ptr<Metric> MakeEnergyPer1000Tokens();
std::unique_ptr<Metric> MakeCarbonPer1000Tokens();

// energy_saving (energy_metrics.cc): 1 − model energy / reference model energy per inference, both
// metered per round of an interleaved run (efficiency::MakeInterleavedWork).
std::unique_ptr<Metric> MakeEnergySaving();

// energy_saving's estimator. Round i ran the same inferences on both models, so its ratio is
// model_energy_j[i] / reference_energy_j[i]; the ratio's value and interval are those of the
// other paired-round metrics (efficiency::EstimateRoundRatio: geometric mean, Student's t on the
// log ratios, at `level`), and the saving is 1 − ratio with the interval [1 − high, 1 − low],
// which contains it. Needs at least 2 rounds of positive energies (RuntimeError otherwise).
struct SavingEstimate {
  double value = 0.0;  // 1 − ratio.
  double ratio = 0.0;  // Geometric mean of per_round_ratio.
  std::vector<double> per_round_ratio;
  Interval interval;  // Of the saving.
  Interval ratio_interval;
};
SavingEstimate EstimateEnergySaving(std::span<const double> model_energy_j,
                                    std::span<const double> reference_energy_j, double level);

// Sums readings of several meters (RAPL for the host + NVML for the GPU): energies and bands add.
EnergyReading CombineReadings(const std::vector<EnergyReading>& parts);

// A reading as lossless JSON, and back (the metrics' statistics carry readings between machines).
nlohmann::json ReadingToJson(const EnergyReading& reading);
EnergyReading ReadingFromJson(const nlohmann::json& json);

}  // namespace greenlight::energy
