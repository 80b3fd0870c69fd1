// latency_speedup: the reference model's latency / the model's, both timed in the same run,
// interleaved in rounds (harness::RunInterleaved: A B, B A, B A, A B, ...) on the same queries, so
// that machine drift falls on both alike. Each round gives one ratio of the statistic (mean or a
// percentile) of its queries; the value is their geometric mean and the interval Student's t on
// their logs, which includes the round-to-round variation the interleaving leaves.
#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "auditors/efficiency/efficiency_metrics.h"
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

SpeedupEstimate EstimateSpeedup(std::span<const SpeedupRound> rounds, const std::string& statistic,
                                double level) {
  if (rounds.size() < 2) throw RuntimeError("latency_speedup needs at least 2 rounds");
  std::vector<double> all_model, all_reference;
  SpeedupEstimate out;
  double sum_log = 0.0;
  for (const SpeedupRound& r : rounds) {
    const double m = Statistic(AsDouble(r.model_ns), statistic);
    const double f = Statistic(AsDouble(r.reference_ns), statistic);
    if (!(m > 0.0 && f > 0.0)) throw RuntimeError("latency_speedup: a round took no time");
    out.per_round.push_back(f / m);
    sum_log += std::log(f / m);
    all_model.insert(all_model.end(), r.model_ns.begin(), r.model_ns.end());
    all_reference.insert(all_reference.end(), r.reference_ns.begin(), r.reference_ns.end());
  }
  out.model_ms = Statistic(all_model, statistic) / 1e6;
  out.reference_ms = Statistic(all_reference, statistic) / 1e6;
  // Student's t on the rounds' log ratios: each round compares the models under the same
  // conditions, so its log ratio is one replicate; the estimate is their mean (the geometric mean
  // of the ratios), at the centre of the interval.
  const auto n = static_cast<double>(rounds.size());
  const double mean_log = sum_log / n;
  double ss = 0.0;
  for (double r : out.per_round) ss += (std::log(r) - mean_log) * (std::log(r) - mean_log);
  const double se = std::sqrt(ss / (n - 1.0) / n);
  const double t = boost::math::quantile(boost::math::students_t(n - 1.0), 0.5 + level / 2.0);
  out.value = std::exp(mean_log);
  out.interval.low = std::min(out.value, std::exp(mean_log - t * se));
  out.interval.high = std::max(out.value, std::exp(mean_log + t * se));
  out.interval.level = level;
  out.interval.method = "t on log ratios (" + std::to_string(rounds.size()) + " rounds)";
  return out;
}

namespace {

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

struct InterleavedRecord final : WorkRecord {
  harness::InterleavedResult run;
  int64_t rows() const override { return static_cast<int64_t>(run.a_first.size()); }
};

class InterleavedWork final : public Work {
 public:
  explicit InterleavedWork(harness::InterleavedSettings settings) : settings_(settings) {}
  std::string key() const override {
    return "interleaved:" + CanonicalText({{"rounds", settings_.rounds},
                                           {"queries_per_round", settings_.queries_per_round},
                                           {"warmup_queries", settings_.warmup_queries},
                                           {"threads", settings_.threads}});
  }
  // Timing is a property of the node: measured on the one shard asked to time.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    if (ctx.model() == nullptr || ctx.reference() == nullptr) {
      throw RuntimeError("latency_speedup needs the model and the reference model");
    }
    auto record = std::make_shared<InterleavedRecord>();
    record->run = harness::RunInterleaved(*ctx.model(), *ctx.reference(), ctx.dataset(), settings_);
    return record;
  }

 private:
  harness::InterleavedSettings settings_;
};

// The rounds [first, first + rounds.size()) of the run: exact to merge in order.
struct SpeedupStats {
  int64_t first = 0;
  int threads = 0;
  std::vector<SpeedupRound> rounds;
  std::vector<bool> model_first;

  void Merge(const SpeedupStats& other) {
    if (other.first != first + static_cast<int64_t>(rounds.size())) {
      throw RuntimeError("latency_speedup: rounds merged out of order");
    }
    rounds.insert(rounds.end(), other.rounds.begin(), other.rounds.end());
    model_first.insert(model_first.end(), other.model_first.begin(), other.model_first.end());
  }
  nlohmann::json ToJson() const {
    nlohmann::json r = nlohmann::json::array();
    for (size_t i = 0; i < rounds.size(); ++i) {
      r.push_back({{"model_ns", rounds[i].model_ns},
                   {"reference_ns", rounds[i].reference_ns},
                   {"model_first", static_cast<bool>(model_first[i])}});
    }
    return {{"first", first}, {"threads", threads}, {"rounds", r}};
  }
  static SpeedupStats FromJson(const nlohmann::json& j) {
    SpeedupStats s;
    s.first = JsonInteger<int64_t>(j.at("first"), "first");
    s.threads = JsonInteger<int>(j.at("threads"), "threads");
    for (const auto& r : j.at("rounds")) {
      s.rounds.push_back({JsonIntegers<int64_t>(r.at("model_ns"), "model_ns"),
                          JsonIntegers<int64_t>(r.at("reference_ns"), "reference_ns")});
      s.model_first.push_back(r.at("model_first").get<bool>());
    }
    return s;
  }
};

class LatencySpeedupMetric final
    : public TypedMetric<SpeedupParams, SpeedupStats, InterleavedRecord> {
 public:
  LatencySpeedupMetric()
      : TypedMetric(
            Spec(),
            ParamSchema<SpeedupParams>()
                .Field("scenario", &SpeedupParams::scenario,
                       "MLPerf-style scenario (single-sample queries)", OneOf({"single_stream"}))
                .Field("statistic", &SpeedupParams::statistic,
                       "the latency figure compared: mean or a percentile",
                       OneOf({"mean", "p50", "p90", "p99"}))
                .Field("rounds", &SpeedupParams::rounds,
                       "interleaved rounds (each times both models)",
                       Between(harness::kMinRepetitions, 10000))
                .Field("queries_per_round", &SpeedupParams::queries_per_round,
                       "single-sample queries per model and round", AtLeast(1))
                .Field("warmup_queries", &SpeedupParams::warmup_queries,
                       "untimed queries on each model first", AtLeast(0))
                .Field("threads", &SpeedupParams::threads,
                       "intra-op threads during the run (0: LibTorch default)", AtLeast(0))
                .Check([](const SpeedupParams& p) {
                  const double q = p.statistic == "p90" ? 0.9 : p.statistic == "p99" ? 0.99 : 0.5;
                  const int64_t need = MinQueriesPerRepetition(q);
                  if (p.statistic != "mean" && p.queries_per_round < need) {
                    throw ParamError("queries_per_round", "a round needs at least " +
                                                              std::to_string(need) +
                                                              " queries for its " + p.statistic);
                  }
                })) {}

 protected:
  std::shared_ptr<const Work> Needs(const SpeedupParams& p) const override {
    harness::InterleavedSettings s;
    s.rounds = p.rounds;
    s.queries_per_round = p.queries_per_round;
    s.warmup_queries = p.warmup_queries;
    s.threads = static_cast<int>(p.threads);
    return std::make_shared<InterleavedWork>(s);
  }
  SpeedupStats Accumulate(const SpeedupParams&, const InterleavedRecord& record,
                          const MetricInput& input) const override {
    SpeedupStats s;
    s.first = input.rows.begin;
    s.threads = record.run.threads;
    for (int64_t r = input.rows.begin; r < input.rows.end; ++r) {
      const auto i = static_cast<size_t>(r);
      s.rounds.push_back({record.run.latencies_ns[0][i], record.run.latencies_ns[1][i]});
      s.model_first.push_back(record.run.a_first[i]);
    }
    return s;
  }
  Measurement Finalize(const SpeedupParams& p, const SpeedupStats& s,
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
    MetricSpec spec = DescribeMetric(
        "latency_speedup", "ratio", "efficiency",
        "reference model latency / model latency, both timed interleaved in the same run", true,
        false);
    spec.needs_reference = true;
    return spec;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeLatencySpeedup() { return std::make_unique<LatencySpeedupMetric>(); }

}  // namespace efficiency
}  // namespace greenlight
