// Efficiency metrics: latency percentiles and mean, throughput and peak memory (measured in a timed
// run of the harness, harness/, shared by every criterion with the same run settings), model
// parameters and size, FLOPs per sample (graph introspection). Timings are measured
// (deterministic = false); counts are exact.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auditors/metric.h"
#include "core/error.h"
#include "core/result.h"
#include "harness/harness.h"

namespace greenlight {

namespace efficiency {

// The metrics, one factory each (registered in auditors/builtin.cc).
std::unique_ptr<Metric> MakeLatencyPercentile(double p);  // 0.5, 0.9, 0.95, 0.99, 0.999
std::unique_ptr<Metric> MakeLatencyMean();
std::unique_ptr<Metric> MakeThroughput();
std::unique_ptr<Metric> MakePeakMemory();
std::unique_ptr<Metric> MakeModelParameters();
std::unique_ptr<Metric> MakeModelSize();
std::unique_ptr<Metric> MakeFlopsPerSample();
// compression_metrics.cc: weights (WeightInspection) and file sizes, of the model and against the
// reference model.
std::unique_ptr<Metric> MakeSparsity();
std::unique_ptr<Metric> MakeNonzeroParameters();
std::unique_ptr<Metric> MakeParameterReduction();
std::unique_ptr<Metric> MakeSizeReduction();
std::unique_ptr<Metric> MakeFlopsReduction();  // efficiency_metrics.cc, beside flops_per_sample.
// speedup.cc: both models measured interleaved in rounds (harness::RunInterleaved): reference
// latency / model latency, model throughput / reference throughput, model peak resident memory /
// reference peak.
std::unique_ptr<Metric> MakeLatencySpeedup();
std::unique_ptr<Metric> MakeThroughputRatio();
std::unique_ptr<Metric> MakePeakMemoryRatio();

// The work of the paired-round metrics: harness::RunInterleaved of the model (A) and the reference
// model (B) with `settings`, once per audit (Sharding::kOnce); criteria with equal settings share
// it. The plan's instruments see the run's window and each model's window of every round
// (harness::InterleavedWindow) as Begin/End and BeginRepetition/EndRepetition(2r + m + 1). Its
// record is an InterleavedRecord whose rows are the rounds.
struct InterleavedRecord final : WorkRecord {
  harness::InterleavedResult run;
  std::string device;  // The model's device during the run ("cpu", "cuda:0", ...).
  int64_t rows() const override { return static_cast<int64_t>(run.a_first.size()); }
};
std::shared_ptr<const Work> MakeInterleavedWork(const harness::InterleavedSettings& settings);

// The one estimator of the paired-round metrics: each round measured both models under the same
// conditions and gives one ratio; the value is the ratios' geometric mean and the interval
// Student's t on their logarithms, exp(mean ± t_{R-1} s / √R), at `level`, containing the value.
// Needs at least 2 rounds and positive finite ratios (RuntimeError otherwise; `what` names the
// metric in the message).
struct RatioEstimate {
  double value = 0.0;
  Interval interval;
};
RatioEstimate EstimateRoundRatio(std::span<const double> per_round, double level,
                                 const std::string& what);

// One interleaved round: both models' per-query latencies, ns.
struct SpeedupRound {
  std::vector<int64_t> model_ns;
  std::vector<int64_t> reference_ns;
};
struct SpeedupEstimate {
  double value = 0.0;  // reference_ms / model_ms.
  double model_ms = 0.0;
  double reference_ms = 0.0;      // The statistic over every query of the run.
  std::vector<double> per_round;  // The same ratio within each round.
  Interval interval;
};
// `statistic`: "mean", "p50", "p90" or "p99" (type-7 quantile). Per round: reference statistic /
// model statistic; value and interval from EstimateRoundRatio. Needs at least 2 rounds
// (RuntimeError otherwise).
SpeedupEstimate EstimateSpeedup(std::span<const SpeedupRound> rounds, const std::string& statistic,
                                double level);

// throughput_ratio: in each round both models ran the same number of queries of `batch_size`
// samples, so model samples/s / reference samples/s = reference time / model time of the round.
// Value and interval from EstimateRoundRatio over the rounds.
struct ThroughputRatioEstimate {
  double value = 0.0;  // Geometric mean of per_round.
  Interval interval;
  std::vector<double> per_round;                // model / reference samples/s, each round.
  std::vector<double> model_samples_per_s;      // Each round's figure of the model...
  std::vector<double> reference_samples_per_s;  // ... and of the reference.
  double model_overall_samples_per_s = 0.0;     // All samples of the run / all its time.
  double reference_overall_samples_per_s = 0.0;
};
ThroughputRatioEstimate EstimateThroughputRatio(std::span<const SpeedupRound> rounds,
                                                int64_t batch_size, double level);

// The p-quantile of latency samples with order-statistic bounds at `level` (valid for any
// continuous distribution of i.i.d. samples). `sorted_ms` ascending. The point estimate is the
// type-7 sample quantile; a bound that does not exist with this many samples is nullopt.
struct PercentileEstimate {
  double value = 0.0;
  std::optional<double> low;
  std::optional<double> high;
  std::optional<int64_t> low_index;  // 0-based order statistic used for `low`.
  std::optional<int64_t> high_index;
};
PercentileEstimate EstimatePercentile(std::span<const double> sorted_ms, double p, double level);

// Smallest n for which both order-statistic bounds of the p-quantile exist at `level`.
int64_t MinSamplesForBounds(double p, double level);

// Mean with a Student-t interval at `level` (n >= 2; for n < 2 the interval is [mean, mean]).
Interval MeanInterval(std::span<const double> values, double level, double* mean);

// Fewest queries a repetition needs for its own p-quantile to lie inside its data rather than at
// its extreme: ceil(1 / min(p, 1 - p)) (2 for the median, 100 for p99, 1000 for p99.9).
int64_t MinQueriesPerRepetition(double p);

// Why a run is not valid, in one line: "run-length rules not met: 20 of 1024 queries; 0.5 s of
// 10 s; stopped at max_duration_s" (the parts that apply).
std::string RuleFailureMessage(const harness::RunResult& run);

// Log-spaced histogram for charts: `per_decade` buckets per factor of 10, edges at
// 10^(k / per_decade) ms covering [min, max]. {"unit": "ms", "edges": [...], "counts": [...]},
// with edges.size() == counts.size() + 1 and bucket i = [edges[i], edges[i+1]).
nlohmann::json LatencyHistogram(std::span<const double> latencies_ms, int per_decade = 10);

// Facts of a model that no row changes (parameter count, file size, FLOPs of one forward pass, a
// language model's cost per token): a record of one row; the statistics are the facts, in the
// part that holds that row, and parts merge only with the same facts.
struct ModelFactsRecord final : WorkRecord {
  nlohmann::json facts;
  int64_t rows() const override { return 1; }
};

struct FactStats {
  nlohmann::json facts;  // null in a part without the record's row.
  void Merge(const FactStats& other) {
    if (facts.is_null()) {
      facts = other.facts;
    } else if (!other.facts.is_null() && other.facts != facts) {
      throw RuntimeError("model facts of different models cannot be merged");
    }
  }
  nlohmann::json ToJson() const { return facts; }
  static FactStats FromJson(const nlohmann::json& j) { return {j}; }
};

}  // namespace efficiency
}  // namespace greenlight
