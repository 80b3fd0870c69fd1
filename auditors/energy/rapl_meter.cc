#include "auditors/energy/rapl_meter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>
#include <set>

#include "core/error.h"

namespace greenlight::energy {

namespace fs = std::filesystem;

std::optional<uint64_t> ReadSysfsUint(const fs::path& path, std::string* error) {
  // open/read rather than ifstream: the errno (EACCES on energy_uj for non-root users since
  // Linux 5.10, EISDIR, ENOENT) is the reason the report gives.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read " + path.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) {
    *error = "cannot read " + path.string() + ": " + std::strerror(read_errno);
    return std::nullopt;
  }
  buf[n] = '\0';
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(buf, &end, 10);
  if (end == buf || errno != 0 || (*end != '\0' && *end != '\n')) {
    *error = path.string() + " does not hold a number";
    return std::nullopt;
  }
  return static_cast<uint64_t>(v);
}

namespace {

std::optional<std::string> ReadFirstLine(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[128];
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n < 0) return std::nullopt;
  std::string s(buf, static_cast<size_t>(n));
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// "package-0" -> "package"; "dram" -> "dram"; "psys" -> "psys".
std::string KindOf(const std::string& name) {
  static const std::regex kIndexed(R"(^([a-z]+)-\d+$)");
  std::smatch m;
  if (std::regex_match(name, m, kIndexed)) return m[1];
  return name;
}

const std::set<std::string> kKnownKinds = {"package", "dram", "core", "uncore", "psys"};

// Containment between kinds: counting both would count the inner joules twice.
bool Contains(const std::string& outer, const std::string& inner) {
  if (outer == "package") return inner == "core" || inner == "uncore";
  if (outer == "psys") return inner != "psys";
  return false;
}

}  // namespace

RaplMeter::RaplMeter(RaplOptions options, SecondsClock clock)
    : CumulativeMeter(std::move(clock), options.poll_interval_s), options_(std::move(options)) {
  for (const std::string& d : options_.domains) {
    if (kKnownKinds.count(d) == 0) {
      throw InputError("rapl_domains: unknown domain '" + d +
                       "' (known: package, dram, core, uncore, psys)");
    }
    for (const std::string& other : options_.domains) {
      if (Contains(d, other)) {
        throw InputError("rapl_domains: '" + other + "' is nested inside '" + d +
                         "'; counting both would count its energy twice");
      }
    }
  }
  Discover();
  if (!unavailable_) {
    std::lock_guard<std::mutex> lock(mutex_);
    Poll();  // Baseline raw values; the first window starts from here.
  }
}

RaplMeter::~RaplMeter() { StopPolling(); }

void RaplMeter::Discover() {
  std::error_code ec;
  if (!fs::exists(options_.root, ec)) {
    unavailable_ = options_.root.string() +
                   " does not exist (no powercap/RAPL interface here; "
                   "virtual machines rarely expose one)";
    return;
  }
  if (!fs::is_directory(options_.root, ec)) {
    unavailable_ = options_.root.string() + " is not a directory";
    return;
  }
  // Zone directories: "<type>:<package>" and "<type>:<package>:<sub>" where <type> names a RAPL
  // powercap control type. Sysfs lists subzones both at the root (links) and inside their parent;
  // the directory name identifies a zone, so each is taken once.
  static const std::regex kZoneId(R"(^([a-z-]*rapl[a-z-]*):(\d+)(?::(\d+))?$)");
  std::map<std::string, fs::path> found;
  auto scan = [&](const fs::path& dir) {
    std::error_code it_ec;
    for (fs::directory_iterator it(dir, it_ec), end; !it_ec && it != end; it.increment(it_ec)) {
      const std::string id = it->path().filename().string();
      if (std::regex_match(id, kZoneId) && found.count(id) == 0) found[id] = it->path();
    }
  };
  scan(options_.root);
  for (const auto& [id, path] : std::map<std::string, fs::path>(found)) scan(path);
  if (found.empty()) {
    unavailable_ = "no RAPL zones under " + options_.root.string();
    return;
  }
  // MSR zones first, so a package also exposed through MMIO is counted from the MSR interface.
  std::vector<std::pair<std::string, fs::path>> ordered(found.begin(), found.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    const bool a_mmio = a.first.find("mmio") != std::string::npos;
    const bool b_mmio = b.first.find("mmio") != std::string::npos;
    return a_mmio != b_mmio ? !a_mmio : a.first < b.first;
  });
  std::map<std::string, std::string> top_name;  // "<type>:<package>" -> its name, e.g. package-0
  for (const auto& [id, path] : ordered) {
    std::smatch m;
    std::regex_match(id, m, kZoneId);
    if (!m[3].matched) {
      if (auto n = ReadFirstLine(path / "name")) top_name[id] = *n;
    }
  }
  std::set<std::string> counted_keys;
  std::vector<std::string> problems;
  for (const auto& [id, path] : ordered) {
    std::smatch m;
    std::regex_match(id, m, kZoneId);
    RaplZone z;
    z.id = id;
    const auto name = ReadFirstLine(path / "name");
    z.name = name ? *name : id;
    z.kind = KindOf(z.name);
    if (m[3].matched) {
      const std::string parent_id = std::string(m[1]) + ":" + std::string(m[2]);
      z.parent = top_name.count(parent_id) ? top_name[parent_id] : parent_id;
    }
    z.energy_path = path / "energy_uj";
    std::string error;
    z.max_range_uj = ReadSysfsUint(path / "max_energy_range_uj", &error);
    // The same physical counter may appear twice (MSR and MMIO interfaces of one package):
    // its key is the zone name within its package.
    const std::string key = z.parent.empty() ? z.name : z.parent + "/" + z.name;
    const bool requested = std::find(options_.domains.begin(), options_.domains.end(), z.kind) !=
                           options_.domains.end();
    if (!requested) {
      z.note = "domain not requested";
    } else if (counted_keys.count(key) != 0) {
      z.note = "duplicate of an already counted zone (" + key + ")";
    } else {
      std::string read_error;
      if (!ReadSysfsUint(z.energy_path, &read_error)) {
        problems.push_back(read_error);
        z.note = read_error;
      } else {
        z.counted = true;
        counted_keys.insert(key);
        counters_.push_back({zones_.size(), 0, 0.0, 0});
      }
    }
    zones_.push_back(std::move(z));
  }
  if (!problems.empty()) {
    // One unreadable requested zone makes the sum wrong: refuse rather than under-count.
    unavailable_ = problems.front();
    counters_.clear();
    for (RaplZone& z : zones_) z.counted = false;
    return;
  }
  if (counters_.empty()) {
    std::string domains;
    for (const auto& d : options_.domains) domains += (domains.empty() ? "" : ", ") + d;
    unavailable_ = "no readable RAPL zone of the requested domains (" + domains + ") under " +
                   options_.root.string();
  }
}

std::vector<DomainEnergy> RaplMeter::Poll() {
  ++poll_number_;
  std::vector<DomainEnergy> out;
  const bool first = poll_number_ == 1;
  for (Counter& c : counters_) {
    const RaplZone& z = zones_[c.zone];
    std::string error;
    const auto raw = ReadSysfsUint(z.energy_path, &error);
    if (!raw) {
      read_errors_.emplace_back(poll_number_, error);
    } else if (first) {
      c.last_raw_uj = *raw;
    } else {
      uint64_t delta_uj = 0;
      if (*raw >= c.last_raw_uj) {
        delta_uj = *raw - c.last_raw_uj;
      } else if (z.max_range_uj) {
        // The counter runs from 0 to max_energy_range_uj and restarts at 0 (as the kernel's
        // powercap documentation and CodeCarbon/Zeus handle it).
        delta_uj = (*z.max_range_uj - c.last_raw_uj) + *raw;
        ++c.wraps;
      } else {
        uncorrectable_.push_back({poll_number_, z.id});
      }
      c.total_j += static_cast<double>(delta_uj) * 1e-6;
      c.last_raw_uj = *raw;
    }
    out.push_back(
        {z.id + " (" + (z.parent.empty() ? z.name : z.parent + "/" + z.name) + ")", c.total_j});
  }
  return out;
}

void RaplMeter::Complete(EnergyReading& r, int64_t begin_poll, int64_t end_poll) {
  (void)begin_poll;
  (void)end_poll;
  // Poll numbers of this meter: CumulativeMeter counts polls from the first window's Begin,
  // while poll_number_ also counts the constructor's baseline read, hence the offset.
  const int64_t lo = begin_poll + 1, hi = end_poll + 1;
  for (const Uncorrectable& u : uncorrectable_) {
    if (u.poll > lo && u.poll <= hi) {
      r.valid = false;
      r.problem = "the counter of " + u.zone +
                  " went backwards (a wrap) and max_energy_range_uj is missing, so the wrap "
                  "cannot be corrected";
    }
  }
  for (const auto& [poll, message] : read_errors_) {
    if (poll >= lo && poll <= hi) {
      r.valid = false;
      r.problem = "meter unavailable: " + message;
    }
  }
  int64_t wraps = 0;
  for (const Counter& c : counters_) wraps += c.wraps;
  // RAPL on Intel since Haswell measures (not models) package energy; published validations
  // against plug meters (Khan et al., ACM TOMPECS 2018, "RAPL in Action") find it tracks
  // package+DRAM power closely but it does not see PSU, fans, disks or NICs. The ±5 % band is a
  // documented judgement for the counted domains, plus the counter resolution (1 µJ units,
  // updated about every 1 ms).
  r.relative_uncertainty = 0.05;
  r.absolute_uncertainty_j = 1e-3 * static_cast<double>(counters_.size());
  r.uncertainty_basis =
      "RAPL band: ±5 % of the counted domains (documented judgement, see docs/energy.md) "
      "+ 1 mJ per zone for counter update granularity";
  nlohmann::json zones = nlohmann::json::array();
  for (const RaplZone& z : zones_) {
    if (z.counted) zones.push_back(z.id + " " + z.name);
  }
  r.details["zones"] = zones;
  r.details["wraps_corrected_since_start"] = wraps;
  r.details["poll_interval_s"] = poll_interval_s();
}

nlohmann::json RaplMeter::Describe() const {
  nlohmann::json zones = nlohmann::json::array();
  for (const RaplZone& z : zones_) {
    nlohmann::json j = {{"id", z.id},
                        {"name", z.name},
                        {"kind", z.kind},
                        {"counted", z.counted},
                        {"energy_path", z.energy_path.string()}};
    j["max_energy_range_uj"] = z.max_range_uj ? nlohmann::json(*z.max_range_uj) : nullptr;
    if (!z.parent.empty()) j["parent"] = z.parent;
    if (!z.note.empty()) j["note"] = z.note;
    zones.push_back(j);
  }
  return {{"meter", "rapl"},
          {"root", options_.root.string()},
          {"domains", options_.domains},
          {"zones", zones},
          {"poll_interval_s", options_.poll_interval_s}};
}

}  // namespace greenlight::energy
