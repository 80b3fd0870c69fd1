// Do timing intervals hold across runs? Runs the same latency audit N times (each a fresh
// `greenlight audit` process, one after the other, as a CI gate or a regulator would) and asks, for
// every timed figure, whether each run's value lies inside the other runs' intervals.
//
//   greenlight_timing_consistency_benchmark [--runs N] [--min-duration-s S] [--greenlight PATH]
//                                           [--models-dir DIR] [--keep DIR] [--ideal-only]
//
// For each metric it prints: the spread of the N values, how many of the other N - 1 runs'
// intervals contain each run's value (the worst run and how many runs reach N - 2), and the median
// interval width relative to the value, for
//   - the reported interval (between-repetition, since the timing-integrity work), and
//   - the within-run interval the report keeps as a detail (details.within_run_interval: the
//     order-statistic bound for percentiles, Student-t for the mean; for energy the method's band,
//     details.systematic_band), which is what reports gave before; a binary whose reports lack
//     those details is the "before" binary itself, and its reported interval is the within-run
//     one.
// The goal (docs/efficiency.md): with 10 runs, every run's value inside at least 8 of the other 9
// runs' 95 % intervals (the criteria's thresholds are two-sided, so the reports' intervals are
// 95 % two-sided). It also prints the pairwise share, and the same figures for ideal intervals
// (exchangeable runs, exact t-intervals over the default 10 repetitions; simulated) to read them
// against. Exit 0 always: the figures are a measurement, not a test.
#include <unistd.h>

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/random.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Options {
  int runs = 10;
  double min_duration_s = 10.0;
  fs::path greenlight = GREENLIGHT_CLI;
  fs::path models_dir = fs::path(GREENLIGHT_SOURCE_DIR) / "examples" / "models";
  fs::path keep;            // Where the reports go; a temporary folder when empty.
  bool ideal_only = false;  // Print the ideal reference only, without running audits.
};

struct Figure {
  double value = 0.0;
  std::optional<std::pair<double, double>> reported;
  std::optional<std::pair<double, double>> within_run;
  std::optional<std::pair<double, double>> statistical;  // Energy: without the meter's band.
  std::string status;
};

std::string Criteria(const Options& o) {
  const std::string fashion = "/usr/share/datasets/fashion-mnist/";
  std::ostringstream c;
  const std::string params =
      "{scenario: single_stream, threads: 1, min_duration_s: " + std::to_string(o.min_duration_s) +
      "}";
  c << "apiVersion: greenlight/v1\nkind: Criteria\n"
    << "metadata: {name: timing-consistency, version: '1'}\nsettings: {seed: 1}\n"
    << "model:\n  path: " << (o.models_dir / "fashion_cnn.pt").string()
    << "\n  output: log_probabilities\n  input: {shape: [1, 28, 28], range: [0, 1]}\n"
    << "dataset:\n  format: idx\n  images: " << fashion << "t10k-images-idx3-ubyte.gz\n"
    << "  labels: " << fashion << "t10k-labels-idx1-ubyte.gz\n"
    << "  scale: 0.00392156862745098\n  limit: 2048\n"
    << "criteria:\n";
  const std::vector<std::pair<std::string, std::string>> metrics = {
      {"P50", "latency_p50_ms"},
      {"P99", "latency_p99_ms"},
      {"MEAN", "latency_mean_ms"},
      {"TPUT", "throughput_samples_per_s"},
      {"NRG", "energy_per_inference_mj"}};
  for (const auto& [id, metric] : metrics) {
    // Two-sided thresholds: the reported intervals are then 95 % two-sided, the level the goal
    // names (a one-sided lte/gte at confidence 0.95 reports the 90 % two-sided interval).
    const std::string threshold = metric == "throughput_samples_per_s"
                                      ? "{between: [1.0, 1000000000.0]}"
                                      : "{between: [0.0, 1000000.0]}";
    c << "  - {id: " << id << ", metric: " << metric << ", params: " << params
      << ", threshold: " << threshold << ", severity: mandatory, confidence: 0.95}\n";
  }
  return c.str();
}

std::optional<std::pair<double, double>> IntervalOf(const json& j) {
  if (!j.is_object() || !j.contains("low") || !j.contains("high") || !j["low"].is_number() ||
      !j["high"].is_number()) {
    return std::nullopt;
  }
  return std::make_pair(j["low"].get<double>(), j["high"].get<double>());
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Per run i: how many of the other runs' intervals contain run i's value.
struct Agreement {
  std::vector<int> contained_in;
  double median_relative_width = 0.0;
  bool available = false;
};

using IntervalField = std::optional<std::pair<double, double>> Figure::*;

Agreement Agree(const std::vector<Figure>& figures, IntervalField field) {
  Agreement a;
  std::vector<double> widths;
  for (const auto& f : figures) {
    const auto& iv = f.*field;
    if (!iv) return a;
    widths.push_back((iv->second - iv->first) / f.value);
  }
  a.available = !figures.empty();
  a.median_relative_width = Median(widths);
  for (size_t i = 0; i < figures.size(); ++i) {
    int count = 0;
    for (size_t j = 0; j < figures.size(); ++j) {
      if (i == j) continue;
      const auto& iv = *(figures[j].*field);
      count += figures[i].value >= iv.first && figures[i].value <= iv.second ? 1 : 0;
    }
    a.contained_in.push_back(count);
  }
  return a;
}

void PrintAgreement(const std::string& label, const Agreement& a, int runs) {
  if (!a.available) {
    std::printf("    %-22s not in these reports\n", label.c_str());
    return;
  }
  const int worst = *std::min_element(a.contained_in.begin(), a.contained_in.end());
  const long reaching = std::count_if(a.contained_in.begin(), a.contained_in.end(),
                                      [&](int c) { return c >= runs - 2; });
  long pairs_inside = 0;
  for (int c : a.contained_in) pairs_inside += c;
  const long pairs = static_cast<long>(runs) * (runs - 1);
  std::string counts;
  for (int c : a.contained_in) counts += std::to_string(c) + " ";
  std::printf(
      "    %-22s worst run inside %d of %d; %ld of %d runs inside >= %d; pairs %ld of %ld "
      "(%.0f %%); median width %.2f %% of the value  [%s]\n",
      label.c_str(), worst, runs - 1, reaching, runs, runs - 2, pairs_inside, pairs,
      100.0 * static_cast<double>(pairs_inside) / static_cast<double>(pairs),
      100.0 * a.median_relative_width, counts.c_str());
}

// What the goal asks of ideal intervals: `runs` exchangeable runs (no run-to-run effect beyond
// the repetitions' own spread), each of `repetitions` normal repetitions (the log figures) with the
// exact Student-t 95 % interval of their mean. Simulated, seeded: the share of run pairs where one
// run's value lies in the other's interval, and the share of trials in which every run lies in
// at least runs - 2 of the others' intervals. A confidence interval bounds the run's own
// expectation, and another run's value carries its own error as well, so even exact intervals
// agree pairwise less often than their level.
void PrintExchangeableReference(int runs, int repetitions) {
  constexpr int kTrials = 4000;
  greenlight::random::Rng rng(20261130);
  const double r = repetitions;
  const double t =
      boost::math::quantile(boost::math::complement(boost::math::students_t(r - 1.0), 0.025));
  // widths[0]: the confidence interval of a run's expectation, t s / sqrt(R); widths[1]: the
  // exact prediction interval for another run's value, t s sqrt(2 / R).
  const double factors[2] = {1.0, std::sqrt(2.0)};
  long pairs_inside[2] = {0, 0};
  int every_run[2] = {0, 0};
  std::vector<double> mean(static_cast<size_t>(runs)), half(static_cast<size_t>(runs));
  for (int trial = 0; trial < kTrials; ++trial) {
    for (int k = 0; k < runs; ++k) {
      double sum = 0.0, sum2 = 0.0;
      for (int i = 0; i < repetitions; ++i) {
        const double x = greenlight::random::StandardNormal(rng);
        sum += x;
        sum2 += x * x;
      }
      const double m = sum / r;
      mean[static_cast<size_t>(k)] = m;
      half[static_cast<size_t>(k)] = t * std::sqrt((sum2 - r * m * m) / (r - 1.0) / r);
    }
    for (int w = 0; w < 2; ++w) {
      bool all = true;
      for (int i = 0; i < runs; ++i) {
        int inside = 0;
        for (int j = 0; j < runs; ++j) {
          const double d = std::abs(mean[static_cast<size_t>(i)] - mean[static_cast<size_t>(j)]);
          if (i != j && d <= factors[w] * half[static_cast<size_t>(j)]) ++inside;
        }
        pairs_inside[w] += inside;
        all = all && inside >= runs - 2;
      }
      every_run[w] += all ? 1 : 0;
    }
  }
  const char* names[2] = {"exact 95 % t confidence intervals",
                          "exact 95 % prediction intervals for another run"};
  for (int w = 0; w < 2; ++w) {
    std::printf(
        "ideal reference (simulated, %d trials; %d exchangeable runs of %d normal repetitions), "
        "%s: pairs %.0f %%; every run inside >= %d of %d in %.0f %% of trials\n",
        kTrials, runs, repetitions, names[w],
        100.0 * static_cast<double>(pairs_inside[w]) /
            (static_cast<double>(kTrials) * runs * (runs - 1)),
        runs - 2, runs - 1, 100.0 * every_run[w] / kTrials);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value after " << a << "\n";
        std::exit(3);
      }
      return argv[++i];
    };
    if (a == "--runs") {
      o.runs = std::stoi(next());
    } else if (a == "--min-duration-s") {
      o.min_duration_s = std::stod(next());
    } else if (a == "--greenlight") {
      o.greenlight = next();
    } else if (a == "--models-dir") {
      o.models_dir = next();
    } else if (a == "--keep") {
      o.keep = next();
    } else if (a == "--ideal-only") {
      o.ideal_only = true;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--runs N] [--min-duration-s S] [--greenlight PATH] [--models-dir DIR] "
                   "[--keep DIR] [--ideal-only]\n";
      return 3;
    }
  }
  if (o.runs < 3) {
    std::cerr << "--runs must be at least 3\n";
    return 3;
  }
  if (o.ideal_only) {
    PrintExchangeableReference(o.runs, 10);
    return 0;
  }
  const bool temporary = o.keep.empty();
  const fs::path dir =
      temporary ? fs::temp_directory_path() / ("greenlight-consistency-" + std::to_string(getpid()))
                : o.keep;
  fs::create_directories(dir);
  const fs::path criteria = dir / "criteria.yaml";
  std::ofstream(criteria) << Criteria(o);

  std::map<std::string, std::vector<Figure>> figures;  // metric -> one per run
  std::vector<std::string> order;
  std::vector<std::string> contexts;
  for (int run = 0; run < o.runs; ++run) {
    const fs::path out = dir / ("run" + std::to_string(run));
    const std::string cmd = "'" + o.greenlight.string() + "' -q audit --criteria '" +
                            criteria.string() + "' --out '" + out.string() + "' > '" +
                            (dir / ("run" + std::to_string(run) + ".log")).string() + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out / "report.json");
    if (!in) {
      std::cerr << "run " << run << ": no report (exit status " << rc << "; see " << dir << ")\n";
      return 4;
    }
    const json report = json::parse(in)["predicate"];
    std::string load = "-";
    for (const auto& r : report["results"]) {
      const std::string metric = r.value("metric", "");
      if (!r.contains("value") || !r["value"].is_number()) continue;
      Figure f;
      f.value = r["value"].get<double>();
      f.status = r.value("status", "");
      if (r.contains("interval")) f.reported = IntervalOf(r["interval"]);
      const json& d = r.value("details", json::object());
      if (d.contains("within_run_interval")) {
        f.within_run = IntervalOf(d["within_run_interval"]);
      } else if (!d.contains("repetitions")) {
        f.within_run = f.reported;  // A report from before repetitions: its interval is within-run.
      }
      if (d.contains("statistical_interval")) f.statistical = IntervalOf(d["statistical_interval"]);
      if (d.contains("systematic_band") && !f.within_run) {
        // Energy: before repetitions its interval was the method's band alone.
        f.within_run = IntervalOf(d["systematic_band"]);
      }
      if (figures.find(metric) == figures.end()) order.push_back(metric);
      figures[metric].push_back(f);
      if (d.contains("run") && d["run"].contains("gbench_context")) {
        const json& ctx = d["run"]["gbench_context"].value("context", json::object());
        if (ctx.contains("load_avg")) load = ctx["load_avg"].dump();
      }
    }
    contexts.push_back(load);
    std::fprintf(stderr, "run %d of %d done (load average %s)\n", run + 1, o.runs, load.c_str());
  }

  std::printf(
      "%d identical runs of %s (fashion_cnn.pt, single_stream, 1 thread, min_duration_s "
      "%g), one process each\n",
      o.runs, o.greenlight.string().c_str(), o.min_duration_s);
  std::printf("load averages: ");
  for (const auto& c : contexts) std::printf("%s ", c.c_str());
  std::printf("\n");
  for (const auto& metric : order) {
    const auto& fs_ = figures[metric];
    if (static_cast<int>(fs_.size()) != o.runs) continue;
    double lo = fs_[0].value, hi = fs_[0].value;
    std::string statuses;
    for (const auto& f : fs_) {
      lo = std::min(lo, f.value);
      hi = std::max(hi, f.value);
      statuses += f.status.substr(0, 4) + " ";
    }
    std::printf("%s: values %.4g .. %.4g (max/min %.3f); statuses %s\n", metric.c_str(), lo, hi,
                hi / lo, statuses.c_str());
    PrintAgreement("reported interval", Agree(fs_, &Figure::reported), o.runs);
    PrintAgreement("within-run (or band)", Agree(fs_, &Figure::within_run), o.runs);
    if (fs_.front().statistical) {
      PrintAgreement("repetitions, no band", Agree(fs_, &Figure::statistical), o.runs);
    }
  }
  PrintExchangeableReference(o.runs, 10);
  if (temporary) fs::remove_all(dir);
  return 0;
}
