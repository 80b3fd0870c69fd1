// The energy metrics on real benchmark runs of a small TorchScript model (exported here with
// PyTorch): the CPU-time estimate scales with the work, energy shares the latency metrics' timed
// run (one plan item, one instrument), a required measured figure is INCONCLUSIVE without a meter,
// RAPL is used when readable; energy_saving's figure and refusals from readings written by hand.
#define BOOST_TEST_MODULE energy_metrics
#include "auditors/energy/energy_metrics.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "auditors/auditor.h"
#include "auditors/metric.h"
#include "datasets/in_memory_dataset.h"
#include "engine/criteria.h"
#include "engine/plan.h"

namespace fs = std::filesystem;
using namespace greenlight;

namespace {

constexpr int kInputs = 256;

// A multilayer perceptron heavy enough that CPU time dominates the harness's own overhead.
const fs::path& ModelPath() {
  static const fs::path path = [] {
    const fs::path dir =
        fs::temp_directory_path() / ("greenlight-energy-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path out = dir / "mlp.pt";
    const std::string script =
        "import torch\n"
        "torch.manual_seed(0)\n"
        "m = torch.nn.Sequential(torch.nn.Linear(256, 1024), torch.nn.ReLU(),\n"
        "                        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),\n"
        "                        torch.nn.Linear(1024, 10)).eval()\n"
        "torch.jit.script(m).save('" +
        out.string() + "')\n";
    std::ofstream(dir / "export.py") << script;
    const std::string cmd = std::string(GREENLIGHT_PYTHON) + " " + (dir / "export.py").string();
    BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
    return out;
  }();
  return path;
}

struct Fixture {
  InMemoryDataset data;
  std::unique_ptr<Model> model;
  AuditorRegistry registry;
  Fixture() {
    RegisterBuiltinAuditors(registry);
    data.info_.rows = 64;
    data.shape_ = {kInputs};
    data.sample_size_ = kInputs;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int i = 0; i < 64 * kInputs; ++i) data.features_.push_back(u(rng));
    data.has_labels_ = true;
    data.labels_.assign(64, 0);
    data.num_classes_ = 10;
    ModelSpec spec;
    spec.path = ModelPath();
    spec.output = OutputKind::kLogits;
    spec.input_shape = {kInputs};
    model = LoadTorchScriptModel(spec);
    model->SetThreads(1);
  }
};

MetricRequest Request(const std::string& metric, nlohmann::json params) {
  MetricRequest r;
  r.criterion_id = metric;
  r.metric = metric;
  r.params = std::move(params);
  return r;
}

nlohmann::json Quick(int64_t queries) {
  return {{"min_queries", queries},
          {"min_duration_s", 0.0},
          {"warmup_queries", 16},
          {"threads", 1},
          {"idle_baseline_s", 0.0}};
}

// Measures the requests as the engine does: one plan over all of them, each work item run once
// with its instruments attached, each criterion accumulated over all of its rows and finalized.
// `plan_out` (optional) receives the plan's items.
std::vector<Measurement> Audit(Fixture& f, AuditContext& ctx,
                               const std::vector<MetricRequest>& requests,
                               std::vector<AuditPlan::Item>* plan_out = nullptr) {
  std::vector<Criterion> criteria;
  for (const auto& r : requests) {
    Criterion c;
    c.id = r.criterion_id;
    c.metric = r.metric;
    c.params = r.params;
    const Metric* metric = FindFrameworkMetric(f.registry, r.metric);
    BOOST_REQUIRE(metric != nullptr);
    c.bound = metric->Bind(r.params);
    criteria.push_back(c);
  }
  AuditPlan plan(criteria, f.registry);
  std::vector<Measurement> out;
  for (size_t i = 0; i < criteria.size(); ++i) {
    const WorkRecord& record = plan.Record(i, ctx);
    const Metric& metric = *FindFrameworkMetric(f.registry, criteria[i].metric);
    FinalizeContext fin;
    fin.confidence = 0.95;
    out.push_back(MeasureRows(metric, *criteria[i].bound,
                              {record, plan.Reading(i), {0, record.rows()}}, fin));
  }
  if (plan_out != nullptr) *plan_out = plan.items();
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(estimate_twice_the_queries_twice_the_energy) {
  Fixture f;
  auto energy_of = [&](int64_t queries) {
    AuditContext ctx(f.model.get(), f.data, 1, nullptr);
    nlohmann::json p = Quick(queries);
    p["meter"] = "estimate";
    const Measurement m = Audit(f, ctx, {Request("energy_per_inference_mj", p)})[0];
    BOOST_REQUIRE(m.value.has_value());
    BOOST_TEST(m.method == "estimate:cpu-time");
    BOOST_TEST(m.samples == queries);
    return m.details["energy_j"]["value"].get<double>();
  };
  // Interleaved rounds of (750, 1500) queries, so that drifts in the shared machine's load fall
  // on both sides alike.
  double e1 = 0.0, e2 = 0.0;
  for (int round = 0; round < 4; ++round) {
    e1 += energy_of(750);
    e2 += energy_of(1500);
  }
  BOOST_TEST_MESSAGE("estimate: 4 × 750 queries " << e1 << " J, 4 × 1500 queries " << e2 << " J");
  BOOST_TEST(e2 / e1 == 2.0, boost::test_tools::tolerance(0.10));
}

BOOST_AUTO_TEST_CASE(energy_shares_the_latency_run_and_reports_its_figures) {
  Fixture f;
  AuditContext ctx(f.model.get(), f.data, 1, nullptr);
  nlohmann::json p = Quick(400);
  p["rapl_root"] = "/nonexistent/powercap";
  nlohmann::json carbon = p;
  carbon["grid_intensity_g_per_kwh"] = 400.0;
  carbon["pue"] = 1.5;
  nlohmann::json sci = carbon;
  sci["embodied_total_g"] = 1.0e6;
  sci["lifespan_years"] = 4.0;
  sci["resources_reserved"] = 1.0;
  sci["resources_total"] = 2.0;
  nlohmann::json latency = {
      {"min_queries", 400}, {"min_duration_s", 0.0}, {"warmup_queries", 16}, {"threads", 1}};
  std::vector<AuditPlan::Item> items;
  const auto ms =
      Audit(f, ctx,
            {Request("latency_p50_ms", latency), Request("energy_per_inference_mj", p),
             Request("energy_per_1000_inferences_wh", p), Request("average_power_w", p),
             Request("inferences_per_joule", p), Request("carbon_per_1000_inferences_g", carbon),
             Request("sci_per_inference_g", sci)},
            &items);
  // One run for latency and every energy figure, with one set of meters (the carbon and SCI
  // parameters do not change what is metered).
  BOOST_REQUIRE(items.size() == 1u);
  BOOST_TEST(items[0].criteria.size() == 7u);
  BOOST_TEST(items[0].instruments.size() == 1u);
  const double e = ms[1].details["energy_j"]["value"].get<double>();
  const double lo = ms[1].details["energy_j"]["low"].get<double>();
  const double hi = ms[1].details["energy_j"]["high"].get<double>();
  const double t = ms[1].details["window"]["duration_s"].get<double>();
  const double n = 400.0;
  for (size_t i = 1; i < ms.size(); ++i) {
    BOOST_TEST(ms[i].method == "estimate:cpu-time");
    BOOST_TEST(!ms[i].deterministic);
    BOOST_REQUIRE(ms[i].value.has_value());
    BOOST_REQUIRE(ms[i].interval.has_value());
    BOOST_TEST(ms[i].interval->low <= *ms[i].value);
    BOOST_TEST(ms[i].interval->high >= *ms[i].value);
    BOOST_TEST(ms[i].details["energy_j"]["value"].get<double>() == e);  // Same window.
    BOOST_TEST(ms[i].details["unavailable"]["rapl"].get<std::string>().find(
                   "meter unavailable: /nonexistent/powercap does not exist") == 0u);
  }
  BOOST_TEST(lo == e / 2, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(hi == e * 2, boost::test_tools::tolerance(1e-12));
  namespace tt = boost::test_tools;
  BOOST_TEST(*ms[1].value == e / n * 1e3, tt::tolerance(1e-12));
  BOOST_TEST(*ms[2].value == e / n * 1000 / 3600, tt::tolerance(1e-12));
  BOOST_TEST(*ms[3].value == e / t, tt::tolerance(1e-12));
  BOOST_TEST(*ms[4].value == n / e, tt::tolerance(1e-12));
  // The interval: the repetitions' interval widened by the band's reach on each side (for
  // inferences per joule the band's low end is n / (2e), its high end n / (e / 2)).
  for (size_t i = 1; i < ms.size(); ++i) {
    const auto& d = ms[i].details;
    BOOST_REQUIRE(d.contains("statistical_interval"));
    BOOST_TEST(d["repetitions"].size() == 10u);
    const double v = *ms[i].value;
    const double s_lo = d["statistical_interval"]["low"].get<double>();
    const double s_hi = d["statistical_interval"]["high"].get<double>();
    const double b_lo = d["systematic_band"]["low"].get<double>();
    const double b_hi = d["systematic_band"]["high"].get<double>();
    BOOST_TEST(s_lo <= v);
    BOOST_TEST(v <= s_hi);
    BOOST_TEST(ms[i].interval->low == s_lo - (v - b_lo), tt::tolerance(1e-9));
    BOOST_TEST(ms[i].interval->high == s_hi + (b_hi - v), tt::tolerance(1e-9));
  }
  BOOST_TEST(ms[4].details["systematic_band"]["low"].get<double>() == n / hi, tt::tolerance(1e-12));
  // Per repetition, energy per inference is the repetition's energy over its inferences, and the
  // repetitions' inferences add up to the run's.
  double inferences = 0.0;
  for (const auto& r : ms[1].details["repetitions"]) {
    inferences += r["inferences"].get<double>();
    BOOST_TEST(r["value"].get<double>() ==
                   r["energy_j"].get<double>() / r["inferences"].get<double>() * 1e3,
               tt::tolerance(1e-12));
  }
  BOOST_TEST(inferences == n);
  // The estimate's band is not sampling noise: the note says more queries cannot narrow it.
  BOOST_TEST(ms[1].message.find("more queries or repetitions cannot narrow it") !=
             std::string::npos);
  // Carbon: (e / n × 1000) J / 3.6e6 × 400 g/kWh × PUE 1.5.
  BOOST_TEST(*ms[5].value == e / n * 1000 / 3.6e6 * 400 * 1.5, tt::tolerance(1e-12));
  // SCI: (e × 1.5 / 3.6e6 × 400 + 1e6 × t / (4 × 365.25 × 86400) × 1/2) / n.
  const double m_g = 1e6 * t / (4 * 365.25 * 86400) * 0.5;
  BOOST_TEST(*ms[6].value == (e * 1.5 / 3.6e6 * 400 + m_g) / n, tt::tolerance(1e-9));
  BOOST_TEST(ms[6].details["sci"]["M_g"].get<double>() == m_g, tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(measured_required_without_meter_is_inconclusive) {
  Fixture f;
  AuditContext ctx(f.model.get(), f.data, 1, nullptr);
  nlohmann::json p = Quick(100);
  p["rapl_root"] = "/nonexistent/powercap";
  p["method"] = "measured";
  const Measurement m = Audit(f, ctx, {Request("energy_per_inference_mj", p)})[0];
  BOOST_TEST(m.method == "estimate:cpu-time");
  BOOST_REQUIRE(m.undecidable.has_value());
  BOOST_TEST(m.undecidable->find("requires a measured figure") != std::string::npos);
  // An explicitly requested meter that is missing: no value (INCONCLUSIVE), with the reason.
  nlohmann::json q = Quick(100);
  q["meter"] = "nvml";
  q["nvml_library"] = "/nonexistent/libnvidia-ml.so.1";
  const Measurement n = Audit(f, ctx, {Request("average_power_w", q)})[0];
  BOOST_TEST(!n.value.has_value());
  BOOST_TEST(n.method == "measured:nvml");
  BOOST_TEST(n.message.find("meter unavailable: cannot load") == 0u);
}

BOOST_AUTO_TEST_CASE(rapl_is_used_when_readable) {
  // A fixture powercap tree: readable, so `auto` measures with it (its counter does not move
  // during the run, so the figure is zero and its band is the 1 mJ counter granularity).
  const fs::path root =
      fs::temp_directory_path() / ("greenlight-rapl-" + std::to_string(::getpid()));
  fs::create_directories(root / "intel-rapl:0");
  std::ofstream(root / "intel-rapl:0" / "name") << "package-0\n";
  std::ofstream(root / "intel-rapl:0" / "energy_uj") << "12345\n";
  std::ofstream(root / "intel-rapl:0" / "max_energy_range_uj") << "262143328850\n";
  Fixture f;
  AuditContext ctx(f.model.get(), f.data, 1, nullptr);
  nlohmann::json p = Quick(100);
  p["rapl_root"] = root.string();
  p["method"] = "measured";
  p["idle_baseline_s"] = 0.2;
  const Measurement m = Audit(f, ctx, {Request("energy_per_inference_mj", p)})[0];
  BOOST_TEST(m.method == "measured:rapl");
  BOOST_TEST(!m.undecidable.has_value());
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(*m.value == 0.0);
  BOOST_TEST(m.details["idle_baseline"]["measured"].get<bool>());
  BOOST_TEST(m.details["idle_baseline"]["power_w"].get<double>() == 0.0);
  BOOST_TEST(m.details.contains("estimate_same_window_j"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(external_log_through_the_auditor_and_idle_subtraction) {
  // A wall meter reading a constant 50 W every 10 ms from a minute before to two minutes after
  // now: the run's window (at least 0.3 s, so ~30 samples) is covered, so its average power is
  // exactly 50 W, and the idle baseline (also 50 W) subtracted leaves zero.
  const fs::path log =
      fs::temp_directory_path() / ("greenlight-power-" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(log);
    out << "timestamp,watts\n";
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out.precision(17);
    for (double t = now - 60.0; t < now + 120.0; t += 0.01) out << t << ",50\n";
  }
  Fixture f;
  AuditContext ctx(f.model.get(), f.data, 1, nullptr);
  nlohmann::json p = Quick(200);
  p["meter"] = "external";
  p["power_log"] = log.string();
  p["method"] = "measured";
  p["min_duration_s"] = 0.3;
  nlohmann::json net = p;
  net["idle_baseline_s"] = 0.5;
  net["subtract_idle"] = true;
  const auto ms =
      Audit(f, ctx, {Request("average_power_w", p), Request("energy_per_inference_mj", net)});
  namespace tt = boost::test_tools;
  BOOST_TEST(ms[0].method == "measured:external");
  BOOST_TEST(!ms[0].undecidable.has_value());
  BOOST_REQUIRE_MESSAGE(ms[0].value.has_value(), ms[0].message);
  BOOST_TEST(*ms[0].value == 50.0, tt::tolerance(1e-9));
  // Band: ±1 % meter accuracy (default); constant power has no interpolation error.
  BOOST_TEST(ms[0].interval->low == 49.5, tt::tolerance(1e-9));
  BOOST_TEST(ms[0].interval->high == 50.5, tt::tolerance(1e-9));
  BOOST_TEST(ms[0].details["meter_samples"].get<int64_t>() >= 1);
  const auto& d = ms[1].details;
  BOOST_TEST(d["idle_baseline"]["power_w"].get<double>() == 50.0, tt::tolerance(1e-9));
  BOOST_TEST(d["idle_baseline"]["subtracted"].get<bool>());
  const double t = d["window"]["duration_s"].get<double>();
  BOOST_TEST(d["energy_j"]["gross"].get<double>() == 50.0 * t, tt::tolerance(1e-9));
  BOOST_TEST(*ms[1].value == 0.0, tt::tolerance(1e-6));
  // The subtracted band: gross ± 1 % minus idle ∓ 1 %: ±2 % of 50 W × T, per inference.
  const double n = static_cast<double>(ms[1].samples);  // Queries run to reach 0.3 s.
  BOOST_TEST(n >= 200.0);
  BOOST_TEST(ms[1].interval->high == 0.02 * 50.0 * t / n * 1e3, tt::tolerance(1e-6));
  fs::remove(log);
}

// energy_saving's Finalize on readings written here: the value from per-round energies by hand,
// and rounds that do not compare like with like (a reading without a figure, another method's
// coefficients, an unavailable meter) undecidable with the round and the reason.
namespace {

nlohmann::json EstimateReading(double energy_j, double watts_per_thread = 10.0) {
  energy::EnergyReading r;
  r.meter = "estimate";
  r.method = "estimate:cpu-time";
  r.energy_j = energy_j;
  r.duration_s = 0.05;
  r.samples = 2;
  r.band_low_factor = 0.5;
  r.band_high_factor = 2.0;
  r.details = {{"cpu_seconds", energy_j / watts_per_thread},
               {"cpu_model", "test CPU"},
               {"watts_per_thread", watts_per_thread},
               {"memory_watts_per_gb", 0.375}};
  return energy::ReadingToJson(r);
}

nlohmann::json SavingStats(const std::vector<nlohmann::json>& model,
                           const std::vector<nlohmann::json>& reference,
                           nlohmann::json meters = {{"estimate", EstimateReading(1.0)}}) {
  std::vector<nlohmann::json> m, f;
  for (const auto& r : model) m.push_back({{"estimate", r}});
  for (const auto& r : reference) f.push_back({{"estimate", r}});
  return {{"first", 0},      {"threads", 1},     {"batch_size", 1}, {"queries_per_round", 4},
          {"device", "cpu"}, {"meters", meters}, {"model", m},      {"reference", f}};
}

Measurement FinalizeSaving(const nlohmann::json& params, const nlohmann::json& stats) {
  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  const Metric* metric = FindFrameworkMetric(registry, "energy_saving");
  BOOST_REQUIRE(metric != nullptr);
  const auto bound = metric->Bind(params);
  FinalizeContext fin;
  fin.confidence = 0.9;
  return metric->Finalize(*bound, *metric->StatsFromJson(stats), fin);
}

}  // namespace

BOOST_AUTO_TEST_CASE(energy_saving_from_rounds_by_hand_and_its_refusals) {
  const nlohmann::json params = {{"meter", "estimate"}};
  // Model 1 J and 2 J, reference 2 J twice: ratios 1/2 and 1, geometric mean √(1/2), saving
  // 1 − 0.70710678 = 0.29289322; 4 inferences a round: 0.375 J and 0.5 J per inference.
  const Measurement m =
      FinalizeSaving(params, SavingStats({EstimateReading(1.0), EstimateReading(2.0)},
                                         {EstimateReading(2.0), EstimateReading(2.0)}));
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(*m.value == 1.0 - std::sqrt(0.5), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.interval->low <= *m.value);
  BOOST_TEST(*m.value <= m.interval->high);
  BOOST_TEST(!m.undecidable.has_value());
  BOOST_TEST(m.details["model_energy_per_inference_mj"].get<double>() == 375.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.details["reference_energy_per_inference_mj"].get<double>() == 500.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.method.rfind("estimate:cpu-time ratio", 0) == 0u, m.method);
  BOOST_TEST(m.message.find("estimate-based ratio, not measured energy") != std::string::npos);
  BOOST_TEST(m.message.find("more samples") == std::string::npos);

  // Round 2's reference read with other coefficients: not the same method.
  const Measurement coefficients =
      FinalizeSaving(params, SavingStats({EstimateReading(1.0), EstimateReading(2.0)},
                                         {EstimateReading(2.0), EstimateReading(2.0, 12.0)}));
  BOOST_TEST(!coefficients.value.has_value());
  BOOST_REQUIRE(coefficients.undecidable.has_value());
  BOOST_TEST(coefficients.undecidable->find("round 2: the meter's method or coefficients differ") !=
                 std::string::npos,
             *coefficients.undecidable);

  // Round 1's model window without a figure.
  nlohmann::json invalid = EstimateReading(1.0);
  invalid["valid"] = false;
  invalid["problem"] = "the meter stopped";
  const Measurement missing = FinalizeSaving(
      params,
      SavingStats({invalid, EstimateReading(2.0)}, {EstimateReading(2.0), EstimateReading(2.0)}));
  BOOST_REQUIRE(missing.undecidable.has_value());
  BOOST_TEST(*missing.undecidable ==
             "round 1: the estimate meter gave no figure for the model (the meter stopped)");

  // A forced meter that could not read: no value, its reason.
  const Measurement rapl =
      FinalizeSaving({{"meter", "rapl"}},
                     SavingStats({EstimateReading(1.0), EstimateReading(2.0)},
                                 {EstimateReading(2.0), EstimateReading(2.0)},
                                 {{"rapl", {{"unavailable", "meter unavailable: no powercap"}}},
                                  {"estimate", EstimateReading(1.0)}}));
  BOOST_TEST(!rapl.value.has_value());
  BOOST_REQUIRE(rapl.undecidable.has_value());
  BOOST_TEST(*rapl.undecidable ==
             "no energy meter could read both models (rapl: meter unavailable: no powercap)");

  // method: measured refuses the estimate-based ratio.
  const Measurement measured =
      FinalizeSaving({{"method", "measured"}},
                     SavingStats({EstimateReading(1.0), EstimateReading(2.0)},
                                 {EstimateReading(2.0), EstimateReading(2.0)},
                                 {{"rapl", {{"unavailable", "meter unavailable: no powercap"}}},
                                  {"nvml", {{"unavailable", "meter unavailable: no driver"}}},
                                  {"estimate", EstimateReading(1.0)}}));
  BOOST_REQUIRE(measured.undecidable.has_value());
  BOOST_TEST(measured.undecidable->find("requires measured energy") != std::string::npos);
}
