// ttft_ms_p50|p90|p99, tpot_ms_p50|p90|p99, e2e_latency_ms_p50|p90|p99 and output_tokens_per_s:
// one class, figures of one timed generation run, intervals from the spread between its
// repetitions as for the classifier latency metrics.
#include "auditors/language/generation_metrics.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>

#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/efficiency/timed_run.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"

namespace greenlight::language {

void CheckGenerationFitsModel(const GenerationParams& p, const ModelSpec& model) {
  if (!model.tokenizer || model.context_length < 1 || !p.prompt_tokens) return;
  if (*p.prompt_tokens + p.max_new_tokens > model.context_length) {
    throw ParamError("max_new_tokens", "prompt_tokens " + std::to_string(*p.prompt_tokens) +
                                           " + max_new_tokens " + std::to_string(p.max_new_tokens) +
                                           " exceed the model's context_length " +
                                           std::to_string(model.context_length));
  }
}

harness::GenerationSettings ToGenerationSettings(const GenerationParams& p, uint64_t audit_seed) {
  harness::GenerationSettings s;
  s.scenario = harness::ParseScenario(p.scenario);
  s.batch_size = p.batch_size.value_or(s.scenario == harness::Scenario::kOffline ? 8 : 1);
  s.threads = static_cast<int>(p.threads);
  s.prompt_tokens = p.prompt_tokens;
  s.max_new_tokens = p.max_new_tokens;
  s.decoding.sample = p.decoding == "sampling";
  s.decoding.temperature = p.temperature.value_or(1.0);
  s.decoding.top_k = p.top_k.value_or(0);
  s.decoding.seed = p.seed ? static_cast<uint64_t>(*p.seed) : audit_seed;
  s.decode = harness::ParseDecodeMode(p.decode);
  s.warmup_queries = p.warmup_queries;
  s.min_queries = p.min_queries;
  s.min_duration_s = p.min_duration_s;
  s.max_duration_s = p.max_duration_s;
  s.repetitions = static_cast<int>(p.repetitions);
  return s;
}

namespace {

nlohmann::json ParamsToJson(const GenerationParams& p) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"scenario", p.scenario},
          {"batch_size", opt(p.batch_size)},
          {"threads", p.threads},
          {"prompt_tokens", opt(p.prompt_tokens)},
          {"max_new_tokens", p.max_new_tokens},
          {"decoding", p.decoding},
          {"temperature", opt(p.temperature)},
          {"top_k", opt(p.top_k)},
          {"seed", opt(p.seed)},
          {"decode", p.decode},
          {"warmup_queries", p.warmup_queries},
          {"min_queries", p.min_queries},
          {"min_duration_s", p.min_duration_s},
          {"max_duration_s", p.max_duration_s},
          {"repetitions", p.repetitions}};
}

nlohmann::json SettingsToJson(const harness::GenerationSettings& s) {
  return {{"scenario", harness::ScenarioName(s.scenario)},
          {"batch_size", s.batch_size},
          {"threads", s.threads},
          {"prompt_tokens", s.prompt_tokens ? nlohmann::json(*s.prompt_tokens) : nullptr},
          {"max_new_tokens", s.max_new_tokens},
          {"sample", s.decoding.sample},
          {"temperature", s.decoding.temperature},
          {"top_k", s.decoding.top_k},
          {"seed", s.decoding.seed},
          {"decode", harness::DecodeModeName(s.decode)},
          {"warmup_queries", s.warmup_queries},
          {"min_queries", s.min_queries},
          {"min_duration_s", s.min_duration_s},
          {"max_duration_s", s.max_duration_s},
          {"repetitions", s.repetitions}};
}

harness::GenerationSettings SettingsFromJson(const nlohmann::json& j) {
  harness::GenerationSettings s;
  s.scenario = harness::ParseScenario(j.at("scenario").get<std::string>());
  s.batch_size = JsonInteger<int64_t>(j.at("batch_size"), "batch_size");
  s.threads = JsonInteger<int>(j.at("threads"), "threads");
  if (!j.at("prompt_tokens").is_null()) {
    s.prompt_tokens = JsonInteger<int64_t>(j.at("prompt_tokens"), "prompt_tokens");
  }
  s.max_new_tokens = JsonInteger<int64_t>(j.at("max_new_tokens"), "max_new_tokens");
  s.decoding.sample = j.at("sample").get<bool>();
  s.decoding.temperature = j.at("temperature").get<double>();
  s.decoding.top_k = JsonInteger<int64_t>(j.at("top_k"), "top_k");
  s.decoding.seed = j.at("seed").get<uint64_t>();
  s.decode = harness::ParseDecodeMode(j.at("decode").get<std::string>());
  s.warmup_queries = JsonInteger<int64_t>(j.at("warmup_queries"), "warmup_queries");
  s.min_queries = JsonInteger<int64_t>(j.at("min_queries"), "min_queries");
  s.min_duration_s = j.at("min_duration_s").get<double>();
  s.max_duration_s = j.at("max_duration_s").get<double>();
  s.repetitions = JsonInteger<int>(j.at("repetitions"), "repetitions");
  return s;
}

}  // namespace

GenerationWork::GenerationWork(const GenerationParams& params)
    : params_(params), key_("generation:" + CanonicalText(ParamsToJson(params))) {}

std::shared_ptr<const WorkRecord> GenerationWork::Run(
    AuditContext& context, std::span<Instrument* const> instruments) const {
  Model* model = context.model();
  if (model == nullptr) throw InputError("generation needs a model");
  CausalLanguageModel& lm = RequireCapability<CausalLanguageModel>(*model);
  const harness::GenerationSettings settings = ToGenerationSettings(params_, context.seed());
  const Dataset& data = context.dataset();
  const auto texts = data.texts();
  if (static_cast<int64_t>(texts.size()) != data.rows() || texts.empty()) {
    throw InputError("generation needs a text or jsonl dataset (documents as prompts)");
  }
  const std::vector<std::vector<int64_t>> prompts = harness::BuildPrompts(lm, texts, settings);
  const std::string key = harness::GenerationKey(model->info(), settings);
  auto observer = efficiency::InstrumentObserver(instruments, key, settings.repetitions);
  context.Progress("", "generation benchmark", 0.0);
  auto record = std::make_shared<GenerationRecord>();
  record->result = harness::RunGeneration(*model, prompts, settings, {observer});
  context.Progress("", "generation benchmark", 1.0);
  return record;
}

nlohmann::json GenerationToJson(const harness::GenerationResult& r) {
  nlohmann::json reps = nlohmann::json::array();
  for (const harness::Repetition& rep : r.run.repetitions) {
    reps.push_back({rep.first_query, rep.queries, rep.timed_ns});
  }
  return {{"facts", efficiency::RunFactsToJson(r.run)},
          {"e2e_ns", r.run.latencies_ns},
          {"repetitions", reps},
          {"settings", SettingsToJson(r.settings)},
          {"cache", r.cache},
          {"mode_reason", r.mode_reason},
          {"prompts", r.prompts},
          {"prompt_tokens", r.prompt_tokens},
          {"ttft_ns", r.ttft_ns},
          {"step_ns", r.step_ns}};
}

harness::GenerationResult GenerationFromJson(const nlohmann::json& j) {
  harness::GenerationResult r;
  try {
    r.run = efficiency::RunFactsFromJson(j.at("facts"));
    r.run.latencies_ns = JsonIntegers<int64_t>(j.at("e2e_ns"), "e2e_ns");
    for (const auto& rep : j.at("repetitions")) {
      r.run.repetitions.push_back({JsonInteger<int64_t>(rep.at(0), "repetitions"),
                                   JsonInteger<int64_t>(rep.at(1), "repetitions"),
                                   JsonInteger<int64_t>(rep.at(2), "repetitions")});
    }
    r.settings = SettingsFromJson(j.at("settings"));
    r.cache = j.at("cache").get<bool>();
    r.mode_reason = j.at("mode_reason").get<std::string>();
    r.prompts = JsonInteger<int64_t>(j.at("prompts"), "prompts");
    r.prompt_tokens = JsonIntegers<int64_t>(j.at("prompt_tokens"), "prompt_tokens");
    r.ttft_ns = JsonIntegers<int64_t>(j.at("ttft_ns"), "ttft_ns");
    r.step_ns = JsonIntegers<int64_t>(j.at("step_ns"), "step_ns");
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(std::string("generation statistics: malformed JSON: ") + e.what());
  }
  const auto q = static_cast<size_t>(r.run.queries);
  const auto steps = static_cast<size_t>(r.settings.max_new_tokens - 1);
  if (r.run.latencies_ns.size() != q || r.ttft_ns.size() != q || r.prompt_tokens.size() != q ||
      r.step_ns.size() != q * steps) {
    throw RuntimeError("generation statistics: per-query arrays do not match the query count");
  }
  return r;
}

void GenerationStats::Merge(const GenerationStats& other) {
  if (other.run.is_null()) return;
  if (!run.is_null()) {
    throw RuntimeError("generation statistics: two shards timed the run (it is measured once)");
  }
  run = other.run;
}

QueryFigures FiguresOf(const harness::GenerationResult& r) {
  QueryFigures f;
  const int64_t n = r.settings.max_new_tokens;
  for (size_t q = 0; q < r.run.latencies_ns.size(); ++q) {
    const int64_t e2e = r.run.latencies_ns[q];
    const int64_t ttft = r.ttft_ns[q];
    f.ttft_ms.push_back(static_cast<double>(ttft) / 1e6);
    f.e2e_ms.push_back(static_cast<double>(e2e) / 1e6);
    if (n > 1)
      f.tpot_ms.push_back(static_cast<double>(e2e - ttft) / 1e6 / static_cast<double>(n - 1));
  }
  return f;
}

std::vector<double> MeanStepMsByPosition(const harness::GenerationResult& r) {
  const auto steps = static_cast<size_t>(std::max<int64_t>(r.settings.max_new_tokens - 1, 0));
  std::vector<double> mean(steps, 0.0);
  const size_t queries = r.ttft_ns.size();
  if (queries == 0) return mean;
  for (size_t q = 0; q < queries; ++q) {
    for (size_t k = 0; k < steps; ++k) {
      mean[k] += static_cast<double>(r.step_ns[q * steps + k]) / 1e6;
    }
  }
  for (double& m : mean) m /= static_cast<double>(queries);
  return mean;
}

namespace {

nlohmann::json Summary(std::vector<double> ms) {
  if (ms.empty()) return nullptr;
  std::sort(ms.begin(), ms.end());
  return {{"p50", stats::QuantileSorted(ms, 0.5)},
          {"p90", stats::QuantileSorted(ms, 0.9)},
          {"p99", stats::QuantileSorted(ms, 0.99)},
          {"min", ms.front()},
          {"max", ms.back()},
          {"mean", std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size())}};
}

}  // namespace

nlohmann::json GenerationRunDetails(const harness::GenerationResult& r) {
  const harness::RunResult& run = r.run;
  const harness::GenerationSettings& s = r.settings;
  int64_t shortest = 0, longest = 0;
  if (!r.prompt_tokens.empty()) {
    const auto [lo, hi] = std::minmax_element(r.prompt_tokens.begin(), r.prompt_tokens.end());
    shortest = *lo;
    longest = *hi;
  }
  nlohmann::json decoding = {{"kind", s.decoding.sample ? "sampling" : "greedy"}};
  if (s.decoding.sample) {
    decoding["temperature"] = s.decoding.temperature;
    decoding["top_k"] = s.decoding.top_k;
    decoding["seed"] = s.decoding.seed;
    decoding["generator"] = "xoshiro256** seeded per prompt row (SplitMix64 of seed and row)";
  }
  nlohmann::json rules = nlohmann::json::array();
  rules.push_back({{"rule", "min_queries"},
                   {"required", run.settings.min_queries},
                   {"actual", run.queries},
                   {"met", run.min_queries_met}});
  rules.push_back({{"rule", "min_duration_s"},
                   {"required", run.settings.min_duration_s},
                   {"actual", static_cast<double>(run.timed_ns) / 1e9},
                   {"met", run.min_duration_met}});
  rules.push_back({{"rule", "max_duration_s"},
                   {"limit", run.settings.max_duration_s},
                   {"stopped_at_limit", run.stopped_at_max_duration}});
  return {{"key", run.key},
          {"scenario", harness::ScenarioName(s.scenario)},
          {"batch_size", s.batch_size},
          {"threads", run.threads},
          {"device", run.device},
          {"decode",
           {{"requested", harness::DecodeModeName(s.decode)},
            {"used", r.cache ? "cache" : "recompute"},
            {"reason", r.mode_reason}}},
          {"decoding", decoding},
          {"prompt_tokens",
           {{"setting", s.prompt_tokens ? nlohmann::json(*s.prompt_tokens) : "whole document"},
            {"min", shortest},
            {"max", longest}}},
          {"max_new_tokens", s.max_new_tokens},
          {"prompts", r.prompts},
          {"warmup_queries", run.warmup_queries_run},
          {"queries", run.queries},
          {"sequences", run.samples},
          {"output_tokens", r.output_tokens()},
          {"timed_s", static_cast<double>(run.timed_ns) / 1e9},
          {"window_s", static_cast<double>(run.duration_ns) / 1e9},
          {"window_start_unix_ns", run.window_start_system_ns},
          {"window_end_unix_ns", run.window_end_system_ns},
          {"segments", run.segments},
          {"run_length_rules", rules},
          {"run_length_ok", run.valid()}};
}

namespace {

enum class Figure { kTtft, kTpot, kE2e, kTokensPerSecond };

struct SpeedParams : GenerationParams {};

ParamSchema<SpeedParams> SpeedSchema(int64_t min_new_tokens) {
  ParamSchema<SpeedParams> schema;
  AddGenerationFields(schema, min_new_tokens);
  return schema;
}

// The per-query figure of `figure` (ms) for queries [first, first + count).
std::vector<double> QueryValues(const QueryFigures& f, Figure figure, size_t first, size_t count) {
  const std::vector<double>& all = figure == Figure::kTtft   ? f.ttft_ms
                                   : figure == Figure::kTpot ? f.tpot_ms
                                                             : f.e2e_ms;
  return std::vector<double>(all.begin() + static_cast<std::ptrdiff_t>(first),
                             all.begin() + static_cast<std::ptrdiff_t>(first + count));
}

class SpeedMetric final : public TypedMetric<SpeedParams, GenerationStats, GenerationRecord> {
 public:
  SpeedMetric(MetricSpec spec, Figure figure, double p)
      : TypedMetric(std::move(spec), SpeedSchema(figure == Figure::kTpot ? 2 : 1)),
        figure_(figure),
        p_(p) {}

 protected:
  void CheckModel(const SpeedParams& p, const ModelSpec& model) const override {
    CheckGenerationFitsModel(p, model);
  }
  std::shared_ptr<const Work> Needs(const SpeedParams& p) const override {
    return std::make_shared<GenerationWork>(p);
  }
  GenerationStats Accumulate(const SpeedParams&, const GenerationRecord& record,
                             const MetricInput& input) const override {
    const bool holds_run = input.rows.begin <= 0 && (0 < input.rows.end || record.rows() == 0);
    return {holds_run ? GenerationToJson(*record.result) : nlohmann::json()};
  }
  Measurement Finalize(const SpeedParams&, const GenerationStats& stats,
                       const FinalizeContext& ctx) const override;

 private:
  Figure figure_;
  double p_;
};

Measurement SpeedMetric::Finalize(const SpeedParams&, const GenerationStats& stats,
                                  const FinalizeContext& ctx) const {
  if (stats.run.is_null()) throw RuntimeError(spec().name + ": the generation run is missing");
  const harness::GenerationResult r = GenerationFromJson(stats.run);
  const harness::RunResult& run = r.run;
  const QueryFigures f = FiguresOf(r);
  const double level = ctx.confidence;
  Measurement m;
  m.deterministic = false;
  m.unit = figure_ == Figure::kTokensPerSecond ? "tokens/s" : "ms";
  nlohmann::json d;
  d["run"] = GenerationRunDetails(r);
  d["ttft_ms"] = Summary(f.ttft_ms);
  d["tpot_ms"] = Summary(f.tpot_ms);
  d["e2e_ms"] = Summary(f.e2e_ms);
  const std::vector<double> by_position = MeanStepMsByPosition(r);
  if (!by_position.empty()) {
    // TPOT against the output's length: flat with a cache, growing when each token recomputes
    // the prefix. The quarters' means summarise the curve.
    const size_t quarter = std::max<size_t>(by_position.size() / 4, 1);
    const double first = std::accumulate(by_position.begin(), by_position.begin() + quarter, 0.0) /
                         static_cast<double>(quarter);
    const double last = std::accumulate(by_position.end() - quarter, by_position.end(), 0.0) /
                        static_cast<double>(quarter);
    d["step_ms_by_position"] = {
        {"positions", "token k to k + 1, k = 1 .. max_new_tokens - 1"},
        {"mean_ms", by_position},
        {"first_quarter_mean_ms", first},
        {"last_quarter_mean_ms", last},
        {"last_over_first", first > 0.0 ? nlohmann::json(last / first) : nlohmann::json()}};
  }
  d["gbench_context"] = {{"num_cpus", run.context.num_cpus},
                         {"mhz_per_cpu", run.context.mhz_per_cpu},
                         {"cpu_scaling", run.context.cpu_scaling},
                         {"library_build_type", run.context.library_build_type},
                         {"host_name", run.context.host_name}};
  const nlohmann::json noisy = harness::NoisyContextWarnings(run.context);
  if (!noisy.empty()) d["noisy_context"] = noisy;

  const std::string scenario = harness::ScenarioName(r.settings.scenario);
  const std::string mode =
      r.cache ? "decoded with the model's cache (prefill + step)"
              : "decoded by recomputing the whole prefix for every token (" + r.mode_reason + ")";
  const std::string repetitions = std::to_string(run.repetitions.size()) + " repetitions";
  const std::string prefix =
      "measured:" + scenario + " generation, " + mode + ", " +
      std::string(r.settings.decoding.sample ? "seeded sampling" : "greedy") + ", " +
      std::to_string(r.settings.max_new_tokens) + " new tokens per prompt: ";
  m.method = prefix;
  if (run.queries == 0) {
    m.details = d;
    m.undecidable = "the run recorded no query";
    return m;
  }

  std::vector<double> per_repetition;
  std::optional<Interval> within;
  if (figure_ == Figure::kTokensPerSecond) {
    const double timed_s = static_cast<double>(run.timed_ns) / 1e9;
    m.value = timed_s > 0.0 ? static_cast<double>(r.output_tokens()) / timed_s : 0.0;
    m.samples = r.output_tokens();
    for (const harness::Repetition& rep : run.repetitions) {
      if (rep.queries <= 0 || rep.timed_ns <= 0) continue;
      per_repetition.push_back(static_cast<double>(rep.queries * r.output_tokens_per_query()) /
                               (static_cast<double>(rep.timed_ns) / 1e9));
    }
    m.method +=
        "output tokens / timed duration of back-to-back queries; interval from the spread "
        "of the " +
        repetitions + "' rates (sectioning)";
  } else {
    std::vector<double> sorted = QueryValues(f, figure_, 0, static_cast<size_t>(run.queries));
    std::sort(sorted.begin(), sorted.end());
    const efficiency::PercentileEstimate e = efficiency::EstimatePercentile(sorted, p_, level);
    m.value = e.value;
    m.samples = run.queries;
    if (e.low && e.high) within = Interval{*e.low, *e.high, level, "order-statistic"};
    for (const harness::Repetition& rep : run.repetitions) {
      if (rep.queries <= 0) continue;
      std::vector<double> values = QueryValues(f, figure_, static_cast<size_t>(rep.first_query),
                                               static_cast<size_t>(rep.queries));
      std::sort(values.begin(), values.end());
      per_repetition.push_back(stats::QuantileSorted(values, p_));
    }
    const std::string what =
        figure_ == Figure::kTtft
            ? "per-query time to first token (steady_clock, from issuing the query to its first "
              "token)"
        : figure_ == Figure::kTpot
            ? "per-query time per output token, (e2e - TTFT) / (max_new_tokens - 1)"
            : "per-query end-to-end latency (steady_clock, from issuing the query to its last "
              "token)";
    m.method += what +
                " percentile over the run's queries, linear interpolation; interval from "
                "the spread of the " +
                repetitions + "' percentiles (sectioning)";
  }
  m.details = d;
  m.details["repetitions"] = {{"count", per_repetition.size()}, {"values", per_repetition}};
  if (within) {
    m.details["within_run_interval"] = {{"low", within->low},
                                        {"high", within->high},
                                        {"level", within->level},
                                        {"method", within->method}};
  }
  if (auto iv = harness::RepetitionInterval(*m.value, per_repetition, level)) {
    m.interval = *iv;
  } else {
    m.undecidable = "the run holds " + std::to_string(per_repetition.size()) +
                    " repetition(s): an interval needs at least 2 (the run was cut short)";
  }
  if (figure_ != Figure::kTokensPerSecond && !m.undecidable) {
    const int64_t needed = efficiency::MinQueriesPerRepetition(p_);
    int64_t fewest = run.queries;
    for (const auto& rep : run.repetitions) fewest = std::min(fewest, rep.queries);
    if (fewest < needed) {
      m.undecidable = "too few queries per repetition for this percentile: need at least " +
                      std::to_string(needed) + " in each of the " + repetitions +
                      ", the smallest has " + std::to_string(fewest) +
                      " (raise min_queries or min_duration_s)";
    }
  }
  if (!run.valid()) {
    m.undecidable = m.undecidable ? *m.undecidable + "; " + efficiency::RuleFailureMessage(run)
                                  : efficiency::RuleFailureMessage(run);
  }
  return m;
}

struct Percentile {
  double p;
  const char* label;
};
constexpr Percentile kPercentiles[] = {{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}};

const char* LabelOf(double p) {
  for (const auto& x : kPercentiles) {
    if (x.p == p) return x.label;
  }
  throw RuntimeError("no generation percentile metric for p = " + std::to_string(p));
}

}  // namespace

std::unique_ptr<Metric> MakeTtftPercentile(double p) {
  const std::string label = LabelOf(p);
  return std::make_unique<SpeedMetric>(
      DescribeMetric("ttft_ms_" + label, "ms", "efficiency",
                     label + " time to first token of generation queries (causal LM); interval "
                             "from the spread between the run's repetitions",
                     true, false),
      Figure::kTtft, p);
}

std::unique_ptr<Metric> MakeTpotPercentile(double p) {
  const std::string label = LabelOf(p);
  return std::make_unique<SpeedMetric>(
      DescribeMetric("tpot_ms_" + label, "ms", "efficiency",
                     label + " time per output token after the first, (e2e - TTFT) / (n - 1) per "
                             "query (causal LM)",
                     true, false),
      Figure::kTpot, p);
}

std::unique_ptr<Metric> MakeE2eLatencyPercentile(double p) {
  const std::string label = LabelOf(p);
  return std::make_unique<SpeedMetric>(
      DescribeMetric("e2e_latency_ms_" + label, "ms", "efficiency",
                     label + " end-to-end latency of generation queries (causal LM)", true, false),
      Figure::kE2e, p);
}

std::unique_ptr<Metric> MakeOutputTokensPerSecond() {
  return std::make_unique<SpeedMetric>(
      DescribeMetric("output_tokens_per_s", "tokens/s", "efficiency",
                     "output tokens per second over the timed generation run (causal LM)", true,
                     false),
      Figure::kTokensPerSecond, 0.0);
}

}  // namespace greenlight::language
