// The paired-round metrics: both models measured in the same run, interleaved in rounds
// (harness::RunInterleaved: A B, B A, B A, A B, ...) on the same queries, so that machine drift
// falls on both alike. Each round gives one ratio; the value is their geometric mean and the
// interval Student's t on their logs (EstimateRoundRatio), which includes the round-to-round
// variation the interleaving leaves.
//   latency_speedup:   reference latency statistic / model latency statistic, single-sample queries
//   throughput_ratio:  model samples/s / reference samples/s, queries of batch_size samples
//   peak_memory_ratio: the process's peak resident set while the model ran its queries / while the
//                      reference ran its queries
#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/efficiency/timed_run.h"
#include "core/json_limits.h"
#include "core/stats.h"
#include "harness/harness.h"

namespace greenlight {
namespace efficiency {

namespace {

double Statistic(std::vector<double> values, const std::string& statistic) {
  if (values.empty()) throw RuntimeError("latency_speedup: a round without queries");
  if (statistic == "mean") {
    double sum = 0.0;
    for (double v : values) sum += v;
    return sum / static_cast<double>(values.size());
  }
  std::sort(values.begin(), values.end());
  const double p = statistic == "p50" ? 0.5 : statistic == "p90" ? 0.9 : 0.99;
  return stats::QuantileSorted(values, p);
}

std::vector<double> AsDouble(std::span<const int64_t> ns) { return {ns.begin(), ns.end()}; }

}  // namespace

RatioEstimate EstimateRoundRatio(std::span<const double> per_round, double level,
                                 const std::string& what) {
  if (per_round.size() < 2) throw RuntimeError(what + " needs at least 2 rounds");
  double sum_log = 0.0;
  for (double r : per_round) {
    if (!(r > 0.0 && std::isfinite(r))) throw RuntimeError(what + ": a round gave no ratio");
    sum_log += std::log(r);
  }
  // Student's t on the rounds' log ratios: each round compares the models under the same
  // conditions, so its log ratio is one replicate; the estimate is their mean (the geometric mean
  // of the ratios), at the centre of the interval.
  const auto n = static_cast<double>(per_round.size());
  const double mean_log = sum_log / n;
  double ss = 0.0;
  for (double r : per_round) ss += (std::log(r) - mean_log) * (std::log(r) - mean_log);
  const double se = std::sqrt(ss / (n - 1.0) / n);
  const double t = boost::math::quantile(boost::math::students_t(n - 1.0), 0.5 + level / 2.0);
  RatioEstimate out;
  out.value = std::exp(mean_log);
  out.interval.low = std::min(out.value, std::exp(mean_log - t * se));
  out.interval.high = std::max(out.value, std::exp(mean_log + t * se));
  out.interval.level = level;
  out.interval.method = "t on log ratios (" + std::to_string(per_round.size()) + " rounds)";
  return out;
}

SpeedupEstimate EstimateSpeedup(std::span<const SpeedupRound> rounds, const std::string& statistic,
                                double level) {
  if (rounds.size() < 2) throw RuntimeError("latency_speedup needs at least 2 rounds");
  std::vector<double> all_model, all_reference;
  SpeedupEstimate out;
  for (const SpeedupRound& r : rounds) {
    const double m = Statistic(AsDouble(r.model_ns), statistic);
    const double f = Statistic(AsDouble(r.reference_ns), statistic);
    if (!(m > 0.0 && f > 0.0)) throw RuntimeError("latency_speedup: a round took no time");
    out.per_round.push_back(f / m);
    all_model.insert(all_model.end(), r.model_ns.begin(), r.model_ns.end());
    all_reference.insert(all_reference.end(), r.reference_ns.begin(), r.reference_ns.end());
  }
  out.model_ms = Statistic(all_model, statistic) / 1e6;
  out.reference_ms = Statistic(all_reference, statistic) / 1e6;
  const RatioEstimate ratio = EstimateRoundRatio(out.per_round, level, "latency_speedup");
  out.value = ratio.value;
  out.interval = ratio.interval;
  return out;
}

ThroughputRatioEstimate EstimateThroughputRatio(std::span<const SpeedupRound> rounds,
                                                int64_t batch_size, double level) {
  if (rounds.size() < 2) throw RuntimeError("throughput_ratio needs at least 2 rounds");
  if (batch_size < 1) throw RuntimeError("throughput_ratio: a query needs at least 1 sample");
  ThroughputRatioEstimate out;
  double model_samples = 0.0, reference_samples = 0.0, model_s = 0.0, reference_s = 0.0;
  const auto batch = static_cast<double>(batch_size);
  for (const SpeedupRound& r : rounds) {
    double m_ns = 0.0, f_ns = 0.0;
    for (int64_t ns : r.model_ns) m_ns += static_cast<double>(ns);
    for (int64_t ns : r.reference_ns) f_ns += static_cast<double>(ns);
    if (!(m_ns > 0.0 && f_ns > 0.0)) throw RuntimeError("throughput_ratio: a round took no time");
    const double m_samples = batch * static_cast<double>(r.model_ns.size());
    const double f_samples = batch * static_cast<double>(r.reference_ns.size());
    out.model_samples_per_s.push_back(m_samples / (m_ns / 1e9));
    out.reference_samples_per_s.push_back(f_samples / (f_ns / 1e9));
    out.per_round.push_back(out.model_samples_per_s.back() / out.reference_samples_per_s.back());
    model_samples += m_samples;
    reference_samples += f_samples;
    model_s += m_ns / 1e9;
    reference_s += f_ns / 1e9;
  }
  out.model_overall_samples_per_s = model_samples / model_s;
  out.reference_overall_samples_per_s = reference_samples / reference_s;
  const RatioEstimate ratio = EstimateRoundRatio(out.per_round, level, "throughput_ratio");
  out.value = ratio.value;
  out.interval = ratio.interval;
  return out;
}

namespace {

// The settings every paired-round metric declares: the run's shape. `P` has int64_t members
// rounds, queries_per_round, warmup_queries and threads (its defaults are the metric's).
template <typename P>
ParamSchema<P>& RoundFields(ParamSchema<P>& schema, const std::string& query) {
  return schema
      .Field("rounds", &P::rounds, "interleaved rounds (each times both models)",
             Between(harness::kMinRepetitions, 10000))
      .Field("queries_per_round", &P::queries_per_round, query + " per model and round", AtLeast(1))
      .Field("warmup_queries", &P::warmup_queries, "untimed queries on each model first",
             AtLeast(0))
      .Field("threads", &P::threads, "intra-op threads during the run (0: LibTorch default)",
             AtLeast(0));
}

template <typename P>
harness::InterleavedSettings SettingsOf(const P& p, int64_t batch_size, bool peak_rss) {
  harness::InterleavedSettings s;
  s.rounds = p.rounds;
  s.queries_per_round = p.queries_per_round;
  s.warmup_queries = p.warmup_queries;
  s.threads = static_cast<int>(p.threads);
  s.batch_size = batch_size;
  s.peak_rss = peak_rss;
  return s;
}

struct SpeedupParams {
  std::string scenario = "single_stream";
  std::string statistic = "p50";
  int64_t rounds = 20;
  int64_t queries_per_round = 128;
  int64_t warmup_queries = 64;
  // One intra-op thread by default: a single-stream query of a small model gains little from
  // more, and on a loaded machine a pool of threads (qnnpack's as well as OpenMP's) waiting for a
  // descheduled member turns a 0.3 ms query into tens of milliseconds, on one model more than the
  // other.
  int64_t threads = 1;
};

// Offline queries of batch_size samples, back to back; one thread for the same reason as above.
struct ThroughputRatioParams {
  std::string scenario = "offline";
  int64_t batch_size = 32;
  int64_t rounds = 20;
  int64_t queries_per_round = 8;
  int64_t warmup_queries = 4;
  int64_t threads = 1;
};

struct PeakMemoryRatioParams {
  int64_t batch_size = 32;
  int64_t rounds = 6;
  int64_t queries_per_round = 4;
  int64_t warmup_queries = 4;
  int64_t threads = 1;
};

class InterleavedWork final : public Work {
 public:
  explicit InterleavedWork(harness::InterleavedSettings settings) : settings_(settings) {}
  std::string key() const override {
    nlohmann::json k = {{"rounds", settings_.rounds},
                        {"queries_per_round", settings_.queries_per_round},
                        {"warmup_queries", settings_.warmup_queries},
                        {"threads", settings_.threads}};
    // Single-sample runs without memory readings keep the key they always had.
    if (settings_.batch_size != 1) k["batch_size"] = settings_.batch_size;
    if (settings_.peak_rss) k["peak_rss"] = true;
    return "interleaved:" + CanonicalText(k);
  }
  // Timing is a property of the node: measured on the one shard asked to time.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const> instruments) const override {
    if (ctx.model() == nullptr || ctx.reference() == nullptr) {
      throw RuntimeError("an interleaved run needs the model and the reference model");
    }
    auto record = std::make_shared<InterleavedRecord>();
    record->device = ctx.model()->info().device;
    // Instruments (energy meters) read the run's window and each model's window of every round.
    std::vector<std::shared_ptr<harness::WindowObserver>> observers;
    if (!instruments.empty()) {
      observers.push_back(InstrumentObserver(instruments, harness::kInterleavedWindow,
                                             static_cast<int>(2 * settings_.rounds)));
    }
    const Dataset& queries =
        ctx.Rows(harness::QueryRows(ctx.source().sample_size(), settings_.batch_size));
    record->run =
        harness::RunInterleaved(*ctx.model(), *ctx.reference(), queries, settings_, observers);
    return record;
  }

 private:
  harness::InterleavedSettings settings_;
};

// The rounds [first, first + rounds.size()) of the run: exact to merge in order. Peaks (bytes)
// are present only for a run that read them (peak_memory_ratio).
struct RoundsStats {
  int64_t first = 0;
  int threads = 0;
  int64_t batch_size = 1;
  std::vector<SpeedupRound> rounds;
  std::vector<bool> model_first;
  bool has_peaks = false;
  bool peak_reset = false;
  std::vector<int64_t> model_peak_bytes;
  std::vector<int64_t> reference_peak_bytes;

  void Merge(const RoundsStats& other) {
    if (other.first != first + static_cast<int64_t>(rounds.size())) {
      throw RuntimeError("interleaved rounds merged out of order");
    }
    rounds.insert(rounds.end(), other.rounds.begin(), other.rounds.end());
    model_first.insert(model_first.end(), other.model_first.begin(), other.model_first.end());
    model_peak_bytes.insert(model_peak_bytes.end(), other.model_peak_bytes.begin(),
                            other.model_peak_bytes.end());
    reference_peak_bytes.insert(reference_peak_bytes.end(), other.reference_peak_bytes.begin(),
                                other.reference_peak_bytes.end());
    peak_reset = peak_reset && other.peak_reset;
  }
  nlohmann::json ToJson() const {
    nlohmann::json r = nlohmann::json::array();
    for (size_t i = 0; i < rounds.size(); ++i) {
      nlohmann::json round = {{"model_ns", rounds[i].model_ns},
                              {"reference_ns", rounds[i].reference_ns},
                              {"model_first", static_cast<bool>(model_first[i])}};
      if (has_peaks) {
        round["model_peak_bytes"] = model_peak_bytes[i];
        round["reference_peak_bytes"] = reference_peak_bytes[i];
      }
      r.push_back(std::move(round));
    }
    nlohmann::json j = {{"first", first}, {"threads", threads}, {"rounds", r}};
    if (batch_size != 1) j["batch_size"] = batch_size;
    if (has_peaks) j["peak_reset"] = peak_reset;
    return j;
  }
  static RoundsStats FromJson(const nlohmann::json& j) {
    RoundsStats s;
    s.first = JsonInteger<int64_t>(j.at("first"), "first");
    s.threads = JsonInteger<int>(j.at("threads"), "threads");
    s.batch_size =
        j.contains("batch_size") ? JsonInteger<int64_t>(j.at("batch_size"), "batch_size") : 1;
    s.has_peaks = j.contains("peak_reset");
    s.peak_reset = j.value("peak_reset", false);
    for (const auto& r : j.at("rounds")) {
      s.rounds.push_back({JsonIntegers<int64_t>(r.at("model_ns"), "model_ns"),
                          JsonIntegers<int64_t>(r.at("reference_ns"), "reference_ns")});
      s.model_first.push_back(r.at("model_first").get<bool>());
      if (s.has_peaks) {
        s.model_peak_bytes.push_back(
            JsonInteger<int64_t>(r.at("model_peak_bytes"), "model_peak_bytes"));
        s.reference_peak_bytes.push_back(
            JsonInteger<int64_t>(r.at("reference_peak_bytes"), "reference_peak_bytes"));
      }
    }
    return s;
  }
};

// The rounds input.rows of the record (A is the model, B the reference).
RoundsStats RoundsOf(const InterleavedRecord& record, const MetricInput& input) {
  const harness::InterleavedResult& run = record.run;
  RoundsStats s;
  s.first = input.rows.begin;
  s.threads = run.threads;
  s.batch_size = run.settings.batch_size;
  s.has_peaks = run.settings.peak_rss;
  s.peak_reset = run.peak_rss_reset;
  for (int64_t r = input.rows.begin; r < input.rows.end; ++r) {
    const auto i = static_cast<size_t>(r);
    s.rounds.push_back({run.latencies_ns[0][i], run.latencies_ns[1][i]});
    s.model_first.push_back(run.a_first[i]);
    if (s.has_peaks) {
      s.model_peak_bytes.push_back(run.peak_rss_bytes[0][i]);
      s.reference_peak_bytes.push_back(run.peak_rss_bytes[1][i]);
    }
  }
  return s;
}

MetricSpec PairedSpec(std::string name, std::string unit, std::string description) {
  MetricSpec spec = DescribeMetric(std::move(name), std::move(unit), "efficiency",
                                   std::move(description), true, false);
  spec.needs_reference = true;
  return spec;
}

class LatencySpeedupMetric final
    : public TypedMetric<SpeedupParams, RoundsStats, InterleavedRecord> {
 public:
  LatencySpeedupMetric() : TypedMetric(Spec(), Schema()) {}

 protected:
  std::shared_ptr<const Work> Needs(const SpeedupParams& p) const override {
    return MakeInterleavedWork(SettingsOf(p, 1, false));
  }
  RoundsStats Accumulate(const SpeedupParams&, const InterleavedRecord& record,
                         const MetricInput& input) const override {
    return RoundsOf(record, input);
  }
  Measurement Finalize(const SpeedupParams& p, const RoundsStats& s,
                       const FinalizeContext& ctx) const override {
    const SpeedupEstimate e = EstimateSpeedup(s.rounds, p.statistic, ctx.confidence);
    Measurement m;
    m.unit = "ratio";
    m.value = e.value;
    m.interval = e.interval;
    m.samples = static_cast<int64_t>(s.rounds.size());
    m.deterministic = false;
    m.method =
        "interleaved timing (rounds A B, B A, B A, A B, ...; the same queries): geometric "
        "mean over rounds of reference " +
        p.statistic + " latency / model " + p.statistic +
        " latency; Student's t on the rounds' log ratios";
    m.details = {
        {"model_latency_ms", e.model_ms},           {"reference_latency_ms", e.reference_ms},
        {"per_round_speedup", e.per_round},         {"rounds", s.rounds.size()},
        {"queries_per_round", p.queries_per_round}, {"threads", s.threads}};
    return m;
  }

 private:
  static MetricSpec Spec() {
    return PairedSpec(
        "latency_speedup", "ratio",
        "reference model latency / model latency, both timed interleaved in the same run");
  }
  static ParamSchema<SpeedupParams> Schema() {
    ParamSchema<SpeedupParams> schema;
    schema
        .Field("scenario", &SpeedupParams::scenario,
               "MLPerf-style scenario (single-sample queries)", OneOf({"single_stream"}))
        .Field("statistic", &SpeedupParams::statistic,
               "the latency figure compared: mean or a percentile",
               OneOf({"mean", "p50", "p90", "p99"}));
    RoundFields(schema, "single-sample queries").Check([](const SpeedupParams& p) {
      const double q = p.statistic == "p90" ? 0.9 : p.statistic == "p99" ? 0.99 : 0.5;
      const int64_t need = MinQueriesPerRepetition(q);
      if (p.statistic != "mean" && p.queries_per_round < need) {
        throw ParamError("queries_per_round", "a round needs at least " + std::to_string(need) +
                                                  " queries for its " + p.statistic);
      }
    });
    return schema;
  }
};

class ThroughputRatioMetric final
    : public TypedMetric<ThroughputRatioParams, RoundsStats, InterleavedRecord> {
 public:
  ThroughputRatioMetric() : TypedMetric(Spec(), Schema()) {}

 protected:
  std::shared_ptr<const Work> Needs(const ThroughputRatioParams& p) const override {
    return MakeInterleavedWork(SettingsOf(p, p.batch_size, false));
  }
  RoundsStats Accumulate(const ThroughputRatioParams&, const InterleavedRecord& record,
                         const MetricInput& input) const override {
    return RoundsOf(record, input);
  }
  Measurement Finalize(const ThroughputRatioParams& p, const RoundsStats& s,
                       const FinalizeContext& ctx) const override {
    const ThroughputRatioEstimate e =
        EstimateThroughputRatio(s.rounds, s.batch_size, ctx.confidence);
    Measurement m;
    m.unit = "ratio";
    m.value = e.value;
    m.interval = e.interval;
    m.samples = static_cast<int64_t>(s.rounds.size());
    m.deterministic = false;
    m.method =
        "interleaved timing, offline queries of " + std::to_string(s.batch_size) +
        " samples (rounds A B, B A, B A, A B, ...; the same batches): geometric mean over rounds "
        "of model samples/s / reference samples/s; Student's t on the rounds' log ratios";
    m.details = {{"model_samples_per_s", e.model_overall_samples_per_s},
                 {"reference_samples_per_s", e.reference_overall_samples_per_s},
                 {"per_round_model_samples_per_s", e.model_samples_per_s},
                 {"per_round_reference_samples_per_s", e.reference_samples_per_s},
                 {"per_round_ratio", e.per_round},
                 {"rounds", s.rounds.size()},
                 {"queries_per_round", p.queries_per_round},
                 {"batch_size", s.batch_size},
                 {"threads", s.threads}};
    return m;
  }

 private:
  static MetricSpec Spec() {
    return PairedSpec("throughput_ratio", "ratio",
                      "model throughput / reference model throughput (samples/s, offline "
                      "batches), both timed interleaved in the same run");
  }
  static ParamSchema<ThroughputRatioParams> Schema() {
    ParamSchema<ThroughputRatioParams> schema;
    schema
        .Field("scenario", &ThroughputRatioParams::scenario,
               "MLPerf-style scenario (back-to-back batches)", OneOf({"offline"}))
        .Field("batch_size", &ThroughputRatioParams::batch_size, "samples per query",
               Between(1, 65536));
    RoundFields(schema, "queries of batch_size samples");
    return schema;
  }
};

class PeakMemoryRatioMetric final
    : public TypedMetric<PeakMemoryRatioParams, RoundsStats, InterleavedRecord> {
 public:
  PeakMemoryRatioMetric() : TypedMetric(Spec(), Schema()) {}

 protected:
  std::shared_ptr<const Work> Needs(const PeakMemoryRatioParams& p) const override {
    return MakeInterleavedWork(SettingsOf(p, p.batch_size, true));
  }
  RoundsStats Accumulate(const PeakMemoryRatioParams&, const InterleavedRecord& record,
                         const MetricInput& input) const override {
    return RoundsOf(record, input);
  }
  Measurement Finalize(const PeakMemoryRatioParams& p, const RoundsStats& s,
                       const FinalizeContext& ctx) const override {
    if (!s.has_peaks) throw RuntimeError("peak_memory_ratio: the run read no peaks");
    Measurement m;
    m.unit = "ratio";
    m.samples = static_cast<int64_t>(s.rounds.size());
    m.deterministic = false;
    m.method =
        "measured: the process's peak resident set (VmHWM, reset through /proc/self/clear_refs "
        "before each model's queries of a round) while the model ran / while the reference ran, "
        "interleaved rounds; geometric mean over rounds, Student's t on the rounds' log ratios";
    std::vector<double> per_round;
    for (size_t i = 0; i < s.model_peak_bytes.size(); ++i) {
      const int64_t reference = s.reference_peak_bytes[i];
      per_round.push_back(reference > 0 ? static_cast<double>(s.model_peak_bytes[i]) /
                                              static_cast<double>(reference)
                                        : 0.0);
    }
    const auto mb = [](const std::vector<int64_t>& bytes) {
      std::vector<double> out;
      for (int64_t b : bytes) out.push_back(static_cast<double>(b) / 1e6);
      return out;
    };
    m.details = {{"per_round_model_peak_mb", mb(s.model_peak_bytes)},
                 {"per_round_reference_peak_mb", mb(s.reference_peak_bytes)},
                 {"per_round_ratio", per_round},
                 {"peak_reset", s.peak_reset},
                 {"rounds", s.rounds.size()},
                 {"queries_per_round", p.queries_per_round},
                 {"batch_size", s.batch_size},
                 {"threads", s.threads}};
    const bool read = std::all_of(s.model_peak_bytes.begin(), s.model_peak_bytes.end(),
                                  [](int64_t b) { return b > 0; }) &&
                      std::all_of(s.reference_peak_bytes.begin(), s.reference_peak_bytes.end(),
                                  [](int64_t b) { return b > 0; });
    if (!read) {
      m.undecidable = "the resident set could not be read (/proc/self/status)";
      return m;
    }
    if (!s.peak_reset) {
      m.undecidable =
          "cannot reset the peak resident set (/proc/self/clear_refs): a round's peak may "
          "predate the model's queries";
      return m;
    }
    const RatioEstimate e = EstimateRoundRatio(per_round, ctx.confidence, "peak_memory_ratio");
    m.value = e.value;
    m.interval = e.interval;
    return m;
  }

 private:
  static MetricSpec Spec() {
    return PairedSpec("peak_memory_ratio", "ratio",
                      "the process's peak resident memory while the model runs / while the "
                      "reference model runs, both loaded in the same process");
  }
  static ParamSchema<PeakMemoryRatioParams> Schema() {
    ParamSchema<PeakMemoryRatioParams> schema;
    schema.Field("batch_size", &PeakMemoryRatioParams::batch_size, "samples per query",
                 Between(1, 65536));
    RoundFields(schema, "queries of batch_size samples");
    return schema;
  }
};

}  // namespace

std::shared_ptr<const Work> MakeInterleavedWork(const harness::InterleavedSettings& settings) {
  return std::make_shared<InterleavedWork>(settings);
}

std::unique_ptr<Metric> MakeLatencySpeedup() { return std::make_unique<LatencySpeedupMetric>(); }
std::unique_ptr<Metric> MakeThroughputRatio() { return std::make_unique<ThroughputRatioMetric>(); }
std::unique_ptr<Metric> MakePeakMemoryRatio() { return std::make_unique<PeakMemoryRatioMetric>(); }

}  // namespace efficiency
}  // namespace greenlight
