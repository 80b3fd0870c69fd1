#include "harness/generation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "harness/run_internals.h"

namespace greenlight::harness {
namespace {

// As in harness.cc: a margin on the planned query count, a cap on extension segments, and a few
// untimed queries right before the window opens (after Google Benchmark's setup).
constexpr double kPlanMargin = 1.10;
constexpr int kMaxSegments = 16;
constexpr int64_t kRewarmQueries = 2;
constexpr int64_t kMaxQueriesPerSegment = int64_t{50'000'000};

std::atomic<int64_t> g_generation_runs{0};

// The state the registered benchmark function of each segment shares with RunGeneration.
struct GenState {
  CausalLanguageModel* lm = nullptr;
  const std::vector<std::vector<int64_t>>* prompts = nullptr;
  const GenerationSettings* settings = nullptr;
  bool use_cache = false;
  size_t next_prompt = 0;
  std::vector<int64_t> batch_tokens;  // The query's prompts, batch × length.
  std::vector<int64_t> batch_rows;
  QueryTrace trace;

  std::string key;
  const std::vector<std::shared_ptr<WindowObserver>>* observers = nullptr;
  int64_t min_queries = 0;
  int64_t min_duration_ns = 0;
  int64_t deadline_steady_ns = 0;
  int64_t rewarm_queries = 0;
  int64_t rewarm_done = 0;

  GenerationResult* result = nullptr;  // Per-query vectors are appended here.
  std::vector<int64_t> repetition_ends;
  size_t next_repetition_end = 0;
  int repetition = 0;
  int64_t repetition_first_query = 0;
  int64_t repetition_start_timed_ns = 0;
  bool window_open = false;
  bool done = false;
  bool stopped_at_max_duration = false;
  std::string error;
  int64_t window_start_steady_ns = 0, window_start_system_ns = 0;
  int64_t window_end_steady_ns = 0, window_end_system_ns = 0;
  int64_t timed_ns = 0;

  int64_t queries() const { return static_cast<int64_t>(result->run.latencies_ns.size()); }
};

// Fills batch_tokens / batch_rows with the next batch of prompts (rotating) and returns the
// prompt length.
int64_t NextBatch(GenState& s) {
  const auto& prompts = *s.prompts;
  const int64_t batch = s.settings->batch_size;
  s.batch_tokens.clear();
  s.batch_rows.clear();
  int64_t length = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t>& p = prompts[s.next_prompt];
    length = static_cast<int64_t>(p.size());
    s.batch_tokens.insert(s.batch_tokens.end(), p.begin(), p.end());
    s.batch_rows.push_back(static_cast<int64_t>(s.next_prompt));
    if (++s.next_prompt == prompts.size()) s.next_prompt = 0;
  }
  return length;
}

// One untimed query (warm-up); returns its e2e time.
int64_t UntimedQuery(GenState& s) {
  const int64_t length = NextBatch(s);
  GenerateQuery(*s.lm, s.batch_tokens, s.settings->batch_size, length, s.batch_rows, *s.settings,
                s.use_cache, &s.trace);
  return s.trace.e2e_ns;
}

void BeginRepetition(GenState& s, int64_t timed_ns_now) {
  ++s.repetition;
  s.repetition_first_query = s.queries();
  s.repetition_start_timed_ns = timed_ns_now;
  const std::string window = RepetitionWindow(s.key, s.repetition);
  for (const auto& observer : *s.observers) observer->Begin(window);
}

void EndRepetition(GenState& s, int64_t timed_ns_now) {
  const std::string window = RepetitionWindow(s.key, s.repetition);
  for (auto it = s.observers->rbegin(); it != s.observers->rend(); ++it) (*it)->End(window);
  s.result->run.repetitions.push_back({s.repetition_first_query,
                                       s.queries() - s.repetition_first_query,
                                       timed_ns_now - s.repetition_start_timed_ns});
}

// One segment: state.max_iterations generation queries, each timed by GenerateQuery (steady_clock
// from issuing the query to each token).
void RunSegment(GenState& s, benchmark::State& state) {
  int64_t segment_start = 0;
  GenerationResult& r = *s.result;
  try {
    if (!s.window_open) {
      for (int64_t i = 0; i < s.rewarm_queries; ++i) {
        UntimedQuery(s);
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
      const int64_t length = NextBatch(s);
      GenerateQuery(*s.lm, s.batch_tokens, s.settings->batch_size, length, s.batch_rows,
                    *s.settings, s.use_cache, &s.trace);
      r.run.latencies_ns.push_back(s.trace.e2e_ns);
      r.ttft_ns.push_back(s.trace.ttft_ns);
      r.step_ns.insert(r.step_ns.end(), s.trace.step_ns.begin(), s.trace.step_ns.end());
      r.prompt_tokens.push_back(length);
      if (s.next_repetition_end < s.repetition_ends.size() &&
          s.queries() == s.repetition_ends[s.next_repetition_end]) {
        ++s.next_repetition_end;
        const int64_t timed_now = s.timed_ns + (SteadyNs() - segment_start);
        EndRepetition(s, timed_now);
        BeginRepetition(s, timed_now);
      }
      if (s.deadline_steady_ns != 0 && SteadyNs() >= s.deadline_steady_ns) {
        s.stopped_at_max_duration = true;
        state.SkipWithError("greenlight: max_duration_s reached");
        break;
      }
    }
  } catch (const std::exception& e) {
    s.error = e.what();
    state.SkipWithError("greenlight: generation failed");
  }
  if (segment_start != 0) s.timed_ns += SteadyNs() - segment_start;
  const bool minimums_met = s.queries() >= s.min_queries && s.timed_ns >= s.min_duration_ns;
  if (minimums_met || s.stopped_at_max_duration || !s.error.empty()) s.done = true;
}

void CloseWindow(GenState& s) {
  if (!s.window_open) return;
  EndRepetition(s, s.timed_ns);
  s.window_end_steady_ns = SteadyNs();
  s.window_end_system_ns = SystemNs();
  s.window_open = false;
  for (const auto& observer : *s.observers) observer->End(s.key);
}

// The run settings of a generation run: what the latency run's rules and figures read (a query
// is one generation request).
RunSettings RunSettingsOf(const GenerationSettings& g) {
  RunSettings r;
  r.scenario = g.scenario;
  r.batch_size = g.batch_size;
  r.threads = g.threads;
  r.warmup_queries = g.warmup_queries;
  r.min_queries = g.min_queries;
  r.min_duration_s = g.min_duration_s;
  r.max_duration_s = g.max_duration_s;
  r.repetitions = g.repetitions;
  return r;
}

}  // namespace

std::string DecodeModeName(DecodeMode mode) {
  return mode == DecodeMode::kRecompute ? "recompute" : "auto";
}

DecodeMode ParseDecodeMode(const std::string& s) {
  if (s == "auto") return DecodeMode::kAuto;
  if (s == "recompute") return DecodeMode::kRecompute;
  throw InputError("unknown decode mode '" + s + "' (expected auto or recompute)");
}

std::optional<std::string> GenerationSettingsProblem(const GenerationSettings& s) {
  // The run rules are the latency run's.
  if (auto problem = SettingsProblem(RunSettingsOf(s))) return problem;
  if (s.scenario == Scenario::kOffline && !s.prompt_tokens) {
    return "offline batches need prompts of one length: set prompt_tokens";
  }
  if (s.prompt_tokens && *s.prompt_tokens < 1) return "prompt_tokens must be at least 1";
  if (s.max_new_tokens < 1) return "max_new_tokens must be at least 1";
  if (s.decoding.sample && !(s.decoding.temperature > 0.0)) return "temperature must be > 0";
  if (s.decoding.top_k < 0) return "top_k must be 0 (all) or more";
  return std::nullopt;
}

std::string GenerationKey(const ModelInfo& model, const GenerationSettings& s) {
  std::string decoding = "greedy";
  if (s.decoding.sample) {
    decoding = "sample(t=" + FormatNumber(s.decoding.temperature) +
               ",k=" + std::to_string(s.decoding.top_k) +
               ",seed=" + std::to_string(s.decoding.seed) + ")";
  }
  return "harness:generate:" + model.sha256 + ":" + ScenarioName(s.scenario) + ":b" +
         std::to_string(s.batch_size) + ":t" + std::to_string(s.threads) + ":dev=" + model.device +
         ":p" + (s.prompt_tokens ? std::to_string(*s.prompt_tokens) : std::string("doc")) + ":n" +
         std::to_string(s.max_new_tokens) + ":" + decoding + ":decode=" + DecodeModeName(s.decode) +
         ":w" + std::to_string(s.warmup_queries) + ":q" + std::to_string(s.min_queries) + ":d" +
         FormatNumber(s.min_duration_s) + ":m" + FormatNumber(s.max_duration_s) + ":r" +
         std::to_string(s.repetitions);
}

std::vector<std::vector<int64_t>> BuildPrompts(const CausalLanguageModel& lm,
                                               std::span<const std::string> texts,
                                               const GenerationSettings& s) {
  const int64_t context = lm.context_length();
  if (s.prompt_tokens && *s.prompt_tokens + s.max_new_tokens > context) {
    throw InputError("prompt_tokens " + std::to_string(*s.prompt_tokens) + " + max_new_tokens " +
                     std::to_string(s.max_new_tokens) + " exceed the model's context_length " +
                     std::to_string(context));
  }
  if (texts.empty()) throw InputError("generation needs documents (a text or jsonl dataset)");
  std::vector<std::vector<int64_t>> prompts;
  prompts.reserve(texts.size());
  for (size_t row = 0; row < texts.size(); ++row) {
    std::vector<int64_t> ids = lm.tokenizer().Encode(texts[row]).ids;
    const auto n = static_cast<int64_t>(ids.size());
    if (s.prompt_tokens) {
      if (n < *s.prompt_tokens) {
        throw InputError("dataset row " + std::to_string(row) + " has " + std::to_string(n) +
                         " tokens, fewer than prompt_tokens " + std::to_string(*s.prompt_tokens) +
                         " (shorten prompt_tokens or select longer documents)");
      }
      ids.resize(static_cast<size_t>(*s.prompt_tokens));
    } else if (n < 1) {
      throw InputError("dataset row " + std::to_string(row) + " has no token to prompt with");
    } else if (n + s.max_new_tokens > context) {
      throw InputError("dataset row " + std::to_string(row) + " has " + std::to_string(n) +
                       " tokens: with max_new_tokens " + std::to_string(s.max_new_tokens) +
                       " it exceeds the model's context_length " + std::to_string(context) +
                       " (set prompt_tokens)");
    }
    prompts.push_back(std::move(ids));
  }
  return prompts;
}

uint64_t SequenceSeed(uint64_t seed, int64_t row) {
  uint64_t state = seed ^ (static_cast<uint64_t>(row) * 0x9E3779B97F4A7C15ULL);
  random::SplitMix64(state);
  return random::SplitMix64(state);
}

int64_t ChooseToken(std::span<const float> logits, const Decoding& d, random::Rng* rng) {
  const auto vocab = static_cast<int64_t>(logits.size());
  if (!d.sample) {
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v) {
      if (logits[v] > logits[best]) best = v;
    }
    return best;
  }
  if (rng == nullptr) throw RuntimeError("sampling needs a random generator");
  std::vector<int64_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), int64_t{0});
  if (d.top_k > 0 && d.top_k < vocab) {
    // The k largest logits, ties to the lower id; then back in ascending id order.
    const auto larger = [&](int64_t a, int64_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::nth_element(ids.begin(), ids.begin() + (d.top_k - 1), ids.end(), larger);
    ids.resize(static_cast<size_t>(d.top_k));
    std::sort(ids.begin(), ids.end());
  }
  double max = -INFINITY;
  for (int64_t v : ids) max = std::max(max, static_cast<double>(logits[v]));
  std::vector<double> weights(ids.size());
  double sum = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    weights[i] = std::exp((static_cast<double>(logits[ids[i]]) - max) / d.temperature);
    sum += weights[i];
  }
  const double u = random::UniformDouble(*rng) * sum;
  double cumulative = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    cumulative += weights[i];
    if (u < cumulative) return ids[i];
  }
  return ids.back();  // u rounded up to the sum.
}

std::vector<int64_t> GenerateQuery(CausalLanguageModel& lm, std::span<const int64_t> prompts,
                                   int64_t batch, int64_t prompt_length,
                                   std::span<const int64_t> rows, const GenerationSettings& s,
                                   bool use_cache, QueryTrace* trace) {
  const int64_t n = s.max_new_tokens;
  const int64_t vocab = lm.vocab_size();
  std::vector<random::Rng> rngs;
  if (s.decoding.sample) {
    for (int64_t b = 0; b < batch; ++b) rngs.emplace_back(SequenceSeed(s.decoding.seed, rows[b]));
  }
  auto choose = [&](const float* row, int64_t b) {
    return ChooseToken(std::span<const float>(row, static_cast<size_t>(vocab)), s.decoding,
                       s.decoding.sample ? &rngs[static_cast<size_t>(b)] : nullptr);
  };
  std::vector<int64_t> out(static_cast<size_t>(batch * n));
  if (trace != nullptr) {
    trace->step_ns.clear();
    trace->step_ns.reserve(static_cast<size_t>(n - 1));
  }
  const int64_t t0 = SteadyNs();
  int64_t previous = t0;
  auto token_done = [&](int64_t k) {
    if (trace == nullptr) return;
    const int64_t now = SteadyNs();
    if (k == 0) {
      trace->ttft_ns = now - t0;
    } else {
      trace->step_ns.push_back(now - previous);
    }
    previous = now;
  };
  if (use_cache) {
    DecodeStep step = lm.Prefill(prompts, batch, prompt_length);
    for (int64_t b = 0; b < batch; ++b) {
      out[static_cast<size_t>(b * n)] =
          choose(step.logits.data() + ((b + 1) * prompt_length - 1) * vocab, b);
    }
    token_done(0);
    std::vector<int64_t> last(static_cast<size_t>(batch));
    for (int64_t k = 1; k < n; ++k) {
      for (int64_t b = 0; b < batch; ++b) {
        last[static_cast<size_t>(b)] = out[static_cast<size_t>(b * n + k - 1)];
      }
      step = lm.Step(last, batch, *step.cache);
      for (int64_t b = 0; b < batch; ++b) {
        out[static_cast<size_t>(b * n + k)] = choose(step.logits.data() + b * vocab, b);
      }
      token_done(k);
    }
  } else {
    // Each sequence's prefix in a row of `capacity` tokens; a batch is copied to consecutive rows
    // of the current length before each call.
    const int64_t capacity = prompt_length + n - 1;
    std::vector<int64_t> rows_buffer(static_cast<size_t>(batch * capacity));
    for (int64_t b = 0; b < batch; ++b) {
      std::copy_n(prompts.begin() + b * prompt_length, prompt_length,
                  rows_buffer.begin() + b * capacity);
    }
    std::vector<int64_t> packed;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t length = prompt_length + k;
      std::span<const int64_t> input(rows_buffer.data(), static_cast<size_t>(length));
      if (batch > 1) {
        packed.resize(static_cast<size_t>(batch * length));
        for (int64_t b = 0; b < batch; ++b) {
          std::copy_n(rows_buffer.begin() + b * capacity, length, packed.begin() + b * length);
        }
        input = packed;
      }
      const std::vector<float> logits = lm.Logits(input, batch, length);
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t token = choose(logits.data() + ((b + 1) * length - 1) * vocab, b);
        out[static_cast<size_t>(b * n + k)] = token;
        if (k + 1 < n) rows_buffer[static_cast<size_t>(b * capacity + length)] = token;
      }
      token_done(k);
    }
  }
  if (trace != nullptr) trace->e2e_ns = previous - t0;
  return out;
}

std::shared_ptr<const GenerationResult> RunGeneration(
    Model& model, const std::vector<std::vector<int64_t>>& prompts,
    const GenerationSettings& settings,
    const std::vector<std::shared_ptr<WindowObserver>>& observers) {
  if (auto problem = GenerationSettingsProblem(settings)) throw InputError(*problem);
  CausalLanguageModel& lm = RequireCapability<CausalLanguageModel>(model);
  if (prompts.empty()) throw InputError("generation needs at least one prompt");
  const auto length = static_cast<int64_t>(prompts.front().size());
  for (const auto& p : prompts) {
    if (p.empty()) throw InputError("generation needs prompts of at least one token");
    if (settings.batch_size > 1 && static_cast<int64_t>(p.size()) != length) {
      throw InputError("a batch needs prompts of one length");
    }
  }

  auto result = std::make_shared<GenerationResult>();
  GenerationResult& r = *result;
  r.settings = settings;
  r.prompts = static_cast<int64_t>(prompts.size());
  r.cache = lm.incremental() && settings.decode == DecodeMode::kAuto;
  r.mode_reason = r.cache            ? "the model exports prefill and step"
                  : lm.incremental() ? "decode: recompute was asked for; the model's cache unused"
                                     : "the model exports no prefill/step";
  RunResult& run = r.run;
  run.key = GenerationKey(model.info(), settings);
  run.settings = RunSettingsOf(settings);
  run.device = model.info().device.empty() ? "cpu" : model.info().device;

  ThreadsGuard threads_guard(model, settings.threads);
  run.threads = model.threads();

  GenState s;
  s.lm = &lm;
  s.prompts = &prompts;
  s.settings = &settings;
  s.use_cache = r.cache;
  s.key = run.key;
  s.observers = &observers;
  s.min_queries = settings.min_queries;
  s.min_duration_ns = static_cast<int64_t>(std::ceil(settings.min_duration_s * 1e9));
  s.deadline_steady_ns = static_cast<int64_t>(settings.max_duration_s * 1e9);
  s.rewarm_queries = std::min<int64_t>(settings.warmup_queries, kRewarmQueries);
  s.result = &r;

  // Warm-up: untimed, but its times plan the first segment (the mean of its second half).
  std::vector<int64_t> warmup_ns;
  for (int64_t i = 0; i < settings.warmup_queries; ++i) warmup_ns.push_back(UntimedQuery(s));
  run.warmup_queries_run = static_cast<int64_t>(warmup_ns.size());
  double estimate_ns = 0.0;
  if (!warmup_ns.empty()) {
    const auto half = warmup_ns.begin() + static_cast<std::ptrdiff_t>(warmup_ns.size() / 2);
    estimate_ns = static_cast<double>(std::accumulate(half, warmup_ns.end(), int64_t{0})) /
                  static_cast<double>(warmup_ns.end() - half);
  }

  CollectingReporter reporter;
  const int64_t run_id = g_generation_runs.fetch_add(1);
  for (int segment = 0; segment < kMaxSegments && !s.done; ++segment) {
    const int64_t have = s.queries();
    if (have > 0) estimate_ns = static_cast<double>(s.timed_ns) / static_cast<double>(have);
    int64_t planned = std::max<int64_t>(settings.min_queries - have, 1);
    const int64_t missing_ns = s.min_duration_ns - s.timed_ns;
    if (missing_ns > 0 && estimate_ns > 0.0) {
      planned = std::max<int64_t>(
          planned, static_cast<int64_t>(
                       std::ceil(kPlanMargin * static_cast<double>(missing_ns) / estimate_ns)));
    }
    planned = std::min(planned, kMaxQueriesPerSegment);
    if (segment == 0) {
      planned = std::max<int64_t>(planned, settings.repetitions);
      for (int rep = 1; rep < settings.repetitions; ++rep) {
        s.repetition_ends.push_back(planned * rep / settings.repetitions);
      }
    }
    const std::string name =
        "greenlight_generation/run" + std::to_string(run_id) + "/segment" + std::to_string(segment);
    GenState* sp = &s;
    benchmark::RegisterBenchmark(name.c_str(),
                                 [sp](benchmark::State& state) { RunSegment(*sp, state); })
        ->Iterations(planned)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    if (benchmark::RunSpecifiedBenchmarks(&reporter, "^" + name + "/") != 1) {
      CloseWindow(s);
      throw RuntimeError("Google Benchmark did not run the generation benchmark " + name);
    }
    ++run.segments;
  }
  CloseWindow(s);
  run.warmup_queries_run += s.rewarm_done;
  if (!s.error.empty()) throw RuntimeError("generation failed during the timed run: " + s.error);

  run.queries = s.queries();
  run.samples = run.queries * settings.batch_size;
  run.window_start_steady_ns = s.window_start_steady_ns;
  run.window_end_steady_ns = s.window_end_steady_ns;
  run.window_start_system_ns = s.window_start_system_ns;
  run.window_end_system_ns = s.window_end_system_ns;
  run.duration_ns = s.window_end_steady_ns - s.window_start_steady_ns;
  run.timed_ns = s.timed_ns;
  run.stopped_at_max_duration = s.stopped_at_max_duration;
  run.min_queries_met = run.queries >= settings.min_queries;
  run.min_duration_met = s.timed_ns >= s.min_duration_ns;
  for (const auto& gb : reporter.runs()) {
    if (gb.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) continue;
    run.gbench_real_time_s += gb.real_accumulated_time;
    run.gbench_cpu_time_s += gb.cpu_accumulated_time;
    run.gbench_iterations += gb.iterations;
  }
  run.context = reporter.context();
  return result;
}

}  // namespace greenlight::harness
