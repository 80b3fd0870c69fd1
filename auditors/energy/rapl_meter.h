// RAPL (Running Average Power Limit) energy counters through the Linux powercap sysfs interface:
// Intel `intel-rapl:*` zones (and `intel-rapl-mmio:*`, which duplicates the package counter) and
// AMD zones, which the kernel exposes through the same powercap type. Counters are in µJ and wrap
// at max_energy_range_uj; wraps are corrected as long as the counter is polled at least once per
// wrap period (see RaplOptions::poll_interval_s).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "auditors/energy/energy_meter.h"

namespace greenlight::energy {

struct RaplOptions {
  std::filesystem::path root = "/sys/class/powercap";
  // Zone kinds summed into the figure. Kinds: "package", "dram", "core", "uncore", "psys".
  // A kind nested in another requested kind is refused (core/uncore lie inside package;
  // package and dram inside psys), so no joule is counted twice.
  std::vector<std::string> domains = {"package", "dram"};
  // At most ~1000 W through one package, a 262 kJ range (typical) wraps after ~4 minutes; polling
  // every second leaves a wide margin. 0: no background polling (tests).
  double poll_interval_s = 1.0;
};

// One powercap zone as found under the root.
struct RaplZone {
  std::string id;      // Directory name, e.g. "intel-rapl:0:2".
  std::string name;    // Content of `name`, e.g. "package-0", "dram".
  std::string kind;    // "package", "dram", "core", "uncore", "psys", ...
  std::string parent;  // Name of the parent package zone ("" for top-level zones).
  std::filesystem::path energy_path;
  std::optional<uint64_t> max_range_uj;  // Absent when max_energy_range_uj is missing.
  bool counted = false;  // Summed into the figure (kind requested, not a duplicate).
  std::string note;      // Why not counted, when it is not.
};

class RaplMeter final : public CumulativeMeter {
 public:
  // Discovers zones under options.root. Never throws for a missing or unreadable tree: the meter
  // is then unavailable with the reason. Throws InputError for an unknown or nested domain list.
  explicit RaplMeter(RaplOptions options, SecondsClock clock = SteadyClock());
  ~RaplMeter() override;

  std::string name() const override { return "rapl"; }
  std::string method() const override { return "measured:rapl"; }
  std::optional<std::string> unavailable_reason() const override { return unavailable_; }
  nlohmann::json Describe() const override;

  const std::vector<RaplZone>& zones() const { return zones_; }

 protected:
  std::vector<DomainEnergy> Poll() override;
  void Complete(EnergyReading& reading, int64_t begin_poll, int64_t end_poll) override;

 private:
  struct Counter {
    size_t zone = 0;  // Index into zones_.
    uint64_t last_raw_uj = 0;
    double total_j = 0.0;  // Unwrapped energy since the meter started.
    int64_t wraps = 0;
  };
  // A counter went backwards with no max_energy_range_uj to correct it, at this poll number.
  struct Uncorrectable {
    int64_t poll = 0;
    std::string zone;
  };

  void Discover();

  RaplOptions options_;
  std::vector<RaplZone> zones_;
  std::vector<Counter> counters_;
  std::vector<Uncorrectable> uncorrectable_;
  std::vector<std::pair<int64_t, std::string>> read_errors_;  // (poll, message)
  int64_t poll_number_ = 0;
  std::optional<std::string> unavailable_;
};

// Reads a decimal unsigned integer from a sysfs file. Returns nullopt and sets *error (errno text
// or "not a number") when it cannot.
std::optional<uint64_t> ReadSysfsUint(const std::filesystem::path& path, std::string* error);

}  // namespace greenlight::energy
