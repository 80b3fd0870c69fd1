#include "auditors/energy/estimate_meter.h"

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <numeric>
#include <regex>

#include "core/error.h"

namespace greenlight::energy {

namespace {
constexpr const char* kCcfSource =
    "Cloud Carbon Footprint coefficients (github.com/cloud-carbon-footprint/"
    "cloud-carbon-coefficients; SPECpower_ssj2008 results), max watts per vCPU by "
    "micro-architecture, as tabulated in GreenKube's power estimation methodology";
}  // namespace

const std::vector<CpuPowerEntry>& CpuPowerTable() {
  static const std::vector<CpuPowerEntry> kTable = {
      {"Intel Haswell", R"(Xeon.*E[357]-[0-9]{4}[A-Z]* v3)", 5.99, kCcfSource},
      {"Intel Broadwell", R"(Xeon.*E[357]-[0-9]{4}[A-Z]* v4)", 3.54, kCcfSource},
      {"Intel Skylake", R"(Xeon.*(Platinum|Gold|Silver|Bronze) [0-9]1[0-9]{2})", 4.05, kCcfSource},
      {"Intel Cascade Lake", R"(Xeon.*(Platinum|Gold|Silver|Bronze) [0-9]2[0-9]{2})", 3.80,
       kCcfSource},
      {"AMD EPYC 1st gen (Naples)", R"(EPYC 7[0-9A-Z]{2}1)", 2.55, kCcfSource},
      {"AMD EPYC 2nd gen (Rome)", R"(EPYC 7[0-9A-Z]{2}2)", 1.64, kCcfSource},
      {"AMD EPYC 3rd gen (Milan)", R"(EPYC 7[0-9A-Z]{2}3)", 1.87, kCcfSource},
  };
  return kTable;
}

double DefaultWattsPerThread() {
  const auto& t = CpuPowerTable();
  double sum = 0.0;
  for (const auto& e : t) sum += e.watts_per_thread;
  return sum / static_cast<double>(t.size());
}

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(' '));
        return v;
      }
    }
  }
  return "";
}

CpuPowerChoice ChooseCpuPower(const std::string& model_name, std::optional<double> override_w) {
  if (override_w) {
    if (!(*override_w > 0.0)) throw InputError("cpu_watts_per_thread must be > 0");
    return {*override_w, "criteria parameter cpu_watts_per_thread"};
  }
  for (const CpuPowerEntry& e : CpuPowerTable()) {
    if (std::regex_search(model_name, std::regex(e.pattern))) {
      return {e.watts_per_thread, "table: " + e.family + " (" + e.source + ")"};
    }
  }
  return {DefaultWattsPerThread(), "default: mean of the table's " +
                                       std::to_string(CpuPowerTable().size()) +
                                       " families (CPU model '" + model_name + "' matches no row)"};
}

ProcessProbe SelfProbe() {
  ProcessProbe p;
  p.cpu_seconds = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  p.rss_gb = [] {
    std::ifstream in("/proc/self/statm");
    long long size = 0, resident = 0;
    if (!(in >> size >> resident)) return 0.0;
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e9;
  };
  return p;
}

EstimateMeter::EstimateMeter(EstimateOptions options, ProcessProbe probe, SecondsClock clock)
    : CumulativeMeter(std::move(clock), options.poll_interval_s),
      options_(std::move(options)),
      probe_(std::move(probe)) {
  if (options_.memory_watts_per_gb < 0.0) throw InputError("memory_watts_per_gb must be >= 0");
  cpu_model_ = CpuModelName();
  cpu_power_ = ChooseCpuPower(cpu_model_, options_.watts_per_thread);
  std::lock_guard<std::mutex> lock(mutex_);
  Poll();
}

EstimateMeter::~EstimateMeter() { StopPolling(); }

std::vector<DomainEnergy> EstimateMeter::Poll() {
  const double now = clock_();
  const double cpu_s = probe_.cpu_seconds();
  const double rss = probe_.rss_gb();
  if (!started_) {
    first_cpu_s_ = cpu_s;
    started_ = true;
  } else {
    // Trapezoid over resident memory between polls.
    memory_j_ += options_.memory_watts_per_gb * 0.5 * (rss + last_rss_gb_) * (now - last_s_);
  }
  last_s_ = now;
  last_rss_gb_ = rss;
  cpu_s_at_poll_.push_back(cpu_s);
  return {{"cpu", (cpu_s - first_cpu_s_) * cpu_power_.watts_per_thread}, {"memory", memory_j_}};
}

void EstimateMeter::Complete(EnergyReading& r, int64_t begin_poll, int64_t end_poll) {
  // Base poll k is our poll k + 1 (the constructor polled once); index = poll number - 1.
  const double cpu_s = cpu_s_at_poll_[static_cast<size_t>(end_poll)] -
                       cpu_s_at_poll_[static_cast<size_t>(begin_poll)];
  r.band_low_factor = kEstimateBandLow;
  r.band_high_factor = kEstimateBandHigh;
  r.uncertainty_basis =
      "estimate band ×0.5 to ×2 (documented judgement: per-thread power varies ~3.7× across CPU "
      "families and utilisation models are off by tens of percent; see docs/energy.md)";
  r.details["cpu_seconds"] = cpu_s;
  r.details["cpu_model"] = cpu_model_;
  r.details["watts_per_thread"] = cpu_power_.watts_per_thread;
  r.details["watts_per_thread_basis"] = cpu_power_.basis;
  r.details["memory_watts_per_gb"] = options_.memory_watts_per_gb;
  r.details["memory_basis"] = "CodeCarbon's RAM model: 3 W per 8 GB, applied to resident memory";
  r.details["rss_gb_at_end"] = last_rss_gb_;
}

nlohmann::json EstimateMeter::Describe() const {
  return {{"meter", "estimate"},
          {"cpu_model", cpu_model_},
          {"watts_per_thread", cpu_power_.watts_per_thread},
          {"watts_per_thread_basis", cpu_power_.basis},
          {"memory_watts_per_gb", options_.memory_watts_per_gb}};
}

}  // namespace greenlight::energy
