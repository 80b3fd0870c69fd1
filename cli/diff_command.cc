// greenlight diff: what changed between two reports, criterion by criterion. Exits 1 when a status
// or the verdict got worse, so a CI job can gate on a regression.
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "core/error.h"
#include "reports/report_diff.h"

namespace greenlight::cli {
namespace {

struct DiffArgs {
  std::string before;
  std::string after;
  std::string format = "markdown";
};

int RunDiff(const DiffArgs& args) {
  if (args.format != "markdown" && args.format != "json") {
    throw InputError("unknown diff format '" + args.format + "' (known: json, markdown)");
  }
  // Envelopes are read without checking their signatures: `verify` or `show --pubkey` does that.
  const Report before = LoadReportFile(args.before, {}).report;
  const Report after = LoadReportFile(args.after, {}).report;
  const ReportDiff diff = DiffReports(before, after);
  if (args.format == "json") {
    std::cout << DiffJson(diff, before, after).dump(2) << "\n";
  } else {
    std::cout << DiffMarkdown(diff, before, after);
  }
  return static_cast<int>(diff.AnyWorse() ? ExitCode::kFail : ExitCode::kPass);
}

}  // namespace

void AddDiffCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Compare two reports criterion by criterion (matched by id): value, interval, status.\n"
      "Exit: 0 nothing got worse, 1 a criterion's status or the verdict got worse, 3 bad input, "
      "4 runtime error.");
  cmd->add_option("old", args->before, "the earlier report.json or report.dsse.json")->required();
  cmd->add_option("new", args->after, "the later report.json or report.dsse.json")->required();
  cmd->add_option("-f,--format", args->format, "markdown or json")->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunGuarded([&] { return RunDiff(*args); }); });
}

}  // namespace greenlight::cli
