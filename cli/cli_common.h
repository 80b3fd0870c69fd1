// Shared pieces of the subcommands: exit-code handling, terminal detection, progress, and the
// report of an audit outcome.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "reports/ed25519.h"
#include "reports/report.h"

namespace greenlight::cli {

// Options every subcommand shares.
struct GlobalOptions {
  bool quiet = false;
  bool verbose = false;  // The model runtime's own log messages on stderr (SetRuntimeLogVerbose).
};

// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
bool UseColor(int fd);

// Progress on stderr when it is a terminal and --quiet is off; silent otherwise.
class TerminalProgress final : public ProgressSink {
 public:
  explicit TerminalProgress(bool enabled) : enabled_(enabled) {}
  ~TerminalProgress() override { Clear(); }
  void Update(std::string_view criterion_id, std::string_view step, double fraction) override;
  void Clear();

 private:
  bool enabled_;
  bool dirty_ = false;
};

// The report's dataset section: files (named relative to `criteria_dir`, as the criteria name
// them), rows audited of the file's rows, and how they were chosen.
Report::Dataset DatasetReport(const DatasetInfo& info, const std::filesystem::path& criteria_dir);

// The report for an audit outcome: its header (tool, criteria, models, dataset, environment) and
// the outcome's results, moved across as the engine filled them. The criteria file (and the file
// of each criterion's line) is named relative to the working directory, where CI annotations
// resolve it; the model, reference, surrogate and data files relative to the criteria file's
// directory, where the criteria resolve them.
Report BuildReport(const CriteriaFile& criteria, AuditOutcome outcome);

// A report read from a report.json or a DSSE envelope, with what was checked of its signature.
struct LoadedReport {
  Report report;
  bool envelope = false;  // The file was a DSSE envelope.
  bool verified = false;  // One of the trusted keys verified its signature.
  bool invalid = false;   // Keys were given and none verified it (the content is still read).
  // For people: "verified with key K", "NOT CHECKED (no --pubkey given); claimed keyid K",
  // "INVALID: why"; empty for a report.json.
  std::string signature;
};

// Reads `file` (report.json or report.dsse.json), checking an envelope's signature against `keys`
// when any are given. Throws InputError for unreadable input or a payload that is not an in-toto
// statement of a greenlight report.
LoadedReport LoadReportFile(const std::string& file, const std::vector<Ed25519PublicKey>& keys);

// Runs `body`, mapping greenlight::Error to its exit code and printing one line on stderr:
// "greenlight: <message>". Other exceptions are runtime errors (exit 4).
int RunGuarded(const std::function<int()>& body);

// Where the shipped criteria live: $GREENLIGHT_CRITERIA_DIR, else the source tree's criteria/.
std::filesystem::path ShippedCriteriaDir();

// Where and how `audit` and `merge` write a report: DIR/report.json, the other --format files
// beside it, and with --key a DSSE envelope, all published atomically (audit_command.cc).
struct ReportOutputArgs {
  std::string out = "greenlight-report";
  std::vector<std::string> formats = {"console"};
  std::string key;
  bool insecure_key = false;
};

// Adds -o/--out, --format, -k/--key and --insecure-key to `cmd`.
void AddReportOutputOptions(CLI::App& cmd, ReportOutputArgs& args);

class ReportWriter {
 public:
  // Checks the format names and loads the key, so bad input fails before any work. Throws
  // InputError.
  explicit ReportWriter(const ReportOutputArgs& args);
  // Builds the report of `outcome`, publishes it (and the other formats, and the envelope) in
  // DIR, prints the stdout format, and returns the exit code of the verdict.
  int Write(const CriteriaFile& criteria, AuditOutcome outcome, const GlobalOptions& global) const;
  // Publishes a shard's partial (audit --shard) as DIR/partial.json and, with a key, its DSSE
  // envelope DIR/partial.dsse.json (payload type kPartialPayloadType), as a pair in the way
  // Write publishes a report. Returns the signing key's id, or nullopt without a key.
  std::optional<std::string> PublishPartial(const std::string& partial) const;

 private:
  ReportOutputArgs args_;
  std::vector<std::string> formats_;
  std::optional<Ed25519PrivateKey> key_;
};

// Subcommand registration: each adds itself to `app` and sets *exit_code when it runs.
void AddAuditCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddValidateCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddMetricsCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddKeygenCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddVerifyCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddShowCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddSubmitCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddRenderCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddDiffCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);
void AddMergeCommand(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace greenlight::cli
