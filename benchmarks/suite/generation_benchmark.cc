// Overhead of greenlight's decode loop (harness/generation.h through the causal_lm runtime) over
// a bare LibTorch loop on the same TorchScript file (torch::jit::load; prefill, then step with
// the last token, argmax of the last logits on the tensor), on the same prompts, interleaved in
// ABBA order so that drifts of the machine fall on both sides alike; then TPOT against the output
// length with the model's cache and by recomputing the prefix.
//
//   greenlight_generation_benchmark [--rounds N] [--queries Q] [--new-tokens N] [--threads T]
//                                   [--table-queries Q] [--models-dir DIR]
//
// Prints the p50 time per output token (TPOT = (e2e - TTFT) / (n - 1) per query) and TTFT of
// each side over all rounds pooled and their ratios (goal for TPOT <= 1.05), the median of the
// per-round ratios and the ratio of the best rounds; then a table of TPOT p50 and the mean step
// time of the first and last quarter of the output, per mode and output length. Exits 0 (the
// figures are measurements, not a test; docs/language-models.md).
#include <benchmark/benchmark.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "core/stats.h"
#include "datasets/dataset.h"
#include "harness/generation.h"
#include "models/model_registry.h"

namespace gl = greenlight;
namespace h = greenlight::harness;

namespace {

constexpr int64_t kPromptTokens = 32;
constexpr int64_t kContext = 128;

struct Options {
  int rounds = 8;
  int64_t queries = 40;
  int64_t new_tokens = 64;
  int threads = 1;
  int64_t warmup = 4;
  int64_t table_queries = 20;
  std::filesystem::path models_dir =
      std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples" / "models";
};

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Per-query times of one side of a round.
struct Times {
  std::vector<double> tpot_us;
  std::vector<double> ttft_us;
};

// The bare loop: the module's prefill on the prompt, then step with the last token and the cache;
// each token is the argmax of the last position's logits, read back with item().
void BareRound(torch::jit::Module& module, const std::vector<std::vector<int64_t>>& prompts,
               const Options& o, Times& out) {
  torch::NoGradGuard no_grad;
  size_t next = 0;
  auto query = [&](bool timed) {
    const std::vector<int64_t>& prompt = prompts[next];
    if (++next == prompts.size()) next = 0;
    const int64_t t0 = SteadyNs();
    const torch::Tensor tokens =
        torch::from_blob(const_cast<int64_t*>(prompt.data()),
                         {1, static_cast<int64_t>(prompt.size())}, torch::kInt64);
    auto result = module.run_method("prefill", tokens).toTuple();
    torch::Tensor logits = result->elements()[0].toTensor();
    torch::Tensor cache = result->elements()[1].toTensor();
    int64_t token = logits[0][-1].argmax().item<int64_t>();
    const int64_t t1 = SteadyNs();
    for (int64_t k = 1; k < o.new_tokens; ++k) {
      const torch::Tensor last = torch::full({1, 1}, token, torch::kInt64);
      auto step = module.run_method("step", last, cache).toTuple();
      logits = step->elements()[0].toTensor();
      cache = step->elements()[1].toTensor();
      token = logits[0][-1].argmax().item<int64_t>();
    }
    const int64_t t2 = SteadyNs();
    benchmark::DoNotOptimize(token);
    if (timed) {
      out.ttft_us.push_back(static_cast<double>(t1 - t0) / 1e3);
      out.tpot_us.push_back(static_cast<double>(t2 - t1) / 1e3 /
                            static_cast<double>(o.new_tokens - 1));
    }
  };
  for (int64_t i = 0; i < o.warmup; ++i) query(false);
  for (int64_t i = 0; i < o.queries; ++i) query(true);
}

h::GenerationSettings Settings(const Options& o, int64_t queries, int64_t new_tokens,
                               h::DecodeMode mode) {
  h::GenerationSettings s;
  s.prompt_tokens = kPromptTokens;
  s.max_new_tokens = new_tokens;
  s.threads = o.threads;
  s.warmup_queries = o.warmup;
  s.min_queries = queries;
  s.min_duration_s = 0.0;  // Same query count on both sides.
  s.repetitions = h::kMinRepetitions;
  s.decode = mode;
  return s;
}

void GreenlightRound(gl::Model& model, const std::vector<std::vector<int64_t>>& prompts,
                     const Options& o, Times& out) {
  const auto run = h::RunGeneration(model, prompts,
                                    Settings(o, o.queries, o.new_tokens, h::DecodeMode::kAuto), {});
  for (int64_t q = 0; q < run->run.queries; ++q) {
    const auto e2e = static_cast<double>(run->run.latencies_ns[static_cast<size_t>(q)]);
    const auto ttft = static_cast<double>(run->ttft_ns[static_cast<size_t>(q)]);
    out.ttft_us.push_back(ttft / 1e3);
    out.tpot_us.push_back((e2e - ttft) / 1e3 / static_cast<double>(o.new_tokens - 1));
  }
}

double P50(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return gl::stats::QuantileSorted(v, 0.5);
}

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rounds") {
      o.rounds = std::stoi(next());
    } else if (a == "--queries") {
      o.queries = std::stoll(next());
    } else if (a == "--new-tokens") {
      o.new_tokens = std::stoll(next());
    } else if (a == "--threads") {
      o.threads = std::stoi(next());
    } else if (a == "--table-queries") {
      o.table_queries = std::stoll(next());
    } else if (a == "--models-dir") {
      o.models_dir = next();
    } else {
      std::cerr << "unknown option " << a
                << "\nusage: greenlight_generation_benchmark [--rounds N] [--queries Q] "
                   "[--new-tokens N] [--threads T] [--table-queries Q] [--models-dir DIR]\n";
      return false;
    }
  }
  return o.rounds > 0 && o.queries >= h::kMinRepetitions && o.new_tokens >= 2 &&
         o.new_tokens + kPromptTokens <= kContext && o.table_queries >= h::kMinRepetitions;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Options o;
  try {
    if (!ParseOptions(argc, argv, o)) return 3;
    const std::filesystem::path file = o.models_dir / "tiny_lm.pt";
    gl::ModelSpec spec;
    spec.format = "causal_lm";
    spec.path = file;
    spec.tokenizer = gl::TokenizerSpec{};
    spec.context_length = kContext;
    const std::unique_ptr<gl::Model> model = gl::BuiltinModelRegistry().Load(spec);
    torch::jit::Module bare = torch::jit::load(file.string());
    bare.eval();
    model->SetThreads(o.threads);  // Process-wide: both sides.

    gl::DatasetSpec d;
    d.format = "text";
    d.path = std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples/data/lm/heldout.txt";
    d.split = "paragraphs";
    const std::unique_ptr<gl::Dataset> data = gl::LoadDataset(d);
    // The paragraphs long enough for the prompt (a few are shorter than kPromptTokens bytes).
    auto& lm = gl::RequireCapability<gl::CausalLanguageModel>(*model);
    std::vector<std::string> texts;
    for (const std::string& text : data->texts()) {
      if (static_cast<int64_t>(lm.tokenizer().Encode(text).ids.size()) >= kPromptTokens) {
        texts.push_back(text);
      }
    }
    const auto prompts = h::BuildPrompts(lm, texts, Settings(o, 1, o.new_tokens, {}));

    benchmark::BenchmarkReporter::Context context;
    benchmark::BenchmarkReporter::PrintBasicContext(&std::cout, context);
    std::printf(
        "tiny_lm.pt, %zu prompts of %lld tokens, %lld new tokens, greedy; %d rounds x %lld "
        "queries per side, %d intra-op thread(s), warm-up %lld, ABBA order\n",
        prompts.size(), static_cast<long long>(kPromptTokens), static_cast<long long>(o.new_tokens),
        o.rounds, static_cast<long long>(o.queries), o.threads, static_cast<long long>(o.warmup));
    Times ours_all, bare_all;
    std::vector<double> tpot_ratios;
    double ours_best = 0.0, bare_best = 0.0;
    for (int r = 0; r < o.rounds; ++r) {
      Times ours, base;
      if (r % 4 == 0 || r % 4 == 3) {
        GreenlightRound(*model, prompts, o, ours);
        BareRound(bare, prompts, o, base);
      } else {
        BareRound(bare, prompts, o, base);
        GreenlightRound(*model, prompts, o, ours);
      }
      const double op = P50(ours.tpot_us), bp = P50(base.tpot_us);
      tpot_ratios.push_back(op / bp);
      ours_best = r == 0 ? op : std::min(ours_best, op);
      bare_best = r == 0 ? bp : std::min(bare_best, bp);
      for (Times* t : {&ours, &base}) {
        Times& all = t == &ours ? ours_all : bare_all;
        all.tpot_us.insert(all.tpot_us.end(), t->tpot_us.begin(), t->tpot_us.end());
        all.ttft_us.insert(all.ttft_us.end(), t->ttft_us.begin(), t->ttft_us.end());
      }
    }
    std::sort(tpot_ratios.begin(), tpot_ratios.end());
    std::printf("%-10s %14s %12s %10s %13s %11s %21s\n", "figure", "greenlight us", "bare us",
                "p50 ratio", "round median", "best round", "per-round range");
    std::printf("%-10s %14.2f %12.2f %10.4f %13.4f %11.4f %9.4f .. %-9.4f\n", "TPOT p50",
                P50(ours_all.tpot_us), P50(bare_all.tpot_us),
                P50(ours_all.tpot_us) / P50(bare_all.tpot_us),
                gl::stats::QuantileSorted(tpot_ratios, 0.5), ours_best / bare_best,
                tpot_ratios.front(), tpot_ratios.back());
    std::printf("%-10s %14.2f %12.2f %10.4f\n", "TTFT p50", P50(ours_all.ttft_us),
                P50(bare_all.ttft_us), P50(ours_all.ttft_us) / P50(bare_all.ttft_us));
    std::fflush(stdout);

    // TPOT against the output length, per decode mode.
    std::printf("\nTPOT against output length (%lld queries each, prompt %lld tokens)\n",
                static_cast<long long>(o.table_queries), static_cast<long long>(kPromptTokens));
    std::printf("%-10s %10s %14s %20s %19s %10s\n", "mode", "new tokens", "TPOT p50 ms",
                "first-quarter ms", "last-quarter ms", "last/first");
    for (h::DecodeMode mode : {h::DecodeMode::kAuto, h::DecodeMode::kRecompute}) {
      for (int64_t n : {16, 32, 64, 96}) {
        const auto run =
            h::RunGeneration(*model, prompts, Settings(o, o.table_queries, n, mode), {});
        std::vector<double> tpot;
        for (int64_t q = 0; q < run->run.queries; ++q) {
          tpot.push_back(static_cast<double>(run->run.latencies_ns[static_cast<size_t>(q)] -
                                             run->ttft_ns[static_cast<size_t>(q)]) /
                         1e6 / static_cast<double>(n - 1));
        }
        // Mean step time per position, then the first and last quarter of the positions.
        const size_t steps = static_cast<size_t>(n - 1);
        std::vector<double> by_position(steps, 0.0);
        for (int64_t q = 0; q < run->run.queries; ++q) {
          for (size_t k = 0; k < steps; ++k) {
            by_position[k] +=
                static_cast<double>(run->step_ns[static_cast<size_t>(q) * steps + k]) / 1e6 /
                static_cast<double>(run->run.queries);
          }
        }
        const size_t quarter = std::max<size_t>(steps / 4, 1);
        const double first =
            std::accumulate(by_position.begin(), by_position.begin() + quarter, 0.0) / quarter;
        const double last =
            std::accumulate(by_position.end() - quarter, by_position.end(), 0.0) / quarter;
        std::printf("%-10s %10lld %14.4f %20.4f %19.4f %10.3f\n",
                    run->cache ? "cache" : "recompute", static_cast<long long>(n), P50(tpot), first,
                    last, last / first);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "greenlight_generation_benchmark: " << e.what() << "\n";
    return 4;
  }
  benchmark::Shutdown();
  return 0;
}
