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
#include <vector>

#include "auditors/metric.h"
#include "core/result.h"

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

// Log-spaced histogram for charts: `per_decade` buckets per factor of 10, edges at
// 10^(k / per_decade) ms covering [min, max]. {"unit": "ms", "edges": [...], "counts": [...]},
// with edges.size() == counts.size() + 1 and bucket i = [edges[i], edges[i+1]).
nlohmann::json LatencyHistogram(std::span<const double> latencies_ms, int per_decade = 10);

}  // namespace efficiency
}  // namespace greenlight
