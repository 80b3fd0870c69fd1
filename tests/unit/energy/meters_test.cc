// Energy meters against hand computations: RAPL on generated sysfs trees, NVML through a fake
// libnvidia-ml, the external power log, the CPU-time estimate.
#define BOOST_TEST_MODULE energy
#include <dlfcn.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "auditors/energy/estimate_meter.h"
#include "auditors/energy/external_log_meter.h"
#include "auditors/energy/nvml_meter.h"
#include "auditors/energy/rapl_meter.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace greenlight::energy;

namespace {

// A temporary directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/greenlight-energy-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text << "\n";
}

// One powercap zone directory.
void Zone(const fs::path& dir, const std::string& name, uint64_t energy_uj,
          std::optional<uint64_t> max_uj = 262143328850ULL) {
  Write(dir / "name", name);
  Write(dir / "energy_uj", std::to_string(energy_uj));
  if (max_uj) Write(dir / "max_energy_range_uj", std::to_string(*max_uj));
}

void SetEnergy(const fs::path& dir, uint64_t energy_uj) {
  Write(dir / "energy_uj", std::to_string(energy_uj));
}

RaplOptions Rapl(const fs::path& root) {
  RaplOptions o;
  o.root = root;
  o.poll_interval_s = 0.0;  // The test polls by hand.
  return o;
}

}  // namespace

// ---------------------------------------------------------------- RAPL

BOOST_AUTO_TEST_CASE(rapl_counts_package_and_dram_once) {
  TempDir t;
  const fs::path pkg = t.path / "intel-rapl:0";
  // Sysfs nests subzones in their package and also links them at the class root; a second
  // interface (MMIO) exposes the same package counter again.
  Zone(pkg, "package-0", 1'000'000);
  Zone(pkg / "intel-rapl:0:0", "core", 500'000);
  Zone(pkg / "intel-rapl:0:1", "dram", 200'000);
  fs::create_directory_symlink(pkg / "intel-rapl:0:0", t.path / "intel-rapl:0:0");
  fs::create_directory_symlink(pkg / "intel-rapl:0:1", t.path / "intel-rapl:0:1");
  Zone(t.path / "intel-rapl-mmio:0", "package-0", 7'000'000);
  Zone(t.path / "intel-rapl:1", "package-1", 0);

  RaplMeter meter(Rapl(t.path));
  BOOST_REQUIRE(meter.available());
  const auto w = meter.Begin();
  SetEnergy(pkg, 4'000'000);                           // +3 J
  SetEnergy(pkg / "intel-rapl:0:0", 2'500'000);        // core +2 J: inside package, not added
  SetEnergy(pkg / "intel-rapl:0:1", 700'000);          // dram +0.5 J
  SetEnergy(t.path / "intel-rapl-mmio:0", 9'000'000);  // duplicate of package-0: not added
  SetEnergy(t.path / "intel-rapl:1", 1'250'000);       // +1.25 J
  meter.End(w);
  const EnergyReading r = meter.Read(w);
  BOOST_TEST(r.valid);
  BOOST_TEST(r.energy_j == 3.0 + 0.5 + 1.25, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.domains.size() == 3u);
  BOOST_TEST(r.method == "measured:rapl");
  int counted = 0;
  for (const RaplZone& z : meter.zones()) counted += z.counted ? 1 : 0;
  BOOST_TEST(counted == 3);
}

BOOST_AUTO_TEST_CASE(rapl_corrects_one_wrap) {
  TempDir t;
  const fs::path pkg = t.path / "intel-rapl:0";
  Zone(pkg, "package-0", 900'000, 1'000'000);
  RaplMeter meter(Rapl(t.path));
  const auto w = meter.Begin();
  SetEnergy(pkg, 100'000);  // Wrapped: (1'000'000 - 900'000) + 100'000 µJ.
  meter.End(w);
  const auto r = meter.Read(w);
  BOOST_TEST(r.valid);
  BOOST_TEST(r.energy_j == 0.2, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(rapl_corrects_several_wraps_with_polling) {
  TempDir t;
  const fs::path pkg = t.path / "intel-rapl:0";
  Zone(pkg, "package-0", 900'000, 1'000'000);
  RaplMeter meter(Rapl(t.path));
  const auto w = meter.Begin();
  SetEnergy(pkg, 400'000);  // wrap: 100k + 400k = 500k
  meter.PollNow();
  SetEnergy(pkg, 950'000);  // 550k
  meter.PollNow();
  SetEnergy(pkg, 200'000);  // wrap: 50k + 200k = 250k
  meter.PollNow();
  SetEnergy(pkg, 300'000);  // 100k
  meter.End(w);
  const auto r = meter.Read(w);
  BOOST_TEST(r.valid);
  BOOST_TEST(r.energy_j == 1.4, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.samples == 5);  // Begin, three polls, End.
  BOOST_TEST(r.details["wraps_corrected_since_start"].get<int>() == 2);
}

BOOST_AUTO_TEST_CASE(rapl_background_polling_sees_wraps) {
  TempDir t;
  const fs::path pkg = t.path / "intel-rapl:0";
  Zone(pkg, "package-0", 0, 1'000'000);
  RaplOptions o = Rapl(t.path);
  o.poll_interval_s = 0.01;
  RaplMeter meter(o);
  const auto w = meter.Begin();
  // Three full turns of the counter in steps of 0.6 of the range; after each step the test
  // waits until the background poller has read the counter, so every step is seen and each
  // wrap corrected (no timing assumption).
  uint64_t raw = 0;
  for (int step = 0; step < 5; ++step) {
    raw = (raw + 600'000) % 1'000'000;
    SetEnergy(pkg, raw);
    const int64_t seen = meter.polls();
    for (int i = 0; i < 5000 && meter.polls() < seen + 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    BOOST_REQUIRE(meter.polls() >= seen + 2);
  }
  meter.End(w);
  const auto r = meter.Read(w);
  BOOST_TEST(r.energy_j == 3.0, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(rapl_missing_max_range) {
  TempDir t;
  const fs::path pkg = t.path / "intel-rapl:0";
  Zone(pkg, "package-0", 100, std::nullopt);
  RaplMeter meter(Rapl(t.path));
  BOOST_REQUIRE(meter.available());
  BOOST_TEST(meter.Describe()["zones"][0]["max_energy_range_uj"].is_null());
  // Without a wrap the counter is still usable.
  auto w = meter.Begin();
  SetEnergy(pkg, 2'000'100);
  meter.End(w);
  auto r = meter.Read(w);
  BOOST_TEST(r.valid);
  BOOST_TEST(r.energy_j == 2.0, boost::test_tools::tolerance(1e-12));
  // A wrap cannot be corrected: the window has no figure, and says why.
  w = meter.Begin();
  SetEnergy(pkg, 50);
  meter.End(w);
  r = meter.Read(w);
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.problem.find("max_energy_range_uj is missing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rapl_unreadable_or_missing_is_unavailable) {
  {
    TempDir t;
    RaplMeter meter(Rapl(t.path / "nope"));
    BOOST_TEST(!meter.available());
    BOOST_TEST(meter.unavailable_reason()->find("does not exist") != std::string::npos);
  }
  {
    // Tests run as root, who may read a mode-000 file: a directory where energy_uj should be
    // fails for everyone (EISDIR), as EACCES does for a normal user since Linux 5.10.
    TempDir t;
    const fs::path pkg = t.path / "intel-rapl:0";
    Write(pkg / "name", "package-0");
    fs::create_directories(pkg / "energy_uj");
    RaplMeter meter(Rapl(t.path));
    BOOST_TEST(!meter.available());
    BOOST_TEST(meter.unavailable_reason()->find("cannot read " + (pkg / "energy_uj").string()) ==
               0u);
    BOOST_TEST(meter.unavailable_reason()->find("Is a directory") != std::string::npos);
  }
  if (::geteuid() != 0) {
    // As a normal user, permission bits are the usual cause.
    TempDir t;
    const fs::path pkg = t.path / "intel-rapl:0";
    Zone(pkg, "package-0", 1);
    fs::permissions(pkg / "energy_uj", fs::perms::none);
    RaplMeter meter(Rapl(t.path));
    BOOST_TEST(meter.unavailable_reason()->find("Permission denied") != std::string::npos);
  }
  {
    TempDir t;
    Write(t.path / "unrelated" / "x", "1");
    RaplMeter meter(Rapl(t.path));
    BOOST_TEST(meter.unavailable_reason()->find("no RAPL zones") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(rapl_refuses_nested_domain_requests) {
  TempDir t;
  RaplOptions o = Rapl(t.path);
  o.domains = {"package", "core"};
  BOOST_CHECK_THROW(RaplMeter{o}, greenlight::InputError);
  o.domains = {"psys", "dram"};
  BOOST_CHECK_THROW(RaplMeter{o}, greenlight::InputError);
  o.domains = {"gpu"};
  BOOST_CHECK_THROW(RaplMeter{o}, greenlight::InputError);
}

BOOST_AUTO_TEST_CASE(windows_nest) {
  TempDir t;
  const fs::path pkg = t.path / "intel-rapl:0";
  Zone(pkg, "package-0", 0);
  RaplMeter meter(Rapl(t.path));
  const auto outer = meter.Begin();
  SetEnergy(pkg, 1'000'000);
  const auto inner = meter.Begin();
  SetEnergy(pkg, 3'000'000);
  meter.End(inner);
  SetEnergy(pkg, 3'500'000);
  meter.End(outer);
  BOOST_TEST(meter.Read(inner).energy_j == 2.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(meter.Read(outer).energy_j == 3.5, boost::test_tools::tolerance(1e-12));
  BOOST_CHECK_THROW(meter.End(inner), std::logic_error);
}

// ---------------------------------------------------------------- NVML

namespace {
struct FakeNvml {
  void* handle;
  void (*configure)(int, int, int);
  void (*set_energy)(int, unsigned long long);
  void (*set_power)(int, unsigned int);
  int (*initialized)();
  FakeNvml() {
    handle = ::dlopen(GREENLIGHT_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
    BOOST_REQUIRE(handle != nullptr);
    configure = reinterpret_cast<void (*)(int, int, int)>(::dlsym(handle, "fake_nvml_configure"));
    set_energy = reinterpret_cast<void (*)(int, unsigned long long)>(
        ::dlsym(handle, "fake_nvml_set_energy_mj"));
    set_power =
        reinterpret_cast<void (*)(int, unsigned int)>(::dlsym(handle, "fake_nvml_set_power_mw"));
    initialized = reinterpret_cast<int (*)()>(::dlsym(handle, "fake_nvml_initialized"));
  }
  ~FakeNvml() { ::dlclose(handle); }
};

NvmlOptions FakeOptions() {
  NvmlOptions o;
  o.library = GREENLIGHT_FAKE_NVML;
  o.sample_interval_s = 0.0;
  o.synchronize = [] {};
  return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(nvml_missing_library_is_unavailable) {
  NvmlOptions o = FakeOptions();
  o.library = "/nonexistent/libnvidia-ml.so.1";
  NvmlMeter meter(o);
  BOOST_TEST(!meter.available());
  BOOST_TEST(meter.unavailable_reason()->find("cannot load /nonexistent/libnvidia-ml.so.1") == 0u);
}

BOOST_AUTO_TEST_CASE(nvml_init_failure_is_unavailable) {
  FakeNvml fake;
  fake.configure(1, 1, 9);
  NvmlMeter meter(FakeOptions());
  BOOST_TEST(!meter.available());
  BOOST_TEST(*meter.unavailable_reason() == "nvmlInit_v2 failed: NVML error 9 (Driver Not Loaded)");
  fake.configure(0, 1, 0);
  NvmlMeter none(FakeOptions());
  BOOST_TEST(*none.unavailable_reason() == "NVML reports no NVIDIA GPU");
}

BOOST_AUTO_TEST_CASE(nvml_energy_counter) {
  FakeNvml fake;
  fake.configure(2, 1, 0);
  fake.set_energy(0, 1'000);
  fake.set_energy(1, 50'000);
  int syncs = 0;
  {
    NvmlOptions o = FakeOptions();
    o.synchronize = [&syncs] { ++syncs; };
    NvmlMeter meter(o);
    BOOST_REQUIRE(meter.available());
    BOOST_TEST(fake.initialized() == 1);
    const auto w = meter.Begin();
    fake.set_energy(0, 6'500);   // +5.5 J
    fake.set_energy(1, 52'000);  // +2 J
    meter.End(w);
    const auto r = meter.Read(w);
    BOOST_TEST(r.valid);
    BOOST_TEST(r.energy_j == 7.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(r.domains.size() == 2u);
    BOOST_TEST(r.details["devices"][0]["source"] == "nvmlDeviceGetTotalEnergyConsumption");
    BOOST_TEST(syncs == 2);  // Both window edges.
  }
  BOOST_TEST(fake.initialized() == 0);  // nvmlShutdown on destruction.
}

BOOST_AUTO_TEST_CASE(nvml_power_sampling_trapezoid) {
  FakeNvml fake;
  fake.configure(1, 0, 0);  // No energy counter (pre-Volta): power sampling.
  double now = 0.0;
  fake.set_power(0, 100'000);  // 100 W
  NvmlMeter meter(FakeOptions(), [&now] { return now; });
  BOOST_REQUIRE(meter.available());
  const auto w = meter.Begin();  // t = 0, 100 W
  now = 1.0;
  fake.set_power(0, 200'000);
  meter.PollNow();  // t = 1, 200 W
  now = 3.0;
  fake.set_power(0, 100'000);
  meter.End(w);  // t = 3, 100 W
  const auto r = meter.Read(w);
  // (100 + 200) / 2 · 1 + (200 + 100) / 2 · 2 = 150 + 300 J.
  BOOST_TEST(r.energy_j == 450.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.samples == 3);
  // Trapezoid bound: |200 - 100| · 1 / 2 + |100 - 200| · 2 / 2 = 150 J.
  BOOST_TEST(r.details["trapezoid_error_bound_j"].get<double>() == 150.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.duration_s == 3.0, boost::test_tools::tolerance(1e-12));
  // Averaging lag (readings are 1 s averages since Ampere): 1 s × (200 - 100) W = 100 J.
  BOOST_TEST(r.details["averaging_lag_bound_j"].get<double>() == 100.0,
             boost::test_tools::tolerance(1e-12));
  // Band: ±(5 W × 3 s + 150 J trapezoid + 100 J lag + 1 mJ).
  BOOST_TEST(r.high_j() == 450.0 + 15.0 + 150.0 + 100.0 + 0.001,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.low_j() == 450.0 - 15.0 - 150.0 - 100.0 - 0.001,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(nvml_real_library_when_present) {
  NvmlOptions o;
  o.sample_interval_s = 0.02;
  NvmlMeter meter(o);
  if (!meter.available()) {
    BOOST_TEST_MESSAGE("real NVML not used: " << *meter.unavailable_reason());
    return;
  }
  const auto w = meter.Begin();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  meter.End(w);
  const auto r = meter.Read(w);
  BOOST_TEST_MESSAGE("real NVML: " << r.energy_j << " J in " << r.duration_s << " s, "
                                   << meter.Describe().dump());
  BOOST_TEST(r.valid);
  BOOST_TEST(r.energy_j >= 0.0);
  // An idle or busy GPU board draws between a few watts and ~1 kW.
  BOOST_TEST(r.energy_j / r.duration_s < 1000.0 * r.domains.size());
}

// ---------------------------------------------------------------- External power log

namespace {
const char* kLog =
    "timestamp,watts\n"
    "100,10\n"
    "101,20\n"
    "102,30\n"
    "103,20\n"
    "104,10\n";
}

BOOST_AUTO_TEST_CASE(external_log_integrates_exactly_over_the_window) {
  TempDir t;
  Write(t.path / "power.csv", kLog);
  const auto samples = ReadPowerLog(t.path / "power.csv");
  BOOST_REQUIRE(samples.size() == 5u);
  // Window [100.5, 103.25], starting and ending between samples. By hand, with P linear:
  // [100.5, 101]: (15 + 20) / 2 · 0.5 = 8.75; [101, 102]: 25; [102, 103]: 25;
  // [103, 103.25]: (20 + 17.5) / 2 · 0.25 = 4.6875. Total 63.4375 J.
  const auto i = IntegrateWindow(samples, 100.5, 103.25);
  BOOST_TEST(i.covered);
  BOOST_TEST(i.energy_j == 63.4375, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(i.samples_inside == 3);
  // Interpolation bound: (5·0.5 + 10 + 10 + 2.5·0.25) / 2 = 11.5625.
  BOOST_TEST(i.interpolation_error_j == 11.5625, boost::test_tools::tolerance(1e-12));

  // Through the meter, whose window edges come from the (injected) system clock.
  std::vector<double> edges = {100.5, 103.25};
  size_t next = 0;
  ExternalLogOptions o;
  o.log = t.path / "power.csv";
  ExternalLogMeter meter(o, [&] { return edges[next++]; });
  const auto w = meter.Begin();
  meter.End(w);
  const auto r = meter.Read(w);
  BOOST_TEST(r.valid);
  BOOST_TEST(r.method == "measured:external");
  BOOST_TEST(r.energy_j == 63.4375, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.start_unix_s == 100.5);
  BOOST_TEST(r.end_unix_s == 103.25);
  BOOST_TEST(r.samples == 3);
}

BOOST_AUTO_TEST_CASE(external_log_too_few_samples_or_uncovered) {
  TempDir t;
  Write(t.path / "power.csv", kLog);
  ExternalLogOptions o;
  o.log = t.path / "power.csv";
  o.min_samples = 4;
  std::vector<double> edges = {100.5, 103.25, 102.5, 104.5};
  size_t next = 0;
  ExternalLogMeter meter(o, [&] { return edges[next++]; });
  auto w = meter.Begin();
  meter.End(w);
  auto r = meter.Read(w);
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.problem.find("3 sample(s) inside the window; at least 4") != std::string::npos);
  w = meter.Begin();
  meter.End(w);
  r = meter.Read(w);  // Ends after the last sample.
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.problem.find("does not cover") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(external_log_formats_and_errors) {
  TempDir t;
  // PTDaemon (MLPerf Power analyzer) lines.
  Write(t.path / "ptd.log",
        "Time,11-28-2026 13:00:00.000,Watts,50.0,Volts,230.1,Amps,0.3,PF,0.9,Mark,x\n"
        "Time,11-28-2026 13:00:01.500,Watts,70.0,Volts,230.0,Amps,0.4,PF,0.9,Mark,x");
  const auto ptd = ReadPowerLog(t.path / "ptd.log");
  BOOST_REQUIRE(ptd.size() == 2u);
  const double t0 = *ParseRfc3339("2026-11-28T13:00:00Z");
  BOOST_TEST(ptd[0].unix_s == t0);
  BOOST_TEST(ptd[1].unix_s == t0 + 1.5);
  BOOST_TEST(ptd[1].watts == 70.0);
  // 2026-11-28T13:00:00Z = 1795870800 s (date -u -d ... +%s).
  BOOST_TEST(t0 == 1795870800.0);
  BOOST_TEST(*ParseRfc3339("2026-11-28T14:00:00.25+01:00") == t0 + 0.25);
  // RFC 3339 column in a CSV with other columns.
  Write(t.path / "rfc.csv",
        "volts,power_w,time\n230,5,2026-11-28T13:00:00Z\n230,7,2026-11-28T13:00:02Z");
  const auto rfc = ReadPowerLog(t.path / "rfc.csv");
  BOOST_TEST(rfc[1].unix_s == t0 + 2.0);
  BOOST_TEST(rfc[1].watts == 7.0);
  Write(t.path / "bad.csv", "timestamp,watts\n1,2\n2,abc");
  try {
    ReadPowerLog(t.path / "bad.csv");
    BOOST_FAIL("no error");
  } catch (const greenlight::InputError& e) {
    BOOST_TEST(std::string(e.what()).find("bad.csv:3: bad watt value 'abc'") != std::string::npos);
  }
}

// ---------------------------------------------------------------- Estimate

BOOST_AUTO_TEST_CASE(estimate_hand_computation) {
  double cpu = 10.0, now = 0.0;
  ProcessProbe probe{[&] { return cpu; }, [] { return 2.0; }};
  EstimateOptions o;
  o.watts_per_thread = 3.0;
  o.poll_interval_s = 0.0;
  EstimateMeter meter(o, probe, [&] { return now; });
  const auto w = meter.Begin();
  cpu = 14.0;
  now = 5.0;
  meter.End(w);
  const auto r = meter.Read(w);
  // CPU: 4 s × 3 W = 12 J; memory: 2 GB × 0.375 W/GB × 5 s = 3.75 J.
  BOOST_TEST(r.energy_j == 15.75, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.method == "estimate:cpu-time");
  BOOST_TEST(r.low_j() == 15.75 / 2);
  BOOST_TEST(r.high_j() == 15.75 * 2);
}

BOOST_AUTO_TEST_CASE(estimate_cpu_table) {
  BOOST_TEST(ChooseCpuPower("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", {}).watts_per_thread ==
             3.80);
  BOOST_TEST(ChooseCpuPower("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", {}).watts_per_thread ==
             4.05);
  BOOST_TEST(ChooseCpuPower("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", {}).watts_per_thread ==
             3.54);
  BOOST_TEST(ChooseCpuPower("AMD EPYC 7R13 Processor", {}).watts_per_thread == 1.87);
  BOOST_TEST(ChooseCpuPower("AMD EPYC 7742 64-Core Processor", {}).watts_per_thread == 1.64);
  // Unknown model (a QEMU vCPU): the documented default, mean of the table.
  const auto d = ChooseCpuPower("Intel(R) Xeon(R) Processor", {});
  BOOST_TEST(d.watts_per_thread == (5.99 + 3.54 + 4.05 + 3.80 + 2.55 + 1.64 + 1.87) / 7.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(d.basis.find("default") == 0u);
  BOOST_TEST(ChooseCpuPower("anything", 7.5).watts_per_thread == 7.5);
}

namespace {
// A fixed amount of CPU work: `units` × the same arithmetic loop.
double Work(int units) {
  volatile double sink = 0.0;
  for (int u = 0; u < units; ++u) {
    double x = 1.0;
    for (int i = 0; i < 2'000'000; ++i) x = x * 1.0000001 + 1e-9;
    sink = sink + x;
  }
  return sink;
}
}  // namespace

BOOST_AUTO_TEST_CASE(estimate_twice_the_work_twice_the_energy) {
  // Windows of one and of two work units, interleaved over many rounds so that slow changes in
  // the machine's load (CPU time per unit drifts on a shared VM) fall on both sides alike.
  EstimateMeter meter(EstimateOptions{});
  Work(5);  // Warm up.
  double one = 0.0, two = 0.0;
  for (int round = 0; round < 40; ++round) {
    const auto a = meter.Begin();
    Work(1);
    meter.End(a);
    const auto b = meter.Begin();
    Work(2);
    meter.End(b);
    one += meter.Read(a).energy_j;
    two += meter.Read(b).energy_j;
  }
  BOOST_TEST_MESSAGE("estimate: " << one << " J vs " << two << " J");
  BOOST_TEST(one > 0.0);
  BOOST_TEST(two / one == 2.0, boost::test_tools::tolerance(0.10));
}
