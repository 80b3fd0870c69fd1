// greenlight audit: run the criteria, write DIR/report.json, print the summary, exit by verdict.
// With --shard: measure one shard's rows and write DIR/partial.json (engine/partial.h).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "cli/cli_common.h"
#include "core/error.h"
#include "core/files.h"
#include "engine/partial.h"
#include "engine/shard.h"
#include "engine/supervisor.h"
#include "reports/dsse.h"
#include "reports/reporter.h"

namespace greenlight::cli {
namespace {

struct AuditArgs {
  std::string criteria;
  std::string model;
  std::string reference;
  std::string surrogate;
  int threads = 0;
  double time_budget_s = 0.0;  // 0: each criterion's own time_budget_s.
  ReportOutputArgs output;
  std::string shard;  // "I/N", "auto" or empty.
  int64_t shard_count = 0;
  int64_t time_on_shard = 0;
};

// The formats written as files next to report.json: every registered one but console (the table
// is for the terminal) and json (report.json itself).
bool WrittenAsFile(const std::string& format) { return format != "console" && format != "json"; }

// True for "<dir>/.<name>.XXXXXX", a temporary file WriteTemporaryFile makes for `name`.
bool IsTemporaryOf(const std::string& file, const std::string& name) {
  const std::string prefix = "." + name + ".";
  return file.size() == prefix.size() + 6 && file.compare(0, prefix.size(), prefix) == 0;
}

// Publishes `name` (report.json, or a shard's partial.json) and, when `envelope` is given, its
// DSSE envelope (report.dsse.json, partial.dsse.json), and the `renderings` ({file name,
// content}), in `out_dir` so that a reader, or a run killed at any instant, never
// leaves a report beside an envelope that does not sign it or a rendering of another run: all
// are written and fsynced as temporaries first, the old envelope and renderings are removed, then
// the report and the new files are renamed into place. Concurrent audits writing the same folder
// are serialised by a lock file, and temporaries left by killed runs are removed under it.
void PublishReport(const std::filesystem::path& out_dir, const std::string& name,
                   const std::string& statement, const std::optional<std::string>& envelope,
                   const std::vector<std::pair<std::string, std::string>>& renderings) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw RuntimeError(out_dir.string() + ": cannot create directory: " + ec.message());
  const FileLock lock(out_dir / ".greenlight.lock");
  // Every file an audit may publish besides `name`: these are replaced or removed.
  const std::string envelope_name = name.substr(0, name.rfind(".json")) + ".dsse.json";
  std::vector<std::string> published = {envelope_name};
  if (name == "report.json") {
    for (const auto& format : BuiltinReporters().names()) {
      if (WrittenAsFile(format)) published.push_back(BuiltinReporters().FileName(format));
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(out_dir, ec)) {
    const std::string file = entry.path().filename().string();
    bool temporary = IsTemporaryOf(file, name);
    for (const auto& name : published) temporary = temporary || IsTemporaryOf(file, name);
    if (temporary) std::filesystem::remove(entry.path(), ec);
  }
  const auto report_path = out_dir / name;
  // {temporary, final path}, `name` first.
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> temporaries;
  auto discard = [&] {
    for (const auto& t : temporaries) std::filesystem::remove(t.first, ec);
  };
  try {
    temporaries.emplace_back(WriteTemporaryFile(out_dir, name, statement), report_path);
    if (envelope) {
      temporaries.emplace_back(WriteTemporaryFile(out_dir, envelope_name, *envelope),
                               out_dir / envelope_name);
    }
    for (const auto& [name, content] : renderings) {
      temporaries.emplace_back(WriteTemporaryFile(out_dir, name, content), out_dir / name);
    }
    for (const auto& name : published) {
      const auto path = out_dir / name;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw RuntimeError(path.string() +
                           ": cannot remove the earlier file: " + std::strerror(errno));
      }
    }
    SyncDirectory(out_dir);
    for (const auto& [temporary, path] : temporaries) {
      if (::rename(temporary.c_str(), path.c_str()) != 0) {
        throw RuntimeError(path.string() + ": rename failed: " + std::strerror(errno));
      }
    }
    SyncDirectory(out_dir);
  } catch (...) {
    discard();
    throw;
  }
}

}  // namespace

ReportWriter::ReportWriter(const ReportOutputArgs& args) : args_(args) {
  // An unknown format fails before anything runs. One format is what stdout shows; with several,
  // stdout shows the console table. Formats other than console and json are also written next
  // to report.json.
  for (const auto& f : args.formats) {
    BuiltinReporters().Make(f, {});
    if (std::find(formats_.begin(), formats_.end(), f) == formats_.end()) formats_.push_back(f);
  }
  // Load the signing key before the audit, so a bad key fails in seconds, not after the run.
  if (!args.key.empty()) key_ = Ed25519PrivateKey::FromPemFile(args.key, args.insecure_key);
}

int ReportWriter::Write(const CriteriaFile& criteria, AuditOutcome outcome,
                        const GlobalOptions& global) const {
  const std::string stdout_format = formats_.size() == 1 ? formats_[0] : "console";
  const std::unique_ptr<Reporter> reporter =
      BuiltinReporters().Make(stdout_format, {.color = UseColor(STDOUT_FILENO)});
  const Report report = BuildReport(criteria, std::move(outcome));
  const std::filesystem::path out_dir(args_.out);
  const std::string statement = JsonReporter().Render(report);
  const std::filesystem::path envelope_path = out_dir / "report.dsse.json";
  std::optional<std::string> envelope;
  // Signs the exact bytes written to report.json (DSSE over PAE(type, bytes)). Without a key an
  // envelope from an earlier run is removed: it would sit next to a report it does not sign.
  if (key_) envelope = SerializeEnvelope(SignEnvelope(kInTotoPayloadType, statement, *key_));
  std::vector<std::pair<std::string, std::string>> renderings;
  const std::string signature =
      key_ ? "signed with key " + key_->PublicKey().KeyId() + " (report.dsse.json)" : "";
  for (const auto& f : formats_) {
    if (!WrittenAsFile(f)) continue;
    renderings.emplace_back(BuiltinReporters().FileName(f),
                            BuiltinReporters().Make(f, {.signature = signature})->Render(report));
  }
  PublishReport(out_dir, "report.json", statement, envelope, renderings);
  std::cout << reporter->Render(report);
  // Where the files went: below the table, or on stderr when stdout carries a machine format.
  const bool console = stdout_format == "console";
  std::ostream& where = console ? std::cout : std::cerr;
  if (console || !global.quiet) {
    where << "report: " << (out_dir / "report.json").string() << "\n";
    for (const auto& [name, content] : renderings) {
      where << "rendered: " << (out_dir / name).string() << "\n";
    }
    if (key_) {
      where << "signed: " << envelope_path.string() << " (keyid " << key_->PublicKey().KeyId()
            << ")\n";
    }
  }
  return static_cast<int>(ExitCodeFor(report.verdict));
}

std::optional<std::string> ReportWriter::PublishPartial(const std::string& partial) const {
  std::optional<std::string> envelope;
  if (key_) envelope = SerializeEnvelope(SignEnvelope(kPartialPayloadType, partial, *key_));
  PublishReport(args_.out, "partial.json", partial, envelope, {});
  if (!key_) return std::nullopt;
  return key_->PublicKey().KeyId();
}

void AddReportOutputOptions(CLI::App& cmd, ReportOutputArgs& args) {
  cmd.add_option("-o,--out", args.out, "output directory for report.json")->capture_default_str();
  cmd.add_option("--format", args.formats,
                 "report formats, comma-separated or repeated: " + BuiltinReporters().NameList() +
                     ". One format is printed on stdout (several: the console table); formats "
                     "other than console and json are also written as DIR/report.<ext>; "
                     "report.json is written either way")
      ->delimiter(',')
      ->capture_default_str();
  cmd.add_option("-k,--key", args.key,
                 "Ed25519 private key (greenlight keygen): also write DIR/report.dsse.json");
  cmd.add_flag("--insecure-key", args.insecure_key,
               "sign even if the key file is readable by group or others");
}

namespace {

int RunAuditCommand(const AuditArgs& args, const GlobalOptions& global) {
  SetRuntimeLogVerbose(global.verbose);
  // Paths are recorded in the report, which is JSON and so UTF-8.
  for (const auto& [option, value] :
       {std::pair<const char*, const std::string*>{"--criteria", &args.criteria},
        {"--model", &args.model},
        {"--reference", &args.reference},
        {"--surrogate", &args.surrogate}}) {
    if (const size_t bad = FindInvalidUtf8(*value); bad != std::string::npos) {
      throw InputError(std::string(option) + ": the path is not valid UTF-8 (byte " +
                       std::to_string(bad) + ")");
    }
  }
  std::optional<ShardSpec> shard;
  if (args.shard == "auto") {
    std::optional<int64_t> count;
    if (args.shard_count > 0) count = args.shard_count;
    shard = ShardFromEnvironment([](const char* name) { return std::getenv(name); }, count);
  } else if (!args.shard.empty()) {
    shard = ParseShard(args.shard);
    if (args.shard_count > 0 && args.shard_count != shard->count) {
      throw InputError("--shard-count " + std::to_string(args.shard_count) +
                       " disagrees with --shard " + args.shard);
    }
  } else if (args.shard_count > 0 || args.time_on_shard != 0) {
    throw InputError("--shard-count and --time-on-shard need --shard");
  }
  if (shard) {
    if (args.time_on_shard < 0 || args.time_on_shard >= shard->count) {
      throw InputError("--time-on-shard " + std::to_string(args.time_on_shard) + " is outside 0.." +
                       std::to_string(shard->count - 1));
    }
  }
  // Unknown formats and a bad key fail before anything runs.
  const ReportWriter writer(args.output);
  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  const std::filesystem::path criteria_path = args.criteria.empty()
                                                  ? ShippedCriteriaDir() / "demo.yaml"
                                                  : std::filesystem::path(args.criteria);
  std::optional<std::filesystem::path> model;
  if (!args.model.empty()) model = args.model;
  std::optional<std::filesystem::path> reference;
  if (!args.reference.empty()) reference = args.reference;
  std::optional<std::filesystem::path> surrogate;
  if (!args.surrogate.empty()) surrogate = args.surrogate;
  const CriteriaFile criteria =
      LoadCriteria(criteria_path, registry, model, BuiltinModelRegistry(), reference, surrogate);

  TerminalProgress progress(!global.quiet && isatty(STDERR_FILENO) == 1);
  AuditOptions options;
  options.progress = &progress;
  if (args.threads > 0) options.threads = args.threads;
  if (args.time_budget_s > 0.0) options.time_budget_s = args.time_budget_s;
  options.shard = shard;
  options.once_on_shard = args.time_on_shard;
  AuditOutcome outcome = RunAudit(criteria, registry, options);
  progress.Clear();
  if (shard) {
    // A shard judges nothing: its partial is complete, whatever its criteria got, and the merge
    // decides the verdict.
    // Compact JSON: per-row statistics (ROC AUC) make partials grow with the rows.
    const std::filesystem::path out_dir(args.output.out);
    const std::optional<std::string> keyid = writer.PublishPartial(
        PartialToJson(criteria, outcome, *shard, args.time_on_shard, out_dir).dump() + "\n");
    std::cout << "partial: " << (out_dir / "partial.json").string() << " (shard "
              << ShardName(*shard) << ", rows [" << outcome.shard_rows.begin << ", "
              << outcome.shard_rows.end << ") of " << outcome.dataset.rows << ")\n";
    if (keyid) {
      std::cout << "signed: " << (out_dir / "partial.dsse.json").string() << " (keyid " << *keyid
                << ")\n";
    }
    return static_cast<int>(ExitCode::kPass);
  }
  return writer.Write(criteria, std::move(outcome), global);
}

}  // namespace

void AddAuditCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* cmd = app.add_subcommand(
      "audit",
      "Run an audit and write DIR/report.json (no arguments: the shipped demo criteria).\n"
      "Exit: 0 pass, 1 a mandatory criterion failed, 2 inconclusive, 3 bad input, 4 runtime "
      "error.");
  cmd->add_option("-c,--criteria", args->criteria,
                  "criteria file (default: shipped criteria/demo.yaml)");
  cmd->add_option("-m,--model", args->model, "model file; overrides model.path in the criteria");
  cmd->add_option(
      "--reference", args->reference,
      "reference model to compare with; overrides reference.path in the criteria (without "
      "a reference: section it is read as the model is)");
  cmd->add_option(
      "--surrogate", args->surrogate,
      "surrogate model that transfer attacks are crafted on (craft_on: surrogate); overrides "
      "surrogate.path in the criteria (without a surrogate: section it is read as the model is)");
  AddReportOutputOptions(*cmd, args->output);
  cmd->add_option("--threads", args->threads, "intra-op threads (overrides settings.threads)")
      ->check(CLI::Range(1, kMaxThreads));
  cmd->add_option("--time-budget", args->time_budget_s,
                  "seconds the model may run for each criterion (overrides every criterion's "
                  "time_budget_s; default " +
                      std::to_string(static_cast<int>(kDefaultTimeBudgetS)) + ")")
      ->check(CLI::Range(1e-3, kMaxTimeBudgetS));
  cmd->add_option("--shard", args->shard,
                  "audit only shard I of N (I/N, I = 0..N-1) of the selected rows and write "
                  "DIR/partial.json for greenlight merge; 'auto': from a Slurm job array "
                  "(SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with "
                  "--shard-count)");
  cmd->add_option("--shard-count", args->shard_count,
                  "number of shards (with --shard auto in a Kubernetes Indexed Job: its "
                  "completions)")
      ->check(CLI::Range(int64_t{1}, kMaxShards));
  cmd->add_option("--time-on-shard", args->time_on_shard,
                  "with --shard: the shard that measures timing, energy and model facts "
                  "(default 0)");
  cmd->callback([args, &global, exit_code] {
    *exit_code = RunGuarded([&] { return RunAuditCommand(*args, global); });
  });
}

}  // namespace greenlight::cli
