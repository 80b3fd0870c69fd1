#include "auditors/energy/energy_metrics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/efficiency/timed_run.h"
#include "auditors/energy/carbon.h"
#include "auditors/energy/estimate_meter.h"
#include "auditors/energy/external_log_meter.h"
#include "auditors/energy/grid_intensity_source.h"
#include "auditors/energy/nvml_meter.h"
#include "auditors/energy/rapl_meter.h"
#include "auditors/language/generation_metrics.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "harness/harness.h"

namespace greenlight::energy {

EnergyReading CombineReadings(const std::vector<EnergyReading>& parts) {
  if (parts.size() == 1) return parts.front();
  EnergyReading out;
  double low = 0.0, high = 0.0;
  std::string meters, methods;
  for (const EnergyReading& p : parts) {
    out.energy_j += p.energy_j;
    low += p.low_j();
    high += p.high_j();
    out.domains.insert(out.domains.end(), p.domains.begin(), p.domains.end());
    out.samples += p.samples;
    out.duration_s = std::max(out.duration_s, p.duration_s);
    out.start_unix_s = p.start_unix_s;
    out.end_unix_s = p.end_unix_s;
    meters += (meters.empty() ? "" : "+") + p.meter;
    out.uncertainty_basis += (out.uncertainty_basis.empty() ? "" : "; ") + p.uncertainty_basis;
    out.details[p.meter] = p.details;
    if (!p.valid) {
      out.valid = false;
      out.problem = p.problem;
    }
  }
  out.meter = meters;
  out.method = "measured:" + meters;
  if (out.energy_j > 0.0) {
    out.band_low_factor = low / out.energy_j;
    out.band_high_factor = high / out.energy_j;
  }
  return out;
}

nlohmann::json ReadingToJson(const EnergyReading& r) {
  nlohmann::json domains = nlohmann::json::array();
  for (const DomainEnergy& d : r.domains) domains.push_back({d.name, d.energy_j});
  return {{"valid", r.valid},
          {"problem", r.problem},
          {"meter", r.meter},
          {"method", r.method},
          {"energy_j", r.energy_j},
          {"domains", domains},
          {"duration_s", r.duration_s},
          {"start_unix_s", r.start_unix_s},
          {"end_unix_s", r.end_unix_s},
          {"samples", r.samples},
          {"relative_uncertainty", r.relative_uncertainty},
          {"absolute_uncertainty_j", r.absolute_uncertainty_j},
          {"band_low_factor", r.band_low_factor ? nlohmann::json(*r.band_low_factor) : nullptr},
          {"band_high_factor", r.band_high_factor ? nlohmann::json(*r.band_high_factor) : nullptr},
          {"uncertainty_basis", r.uncertainty_basis},
          {"details", r.details}};
}

EnergyReading ReadingFromJson(const nlohmann::json& j) {
  EnergyReading r;
  try {
    r.valid = j.at("valid").get<bool>();
    r.problem = j.at("problem").get<std::string>();
    r.meter = j.at("meter").get<std::string>();
    r.method = j.at("method").get<std::string>();
    r.energy_j = j.at("energy_j").get<double>();
    for (const auto& d : j.at("domains")) {
      r.domains.push_back({d.at(0).get<std::string>(), d.at(1).get<double>()});
    }
    r.duration_s = j.at("duration_s").get<double>();
    r.start_unix_s = j.at("start_unix_s").get<double>();
    r.end_unix_s = j.at("end_unix_s").get<double>();
    r.samples = JsonInteger<int64_t>(j.at("samples"), "samples");
    r.relative_uncertainty = j.at("relative_uncertainty").get<double>();
    r.absolute_uncertainty_j = j.at("absolute_uncertainty_j").get<double>();
    if (!j.at("band_low_factor").is_null()) r.band_low_factor = j["band_low_factor"].get<double>();
    if (!j.at("band_high_factor").is_null()) {
      r.band_high_factor = j["band_high_factor"].get<double>();
    }
    r.uncertainty_basis = j.at("uncertainty_basis").get<std::string>();
    r.details = j.at("details");
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(std::string("energy statistics: malformed reading: ") + e.what());
  }
  return r;
}

namespace {

using efficiency::RunParams;
using efficiency::TimedRunRecord;
using efficiency::TimedRunStats;
using efficiency::TimedRunWork;
using efficiency::ToSettings;

template <typename P, typename B, typename T>
T P::*Member(T B::*member) {
  return member;  // A member of the base is a member of the derived struct.
}

// The meters and how the figure is taken: what every energy metric binds.
struct EnergyParams : RunParams {
  std::string meter = "auto";
  std::string method = "any";
  double idle_baseline_s = 1.0;
  bool subtract_idle = false;
  std::string rapl_root = "/sys/class/powercap";
  std::vector<std::string> rapl_domains = {"package", "dram"};
  double rapl_poll_interval_s = 1.0;
  std::string nvml_library = "libnvidia-ml.so.1";
  std::optional<std::vector<int64_t>> nvml_devices;  // Absent: all.
  std::string nvml_mode = "auto";
  double nvml_sample_interval_s = 0.05;
  std::optional<std::string> power_log;
  int64_t power_log_min_samples = 3;
  double meter_accuracy_pct = 1.0;
  std::optional<double> cpu_watts_per_thread;
  double memory_watts_per_gb = kDefaultMemoryWattsPerGb;
};

// Grid intensity and facility overhead (carbon and SCI).
struct CarbonParams : EnergyParams {
  std::optional<double> grid_intensity_g_per_kwh;
  std::string grid_region = "WORLD";
  double pue = 1.0;
  nlohmann::json grid_intensity;  // null: no live source.
};

// Embodied emissions (SCI).
struct SciParams : CarbonParams {
  double embodied_total_g = 1.0e6;
  double lifespan_years = 4.0;
  std::optional<double> resources_reserved;
  std::optional<double> resources_total;
};

// The meters' fields (with_idle: also the idle baseline's, which a figure of one run's window
// uses; a ratio of two models' windows does not).
template <typename P>
void AddMeterFields(ParamSchema<P>& schema, bool with_idle) {
  auto field = [](auto member) { return Member<P>(member); };
  schema
      .Field("meter", field(&EnergyParams::meter),
             "energy source: auto (RAPL, plus NVML for a GPU run; the CPU-time estimate when "
             "neither is readable), rapl, nvml, external (power_log) or estimate",
             OneOf({"auto", "rapl", "nvml", "external", "estimate"}))
      .Field("method", field(&EnergyParams::method),
             "measured: an estimate makes the criterion INCONCLUSIVE; any: estimates are accepted",
             OneOf({"any", "measured"}));
  if (with_idle) {
    schema
        .Field("idle_baseline_s", field(&EnergyParams::idle_baseline_s),
               "seconds of idle measurement after the run, reported as idle power (0: none)",
               AtLeast(0))
        .Field("subtract_idle", field(&EnergyParams::subtract_idle),
               "subtract idle power × window from the run's energy (needs idle_baseline_s > 0)");
  }
  schema.Field("rapl_root", field(&EnergyParams::rapl_root), "powercap sysfs root")
      .Field("rapl_domains", field(&EnergyParams::rapl_domains),
             "RAPL zone kinds to sum (package, dram, core, uncore, psys; nested kinds are refused)")
      .Field("rapl_poll_interval_s", field(&EnergyParams::rapl_poll_interval_s),
             "counter polling period during the run (wrap correction)")
      .Field("nvml_library", field(&EnergyParams::nvml_library), "NVML library to dlopen")
      .Field("nvml_devices", field(&EnergyParams::nvml_devices),
             "GPU indices to meter (default: all)", AtLeast(0))
      .Field("nvml_mode", field(&EnergyParams::nvml_mode),
             "auto (energy counter where supported, else power sampling), energy or power",
             OneOf({"auto", "energy", "power"}))
      .Field("nvml_sample_interval_s", field(&EnergyParams::nvml_sample_interval_s),
             "GPU power sampling period")
      .Field("power_log", field(&EnergyParams::power_log),
             "external meter's power log (CSV timestamp,watts or PTDaemon); path as given, "
             "relative to the working directory")
      .Field("power_log_min_samples", field(&EnergyParams::power_log_min_samples),
             "fewest power-log samples inside the window for a figure", AtLeast(1))
      .Field("meter_accuracy_pct", field(&EnergyParams::meter_accuracy_pct),
             "external meter's accuracy, ± % of reading", AtLeast(0))
      .Field("cpu_watts_per_thread", field(&EnergyParams::cpu_watts_per_thread),
             "estimate: active power per busy hardware thread (default: CPU table, else its mean)",
             AtLeast(0))
      .Field("memory_watts_per_gb", field(&EnergyParams::memory_watts_per_gb),
             "estimate: power per GB of resident memory", AtLeast(0))
      .Check([](const P& p) {
        if (!(p.rapl_poll_interval_s > 0.0)) {
          throw ParamError("rapl_poll_interval_s", "must be > 0");
        }
        if (!(p.nvml_sample_interval_s > 0.0)) {
          throw ParamError("nvml_sample_interval_s", "must be > 0");
        }
        if (p.subtract_idle && p.idle_baseline_s <= 0.0) {
          throw ParamError("subtract_idle",
                           "subtract_idle needs an idle baseline: set idle_baseline_s > 0");
        }
        if (p.meter == "external" && !p.power_log) {
          throw ParamError("power_log", "meter: external needs a power_log");
        }
      });
}

template <typename P>
void AddEnergyFields(ParamSchema<P>& schema) {
  efficiency::AddRunFields(schema);
  AddMeterFields(schema, /*with_idle=*/true);
}

// Grid intensity and facility overhead (the carbon metrics).
template <typename P>
void AddGridFields(ParamSchema<P>& schema) {
  auto field = [](auto member) { return Member<P>(member); };
  schema
      .Field("grid_intensity_g_per_kwh", field(&CarbonParams::grid_intensity_g_per_kwh),
             "grid carbon intensity, gCO2e/kWh (overrides grid_region)", AtLeast(0))
      .Field("grid_region", field(&CarbonParams::grid_region),
             "country code (ISO 3166-1 alpha-2) in the shipped Ember 2023 table, or WORLD")
      .Field("pue", field(&CarbonParams::pue), "power usage effectiveness of the facility (>= 1)",
             AtLeast(1))
      .Field("grid_intensity", field(&CarbonParams::grid_intensity),
             "live intensity {url, zone, token_file, require_live}; unreachable or malformed: "
             "grid_intensity_g_per_kwh / grid_region as a labelled fallback, or INCONCLUSIVE "
             "with require_live")
      .Check([](const P& p) {
        if (p.grid_intensity.is_null()) return;
        try {
          ParseLiveGridSpec(p.grid_intensity);
        } catch (const InputError& e) {
          throw ParamError("grid_intensity", e.what());
        }
      });
}

template <typename P>
void AddCarbonFields(ParamSchema<P>& schema) {
  AddEnergyFields(schema);
  AddGridFields(schema);
}

ParamSchema<EnergyParams> EnergySchema() {
  ParamSchema<EnergyParams> schema;
  AddEnergyFields(schema);
  return schema;
}

ParamSchema<CarbonParams> CarbonSchema() {
  ParamSchema<CarbonParams> schema;
  AddCarbonFields(schema);
  return schema;
}

ParamSchema<SciParams> SciSchema() {
  ParamSchema<SciParams> schema;
  AddCarbonFields(schema);
  auto field = [](auto member) { return Member<SciParams>(member); };
  schema
      .Field("embodied_total_g", field(&SciParams::embodied_total_g),
             "SCI TE: embodied emissions of the whole machine, gCO2e", AtLeast(0))
      .Field("lifespan_years", field(&SciParams::lifespan_years),
             "SCI EL: expected lifespan of the machine")
      .Field("resources_reserved", field(&SciParams::resources_reserved),
             "SCI RR: resources the run held (default: its intra-op threads)")
      .Field("resources_total", field(&SciParams::resources_total),
             "SCI ToR: resources of the machine (default: logical cores)");
  return schema;
}

// The meter settings of the criterion (what makes two criteria share an instrument).
nlohmann::json MeterSettings(const EnergyParams& p) {
  return {{"meter", p.meter},
          {"idle_baseline_s", p.idle_baseline_s},
          {"rapl_root", p.rapl_root},
          {"rapl_domains", p.rapl_domains},
          {"rapl_poll_interval_s", p.rapl_poll_interval_s},
          {"nvml_library", p.nvml_library},
          {"nvml_devices", p.nvml_devices ? nlohmann::json(*p.nvml_devices) : nullptr},
          {"nvml_mode", p.nvml_mode},
          {"nvml_sample_interval_s", p.nvml_sample_interval_s},
          {"power_log", p.power_log ? nlohmann::json(*p.power_log) : nullptr},
          {"power_log_min_samples", p.power_log_min_samples},
          {"meter_accuracy_pct", p.meter_accuracy_pct},
          {"cpu_watts_per_thread",
           p.cpu_watts_per_thread ? nlohmann::json(*p.cpu_watts_per_thread) : nullptr},
          {"memory_watts_per_gb", p.memory_watts_per_gb}};
}

std::unique_ptr<EnergyMeter> MakeMeter(const std::string& kind, const EnergyParams& p) {
  if (kind == "rapl") {
    RaplOptions o;
    o.root = p.rapl_root;
    o.domains = p.rapl_domains;
    o.poll_interval_s = p.rapl_poll_interval_s;
    return std::make_unique<RaplMeter>(o);
  }
  if (kind == "nvml") {
    NvmlOptions o;
    o.library = p.nvml_library;
    if (p.nvml_devices) o.devices.assign(p.nvml_devices->begin(), p.nvml_devices->end());
    o.mode = p.nvml_mode;
    o.sample_interval_s = p.nvml_sample_interval_s;
    return std::make_unique<NvmlMeter>(o);
  }
  if (kind == "external") {
    ExternalLogOptions o;
    o.log = p.power_log.value_or("");
    o.min_samples = p.power_log_min_samples;
    o.meter_accuracy_pct = p.meter_accuracy_pct;
    return std::make_unique<ExternalLogMeter>(o);
  }
  EstimateOptions o;
  o.watts_per_thread = p.cpu_watts_per_thread;
  o.memory_watts_per_gb = p.memory_watts_per_gb;
  return std::make_unique<EstimateMeter>(o);
}

bool IsGpuDevice(const std::string& device) { return device.rfind("cuda", 0) == 0; }

// Meter kinds an instrument holds: auto = RAPL and NVML (read only for a GPU run), and the
// estimate as fallback. The estimate is always attached (cheap), so a measured figure can be
// compared with it.
std::vector<std::string> MeterKinds(const std::string& meter) {
  if (meter == "auto") return {"rapl", "nvml", "estimate"};
  if (meter == "estimate") return {"estimate"};
  return {meter, "estimate"};
}

// What the meters read around one timed run: per meter kind, the whole window's reading or why
// there is none, one reading per repetition, and the idle window measured after the run.
struct EnergyWindows final : WorkRecord {
  nlohmann::json meters = nlohmann::json::object();  // kind -> reading, or {"unavailable": why}
  std::vector<nlohmann::json> repetitions;           // Per repetition: kind -> reading.
  nlohmann::json idle = nlohmann::json::object();    // kind -> reading of the idle window.
  int64_t rows() const override { return static_cast<int64_t>(repetitions.size()); }
};

// The criterion's meters as an instrument on its timed run (one per distinct meter settings).
// Begin/End bracket the whole window, BeginRepetition/EndRepetition each repetition; Reading()
// reads every window and then measures the idle baseline (idle_baseline_s with this process
// asleep, after the run, separately from it), once.
class EnergyInstrument final : public Instrument {
 public:
  explicit EnergyInstrument(const EnergyParams& p)
      : key_("energy:" + CanonicalText(MeterSettings(p))), idle_s_(p.idle_baseline_s) {
    for (const std::string& kind : MeterKinds(p.meter))
      meters_.push_back({kind, MakeMeter(kind, p)});
  }
  std::string key() const override { return key_; }

  void Begin() override {
    began_ = true;
    Open(whole_);
  }
  void End() override { Close(whole_); }
  void BeginRepetition(int repetition) override {
    if (static_cast<size_t>(repetition) > repetitions_.size()) {
      repetitions_.resize(static_cast<size_t>(repetition));
    }
    Open(repetitions_[static_cast<size_t>(repetition - 1)]);
  }
  void EndRepetition(int repetition) override {
    Close(repetitions_.at(static_cast<size_t>(repetition - 1)));
  }

  std::shared_ptr<const WorkRecord> Reading() const override {
    if (reading_ || !began_) return reading_;
    auto out = std::make_shared<EnergyWindows>();
    for (auto& [kind, meter] : meters_) {
      if (auto reason = meter->unavailable_reason()) {
        out->meters[kind] = {{"unavailable", "meter unavailable: " + *reason}};
      } else {
        out->meters[kind] = ReadingToJson(meter->Read(whole_.at(kind)));
      }
    }
    for (const auto& windows : repetitions_) {
      nlohmann::json rep = nlohmann::json::object();
      for (auto& [kind, meter] : meters_) {
        if (auto id = windows.find(kind); id != windows.end()) {
          rep[kind] = ReadingToJson(meter->Read(id->second));
        }
      }
      out->repetitions.push_back(std::move(rep));
    }
    if (idle_s_ > 0.0) {
      std::map<std::string, EnergyMeter::WindowId> idle;
      Open(idle);
      std::this_thread::sleep_for(std::chrono::duration<double>(idle_s_));
      Close(idle);
      for (auto& [kind, meter] : meters_) {
        if (auto id = idle.find(kind); id != idle.end()) {
          out->idle[kind] = ReadingToJson(meter->Read(id->second));
        }
      }
    }
    reading_ = out;
    return reading_;
  }

 private:
  using Windows = std::map<std::string, EnergyMeter::WindowId>;
  void Open(Windows& windows) const {
    for (auto& [kind, meter] : meters_) {
      if (meter->available()) windows[kind] = meter->Begin();
    }
  }
  void Close(const Windows& windows) const {
    // Reverse order of opening, so that nested meter windows stay nested.
    for (auto m = meters_.rbegin(); m != meters_.rend(); ++m) {
      if (auto id = windows.find(m->first); id != windows.end()) m->second->End(id->second);
    }
  }

  std::string key_;
  double idle_s_;
  std::vector<std::pair<std::string, std::unique_ptr<EnergyMeter>>> meters_;
  bool began_ = false;  // The run opened its window (it may have failed before).
  Windows whole_;
  std::vector<Windows> repetitions_;
  mutable std::shared_ptr<const EnergyWindows> reading_;
};

// The sufficient statistics of an energy metric over a range of the run's queries: the run's
// facts and repetitions (TimedRunStats without latencies), the whole window's and the idle
// readings (with the part holding the first query), and each repetition's readings (with the
// part holding the repetition's first query).
struct EnergyStats {
  TimedRunStats run;
  nlohmann::json windows;  // {"meters": ..., "idle": ...}, or null in the other parts.
  std::vector<std::pair<int64_t, nlohmann::json>> repetitions;  // (index, kind -> reading)

  void Merge(const EnergyStats& other) {
    run.Merge(other.run);
    if (windows.is_null()) {
      windows = other.windows;
    } else if (!other.windows.is_null() && other.windows != windows) {
      throw RuntimeError("energy statistics: parts of different runs");
    }
    for (const auto& rep : other.repetitions) {
      if (!repetitions.empty() && repetitions.back().first >= rep.first) {
        throw RuntimeError("energy statistics: parts merged out of order");
      }
      repetitions.push_back(rep);
    }
  }
  nlohmann::json ToJson() const {
    nlohmann::json reps = nlohmann::json::array();
    for (const auto& [index, readings] : repetitions) reps.push_back({index, readings});
    return {{"run", run.ToJson()}, {"windows", windows}, {"repetitions", reps}};
  }
  static EnergyStats FromJson(const nlohmann::json& j) {
    EnergyStats s;
    try {
      s.run = TimedRunStats::FromJson(j.at("run"));
      s.windows = j.at("windows");
      for (const auto& r : j.at("repetitions")) {
        s.repetitions.emplace_back(JsonInteger<int64_t>(r.at(0), "repetitions"), r.at(1));
      }
    } catch (const nlohmann::json::exception& e) {
      throw RuntimeError(std::string("energy statistics: malformed JSON: ") + e.what());
    }
    return s;
  }
};

std::string Rfc3339(double unix_s) {
  const auto tp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(unix_s)));
  return FormatRfc3339Utc(tp);
}

// Two figures whose keys are equal come from the same method with the same coefficients on the
// same machine: the band's error is common to both (e.g. both estimates use the same watts per
// thread), so their ratio does not carry it.
// The coefficients a reading's method used ("|field=value" for each): two readings with equal
// method and coefficients share the method's error.
std::string CoefficientsKey(const EnergyReading& reading) {
  std::ostringstream key;
  for (const auto& [meter, facts] : reading.details.items()) {
    if (!facts.is_object()) continue;
    for (const char* field : {"cpu_model", "watts_per_thread", "memory_watts_per_gb"}) {
      if (facts.contains(field)) key << "|" << field << "=" << facts[field].dump();
    }
  }
  for (const char* field : {"cpu_model", "watts_per_thread", "memory_watts_per_gb"}) {
    if (reading.details.contains(field))
      key << "|" << field << "=" << reading.details[field].dump();
  }
  return key.str();
}

std::string SameMethodKey(const EnergyReading& reading, const harness::RunResult& run) {
  return reading.method + "|host=" + run.context.host_name + CoefficientsKey(reading);
}

enum class Figure {
  kEnergyPerInference,
  kEnergyPer1000,
  kPower,
  kInferencesPerJoule,
  kCarbon,
  kSci
};

std::string UnitOf(Figure f) {
  switch (f) {
    case Figure::kEnergyPerInference:
      return "mJ";
    case Figure::kEnergyPer1000:
      return "Wh";
    case Figure::kPower:
      return "W";
    case Figure::kInferencesPerJoule:
      return "inferences/J";
    default:
      return "gCO2e";
  }
}

struct IdleBaseline {
  double duration_s = 0.0;
  double power_w = 0.0;
  double power_low_w = 0.0;
  double power_high_w = 0.0;
  int64_t samples = 0;
  std::string method;
};

IdleBaseline IdleFrom(const EnergyReading& r) {
  IdleBaseline b;
  b.duration_s = r.duration_s;
  b.samples = r.samples;
  b.method = r.method;
  if (r.valid && r.duration_s > 0.0) {
    b.power_w = r.energy_j / r.duration_s;
    b.power_low_w = r.low_j() / r.duration_s;
    b.power_high_w = r.high_j() / r.duration_s;
  }
  return b;
}

// What an energy figure divides by: the run whose window the meters read, the functional units in
// that window and in each repetition (inferences of a timed run, output tokens of a generation
// run), and the run's facts for the report.
struct MeteredRun {
  const harness::RunResult* run = nullptr;
  double units = 0.0;
  std::vector<double> repetition_units;
  std::string unit_name = "inferences";  // The details' key of `units`.
  std::string method_suffix;             // Appended to the meter's method.
  nlohmann::json details;                // The report's `run`.
};

template <typename P>
Measurement MeterFigure(const P& p, Figure figure, const std::string& metric_name,
                        const MeteredRun& metered, const nlohmann::json& windows,
                        const std::vector<std::pair<int64_t, nlohmann::json>>& repetitions,
                        const FinalizeContext& ctx);

// One energy or carbon figure of the timed run. P is EnergyParams, CarbonParams or SciParams.
template <typename P>
class EnergyMetric final : public TypedMetric<P, EnergyStats, TimedRunRecord> {
  using Base = TypedMetric<P, EnergyStats, TimedRunRecord>;

 public:
  EnergyMetric(MetricSpec spec, ParamSchema<P> schema, Figure figure)
      : Base(std::move(spec), std::move(schema)), figure_(figure) {}

  std::shared_ptr<Instrument> MakeInstrument(const BoundParams& params) const override {
    const auto* bound = dynamic_cast<const Bound<P>*>(&params);
    if (bound == nullptr) throw RuntimeError(this->spec().name + ": parameters of another metric");
    return std::make_shared<EnergyInstrument>(bound->value);
  }

 protected:
  std::shared_ptr<const Work> Needs(const P& p) const override {
    // The same work (and key) as a latency criterion with the same run settings: one run.
    return std::make_shared<TimedRunWork>(std::vector<harness::RunSettings>{ToSettings(p)});
  }

  EnergyStats Accumulate(const P&, const TimedRunRecord& record,
                         const MetricInput& input) const override {
    const auto* windows = dynamic_cast<const EnergyWindows*>(input.reading);
    if (windows == nullptr || record.runs.empty()) {
      throw RuntimeError(this->spec().name + ": no energy meter was attached to the timed run");
    }
    EnergyStats s;
    s.run = TimedRunStats::Of(record, input.rows, /*latencies=*/false);
    const harness::RunResult& run = *record.runs.front();
    const bool holds_start =
        input.rows.begin <= 0 && (0 < input.rows.end || input.rows.end == record.rows());
    if (holds_start) s.windows = {{"meters", windows->meters}, {"idle", windows->idle}};
    for (size_t r = 0; r < run.repetitions.size() && r < windows->repetitions.size(); ++r) {
      const int64_t first = run.repetitions[r].first_query;
      if (input.rows.begin <= first && first < input.rows.end) {
        s.repetitions.emplace_back(static_cast<int64_t>(r), windows->repetitions[r]);
      }
    }
    return s;
  }

  Measurement Finalize(const P& p, const EnergyStats& stats,
                       const FinalizeContext& ctx) const override {
    const std::vector<harness::RunResult> runs = stats.run.Runs();
    if (runs.empty() || stats.windows.is_null()) {
      throw RuntimeError(this->spec().name + ": a part of the run's statistics is missing");
    }
    const harness::RunResult& run = runs.front();
    MeteredRun metered;
    metered.run = &run;
    metered.units = static_cast<double>(run.samples);
    for (const harness::Repetition& rep : run.repetitions) {
      metered.repetition_units.push_back(
          static_cast<double>(rep.queries * run.settings.batch_size));
    }
    metered.details = {{"key", run.key},
                       {"scenario", harness::ScenarioName(run.settings.scenario)},
                       {"batch_size", run.settings.batch_size},
                       {"threads", run.threads},
                       {"device", run.device},
                       {"valid", run.valid()}};
    return MeterFigure(p, figure_, this->spec().name, metered, stats.windows, stats.repetitions,
                       ctx);
  }

 private:
  Figure figure_;
};

template <typename P>
Measurement MeterFigure(const P& p, Figure kind, const std::string& metric_name,
                        const MeteredRun& metered, const nlohmann::json& windows,
                        const std::vector<std::pair<int64_t, nlohmann::json>>& repetitions,
                        const FinalizeContext& ctx) {
  const harness::RunResult* run = metered.run;
  const nlohmann::json& meters = windows.at("meters");
  const nlohmann::json& idle_readings = windows.at("idle");
  const bool gpu = IsGpuDevice(run->device);
  const std::string& requested = p.meter;

  Measurement m;
  m.unit = UnitOf(kind);
  m.deterministic = false;
  m.samples = static_cast<int64_t>(metered.units);
  nlohmann::json unavailable = nlohmann::json::object();
  auto reading_of = [&](const std::string& kind) -> std::optional<EnergyReading> {
    const nlohmann::json& j = meters.at(kind);
    if (j.contains("unavailable")) {
      unavailable[kind] = j["unavailable"];
      return std::nullopt;
    }
    EnergyReading r = ReadingFromJson(j);
    if (!r.valid) {
      unavailable[kind] = r.problem;
      return std::nullopt;
    }
    return r;
  };

  std::vector<std::string> used;  // Meter kinds whose readings make the figure.
  std::vector<EnergyReading> parts;
  if (requested == "auto") {
    for (const std::string kind : {"rapl", "nvml"}) {
      if (kind == std::string("nvml") && !gpu) continue;
      if (auto r = reading_of(kind)) {
        parts.push_back(*r);
        used.push_back(kind);
      }
    }
    if (parts.empty()) {
      auto est = reading_of("estimate");
      if (!est) {
        m.method = "estimate:cpu-time";
        m.message = unavailable["estimate"].get<std::string>();
        m.details = {{"unavailable", unavailable}, {"run", run->key}};
        return m;  // No value: INCONCLUSIVE.
      }
      parts.push_back(*est);
      used.push_back("estimate");
    }
  } else {
    auto r = reading_of(requested);
    if (!r) {
      m.method = requested == "estimate" ? "estimate:cpu-time" : "measured:" + requested;
      m.message = unavailable[requested].get<std::string>();
      m.details = {{"meter", requested}, {"unavailable", unavailable}, {"run", run->key}};
      return m;  // No value: INCONCLUSIVE.
    }
    parts.push_back(*r);
    used.push_back(requested);
  }
  const EnergyReading reading = CombineReadings(parts);
  const bool estimate = reading.method.rfind("estimate:", 0) == 0;
  m.method = reading.method + metered.method_suffix;

  // Idle baseline, measured separately after the run with the same meters.
  const bool subtract = p.subtract_idle;
  std::optional<IdleBaseline> idle;
  if (p.idle_baseline_s > 0.0) {
    std::vector<EnergyReading> idle_parts;
    for (const auto& kind : used) {
      if (idle_readings.contains(kind)) idle_parts.push_back(ReadingFromJson(idle_readings[kind]));
    }
    if (idle_parts.size() == used.size()) idle = IdleFrom(CombineReadings(idle_parts));
  }
  if (subtract && !idle) {
    throw RuntimeError("subtract_idle: the idle baseline was not measured with the same meters");
  }

  const double t = reading.duration_s;
  double e = reading.energy_j, lo = reading.low_j(), hi = reading.high_j();
  if (subtract) {
    e -= idle->power_w * t;
    lo -= idle->power_high_w * t;
    hi -= idle->power_low_w * t;
  }
  const double n = metered.units;

  nlohmann::json d;
  d["method"] = reading.method;
  d["meters"] = used;
  nlohmann::json domains = nlohmann::json::array();
  for (const auto& dom : reading.domains) {
    domains.push_back({{"name", dom.name}, {"energy_j", dom.energy_j}});
  }
  d["domains"] = domains;
  d["window"] = {{"start", Rfc3339(reading.start_unix_s)},
                 {"end", Rfc3339(reading.end_unix_s)},
                 {"start_unix_s", reading.start_unix_s},
                 {"end_unix_s", reading.end_unix_s},
                 {"duration_s", t}};
  d["meter_samples"] = reading.samples;
  d[metered.unit_name] = static_cast<int64_t>(metered.units);
  d["queries"] = run->queries;
  d["energy_j"] = {{"value", e}, {"low", lo}, {"high", hi}, {"gross", reading.energy_j}};
  d["uncertainty_basis"] = reading.uncertainty_basis;
  d["idle_baseline"] = idle ? nlohmann::json{{"measured", true},
                                             {"duration_s", idle->duration_s},
                                             {"power_w", idle->power_w},
                                             {"power_low_w", idle->power_low_w},
                                             {"power_high_w", idle->power_high_w},
                                             {"samples", idle->samples},
                                             {"subtracted", subtract}}
                            : nlohmann::json{{"measured", false}, {"subtracted", false}};
  d["meter_details"] = reading.details;
  if (!unavailable.empty()) d["unavailable"] = unavailable;
  d["run"] = metered.details;
  if (const nlohmann::json noisy = harness::NoisyContextWarnings(run->context); !noisy.empty()) {
    d["noisy_context"] = noisy;
  }
  if (!estimate && meters.contains("estimate") && !meters["estimate"].contains("unavailable")) {
    // The estimate over the same window, for comparison.
    d["estimate_same_window_j"] = ReadingFromJson(meters["estimate"]).energy_j;
  }

  bool live_required_missing = false;  // grid_intensity.require_live without a live figure.
  if (n <= 0.0 || t <= 0.0) {
    m.message = "the run's window holds no inference";
    m.details = d;
    return m;
  }
  // The metric as a function of a window's energy (J), inferences and duration (s), so that the
  // whole window, the band's ends and each repetition go through the same arithmetic.
  std::function<double(double, double, double)> figure;
  if (kind == Figure::kEnergyPerInference) {
    figure = [](double e_j, double k, double) { return e_j / k * 1e3; };
  } else if (kind == Figure::kEnergyPer1000) {
    figure = [](double e_j, double k, double) { return e_j / k * 1000.0 / 3600.0; };
  } else if (kind == Figure::kPower) {
    figure = [](double e_j, double, double s) { return e_j / s; };
  } else if (kind == Figure::kInferencesPerJoule) {
    figure = [](double e_j, double k, double) { return e_j > 0.0 ? k / e_j : NAN; };
  } else if constexpr (std::is_base_of_v<CarbonParams, P>) {
    double intensity = 0.0;
    nlohmann::json grid;
    // A live figure when one is configured and answers; otherwise the static figure below,
    // labelled as the fallback (or INCONCLUSIVE when the criterion requires a live figure).
    std::optional<LiveGridReading> live;
    std::string live_error;
    std::optional<LiveGridSpec> live_spec;
    if (!p.grid_intensity.is_null()) {
      live_spec = ParseLiveGridSpec(p.grid_intensity);
      try {
        live = FetchLiveGridIntensity(*live_spec);
      } catch (const std::exception& ex) {
        live_error = ex.what();
      }
    }
    if (live) {
      intensity = live->g_per_kwh;
      grid = {{"intensity_g_per_kwh", live->g_per_kwh},
              {"source", live_spec->url},
              {"zone", live->zone},
              {"timestamp", live->timestamp},
              {"response_shape", live->shape},
              {"figure", live->figure},
              {"live", true}};
    } else if (p.grid_intensity_g_per_kwh) {
      intensity = *p.grid_intensity_g_per_kwh;
      grid = {{"intensity_g_per_kwh", intensity}, {"source", "criteria parameter"}};
    } else {
      const auto g = FindGridIntensity(p.grid_region);
      if (!g) {
        throw InputError("grid_region '" + p.grid_region +
                         "' is not in the shipped table; give grid_intensity_g_per_kwh");
      }
      intensity = g->g_per_kwh;
      grid = {{"intensity_g_per_kwh", g->g_per_kwh},
              {"region", g->code},
              {"name", g->name},
              {"year", g->year},
              {"source", g->source}};
    }
    if (live_spec && !live) {
      grid["live"] = false;
      grid["fallback"] = true;
      grid["live_source"] = live_spec->url;
      grid["live_error"] = live_error;
      if (live_spec->require_live) live_required_missing = true;
    }
    const double pue = p.pue;
    grid["pue"] = pue;
    d["carbon"] = grid;
    if (kind == Figure::kCarbon) {
      figure = [intensity, pue](double e_j, double k, double) {
        return CarbonGrams(e_j / k * 1000.0, intensity, pue);
      };
    } else if constexpr (std::is_base_of_v<SciParams, P>) {
      EmbodiedInputs in;
      in.total_embodied_g = p.embodied_total_g;
      in.expected_lifespan_s = p.lifespan_years * kSecondsPerYear;
      in.time_reserved_s = t;
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      in.resources_reserved = p.resources_reserved.value_or(
          run->threads > 0 ? static_cast<double>(run->threads) : static_cast<double>(cores));
      in.resources_total = p.resources_total.value_or(static_cast<double>(cores));
      const double embodied = EmbodiedGrams(in);
      // A repetition reserves the machine for its own duration: M scales with it.
      figure = [in, intensity, pue](double e_j, double k, double s) {
        EmbodiedInputs part = in;
        part.time_reserved_s = s;
        return SciPerUnit(e_j * pue / kJoulesPerKwh, intensity, EmbodiedGrams(part), k);
      };
      d["sci"] = {{"E_kwh", e * pue / kJoulesPerKwh},
                  {"I_g_per_kwh", intensity},
                  {"M_g", embodied},
                  {"R_inferences", n},
                  {"functional_unit", "one inference"},
                  {"TE_g", in.total_embodied_g},
                  {"TiR_s", in.time_reserved_s},
                  {"EL_s", in.expected_lifespan_s},
                  {"RR", in.resources_reserved},
                  {"ToR", in.resources_total},
                  {"note", "E includes PUE; M is not scaled by PUE"}};
    }
  }
  if (!figure) throw RuntimeError(metric_name + ": parameters of another metric");
  const double value = figure(e, n, t);
  const double band_a = figure(lo, n, t), band_b = figure(hi, n, t);
  if (std::isfinite(value)) m.value = value;

  // Each repetition metered on its own (same meters, same idle treatment): the spread between
  // them is the run-to-run variation; the meter's band is a systematic error shared by all.
  std::vector<double> per_repetition;
  nlohmann::json reps = nlohmann::json::array();
  for (size_t r = 0; r < run->repetitions.size(); ++r) {
    std::vector<EnergyReading> rep_parts;
    const nlohmann::json* readings = nullptr;
    for (const auto& [index, j] : repetitions) {
      if (index == static_cast<int64_t>(r)) readings = &j;
    }
    for (const auto& kind : used) {
      if (readings == nullptr || !readings->contains(kind)) break;
      EnergyReading rr = ReadingFromJson((*readings)[kind]);
      if (!rr.valid) break;
      rep_parts.push_back(std::move(rr));
    }
    if (rep_parts.size() != used.size()) {
      per_repetition.clear();
      reps = nlohmann::json::array();
      break;
    }
    const EnergyReading rr = CombineReadings(rep_parts);
    const double rn = r < metered.repetition_units.size() ? metered.repetition_units[r] : 0.0;
    const double re = rr.energy_j - (subtract ? idle->power_w * rr.duration_s : 0.0);
    if (rn <= 0.0 || rr.duration_s <= 0.0) continue;
    per_repetition.push_back(figure(re, rn, rr.duration_s));
    reps.push_back({{"energy_j", re},
                    {metered.unit_name, rn},
                    {"duration_s", rr.duration_s},
                    {"value", per_repetition.back()}});
  }
  d["repetitions"] = reps;
  std::optional<Interval> statistical;
  if (m.value) statistical = harness::RepetitionInterval(*m.value, per_repetition, ctx.confidence);
  const std::string band_name = estimate ? "estimate band x0.5-x2" : "meter accuracy band";
  d["systematic_band"] = {
      {"low", std::min(band_a, band_b)},
      {"high", std::max(band_a, band_b)},
      {"basis", reading.uncertainty_basis},
      {"method", reading.method},
      // The band is the method's own error (the estimate's coefficients, a meter's accuracy):
      // two figures from the same method on the same machine share it, so it cancels in their
      // ratio; it does not shrink with more queries or repetitions.
      {"shared_by", "figures of the same method on the same machine"},
      {"same_method_key", SameMethodKey(reading, *run)}};
  if (statistical) {
    d["statistical_interval"] = {{"low", statistical->low},
                                 {"high", statistical->high},
                                 {"level", statistical->level},
                                 {"method", statistical->method}};
  }
  d["interval_note"] =
      "the interval is the repetitions' interval (run-to-run variation, at the criterion's "
      "confidence) widened on each side by the distance from the value to the end of the " +
      band_name +
      " (a documented bound on the method's error, not a sampling interval; more queries do not "
      "narrow it)";
  if (m.value && std::isfinite(band_a) && std::isfinite(band_b)) {
    const double below = *m.value - std::min(band_a, band_b);
    const double above = std::max(band_a, band_b) - *m.value;
    if (statistical) {
      // Sampling variation and the method's error add up: each side of the repetitions'
      // interval moves out by the band's reach on that side.
      m.interval = Interval{statistical->low - below, statistical->high + above, ctx.confidence,
                            statistical->method + " + " + band_name};
    } else {
      m.interval =
          Interval{std::min(band_a, band_b), std::max(band_a, band_b), ctx.confidence, band_name};
    }
  }
  if (!m.value) m.message = "undefined: the window's energy is not positive";
  m.details = d;
  if (m.value && estimate) {
    // What the verdict shows when the interval straddles a threshold: the band dominates and no
    // amount of sampling removes it.
    m.message =
        "the estimate's x0.5-x2 band is the error of its power model, not sampling noise: more "
        "queries or repetitions cannot narrow it; a meter (RAPL, NVML or an external power log) "
        "can decide, and a comparison with another estimate of the same method on the same "
        "machine cancels the band (verify --rerun does)";
  }

  // Rules that override the threshold comparison.
  if (live_required_missing) {
    m.undecidable = "the criterion requires a live grid intensity and none was obtained (" +
                    d["carbon"].value("live_error", std::string()) + ")";
  } else if (p.method == "measured" && estimate) {
    std::string why;
    for (const auto& [kind, reason] : unavailable.items()) {
      why += (why.empty() ? "" : "; ") + kind + ": " + reason.template get<std::string>();
    }
    m.undecidable = "the criterion requires a measured figure and only an estimate is available" +
                    (why.empty() ? std::string() : " (" + why + ")");
  } else if (!run->valid()) {
    m.undecidable = "the benchmark run did not meet its run-length minimums (" +
                    std::to_string(run->queries) + " queries in " +
                    std::to_string(static_cast<double>(run->duration_ns) * 1e-9) + " s)";
  }
  return m;
}

// energy_saving's parameters: the interleaved run's shape (as latency_speedup's, whose run it
// shares when the settings are equal) and the meters. No idle baseline: both models' windows
// carry the same idle power per second, and the ratio is of what the meter read.
struct SavingParams : EnergyParams {
  int64_t rounds = 20;
  int64_t queries_per_round = 128;
  SavingParams() {
    threads = 1;  // As latency_speedup: one intra-op thread (docs/compression.md says why).
    idle_baseline_s = 0.0;
  }
};

ParamSchema<SavingParams> SavingSchema() {
  ParamSchema<SavingParams> schema;
  auto field = [](auto member) { return Member<SavingParams>(member); };
  schema
      .Field("batch_size", field(&RunParams::batch_size),
             "samples per query (default 1: single-sample queries)", Between(1, 65536))
      .Field("rounds", &SavingParams::rounds, "interleaved rounds (each meters both models)",
             Between(harness::kMinRepetitions, 10000))
      .Field("queries_per_round", &SavingParams::queries_per_round,
             "queries per model and round (one meter window each)", AtLeast(1))
      .Field("warmup_queries", field(&RunParams::warmup_queries),
             "untimed queries on each model first", AtLeast(0))
      .Field("threads", field(&RunParams::threads),
             "intra-op threads during the run (0: LibTorch default)", AtLeast(0));
  AddMeterFields(schema, /*with_idle=*/false);
  return schema;
}

harness::InterleavedSettings SavingSettings(const SavingParams& p) {
  harness::InterleavedSettings s;
  s.rounds = p.rounds;
  s.queries_per_round = p.queries_per_round;
  s.warmup_queries = p.warmup_queries;
  s.threads = static_cast<int>(p.threads);
  s.batch_size = p.batch_size.value_or(1);
  return s;
}

// The rounds [first, first + model.size()) of the run: each model's readings (meter kind ->
// reading) of every round, exact to merge in order. The whole run's meters (kind -> reading or
// {"unavailable": why}) travel with the part that holds round 0.
struct SavingStats {
  int64_t first = 0;
  int threads = 0;
  int64_t batch_size = 1;
  int64_t queries_per_round = 0;
  std::string device;
  nlohmann::json meters;  // Null in the parts without round 0.
  std::vector<nlohmann::json> model;
  std::vector<nlohmann::json> reference;

  void Merge(const SavingStats& other) {
    if (other.first != first + static_cast<int64_t>(model.size())) {
      throw RuntimeError("energy_saving: rounds merged out of order");
    }
    if (meters.is_null()) meters = other.meters;
    model.insert(model.end(), other.model.begin(), other.model.end());
    reference.insert(reference.end(), other.reference.begin(), other.reference.end());
  }
  nlohmann::json ToJson() const {
    return {{"first", first},           {"threads", threads},
            {"batch_size", batch_size}, {"queries_per_round", queries_per_round},
            {"device", device},         {"meters", meters},
            {"model", model},           {"reference", reference}};
  }
  static SavingStats FromJson(const nlohmann::json& j) {
    SavingStats s;
    try {
      s.first = JsonInteger<int64_t>(j.at("first"), "first");
      s.threads = JsonInteger<int>(j.at("threads"), "threads");
      s.batch_size = JsonInteger<int64_t>(j.at("batch_size"), "batch_size");
      s.queries_per_round = JsonInteger<int64_t>(j.at("queries_per_round"), "queries_per_round");
      s.device = j.at("device").get<std::string>();
      s.meters = j.at("meters");
      s.model = j.at("model").get<std::vector<nlohmann::json>>();
      s.reference = j.at("reference").get<std::vector<nlohmann::json>>();
    } catch (const nlohmann::json::exception& e) {
      throw RuntimeError(std::string("energy_saving statistics: malformed JSON: ") + e.what());
    }
    if (s.model.size() != s.reference.size()) {
      throw RuntimeError("energy_saving statistics: rounds of one model only");
    }
    return s;
  }
};

class EnergySavingMetric final
    : public TypedMetric<SavingParams, SavingStats, efficiency::InterleavedRecord> {
 public:
  EnergySavingMetric() : TypedMetric(Spec(), SavingSchema()) {}

  std::shared_ptr<Instrument> MakeInstrument(const BoundParams& params) const override {
    const auto* bound = dynamic_cast<const Bound<SavingParams>*>(&params);
    if (bound == nullptr) throw RuntimeError("energy_saving: parameters of another metric");
    return std::make_shared<EnergyInstrument>(bound->value);
  }

 protected:
  std::shared_ptr<const Work> Needs(const SavingParams& p) const override {
    return efficiency::MakeInterleavedWork(SavingSettings(p));
  }

  SavingStats Accumulate(const SavingParams& p, const efficiency::InterleavedRecord& record,
                         const MetricInput& input) const override {
    const auto* windows = dynamic_cast<const EnergyWindows*>(input.reading);
    if (windows == nullptr) {
      throw RuntimeError("energy_saving: no energy meter was attached to the interleaved run");
    }
    SavingStats s;
    s.first = input.rows.begin;
    s.threads = record.run.threads;
    s.batch_size = record.run.settings.batch_size;
    s.queries_per_round = p.queries_per_round;
    s.device = record.device;
    if (input.rows.begin <= 0 && 0 < input.rows.end) s.meters = windows->meters;
    for (int64_t r = input.rows.begin; r < input.rows.end; ++r) {
      // Repetition window 2r + m + 1 (harness::InterleavedWindow) is entry 2r + m.
      const auto i = static_cast<size_t>(2 * r);
      const nlohmann::json none = nlohmann::json::object();
      s.model.push_back(i < windows->repetitions.size() ? windows->repetitions[i] : none);
      s.reference.push_back(i + 1 < windows->repetitions.size() ? windows->repetitions[i + 1]
                                                                : none);
    }
    return s;
  }

  Measurement Finalize(const SavingParams& p, const SavingStats& s,
                       const FinalizeContext& ctx) const override;

 private:
  static MetricSpec Spec() {
    MetricSpec spec = DescribeMetric(
        "energy_saving", "ratio", "efficiency",
        "1 − model energy / reference model energy per inference, both metered in interleaved "
        "rounds of the same run (measured, or estimated and labelled so)",
        true, false);
    spec.needs_reference = true;
    return spec;
  }
};

Measurement EnergySavingMetric::Finalize(const SavingParams& p, const SavingStats& s,
                                         const FinalizeContext& ctx) const {
  if (s.meters.is_null()) throw RuntimeError("energy_saving: a part of the statistics is missing");
  Measurement m;
  m.unit = "ratio";
  m.deterministic = false;
  m.samples = static_cast<int64_t>(s.model.size());

  // The meter kinds of the figure, chosen as the other energy metrics choose them.
  nlohmann::json unavailable = nlohmann::json::object();
  auto available = [&](const std::string& kind) {
    if (!s.meters.contains(kind)) return false;
    const nlohmann::json& j = s.meters[kind];
    if (j.contains("unavailable")) {
      unavailable[kind] = j["unavailable"];
      return false;
    }
    return true;
  };
  std::vector<std::string> used;
  if (p.meter == "auto") {
    if (available("rapl")) used.push_back("rapl");
    if (IsGpuDevice(s.device) && available("nvml")) used.push_back("nvml");
    if (used.empty() && available("estimate")) used.push_back("estimate");
  } else if (available(p.meter)) {
    used.push_back(p.meter);
  }
  const bool estimate = used.size() == 1 && used.front() == "estimate";
  std::string unavailable_text;
  for (const auto& [kind, reason] : unavailable.items()) {
    unavailable_text += (unavailable_text.empty() ? "" : "; ") + kind + ": " +
                        (reason.is_string() ? reason.get<std::string>() : reason.dump());
  }
  const std::string rounds_method =
      "interleaved rounds (A B, B A, B A, A B, ...; the same queries), one meter window per model "
      "and round: 1 − geometric mean over rounds of model energy / reference energy per "
      "inference; Student's t on the rounds' log ratios, as 1 − ratio";
  const double per_round = static_cast<double>(s.queries_per_round * s.batch_size);
  nlohmann::json d;
  d["meters"] = used;
  d["energy_method"] = nullptr;
  d["estimate"] = estimate;
  d["rounds"] = s.model.size();
  d["queries_per_round"] = s.queries_per_round;
  d["batch_size"] = s.batch_size;
  d["inferences_per_round"] = static_cast<int64_t>(per_round);
  d["threads"] = s.threads;
  if (!unavailable.empty()) d["unavailable"] = unavailable;
  if (used.empty()) {
    m.method = (p.meter == "estimate" ? "estimate:cpu-time" : "measured:" + p.meter) + ", " +
               rounds_method;
    m.details = d;
    m.undecidable = "no energy meter could read both models (" + unavailable_text + ")";
    return m;
  }

  // Each model's reading of every round, from the same meters with the same method and
  // coefficients; otherwise the rounds do not compare like with like.
  std::vector<double> model_j, reference_j, model_cpu_s, reference_cpu_s;
  std::string method, coefficients, problem;
  for (size_t r = 0; r < s.model.size() && problem.empty(); ++r) {
    for (int side = 0; side < 2 && problem.empty(); ++side) {
      const nlohmann::json& readings = side == 0 ? s.model[r] : s.reference[r];
      const std::string who = side == 0 ? "the model" : "the reference model";
      std::vector<EnergyReading> parts;
      for (const auto& kind : used) {
        if (!readings.contains(kind)) {
          problem = "round " + std::to_string(s.first + static_cast<int64_t>(r) + 1) + ": the " +
                    kind + " meter has no window of " + who;
          break;
        }
        EnergyReading reading = ReadingFromJson(readings[kind]);
        if (!reading.valid) {
          problem = "round " + std::to_string(s.first + static_cast<int64_t>(r) + 1) + ": the " +
                    kind + " meter gave no figure for " + who + " (" + reading.problem + ")";
          break;
        }
        parts.push_back(std::move(reading));
      }
      if (!problem.empty()) break;
      const EnergyReading combined = CombineReadings(parts);
      const std::string key = CoefficientsKey(combined);
      if (method.empty()) {
        method = combined.method;
        coefficients = key;
      } else if (combined.method != method || key != coefficients) {
        problem = "round " + std::to_string(s.first + static_cast<int64_t>(r) + 1) +
                  ": the meter's method or coefficients differ from the first round's (" +
                  combined.method + " against " + method + ")";
        break;
      }
      if (!(combined.energy_j > 0.0)) {
        problem = "round " + std::to_string(s.first + static_cast<int64_t>(r) + 1) +
                  ": the meter read no energy for " + who + " over " +
                  (std::ostringstream() << combined.duration_s).str() +
                  " s (finer than the meter's resolution: raise queries_per_round)";
        break;
      }
      (side == 0 ? model_j : reference_j).push_back(combined.energy_j);
      if (estimate && combined.details.contains("cpu_seconds")) {
        (side == 0 ? model_cpu_s : reference_cpu_s)
            .push_back(combined.details["cpu_seconds"].get<double>());
      }
    }
  }

  const std::string measured = method.empty() ? "measured:" + used.front() : method;
  const std::string prefix =
      estimate ? "estimate:cpu-time for both models (the same method and coefficients on the same "
                 "machine), so an estimate-based ratio, not measured energy: "
               : measured + " per model and round: ";
  m.method = (estimate ? std::string("estimate:cpu-time") : measured) + " ratio; " + prefix +
             rounds_method;
  d["energy_method"] = method.empty() ? nlohmann::json(nullptr) : nlohmann::json(method);
  if (!problem.empty()) {
    m.details = d;
    m.undecidable = problem;
    return m;
  }
  const SavingEstimate e = EstimateEnergySaving(model_j, reference_j, ctx.confidence);
  double model_total = 0.0, reference_total = 0.0;
  for (double j : model_j) model_total += j;
  for (double j : reference_j) reference_total += j;
  const double inferences = per_round * static_cast<double>(model_j.size());
  d["model_energy_per_inference_mj"] = model_total / inferences * 1e3;
  d["reference_energy_per_inference_mj"] = reference_total / inferences * 1e3;
  d["energy_ratio"] = {
      {"value", e.ratio}, {"low", e.ratio_interval.low}, {"high", e.ratio_interval.high}};
  d["per_round_model_energy_j"] = model_j;
  d["per_round_reference_energy_j"] = reference_j;
  d["per_round_ratio"] = e.per_round_ratio;
  if (estimate) {
    d["per_round_model_cpu_seconds"] = model_cpu_s;
    d["per_round_reference_cpu_seconds"] = reference_cpu_s;
    d["shared_method"] = {
        {"cancels",
         "the estimate's common error: its watts per hardware thread and its x0.5-x2 band apply "
         "to both models alike"},
        {"shows",
         "the ratio of what the estimate depends on: CPU-seconds x watts per thread plus "
         "resident memory x watts per GB x time, i.e. how much less CPU time (and "
         "memory-time) the model used per inference"},
        {"cannot_show",
         "a difference in the power the hardware draws per CPU-second between the two models "
         "(int8 against FP32 kernels, vector units, memory traffic): only a meter (RAPL, NVML or "
         "an external power log) measures that"}};
    m.message =
        "estimate-based ratio, not measured energy: both models are estimated by the same "
        "method on the same machine, so the method's common error cancels and the ratio is "
        "that of CPU time x modelled power (plus resident memory x time); it cannot show a "
        "difference in the power the hardware draws per CPU-second between the models, which "
        "more rounds cannot reveal either: a meter (RAPL, NVML or an external power log) can";
  }
  m.value = e.value;
  m.interval = e.interval;
  m.details = d;
  if (p.method == "measured" && estimate) {
    m.undecidable =
        "the criterion requires measured energy and only the estimate could read both "
        "models" +
        (unavailable_text.empty() ? std::string() : " (" + unavailable_text + ")");
  }
  return m;
}

// The energy-per-token metrics: the generation settings (language::GenerationParams, the same
// fields and the same run as the generation-speed criteria) and the meters; the carbon one also
// the grid intensity. EnergyParams' own run settings are not bound (the generation run has its
// own).
struct TokenEnergyParams : language::GenerationParams, EnergyParams {};
struct TokenCarbonParams : language::GenerationParams, CarbonParams {};

template <typename P>
ParamSchema<P> TokenSchema() {
  ParamSchema<P> schema;
  language::AddGenerationFields(schema);
  AddMeterFields(schema, /*with_idle=*/true);
  if constexpr (std::is_base_of_v<CarbonParams, P>) AddGridFields(schema);
  return schema;
}

// The statistics of an energy-per-token metric: the generation run (held by the shard that ran
// it), the meters' readings of its whole window and idle baseline, and of each repetition.
struct TokenEnergyStats {
  language::GenerationStats run;
  nlohmann::json windows;  // {"meters": ..., "idle": ...}, or null.
  std::vector<std::pair<int64_t, nlohmann::json>> repetitions;

  void Merge(const TokenEnergyStats& other) {
    run.Merge(other.run);  // Throws when both hold a run.
    if (windows.is_null()) windows = other.windows;
    repetitions.insert(repetitions.end(), other.repetitions.begin(), other.repetitions.end());
  }
  nlohmann::json ToJson() const {
    nlohmann::json reps = nlohmann::json::array();
    for (const auto& [index, readings] : repetitions) reps.push_back({index, readings});
    return {{"run", run.ToJson()}, {"windows", windows}, {"repetitions", reps}};
  }
  static TokenEnergyStats FromJson(const nlohmann::json& j) {
    TokenEnergyStats s;
    try {
      s.run = language::GenerationStats::FromJson(j.at("run"));
      s.windows = j.at("windows");
      for (const auto& r : j.at("repetitions")) {
        s.repetitions.emplace_back(JsonInteger<int64_t>(r.at(0), "repetitions"), r.at(1));
      }
    } catch (const nlohmann::json::exception& e) {
      throw RuntimeError(std::string("energy statistics: malformed JSON: ") + e.what());
    }
    return s;
  }
};

// Energy or carbon per output token of a timed generation run: the meters of the classifier
// energy metrics around the generation run's window and repetitions, divided by the output
// tokens in each (MeterFigure, the same arithmetic, bands and intervals).
template <typename P>
class TokenEnergyMetric final
    : public TypedMetric<P, TokenEnergyStats, language::GenerationRecord> {
  using Base = TypedMetric<P, TokenEnergyStats, language::GenerationRecord>;

 public:
  TokenEnergyMetric(MetricSpec spec, Figure figure)
      : Base(std::move(spec), TokenSchema<P>()), figure_(figure) {}

  std::shared_ptr<Instrument> MakeInstrument(const BoundParams& params) const override {
    const auto* bound = dynamic_cast<const Bound<P>*>(&params);
    if (bound == nullptr) throw RuntimeError(this->spec().name + ": parameters of another metric");
    return std::make_shared<EnergyInstrument>(bound->value);
  }

 protected:
  void CheckModel(const P& p, const ModelSpec& model) const override {
    language::CheckGenerationFitsModel(p, model);
  }
  std::shared_ptr<const Work> Needs(const P& p) const override {
    // The generation-speed criteria's work (and key) for the same settings: one run.
    return std::make_shared<language::GenerationWork>(p);
  }

  TokenEnergyStats Accumulate(const P&, const language::GenerationRecord& record,
                              const MetricInput& input) const override {
    const auto* windows = dynamic_cast<const EnergyWindows*>(input.reading);
    if (windows == nullptr) {
      throw RuntimeError(this->spec().name +
                         ": no energy meter was attached to the generation run");
    }
    TokenEnergyStats s;
    const bool holds_run = input.rows.begin <= 0 && (0 < input.rows.end || record.rows() == 0);
    if (!holds_run) return s;
    s.run.run = language::GenerationToJson(*record.result);
    s.windows = {{"meters", windows->meters}, {"idle", windows->idle}};
    for (size_t r = 0; r < windows->repetitions.size(); ++r) {
      s.repetitions.emplace_back(static_cast<int64_t>(r), windows->repetitions[r]);
    }
    return s;
  }

  Measurement Finalize(const P& p, const TokenEnergyStats& stats,
                       const FinalizeContext& ctx) const override {
    if (stats.run.run.is_null() || stats.windows.is_null()) {
      throw RuntimeError(this->spec().name + ": the generation run's statistics are missing");
    }
    const harness::GenerationResult result = language::GenerationFromJson(stats.run.run);
    MeteredRun metered;
    metered.run = &result.run;
    metered.units = static_cast<double>(result.output_tokens());
    for (const harness::Repetition& rep : result.run.repetitions) {
      metered.repetition_units.push_back(
          static_cast<double>(rep.queries * result.output_tokens_per_query()));
    }
    metered.unit_name = "output_tokens";
    metered.method_suffix =
        std::string(" per output token of the timed generation run (") +
        (result.cache ? "decoded with the model's cache" : "decoded by recomputing the prefix") +
        ", " + std::to_string(result.settings.max_new_tokens) + " new tokens per prompt)";
    metered.details = language::GenerationRunDetails(result);
    metered.details["valid"] = result.run.valid();
    return MeterFigure(p, figure_, this->spec().name, metered, stats.windows, stats.repetitions,
                       ctx);
  }

 private:
  Figure figure_;
};

}  // namespace

SavingEstimate EstimateEnergySaving(std::span<const double> model_energy_j,
                                    std::span<const double> reference_energy_j, double level) {
  if (model_energy_j.size() != reference_energy_j.size()) {
    throw RuntimeError("energy_saving: rounds of one model only");
  }
  SavingEstimate out;
  for (size_t i = 0; i < model_energy_j.size(); ++i) {
    out.per_round_ratio.push_back(
        reference_energy_j[i] > 0.0 ? model_energy_j[i] / reference_energy_j[i] : 0.0);
  }
  const efficiency::RatioEstimate ratio =
      efficiency::EstimateRoundRatio(out.per_round_ratio, level, "energy_saving");
  out.ratio = ratio.value;
  out.ratio_interval = ratio.interval;
  out.value = 1.0 - ratio.value;
  // 1 − x is decreasing: the ratio's upper bound is the saving's lower bound.
  out.interval.low = 1.0 - ratio.interval.high;
  out.interval.high = 1.0 - ratio.interval.low;
  out.interval.level = ratio.interval.level;
  out.interval.method = ratio.interval.method + ", as 1 - ratio";
  return out;
}

std::unique_ptr<Metric> MakeEnergySaving() { return std::make_unique<EnergySavingMetric>(); }

std::unique_ptr<Metric> MakeEnergyPerInference() {
  return std::make_unique<EnergyMetric<EnergyParams>>(
      DescribeMetric("energy_per_inference_mj", "mJ", "efficiency",
                     "energy per inference over the benchmark run's window (measured or estimated)",
                     true, false),
      EnergySchema(), Figure::kEnergyPerInference);
}

std::unique_ptr<Metric> MakeEnergyPer1000Inferences() {
  return std::make_unique<EnergyMetric<EnergyParams>>(
      DescribeMetric("energy_per_1000_inferences_wh", "Wh", "efficiency",
                     "energy of 1000 inferences over the benchmark run's window", true, false),
      EnergySchema(), Figure::kEnergyPer1000);
}

std::unique_ptr<Metric> MakeAveragePower() {
  return std::make_unique<EnergyMetric<EnergyParams>>(
      DescribeMetric("average_power_w", "W", "efficiency",
                     "energy of the run's window / its duration", true, false),
      EnergySchema(), Figure::kPower);
}

std::unique_ptr<Metric> MakeInferencesPerJoule() {
  return std::make_unique<EnergyMetric<EnergyParams>>(
      DescribeMetric("inferences_per_joule", "inferences/J", "efficiency",
                     "inferences in the run's window / its energy", true, false),
      EnergySchema(), Figure::kInferencesPerJoule);
}

std::unique_ptr<Metric> MakeCarbonPer1000Inferences() {
  return std::make_unique<EnergyMetric<CarbonParams>>(
      DescribeMetric("carbon_per_1000_inferences_g", "gCO2e", "efficiency",
                     "kWh of 1000 inferences × grid intensity × PUE", true, false),
      CarbonSchema(), Figure::kCarbon);
}

std::unique_ptr<Metric> MakeSciPerInference() {
  return std::make_unique<EnergyMetric<SciParams>>(
      DescribeMetric("sci_per_inference_g", "gCO2e", "efficiency",
                     "Green Software Foundation SCI (ISO/IEC 21031): (E·I + M) / R, R = inferences",
                     true, false),
      SciSchema(), Figure::kSci);
}

std::unique_ptr<Metric> MakeEnergyPerOutputToken() {
  return std::make_unique<TokenEnergyMetric<TokenEnergyParams>>(
      DescribeMetric("energy_per_output_token_mj", "mJ", "efficiency",
                     "energy per output token over a timed generation run's window (causal LM; "
                     "measured or estimated)",
                     true, false),
      Figure::kEnergyPerInference);
}

std::unique_ptr<Metric> MakeEnergyPer1000Tokens() {
  return std::make_unique<TokenEnergyMetric<TokenEnergyParams>>(
      DescribeMetric(
          "energy_per_1000_tokens_wh", "Wh", "efficiency",
          "energy of 1000 output tokens over a timed generation run's window (causal LM)", true,
          false),
      Figure::kEnergyPer1000);
}

std::unique_ptr<Metric> MakeCarbonPer1000Tokens() {
  return std::make_unique<TokenEnergyMetric<TokenCarbonParams>>(
      DescribeMetric("carbon_per_1000_tokens_g", "gCO2e", "efficiency",
                     "kWh of 1000 output tokens × grid intensity × PUE (causal LM generation)",
                     true, false),
      Figure::kCarbon);
}

}  // namespace greenlight::energy
