// Cost of running the model in a supervised worker process (engine/supervisor.h): the demo's model
// work (criteria/demo.yaml without its timed runs, whose length is set by min_duration_s, not by
// the model) audited in this process and in a supervised worker, side by side in one program,
// interleaved in ABBA order so that drifts of the machine affect both sides alike.
//
//   greenlight_supervision_benchmark [--rounds N] [--limit ROWS] [--criteria FILE]
//
// Prints the median wall time of each side, the ratio of the medians (goal <= 1.02), the median
// of the per-round ratios and the ratio of the fastest runs, and exits 0 (the ratio is a
// measurement, not a test; see docs/hardening.md).
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "core/stats.h"
#include "engine/audit.h"
#include "engine/criteria.h"

namespace gl = greenlight;

namespace {

struct Options {
  int rounds = 4;
  int64_t limit = 0;  // Dataset rows; 0: the criteria's own.
  std::filesystem::path criteria =
      std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "criteria" / "demo.yaml";
};

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--rounds") {
      o.rounds = std::stoi(next());
    } else if (a == "--limit") {
      o.limit = std::stoll(next());
    } else if (a == "--criteria") {
      o.criteria = next();
    } else {
      std::cerr << "unknown argument " << a
                << "\nusage: greenlight_supervision_benchmark [--rounds N] [--limit ROWS] "
                   "[--criteria FILE]\n";
      return false;
    }
  }
  return o.rounds > 0 && o.limit >= 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return gl::stats::QuantileSorted(v, 0.5);
}

// Wall seconds of one supervised audit, timed here (the worker's start and the model's loading
// included).
double SupervisedSeconds(const gl::CriteriaFile& criteria, const gl::AuditorRegistry& registry) {
  gl::AuditOptions options;
  const auto t0 = std::chrono::steady_clock::now();
  const gl::AuditOutcome outcome = gl::RunAudit(criteria, registry, options);
  benchmark::DoNotOptimize(outcome.results.data());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Wall seconds of one audit run in-process, as before supervision, timed inside a child forked
// for it: this process never runs the model itself (LibTorch's OpenMP pool does not survive a
// fork, and the supervised side forks its workers from here), and each side starts, as a
// `greenlight audit` does, in a process that has not run the model yet.
double InProcessSeconds(const gl::CriteriaFile& criteria, const gl::AuditorRegistry& registry) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    gl::AuditOptions options;
    options.isolate_model = false;
    const auto t0 = std::chrono::steady_clock::now();
    const gl::AuditOutcome outcome = gl::RunAudit(criteria, registry, options);
    benchmark::DoNotOptimize(outcome.results.data());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool ok = ::write(fds[1], &s, sizeof s) == static_cast<ssize_t>(sizeof s);
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  double s = -1.0;
  const bool ok = ::read(fds[0], &s, sizeof s) == static_cast<ssize_t>(sizeof s);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!ok) throw std::runtime_error("the in-process audit failed");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // Google Benchmark's own --benchmark_* flags.
  Options o;
  if (!ParseArgs(argc, argv, o)) return 3;
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  gl::CriteriaFile criteria = gl::LoadCriteria(o.criteria, registry);
  // The model's own work only: a timed run lasts min_duration_s whoever runs it.
  std::erase_if(criteria.criteria,
                [](const gl::Criterion& c) { return c.params.contains("scenario"); });
  if (o.limit > 0) criteria.dataset.limit = o.limit;

  benchmark::BenchmarkReporter::Context context;
  benchmark::BenchmarkReporter::PrintBasicContext(&std::cout, context);
  std::printf("%s: %zu criteria (timed runs left out), %d rounds per side, ABBA order\n",
              o.criteria.filename().string().c_str(), criteria.criteria.size(), o.rounds);
  // One untimed audit per side first: page cache, LibTorch's lazy initialisation.
  InProcessSeconds(criteria, registry);
  SupervisedSeconds(criteria, registry);
  std::vector<double> in_process, supervised, ratios;
  for (int r = 0; r < o.rounds; ++r) {
    double a = 0, b = 0;
    if (r % 4 == 0 || r % 4 == 3) {
      a = InProcessSeconds(criteria, registry);
      b = SupervisedSeconds(criteria, registry);
    } else {
      b = SupervisedSeconds(criteria, registry);
      a = InProcessSeconds(criteria, registry);
    }
    in_process.push_back(a);
    supervised.push_back(b);
    ratios.push_back(b / a);
    std::printf("round %d: in-process %.3f s, supervised %.3f s, ratio %.4f\n", r + 1, a, b, b / a);
  }
  const double a50 = Median(in_process);
  const double b50 = Median(supervised);
  std::printf("%-12s %14s %14s %12s %14s %14s\n", "model work", "in-process s", "supervised s",
              "ratio", "round median", "fastest ratio");
  std::printf("%-12s %14.3f %14.3f %12.4f %14.4f %14.4f\n", "demo", a50, b50, b50 / a50,
              Median(ratios),
              *std::min_element(supervised.begin(), supervised.end()) /
                  *std::min_element(in_process.begin(), in_process.end()));
  benchmark::Shutdown();
  return 0;
}
