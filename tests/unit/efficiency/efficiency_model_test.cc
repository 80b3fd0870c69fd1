// The efficiency metrics and the timing harness on the example models and real data: FLOPs and
// parameters against hand counts, run-length rules, shared runs and measurement windows.
// No assertion depends on how fast anything ran.
#define BOOST_TEST_MODULE efficiency_model
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/efficiency/timed_run.h"
#include "auditors/metric.h"
#include "core/error.h"
#include "datasets/dataset.h"
#include "harness/harness.h"
#include "models/model.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace h = greenlight::harness;
using nlohmann::json;

namespace {

std::filesystem::path ModelPath(const std::string& name) {
  return std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples" / "models" / name;
}

std::unique_ptr<gl::Model> FashionModel(const std::string& file = "fashion_cnn.pt") {
  gl::ModelSpec spec;
  spec.path = ModelPath(file);
  spec.output = gl::OutputKind::kLogProbabilities;
  spec.input_shape = {1, 28, 28};
  return gl::LoadTorchScriptModel(spec);
}

std::unique_ptr<gl::Dataset> FashionRows(int64_t limit) {
  gl::DatasetSpec d;
  d.format = "idx";
  d.images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  d.labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  d.scale = 1.0 / 255.0;
  d.limit = limit;
  return gl::LoadDataset(d);
}

std::unique_ptr<gl::Model> HmdaModel() {
  gl::ModelSpec spec;
  spec.path = ModelPath("hmda_credit.pt");
  spec.output = gl::OutputKind::kLogits;
  spec.input_shape = {12};
  return gl::LoadTorchScriptModel(spec);
}

std::unique_ptr<gl::Dataset> HmdaRows() {
  gl::DatasetSpec d;
  d.format = "csv";
  d.path = std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples" / "data" / "hmda.csv";
  d.features = {"pirat", "hirat",   "lvrat",     "chist",    "mhist",  "phist",
                "unemp", "selfemp", "insurance", "condomin", "single", "hschool"};
  for (const char* c : {"phist", "selfemp", "insurance", "condomin", "single", "hschool"}) {
    d.encode[c] = {{"no", 0.0}, {"yes", 1.0}};
  }
  d.label = gl::LabelSpec{"deny", std::string("yes")};
  return gl::LoadDataset(d);
}

// Measures a request through the catalog entry of its metric (the framework's adapter binds the
// request's params and runs the metric's work unshared).
struct EfficiencyMetrics {
  gl::AuditorRegistry* registry;
  gl::Measurement Measure(const gl::MetricRequest& request, gl::AuditContext& ctx) const {
    gl::Auditor* a = registry->FindAuditor(request.metric);
    BOOST_REQUIRE(a != nullptr);
    return a->Measure(request, ctx);
  }
};
EfficiencyMetrics Efficiency(gl::AuditorRegistry& registry) {
  gl::RegisterBuiltinAuditors(registry);
  return {&registry};
}

gl::MetricRequest Request(const std::string& metric, json params = json::object()) {
  gl::MetricRequest r;
  r.criterion_id = "T-" + metric;
  r.metric = metric;
  r.params = std::move(params);
  return r;
}

// Records the windows the timed run opens for its instruments.
class CountingInstrument final : public gl::Instrument {
 public:
  std::string key() const override { return "counting"; }
  void Begin() override { begins.push_back("run"); }
  void End() override { ends.push_back("run"); }
  void BeginRepetition(int r) override { begins.push_back("repetition" + std::to_string(r)); }
  void EndRepetition(int r) override { ends.push_back("repetition" + std::to_string(r)); }
  std::shared_ptr<const gl::WorkRecord> Reading() const override { return nullptr; }
  std::vector<std::string> begins, ends;
};

// The bound params of `metric` and the record of its work, run with `instruments`.
struct Ran {
  std::shared_ptr<const gl::BoundParams> params;
  std::shared_ptr<const gl::Work> work;
  std::shared_ptr<const gl::WorkRecord> record;
};
Ran RunWork(const gl::AuditorRegistry& registry, const std::string& metric, const json& params,
            gl::AuditContext& ctx, std::vector<gl::Instrument*> instruments = {}) {
  const gl::Metric* m = gl::FindFrameworkMetric(registry, metric);
  BOOST_REQUIRE(m != nullptr);
  Ran r;
  r.params = m->Bind(params);
  r.work = m->Needs(*r.params);
  r.record = r.work->Run(ctx, instruments);
  return r;
}

gl::Measurement MeasureOn(const gl::AuditorRegistry& registry, const std::string& metric,
                          const json& params, const gl::WorkRecord& record) {
  const gl::Metric* m = gl::FindFrameworkMetric(registry, metric);
  const auto bound = m->Bind(params);
  gl::FinalizeContext fin;
  return gl::MeasureRows(*m, *bound, {record, nullptr, {0, record.rows()}}, fin);
}

const h::RunResult& OnlyRun(const gl::WorkRecord& record) {
  const auto& timed = dynamic_cast<const gl::efficiency::TimedRunRecord&>(record);
  BOOST_REQUIRE(timed.runs.size() == 1u);
  return *timed.runs.front();
}

// Small runs: a few hundred queries, fractions of a second.
json Quick(json extra = json::object()) {
  json p = {{"warmup_queries", 8}, {"min_queries", 200}, {"min_duration_s", 0.05}};
  p.update(extra);
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(flops_of_example_cnn_match_hand_count) {
  auto model = FashionModel();
  auto data = FashionRows(4);
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  const auto auditor = Efficiency(registry);
  const auto m = auditor.Measure(Request("flops_per_sample"), ctx);
  // conv1 20·24·24·(1·5·5), conv2 20·20·20·(20·5·5), fc1 2000·50, fc2 50·10; ×2 (MAC = 2 FLOP).
  const double hand = 2.0 * (20 * 24 * 24 * 25 + 20 * 20 * 20 * 500 + 2000 * 50 + 50 * 10);
  BOOST_TEST(hand == 8777000.0);
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(*m.value == hand);
  BOOST_TEST(m.deterministic);
  BOOST_TEST(m.details["counted_ops"].size() == 4u);
  BOOST_TEST(m.details["graph_ops"].value("aten::conv2d", 0) == 2);
}

BOOST_AUTO_TEST_CASE(flops_of_quantized_twin_count_dynamic_linear) {
  // The int8 twin keeps the float convolutions and runs quantized::linear_dynamic for fc1, fc2:
  // the same multiply-accumulates.
  auto model = FashionModel("fashion_cnn_int8.pt");
  auto data = FashionRows(4);
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  const auto m = Efficiency(registry).Measure(Request("flops_per_sample"), ctx);
  BOOST_REQUIRE(m.value.has_value());
  BOOST_TEST(*m.value == 8777000.0);
  int quantized = 0;
  for (const auto& op : m.details["counted_ops"]) {
    if (op["op"] == "quantized::linear_dynamic") ++quantized;
  }
  BOOST_TEST(quantized == 2);
}

// flops_reduction = 1 - model FLOPs / reference FLOPs, from the same graph introspection run on
// both models. Independent counts by hand from the layer shapes (examples/export_models.py): a
// model against itself and the int8 twin against its reference (the same operators: 0), and a
// narrower CNN exported here with PyTorch (conv2 20→10 channels, so fc1 takes 10·10·10 = 1000).
BOOST_AUTO_TEST_CASE(flops_reduction_against_hand_counts) {
  gl::testing::TempDir tmp;
  const auto py = gl::testing::RunPython(
      "import torch, torch.nn as nn, torch.nn.functional as F\n"
      "torch.manual_seed(1)\n"
      "class Narrow(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.conv1 = nn.Conv2d(1, 20, 5, 1)\n"
      "        self.conv2 = nn.Conv2d(20, 10, 5, 1)\n"
      "        self.fc1 = nn.Linear(1000, 50)\n"
      "        self.fc2 = nn.Linear(50, 10)\n"
      "    def forward(self, x):\n"
      "        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2, 2)\n"
      "        return F.log_softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)\n"
      "torch.jit.script(Narrow().eval()).save('" +
      (tmp / "narrow.pt").string() + "')\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);

  auto reference = FashionModel();
  auto data = FashionRows(4);
  gl::AuditorRegistry registry;
  const auto auditor = Efficiency(registry);
  const auto reduction = [&](gl::Model& model) {
    gl::AuditContext ctx(&model, *data, 1, nullptr);
    ctx.SetReference(reference.get());
    const auto m = auditor.Measure(Request("flops_reduction"), ctx);
    BOOST_REQUIRE(m.value.has_value());
    BOOST_TEST(m.deterministic);
    BOOST_TEST(!m.interval.has_value());
    BOOST_TEST(m.details["reference"]["flops"] == 8777000);
    return m;
  };
  auto same = FashionModel();
  BOOST_TEST(*reduction(*same).value == 0.0);
  auto int8 = FashionModel("fashion_cnn_int8.pt");
  BOOST_TEST(*reduction(*int8).value == 0.0);

  gl::ModelSpec spec;
  spec.path = tmp / "narrow.pt";
  spec.output = gl::OutputKind::kLogProbabilities;
  spec.input_shape = {1, 28, 28};
  auto narrow = gl::LoadTorchScriptModel(spec);
  // conv1 20·24·24·25, conv2 10·20·20·(20·25), fc1 1000·50, fc2 50·10; × 2.
  const double narrow_flops = 2.0 * (20 * 24 * 24 * 25 + 10 * 20 * 20 * 500 + 1000 * 50 + 50 * 10);
  BOOST_TEST(narrow_flops == 4677000.0);
  const auto m = reduction(*narrow);
  BOOST_TEST(m.details["model"]["flops"].get<double>() == narrow_flops);
  BOOST_TEST(*m.value == 1.0 - narrow_flops / 8777000.0, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(m.details["counts"].get<std::string>().find("executes") != std::string::npos);
}

// peak_memory_ratio from its statistics (as a partial audit carries them): each round's ratio is
// model peak / reference peak, here 2 by construction; without a reset peak it is undecidable,
// with the reason and no number.
BOOST_AUTO_TEST_CASE(peak_memory_ratio_needs_a_reset_peak) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::Metric* metric = gl::FindFrameworkMetric(registry, "peak_memory_ratio");
  BOOST_REQUIRE(metric != nullptr);
  const auto params = metric->Bind(json::object());
  json rounds = json::array();
  for (int r = 0; r < 6; ++r) {
    rounds.push_back({{"model_ns", {1000}},
                      {"reference_ns", {1000}},
                      {"model_first", r % 4 == 0 || r % 4 == 3},
                      {"model_peak_bytes", 300000000 + 2 * r},
                      {"reference_peak_bytes", 150000000 + r}});
  }
  json stats = {
      {"first", 0}, {"threads", 1}, {"batch_size", 32}, {"peak_reset", true}, {"rounds", rounds}};
  gl::FinalizeContext fin;
  const gl::Measurement ok = metric->Finalize(*params, *metric->StatsFromJson(stats), fin);
  BOOST_REQUIRE(ok.value.has_value());
  BOOST_TEST(*ok.value == 2.0, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(!ok.undecidable.has_value());
  BOOST_TEST(ok.details["per_round_model_peak_mb"][1].get<double>() == 300.000002);
  stats["peak_reset"] = false;
  const gl::Measurement no = metric->Finalize(*params, *metric->StatsFromJson(stats), fin);
  BOOST_TEST(!no.value.has_value());
  BOOST_REQUIRE(no.undecidable.has_value());
  BOOST_TEST(no.undecidable->find("clear_refs") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flops_and_parameters_of_hmda_model) {
  auto model = HmdaModel();
  auto data = HmdaRows();
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  const auto auditor = Efficiency(registry);
  // fc1 12→16, fc2 16→2: 2 × (12·16 + 16·2) = 448; the standardisation is elementwise (not
  // counted).
  const auto f = auditor.Measure(Request("flops_per_sample"), ctx);
  BOOST_TEST(*f.value == 448.0);
  // Parameters: 12·16 + 16 + 16·2 + 2 = 242 (the mean/std buffers are not parameters).
  const auto p = auditor.Measure(Request("model_parameters"), ctx);
  BOOST_TEST(*p.value == 242.0);
}

BOOST_AUTO_TEST_CASE(parameters_and_size_of_example_cnn) {
  auto model = FashionModel();
  auto data = FashionRows(4);
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  const auto auditor = Efficiency(registry);
  // 20·25+20 + 20·500+20 + 2000·50+50 + 50·10+10 = 111,100.
  BOOST_TEST(*auditor.Measure(Request("model_parameters"), ctx).value == 111100.0);
  const auto size = auditor.Measure(Request("model_size_mb"), ctx);
  BOOST_TEST(*size.value ==
             static_cast<double>(std::filesystem::file_size(ModelPath("fashion_cnn.pt"))) / 1e6);
}

BOOST_AUTO_TEST_CASE(shared_run_with_one_window_per_key) {
  auto model = HmdaModel();
  auto data = HmdaRows();
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  CountingInstrument counter;
  const Ran ran = RunWork(registry, "latency_p50_ms", Quick(), ctx, {&counter});
  // Three metrics, one work item: their work keys are equal, so the plan runs it once.
  for (const char* name : {"latency_p90_ms", "latency_mean_ms", "peak_memory_mb"}) {
    const gl::Metric* m = gl::FindFrameworkMetric(registry, name);
    BOOST_TEST(m->Needs(*m->Bind(Quick()))->key() == ran.work->key());
  }
  const auto p50 = MeasureOn(registry, "latency_p50_ms", Quick(), *ran.record);
  const auto p90 = MeasureOn(registry, "latency_p90_ms", Quick(), *ran.record);
  const auto mean = MeasureOn(registry, "latency_mean_ms", Quick(), *ran.record);
  // One window around the run, holding the ten repetitions' windows one after another.
  BOOST_REQUIRE(counter.begins.size() == 11u);
  BOOST_REQUIRE(counter.ends.size() == 11u);
  BOOST_TEST(counter.begins[0] == "run");
  BOOST_TEST(counter.ends[10] == "run");
  for (int r = 1; r <= 10; ++r) {
    BOOST_TEST(counter.begins[r] == "repetition" + std::to_string(r));
    BOOST_TEST(counter.ends[r - 1] == "repetition" + std::to_string(r));
  }
  const h::RunResult* run = &OnlyRun(*ran.record);
  h::RunSettings settings;
  settings.warmup_queries = 8;
  settings.min_queries = 200;
  settings.min_duration_s = 0.05;
  const std::string key = h::RunKey(model->info(), settings);
  BOOST_TEST(run->key == key);
  BOOST_TEST(run->queries >= 200);
  BOOST_TEST(run->latencies_ns.size() == static_cast<size_t>(run->queries));
  BOOST_TEST(run->samples == run->queries);
  BOOST_TEST(run->valid());
  BOOST_TEST(run->window_start_steady_ns <= run->window_end_steady_ns);
  BOOST_TEST(run->window_start_system_ns <= run->window_end_system_ns);
  BOOST_TEST(run->duration_ns == run->window_end_steady_ns - run->window_start_steady_ns);
  BOOST_TEST(run->gbench_iterations == run->queries);  // Google Benchmark ran exactly our queries
  for (const auto* m : {&p50, &p90, &mean}) {
    BOOST_TEST(!m->deterministic);
    BOOST_TEST(!m->undecidable.has_value());
    BOOST_REQUIRE(m->interval.has_value());
    BOOST_TEST(m->interval->low <= *m->value);
    BOOST_TEST(*m->value <= m->interval->high);
    BOOST_TEST(m->samples == run->queries);
  }
  // Ten contiguous repetitions (the default) cover every query once, in order, each metered as a
  // nested window; the interval comes from their spread, the within-run bound is a detail.
  BOOST_REQUIRE(run->repetitions.size() == 10u);
  int64_t next = 0, timed = 0;
  for (const auto& r : run->repetitions) {
    BOOST_TEST(r.first_query == next);
    BOOST_TEST(r.queries >= 20);  // 200 planned queries / 10
    next += r.queries;
    timed += r.timed_ns;
  }
  BOOST_TEST(next == run->queries);
  BOOST_TEST(timed == run->timed_ns);
  BOOST_TEST(p50.interval->method == "sectioning-t log-scale (10 repetitions)");
  BOOST_TEST(p50.details["repetitions"]["values"].size() == 10u);
  BOOST_TEST(p50.details["within_run_interval"]["method"] == "order-statistic");
  // Each repetition's median from its own queries (middle of the sorted latencies, computed
  // here), and the interval overall·exp(±t₉·S/√10) of those medians (t₉ from a printed table).
  std::vector<double> logs;
  for (size_t i = 0; i < run->repetitions.size(); ++i) {
    const auto& r = run->repetitions[i];
    std::vector<double> ms;
    for (int64_t q = r.first_query; q < r.first_query + r.queries; ++q) {
      ms.push_back(static_cast<double>(run->latencies_ns[static_cast<size_t>(q)]) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    const double median = n % 2 == 1 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    BOOST_TEST(p50.details["repetitions"]["values"][i].get<double>() == median,
               boost::test_tools::tolerance(1e-12));
    logs.push_back(std::log(median / *p50.value));
  }
  double ss = 0.0;
  for (double l : logs) ss += l * l;
  const double half = 2.262157163 * std::sqrt(ss / 9.0) / std::sqrt(10.0);
  BOOST_TEST(p50.interval->high == *p50.value * std::exp(half), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(mean.interval->method == "sectioning-t log-scale (10 repetitions)");
  // Histogram counts every query once.
  int64_t total = 0;
  for (const auto& c : p50.details["run"]["histogram"]["counts"]) total += c.get<int64_t>();
  BOOST_TEST(total == run->queries);
  BOOST_TEST(p50.details["run"]["gbench_context"]["num_cpus"].get<int>() > 0);

  // Peak memory comes from the same run and is a non-negative measured figure.
  const auto mem = MeasureOn(registry, "peak_memory_mb", Quick(), *ran.record);
  BOOST_TEST(!mem.deterministic);
  BOOST_REQUIRE(mem.value.has_value());
  BOOST_TEST(*mem.value >= 0.0);
  BOOST_TEST(mem.details["memory"]["peak_rss_mb"].get<double>() >=
             mem.details["memory"]["rss_before_mb"].get<double>() - 1e-9);
}

BOOST_AUTO_TEST_CASE(run_cut_below_minimums_is_inconclusive) {
  auto model = HmdaModel();
  auto data = HmdaRows();
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const json cut = Quick({{"min_duration_s", 60.0}, {"max_duration_s", 0.05}});
  const Ran ran = RunWork(registry, "latency_p50_ms", cut, ctx);
  const auto m = MeasureOn(registry, "latency_p50_ms", cut, *ran.record);
  BOOST_REQUIRE(m.undecidable.has_value());
  BOOST_TEST(m.undecidable->find("run-length rules not met") != std::string::npos, *m.undecidable);
  const h::RunResult* run = &OnlyRun(*ran.record);
  BOOST_TEST(run->stopped_at_max_duration);
  BOOST_TEST(!run->min_duration_met);
  BOOST_TEST(m.details["run"]["run_length_ok"] == false);
}

BOOST_AUTO_TEST_CASE(offline_throughput_counts_samples_and_sweep_picks_best) {
  auto model = HmdaModel();
  auto data = HmdaRows();
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  const auto auditor = Efficiency(registry);
  const json p = Quick({{"scenario", "offline"}, {"batch_size", 8}, {"min_queries", 50}});
  const Ran ran = RunWork(registry, "throughput_samples_per_s", p, ctx);
  const auto t = MeasureOn(registry, "throughput_samples_per_s", p, *ran.record);
  const h::RunResult* run = &OnlyRun(*ran.record);
  BOOST_TEST(run->samples == 8 * run->queries);
  BOOST_TEST(t.samples == run->samples);
  BOOST_TEST(*t.value > 0.0);

  json sp = p;
  sp["sweep"] = {{"batch_sizes", {1, 16}}, {"threads", {1}}};
  const auto s = auditor.Measure(Request("throughput_samples_per_s", sp), ctx);
  const auto& table = s.details["sweep"]["table"];
  BOOST_TEST(table.size() == 2u);
  double best = 0;
  for (const auto& row : table) best = std::max(best, row["value"].get<double>());
  BOOST_TEST(*s.value == best);
  BOOST_TEST(s.details["sweep"]["best"]["threads"] == 1);
}

BOOST_AUTO_TEST_CASE(p999_needs_enough_queries_per_repetition) {
  auto model = HmdaModel();
  auto data = HmdaRows();
  gl::AuditContext ctx(model.get(), *data, 1, nullptr);
  gl::AuditorRegistry registry;
  const auto m = Efficiency(registry).Measure(
      Request("latency_p999_ms", Quick({{"min_duration_s", 0.0}})), ctx);
  // Exactly min_queries were run (no duration to reach): 20 in each of 10 repetitions, far below
  // the 1 / (1 - 0.999) = 1000 a repetition's p99.9 needs.
  BOOST_REQUIRE(m.undecidable.has_value());
  BOOST_TEST(m.undecidable->find("need at least 1000 in each of the 10 repetitions, the smallest "
                                 "has 20") != std::string::npos,
             *m.undecidable);
}

BOOST_AUTO_TEST_CASE(bad_settings_are_parameter_errors) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::Metric* m = gl::FindFrameworkMetric(registry, "latency_p50_ms");
  auto field_of = [&](const json& params) {
    try {
      m->Bind(params);
    } catch (const gl::ParamError& e) {
      return e.field();
    }
    return std::string("(bound)");
  };
  BOOST_TEST(field_of({{"scenario", "server"}}) == "scenario");
  BOOST_TEST(field_of({{"batch_size", 4}}) == "batch_size");  // single_stream has batch 1
  BOOST_TEST(field_of({{"min_queries", 0}}) == "min_queries");
  BOOST_TEST(field_of({{"repetitions", 4}}) == "repetitions");
  BOOST_TEST(field_of({{"sweep", {{"batch_sizes", {1, 2}}}}}) == "sweep");
  gl::efficiency::RunParams params;
  params.scenario = "offline";
  const auto offline = gl::efficiency::ToSettings(params);
  BOOST_TEST(offline.batch_size == 32);
  BOOST_TEST(offline.min_queries == 1024);
  BOOST_TEST(offline.min_duration_s == 10.0);
}
