// Fairness metric engine speed: 1,000,000 rows in 8 groups, every fairness metric with a
// 1,000-resample interval. The one pass over the rows is timed on its own; the metrics and their
// bootstraps work on the group x label x prediction cell counts, so their cost does not depend on
// the row count. After the Google Benchmark runs, the same computation is timed in vectorized
// numpy with row resampling (fairness_numpy.py, as Fairlearn's MetricFrame bootstrap does) on the
// same rows, and both figures and their ratio are printed.
//
// usage: fairness_benchmark [--numpy_resamples=N] [Google Benchmark flags]
//   --numpy_resamples=0 skips the numpy run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/fairness/fairness_metrics.h"
#include "auditors/fairness/group_metrics.h"
#include "auditors/metric.h"
#include "core/random.h"
#include "core/stats.h"
#include "datasets/in_memory_dataset.h"

namespace {

namespace fair = greenlight::fairness;

constexpr int64_t kRows = 1'000'000;
constexpr int kGroups = 8;
constexpr int kResamples = 1000;
constexpr uint64_t kSeed = 2024;

struct Data {
  std::vector<int32_t> group;
  std::vector<int64_t> label;  // 1 = favourable
  std::vector<int64_t> pred;   // 1 = favourable
  std::vector<std::string> group_names;
  std::vector<std::string> group_text;  // the sensitive column as text, as the metrics read it
};

const Data& TheData() {
  static const Data data = [] {
    Data d;
    greenlight::random::Rng rng(kSeed);
    auto u = [](greenlight::random::Rng& r) { return greenlight::random::UniformDouble(r); };
    // Unequal group sizes and rates, as in real data.
    const double share[kGroups] = {0.30, 0.20, 0.15, 0.10, 0.10, 0.07, 0.05, 0.03};
    const double base[kGroups] = {0.60, 0.55, 0.50, 0.45, 0.52, 0.40, 0.35, 0.58};
    const double agree[kGroups] = {0.85, 0.82, 0.80, 0.78, 0.84, 0.75, 0.72, 0.80};
    for (int g = 0; g < kGroups; ++g) d.group_names.push_back("g" + std::to_string(g));
    d.group.reserve(kRows);
    for (int64_t i = 0; i < kRows; ++i) {
      double x = u(rng);
      int g = 0;
      while (g < kGroups - 1 && x >= share[g]) x -= share[g++];
      const int64_t y = u(rng) < base[g] ? 1 : 0;
      const int64_t p = u(rng) < agree[g] ? y : 1 - y;
      d.group.push_back(g);
      d.label.push_back(y);
      d.pred.push_back(p);
      d.group_text.push_back(d.group_names[static_cast<size_t>(g)]);
    }
    return d;
  }();
  return data;
}

fair::GroupedCounts Count(const Data& d) {
  return fair::CountCells(d.group, d.group_names, d.label, d.pred, /*favourable=*/1);
}

fair::Options MajorityOptions(const fair::GroupedCounts& c) {
  fair::Options o;
  o.reference = fair::ReferenceKind::kMajority;
  o.eligible.assign(c.cells.size(), true);
  o.reference_group = 0;
  for (size_t g = 1; g < c.cells.size(); ++g) {
    if (c.cells[g].size() > c.cells[static_cast<size_t>(o.reference_group)].size()) {
      o.reference_group = static_cast<int>(g);
    }
  }
  return o;
}

// Every metric: point estimate and 1,000-resample percentile interval. Returns the number of
// intervals made (so the work cannot be optimised away).
struct AllMetricsResult {
  std::map<std::string, double> point;
  std::map<std::string, greenlight::Interval> interval;
};
AllMetricsResult AllMetrics(const fair::GroupedCounts& c, int resamples, uint64_t seed) {
  AllMetricsResult out;
  const fair::Options options = MajorityOptions(c);
  const fair::CellCounts total = c.Total();
  const auto draws = fair::DrawCellReplicates(c.cells, resamples, seed);
  const size_t groups = c.cells.size();
  std::vector<fair::CellCounts> overall(static_cast<size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    for (size_t g = 0; g < groups; ++g) overall[b] += draws[b * groups + g];
  }
  for (fair::Metric m : fair::kAllMetrics) {
    const std::string name(fair::MetricName(m));
    const auto e = fair::Evaluate(m, c.cells, total, c.names, options);
    if (e.value) out.point[name] = *e.value;
    if (m == fair::Metric::kSelectionRate) {
      out.interval[name] =
          greenlight::stats::WilsonInterval(total.tp + total.fp, total.size(), 0.95);
      continue;
    }
    std::vector<double> reps;
    if (m == fair::Metric::kTheilIndex) {
      reps = fair::TheilPoissonBootstrap(total, resamples, seed).values;
    } else {
      reps.reserve(static_cast<size_t>(resamples));
      for (int b = 0; b < resamples; ++b) {
        const std::span<const fair::CellCounts> cells(&draws[b * groups], groups);
        const auto r = fair::Evaluate(m, cells, overall[b], c.names, options);
        if (r.value) reps.push_back(*r.value);
      }
    }
    out.interval[name] = greenlight::stats::PercentileInterval(reps, 0.95);
  }
  return out;
}

void BM_FairnessRowPass(benchmark::State& state) {
  const Data& d = TheData();
  for (auto _ : state) benchmark::DoNotOptimize(Count(d));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_FairnessRowPass)->Unit(benchmark::kMillisecond);

void BM_FairnessRowPassTextColumn(benchmark::State& state) {
  const Data& d = TheData();
  const std::vector<std::string> names = {"group"};
  const std::vector<std::span<const std::string>> cols = {d.group_text};
  for (auto _ : state) {
    benchmark::DoNotOptimize(fair::CountGroups(names, cols, d.label, d.pred, 1));
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_FairnessRowPassTextColumn)->Unit(benchmark::kMillisecond);

// The budgeted figure: all 13 metrics with 1,000-resample intervals, after the pass.
void BM_FairnessAllMetrics1000Resamples(benchmark::State& state) {
  const fair::GroupedCounts c = Count(TheData());
  for (auto _ : state) benchmark::DoNotOptimize(AllMetrics(c, kResamples, kSeed));
}
BENCHMARK(BM_FairnessAllMetrics1000Resamples)->Unit(benchmark::kMillisecond);

// The 13 metrics as an audit measures them (auditors/fairness/group_metrics.cc): the grouping pass
// over the text column (the metrics' shared work) is made once, outside the timed part; each
// metric then accumulates its group x label x prediction counts over the 1,000,000 rows and
// finalizes value, closed-form interval and the details table.
void BM_FairnessMetricsAllMetrics(benchmark::State& state) {
  const Data& d = TheData();
  greenlight::InMemoryDataset ds;
  ds.info_.rows = kRows;
  ds.has_labels_ = true;
  ds.labels_ = d.label;
  ds.num_classes_ = 2;
  ds.has_predictions_ = true;
  ds.predictions_ = d.pred;
  ds.sensitive_["group"] = d.group_text;
  greenlight::AuditContext ctx(nullptr, ds, kSeed, nullptr);
  struct Bound {
    std::unique_ptr<greenlight::Metric> metric;
    std::shared_ptr<const greenlight::BoundParams> params;
  };
  std::vector<Bound> metrics;
  for (fair::Metric m : fair::kAllMetrics) {
    Bound b{fair::MakeGroupMetric(m), nullptr};
    b.params = b.metric->Bind({{"sensitive", "group"}});
    metrics.push_back(std::move(b));
  }
  // Every metric needs the same work (same columns): one pass.
  const auto record = metrics.front().metric->Needs(*metrics.front().params)->Run(ctx, {});
  const greenlight::MetricInput input{*record, nullptr, {0, record->rows()}};
  greenlight::FinalizeContext fin;
  fin.seed = kSeed;
  for (auto _ : state) {
    for (const Bound& b : metrics) {
      benchmark::DoNotOptimize(greenlight::MeasureRows(*b.metric, *b.params, input, fin));
    }
  }
}
BENCHMARK(BM_FairnessMetricsAllMetrics)->Unit(benchmark::kMillisecond);

// Keeps each benchmark's mean real time per iteration (in seconds) for the summary.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && r.iterations > 0) {
        seconds[r.benchmark_name()] = r.real_accumulated_time / static_cast<double>(r.iterations);
        cpu_seconds[r.benchmark_name()] =
            r.cpu_accumulated_time / static_cast<double>(r.iterations);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> seconds;
  std::map<std::string, double> cpu_seconds;
};

std::string RunCommand(const std::string& cmd, int* rc) {
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string text;
  if (pipe == nullptr) {
    *rc = -1;
    return text;
  }
  char buf[4096];
  while (size_t got = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, got);
  *rc = ::pclose(pipe);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int numpy_resamples = kResamples;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--numpy_resamples=", 18) == 0) {
      numpy_resamples = std::atoi(argv[i] + 18);
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  TheData();  // generate outside any timing
  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const std::string budgeted = "BM_FairnessAllMetrics1000Resamples";
  const double ours = reporter.seconds.count(budgeted) ? reporter.seconds[budgeted] : 0.0;
  const double ours_cpu =
      reporter.cpu_seconds.count(budgeted) ? reporter.cpu_seconds[budgeted] : 0.0;
  std::printf("\nfairness: %lld rows, %d groups, 13 metrics, %d resamples\n",
              static_cast<long long>(kRows), kGroups, kResamples);
  for (const auto& [name, s] : reporter.seconds) {
    std::printf("  %-40s %10.3f ms wall %10.3f ms CPU\n", name.c_str(), s * 1e3,
                reporter.cpu_seconds[name] * 1e3);
  }
  if (numpy_resamples <= 0 || ours == 0.0) return 0;

  // The same rows for numpy.
  const Data& d = TheData();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("greenlight-fairness-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const char* file, auto get) {
    std::vector<uint8_t> bytes(kRows);
    for (int64_t i = 0; i < kRows; ++i) bytes[i] = static_cast<uint8_t>(get(i));
    std::ofstream(dir / file, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(kRows));
  };
  write("group.u8", [&](int64_t i) { return d.group[i]; });
  write("label.u8", [&](int64_t i) { return d.label[i]; });
  write("pred.u8", [&](int64_t i) { return d.pred[i]; });
  const std::string cmd = "/usr/bin/python3 '" GREENLIGHT_FAIRNESS_NUMPY_PY "' '" + dir.string() +
                          "' " + std::to_string(kRows) + " " + std::to_string(kGroups) + " " +
                          std::to_string(numpy_resamples) + " " + std::to_string(kSeed);
  std::printf("\nnumpy row-resampling bootstrap (%d resamples): %s\n", numpy_resamples,
              cmd.c_str());
  std::fflush(stdout);
  int rc = 0;
  const std::string text = RunCommand(cmd, &rc);
  std::filesystem::remove_all(dir);
  if (rc != 0) {
    std::fprintf(stderr, "numpy run failed (exit %d)\n", rc);
    return 1;
  }
  const auto py = nlohmann::json::parse(text);
  // Scale a shortened numpy run to 1,000 resamples (its cost is linear in the resamples).
  const double scale = static_cast<double>(kResamples) / numpy_resamples;
  const double numpy_1000 = py["seconds"].get<double>() * scale;
  const double numpy_1000_cpu = py["cpu_seconds"].get<double>() * scale;

  const AllMetricsResult mine = AllMetrics(Count(d), kResamples, kSeed);
  double max_diff = 0.0;
  std::printf("\n  %-32s %12s %12s   %-22s %-22s\n", "metric", "greenlight", "numpy",
              "greenlight 95% CI", "numpy 95% CI");
  for (const auto& [name, v] : mine.point) {
    const double np = py["point"][name].get<double>();
    max_diff = std::max(max_diff, std::abs(v - np));
    const auto& ci = mine.interval.at(name);
    const auto& npci =
        py["intervals"].contains(name) ? py["intervals"][name] : nlohmann::json::array({NAN, NAN});
    std::printf("  %-32s %12.8f %12.8f   [%.5f, %.5f]   [%.5f, %.5f]\n", name.c_str(), v, np,
                ci.low, ci.high, npci[0].get<double>(), npci[1].get<double>());
  }
  std::printf("\n  point estimates: max |greenlight - numpy| = %.3g\n", max_diff);
  std::printf("  greenlight (multinomial on cells, after the pass): %10.3f ms wall %10.3f ms CPU\n",
              ours * 1e3, ours_cpu * 1e3);
  std::printf(
      "  numpy (row resampling, vectorized):                %10.3f ms wall %10.3f ms CPU%s\n",
      numpy_1000 * 1e3, numpy_1000_cpu * 1e3,
      numpy_resamples == kResamples ? "" : " (scaled from a shorter run)");
  std::printf("  ratio numpy / greenlight:                          %10.0fx wall %10.0fx CPU\n",
              numpy_1000 / ours, numpy_1000_cpu / ours_cpu);
  std::printf("  budget: <= 100 ms for all metrics with %d resamples: %s\n", kResamples,
              ours <= 0.100 ? "met" : "NOT met");
  return 0;
}
