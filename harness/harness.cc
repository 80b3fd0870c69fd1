#include "harness/harness.h"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/math/distributions/students_t.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "harness/harness_torch.h"
#include "harness/run_internals.h"
#include "models/torch_capabilities.h"

namespace greenlight::harness {
namespace {

// Margin on the planned query count so that one segment usually reaches min_duration_s even when
// queries get faster after the warm-up estimate; more segments are added when it does not.
constexpr double kPlanMargin = 1.10;
constexpr int kMaxSegments = 16;
// Untimed queries at the start of the first segment (when warm-up is enabled), after Google
// Benchmark's setup and before the window opens.
constexpr int64_t kRewarmQueries = 4;
// Pre-built input tensors are capped so that a large dataset does not double resident memory.
constexpr int64_t kMaxInputBytes = int64_t{256} << 20;
constexpr int64_t kMaxQueriesPerSegment = int64_t{50'000'000};
constexpr const char* kMaxDurationMessage = "greenlight: max_duration_s reached";

// VmRSS and VmHWM from /proc/self/status, bytes (0 when unavailable, e.g. not Linux).
struct ProcMemory {
  int64_t rss_bytes = 0;
  int64_t hwm_bytes = 0;
};
ProcMemory ReadProcMemory() {
  ProcMemory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    long long kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %lld kB", &kb) == 1) m.rss_bytes = kb * 1024;
    if (std::sscanf(line.c_str(), "VmHWM: %lld kB", &kb) == 1) m.hwm_bytes = kb * 1024;
  }
  return m;
}

// Writing "5" to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so the peak read
// after the run belongs to the run, not to earlier work in the process.
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// State shared between the harness and the registered benchmark function of each segment.
struct RunState {
  TensorAccess* model = nullptr;
  const std::vector<torch::Tensor>* inputs = nullptr;
  size_t next_input = 0;
  bool to_host = false;  // GPU: a query completes when its output is back on the host.
  std::string key;
  const std::vector<std::shared_ptr<WindowObserver>>* observers = nullptr;
  int64_t min_queries = 0;
  int64_t min_duration_ns = 0;
  int64_t deadline_steady_ns = 0;  // 0: none.
  int64_t rewarm_queries = 0;      // Untimed queries right before the window opens.
  int64_t rewarm_done = 0;

  std::vector<int64_t> latencies_ns;
  // Repetitions: query counts at which repetition 1, 2, ... ends (all but the last, which ends
  // with the window), the one in progress (1-based) and the timed ns when it began.
  std::vector<int64_t> repetition_ends;
  size_t next_repetition_end = 0;
  int repetition = 0;
  int64_t repetition_first_query = 0;
  int64_t repetition_start_timed_ns = 0;
  std::vector<Repetition> repetitions;
  bool window_open = false;
  bool done = false;
  bool stopped_at_max_duration = false;
  std::string error;
  int64_t window_start_steady_ns = 0, window_start_system_ns = 0;
  int64_t window_end_steady_ns = 0, window_end_system_ns = 0;
  int64_t timed_ns = 0;
};

void BeginRepetition(RunState& s, int64_t timed_ns_now) {
  ++s.repetition;
  s.repetition_first_query = static_cast<int64_t>(s.latencies_ns.size());
  s.repetition_start_timed_ns = timed_ns_now;
  const std::string window = RepetitionWindow(s.key, s.repetition);
  for (const auto& observer : *s.observers) observer->Begin(window);
}

void EndRepetition(RunState& s, int64_t timed_ns_now) {
  const std::string window = RepetitionWindow(s.key, s.repetition);
  for (auto it = s.observers->rbegin(); it != s.observers->rend(); ++it) (*it)->End(window);
  s.repetitions.push_back({s.repetition_first_query,
                           static_cast<int64_t>(s.latencies_ns.size()) - s.repetition_first_query,
                           timed_ns_now - s.repetition_start_timed_ns});
}

// One segment: `state.max_iterations` queries, each timed individually. Google Benchmark times
// the loop as a whole; the per-query times are ours (steady_clock), so percentiles are per query.
void RunSegment(RunState& s, benchmark::State& state) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor>& inputs = *s.inputs;
  const size_t n_inputs = inputs.size();
  int64_t segment_start = 0;
  try {
    if (!s.window_open) {
      // Google Benchmark's setup since the warm-up (registration, machine context) has evicted
      // part of the model from the caches: a few untimed queries bring it back, so the first
      // timed queries run in the same state as the rest (as in a bare loop right after its
      // warm-up). Only before the window opens: the window holds counted queries only.
      for (int64_t i = 0; i < s.rewarm_queries; ++i) {
        torch::Tensor y = s.model->ForwardTensor(inputs[s.next_input]);
        if (s.to_host) y = y.to(torch::kCPU);
        if (++s.next_input == n_inputs) s.next_input = 0;
        ++s.rewarm_done;
      }
      for (const auto& observer : *s.observers) observer->Begin(s.key);
      s.window_open = true;
      s.window_start_system_ns = SystemNs();
      s.window_start_steady_ns = SteadyNs();
      if (s.deadline_steady_ns != 0) s.deadline_steady_ns += s.window_start_steady_ns;
      BeginRepetition(s, 0);
    }
    segment_start = SteadyNs();
    for (auto _ : state) {
      const torch::Tensor& x = inputs[s.next_input];
      if (++s.next_input == n_inputs) s.next_input = 0;
      const auto t0 = std::chrono::steady_clock::now();
      torch::Tensor y = s.model->ForwardTensor(x);
      if (s.to_host) y = y.to(torch::kCPU);
      const auto t1 = std::chrono::steady_clock::now();
      s.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      benchmark::DoNotOptimize(y);
      if (s.next_repetition_end < s.repetition_ends.size() &&
          static_cast<int64_t>(s.latencies_ns.size()) == s.repetition_ends[s.next_repetition_end]) {
        ++s.next_repetition_end;
        const int64_t timed_now = s.timed_ns + (SteadyNs() - segment_start);
        EndRepetition(s, timed_now);
        BeginRepetition(s, timed_now);
      }
      if (s.deadline_steady_ns != 0 &&
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1.time_since_epoch()).count() >=
              s.deadline_steady_ns) {
        s.stopped_at_max_duration = true;
        state.SkipWithError(kMaxDurationMessage);
        break;
      }
    }
  } catch (const std::exception& e) {
    s.error = e.what();
    state.SkipWithError("greenlight: forward pass failed");
  }
  if (segment_start != 0) s.timed_ns += SteadyNs() - segment_start;
  const bool minimums_met = static_cast<int64_t>(s.latencies_ns.size()) >= s.min_queries &&
                            s.timed_ns >= s.min_duration_ns;
  if (minimums_met || s.stopped_at_max_duration || !s.error.empty()) {
    s.done = true;
  }
}

void CloseWindow(RunState& s) {
  if (!s.window_open) return;
  EndRepetition(s, s.timed_ns);
  s.window_end_steady_ns = SteadyNs();
  s.window_end_system_ns = SystemNs();
  s.window_open = false;
  for (const auto& observer : *s.observers) observer->End(s.key);
}

}  // namespace

int64_t QueryRows(int64_t sample_size, int64_t batch_size) {
  const int64_t batch = std::max<int64_t>(batch_size, 1);
  const int64_t bytes_per_query =
      batch * std::max<int64_t>(sample_size, 1) * static_cast<int64_t>(sizeof(float));
  return std::max<int64_t>(kMaxInputBytes / bytes_per_query, 1) * batch;
}

std::vector<torch::Tensor> BuildQueryInputs(const Dataset& dataset, Model& model, int64_t batch) {
  const TensorAccess& tensors = RequireCapability<TensorAccess>(model);
  const int64_t rows = dataset.rows();
  const int64_t sample = dataset.sample_size();
  const int64_t bytes_per_query = batch * sample * static_cast<int64_t>(sizeof(float));
  const int64_t wanted = (rows + batch - 1) / batch;
  const int64_t count = std::clamp<int64_t>(kMaxInputBytes / std::max<int64_t>(bytes_per_query, 1),
                                            1, std::max<int64_t>(wanted, 1));
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), model.spec().input_shape.begin(), model.spec().input_shape.end());
  if (model.spec().input_shape.empty()) shape = {batch, sample};
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<size_t>(count));
  const auto features = dataset.features();
  int64_t row = 0;
  for (int64_t q = 0; q < count; ++q) {
    torch::Tensor t = torch::empty(shape, torch::kFloat32);
    float* dst = t.data_ptr<float>();
    for (int64_t j = 0; j < batch; ++j) {
      std::memcpy(dst + j * sample, features.data() + row * sample,
                  static_cast<size_t>(sample) * sizeof(float));
      if (++row == rows) row = 0;
    }
    out.push_back(tensors.device().is_cpu() ? t : t.to(tensors.device()));
  }
  return out;
}

namespace {

std::atomic<int64_t> g_run_counter{0};

std::shared_ptr<const RunResult> RunImpl(
    Model& model, const std::string& key, const std::vector<torch::Tensor>& inputs,
    const RunSettings& settings, const std::vector<std::shared_ptr<WindowObserver>>& observers);

}  // namespace

std::string ScenarioName(Scenario scenario) {
  return scenario == Scenario::kOffline ? "offline" : "single_stream";
}

Scenario ParseScenario(const std::string& name) {
  if (name == "single_stream") return Scenario::kSingleStream;
  if (name == "offline") return Scenario::kOffline;
  throw InputError("unknown scenario '" + name + "' (expected single_stream or offline)");
}

std::optional<std::string> SettingsProblem(const RunSettings& s) {
  if (s.repetitions < kMinRepetitions || s.repetitions > 1000) {
    return "repetitions must be between " + std::to_string(kMinRepetitions) + " and 1000";
  }
  if (s.batch_size < 1) return "batch_size must be at least 1";
  if (s.scenario == Scenario::kSingleStream && s.batch_size != 1) {
    return "single_stream queries have batch_size 1 (use scenario: offline for batches)";
  }
  if (s.threads < 0) return "threads must be 0 (LibTorch default) or more";
  if (s.warmup_queries < 0) return "warmup_queries must be 0 or more";
  if (s.min_queries < 1) return "min_queries must be at least 1";
  if (!(s.min_duration_s >= 0.0)) return "min_duration_s must be 0 or more";
  if (!(s.max_duration_s >= 0.0)) return "max_duration_s must be 0 (none) or more";
  return std::nullopt;
}

std::string RunKey(const ModelInfo& model, const RunSettings& s) {
  const std::string device = s.device.empty() ? model.device : s.device;
  return "harness:run:" + model.sha256 + ":" + ScenarioName(s.scenario) + ":b" +
         std::to_string(s.batch_size) + ":t" + std::to_string(s.threads) + ":dev=" + device + ":w" +
         std::to_string(s.warmup_queries) + ":q" + std::to_string(s.min_queries) + ":d" +
         FormatNumber(s.min_duration_s) + ":m" + FormatNumber(s.max_duration_s) + ":r" +
         std::to_string(s.repetitions);
}

std::shared_ptr<const RunResult> Run(
    Model& base_model, const Dataset& dataset, const RunSettings& settings,
    const std::vector<std::shared_ptr<WindowObserver>>& observers) {
  if (auto problem = SettingsProblem(settings)) throw InputError(*problem);
  // Queries are staged as tensors on the device once, so only forward passes are timed.
  const TensorAccess& tensors = RequireCapability<TensorAccess>(base_model);
  if (dataset.sample_size() == 0 || dataset.rows() == 0 || dataset.features().empty()) {
    throw InputError("the timing harness needs dataset rows with features (real inputs)");
  }
  if (dataset.sample_size() != base_model.input_size()) {
    throw InputError("dataset rows have " + std::to_string(dataset.sample_size()) +
                     " values but the model's input.shape has " +
                     std::to_string(base_model.input_size()));
  }
  // Another device than the model was loaded on: load a twin there for this run.
  Model* run_model = &base_model;
  std::unique_ptr<Model> twin;
  if (!settings.device.empty() && settings.device != base_model.info().device) {
    twin = tensors.LoadOnDevice(settings.device);
    run_model = twin.get();
  }
  const std::vector<torch::Tensor> inputs =
      BuildQueryInputs(dataset, *run_model, settings.batch_size);
  return RunImpl(*run_model, RunKey(base_model.info(), settings), inputs, settings, observers);
}

std::shared_ptr<const RunResult> RunOnInputs(
    Model& model, const std::vector<torch::Tensor>& inputs, const RunSettings& settings,
    const std::vector<std::shared_ptr<WindowObserver>>& observers) {
  if (inputs.empty()) throw InputError("the timing harness needs at least one query tensor");
  return RunImpl(model, RunKey(model.info(), settings), inputs, settings, observers);
}

namespace {

std::shared_ptr<const RunResult> RunImpl(
    Model& model, const std::string& key, const std::vector<torch::Tensor>& inputs,
    const RunSettings& settings, const std::vector<std::shared_ptr<WindowObserver>>& observers) {
  TensorAccess& tensors = RequireCapability<TensorAccess>(model);
  auto result = std::make_shared<RunResult>();
  result->key = key;
  result->settings = settings;
  result->device = tensors.device().str();

  ThreadsGuard threads_guard(model, settings.threads);
  result->threads = model.threads();

  RunState s;
  s.model = &tensors;
  s.inputs = &inputs;
  s.to_host = !tensors.device().is_cpu();
  s.key = result->key;
  s.observers = &observers;
  s.min_queries = settings.min_queries;
  s.min_duration_ns = static_cast<int64_t>(std::ceil(settings.min_duration_s * 1e9));
  s.deadline_steady_ns = static_cast<int64_t>(settings.max_duration_s * 1e9);
  s.rewarm_queries = std::min<int64_t>(settings.warmup_queries, kRewarmQueries);

  // Warm-up: untimed for the results, but its latencies plan the first segment (below).
  result->peak_rss_reset = ResetPeakRss();
  result->rss_before_bytes = ReadProcMemory().rss_bytes;
  std::vector<int64_t> warmup_ns;
  warmup_ns.reserve(static_cast<size_t>(settings.warmup_queries));
  try {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < settings.warmup_queries; ++i) {
      const auto t0 = SteadyNs();
      torch::Tensor y = tensors.ForwardTensor(inputs[s.next_input]);
      if (s.to_host) y = y.to(torch::kCPU);
      warmup_ns.push_back(SteadyNs() - t0);
      if (++s.next_input == inputs.size()) s.next_input = 0;
    }
  } catch (const c10::Error& e) {
    throw RuntimeError("warm-up forward pass failed: " + std::string(e.what_without_backtrace()));
  }
  result->warmup_queries_run = static_cast<int64_t>(warmup_ns.size());  // + re-warm, below
  // Plan with the mean of the warm-up's second half: the first queries include JIT profiling,
  // and the mean (not the median) is what makes up the duration of a skewed run.
  double estimate_ns = 0.0;
  if (!warmup_ns.empty()) {
    const auto half = warmup_ns.begin() + static_cast<std::ptrdiff_t>(warmup_ns.size() / 2);
    estimate_ns = static_cast<double>(std::accumulate(half, warmup_ns.end(), int64_t{0})) /
                  static_cast<double>(warmup_ns.end() - half);
  }

  CollectingReporter reporter;
  const int64_t run_id = g_run_counter.fetch_add(1);
  for (int segment = 0; segment < kMaxSegments && !s.done; ++segment) {
    const int64_t have = static_cast<int64_t>(s.latencies_ns.size());
    if (have > 0) {
      estimate_ns = static_cast<double>(s.timed_ns) / static_cast<double>(have);
    }
    int64_t planned = std::max<int64_t>(settings.min_queries - have, 1);
    const int64_t missing_ns = s.min_duration_ns - s.timed_ns;
    if (missing_ns > 0 && estimate_ns > 0.0) {
      planned = std::max<int64_t>(
          planned, static_cast<int64_t>(
                       std::ceil(kPlanMargin * static_cast<double>(missing_ns) / estimate_ns)));
    }
    planned = std::min(planned, kMaxQueriesPerSegment);
    if (segment == 0) {
      // Repetitions of equal query counts over the planned run, at least one query each.
      planned = std::max<int64_t>(planned, settings.repetitions);
      for (int r = 1; r < settings.repetitions; ++r) {
        s.repetition_ends.push_back(planned * r / settings.repetitions);
      }
    }
    s.latencies_ns.reserve(static_cast<size_t>(have + planned));
    const std::string name =
        "greenlight_harness/run" + std::to_string(run_id) + "/segment" + std::to_string(segment);
    RunState* sp = &s;
    benchmark::RegisterBenchmark(name.c_str(),
                                 [sp](benchmark::State& state) { RunSegment(*sp, state); })
        ->Iterations(planned)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    // Google Benchmark appends "/iterations:N/real_time" to the name; the name has no regex
    // metacharacters.
    if (benchmark::RunSpecifiedBenchmarks(&reporter, "^" + name + "/") != 1) {
      CloseWindow(s);
      throw RuntimeError("Google Benchmark did not run the harness benchmark " + name);
    }
    ++result->segments;
  }
  CloseWindow(s);
  result->warmup_queries_run += s.rewarm_done;
  if (!s.error.empty()) throw RuntimeError("forward pass failed during the timed run: " + s.error);

  const ProcMemory after = ReadProcMemory();
  result->peak_rss_bytes = std::max(after.hwm_bytes, after.rss_bytes);
  result->latencies_ns = std::move(s.latencies_ns);
  result->queries = static_cast<int64_t>(result->latencies_ns.size());
  result->samples = result->queries * settings.batch_size;
  result->window_start_steady_ns = s.window_start_steady_ns;
  result->window_end_steady_ns = s.window_end_steady_ns;
  result->window_start_system_ns = s.window_start_system_ns;
  result->window_end_system_ns = s.window_end_system_ns;
  result->duration_ns = s.window_end_steady_ns - s.window_start_steady_ns;
  result->timed_ns = s.timed_ns;
  result->repetitions = std::move(s.repetitions);
  result->stopped_at_max_duration = s.stopped_at_max_duration;
  result->min_queries_met = result->queries >= settings.min_queries;
  result->min_duration_met = s.timed_ns >= s.min_duration_ns;
  for (const auto& run : reporter.runs()) {
    if (run.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) continue;
    result->gbench_real_time_s += run.real_accumulated_time;
    result->gbench_cpu_time_s += run.cpu_accumulated_time;
    result->gbench_iterations += run.iterations;
  }
  result->context = reporter.context();
  return result;
}

}  // namespace

nlohmann::json NoisyContextWarnings(const harness::BenchmarkContext& context) {
  nlohmann::json warnings = nlohmann::json::array();
  if (context.raw.contains("load_avg")) {
    const auto& load = context.raw["load_avg"];
    if (load.is_array() && !load.empty() && load[0].is_number() && context.num_cpus > 0 &&
        load[0].get<double>() > static_cast<double>(context.num_cpus)) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "load average %.2f above the %d CPUs: other work competed for them",
                    load[0].get<double>(), context.num_cpus);
      warnings.push_back(buf);
    }
  }
  if (context.cpu_scaling == "enabled") {
    warnings.push_back("CPU frequency scaling is enabled: real time measurements may be noisy");
  }
  if (context.library_build_type == "debug") {
    warnings.push_back("Google Benchmark library was built as DEBUG: timings may be affected");
  }
  return warnings;
}

std::string InterleavedWindow(int64_t round, int model) {
  return RepetitionWindow(kInterleavedWindow, static_cast<int>(2 * round + model + 1));
}

InterleavedResult RunInterleaved(Model& a, Model& b, const Dataset& dataset,
                                 const InterleavedSettings& settings,
                                 const std::vector<std::shared_ptr<WindowObserver>>& observers) {
  if (settings.rounds < 1 || settings.queries_per_round < 1 || settings.warmup_queries < 0 ||
      settings.batch_size < 1) {
    throw InputError("an interleaved run needs at least 1 round of at least 1 query of 1 sample");
  }
  InterleavedResult out;
  out.settings = settings;
  ThreadsGuard threads_guard(a, settings.threads);  // Process-wide: serves both models.
  out.threads = a.threads();
  TensorAccess* tensors[2] = {&RequireCapability<TensorAccess>(a),
                              &RequireCapability<TensorAccess>(b)};
  std::vector<torch::Tensor> inputs[2] = {BuildQueryInputs(dataset, a, settings.batch_size),
                                          BuildQueryInputs(dataset, b, settings.batch_size)};
  size_t next[2] = {0, 0};
  auto query = [&](int m) {
    const torch::Tensor& x = inputs[m][next[m]];
    if (++next[m] == inputs[m].size()) next[m] = 0;
    const int64_t t0 = SteadyNs();
    torch::Tensor y = tensors[m]->ForwardTensor(x);
    if (!tensors[m]->device().is_cpu()) y = y.to(torch::kCPU);
    const int64_t t1 = SteadyNs();
    benchmark::DoNotOptimize(y);
    return t1 - t0;
  };
  out.latencies_ns.assign(2,
                          std::vector<std::vector<int64_t>>(static_cast<size_t>(settings.rounds)));
  if (settings.peak_rss) {
    out.peak_rss_bytes.assign(2, std::vector<int64_t>(static_cast<size_t>(settings.rounds)));
    out.peak_rss_reset = true;
  }
  try {
    torch::NoGradGuard no_grad;
    for (int m : {0, 1}) {
      for (int64_t i = 0; i < settings.warmup_queries; ++i) query(m);
    }
    for (const auto& o : observers) o->Begin(kInterleavedWindow);
    for (int64_t r = 0; r < settings.rounds; ++r) {
      const bool a_first = r % 4 == 0 || r % 4 == 3;
      out.a_first.push_back(a_first);
      for (int m : a_first ? std::array<int, 2>{0, 1} : std::array<int, 2>{1, 0}) {
        // Both models start from the same row in a round: the same queries, in the same order.
        next[m] = static_cast<size_t>((r * settings.queries_per_round) %
                                      static_cast<int64_t>(inputs[m].size()));
        auto& round = out.latencies_ns[static_cast<size_t>(m)][static_cast<size_t>(r)];
        round.reserve(static_cast<size_t>(settings.queries_per_round));
        if (settings.peak_rss) out.peak_rss_reset = ResetPeakRss() && out.peak_rss_reset;
        const std::string window = observers.empty() ? std::string() : InterleavedWindow(r, m);
        for (const auto& o : observers) o->Begin(window);
        for (int64_t q = 0; q < settings.queries_per_round; ++q) round.push_back(query(m));
        for (auto o = observers.rbegin(); o != observers.rend(); ++o) (*o)->End(window);
        if (settings.peak_rss) {
          const ProcMemory after = ReadProcMemory();
          out.peak_rss_bytes[static_cast<size_t>(m)][static_cast<size_t>(r)] =
              std::max(after.hwm_bytes, after.rss_bytes);
        }
      }
    }
    for (auto o = observers.rbegin(); o != observers.rend(); ++o) (*o)->End(kInterleavedWindow);
  } catch (const c10::Error& e) {
    throw RuntimeError("interleaved timing: forward pass failed: " +
                       std::string(e.what_without_backtrace()));
  }
  return out;
}

std::string RepetitionWindow(const std::string& key, int repetition) {
  return key + "#repetition" + std::to_string(repetition);
}

std::optional<Interval> RepetitionInterval(double overall, std::span<const double> per_repetition,
                                           double level) {
  const size_t r = per_repetition.size();
  if (r < 2 || !std::isfinite(overall)) return std::nullopt;
  bool positive = overall > 0.0;
  for (double x : per_repetition) {
    if (!std::isfinite(x)) return std::nullopt;
    positive = positive && x > 0.0;
  }
  // Load and frequency changes scale a timing (or an energy) rather than shift it: on the log
  // scale the repetitions' spread is closer to normal and the interval is asymmetric like the
  // figure's distribution. Figures that are not all positive use the linear scale.
  auto scale = [positive](double x) { return positive ? std::log(x) : x; };
  double ss = 0.0;
  for (double x : per_repetition) ss += (scale(x) - scale(overall)) * (scale(x) - scale(overall));
  const double n = static_cast<double>(r);
  const double half_width = boost::math::quantile(boost::math::complement(
                                boost::math::students_t(n - 1.0), (1.0 - level) / 2.0)) *
                            std::sqrt(ss / (n - 1.0)) / std::sqrt(n);
  const std::string method = std::string("sectioning-t") + (positive ? " log-scale" : "") + " (" +
                             std::to_string(r) + " repetitions)";
  if (positive) {
    return Interval{overall * std::exp(-half_width), overall * std::exp(half_width), level, method};
  }
  return Interval{overall - half_width, overall + half_width, level, method};
}

}  // namespace greenlight::harness
