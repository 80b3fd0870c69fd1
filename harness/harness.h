// The timing harness: runs a model (through its TensorAccess capability) as registered Google
// Benchmark benchmarks on real dataset rows and hands every query's latency back, after MLPerf
// Inference's single-stream and offline scenarios and LoadGen's run-length rules (minimum query
// count AND minimum duration).
//
// A library below the metrics: it knows models (models/), datasets and core, and nothing of the
// auditors. The efficiency and energy metrics run it through their timed-run Work
// (auditors/efficiency/timed_run.h), one run per distinct RunSettings; what is measured around
// the run (energy meters) sees it through WindowObserver.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "datasets/dataset.h"
#include "models/model.h"

namespace greenlight::harness {

enum class Scenario {
  kSingleStream,  // One query of batch 1 at a time; latency percentiles.
  kOffline,       // Back-to-back queries of `batch_size` samples; throughput.
};
std::string ScenarioName(Scenario scenario);      // "single_stream" | "offline"
Scenario ParseScenario(const std::string& name);  // Throws InputError on an unknown name.

// How one measurement is run. Plain data; the defaults are LoadGen's spirit: a run counts only
// when it reaches both minimums.
struct RunSettings {
  Scenario scenario = Scenario::kSingleStream;
  int64_t batch_size = 1;        // Samples per query (always 1 in single_stream).
  int threads = 0;               // Intra-op threads during the run; 0 = leave LibTorch's setting.
  std::string device;            // "" = the model's device; else "cpu", "cuda", "cuda:N".
  int64_t warmup_queries = 64;   // Untimed queries before the run (excluded from all figures).
  int64_t min_queries = 1024;    // Run-length rule 1.
  double min_duration_s = 10.0;  // Run-length rule 2.
  double max_duration_s = 0.0;   // Stop the timed run after this long; 0 = no maximum.
  // The timed run is measured as this many contiguous repetitions of about equal query counts;
  // intervals come from the spread between them (see RepetitionInterval). At least kMinRepetitions.
  int repetitions = 10;
};

// Fewest repetitions a run may be split into: with fewer, a t-interval rests on too few degrees
// of freedom (t at 95 % is 12.7 with 2 repetitions, 2.78 with 5).
inline constexpr int kMinRepetitions = 5;

// Why `settings` cannot run (a sentence naming the setting), or nullopt. In single_stream,
// batch_size must be 1.
std::optional<std::string> SettingsProblem(const RunSettings& settings);

// The cache key of a run: model digest + every setting that changes what is measured.
// Two criteria with the same key share one run. Stable text, e.g.
// "harness:run:<sha256>:single_stream:b1:t0:dev=cpu:w64:q1024:d10:m0:r10".
std::string RunKey(const ModelInfo& model, const RunSettings& settings);

// Google Benchmark's view of the machine (from its JSONReporter context).
struct BenchmarkContext {
  int num_cpus = 0;
  double mhz_per_cpu = 0.0;
  std::string cpu_scaling;         // "enabled" | "disabled" | "unknown"
  std::string library_build_type;  // "release" | "debug"
  std::string host_name;
  nlohmann::json raw;  // The whole context object as Google Benchmark wrote it.
};

// One repetition of a run: queries [first_query, first_query + queries) of RunResult's
// latencies_ns, timed back to back. timed_ns covers the queries and the loop between them (the
// same accounting as RunResult::timed_ns; the repetitions' timed_ns sum to it).
struct Repetition {
  int64_t first_query = 0;
  int64_t queries = 0;
  int64_t timed_ns = 0;
};

// Warnings that the run's context makes timings noisy (load average above the CPU count, CPU
// frequency scaling, a debug build of Google Benchmark), one sentence each; empty when quiet.
nlohmann::json NoisyContextWarnings(const BenchmarkContext& context);

// Everything one run produced. Times: steady_ns = std::chrono::steady_clock ns since its epoch;
// system_ns = std::chrono::system_clock ns since the Unix epoch.
struct RunResult {
  std::string key;  // RunKey(); also the WindowObserver window name.
  RunSettings settings;
  std::string device;  // Device the run used, e.g. "cpu".
  int threads = 0;     // Intra-op threads in effect during the run.

  int64_t queries = 0;                // Timed queries.
  int64_t samples = 0;                // queries × batch_size.
  std::vector<int64_t> latencies_ns;  // One per timed query, in issue order (steady_clock).

  // The measurement window: Begin is called right before window_start, End right after
  // window_end. The window covers all timed queries (and, when the run needed extension
  // segments to reach its minimums, the short gaps between segments: see segments).
  int64_t window_start_steady_ns = 0;
  int64_t window_end_steady_ns = 0;
  int64_t window_start_system_ns = 0;
  int64_t window_end_system_ns = 0;
  int64_t duration_ns = 0;  // window_end_steady_ns - window_start_steady_ns.
  int64_t timed_ns = 0;     // Sum of segment durations (queries only, no gaps).
  int segments = 0;         // Google Benchmark runs making up the timed part (usually 1).
  // Contiguous repetitions, in order, covering every timed query once. Planned as
  // settings.repetitions of equal size; a run stopped at max_duration_s may have fewer, and queries
  // of extension segments (a run still short of min_duration_s) join the last one.
  std::vector<Repetition> repetitions;
  int64_t warmup_queries_run = 0;  // Untimed: the warm-up plus up to 4 before the window.

  // Run-length rules.
  bool min_queries_met = false;
  bool min_duration_met = false;
  bool stopped_at_max_duration = false;
  bool valid() const { return min_queries_met && min_duration_met; }

  // Process resident memory (Linux /proc/self/status), bytes.
  int64_t rss_before_bytes = 0;  // VmRSS right before the warm-up.
  int64_t peak_rss_bytes = 0;    // VmHWM after the run (peak reset before warm-up when possible).
  bool peak_rss_reset = false;   // true when /proc/self/clear_refs reset the peak first.

  // Google Benchmark's own accounting of the segments (for cross-checks in reports).
  double gbench_real_time_s = 0.0;
  double gbench_cpu_time_s = 0.0;
  int64_t gbench_iterations = 0;
  BenchmarkContext context;
};

// Observes the measurement windows of a run (energy meters around the timed queries). Begin and
// End are called on the thread that runs the model, immediately before the first and after the
// last timed query; `window` is the run's key, or a repetition's window (RepetitionWindow).
class WindowObserver {
 public:
  virtual ~WindowObserver() = default;
  virtual void Begin(const std::string& window) = 0;
  virtual void End(const std::string& window) = 0;
};

// The window name of repetition `repetition` (1-based) of the run keyed `key`. Observers see
// Begin/End of each repetition's window, between two timed queries, nested inside Begin/End(key):
// Begin(key), Begin(RepetitionWindow(key, 1)), End(RepetitionWindow(key, 1)), ...,
// End(RepetitionWindow(key, R)), End(key). Figures whose interval comes from between-repetition
// variation (energy) read one value per repetition window.
std::string RepetitionWindow(const std::string& key, int repetition);

// Runs one measurement now (no caching). `observers` see Begin/End(key) around the timed part.
// Throws InputError when the dataset has no features or its sample shape does not fit the model,
// RuntimeError when the model's runtime offers no TensorAccess or fails.
// The most dataset rows a run's queries read (its inputs are staged once, up to a fixed number of
// bytes, and reused round-robin): callers need only these rows in memory.
int64_t QueryRows(int64_t sample_size, int64_t batch_size);

std::shared_ptr<const RunResult> Run(Model& model, const Dataset& dataset,
                                     const RunSettings& settings,
                                     const std::vector<std::shared_ptr<WindowObserver>>& observers);

// Two models timed in the same run, interleaved so that machine drift (load, frequency, thermal
// state) falls on both alike: rounds of `queries_per_round` queries of `batch_size` samples on
// each model, in the order A B, B A, B A, A B, ... (round r runs A first when r mod 4 is 0 or 3),
// so that a drift linear within four rounds cancels. Queries are the same dataset rows for both
// models (the batches of BuildQueryInputs, rotated). Untimed warm-up of `warmup_queries` on each
// model first.
struct InterleavedSettings {
  int64_t rounds = 20;
  int64_t queries_per_round = 64;
  int64_t warmup_queries = 64;
  int threads = 0;         // Intra-op threads during the run; 0 = leave LibTorch's setting.
  int64_t batch_size = 1;  // Samples per query (1: single-stream queries; more: offline).
  // Also record each model's peak resident set in each round: the kernel's peak (VmHWM) is reset
  // right before a model's queries of the round and read right after them, outside the timed
  // queries.
  bool peak_rss = false;
};

struct InterleavedResult {
  InterleavedSettings settings;
  int threads = 0;
  // latencies_ns[m][r]: model m's (0: A, 1: B) per-query latencies in round r, in issue order.
  std::vector<std::vector<std::vector<int64_t>>> latencies_ns;
  std::vector<bool> a_first;  // Per round: whether A ran before B.
  // With settings.peak_rss: peak_rss_bytes[m][r], the process's peak resident set (bytes) while
  // model m ran its queries of round r; peak_rss_reset is true when every reset of the peak
  // succeeded (otherwise a figure may be an older peak). Empty / false without.
  std::vector<std::vector<int64_t>> peak_rss_bytes;
  bool peak_rss_reset = false;
};

// The window name of an interleaved run's timed part (kInterleavedWindow) and of model m's
// queries (0: A, 1: B) in round r (0-based): RepetitionWindow(kInterleavedWindow, 2r + m + 1).
// Observers see Begin/End(kInterleavedWindow) around all rounds (after the warm-up) and, nested
// inside, Begin/End of each model's window in every round, outside its timed queries, so a meter
// can read one figure per model and round.
inline constexpr char kInterleavedWindow[] = "interleaved";
std::string InterleavedWindow(int64_t round, int model);

// Throws InputError on settings below 1 round, query or sample, RuntimeError when a model offers
// no TensorAccess or a forward pass fails.
InterleavedResult RunInterleaved(
    Model& a, Model& b, const Dataset& dataset, const InterleavedSettings& settings,
    const std::vector<std::shared_ptr<WindowObserver>>& observers = {});

// The interval of a figure measured over R repetitions, from their spread (sectioning: Asmussen
// and Glynn, "Stochastic Simulation: Algorithms and Analysis", Springer 2007, §III.5a; the
// batch-quantile analysis of Seila, Management Science 28(5), 1982). `overall` is the figure over
// the whole run (the pooled percentile, total samples / total time, ...), `per_repetition` the
// same figure computed on each repetition alone. With every figure positive the interval is
// built on the log scale (load scales a timing rather than shifting it):
//   overall · exp(± t_{R-1, (1+level)/2} · S / √R),  S² = Σ (ln x_r − ln overall)² / (R − 1),
// otherwise on the linear scale (overall ± t · S / √R with S from x_r − overall). Either way it
// contains `overall`. It treats repetitions as independent,
// identically distributed replicates of the run: it includes load changes, frequency changes and
// other drift from one repetition to the next, which the within-run order-statistic bound cannot.
// Needs R >= 2 (otherwise nullopt). method: "sectioning-t log-scale (R repetitions)" or
// "sectioning-t (R repetitions)". Coverage by simulation: tests/unit/efficiency,
// docs/efficiency.md.
std::optional<Interval> RepetitionInterval(double overall, std::span<const double> per_repetition,
                                           double level);

}  // namespace greenlight::harness
