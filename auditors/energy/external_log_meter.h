// Energy from an external power log: timestamped watt readings written by a wall meter's logger
// (MLPerf Power's PTDaemon analyzer log, or a plain CSV). The window's energy is the integral of
// the piecewise-linear power curve over exactly the window, whose edges are taken on the system
// clock (the logger and this machine must share UTC time, e.g. via NTP).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "auditors/energy/energy_meter.h"

namespace greenlight::energy {

struct PowerSample {
  double unix_s = 0.0;
  double watts = 0.0;
};

// Parses a power log. Two layouts are accepted:
//  - CSV with a header naming a time column (`timestamp`, `time`, `unix_s` or `time_s`) and a
//    power column (`watts`, `power_w` or `power`); times are Unix seconds (decimal) or RFC 3339
//    (`2026-11-28T13:00:00.25Z`, `+hh:mm` offsets accepted).
//  - PTDaemon lines `Time,MM-DD-YYYY HH:MM:SS.fff,Watts,<w>,...` (times read as UTC).
// Samples come back sorted by time. Throws InputError naming the file and line on a bad row.
std::vector<PowerSample> ReadPowerLog(const std::filesystem::path& path);

// Parses "2026-11-28T13:00:00.25Z" / "...+01:00" / "2026-11-28 13:00:00"; nullopt if malformed.
std::optional<double> ParseRfc3339(const std::string& text);

struct WindowIntegral {
  bool covered = false;        // The log has samples at or before start and at or after end.
  double energy_j = 0.0;       // ∫ P dt over [start, end], P linear between samples.
  int64_t samples_inside = 0;  // Samples with start <= t <= end.
  // Half the gap between left- and right-endpoint sums over the window: bounds the error of the
  // linear interpolation when power is monotone between samples.
  double interpolation_error_j = 0.0;
  double max_gap_s = 0.0;  // Longest interval between consecutive samples touching the window.
};

// Integrates the samples over [start_s, end_s] (Unix seconds), interpolating at both edges.
WindowIntegral IntegrateWindow(const std::vector<PowerSample>& samples, double start_s,
                               double end_s);

struct ExternalLogOptions {
  std::filesystem::path log;
  int64_t min_samples = 3;          // Fewer samples inside the window: inconclusive.
  double meter_accuracy_pct = 1.0;  // The wall meter's stated accuracy (datasheet), ± %.
};

// Window edges are recorded at Begin/End; the log is read when a window is Read, so the logger
// may lag behind the run. Missing file at Read: the reading is invalid (inconclusive).
class ExternalLogMeter final : public EnergyMeter {
 public:
  // `unix_clock` gives Unix seconds (tests inject fixed edges).
  explicit ExternalLogMeter(ExternalLogOptions options,
                            std::function<double()> unix_clock = UnixNowSeconds);

  std::string name() const override { return "external"; }
  std::string method() const override { return "measured:external"; }
  std::optional<std::string> unavailable_reason() const override;
  WindowId Begin() override;
  void End(WindowId window) override;
  EnergyReading Read(WindowId window) override;
  nlohmann::json Describe() const override;

 private:
  struct Window {
    double start_s = 0.0, end_s = 0.0;
    bool open = true;
  };
  ExternalLogOptions options_;
  std::function<double()> unix_clock_;
  std::mutex mutex_;
  std::map<WindowId, Window> windows_;
  WindowId next_id_ = 1;
};

}  // namespace greenlight::energy
