// Internal to harness/: what the timed runs (harness.cc, generation.cc) share: the Google
// Benchmark reporter that collects their runs and the machine context, the clocks, the number
// format of run keys and the intra-op threads guard. Includes Google Benchmark, which the harness
// links PRIVATE: no header outside harness/ includes this one.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "harness/harness.h"
#include "models/model.h"

namespace greenlight::harness {

// Collects Google Benchmark's runs and its machine context; prints nothing.
class CollectingReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& context) override {
    // The JSON reporter knows fields the Context struct does not expose (library build type);
    // let it write the context and parse that back.
    std::ostringstream out, err;
    benchmark::JSONReporter json;
    json.SetOutputStream(&out);
    json.SetErrorStream(&err);
    json.ReportContext(context);
    json.Finalize();
    BenchmarkContext c;
    try {
      c.raw = nlohmann::json::parse(out.str()).value("context", nlohmann::json::object());
    } catch (const nlohmann::json::exception&) {
      c.raw = nlohmann::json::object();
    }
    c.num_cpus = context.cpu_info.num_cpus;
    c.mhz_per_cpu = context.cpu_info.cycles_per_second / 1e6;
    switch (context.cpu_info.scaling) {
      case benchmark::CPUInfo::ENABLED:
        c.cpu_scaling = "enabled";
        break;
      case benchmark::CPUInfo::DISABLED:
        c.cpu_scaling = "disabled";
        break;
      default:
        c.cpu_scaling = "unknown";
        break;
    }
    c.library_build_type = c.raw.value("library_build_type", "unknown");
    c.host_name = c.raw.value("host_name", context.sys_info.name);
    context_ = std::move(c);
    return true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    runs_.insert(runs_.end(), runs.begin(), runs.end());
  }

  const BenchmarkContext& context() const { return context_; }
  const std::vector<Run>& runs() const { return runs_; }

 private:
  BenchmarkContext context_;
  std::vector<Run> runs_;
};

// steady_clock ns since its epoch; system_clock ns since the Unix epoch.
inline int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline int64_t SystemNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A setting in a run key ("%g").
inline std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// Restores the model's intra-op thread count when a run asked for another.
class ThreadsGuard {
 public:
  ThreadsGuard(Model& model, int threads) : model_(model), previous_(model.threads()) {
    if (threads > 0) model_.SetThreads(threads);
  }
  ~ThreadsGuard() { model_.SetThreads(previous_); }
  ThreadsGuard(const ThreadsGuard&) = delete;
  ThreadsGuard& operator=(const ThreadsGuard&) = delete;

 private:
  Model& model_;
  int previous_;
};

}  // namespace greenlight::harness
