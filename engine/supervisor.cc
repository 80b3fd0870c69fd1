#include "engine/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/json_limits.h"
#include "engine/plan.h"
#include "models/capabilities.h"

namespace greenlight {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// --- JSON for the results a worker sends back -------------------------------------------------

json Number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

double NumberFrom(const json& j) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "nan") return std::nan("");
    return s == "inf" ? HUGE_VAL : -HUGE_VAL;
  }
  return j.get<double>();
}

json InfoToJson(const ModelInfo& info) {
  json j = {{"path", info.path.string()},    {"sha256", info.sha256},
            {"size_bytes", info.size_bytes}, {"parameters", info.parameters},
            {"format", info.format},         {"device", info.device}};
  if (info.tokenizer) {
    j["tokenizer"] = TokenizerInfoToJson(*info.tokenizer);
    j["context_length"] = info.context_length;
  }
  return j;
}

ModelInfo InfoFromJson(const json& j) {
  ModelInfo info;
  info.path = j.at("path").get<std::string>();
  info.sha256 = j.at("sha256").get<std::string>();
  info.size_bytes = JsonInteger<int64_t>(j.at("size_bytes"), "size_bytes");
  info.parameters = JsonInteger<int64_t>(j.at("parameters"), "parameters");
  info.format = j.at("format").get<std::string>();
  info.device = j.at("device").get<std::string>();
  if (j.contains("tokenizer")) {
    info.tokenizer = TokenizerInfoFromJson(j.at("tokenizer"));
    info.context_length = JsonInteger<int64_t>(j.at("context_length"), "context_length");
  }
  return info;
}

// --- The model's side: what runs where the model lives -----------------------------------------

// Loads the model and measures on it. Lives in the worker (or, in-process, in the audit itself);
// its plan and context are private to it, so a fresh worker starts from a fresh plan.
class ModelSide {
 public:
  ModelSide(const ModelSideInputs& inputs, ProgressSink* progress)
      : in_(inputs), progress_(progress), plan_(inputs.criteria->criteria, *inputs.registry) {}

  // `loaded` is called as soon as the model is loaded, before the preflight, so the audit knows
  // the model (digest, parameters, device) even when the preflight then hangs.
  void Start(bool preflight,
             const std::function<void(const ModelInfo&, const ModelInfo*, const ModelInfo*, int)>&
                 loaded) {
    const DatasetSource& dataset = *in_.dataset;
    if (in_.model) {
      model_ = in_.runtimes->Load(*in_.model);
      if (in_.reference) reference_ = in_.runtimes->Load(*in_.reference);
      if (in_.surrogate) surrogate_ = in_.runtimes->Load(*in_.surrogate);
      if (in_.threads) {
        model_->SetThreads(*in_.threads);
        if (reference_) reference_->SetThreads(*in_.threads);
        if (surrogate_) surrogate_->SetThreads(*in_.threads);
      }
      loaded(model_->info(), reference_ ? &reference_->info() : nullptr,
             surrogate_ ? &surrogate_->info() : nullptr, model_->threads());
    }
    if (model_ && preflight && dataset.rows() > 0 && model_->spec().tokenizer) {
      PreflightLanguageModels(dataset);
    } else if (model_ && preflight && dataset.rows() > 0) {
      // Preflight: one real sample through the model, so a model that cannot take the declared
      // input stops the run here (bad input, exit 3, no report) instead of erroring every
      // criterion.
      int64_t outputs = 0;
      const std::unique_ptr<Dataset> first = dataset.Read(0, 1);
      model_->Forward(first->row(0), 1, &outputs);
      // A label the model has no output for would be scored as a silent miss.
      if (dataset.has_labels() && dataset.num_classes() > outputs) {
        const auto labels = dataset.Metadata().labels();
        const auto bad =
            std::find_if(labels.begin(), labels.end(), [&](int64_t l) { return l >= outputs; });
        const auto& files = dataset.info().files;
        const std::string where =
            files.empty() ? std::string("dataset") : files.back().path.string();
        throw InputError(where + ": label " + std::to_string(*bad) + " (row " +
                         std::to_string(bad - labels.begin() + 1) + ") is outside the model's " +
                         std::to_string(outputs) + " output classes (0.." +
                         std::to_string(outputs - 1) + ")");
      }
      if (reference_) {
        // Paired metrics compare top-1 classes row by row: both models must mean the same classes.
        int64_t reference_outputs = 0;
        reference_->Forward(first->row(0), 1, &reference_outputs);
        if (reference_outputs != outputs) {
          throw InputError(in_.reference->path.string() + ": the reference model gives " +
                           std::to_string(reference_outputs) + " outputs per sample, the model " +
                           std::to_string(outputs) + "; they cannot be compared");
        }
      }
      if (surrogate_) {
        // A transfer attack scores the surrogate's loss on the model's classes (the labels, or
        // the model's predictions): both must mean the same classes. The input shape is checked
        // when the criteria load.
        int64_t surrogate_outputs = 0;
        surrogate_->Forward(first->row(0), 1, &surrogate_outputs);
        if (surrogate_outputs != outputs) {
          throw InputError(in_.surrogate->path.string() + ": the surrogate model gives " +
                           std::to_string(surrogate_outputs) + " outputs per sample, the model " +
                           std::to_string(outputs) + "; it cannot craft attacks on the model");
        }
      }
    }
    context_ = std::make_unique<AuditContext>(model_.get(), dataset, in_.criteria->seed, progress_);
    context_->SetReference(reference_.get());
    context_->SetSurrogate(surrogate_.get());
  }

  // The preflight of a language model: the first document's first tokens (at most
  // context_length) scored through forward, by the model and by the reference, so a model that
  // cannot take the tokenizer's ids stops the run here (bad input, exit 3). Classifier metrics
  // are not checked here: they end in ERROR with the runtime's reason.
  void PreflightLanguageModels(const DatasetSource& dataset) {
    const std::unique_ptr<Dataset> first = dataset.Read(0, 1);
    if (first->texts().empty()) {
      throw InputError(in_.model->path.string() +
                       ": a causal language model needs a text or jsonl dataset");
    }
    for (Model* model : {model_.get(), reference_.get(), surrogate_.get()}) {
      if (model == nullptr) continue;
      auto* lm = model->Capability<CausalLanguageModel>();
      if (lm == nullptr) {
        throw InputError(model->spec().path.string() + ": " +
                         model->MissingCapability<CausalLanguageModel>());
      }
      std::vector<int64_t> ids = lm->tokenizer().Encode(first->texts().front()).ids;
      if (ids.empty()) ids.push_back(0);
      if (static_cast<int64_t>(ids.size()) > lm->context_length()) {
        ids.resize(static_cast<size_t>(lm->context_length()));
      }
      try {
        lm->Logits(ids, 1, static_cast<int64_t>(ids.size()));
      } catch (const RuntimeError& e) {
        throw InputError(e.what());
      }
    }
  }

  WorkResult RunWork(size_t item, const std::vector<size_t>& criteria) {
    WorkResult out;
    const AuditPlan::Item& it = plan_.items().at(item);
    if (InRowsPass(it)) return RowsPassResult(item, criteria);
    const WorkRecord* record = nullptr;
    try {
      record = &plan_.Record(it.criteria.front(), *context_);
    } catch (const std::exception& e) {
      out.error = e.what();
      return out;
    }
    for (size_t i : criteria) {
      WorkPart part;
      part.criterion = i;
      try {
        const Criterion& c = in_.criteria->criteria.at(i);
        const Metric* metric = FindFrameworkMetric(*in_.registry, c.metric);
        const MetricInput input{*record, plan_.Reading(i), RowRange{0, record->rows()}};
        part.stats = metric->Accumulate(*c.bound, input);
      } catch (const std::exception& e) {
        part.error = e.what();
      }
      out.parts.push_back(std::move(part));
    }
    return out;
  }

  // Whether an item's work runs in the rows pass: work over the dataset rows in order, with no
  // instrument around it.
  static bool InRowsPass(const AuditPlan::Item& item) {
    return item.work->sharding() == Sharding::kRows && item.instruments.empty();
  }

  // The statistics the rows pass gathered for `criteria` of `item` (running the pass first).
  WorkResult RowsPassResult(size_t item, const std::vector<size_t>& criteria) {
    if (!rows_pass_) RunRowsPass();
    WorkResult out;
    RowsPassItem& gathered = rows_pass_->at(item);
    if (gathered.error) {
      out.error = gathered.error;
      return out;
    }
    for (size_t i : criteria) {
      WorkPart part;
      part.criterion = i;
      const auto it = std::find_if(gathered.parts.begin(), gathered.parts.end(),
                                   [&](const WorkPart& p) { return p.criterion == i; });
      if (it == gathered.parts.end()) {
        part.error = "no statistics";
      } else if (it->stats) {
        part.stats = std::move(it->stats);
      } else {
        part.error = it->error.empty() ? "no statistics" : it->error;
      }
      out.parts.push_back(std::move(part));
    }
    return out;
  }

  // The rows pass: the work of every row-wise item runs in one pass over the dataset, a block of
  // kRowsPassBlockRows rows at a time. Each block is read, every item's work runs on it (sharing
  // the model's outputs of the block), and every criterion accumulates the block's statistics and
  // merges them into its own. Merging the statistics of consecutive row ranges in order is exact
  // (Metric::Merge, as for shards), so the result equals one pass over every row in memory, while
  // only one block of rows is held at a time. Blocks start on multiples of kOutputsBatchRows, so
  // the model sees the same batches as in one pass.
  void RunRowsPass() {
    rows_pass_.emplace();
    std::vector<size_t> items;
    const auto& criteria = in_.criteria->criteria;
    for (size_t k = 0; k < plan_.items().size(); ++k) {
      const AuditPlan::Item& it = plan_.items()[k];
      if (!InRowsPass(it)) continue;
      RowsPassItem& gathered = (*rows_pass_)[k];
      for (size_t i : it.criteria) {
        const MetricSpec& spec = *in_.registry->FindMetric(criteria[i].metric);
        // Label-dependent metrics on data without labels are SKIPPED by the audit.
        if (spec.needs_labels && !in_.dataset->has_labels()) continue;
        WorkPart part;
        part.criterion = i;
        gathered.parts.push_back(std::move(part));
      }
      if (!gathered.parts.empty()) items.push_back(k);
    }
    const DatasetSource& source = *in_.dataset;
    const int64_t rows = source.rows();
    for (int64_t begin = 0; begin == 0 || begin < rows; begin += kRowsPassBlockRows) {
      const int64_t end = std::min(rows, begin + kRowsPassBlockRows);
      std::unique_ptr<Dataset> block;
      try {
        block = source.Read(begin, end);
      } catch (const std::exception& e) {
        for (size_t k : items) (*rows_pass_)[k].error = e.what();
        return;
      }
      BlockProgress progress(progress_, begin, end, rows);
      AuditContext context(model_.get(), *block, in_.criteria->seed, &progress);
      context.SetReference(reference_.get());
      context.SetSurrogate(surrogate_.get());
      for (size_t k : items) {
        RowsPassItem& gathered = (*rows_pass_)[k];
        if (gathered.error) continue;
        std::shared_ptr<const WorkRecord> record;
        try {
          record = plan_.items()[k].work->Run(context, {});
        } catch (const std::exception& e) {
          gathered.error = e.what();
          gathered.parts.clear();
          continue;
        }
        for (WorkPart& part : gathered.parts) {
          if (!part.error.empty()) continue;
          try {
            const Criterion& c = criteria.at(part.criterion);
            const Metric* metric = FindFrameworkMetric(*in_.registry, c.metric);
            const MetricInput input{*record, nullptr, RowRange{0, record->rows()}};
            std::unique_ptr<MetricStats> stats = metric->Accumulate(*c.bound, input);
            if (part.stats) {
              metric->Merge(*part.stats, *stats);
            } else {
              part.stats = std::move(stats);
            }
          } catch (const std::exception& e) {
            part.error = e.what();
            part.stats.reset();
          }
        }
      }
    }
  }

  // Progress of a block's work, as a fraction of the whole pass.
  class BlockProgress final : public ProgressSink {
   public:
    BlockProgress(ProgressSink* sink, int64_t begin, int64_t end, int64_t rows)
        : sink_(sink), begin_(begin), end_(end), rows_(rows) {}
    void Update(std::string_view criterion_id, std::string_view step, double fraction) override {
      if (sink_ == nullptr) return;
      const double whole =
          rows_ > 0
              ? (static_cast<double>(begin_) + fraction * static_cast<double>(end_ - begin_)) /
                    static_cast<double>(rows_)
              : fraction;
      sink_->Update(criterion_id, step, whole);
    }

   private:
    ProgressSink* sink_;
    int64_t begin_;
    int64_t end_;
    int64_t rows_;
  };

  LegacyResult MeasureLegacy(size_t criterion) {
    LegacyResult out;
    try {
      const MetricRequest& req = in_.requests.at(criterion);
      out.measurement = in_.registry->FindAuditor(req.metric)->Measure(req, *context_);
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    return out;
  }

 private:
  const ModelSideInputs& in_;
  ProgressSink* progress_;
  AuditPlan plan_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Model> reference_;
  std::unique_ptr<Model> surrogate_;
  std::unique_ptr<AuditContext> context_;
  struct RowsPassItem {
    std::optional<std::string> error;  // The work failed on some block.
    std::vector<WorkPart> parts;       // Its criteria's merged statistics.
  };
  std::optional<std::map<size_t, RowsPassItem>> rows_pass_;  // By plan item, once run.
};

class InProcessExecutor final : public ModelExecutor {
 public:
  InProcessExecutor(ModelSideInputs inputs, ProgressSink* progress)
      : inputs_(std::move(inputs)), side_(inputs_, progress) {}

  StartResult Start(double /*budget_s*/) override {
    StartResult out;
    side_.Start(/*preflight=*/true, [&](const ModelInfo& info, const ModelInfo* reference,
                                        const ModelInfo* surrogate, int threads) {
      out.info = info;
      if (reference != nullptr) out.reference_info = *reference;
      if (surrogate != nullptr) out.surrogate_info = *surrogate;
      out.threads = threads;
    });
    return out;
  }
  WorkResult RunWork(size_t item, const std::vector<size_t>& criteria, double) override {
    return side_.RunWork(item, criteria);
  }
  LegacyResult MeasureLegacy(size_t criterion, double) override {
    return side_.MeasureLegacy(criterion);
  }

 private:
  ModelSideInputs inputs_;
  ModelSide side_;
};

// --- The wire: length-prefixed JSON messages over a socket pair --------------------------------

// Writes all of `data`; false when the peer is gone. MSG_NOSIGNAL: a dead peer is an error code,
// never SIGPIPE.
bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t w = ::send(fd, data, size, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    size -= static_cast<size_t>(w);
  }
  return true;
}

bool SendMessage(int fd, const json& message) {
  // Invalid UTF-8 in a message (a model's error text) is replaced, never an exception here.
  const std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
  const uint64_t size = text.size();
  char header[8];
  for (int b = 0; b < 8; ++b) header[b] = static_cast<char>((size >> (8 * b)) & 0xff);
  return SendAll(fd, header, sizeof header) && SendAll(fd, text.data(), text.size());
}

// Blocking read of exactly `size` bytes; false at end of stream or on error.
bool ReadExactly(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t r = ::read(fd, data, size);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    data += r;
    size -= static_cast<size_t>(r);
  }
  return true;
}

std::optional<json> ReadMessage(int fd) {
  unsigned char header[8];
  if (!ReadExactly(fd, reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
  uint64_t size = 0;
  for (int b = 7; b >= 0; --b) size = (size << 8) | header[b];
  std::string text(size, '\0');
  if (!ReadExactly(fd, text.data(), text.size())) return std::nullopt;
  return json::parse(text);
}

// Progress in the worker: sent to the audit as messages, at most one per criterion and step every
// 50 ms (plus the first and the last), so a tight loop of updates costs the model nothing.
class SocketProgress final : public ProgressSink {
 public:
  explicit SocketProgress(int fd) : fd_(fd) {}
  void Update(std::string_view criterion_id, std::string_view step, double fraction) override {
    const auto now = Clock::now();
    std::string key = std::string(criterion_id) + '\n' + std::string(step);
    if (fraction > 0.0 && fraction < 1.0 && key == last_key_ &&
        now - last_sent_ < std::chrono::milliseconds(50)) {
      return;
    }
    last_key_ = std::move(key);
    last_sent_ = now;
    SendMessage(fd_, {{"progress", {criterion_id, step, fraction}}});
  }

 private:
  int fd_;
  std::string last_key_;
  Clock::time_point last_sent_{};
};

json WorkResultToJson(const WorkResult& r) {
  json out = json::object();
  if (r.error) out["error"] = *r.error;
  json parts = json::array();
  for (const WorkPart& p : r.parts) {
    json part = {{"criterion", p.criterion}};
    if (p.stats) {
      part["stats"] = p.stats->ToJson();
    } else {
      part["error"] = p.error;
    }
    parts.push_back(std::move(part));
  }
  out["parts"] = std::move(parts);
  return out;
}

WorkResult WorkResultFromJson(const json& j, const ModelSideInputs& in) {
  WorkResult out;
  if (j.contains("error")) out.error = j["error"].get<std::string>();
  for (const json& p : j.at("parts")) {
    WorkPart part;
    part.criterion = p.at("criterion").get<size_t>();
    if (p.contains("stats")) {
      const Criterion& c = in.criteria->criteria.at(part.criterion);
      try {
        part.stats = FindFrameworkMetric(*in.registry, c.metric)->StatsFromJson(p["stats"]);
      } catch (const std::exception& e) {
        part.error = std::string("statistics from the model's worker do not parse: ") + e.what();
      }
    } else {
      part.error = p.at("error").get<std::string>();
    }
    out.parts.push_back(std::move(part));
  }
  return out;
}

// The worker: loads the model from the inherited bytes, then serves requests until the audit
// closes the socket. Never returns into the caller's code: it leaves with _exit (no atexit
// handlers, no destructors of objects that belong to the auditing process).
[[noreturn]] void WorkerMain(int fd, pid_t parent, const ModelSideInputs& inputs) {
  // Die with the audit: a killed audit must not leave a model running.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);
  // Fatal signals must end the worker: handlers inherited from the parent (a test framework's,
  // a sanitizer's) would otherwise catch them and resume the parent's code here.
  sigset_t fatal;
  sigemptyset(&fatal);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS}) {
    ::signal(sig, SIG_DFL);
    sigaddset(&fatal, sig);
  }
  ::sigprocmask(SIG_UNBLOCK, &fatal, nullptr);
  // Whatever the model prints goes to standard error, never into greenlight's own output.
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  SocketProgress progress(fd);
  ModelSide side(inputs, &progress);
  for (;;) {
    std::optional<json> command;
    try {
      command = ReadMessage(fd);
    } catch (const std::exception&) {
      ::_exit(3);
    }
    if (!command) ::_exit(0);
    json reply;
    try {
      const std::string op = command->at("op").get<std::string>();
      if (op == "start") {
        side.Start(command->at("preflight").get<bool>(),
                   [&](const ModelInfo& info, const ModelInfo* reference,
                       const ModelInfo* surrogate, int threads) {
                     json loaded = {{"info", InfoToJson(info)}, {"threads", threads}};
                     if (reference != nullptr) loaded["reference"] = InfoToJson(*reference);
                     if (surrogate != nullptr) loaded["surrogate"] = InfoToJson(*surrogate);
                     SendMessage(fd, {{"loaded", loaded}});
                   });
        reply = json::object();
      } else if (op == "work") {
        reply = WorkResultToJson(side.RunWork(command->at("item").get<size_t>(),
                                              command->at("criteria").get<std::vector<size_t>>()));
      } else {
        LegacyResult r = side.MeasureLegacy(command->at("criterion").get<size_t>());
        reply = r.measurement ? json{{"measurement", MeasurementToJson(*r.measurement)}}
                              : json{{"error", r.error}};
      }
    } catch (const InputError& e) {
      reply = {{"exception", "input"}, {"message", e.what()}};
    } catch (const std::exception& e) {
      reply = {{"exception", "runtime"}, {"message", e.what()}};
    }
    if (!SendMessage(fd, {{"reply", reply}})) ::_exit(0);
  }
}

std::string Seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

class SupervisedExecutor final : public ModelExecutor {
 public:
  SupervisedExecutor(ModelSideInputs inputs, ProgressSink* progress)
      : inputs_(std::move(inputs)), progress_(progress) {}
  ~SupervisedExecutor() override { Stop(); }

  StartResult Start(double budget_s) override {
    StartResult out;
    const Clock::time_point deadline = Deadline(budget_s);
    Exchange x =
        Spawn(/*preflight=*/true, deadline, budget_s, "loading the model and its preflight");
    if (info_) {
      out.info = info_;
      out.reference_info = reference_info_;
      out.surrogate_info = surrogate_info_;
      out.threads = threads_;
    }
    if (!x.reply) {
      out.failure = x.failure;
      return out;
    }
    Rethrow(*x.reply);
    return out;
  }

  WorkResult RunWork(size_t item, const std::vector<size_t>& criteria, double budget_s) override {
    const std::string what = "work '" + WorkKey(item) + "'";
    Exchange x = Call({{"op", "work"}, {"item", item}, {"criteria", criteria}}, budget_s, what);
    if (!x.reply) {
      WorkResult out;
      out.error = x.failure;
      return out;
    }
    Rethrow(*x.reply);
    return WorkResultFromJson(*x.reply, inputs_);
  }

  LegacyResult MeasureLegacy(size_t criterion, double budget_s) override {
    const std::string what = "metric '" + inputs_.requests.at(criterion).metric + "'";
    Exchange x = Call({{"op", "legacy"}, {"criterion", criterion}}, budget_s, what);
    LegacyResult out;
    if (!x.reply) {
      out.error = x.failure;
      return out;
    }
    Rethrow(*x.reply);
    if (x.reply->contains("measurement")) {
      out.measurement = MeasurementFromJson((*x.reply)["measurement"]);
    } else {
      out.error = x.reply->at("error").get<std::string>();
    }
    return out;
  }

 private:
  // A reply, or why there is none (the model hung or crashed; the worker is gone).
  struct Exchange {
    std::optional<json> reply;
    std::string failure;
  };

  static Clock::time_point Deadline(double budget_s) {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(std::min(budget_s, kMaxTimeBudgetS)));
  }

  std::string WorkKey(size_t item) const {
    const AuditPlan plan(inputs_.criteria->criteria, *inputs_.registry);
    return plan.items().at(item).work->key();
  }

  // A worker's exception (loading or the preflight) stops the audit as it would in-process.
  static void Rethrow(const json& reply) {
    if (!reply.is_object() || !reply.contains("exception")) return;
    const std::string message = reply.value("message", "");
    if (reply["exception"] == "input") throw InputError(message);
    throw RuntimeError(message);
  }

  // Sends `command` to the worker, starting one (without a preflight) if none runs; the budget
  // covers both.
  Exchange Call(const json& command, double budget_s, const std::string& what) {
    const Clock::time_point deadline = Deadline(budget_s);
    if (pid_ < 0) {
      Exchange started = Spawn(/*preflight=*/false, deadline, budget_s, what);
      if (!started.reply) return started;
      Rethrow(*started.reply);
    }
    if (!SendMessage(fd_, command)) return Lost(what, budget_s, /*timed_out=*/false);
    return Await(deadline, budget_s, what);
  }

  Exchange Spawn(bool preflight, Clock::time_point deadline, double budget_s,
                 const std::string& what) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      throw RuntimeError(std::string("cannot start the model's worker: socketpair: ") +
                         std::strerror(errno));
    }
    // Buffered output would otherwise be written twice, once by each process.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(sv[0]);
      ::close(sv[1]);
      throw RuntimeError(std::string("cannot start the model's worker: fork: ") +
                         std::strerror(errno));
    }
    if (pid == 0) {
      ::close(sv[0]);
      WorkerMain(sv[1], parent, inputs_);
    }
    ::close(sv[1]);
    pid_ = pid;
    fd_ = sv[0];
    if (!SendMessage(fd_, {{"op", "start"}, {"preflight", preflight}})) {
      return Lost(what, budget_s, /*timed_out=*/false);
    }
    return Await(deadline, budget_s, what);
  }

  // Reads messages until the reply, forwarding progress, until `deadline`.
  Exchange Await(Clock::time_point deadline, double budget_s, const std::string& what) {
    for (;;) {
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return Lost(what, budget_s, /*timed_out=*/true);
      // Wake at least every 100 ms to notice a worker that died while a process it started (an
      // isolated probe) still holds the socket open.
      const int wait_ms = static_cast<int>(std::clamp<int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1, 1, 100));
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, wait_ms);
      if (ready < 0 && errno != EINTR) return Lost(what, budget_s, /*timed_out=*/false);
      if (ready <= 0) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          reaped_ = status;
          return Lost(what, budget_s, /*timed_out=*/false);
        }
        continue;
      }
      // A whole message is read once its first byte is there: the worker writes each message at
      // once, and a worker that dies mid-message ends the stream (read fails).
      std::optional<json> message;
      try {
        message = ReadMessage(fd_);
      } catch (const std::exception&) {
        message.reset();
      }
      if (!message) return Lost(what, budget_s, /*timed_out=*/false);
      if (message->contains("progress")) {
        const json& p = (*message)["progress"];
        if (progress_ != nullptr) {
          progress_->Update(p.at(0).get<std::string>(), p.at(1).get<std::string>(),
                            p.at(2).get<double>());
        }
      } else if (message->contains("loaded")) {
        info_ = InfoFromJson((*message)["loaded"].at("info"));
        if ((*message)["loaded"].contains("reference")) {
          reference_info_ = InfoFromJson((*message)["loaded"]["reference"]);
        }
        if ((*message)["loaded"].contains("surrogate")) {
          surrogate_info_ = InfoFromJson((*message)["loaded"]["surrogate"]);
        }
        threads_ = JsonInteger<int>((*message)["loaded"].at("threads"), "threads");
      } else if (message->contains("reply")) {
        return {(*message)["reply"], {}};
      }
    }
  }

  // The worker is gone or must go: kills it, reaps it, and says why for the waiting criteria.
  Exchange Lost(const std::string& what, double budget_s, bool timed_out) {
    int status = 0;
    if (reaped_) {
      status = *reaped_;
    } else {
      // Also when the worker seems gone (its stream ended): a worker that is still alive, say
      // after a garbled message, must not be waited for. A worker already dead keeps its status.
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    Close();
    Exchange out;
    if (timed_out) {
      out.failure = "the model did not finish " + what + " within the time budget of " +
                    Seconds(budget_s) + " s (time_budget_s); its worker process was killed";
    } else if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      out.failure = "the model's worker process crashed during " + what + ": signal " +
                    std::to_string(sig) + " (" + ::strsignal(sig) + ")";
    } else {
      out.failure = "the model's worker process ended during " + what + " with exit status " +
                    std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return out;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    pid_ = -1;
    reaped_.reset();
  }

  // The worker is idle between requests and holds nothing to save: end it at once.
  void Stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    Close();
  }

  ModelSideInputs inputs_;
  ProgressSink* progress_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::optional<int> reaped_;  // Wait status, when Await already reaped the worker.
  std::optional<ModelInfo> info_;
  std::optional<ModelInfo> reference_info_;
  std::optional<ModelInfo> surrogate_info_;
  int threads_ = 0;
};

}  // namespace

std::unique_ptr<ModelExecutor> MakeInProcessExecutor(ModelSideInputs inputs,
                                                     ProgressSink* progress) {
  return std::make_unique<InProcessExecutor>(std::move(inputs), progress);
}

std::unique_ptr<ModelExecutor> MakeSupervisedExecutor(ModelSideInputs inputs,
                                                      ProgressSink* progress) {
  return std::make_unique<SupervisedExecutor>(std::move(inputs), progress);
}

json MeasurementToJson(const Measurement& m) {
  json j = {{"unit", m.unit},       {"samples", m.samples},
            {"method", m.method},   {"deterministic", m.deterministic},
            {"message", m.message}, {"details", m.details}};
  if (m.value) j["value"] = Number(*m.value);
  if (m.interval) {
    j["interval"] = {{"low", Number(m.interval->low)},
                     {"high", Number(m.interval->high)},
                     {"level", Number(m.interval->level)},
                     {"method", m.interval->method}};
  }
  if (m.undecidable) j["undecidable"] = *m.undecidable;
  return j;
}

Measurement MeasurementFromJson(const json& j) {
  Measurement m;
  m.unit = j.at("unit").get<std::string>();
  m.samples = JsonInteger<int64_t>(j.at("samples"), "samples");
  m.method = j.at("method").get<std::string>();
  m.deterministic = j.at("deterministic").get<bool>();
  m.message = j.at("message").get<std::string>();
  m.details = j.at("details");
  if (j.contains("value")) m.value = NumberFrom(j["value"]);
  if (j.contains("interval")) {
    const json& i = j["interval"];
    m.interval = Interval{NumberFrom(i.at("low")), NumberFrom(i.at("high")),
                          NumberFrom(i.at("level")), i.at("method").get<std::string>()};
  }
  if (j.contains("undecidable")) m.undecidable = j["undecidable"].get<std::string>();
  return m;
}

}  // namespace greenlight
