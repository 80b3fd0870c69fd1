// Manual check of the real meters on a machine that has them (not run by CTest): prints, as
// JSON, which meters are available and why not, and measures one window with every available
// meter at once — NVML's energy counter and NVML power sampling side by side, RAPL, and the
// estimate — so the two NVML paths can be compared over the same seconds.
// Usage: energy_meter_probe [seconds] [busy]   (busy: spin one CPU thread during the window)
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auditors/energy/estimate_meter.h"
#include "auditors/energy/nvml_meter.h"
#include "auditors/energy/rapl_meter.h"

using namespace greenlight::energy;

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const bool busy = argc > 2 && std::string(argv[2]) == "busy";
  std::vector<std::pair<std::string, std::unique_ptr<EnergyMeter>>> meters;
  meters.emplace_back("rapl", std::make_unique<RaplMeter>(RaplOptions{}));
  NvmlOptions counter;
  counter.mode = "auto";
  meters.emplace_back("nvml_auto", std::make_unique<NvmlMeter>(counter));
  NvmlOptions power;
  power.mode = "power";
  power.sample_interval_s = 0.02;
  meters.emplace_back("nvml_power", std::make_unique<NvmlMeter>(power));
  meters.emplace_back("estimate", std::make_unique<EstimateMeter>(EstimateOptions{}));

  nlohmann::json out;
  std::vector<std::pair<EnergyMeter*, EnergyMeter::WindowId>> windows;
  for (auto& [name, m] : meters) {
    out[name]["describe"] = m->Describe();
    if (auto reason = m->unavailable_reason()) {
      out[name]["unavailable"] = "meter unavailable: " + *reason;
    } else {
      windows.emplace_back(m.get(), m->Begin());
    }
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  volatile double sink = 0.0;
  if (busy) {
    while (std::chrono::steady_clock::now() < end) sink = sink + 1.0;
  } else {
    std::this_thread::sleep_until(end);
  }
  for (auto it = windows.rbegin(); it != windows.rend(); ++it) it->first->End(it->second);
  for (auto& [name, m] : meters) {
    for (auto& [meter, id] : windows) {
      if (meter != m.get()) continue;
      const EnergyReading r = m->Read(id);
      out[name]["reading"] = {{"valid", r.valid},
                              {"problem", r.problem},
                              {"method", r.method},
                              {"energy_j", r.energy_j},
                              {"low_j", r.low_j()},
                              {"high_j", r.high_j()},
                              {"duration_s", r.duration_s},
                              {"average_power_w", r.duration_s > 0 ? r.energy_j / r.duration_s : 0},
                              {"samples", r.samples},
                              {"details", r.details}};
      nlohmann::json domains = nlohmann::json::array();
      for (const auto& d : r.domains) domains.push_back({{d.name, d.energy_j}});
      out[name]["reading"]["domains"] = domains;
    }
  }
  std::cout << out.dump(2) << std::endl;
  return 0;
}
