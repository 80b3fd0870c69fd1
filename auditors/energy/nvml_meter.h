// NVIDIA GPU energy through NVML, loaded at run time with dlopen so greenlight neither links nor
// requires the driver: the total-energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ, Volta
// and later) where supported, else power readings (nvmlDeviceGetPowerUsage, mW) integrated with
// the trapezoid rule. No library, no GPU or a failing nvmlInit: the meter is unavailable.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auditors/energy/energy_meter.h"

namespace greenlight::energy {

struct NvmlOptions {
  std::string library = "libnvidia-ml.so.1";  // dlopen name or path (tests use a fake).
  std::vector<int> devices;                   // Device indices; empty = every device.
  // "auto": energy counter where supported, else power sampling; "energy" / "power": force one.
  std::string mode = "auto";
  // Power sampling period (NVML refreshes power readings every ~20-100 ms depending on the
  // board); also the poll period of the energy counter. 0: no background sampling (tests).
  double sample_interval_s = 0.05;
  // Waits for queued GPU work at window edges, so the window holds the kernels it timed.
  // Default: cudaDeviceSynchronize when the CUDA runtime is already loaded in the process.
  std::function<void()> synchronize;
};

class NvmlMeter final : public CumulativeMeter {
 public:
  explicit NvmlMeter(NvmlOptions options, SecondsClock clock = SteadyClock());
  ~NvmlMeter() override;

  std::string name() const override { return "nvml"; }
  std::string method() const override { return "measured:nvml"; }
  std::optional<std::string> unavailable_reason() const override { return unavailable_; }
  nlohmann::json Describe() const override;

 protected:
  std::vector<DomainEnergy> Poll() override;
  void AtWindowEdge() override;
  void Complete(EnergyReading& reading, int64_t begin_poll, int64_t end_poll) override;

 private:
  struct Api;  // Resolved NVML entry points.
  struct Device {
    int index = 0;
    void* handle = nullptr;
    std::string name;
    bool energy_counter = false;  // true: total-energy counter; false: power sampling.
    unsigned long long first_mj = 0;
    double total_j = 0.0;
    // Power sampling state.
    double last_w = 0.0;
    double last_s = 0.0;
    // Sum over sampling intervals of |P_end - P_start|·dt/2: the largest error of the trapezoid
    // rule when power changes monotonically within an interval (between left and right sums).
    double trapezoid_error_j = 0.0;
    bool sampled = false;
  };

  void Load();
  std::string ErrorText(int code) const;

  NvmlOptions options_;
  void* library_ = nullptr;
  Api* api_ = nullptr;
  bool initialized_ = false;
  std::vector<Device> devices_;
  std::vector<double> error_at_poll_;  // Sum of trapezoid_error_j after each poll.
  // Power read from each power-sampled device at each poll (NaN for counter devices).
  std::vector<std::vector<double>> watts_at_poll_;
  std::vector<std::pair<int64_t, std::string>> read_errors_;
  int64_t poll_number_ = 0;
  std::string sync_description_;
  std::optional<std::string> unavailable_;
};

// Since Ampere, nvmlDeviceGetPowerUsage returns power averaged over the last second (NVML API
// reference), so sampled power lags load changes by up to that long; the band of power-sampled
// windows adds this averaging time × the range of the sampled power over the window.
constexpr double kNvmlPowerAveragingS = 1.0;

// cudaDeviceSynchronize from a CUDA runtime already loaded in this process (LibTorch's), found
// with dlsym; an empty function when there is none (a CPU-only process has nothing to wait for).
// *description says which.
std::function<void()> LoadedCudaSynchronize(std::string* description);

}  // namespace greenlight::energy
