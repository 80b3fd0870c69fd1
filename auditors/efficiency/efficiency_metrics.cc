#include "auditors/efficiency/efficiency_metrics.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>

#include "auditors/efficiency/timed_run.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"
#include "models/capabilities.h"

namespace greenlight {
namespace efficiency {

PercentileEstimate EstimatePercentile(std::span<const double> sorted_ms, double p, double level) {
  PercentileEstimate e;
  if (sorted_ms.empty()) return e;
  e.value = stats::QuantileSorted(sorted_ms, p);
  const auto bounds =
      stats::PercentileOrderBounds(static_cast<int64_t>(sorted_ms.size()), p, level);
  if (bounds.lo) {
    e.low_index = bounds.lo;
    e.low = sorted_ms[static_cast<size_t>(*bounds.lo)];
  }
  if (bounds.hi) {
    e.high_index = bounds.hi;
    e.high = sorted_ms[static_cast<size_t>(*bounds.hi)];
  }
  return e;
}

int64_t MinSamplesForBounds(double p, double level) {
  // The lowest order statistic bounds q_p from below with P = 1 - (1-p)^n, the highest from above
  // with P = 1 - p^n; each side needs its miss probability <= (1 - level) / 2.
  const double tail = (1.0 - level) / 2.0;
  const double n_low = std::log(tail) / std::log(1.0 - p);
  const double n_high = std::log(tail) / std::log(p);
  return static_cast<int64_t>(std::ceil(std::max(n_low, n_high) - 1e-9));
}

Interval MeanInterval(std::span<const double> values, double level, double* mean) {
  Interval out;
  out.level = level;
  out.method = "student-t";
  const double n = static_cast<double>(values.size());
  const double m = values.empty() ? 0.0 : std::accumulate(values.begin(), values.end(), 0.0) / n;
  if (mean != nullptr) *mean = m;
  out.low = out.high = m;
  if (values.size() < 2) return out;
  double ss = 0.0;
  for (double v : values) ss += (v - m) * (v - m);
  const double se = std::sqrt(ss / (n - 1.0)) / std::sqrt(n);
  boost::math::students_t dist(n - 1.0);
  const double t = boost::math::quantile(boost::math::complement(dist, (1.0 - level) / 2.0));
  out.low = m - t * se;
  out.high = m + t * se;
  return out;
}

int64_t MinQueriesPerRepetition(double p) {
  return static_cast<int64_t>(std::ceil(1.0 / std::min(p, 1.0 - p) - 1e-9));
}

nlohmann::json LatencyHistogram(std::span<const double> latencies_ms, int per_decade) {
  nlohmann::json out = {{"unit", "ms"}, {"scale", "log10"}, {"buckets_per_decade", per_decade}};
  if (latencies_ms.empty() || per_decade < 1) {
    out["edges"] = nlohmann::json::array();
    out["counts"] = nlohmann::json::array();
    return out;
  }
  const auto [min_it, max_it] = std::minmax_element(latencies_ms.begin(), latencies_ms.end());
  const double lo = std::max(*min_it, 1e-9);
  const double hi = std::max(*max_it, lo);
  const int k_lo = static_cast<int>(std::floor(std::log10(lo) * per_decade));
  int k_hi = static_cast<int>(std::floor(std::log10(hi) * per_decade)) + 1;
  std::vector<double> edges;
  for (int k = k_lo; k <= k_hi; ++k)
    edges.push_back(std::pow(10.0, static_cast<double>(k) / per_decade));
  std::vector<int64_t> counts(edges.size() - 1, 0);
  for (double v : latencies_ms) {
    // Bucket by the edges themselves (not by log10) so rounding cannot misplace a boundary value.
    auto it = std::upper_bound(edges.begin(), edges.end(), std::max(v, 1e-9));
    size_t i = it == edges.begin() ? 0 : static_cast<size_t>(it - edges.begin() - 1);
    i = std::min(i, counts.size() - 1);
    ++counts[i];
  }
  out["edges"] = edges;
  out["counts"] = counts;
  return out;
}

std::string RuleFailureMessage(const harness::RunResult& run) {
  std::string msg = "run-length rules not met:";
  if (!run.min_queries_met) {
    msg += " " + std::to_string(run.queries) + " of " + std::to_string(run.settings.min_queries) +
           " queries;";
  }
  if (!run.min_duration_met) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), " %.3g s of %.3g s;", static_cast<double>(run.timed_ns) / 1e9,
                  run.settings.min_duration_s);
    msg += buf;
  }
  if (run.stopped_at_max_duration) msg += " stopped at max_duration_s;";
  msg.pop_back();
  return msg;
}

}  // namespace efficiency

namespace {

using efficiency::AddRunFields;
using efficiency::RuleFailureMessage;
using efficiency::RunParams;
using efficiency::TimedRunRecord;
using efficiency::TimedRunStats;
using efficiency::TimedRunWork;
using efficiency::ToSettings;
using harness::RunResult;
using harness::RunSettings;

struct LatencyMetric {
  const char* name;
  double p;
  const char* label;
};
constexpr LatencyMetric kPercentileMetrics[] = {
    {"latency_p50_ms", 0.50, "p50"},     {"latency_p90_ms", 0.90, "p90"},
    {"latency_p95_ms", 0.95, "p95"},     {"latency_p99_ms", 0.99, "p99"},
    {"latency_p999_ms", 0.999, "p99.9"},
};

std::optional<double> PercentileOf(const std::string& metric) {
  for (const auto& m : kPercentileMetrics) {
    if (metric == m.name) return m.p;
  }
  return std::nullopt;
}

std::vector<double> SortedLatenciesMs(const RunResult& run) {
  std::vector<double> ms(run.latencies_ns.size());
  for (size_t i = 0; i < ms.size(); ++i) ms[i] = static_cast<double>(run.latencies_ns[i]) / 1e6;
  std::sort(ms.begin(), ms.end());
  return ms;
}

nlohmann::json RunLengthRules(const RunResult& run) {
  const RunSettings& s = run.settings;
  nlohmann::json rules = nlohmann::json::array();
  rules.push_back({{"rule", "min_queries"},
                   {"required", s.min_queries},
                   {"actual", run.queries},
                   {"met", run.min_queries_met}});
  rules.push_back({{"rule", "min_duration_s"},
                   {"required", s.min_duration_s},
                   {"actual", static_cast<double>(run.timed_ns) / 1e9},
                   {"met", run.min_duration_met}});
  rules.push_back({{"rule", "max_duration_s"},
                   {"limit", s.max_duration_s},
                   {"stopped_at_limit", run.stopped_at_max_duration}});
  return rules;
}

nlohmann::json GbenchContext(const RunResult& run) {
  const nlohmann::json warnings = harness::NoisyContextWarnings(run.context);
  return {{"num_cpus", run.context.num_cpus},
          {"mhz_per_cpu", run.context.mhz_per_cpu},
          {"cpu_scaling", run.context.cpu_scaling},
          {"library_build_type", run.context.library_build_type},
          {"host_name", run.context.host_name},
          {"warnings", warnings},
          {"context", run.context.raw}};
}

nlohmann::json RunDetails(const RunResult& run, const std::vector<double>& sorted_ms) {
  const RunSettings& s = run.settings;
  double sum_ms = std::accumulate(sorted_ms.begin(), sorted_ms.end(), 0.0);
  nlohmann::json percentiles = nlohmann::json::object();
  if (!sorted_ms.empty()) {
    for (const auto& m : kPercentileMetrics) {
      percentiles[m.label] = stats::QuantileSorted(sorted_ms, m.p);
    }
    percentiles["min"] = sorted_ms.front();
    percentiles["max"] = sorted_ms.back();
    percentiles["mean"] = sum_ms / static_cast<double>(sorted_ms.size());
  }
  const double gbench_ns_per_query =
      run.gbench_iterations > 0 ? run.gbench_real_time_s * 1e9 / run.gbench_iterations : 0.0;
  const double ours_ns_per_query =
      sorted_ms.empty() ? 0.0 : sum_ms * 1e6 / static_cast<double>(sorted_ms.size());
  return {
      {"key", run.key},
      {"scenario", harness::ScenarioName(s.scenario)},
      {"batch_size", s.batch_size},
      {"threads", run.threads},
      {"device", run.device},
      {"warmup_queries", run.warmup_queries_run},
      {"queries", run.queries},
      {"samples", run.samples},
      {"timed_s", static_cast<double>(run.timed_ns) / 1e9},
      {"window_s", static_cast<double>(run.duration_ns) / 1e9},
      {"window_start_unix_ns", run.window_start_system_ns},
      {"window_end_unix_ns", run.window_end_system_ns},
      {"segments", run.segments},
      {"run_length_rules", RunLengthRules(run)},
      {"run_length_ok", run.valid()},
      {"latency_ms", percentiles},
      {"histogram", efficiency::LatencyHistogram(sorted_ms)},
      {"google_benchmark",
       {{"iterations", run.gbench_iterations},
        {"real_time_s", run.gbench_real_time_s},
        {"cpu_time_s", run.gbench_cpu_time_s},
        // Loop time per query not inside our per-query timer (harness bookkeeping).
        {"untimed_ns_per_query", gbench_ns_per_query - ours_ns_per_query}}},
      {"gbench_context", GbenchContext(run)},
  };
}

// `figure` computed on each repetition's latencies (ms, in issue order) and timed seconds.
std::vector<double> PerRepetition(
    const RunResult& run,
    const std::function<double(std::vector<double>& latencies_ms, double timed_s, int64_t samples)>&
        figure) {
  std::vector<double> out;
  for (const harness::Repetition& r : run.repetitions) {
    if (r.queries <= 0) continue;
    std::vector<double> ms(static_cast<size_t>(r.queries));
    for (int64_t i = 0; i < r.queries; ++i) {
      ms[static_cast<size_t>(i)] =
          static_cast<double>(run.latencies_ns[static_cast<size_t>(r.first_query + i)]) / 1e6;
    }
    out.push_back(
        figure(ms, static_cast<double>(r.timed_ns) / 1e9, r.queries * run.settings.batch_size));
  }
  return out;
}

// Sets m.interval from the repetitions (sectioning) and keeps `within_run` (the single-run bound,
// blind to run-to-run variation) as a detail next to the per-repetition figures.
void SetRepetitionInterval(Measurement& m, const std::vector<double>& per_repetition, double level,
                           const std::optional<Interval>& within_run) {
  m.details["repetitions"] = {{"count", per_repetition.size()}, {"values", per_repetition}};
  if (within_run) {
    m.details["within_run_interval"] = {{"low", within_run->low},
                                        {"high", within_run->high},
                                        {"level", within_run->level},
                                        {"method", within_run->method}};
  }
  if (auto iv = harness::RepetitionInterval(*m.value, per_repetition, level)) {
    m.interval = *iv;
  } else {
    m.undecidable = "the run holds " + std::to_string(per_repetition.size()) +
                    " repetition(s): an interval needs at least 2 (the run was cut short)";
  }
}

// The metric `metric` from one run, with interval, run-length verdict and details.
Measurement FromRun(const std::string& metric, const RunResult& run, double level) {
  const std::vector<double> sorted_ms = SortedLatenciesMs(run);
  Measurement m;
  m.deterministic = false;
  m.details["run"] = RunDetails(run, sorted_ms);
  const nlohmann::json noisy = harness::NoisyContextWarnings(run.context);
  if (!noisy.empty()) m.details["noisy_context"] = noisy;
  const std::string scenario = harness::ScenarioName(run.settings.scenario);
  if (sorted_ms.empty()) {
    m.undecidable = "the run recorded no query";
    m.unit = "ms";
    m.method = "measured:" + scenario;
    return m;
  }
  const std::string repetitions = std::to_string(run.repetitions.size()) + " repetitions";
  if (auto p = PercentileOf(metric)) {
    const auto e = efficiency::EstimatePercentile(sorted_ms, *p, level);
    m.value = e.value;
    m.unit = "ms";
    m.samples = run.queries;
    m.method = "measured:" + scenario +
               ": per-query latency (steady_clock) percentile of the whole run, linear "
               "interpolation; interval from the spread of the " +
               repetitions + "' percentiles (sectioning)";
    std::optional<Interval> within;
    if (e.low && e.high) {
      within = Interval{*e.low, *e.high, level, "order-statistic"};
      m.details["order_statistics"] = {{"low_index", *e.low_index}, {"high_index", *e.high_index}};
    }
    SetRepetitionInterval(m,
                          PerRepetition(run,
                                        [&](std::vector<double>& ms, double, int64_t) {
                                          std::sort(ms.begin(), ms.end());
                                          return stats::QuantileSorted(ms, *p);
                                        }),
                          level, within);
    // A repetition's percentile needs queries beyond it, or it is only that repetition's maximum.
    const int64_t needed = efficiency::MinQueriesPerRepetition(*p);
    int64_t fewest = run.queries;
    for (const auto& r : run.repetitions) fewest = std::min(fewest, r.queries);
    if (!m.undecidable && fewest < needed) {
      m.undecidable = "too few queries per repetition for this percentile: need at least " +
                      std::to_string(needed) + " in each of the " + repetitions +
                      ", the smallest has " + std::to_string(fewest) +
                      " (raise min_queries or min_duration_s)";
    }
  } else if (metric == "latency_mean_ms") {
    double mean = 0.0;
    const Interval within = efficiency::MeanInterval(sorted_ms, level, &mean);
    m.value = mean;
    m.unit = "ms";
    m.samples = run.queries;
    m.method = "measured:" + scenario +
               ": mean per-query latency; interval from the spread of the " + repetitions +
               "' means (sectioning)";
    SetRepetitionInterval(m,
                          PerRepetition(run,
                                        [](std::vector<double>& ms, double, int64_t) {
                                          return std::accumulate(ms.begin(), ms.end(), 0.0) /
                                                 static_cast<double>(ms.size());
                                        }),
                          level, within);
  } else if (metric == "throughput_samples_per_s") {
    double mean = 0.0;
    const Interval iv = efficiency::MeanInterval(sorted_ms, level, &mean);
    const double timed_s = static_cast<double>(run.timed_ns) / 1e9;
    const double throughput = timed_s > 0 ? static_cast<double>(run.samples) / timed_s : 0.0;
    m.value = throughput;
    m.unit = "samples/s";
    m.samples = run.samples;
    std::optional<Interval> within;
    if (iv.low > 0 && iv.high > 0 && mean > 0) {
      // Throughput is samples over back-to-back query times: scale by the mean's interval.
      within = Interval{throughput * mean / iv.high, throughput * mean / iv.low, level,
                        "student-t (mean query time, delta method)"};
    }
    m.method = "measured:" + scenario +
               ": samples / timed duration of back-to-back queries; interval from the spread of "
               "the " +
               repetitions + "' throughputs (sectioning)";
    SetRepetitionInterval(m,
                          PerRepetition(run,
                                        [](std::vector<double>&, double t, int64_t samples) {
                                          return t > 0.0 ? static_cast<double>(samples) / t : 0.0;
                                        }),
                          level, within);
  } else if (metric == "peak_memory_mb") {
    const int64_t delta = std::max<int64_t>(run.peak_rss_bytes - run.rss_before_bytes, 0);
    m.value = static_cast<double>(delta) / 1e6;
    m.unit = "MB";
    m.samples = run.queries;
    m.method =
        "measured: peak resident set (VmHWM, reset through /proc/self/clear_refs before the "
        "warm-up) minus resident set before the warm-up, over warm-up and timed run";
    m.details["memory"] = {{"rss_before_mb", static_cast<double>(run.rss_before_bytes) / 1e6},
                           {"peak_rss_mb", static_cast<double>(run.peak_rss_bytes) / 1e6},
                           {"peak_reset", run.peak_rss_reset}};
    if (!run.peak_rss_reset) {
      m.undecidable =
          "cannot reset the peak resident set (/proc/self/clear_refs): the peak may "
          "predate the run";
    }
    return m;  // Memory does not depend on the run-length rules.
  } else {
    throw RuntimeError("efficiency: unknown run metric " + metric);
  }
  if (!run.valid()) {
    m.undecidable =
        m.undecidable ? *m.undecidable + "; " + RuleFailureMessage(run) : RuleFailureMessage(run);
  }
  return m;
}

// A sweep: {batch_sizes: [...], threads: [...]}; each absent list is the criterion's setting.
struct Sweep {
  std::vector<int64_t> batch_sizes;
  std::vector<int> threads;
};

// Throws ParamError("sweep", ...) on a malformed sweep.
std::optional<Sweep> ParseSweep(const nlohmann::json& sweep_param, const RunSettings& base) {
  if (sweep_param.is_null()) return std::nullopt;
  Sweep sweep;
  for (const auto& [key, value] : sweep_param.items()) {
    if (key != "batch_sizes" && key != "threads") {
      throw ParamError("sweep", "unknown key '" + key + "' (expected batch_sizes, threads)");
    }
    if (!value.is_array() || value.empty()) {
      throw ParamError("sweep", key + " must be a non-empty list of integers");
    }
    for (const auto& v : value) {
      if (!v.is_number_integer() || v.get<int64_t>() < (key == "threads" ? 0 : 1)) {
        throw ParamError("sweep", key + ": " + v.dump() + " is not a valid count");
      }
      if (key == "batch_sizes") {
        sweep.batch_sizes.push_back(v.get<int64_t>());
      } else {
        sweep.threads.push_back(v.get<int>());
      }
    }
  }
  if (sweep.batch_sizes.empty()) sweep.batch_sizes = {base.batch_size};
  if (sweep.threads.empty()) sweep.threads = {base.threads};
  if (base.scenario == harness::Scenario::kSingleStream) {
    for (int64_t b : sweep.batch_sizes) {
      if (b != 1) {
        throw ParamError("sweep",
                         "batch_sizes: single_stream queries have batch 1 (use scenario: offline)");
      }
    }
  }
  return sweep;
}

// Run settings plus the sweep (latency and throughput metrics).
struct SweptParams : RunParams {
  nlohmann::json sweep;  // null: no sweep.
};
// Run settings only (peak memory).
struct MemoryParams : RunParams {};

ParamSchema<SweptParams> SweptSchema() {
  ParamSchema<SweptParams> schema;
  AddRunFields(schema)
      .Field("sweep", &SweptParams::sweep,
             "configurations to try: {batch_sizes: [..], threads: [..]}; the value is the best "
             "configuration's, the table goes in the details")
      .Check([](const SweptParams& p) { ParseSweep(p.sweep, ToSettings(p)); });
  return schema;
}

ParamSchema<MemoryParams> MemorySchema() {
  ParamSchema<MemoryParams> schema;
  AddRunFields(schema);
  return schema;
}

std::vector<RunSettings> Configurations(const RunParams& p, const nlohmann::json& sweep_param) {
  const RunSettings base = ToSettings(p);
  const auto sweep = ParseSweep(sweep_param, base);
  if (!sweep) return {base};
  std::vector<RunSettings> out;
  for (int64_t batch : sweep->batch_sizes) {
    for (int threads : sweep->threads) {
      RunSettings s = base;
      s.batch_size = batch;
      s.threads = threads;
      out.push_back(s);
    }
  }
  return out;
}

// The best valid configuration of a sweep gives the value; every configuration is a table row.
Measurement FromSweep(const std::string& metric, const std::vector<RunResult>& runs, double level) {
  nlohmann::json table = nlohmann::json::array();
  std::optional<Measurement> best;
  nlohmann::json best_config;
  const bool lower_better = metric != "throughput_samples_per_s";
  for (const RunResult& run : runs) {
    Measurement m = FromRun(metric, run, level);
    const auto& d = m.details["run"];
    table.push_back(
        {{"batch_size", run.settings.batch_size},
         {"threads", run.threads},
         {"value", m.value ? nlohmann::json(*m.value) : nlohmann::json()},
         {"p50_ms", d["latency_ms"].value("p50", 0.0)},
         {"mean_ms", d["latency_ms"].value("mean", 0.0)},
         {"throughput_samples_per_s", run.timed_ns > 0 ? static_cast<double>(run.samples) * 1e9 /
                                                             static_cast<double>(run.timed_ns)
                                                       : 0.0},
         {"queries", run.queries},
         {"valid", run.valid() && !m.undecidable}});
    const bool usable = m.value.has_value() && !m.undecidable;
    const bool better =
        !best || (best->undecidable && usable) ||
        (usable && (lower_better ? *m.value < *best->value : *m.value > *best->value));
    if (better) {
      best = std::move(m);
      best_config = {{"batch_size", run.settings.batch_size}, {"threads", run.threads}};
    }
  }
  Measurement out = std::move(*best);
  out.details["sweep"] = {{"table", table},
                          {"best", best_config},
                          {"criterion", lower_better ? "lowest value" : "highest value"}};
  out.method += "; best of a sweep over batch sizes x threads";
  return out;
}

// One figure of a timed run: a latency percentile, the mean latency, throughput or peak memory
// (FromRun computes it by the metric's name). P is SweptParams or MemoryParams.
template <typename P>
class RunFigureMetric final : public TypedMetric<P, TimedRunStats, TimedRunRecord> {
  using Base = TypedMetric<P, TimedRunStats, TimedRunRecord>;

 public:
  RunFigureMetric(MetricSpec spec, ParamSchema<P> schema)
      : Base(std::move(spec), std::move(schema)) {}

 protected:
  std::shared_ptr<const Work> Needs(const P& p) const override {
    return std::make_shared<TimedRunWork>(Configurations(p, SweepOf(p)));
  }
  TimedRunStats Accumulate(const P&, const TimedRunRecord& record,
                           const MetricInput& input) const override {
    // Every figure's details show the run's latency summary (peak memory's too), so the
    // latencies are kept for all of them.
    return TimedRunStats::Of(record, input.rows, /*latencies=*/true);
  }
  Measurement Finalize(const P& p, const TimedRunStats& stats,
                       const FinalizeContext& ctx) const override {
    const std::vector<RunResult> runs = stats.Runs();
    if (runs.empty()) throw RuntimeError(this->spec().name + ": the timed run recorded nothing");
    if (SweepOf(p).is_null()) return FromRun(this->spec().name, runs.front(), ctx.confidence);
    return FromSweep(this->spec().name, runs, ctx.confidence);
  }

 private:
  static nlohmann::json SweepOf(const P& p) {
    if constexpr (std::is_same_v<P, SweptParams>) {
      return p.sweep;
    } else {
      return nullptr;
    }
  }
};

std::unique_ptr<Metric> MakeSwept(MetricSpec spec) {
  return std::make_unique<RunFigureMetric<SweptParams>>(std::move(spec), SweptSchema());
}

using efficiency::FactStats;
using efficiency::ModelFactsRecord;

// The model file's digest, size and parameter count (from the runtime's ModelInfo).
class ModelInfoWork final : public Work {
 public:
  std::string key() const override { return "model-info"; }
  // The model file's facts do not depend on the rows.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    const Model& model = RequireModel(ctx);
    auto record = std::make_shared<ModelFactsRecord>();
    record->facts = {{"parameters", model.info().parameters},
                     {"size_bytes", model.info().size_bytes},
                     {"sha256", model.info().sha256}};
    return record;
  }
  static Model& RequireModel(AuditContext& ctx) {
    if (ctx.model() == nullptr) {
      throw InputError("this metric needs a model (this audit has recorded predictions only)");
    }
    return *ctx.model();
  }
};

// One forward pass of batch 1 with the graph's operators counted (GraphIntrospection); with
// `with_reference`, of the model and of the reference model, each on the dataset's first row.
class FlopsWork final : public Work {
 public:
  explicit FlopsWork(bool with_reference = false) : with_reference_(with_reference) {}
  std::string key() const override {
    return with_reference_ ? "flops+reference:batch=1" : "flops:batch=1";
  }
  // The FLOPs of both models are a property of the models, not of the rows (the model's own
  // count keeps its unsplittable default, as it always had).
  Sharding sharding() const override {
    return with_reference_ ? Sharding::kOnce : Sharding::kUnsplittable;
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    Model& model = ModelInfoWork::RequireModel(ctx);
    auto record = std::make_shared<ModelFactsRecord>();
    if (!with_reference_) {
      record->facts = Count(model, ctx.Rows(1), "flops_per_sample");
      return record;
    }
    if (ctx.reference() == nullptr) throw RuntimeError("the audit has no reference model");
    record->facts = {{"model", Count(model, ctx.Rows(1), "flops_reduction")},
                     {"reference", Count(*ctx.reference(), ctx.Rows(1), "flops_reduction")}};
    record->facts["model"]["sha256"] = model.info().sha256;
    record->facts["reference"]["sha256"] = ctx.reference()->info().sha256;
    return record;
  }

 private:
  static nlohmann::json Count(Model& model, const Dataset& data, const std::string& metric) {
    GraphIntrospection& graph = RequireCapability<GraphIntrospection>(model);
    if (data.rows() == 0 || data.sample_size() != model.input_size()) {
      throw InputError(metric + " needs a dataset row shaped like the model input");
    }
    // Shapes come from one real forward pass of batch 1 (the dataset's first row).
    return graph.CountFlops(data.row(0), 1).ToJson();
  }
  bool with_reference_;
};

struct NoParams {};

enum class Fact { kParameters, kSizeMb, kFlops, kFlopsReduction };

class ModelFactMetric final : public TypedMetric<NoParams, FactStats, ModelFactsRecord> {
 public:
  ModelFactMetric(MetricSpec spec, Fact fact)
      : TypedMetric(std::move(spec), ParamSchema<NoParams>()), fact_(fact) {}

 protected:
  std::shared_ptr<const Work> Needs(const NoParams&) const override {
    if (fact_ == Fact::kFlops) return std::make_shared<FlopsWork>();
    if (fact_ == Fact::kFlopsReduction) return std::make_shared<FlopsWork>(true);
    return std::make_shared<ModelInfoWork>();
  }
  FactStats Accumulate(const NoParams&, const ModelFactsRecord& record,
                       const MetricInput& input) const override {
    const bool holds_row = input.rows.begin <= 0 && input.rows.end >= 1;
    return {holds_row ? record.facts : nlohmann::json()};
  }
  Measurement Finalize(const NoParams&, const FactStats& stats,
                       const FinalizeContext&) const override {
    if (stats.facts.is_null()) throw RuntimeError(spec().name + ": the model's facts are missing");
    const nlohmann::json& f = stats.facts;
    Measurement m;
    switch (fact_) {
      case Fact::kParameters:
        m.value = static_cast<double>(JsonInteger<int64_t>(f.at("parameters"), "parameters"));
        m.unit = "count";
        m.method = "count: elements of every parameter tensor (and packed quantized weights)";
        m.details = {{"sha256", f.at("sha256")}};
        break;
      case Fact::kSizeMb:
        m.value = static_cast<double>(JsonInteger<int64_t>(f.at("size_bytes"), "size_bytes")) / 1e6;
        m.unit = "MB";
        m.method = "count: model file size in bytes / 10^6";
        m.details = {{"size_bytes", f.at("size_bytes")}, {"sha256", f.at("sha256")}};
        break;
      case Fact::kFlops:
        m.value =
            static_cast<double>(JsonInteger<int64_t>(f.at("flops"), "flops")) /
            static_cast<double>(std::max<int64_t>(JsonInteger<int64_t>(f.at("batch"), "batch"), 1));
        m.unit = "FLOP";
        m.samples = 1;
        m.method =
            "count: 2 x multiply-accumulates of conv/linear/matmul operators (quantized linear "
            "included) recorded in one forward pass of batch 1; bias and activations not counted";
        m.details = f;
        break;
      case Fact::kFlopsReduction: {
        const auto per_sample = [](const nlohmann::json& c) {
          return static_cast<double>(JsonInteger<int64_t>(c.at("flops"), "flops")) /
                 static_cast<double>(
                     std::max<int64_t>(JsonInteger<int64_t>(c.at("batch"), "batch"), 1));
        };
        const double reference = per_sample(f.at("reference"));
        if (reference == 0.0) {
          throw InputError("the reference model executes no counted operator (0 FLOPs)");
        }
        m.value = 1.0 - per_sample(f.at("model")) / reference;
        m.unit = "ratio";
        m.samples = 1;
        m.method =
            "count: 1 - model FLOPs / reference FLOPs per sample, each 2 x multiply-accumulates "
            "of the conv/linear/matmul operators its runtime executes in one forward pass of "
            "batch 1 (dense kernels multiply zero weights too)";
        m.details = f;
        m.details["counts"] =
            "executed operations: a pruned model whose zeros are stored densely executes them, "
            "so its FLOPs do not fall with its sparsity";
        break;
      }
    }
    return m;
  }

 private:
  Fact fact_;
};

}  // namespace

namespace efficiency {

std::unique_ptr<Metric> MakeLatencyPercentile(double p) {
  for (const auto& m : kPercentileMetrics) {
    if (m.p == p) {
      return MakeSwept(DescribeMetric(m.name, "ms", "efficiency",
                                      std::string(m.label) +
                                          " per-query latency; interval from the spread between "
                                          "the run's repetitions",
                                      true, false));
    }
  }
  throw RuntimeError("no latency percentile metric for p = " + std::to_string(p));
}

std::unique_ptr<Metric> MakeLatencyMean() {
  return MakeSwept(DescribeMetric(
      "latency_mean_ms", "ms", "efficiency",
      "mean per-query latency; interval from the spread between repetitions", true, false));
}

std::unique_ptr<Metric> MakeThroughput() {
  return MakeSwept(DescribeMetric(
      "throughput_samples_per_s", "samples/s", "efficiency",
      "samples per second over the timed run (scenario offline for batches)", true, false));
}

std::unique_ptr<Metric> MakePeakMemory() {
  return std::make_unique<RunFigureMetric<MemoryParams>>(
      DescribeMetric("peak_memory_mb", "MB", "efficiency",
                     "growth of the process's peak resident memory during warm-up and run", true,
                     false),
      MemorySchema());
}

std::unique_ptr<Metric> MakeModelParameters() {
  return std::make_unique<ModelFactMetric>(
      DescribeMetric("model_parameters", "count", "efficiency",
                     "parameter elements (quantized packed weights included)", true, false),
      Fact::kParameters);
}

std::unique_ptr<Metric> MakeModelSize() {
  return std::make_unique<ModelFactMetric>(
      DescribeMetric("model_size_mb", "MB", "efficiency", "model file size (1 MB = 10^6 bytes)",
                     true, false),
      Fact::kSizeMb);
}

std::unique_ptr<Metric> MakeFlopsPerSample() {
  return std::make_unique<ModelFactMetric>(
      DescribeMetric("flops_per_sample", "FLOP", "efficiency",
                     "2 x multiply-accumulates of conv, linear and matmul ops in one forward pass "
                     "of batch 1",
                     true, false),
      Fact::kFlops);
}

std::unique_ptr<Metric> MakeFlopsReduction() {
  MetricSpec spec = DescribeMetric(
      "flops_reduction", "ratio", "efficiency",
      "1 - the model's FLOPs per sample / the reference model's (operations the runtime executes)",
      true, false);
  spec.needs_reference = true;
  return std::make_unique<ModelFactMetric>(std::move(spec), Fact::kFlopsReduction);
}

}  // namespace efficiency
}  // namespace greenlight
