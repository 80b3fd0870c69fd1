// Energy and carbon auditor: joules per inference, power, carbon per 1000 inferences and SCI per
// inference, read from energy meters around the same benchmark run the efficiency auditor times
// (one run for latency and energy). Measured where a meter exists (RAPL, NVML, an external power
// log), otherwise estimated from CPU time and labelled `estimate:cpu-time`.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/energy/energy_meter.h"

namespace greenlight {

void RegisterEnergyAuditor(AuditorRegistry& registry);

namespace energy {

// Opens a window on every attached meter at each harness window (WindowObserver) and keeps the
// window ids, so readings can be taken after the run. One per AuditContext.
class MeterObserver final : public WindowObserver {
 public:
  // Attaches `meter` under `key` (a description of its configuration) unless one is attached.
  EnergyMeter* Attach(const std::string& key, std::unique_ptr<EnergyMeter> meter);
  EnergyMeter* Find(const std::string& key) const;

  void Begin(const std::string& window) override;
  void End(const std::string& window) override;

  // The reading of `meter_key` over harness window `window`; nullopt when that window was not
  // observed with that meter (meter attached later, or unavailable).
  std::optional<EnergyReading> Reading(const std::string& window, const std::string& meter_key);

 private:
  std::map<std::string, std::unique_ptr<EnergyMeter>> meters_;
  // window -> meter key -> meter's window id.
  std::map<std::string, std::map<std::string, EnergyMeter::WindowId>> open_, closed_;
  std::map<std::pair<std::string, std::string>, EnergyReading> readings_;
};

// Sums readings of several meters (RAPL for the host + NVML for the GPU): energies and bands add.
EnergyReading CombineReadings(const std::vector<EnergyReading>& parts);

}  // namespace energy
}  // namespace greenlight
