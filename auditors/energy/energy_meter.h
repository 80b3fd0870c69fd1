// Energy meters, after MLPerf Power's split between the system under test and the analyzer: a
// small interface with measurement windows, and one implementation per source of joules (RAPL,
// NVML, an external wall-meter log, and a CPU-time estimate for machines without a meter).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace greenlight::energy {

// Seconds on some monotonic clock (std::chrono::steady_clock by default). Injectable so tests can
// drive power sampling with exact timestamps.
using SecondsClock = std::function<double()>;
SecondsClock SteadyClock();
// Seconds since the Unix epoch (std::chrono::system_clock), for windows matched against logs.
double UnixNowSeconds();

// Energy attributed to one domain (a RAPL zone, a GPU, "cpu", "memory") over a window.
struct DomainEnergy {
  std::string name;
  double energy_j = 0.0;
};

// What a meter measured over one closed window.
struct EnergyReading {
  // false: the window has no usable figure; `problem` says why ("meter unavailable: ...", "the
  // power log holds 1 sample in the window, 3 needed", ...). Such a figure is inconclusive.
  bool valid = true;
  std::string problem;

  std::string meter;   // "rapl", "nvml", "external", "estimate"
  std::string method;  // "measured:rapl", ..., "estimate:cpu-time"
  double energy_j = 0.0;
  std::vector<DomainEnergy> domains;
  double duration_s = 0.0;    // Window length on the meter's clock.
  double start_unix_s = 0.0;  // Window edges, system clock (what logs are matched against).
  double end_unix_s = 0.0;
  int64_t samples = 0;  // Counter reads / power samples / log rows used for the window.

  // Uncertainty band of energy_j: [energy_j·(1 - relative) - absolute_j,
  // energy_j·(1 + relative) + absolute_j], unless band_low_factor/band_high_factor are set (the
  // estimate's multiplicative band). `uncertainty_basis` says where the numbers come from.
  double relative_uncertainty = 0.0;
  double absolute_uncertainty_j = 0.0;
  std::optional<double> band_low_factor;
  std::optional<double> band_high_factor;
  std::string uncertainty_basis;

  nlohmann::json details = nlohmann::json::object();  // Meter-specific facts for the report.

  double low_j() const;
  double high_j() const;
};

// A source of joules with measurement windows. Windows may nest and overlap (Begin, Begin, End,
// End): each has its own id. Begin and End are cheap enough to bracket a benchmark run.
// Thread-safe: Begin/End may come from the model's thread while a meter polls on its own.
class EnergyMeter {
 public:
  using WindowId = int64_t;
  virtual ~EnergyMeter() = default;

  virtual std::string name() const = 0;    // "rapl", "nvml", "external", "estimate"
  virtual std::string method() const = 0;  // "measured:rapl", ..., "estimate:cpu-time"
  // nullopt when the meter can measure here; else why not. The reason reads after
  // "meter unavailable: ", e.g. "/sys/class/powercap does not exist".
  virtual std::optional<std::string> unavailable_reason() const = 0;
  bool available() const { return !unavailable_reason().has_value(); }

  virtual WindowId Begin() = 0;
  virtual void End(WindowId window) = 0;
  // The figure of a window closed with End. Throws std::logic_error for an unknown or open id.
  virtual EnergyReading Read(WindowId window) = 0;

  // Meter facts for the report (zones, devices, library, table entry, ...).
  virtual nlohmann::json Describe() const = 0;
};

// Base of meters that keep a cumulative energy total per domain (RAPL counters, NVML energy or
// integrated power, CPU-time estimate): a window is the difference of two polls. While at least
// one window is open, a background thread polls every poll_interval_s so that counter wraps are
// seen (RAPL) and power is sampled (NVML); 0 disables the thread (tests call PollNow()).
class CumulativeMeter : public EnergyMeter {
 public:
  ~CumulativeMeter() override;

  WindowId Begin() override;
  void End(WindowId window) override;
  EnergyReading Read(WindowId window) override;

  // Polls the hardware now (tests; the polling thread calls it too).
  void PollNow();
  // Polls so far (all windows); lets tests wait for the background poller.
  int64_t polls();
  void set_poll_interval_s(double seconds) { poll_interval_s_ = seconds; }
  double poll_interval_s() const { return poll_interval_s_; }

 protected:
  explicit CumulativeMeter(SecondsClock clock, double poll_interval_s);

  // Reads the hardware and returns the cumulative energy of every domain since the meter was
  // created, in joules, non-decreasing. Called with mutex_ held; never concurrently.
  virtual std::vector<DomainEnergy> Poll() = 0;
  // Called at the edges of a window before its poll (GPU synchronisation). Default: nothing.
  virtual void AtWindowEdge() {}
  // Fills the meter-specific parts of a closed window's reading (method, uncertainty, problem)
  // from its energy. `begin_poll`/`end_poll` are the poll counts at the edges. Called with mutex_.
  virtual void Complete(EnergyReading& reading, int64_t begin_poll, int64_t end_poll) = 0;

  // Stops the polling thread; derived destructors call it before their state goes away.
  void StopPolling();

  SecondsClock clock_;
  std::mutex mutex_;

 private:
  struct Window {
    std::vector<DomainEnergy> begin_totals;
    std::vector<DomainEnergy> end_totals;
    double begin_s = 0.0, end_s = 0.0;
    double begin_unix_s = 0.0, end_unix_s = 0.0;
    int64_t begin_poll = 0, end_poll = 0;
    bool open = true;
  };
  std::vector<DomainEnergy> PollLocked();  // Poll() + bookkeeping.
  void PollerLoop(std::shared_ptr<bool> stop);

  double poll_interval_s_;
  std::map<WindowId, Window> windows_;
  WindowId next_id_ = 1;
  int open_windows_ = 0;
  int64_t polls_ = 0;
  std::thread poller_;
  std::shared_ptr<bool> poller_stop_;
  std::condition_variable wake_;
};

}  // namespace greenlight::energy
