#include "auditors/efficiency/timed_run.h"

#include <algorithm>

#include "core/error.h"
#include "core/json_limits.h"

namespace greenlight::efficiency {

harness::RunSettings ToSettings(const RunParams& p) {
  harness::RunSettings s;
  s.scenario = harness::ParseScenario(p.scenario);
  s.batch_size = p.batch_size.value_or(s.scenario == harness::Scenario::kOffline ? 32 : 1);
  s.threads = static_cast<int>(p.threads);
  s.device = p.device.value_or("");
  s.warmup_queries = p.warmup_queries;
  s.min_queries = p.min_queries;
  s.min_duration_s = p.min_duration_s;
  s.max_duration_s = p.max_duration_s;
  s.repetitions = static_cast<int>(p.repetitions);
  return s;
}

namespace {

nlohmann::json SettingsToJson(const harness::RunSettings& s) {
  return {{"scenario", harness::ScenarioName(s.scenario)},
          {"batch_size", s.batch_size},
          {"threads", s.threads},
          {"device", s.device},
          {"warmup_queries", s.warmup_queries},
          {"min_queries", s.min_queries},
          {"min_duration_s", s.min_duration_s},
          {"max_duration_s", s.max_duration_s},
          {"repetitions", s.repetitions}};
}

harness::RunSettings SettingsFromJson(const nlohmann::json& j) {
  harness::RunSettings s;
  s.scenario = harness::ParseScenario(j.at("scenario").get<std::string>());
  s.batch_size = JsonInteger<int64_t>(j.at("batch_size"), "batch_size");
  s.threads = JsonInteger<int>(j.at("threads"), "threads");
  s.device = j.at("device").get<std::string>();
  s.warmup_queries = JsonInteger<int64_t>(j.at("warmup_queries"), "warmup_queries");
  s.min_queries = JsonInteger<int64_t>(j.at("min_queries"), "min_queries");
  s.min_duration_s = j.at("min_duration_s").get<double>();
  s.max_duration_s = j.at("max_duration_s").get<double>();
  s.repetitions = JsonInteger<int>(j.at("repetitions"), "repetitions");
  return s;
}

// Forwards the harness's windows to the plan's instruments: the run's window to Begin/End, the
// repetitions' windows to BeginRepetition/EndRepetition.
class InstrumentWindows final : public harness::WindowObserver {
 public:
  InstrumentWindows(std::span<Instrument* const> instruments, int repetitions)
      : instruments_(instruments.begin(), instruments.end()), repetitions_(repetitions) {}
  void set_key(std::string key) { key_ = std::move(key); }

  void Begin(const std::string& window) override {
    if (window == key_) {
      for (Instrument* in : instruments_) in->Begin();
    } else if (int r = Repetition(window)) {
      for (Instrument* in : instruments_) in->BeginRepetition(r);
    }
  }
  void End(const std::string& window) override {
    // Reverse order of Begin, so nested meter windows stay nested.
    if (window == key_) {
      for (auto it = instruments_.rbegin(); it != instruments_.rend(); ++it) (*it)->End();
    } else if (int r = Repetition(window)) {
      for (auto it = instruments_.rbegin(); it != instruments_.rend(); ++it) {
        (*it)->EndRepetition(r);
      }
    }
  }

 private:
  int Repetition(const std::string& window) const {
    // The harness plans `repetitions` windows; a run stopped early has fewer, never more.
    for (int r = 1; r <= repetitions_; ++r) {
      if (window == harness::RepetitionWindow(key_, r)) return r;
    }
    return 0;
  }
  std::vector<Instrument*> instruments_;
  int repetitions_;
  std::string key_;
};

}  // namespace

std::shared_ptr<harness::WindowObserver> InstrumentObserver(
    std::span<Instrument* const> instruments, std::string key, int repetitions) {
  auto observer = std::make_shared<InstrumentWindows>(instruments, repetitions);
  observer->set_key(std::move(key));
  return observer;
}

int64_t TimedRunRecord::rows() const {
  int64_t n = 0;
  for (const auto& run : runs) n += run->queries;
  return n;
}

TimedRunWork::TimedRunWork(std::vector<harness::RunSettings> settings)
    : settings_(std::move(settings)) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& s : settings_) all.push_back(SettingsToJson(s));
  key_ = "timed-run:" + CanonicalText(all);
}

std::shared_ptr<const WorkRecord> TimedRunWork::Run(
    AuditContext& context, std::span<Instrument* const> instruments) const {
  Model* model = context.model();
  if (model == nullptr) {
    throw InputError("timing needs a model (this audit has recorded predictions only)");
  }
  auto record = std::make_shared<TimedRunRecord>();
  for (size_t i = 0; i < settings_.size(); ++i) {
    const harness::RunSettings& s = settings_[i];
    // Instruments measure around the first run only: a sweep's configurations are compared by
    // time, the energy metrics read one run.
    auto windows = InstrumentObserver(i == 0 ? instruments : std::span<Instrument* const>(),
                                      harness::RunKey(model->info(), s), s.repetitions);
    const std::string step = "benchmark " + harness::ScenarioName(s.scenario);
    context.Progress("", step, 0.0);
    record->runs.push_back(harness::Run(
        *model, context.Rows(harness::QueryRows(context.source().sample_size(), s.batch_size)), s,
        {windows}));
    context.Progress("", step, 1.0);
  }
  return record;
}

nlohmann::json RunFactsToJson(const harness::RunResult& r) {
  const harness::BenchmarkContext& c = r.context;
  return {{"key", r.key},
          {"settings", SettingsToJson(r.settings)},
          {"device", r.device},
          {"threads", r.threads},
          {"queries", r.queries},
          {"samples", r.samples},
          {"window_start_steady_ns", r.window_start_steady_ns},
          {"window_end_steady_ns", r.window_end_steady_ns},
          {"window_start_system_ns", r.window_start_system_ns},
          {"window_end_system_ns", r.window_end_system_ns},
          {"duration_ns", r.duration_ns},
          {"timed_ns", r.timed_ns},
          {"segments", r.segments},
          {"warmup_queries_run", r.warmup_queries_run},
          {"min_queries_met", r.min_queries_met},
          {"min_duration_met", r.min_duration_met},
          {"stopped_at_max_duration", r.stopped_at_max_duration},
          {"rss_before_bytes", r.rss_before_bytes},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"peak_rss_reset", r.peak_rss_reset},
          {"gbench_real_time_s", r.gbench_real_time_s},
          {"gbench_cpu_time_s", r.gbench_cpu_time_s},
          {"gbench_iterations", r.gbench_iterations},
          {"context",
           {{"num_cpus", c.num_cpus},
            {"mhz_per_cpu", c.mhz_per_cpu},
            {"cpu_scaling", c.cpu_scaling},
            {"library_build_type", c.library_build_type},
            {"host_name", c.host_name},
            {"raw", c.raw}}}};
}

harness::RunResult RunFactsFromJson(const nlohmann::json& j) {
  harness::RunResult r;
  try {
    r.key = j.at("key").get<std::string>();
    r.settings = SettingsFromJson(j.at("settings"));
    r.device = j.at("device").get<std::string>();
    r.threads = JsonInteger<int>(j.at("threads"), "threads");
    r.queries = JsonInteger<int64_t>(j.at("queries"), "queries");
    r.samples = JsonInteger<int64_t>(j.at("samples"), "samples");
    r.window_start_steady_ns =
        JsonInteger<int64_t>(j.at("window_start_steady_ns"), "window_start_steady_ns");
    r.window_end_steady_ns =
        JsonInteger<int64_t>(j.at("window_end_steady_ns"), "window_end_steady_ns");
    r.window_start_system_ns =
        JsonInteger<int64_t>(j.at("window_start_system_ns"), "window_start_system_ns");
    r.window_end_system_ns =
        JsonInteger<int64_t>(j.at("window_end_system_ns"), "window_end_system_ns");
    r.duration_ns = JsonInteger<int64_t>(j.at("duration_ns"), "duration_ns");
    r.timed_ns = JsonInteger<int64_t>(j.at("timed_ns"), "timed_ns");
    r.segments = JsonInteger<int>(j.at("segments"), "segments");
    r.warmup_queries_run = JsonInteger<int64_t>(j.at("warmup_queries_run"), "warmup_queries_run");
    r.min_queries_met = j.at("min_queries_met").get<bool>();
    r.min_duration_met = j.at("min_duration_met").get<bool>();
    r.stopped_at_max_duration = j.at("stopped_at_max_duration").get<bool>();
    r.rss_before_bytes = JsonInteger<int64_t>(j.at("rss_before_bytes"), "rss_before_bytes");
    r.peak_rss_bytes = JsonInteger<int64_t>(j.at("peak_rss_bytes"), "peak_rss_bytes");
    r.peak_rss_reset = j.at("peak_rss_reset").get<bool>();
    r.gbench_real_time_s = j.at("gbench_real_time_s").get<double>();
    r.gbench_cpu_time_s = j.at("gbench_cpu_time_s").get<double>();
    r.gbench_iterations = JsonInteger<int64_t>(j.at("gbench_iterations"), "gbench_iterations");
    const nlohmann::json& c = j.at("context");
    r.context.num_cpus = JsonInteger<int>(c.at("num_cpus"), "num_cpus");
    r.context.mhz_per_cpu = c.at("mhz_per_cpu").get<double>();
    r.context.cpu_scaling = c.at("cpu_scaling").get<std::string>();
    r.context.library_build_type = c.at("library_build_type").get<std::string>();
    r.context.host_name = c.at("host_name").get<std::string>();
    r.context.raw = c.at("raw");
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(std::string("timed-run statistics: malformed run facts: ") + e.what());
  }
  return r;
}

TimedRunStats TimedRunStats::Of(const TimedRunRecord& record, RowRange rows, bool latencies) {
  TimedRunStats out;
  int64_t offset = 0;  // First query of run i among all the record's queries.
  const int64_t total = record.rows();
  for (size_t i = 0; i < record.runs.size(); ++i) {
    const harness::RunResult& run = *record.runs[i];
    const int64_t b = std::clamp(rows.begin - offset, int64_t{0}, run.queries);
    const int64_t e = std::clamp(rows.end - offset, int64_t{0}, run.queries);
    // The run's facts go with the part holding its first query (the last part for a run that
    // recorded none).
    const bool has_start = rows.begin <= offset && (offset < rows.end || rows.end == total);
    if (e > b || has_start) {
      RunPart part;
      part.run = static_cast<int64_t>(i);
      if (has_start) part.facts = RunFactsToJson(run);
      part.first_query = b;
      part.queries = e - b;
      if (latencies) {
        part.latencies_ns.assign(run.latencies_ns.begin() + b, run.latencies_ns.begin() + e);
      }
      for (size_t k = 0; k < run.repetitions.size(); ++k) {
        const harness::Repetition& rep = run.repetitions[k];
        const int64_t rb = std::max(b, rep.first_query);
        const int64_t re = std::min(e, rep.first_query + rep.queries);
        const bool rep_start = b <= rep.first_query && rep.first_query < e;
        if (re <= rb && !rep_start) continue;
        part.repetitions.push_back({static_cast<int64_t>(k), rb, std::max<int64_t>(re - rb, 0),
                                    rep_start ? rep.timed_ns : 0});
      }
      out.runs.push_back(std::move(part));
    }
    offset += run.queries;
  }
  return out;
}

void TimedRunStats::Merge(const TimedRunStats& other) {
  for (const RunPart& part : other.runs) {
    if (runs.empty() || runs.back().run != part.run) {
      if (!runs.empty() && runs.back().run > part.run) {
        throw RuntimeError("timed-run statistics: parts merged out of order");
      }
      runs.push_back(part);
      continue;
    }
    RunPart& into = runs.back();
    if (into.first_query + into.queries != part.first_query) {
      throw RuntimeError("timed-run statistics: parts are not consecutive query ranges");
    }
    if (into.facts.is_null()) {
      into.facts = part.facts;
    } else if (!part.facts.is_null() && part.facts != into.facts) {
      throw RuntimeError("timed-run statistics: parts of different runs");
    }
    into.queries += part.queries;
    into.latencies_ns.insert(into.latencies_ns.end(), part.latencies_ns.begin(),
                             part.latencies_ns.end());
    for (const RepetitionPart& rep : part.repetitions) {
      if (!into.repetitions.empty() && into.repetitions.back().index == rep.index) {
        into.repetitions.back().queries += rep.queries;
        into.repetitions.back().timed_ns += rep.timed_ns;
      } else {
        into.repetitions.push_back(rep);
      }
    }
  }
}

nlohmann::json TimedRunStats::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const RunPart& p : runs) {
    nlohmann::json reps = nlohmann::json::array();
    for (const RepetitionPart& r : p.repetitions) {
      reps.push_back({r.index, r.first_query, r.queries, r.timed_ns});
    }
    out.push_back({{"run", p.run},
                   {"facts", p.facts},
                   {"first_query", p.first_query},
                   {"queries", p.queries},
                   {"latencies_ns", p.latencies_ns},
                   {"repetitions", reps}});
  }
  return out;
}

TimedRunStats TimedRunStats::FromJson(const nlohmann::json& j) {
  TimedRunStats out;
  try {
    for (const auto& p : j) {
      RunPart part;
      part.run = JsonInteger<int64_t>(p.at("run"), "run");
      part.facts = p.at("facts");
      part.first_query = JsonInteger<int64_t>(p.at("first_query"), "first_query");
      part.queries = JsonInteger<int64_t>(p.at("queries"), "queries");
      part.latencies_ns = JsonIntegers<int64_t>(p.at("latencies_ns"), "latencies_ns");
      for (const auto& r : p.at("repetitions")) {
        part.repetitions.push_back({JsonInteger<int64_t>(r.at(0), "repetitions"),
                                    JsonInteger<int64_t>(r.at(1), "repetitions"),
                                    JsonInteger<int64_t>(r.at(2), "repetitions"),
                                    JsonInteger<int64_t>(r.at(3), "repetitions")});
      }
      out.runs.push_back(std::move(part));
    }
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(std::string("timed-run statistics: malformed JSON: ") + e.what());
  }
  return out;
}

std::vector<harness::RunResult> TimedRunStats::Runs() const {
  std::vector<harness::RunResult> out;
  for (const RunPart& p : runs) {
    if (p.facts.is_null() || p.first_query != 0) {
      throw RuntimeError("timed-run statistics: a part of the run is missing");
    }
    harness::RunResult r = RunFactsFromJson(p.facts);
    if (p.queries != r.queries) {
      throw RuntimeError("timed-run statistics: a part of the run is missing");
    }
    r.latencies_ns = p.latencies_ns;
    for (const RepetitionPart& rep : p.repetitions) {
      r.repetitions.push_back({rep.first_query, rep.queries, rep.timed_ns});
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace greenlight::efficiency
