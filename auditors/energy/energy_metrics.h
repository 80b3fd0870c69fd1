// Energy and carbon metrics: joules per inference, power, carbon per 1000 inferences and SCI per
// inference, read from energy meters around the same timed run the efficiency metrics time (the
// plan runs one timed run per distinct run settings and attaches the meters to it as an
// Instrument). Measured where a meter exists (RAPL, NVML, an external power log), otherwise
// estimated from CPU time and labelled `estimate:cpu-time`.
#pragma once

#include <memory>
#include <vector>

#include "auditors/energy/energy_meter.h"
#include "auditors/metric.h"

namespace greenlight::energy {

// The metrics, one factory each (registered in auditors/builtin.cc).
std::unique_ptr<Metric> MakeEnergyPerInference();
std::unique_ptr<Metric> MakeEnergyPer1000Inferences();
std::unique_ptr<Metric> MakeAveragePower();
std::unique_ptr<Metric> MakeInferencesPerJoule();
std::unique_ptr<Metric> MakeCarbonPer1000Inferences();
std::unique_ptr<Metric> MakeSciPerInference();

// Sums readings of several meters (RAPL for the host + NVML for the GPU): energies and bands add.
EnergyReading CombineReadings(const std::vector<EnergyReading>& parts);

// A reading as lossless JSON, and back (the metrics' statistics carry readings between machines).
nlohmann::json ReadingToJson(const EnergyReading& reading);
EnergyReading ReadingFromJson(const nlohmann::json& json);

}  // namespace greenlight::energy
