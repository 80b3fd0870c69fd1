// Streaming datasets (docs/datasets.md, "Streaming"; docs/scale-out.md): does the memory of an
// audit stay flat as the rows grow, and what does reading rows in blocks cost against a bare loop?
//
//   greenlight_streaming_benchmark [--greenlight PATH] [--rounds R] [--skip-memory] [--skip-speed]
//
// Memory: `greenlight -q audit` of one accuracy criterion (one intra-op thread), each a fresh
// process, its peak resident set taken from wait4 (the largest of the audit and its model worker):
//   - the Fashion-MNIST CNN on the 10,000 test images and the 60,000 training images (IDX, gzip'd);
//   - the HMDA credit model on synthetic CSV tables of 10,000 and 1,000,000 rows (the 2,380 rows of
//     examples/data/hmda.csv repeated, written by this program to a temporary folder).
// Goal: the larger run's peak within +15 % of the smaller one's.
//
// Speed: rows per second of the rows pass (an in-process audit of one accuracy criterion on the
// 10,000 test images: blocks read from the gzip'd file, the forward passes, the counts) against a
// bare loop over the same rows already in memory (torch::jit forward on batches of 256 and an
// argmax), R rounds in ABBA order so that drift falls on both. Goal: ratio >= 0.95.
//
// Exit 0 always: the figures are a measurement, not a test.
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "datasets/dataset.h"
#include "engine/audit.h"
#include "engine/criteria.h"

namespace fs = std::filesystem;
namespace gl = greenlight;

namespace {

const fs::path kSource = GREENLIGHT_SOURCE_DIR;
const fs::path kFashion = "/usr/share/datasets/fashion-mnist";

struct Options {
  fs::path greenlight = GREENLIGHT_CLI;
  int rounds = 4;
  bool memory = true;
  bool speed = true;
};

std::string Header(const std::string& name) {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: " + name +
         ", version: '1'}\nsettings: {threads: 1}\n";
}

std::string FashionCriteria(const std::string& set) {
  return Header("streaming-" + set) +
         "model: {path: " + (kSource / "examples" / "models" / "fashion_cnn.pt").string() +
         ", output: log_probabilities, input: {shape: [1, 28, 28], range: [0, 1]}}\n"
         "dataset:\n  format: idx\n  images: " +
         (kFashion / (set + "-images-idx3-ubyte.gz")).string() +
         "\n  labels: " + (kFashion / (set + "-labels-idx1-ubyte.gz")).string() +
         "\n  scale: 0.00392156862745098\n"
         "criteria:\n  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n";
}

std::string CsvCriteria(const fs::path& table) {
  return Header("streaming-csv") +
         "model: {path: " + (kSource / "examples" / "models" / "hmda_credit.pt").string() +
         ", output: logits, input: {shape: [12]}}\n"
         "dataset:\n  format: csv\n  path: " +
         table.string() +
         "\n  features: [pirat, hirat, lvrat, chist, mhist, phist, unemp, selfemp, insurance,"
         " condomin, single, hschool]\n"
         "  encode: {phist: {'no': 0, 'yes': 1}, selfemp: {'no': 0, 'yes': 1}, insurance: "
         "{'no': 0, 'yes': 1}, condomin: {'no': 0, 'yes': 1}, single: {'no': 0, 'yes': 1}, "
         "hschool: {'no': 0, 'yes': 1}}\n"
         "  label: {column: deny, positive: 'yes'}\n"
         "criteria:\n  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n";
}

// The HMDA table's rows repeated until `rows` data rows.
void WriteSyntheticCsv(const fs::path& path, int64_t rows) {
  std::ifstream in(kSource / "examples" / "data" / "hmda.csv");
  std::string header;
  std::getline(in, header);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::ofstream out(path);
  out << header << "\n";
  for (int64_t r = 0; r < rows; ++r) out << lines[static_cast<size_t>(r) % lines.size()] << "\n";
}

struct Peak {
  int exit_code = -1;
  double peak_mb = 0.0;
  double wall_s = 0.0;
};

// Runs `greenlight -q audit` on `criteria` in a child process; its peak resident set from wait4.
Peak Audit(const Options& o, const fs::path& criteria, const fs::path& out) {
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string crit = criteria.string();
    const std::string dir = out.string();
    const std::string bin = o.greenlight.string();
    std::freopen("/dev/null", "w", stdout);
    ::execl(bin.c_str(), bin.c_str(), "-q", "audit", "--criteria", crit.c_str(), "--out",
            dir.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  Peak p;
  p.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  p.peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux.
  p.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return p;
}

void Memory(const Options& o, const fs::path& tmp) {
  struct Case {
    std::string name;
    int64_t rows;
    std::string criteria;
  };
  std::printf("generating the synthetic CSV tables...\n");
  WriteSyntheticCsv(tmp / "hmda-10k.csv", 10000);
  WriteSyntheticCsv(tmp / "hmda-1m.csv", 1000000);
  const std::vector<std::pair<Case, Case>> pairs = {
      {{"fashion idx t10k", 10000, FashionCriteria("t10k")},
       {"fashion idx train", 60000, FashionCriteria("train")}},
      {{"hmda csv 10k", 10000, CsvCriteria(tmp / "hmda-10k.csv")},
       {"hmda csv 1m", 1000000, CsvCriteria(tmp / "hmda-1m.csv")}},
  };
  std::printf("\npeak resident memory of `greenlight -q audit` (accuracy, one thread)\n");
  std::printf("%-20s %10s %12s %8s %6s\n", "dataset", "rows", "peak (MB)", "wall (s)", "exit");
  for (const auto& [small, large] : pairs) {
    double peaks[2] = {0, 0};
    int k = 0;
    for (const Case& c : {small, large}) {
      const fs::path criteria = tmp / (std::to_string(c.rows) + "-" + std::to_string(k) + ".yaml");
      std::ofstream(criteria) << c.criteria;
      const Peak p = Audit(o, criteria, tmp / ("out-" + std::to_string(c.rows)));
      std::printf("%-20s %10lld %12.1f %8.1f %6d\n", c.name.c_str(), static_cast<long long>(c.rows),
                  p.peak_mb, p.wall_s, p.exit_code);
      peaks[k++] = p.peak_mb;
    }
    std::printf("  ratio %s / %s: %.3f (goal <= 1.15)\n", large.name.c_str(), small.name.c_str(),
                peaks[1] / peaks[0]);
  }
}

void Speed(const Options& o, const fs::path& tmp) {
  const fs::path criteria_path = tmp / "speed.yaml";
  std::ofstream(criteria_path) << FashionCriteria("t10k");
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::CriteriaFile criteria = gl::LoadCriteria(criteria_path, registry);
  // The bare loop's rows, in memory before it starts.
  const std::unique_ptr<gl::Dataset> data = gl::LoadDataset(criteria.dataset);
  torch::jit::Module module =
      torch::jit::load((kSource / "examples" / "models" / "fashion_cnn.pt").string());
  module.eval();
  at::set_num_threads(1);
  const int64_t rows = data->rows();
  auto bare = [&] {
    torch::NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    int64_t right = 0;
    for (int64_t b = 0; b < rows; b += 256) {
      const int64_t n = std::min<int64_t>(256, rows - b);
      const torch::Tensor x =
          torch::from_blob(const_cast<float*>(data->features().data()) + b * 784, {n, 1, 28, 28});
      const torch::Tensor predicted = module.forward({x}).toTensor().argmax(1);
      const auto* p = predicted.data_ptr<int64_t>();
      for (int64_t i = 0; i < n; ++i) right += p[i] == data->labels()[static_cast<size_t>(b + i)];
    }
    if (right < 0) std::printf("impossible\n");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto streamed = [&] {
    gl::AuditOptions options;
    options.isolate_model = false;
    const gl::AuditOutcome out = gl::RunAudit(criteria, registry, options);
    return out.results.at(0).result.elapsed_s;
  };
  std::vector<double> a, b;
  for (int r = 0; r < o.rounds; ++r) {
    if (r % 4 == 0 || r % 4 == 3) {
      a.push_back(bare());
      b.push_back(streamed());
    } else {
      b.push_back(streamed());
      a.push_back(bare());
    }
    std::printf("round %d: bare %.3f s, rows pass %.3f s\n", r + 1, a.back(), b.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  const double ma = median(a), mb = median(b);
  std::printf("\nrows/s on %lld rows: bare loop %.0f, rows pass %.0f; ratio %.3f (goal >= 0.95)\n",
              static_cast<long long>(rows), rows / ma, rows / mb, ma / mb);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--greenlight" && i + 1 < argc) {
      o.greenlight = argv[++i];
    } else if (arg == "--rounds" && i + 1 < argc) {
      o.rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--skip-memory") {
      o.memory = false;
    } else if (arg == "--skip-speed") {
      o.speed = false;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--greenlight PATH] [--rounds R] [--skip-memory] [--skip-speed]\n",
                   argv[0]);
      return 3;
    }
  }
  const fs::path tmp =
      fs::temp_directory_path() / ("greenlight-streaming-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  if (o.memory) Memory(o, tmp);
  if (o.speed) Speed(o, tmp);
  fs::remove_all(tmp);
  return 0;
}
