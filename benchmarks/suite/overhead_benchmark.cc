// Overhead of greenlight's timing harness: single-stream latency measured through the harness
// (Google Benchmark benchmarks registered per run, per-query steady_clock timing) against a bare
// loop calling the TorchScript module directly on the same pre-built inputs, in one process,
// interleaved in ABBA order so that drifts of the machine affect both sides alike.
//
//   greenlight_overhead_benchmark [--rounds N] [--queries Q] [--threads T] [--models-dir DIR]
//
// Prints, per model, the p50 of each side over all rounds pooled and their ratio (goal <= 1.02),
// the median of the per-round ratios and the ratio of the best (least disturbed) rounds, and
// exits 0 (the ratio is a measurement, not a test; see docs/efficiency.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "core/stats.h"
#include "datasets/dataset.h"
#include "harness/harness.h"
#include "harness/harness_torch.h"
#include "models/torch_capabilities.h"

namespace gl = greenlight;

namespace {

struct Options {
  int rounds = 10;
  int64_t queries = 2000;
  int threads = 1;
  int64_t warmup = 64;
  std::filesystem::path models_dir =
      std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples" / "models";
};

struct Subject {
  std::string name;
  std::unique_ptr<gl::Model> model;
  std::unique_ptr<gl::Dataset> data;
};

Subject LoadFashion(const Options& o) {
  gl::ModelSpec spec;
  spec.path = o.models_dir / "fashion_cnn.pt";
  spec.output = gl::OutputKind::kLogProbabilities;
  spec.input_shape = {1, 28, 28};
  gl::DatasetSpec d;
  d.format = "idx";
  d.images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  d.labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  d.scale = 1.0 / 255.0;
  d.limit = 2048;
  return {"fashion_cnn.pt", gl::LoadTorchScriptModel(spec), gl::LoadDataset(d)};
}

Subject LoadHmda(const Options& o) {
  gl::ModelSpec spec;
  spec.path = o.models_dir / "hmda_credit.pt";
  spec.output = gl::OutputKind::kLogits;
  spec.input_shape = {12};
  gl::DatasetSpec d;
  d.format = "csv";
  d.path = std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples" / "data" / "hmda.csv";
  d.features = {"pirat", "hirat",   "lvrat",     "chist",    "mhist",  "phist",
                "unemp", "selfemp", "insurance", "condomin", "single", "hschool"};
  for (const char* c : {"phist", "selfemp", "insurance", "condomin", "single", "hschool"}) {
    d.encode[c] = {{"no", 0.0}, {"yes", 1.0}};
  }
  d.label = gl::LabelSpec{"deny", std::string("yes")};
  return {"hmda_credit.pt", gl::LoadTorchScriptModel(spec), gl::LoadDataset(d)};
}

// The bare loop: warm-up, then `queries` timed calls of the module's forward (RawInputs calls
// module.forward as is) rotating through the rows exactly as the harness does (warm-up continues
// the rotation).
void BareRound(gl::RawInputs& module, const std::vector<torch::Tensor>& inputs, int64_t warmup,
               int64_t queries, std::vector<int64_t>& latencies_ns) {
  torch::NoGradGuard no_grad;
  size_t next = 0;
  for (int64_t i = 0; i < warmup; ++i) {
    module.ForwardRaw(inputs[next]);
    if (++next == inputs.size()) next = 0;
  }
  for (int64_t i = 0; i < queries; ++i) {
    const torch::Tensor& x = inputs[next];
    if (++next == inputs.size()) next = 0;
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor y = module.ForwardRaw(x).toTensor();
    const auto t1 = std::chrono::steady_clock::now();
    latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    benchmark::DoNotOptimize(y);
  }
}

double P50Us(std::vector<int64_t> ns) {
  std::vector<double> us(ns.size());
  std::transform(ns.begin(), ns.end(), us.begin(), [](int64_t v) { return v / 1e3; });
  std::sort(us.begin(), us.end());
  return gl::stats::QuantileSorted(us, 0.5);
}

struct Outcome {
  double harness_p50_us = 0, bare_p50_us = 0;  // Over all rounds pooled.
  std::vector<double> round_ratios;            // Per round: harness p50 / bare p50.
  // Lowest per-round p50 of each side: the rounds least disturbed by other load.
  double harness_best_p50_us = 0, bare_best_p50_us = 0;
};

Outcome Compare(Subject& s, const Options& o) {
  gl::RawInputs& raw = gl::RequireCapability<gl::RawInputs>(*s.model);
  gl::harness::RunSettings settings;
  settings.scenario = gl::harness::Scenario::kSingleStream;
  settings.threads = o.threads;
  settings.warmup_queries = o.warmup;
  settings.min_queries = o.queries;
  settings.min_duration_s = 0.0;  // Same query count on both sides.
  s.model->SetThreads(o.threads);
  std::vector<int64_t> harness_all, bare_all;
  Outcome out;
  const std::vector<std::shared_ptr<gl::harness::WindowObserver>> no_observers;
  for (int r = 0; r < o.rounds; ++r) {
    std::vector<int64_t> h, b;
    // One set of query tensors per round, built the way the harness builds them, used by both
    // sides: where the tensors lie in memory moved p50 by a few per cent between separately
    // built sets, which is not overhead of the harness.
    const std::vector<torch::Tensor> inputs = gl::harness::BuildQueryInputs(*s.data, *s.model, 1);
    auto harness_round = [&] {
      auto run = gl::harness::RunOnInputs(*s.model, inputs, settings, no_observers);
      h = run->latencies_ns;
    };
    auto bare_round = [&] { BareRound(raw, inputs, o.warmup, o.queries, b); };
    if (r % 4 == 0 || r % 4 == 3) {  // ABBA order
      harness_round();
      bare_round();
    } else {
      bare_round();
      harness_round();
    }
    const double hp = P50Us(h), bp = P50Us(b);
    out.round_ratios.push_back(hp / bp);
    out.harness_best_p50_us = r == 0 ? hp : std::min(out.harness_best_p50_us, hp);
    out.bare_best_p50_us = r == 0 ? bp : std::min(out.bare_best_p50_us, bp);
    harness_all.insert(harness_all.end(), h.begin(), h.end());
    bare_all.insert(bare_all.end(), b.begin(), b.end());
  }
  out.harness_p50_us = P50Us(harness_all);
  out.bare_p50_us = P50Us(bare_all);
  return out;
}

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rounds")
      o.rounds = std::stoi(next());
    else if (a == "--queries")
      o.queries = std::stoll(next());
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else if (a == "--warmup")
      o.warmup = std::stoll(next());
    else if (a == "--models-dir")
      o.models_dir = next();
    else {
      std::cerr << "unknown option " << a
                << "\nusage: greenlight_overhead_benchmark [--rounds N] [--queries Q] "
                   "[--threads T] [--warmup W] [--models-dir DIR] [--benchmark_* flags]\n";
      return false;
    }
  }
  return o.rounds > 0 && o.queries > 0;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // Google Benchmark's own --benchmark_* flags.
  Options o;
  try {
    if (!ParseOptions(argc, argv, o)) return 3;
    benchmark::BenchmarkReporter::Context context;
    benchmark::BenchmarkReporter::PrintBasicContext(&std::cout, context);
    std::printf(
        "rounds %d x %lld queries per side, %d intra-op thread(s), warm-up %lld, ABBA order\n",
        o.rounds, static_cast<long long>(o.queries), o.threads, static_cast<long long>(o.warmup));
    std::printf("%-16s %15s %12s %10s %13s %11s %21s\n", "model", "harness p50 us", "bare p50 us",
                "p50 ratio", "round median", "best round", "per-round range");
    for (auto load : {&LoadFashion, &LoadHmda}) {
      Subject s = load(o);
      const Outcome out = Compare(s, o);
      std::vector<double> ratios = out.round_ratios;
      std::sort(ratios.begin(), ratios.end());
      std::printf("%-16s %15.3f %12.3f %10.4f %13.4f %11.4f %9.4f .. %-9.4f\n", s.name.c_str(),
                  out.harness_p50_us, out.bare_p50_us, out.harness_p50_us / out.bare_p50_us,
                  gl::stats::QuantileSorted(ratios, 0.5),
                  out.harness_best_p50_us / out.bare_best_p50_us, ratios.front(), ratios.back());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "greenlight_overhead_benchmark: " << e.what() << "\n";
    return 4;
  }
  benchmark::Shutdown();
  return 0;
}
