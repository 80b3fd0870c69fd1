// The timed run as framework work: the run settings every efficiency and energy metric binds (one
// parameter struct, declared once), the Work that runs the timing harness once per distinct
// settings with the plan's instruments attached, and the run's sufficient statistics for a range
// of its queries (per-query latencies, the repetitions' query counts and times, and the run's own
// facts), mergeable exactly and lossless through JSON.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auditors/metric.h"
#include "auditors/params.h"
#include "harness/harness.h"

namespace greenlight::efficiency {

// The run settings of a criterion (names as in the criteria file). batch_size absent: 1 in
// single_stream, 32 in offline; device absent: the model's device.
struct RunParams {
  std::string scenario = "single_stream";
  std::optional<int64_t> batch_size;
  int64_t threads = 0;
  std::optional<std::string> device;
  int64_t warmup_queries = 64;
  int64_t min_queries = 1024;
  double min_duration_s = 10.0;
  double max_duration_s = 0.0;
  int64_t repetitions = 10;
};

harness::RunSettings ToSettings(const RunParams& params);

namespace run_detail {
template <typename P, typename T>
T P::*Member(T RunParams::*member) {
  return member;  // A member of the base is a member of the derived struct.
}
}  // namespace run_detail

// Adds the run settings' fields and their cross-field rule to the schema of a parameter struct P
// that derives from RunParams.
template <typename P>
ParamSchema<P>& AddRunFields(ParamSchema<P>& schema) {
  auto field = [](auto member) { return run_detail::Member<P>(member); };
  schema
      .Field("scenario", field(&RunParams::scenario), "MLPerf-style scenario",
             OneOf({"single_stream", "offline"}))
      .Field("batch_size", field(&RunParams::batch_size),
             "samples per query (1 in single_stream; default 32 in offline)", AtLeast(1))
      .Field("threads", field(&RunParams::threads),
             "intra-op threads during the run (0: LibTorch default)", AtLeast(0))
      .Field("device", field(&RunParams::device),
             "cpu, cuda or cuda:N (default: the model's device)")
      .Field("warmup_queries", field(&RunParams::warmup_queries), "untimed queries before the run",
             AtLeast(0))
      .Field("min_queries", field(&RunParams::min_queries),
             "run-length rule: at least this many timed queries", AtLeast(1))
      .Field("min_duration_s", field(&RunParams::min_duration_s),
             "run-length rule: timed part at least this long", AtLeast(0))
      .Field("max_duration_s", field(&RunParams::max_duration_s),
             "stop the timed run after this long (0: no maximum); a run stopped before its "
             "minimums is INCONCLUSIVE",
             AtLeast(0))
      .Field("repetitions", field(&RunParams::repetitions),
             "contiguous repetitions the timed run is split into; timing and energy intervals "
             "come from the spread between them (at least 5)",
             Between(harness::kMinRepetitions, 1000))
      .Check([](const P& p) {
        if (p.scenario == "single_stream" && p.batch_size && *p.batch_size != 1) {
          throw ParamError("batch_size",
                           "single_stream queries have batch_size 1 (use scenario: offline for "
                           "batches)");
        }
      });
  return schema;
}

// One or more harness runs (a sweep runs one per configuration); rows() counts the queries of
// all of them, run after run.
struct TimedRunRecord final : WorkRecord {
  std::vector<std::shared_ptr<const harness::RunResult>> runs;
  int64_t rows() const override;
};

// Runs the harness once for each of `settings` (in order) on the audit's model and dataset. The
// key is exact: CanonicalText of every setting of every configuration. Instruments see Begin/End
// around the first run's timed queries and BeginRepetition/EndRepetition around each of its
// repetitions.
class TimedRunWork final : public Work {
 public:
  explicit TimedRunWork(std::vector<harness::RunSettings> settings);
  std::string key() const override { return key_; }
  // Timing is a property of the node: measured on the one shard asked to time.
  Sharding sharding() const override { return Sharding::kOnce; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const> instruments) const override;

 private:
  std::vector<harness::RunSettings> settings_;
  std::string key_;
};

// The harness window observer that forwards a run's windows to the plan's instruments: the window
// `key` to Begin/End, RepetitionWindow(key, r) for r = 1..repetitions to
// BeginRepetition/EndRepetition(r); other windows are ignored. `instruments` are not owned and
// must outlive the observer.
std::shared_ptr<harness::WindowObserver> InstrumentObserver(
    std::span<Instrument* const> instruments, std::string key, int repetitions);

// A run's facts without its per-query latencies and repetitions, as lossless JSON; and back.
nlohmann::json RunFactsToJson(const harness::RunResult& run);
harness::RunResult RunFactsFromJson(const nlohmann::json& facts);

// The statistics of queries [begin, end) of a record's runs. A run's facts travel with the part
// that holds its first query; a repetition's time with the part that holds its first query; the
// latencies (kept only when `latencies` is set) and query counts with their queries.
struct TimedRunStats {
  struct RepetitionPart {
    int64_t index = 0;  // 0-based repetition of its run.
    int64_t first_query = 0;
    int64_t queries = 0;
    int64_t timed_ns = 0;  // Whole repetition's time, in the part holding its first query; else 0.
  };
  struct RunPart {
    int64_t run = 0;          // Index into the record's runs.
    nlohmann::json facts;     // RunFactsToJson, or null in the parts without the first query.
    int64_t first_query = 0;  // Within its run.
    int64_t queries = 0;      // Queries of this part.
    std::vector<int64_t> latencies_ns;  // queries of them, or empty when not kept.
    std::vector<RepetitionPart> repetitions;
  };
  std::vector<RunPart> runs;

  static TimedRunStats Of(const TimedRunRecord& record, RowRange rows, bool latencies);
  // Exact for parts of consecutive query ranges merged in order. Throws RuntimeError otherwise.
  void Merge(const TimedRunStats& other);
  nlohmann::json ToJson() const;
  static TimedRunStats FromJson(const nlohmann::json& j);
  // The runs again, when every part has been merged (RuntimeError otherwise): facts, latencies
  // (when kept) and repetitions as the harness recorded them.
  std::vector<harness::RunResult> Runs() const;
};

}  // namespace greenlight::efficiency
