// Internal to harness/: the Google Benchmark reporter the timed runs use to collect their runs and
// the machine context (harness.cc, generation.cc). Includes Google Benchmark, which the harness
// links PRIVATE: no header outside harness/ includes this one.
#pragma once

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "harness/harness.h"

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

}  // namespace greenlight::harness
