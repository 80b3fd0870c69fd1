#include "auditors/energy/energy_auditor.h"

#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <sstream>
#include <thread>

#include "auditors/energy/carbon.h"
#include "auditors/energy/estimate_meter.h"
#include "auditors/energy/external_log_meter.h"
#include "auditors/energy/grid_intensity_source.h"
#include "auditors/energy/nvml_meter.h"
#include "auditors/energy/rapl_meter.h"
#include "benchmarks/harness/harness.h"
#include "core/clock.h"
#include "core/error.h"

namespace greenlight {
namespace energy {

EnergyMeter* MeterObserver::Attach(const std::string& key, std::unique_ptr<EnergyMeter> meter) {
  auto it = meters_.find(key);
  if (it != meters_.end()) return it->second.get();
  return meters_.emplace(key, std::move(meter)).first->second.get();
}

EnergyMeter* MeterObserver::Find(const std::string& key) const {
  auto it = meters_.find(key);
  return it == meters_.end() ? nullptr : it->second.get();
}

void MeterObserver::Begin(const std::string& window) {
  auto& ids = open_[window];
  for (auto& [key, meter] : meters_) {
    if (meter->available()) ids[key] = meter->Begin();
  }
}

void MeterObserver::End(const std::string& window) {
  auto it = open_.find(window);
  if (it == open_.end()) return;
  // Close in reverse order of opening so that nested meter windows stay nested.
  for (auto m = it->second.rbegin(); m != it->second.rend(); ++m) {
    meters_.at(m->first)->End(m->second);
  }
  closed_[window] = std::move(it->second);
  open_.erase(it);
}

std::optional<EnergyReading> MeterObserver::Reading(const std::string& window,
                                                    const std::string& meter_key) {
  const auto cached = readings_.find({window, meter_key});
  if (cached != readings_.end()) return cached->second;
  auto w = closed_.find(window);
  if (w == closed_.end()) return std::nullopt;
  auto id = w->second.find(meter_key);
  if (id == w->second.end()) return std::nullopt;
  EnergyReading r = meters_.at(meter_key)->Read(id->second);
  readings_[{window, meter_key}] = r;
  return r;
}

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

namespace {

constexpr const char* kObserverKey = "energy:meter-observer";

std::vector<ParamSpec> MeterParams() {
  std::vector<ParamSpec> p = harness::RunParamSpecs();
  const std::vector<ParamSpec> mine = {
      {"meter",
       ParamType::kString,
       "energy source: auto (RAPL, plus NVML for a GPU run; the CPU-time estimate when neither "
       "is readable), rapl, nvml, external (power_log) or estimate",
       "auto",
       false,
       {"auto", "rapl", "nvml", "external", "estimate"}},
      {"method",
       ParamType::kString,
       "measured: an estimate makes the criterion INCONCLUSIVE; any: estimates are accepted",
       "any",
       false,
       {"any", "measured"}},
      {"idle_baseline_s", ParamType::kNumber,
       "seconds of idle measurement after the run, reported as idle power (0: none)", 1.0},
      {"subtract_idle", ParamType::kBool,
       "subtract idle power × window from the run's energy (needs idle_baseline_s > 0)", false},
      {"rapl_root", ParamType::kString, "powercap sysfs root", "/sys/class/powercap"},
      {"rapl_domains", ParamType::kStringList,
       "RAPL zone kinds to sum (package, dram, core, uncore, psys; nested kinds are refused)",
       nlohmann::json::array({"package", "dram"})},
      {"rapl_poll_interval_s", ParamType::kNumber,
       "counter polling period during the run (wrap correction)", 1.0},
      {"nvml_library", ParamType::kString, "NVML library to dlopen", "libnvidia-ml.so.1"},
      {"nvml_devices", ParamType::kIntegerList, "GPU indices to meter (default: all)"},
      {"nvml_mode",
       ParamType::kString,
       "auto (energy counter where supported, else power sampling), energy or power",
       "auto",
       false,
       {"auto", "energy", "power"}},
      {"nvml_sample_interval_s", ParamType::kNumber, "GPU power sampling period", 0.05},
      {"power_log", ParamType::kString,
       "external meter's power log (CSV timestamp,watts or PTDaemon); path as given, relative "
       "to the working directory"},
      {"power_log_min_samples", ParamType::kInteger,
       "fewest power-log samples inside the window for a figure", 3},
      {"meter_accuracy_pct", ParamType::kNumber, "external meter's accuracy, ± % of reading", 1.0},
      {"cpu_watts_per_thread", ParamType::kNumber,
       "estimate: active power per busy hardware thread (default: CPU table, else its mean)"},
      {"memory_watts_per_gb", ParamType::kNumber, "estimate: power per GB of resident memory",
       kDefaultMemoryWattsPerGb},
  };
  p.insert(p.end(), mine.begin(), mine.end());
  return p;
}

std::vector<ParamSpec> CarbonParams() {
  return {
      {"grid_intensity_g_per_kwh", ParamType::kNumber,
       "grid carbon intensity, gCO2e/kWh (overrides grid_region)"},
      {"grid_region", ParamType::kString,
       "country code (ISO 3166-1 alpha-2) in the shipped Ember 2023 table, or WORLD", "WORLD"},
      {"pue", ParamType::kNumber, "power usage effectiveness of the facility (>= 1)", 1.0},
      {"grid_intensity", ParamType::kObject,
       "live intensity {url, zone, token_file, require_live}; unreachable or malformed: "
       "grid_intensity_g_per_kwh / grid_region as a labelled fallback, or INCONCLUSIVE with "
       "require_live"},
  };
}

std::vector<ParamSpec> SciParams() {
  return {
      {"embodied_total_g", ParamType::kNumber,
       "SCI TE: embodied emissions of the whole machine, gCO2e", 1.0e6},
      {"lifespan_years", ParamType::kNumber, "SCI EL: expected lifespan of the machine", 4.0},
      {"resources_reserved", ParamType::kNumber,
       "SCI RR: resources the run held (default: its intra-op threads)"},
      {"resources_total", ParamType::kNumber,
       "SCI ToR: resources of the machine (default: logical cores)"},
  };
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Each meter configuration has a key: criteria asking for the same configuration share a meter.
std::string MeterKey(const std::string& kind, const MetricRequest& req) {
  std::ostringstream k;
  k << kind;
  if (kind == "rapl") {
    k << "|" << req.Param<std::string>("rapl_root", "/sys/class/powercap") << "|"
      << Join(req.Param<std::vector<std::string>>("rapl_domains", {"package", "dram"}), ",") << "|"
      << req.Param<double>("rapl_poll_interval_s", 1.0);
  } else if (kind == "nvml") {
    k << "|" << req.Param<std::string>("nvml_library", "libnvidia-ml.so.1") << "|"
      << req.params.value("nvml_devices", nlohmann::json()).dump() << "|"
      << req.Param<std::string>("nvml_mode", "auto") << "|"
      << req.Param<double>("nvml_sample_interval_s", 0.05);
  } else if (kind == "external") {
    k << "|" << req.Param<std::string>("power_log", "") << "|"
      << req.Param<int64_t>("power_log_min_samples", 3) << "|"
      << req.Param<double>("meter_accuracy_pct", 1.0);
  } else {
    k << "|" << req.params.value("cpu_watts_per_thread", nlohmann::json()).dump() << "|"
      << req.Param<double>("memory_watts_per_gb", kDefaultMemoryWattsPerGb);
  }
  return k.str();
}

std::unique_ptr<EnergyMeter> MakeMeter(const std::string& kind, const MetricRequest& req) {
  if (kind == "rapl") {
    RaplOptions o;
    o.root = req.Param<std::string>("rapl_root", "/sys/class/powercap");
    o.domains = req.Param<std::vector<std::string>>("rapl_domains", {"package", "dram"});
    o.poll_interval_s = req.Param<double>("rapl_poll_interval_s", 1.0);
    if (!(o.poll_interval_s > 0.0)) throw InputError("rapl_poll_interval_s must be > 0");
    return std::make_unique<RaplMeter>(o);
  }
  if (kind == "nvml") {
    NvmlOptions o;
    o.library = req.Param<std::string>("nvml_library", "libnvidia-ml.so.1");
    o.devices = req.Param<std::vector<int>>("nvml_devices", {});
    o.mode = req.Param<std::string>("nvml_mode", "auto");
    o.sample_interval_s = req.Param<double>("nvml_sample_interval_s", 0.05);
    if (!(o.sample_interval_s > 0.0)) throw InputError("nvml_sample_interval_s must be > 0");
    return std::make_unique<NvmlMeter>(o);
  }
  if (kind == "external") {
    ExternalLogOptions o;
    o.log = req.Param<std::string>("power_log", "");
    o.min_samples = req.Param<int64_t>("power_log_min_samples", 3);
    o.meter_accuracy_pct = req.Param<double>("meter_accuracy_pct", 1.0);
    return std::make_unique<ExternalLogMeter>(o);
  }
  EstimateOptions o;
  if (req.params.contains("cpu_watts_per_thread") &&
      !req.params["cpu_watts_per_thread"].is_null()) {
    o.watts_per_thread = req.params["cpu_watts_per_thread"].get<double>();
  }
  o.memory_watts_per_gb = req.Param<double>("memory_watts_per_gb", kDefaultMemoryWattsPerGb);
  return std::make_unique<EstimateMeter>(o);
}

bool IsGpuDevice(const std::string& device) { return device.rfind("cuda", 0) == 0; }

// Meter kinds a request may read: auto = RAPL, NVML for GPU runs, and the estimate as fallback.
// The estimate is always attached (cheap), so a measured figure can be compared with it.
std::vector<std::string> MeterKinds(const MetricRequest& req, bool gpu) {
  const std::string meter = req.Param<std::string>("meter", "auto");
  if (meter == "auto") {
    std::vector<std::string> kinds = {"rapl"};
    if (gpu) kinds.push_back("nvml");
    kinds.push_back("estimate");
    return kinds;
  }
  if (meter == "estimate") return {"estimate"};
  return {meter, "estimate"};
}

std::string RunDevice(const harness::RunSettings& s, const Model& model) {
  return s.device.empty() ? model.spec().device : s.device;
}

std::shared_ptr<MeterObserver> Observer(AuditContext& ctx) {
  return ctx.Shared<MeterObserver>(kObserverKey, [&ctx] {
    auto o = std::make_shared<MeterObserver>();
    ctx.AddWindowObserver(o);
    return o;
  });
}

void AttachMeters(const MetricRequest& req, AuditContext& ctx) {
  Model* model = ctx.model();
  if (model == nullptr) return;
  const harness::RunSettings settings = harness::SettingsFromParams(req.params);
  auto observer = Observer(ctx);
  for (const std::string& kind : MeterKinds(req, IsGpuDevice(RunDevice(settings, *model)))) {
    const std::string key = MeterKey(kind, req);
    if (observer->Find(key) == nullptr) observer->Attach(key, MakeMeter(kind, req));
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

// Idle power of the chosen meters: one window of `seconds` with this process asleep, after the
// run (separately from it). Shared by the criteria that use the same meters and duration.
std::shared_ptr<IdleBaseline> MeasureIdle(AuditContext& ctx, MeterObserver& observer,
                                          const std::vector<std::string>& keys, double seconds) {
  return ctx.Shared<IdleBaseline>(
      "energy:idle:" + Join(keys, ";") + ":" + std::to_string(seconds), [&] {
        std::vector<std::pair<EnergyMeter*, EnergyMeter::WindowId>> windows;
        for (const auto& key : keys) {
          EnergyMeter* m = observer.Find(key);
          windows.emplace_back(m, m->Begin());
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        for (auto it = windows.rbegin(); it != windows.rend(); ++it) it->first->End(it->second);
        std::vector<EnergyReading> parts;
        for (auto& [m, id] : windows) parts.push_back(m->Read(id));
        const EnergyReading r = CombineReadings(parts);
        auto b = std::make_shared<IdleBaseline>();
        b->duration_s = r.duration_s;
        b->samples = r.samples;
        b->method = r.method;
        if (r.valid && r.duration_s > 0.0) {
          b->power_w = r.energy_j / r.duration_s;
          b->power_low_w = r.low_j() / r.duration_s;
          b->power_high_w = r.high_j() / r.duration_s;
        }
        return b;
      });
}

std::string Rfc3339(double unix_s) {
  const auto tp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(unix_s)));
  return FormatRfc3339Utc(tp);
}

// Two figures whose keys are equal come from the same method with the same coefficients on the
// same machine: the band's error is common to both (e.g. both estimates use the same watts per
// thread), so their ratio does not carry it.
std::string SameMethodKey(const EnergyReading& reading, const harness::RunResult& run) {
  std::ostringstream key;
  key << reading.method << "|host=" << run.context.host_name;
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

class EnergyAuditor final : public Auditor {
 public:
  std::vector<MetricSpec> metrics() const override {
    const auto meter = MeterParams();
    auto with = [&](std::vector<ParamSpec> extra) {
      std::vector<ParamSpec> p = meter;
      p.insert(p.end(), extra.begin(), extra.end());
      return p;
    };
    std::vector<ParamSpec> sci = CarbonParams();
    for (const auto& s : SciParams()) sci.push_back(s);
    return {
        {"energy_per_inference_mj", "mJ", "efficiency",
         "energy per inference over the benchmark run's window (measured or estimated)", meter,
         true, false},
        {"energy_per_1000_inferences_wh", "Wh", "efficiency",
         "energy of 1000 inferences over the benchmark run's window", meter, true, false},
        {"average_power_w", "W", "efficiency", "energy of the run's window / its duration", meter,
         true, false},
        {"inferences_per_joule", "inferences/J", "efficiency",
         "inferences in the run's window / its energy", meter, true, false},
        {"carbon_per_1000_inferences_g", "gCO2e", "efficiency",
         "kWh of 1000 inferences × grid intensity × PUE", with(CarbonParams()), true, false},
        {"sci_per_inference_g", "gCO2e", "efficiency",
         "Green Software Foundation SCI (ISO/IEC 21031): (E·I + M) / R, R = inferences", with(sci),
         true, false},
    };
  }

  void Prepare(const MetricRequest& req, AuditContext& ctx) override {
    // Errors in the parameters surface in Measure, as this criterion's ERROR; Prepare must not
    // stop the other criteria.
    try {
      AttachMeters(req, ctx);
    } catch (const std::exception&) {
    }
  }

  Measurement Measure(const MetricRequest& req, AuditContext& ctx) override {
    Model* model = ctx.model();
    if (model == nullptr) {
      throw InputError(req.metric + " needs a model (this audit has recorded predictions only)");
    }
    const harness::RunSettings settings = harness::SettingsFromParams(req.params);
    AttachMeters(req, ctx);  // No-op after Prepare; keeps Measure usable on its own.
    auto observer = Observer(ctx);
    auto run = harness::GetOrRunShared(ctx, settings, req.criterion_id);
    const bool gpu = IsGpuDevice(run->device.empty() ? RunDevice(settings, *model) : run->device);
    const std::string requested = req.Param<std::string>("meter", "auto");

    Measurement m;
    m.unit = UnitOf(req.metric);
    m.deterministic = false;
    m.samples = run->samples;
    nlohmann::json unavailable = nlohmann::json::object();
    auto reading_of = [&](const std::string& kind) -> std::optional<EnergyReading> {
      const std::string key = MeterKey(kind, req);
      EnergyMeter* meter = observer->Find(key);
      if (auto reason = meter->unavailable_reason()) {
        unavailable[kind] = "meter unavailable: " + *reason;
        return std::nullopt;
      }
      auto r = observer->Reading(run->key, key);
      if (!r) {
        throw RuntimeError("energy: the run " + run->key + " was made before the " + kind +
                           " meter was attached, so its window was not metered");
      }
      if (!r->valid) {
        unavailable[kind] = r->problem;
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
    m.method = reading.method;

    // Idle baseline, measured separately after the run with the same meters.
    const double idle_s = req.Param<double>("idle_baseline_s", 1.0);
    const bool subtract = req.Param<bool>("subtract_idle", false);
    if (idle_s < 0.0) throw InputError("idle_baseline_s must be >= 0");
    if (subtract && idle_s <= 0.0) {
      throw InputError("subtract_idle needs an idle baseline: set idle_baseline_s > 0");
    }
    std::vector<std::string> keys;
    for (const auto& kind : used) keys.push_back(MeterKey(kind, req));
    std::shared_ptr<IdleBaseline> idle;
    if (idle_s > 0.0) idle = MeasureIdle(ctx, *observer, keys, idle_s);

    const double t = reading.duration_s;
    double e = reading.energy_j, lo = reading.low_j(), hi = reading.high_j();
    if (subtract) {
      e -= idle->power_w * t;
      lo -= idle->power_high_w * t;
      hi -= idle->power_low_w * t;
    }
    const double n = static_cast<double>(run->samples);

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
    d["inferences"] = run->samples;
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
    d["run"] = {{"key", run->key},
                {"scenario", harness::ScenarioName(run->settings.scenario)},
                {"batch_size", run->settings.batch_size},
                {"threads", run->threads},
                {"device", run->device},
                {"valid", run->valid()}};
    if (const nlohmann::json noisy = harness::NoisyContextWarnings(run->context); !noisy.empty()) {
      d["noisy_context"] = noisy;
    }
    if (!estimate) {
      // The estimate over the same window, for comparison.
      if (auto est = observer->Reading(run->key, MeterKey("estimate", req))) {
        d["estimate_same_window_j"] = est->energy_j;
      }
    }

    bool live_required_missing = false;  // grid_intensity.require_live without a live figure.
    const std::string& metric = req.metric;
    if (n <= 0.0 || t <= 0.0) {
      m.message = "the run's window holds no inference";
      m.details = d;
      return m;
    }
    // The metric as a function of a window's energy (J), inferences and duration (s), so that the
    // whole window, the band's ends and each repetition go through the same arithmetic.
    std::function<double(double, double, double)> figure;
    if (metric == "energy_per_inference_mj") {
      figure = [](double e_j, double k, double) { return e_j / k * 1e3; };
    } else if (metric == "energy_per_1000_inferences_wh") {
      figure = [](double e_j, double k, double) { return e_j / k * 1000.0 / 3600.0; };
    } else if (metric == "average_power_w") {
      figure = [](double e_j, double, double s) { return e_j / s; };
    } else if (metric == "inferences_per_joule") {
      figure = [](double e_j, double k, double) { return e_j > 0.0 ? k / e_j : NAN; };
    } else {
      double intensity = 0.0;
      nlohmann::json grid;
      // A live figure when one is configured and answers; otherwise the static figure below,
      // labelled as the fallback (or INCONCLUSIVE when the criterion requires a live figure).
      std::optional<LiveGridReading> live;
      std::string live_error;
      std::optional<LiveGridSpec> live_spec;
      if (req.params.contains("grid_intensity") && !req.params["grid_intensity"].is_null()) {
        live_spec = ParseLiveGridSpec(req.params["grid_intensity"]);
        try {
          live = FetchLiveGridIntensity(*live_spec);
        } catch (const std::exception& e) {
          live_error = e.what();
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
      } else if (req.params.contains("grid_intensity_g_per_kwh") &&
                 !req.params["grid_intensity_g_per_kwh"].is_null()) {
        intensity = req.params["grid_intensity_g_per_kwh"].get<double>();
        if (intensity < 0.0) throw InputError("grid_intensity_g_per_kwh must be >= 0");
        grid = {{"intensity_g_per_kwh", intensity}, {"source", "criteria parameter"}};
      } else {
        const std::string region = req.Param<std::string>("grid_region", "WORLD");
        const auto g = FindGridIntensity(region);
        if (!g) {
          throw InputError("grid_region '" + region +
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
      const double pue = req.Param<double>("pue", 1.0);
      if (pue < 1.0) throw InputError("pue must be >= 1");
      grid["pue"] = pue;
      d["carbon"] = grid;
      if (metric == "carbon_per_1000_inferences_g") {
        figure = [intensity, pue](double e_j, double k, double) {
          return CarbonGrams(e_j / k * 1000.0, intensity, pue);
        };
      } else {
        EmbodiedInputs in;
        in.total_embodied_g = req.Param<double>("embodied_total_g", 1.0e6);
        in.expected_lifespan_s = req.Param<double>("lifespan_years", 4.0) * kSecondsPerYear;
        in.time_reserved_s = t;
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        in.resources_reserved =
            req.Param<double>("resources_reserved", run->threads > 0 ? run->threads : cores);
        in.resources_total = req.Param<double>("resources_total", cores);
        if (in.total_embodied_g < 0.0) throw InputError("embodied_total_g must be >= 0");
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
    const double value = figure(e, n, t);
    const double band_a = figure(lo, n, t), band_b = figure(hi, n, t);
    if (std::isfinite(value)) m.value = value;

    // Each repetition metered on its own (same meters, same idle treatment): the spread between
    // them is the run-to-run variation; the meter's band is a systematic error shared by all.
    std::vector<double> per_repetition;
    nlohmann::json reps = nlohmann::json::array();
    for (size_t r = 0; r < run->repetitions.size(); ++r) {
      std::vector<EnergyReading> rep_parts;
      for (const auto& key : keys) {
        auto reading =
            observer->Reading(harness::RepetitionWindow(run->key, static_cast<int>(r + 1)), key);
        if (!reading || !reading->valid) break;
        rep_parts.push_back(*reading);
      }
      if (rep_parts.size() != keys.size()) {
        per_repetition.clear();
        reps = nlohmann::json::array();
        break;
      }
      const EnergyReading rr = CombineReadings(rep_parts);
      const double rn = static_cast<double>(run->repetitions[r].queries * run->settings.batch_size);
      const double re = rr.energy_j - (subtract ? idle->power_w * rr.duration_s : 0.0);
      if (rn <= 0.0 || rr.duration_s <= 0.0) continue;
      per_repetition.push_back(figure(re, rn, rr.duration_s));
      reps.push_back({{"energy_j", re},
                      {"inferences", rn},
                      {"duration_s", rr.duration_s},
                      {"value", per_repetition.back()}});
    }
    d["repetitions"] = reps;
    std::optional<Interval> statistical;
    if (m.value)
      statistical = harness::RepetitionInterval(*m.value, per_repetition, req.confidence);
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
        m.interval = Interval{statistical->low - below, statistical->high + above, req.confidence,
                              statistical->method + " + " + band_name};
      } else {
        m.interval =
            Interval{std::min(band_a, band_b), std::max(band_a, band_b), req.confidence, band_name};
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
      m.forced_status = Status::kInconclusive;
      m.message = "the criterion requires a live grid intensity and none was obtained (" +
                  d["carbon"].value("live_error", std::string()) + ")";
    } else if (req.Param<std::string>("method", "any") == "measured" && estimate) {
      m.forced_status = Status::kInconclusive;
      std::string why;
      for (const auto& [kind, reason] : unavailable.items()) {
        why += (why.empty() ? "" : "; ") + kind + ": " + reason.get<std::string>();
      }
      m.message = "the criterion requires a measured figure and only an estimate is available" +
                  (why.empty() ? std::string() : " (" + why + ")");
    } else if (!run->valid()) {
      m.forced_status = Status::kInconclusive;
      m.message = "the benchmark run did not meet its run-length minimums (" +
                  std::to_string(run->queries) + " queries in " +
                  std::to_string(static_cast<double>(run->duration_ns) * 1e-9) + " s)";
    }
    return m;
  }

 private:
  static std::string UnitOf(const std::string& metric) {
    if (metric == "energy_per_inference_mj") return "mJ";
    if (metric == "energy_per_1000_inferences_wh") return "Wh";
    if (metric == "average_power_w") return "W";
    if (metric == "inferences_per_joule") return "inferences/J";
    return "gCO2e";
  }
};

}  // namespace
}  // namespace energy

void RegisterEnergyAuditor(AuditorRegistry& registry) {
  registry.Register(std::make_unique<energy::EnergyAuditor>());
}

}  // namespace greenlight
