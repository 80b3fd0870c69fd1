// The estimate used when no meter exists (virtual machines, containers without powercap): CPU
// energy = this process's CPU-seconds in the window × active power per hardware thread, plus a
// memory term = resident memory × watts per GB × window wall time. Always `estimate:cpu-time`,
// with a wide multiplicative band (see docs/energy.md for the basis of every number).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auditors/energy/energy_meter.h"

namespace greenlight::energy {

// One row of the per-thread power table: CPUs whose /proc/cpuinfo model name matches `pattern`
// (ECMAScript regex) draw about `watts_per_thread` per busy hardware thread.
struct CpuPowerEntry {
  std::string family;  // "Intel Cascade Lake", ...
  std::string pattern;
  double watts_per_thread;  // Max watts per vCPU at 100 % load.
  std::string source;
};
const std::vector<CpuPowerEntry>& CpuPowerTable();

// Used when the CPU model matches no row: the mean of the table's rows, so an unknown CPU gets
// the middle of the surveyed range rather than an extreme.
double DefaultWattsPerThread();

// Memory power per GB of resident memory (CodeCarbon's ratio of 3 W per 8 GB).
constexpr double kDefaultMemoryWattsPerGb = 3.0 / 8.0;

// The band: the true energy is taken to lie within [estimate / 2, estimate × 2]. Basis in
// docs/energy.md: the table's per-thread figures span a factor of ~3.7 between families, and
// published comparisons of TDP/utilisation models with wall meters find errors of tens of percent.
constexpr double kEstimateBandLow = 0.5;
constexpr double kEstimateBandHigh = 2.0;

// The CPU's model name from /proc/cpuinfo ("" when unknown).
std::string CpuModelName();

struct CpuPowerChoice {
  double watts_per_thread = 0.0;
  std::string basis;  // "table: Intel Cascade Lake (...)", "default: ...", "criteria parameter"
};
// Looks `model_name` up in the table; `override_w` (criteria parameter) wins when given.
CpuPowerChoice ChooseCpuPower(const std::string& model_name, std::optional<double> override_w);

struct EstimateOptions {
  std::optional<double> watts_per_thread;  // Override of the table (criteria parameter).
  double memory_watts_per_gb = kDefaultMemoryWattsPerGb;
  double poll_interval_s = 1.0;  // Memory is sampled at this period during windows.
};

// Process CPU time (all threads, user + system) and resident set size; injectable for tests.
struct ProcessProbe {
  std::function<double()> cpu_seconds;  // CLOCK_PROCESS_CPUTIME_ID by default.
  std::function<double()> rss_gb;       // /proc/self/statm resident pages × page size.
};
ProcessProbe SelfProbe();

class EstimateMeter final : public CumulativeMeter {
 public:
  explicit EstimateMeter(EstimateOptions options, ProcessProbe probe = SelfProbe(),
                         SecondsClock clock = SteadyClock());
  ~EstimateMeter() override;

  std::string name() const override { return "estimate"; }
  std::string method() const override { return "estimate:cpu-time"; }
  std::optional<std::string> unavailable_reason() const override { return std::nullopt; }
  nlohmann::json Describe() const override;
  const CpuPowerChoice& cpu_power() const { return cpu_power_; }

 protected:
  std::vector<DomainEnergy> Poll() override;
  void Complete(EnergyReading& reading, int64_t begin_poll, int64_t end_poll) override;

 private:
  EstimateOptions options_;
  ProcessProbe probe_;
  CpuPowerChoice cpu_power_;
  std::string cpu_model_;
  double first_cpu_s_ = 0.0;
  double memory_j_ = 0.0;
  double last_s_ = 0.0;
  double last_rss_gb_ = 0.0;
  bool started_ = false;
  std::vector<double> cpu_s_at_poll_;
};

}  // namespace greenlight::energy
