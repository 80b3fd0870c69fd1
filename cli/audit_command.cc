// greenlight audit: run the criteria, write DIR/report.json, print the summary, exit by verdict.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli/cli_common.h"
#include "core/error.h"
#include "core/files.h"
#include "reports/reporter.h"

namespace greenlight::cli {
namespace {

struct AuditArgs {
  std::string criteria;
  std::string model;
  std::string out = "greenlight-report";
  int threads = 0;
};

int RunAuditCommand(const AuditArgs& args, const GlobalOptions& global) {
  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  const std::filesystem::path criteria_path =
      args.criteria.empty() ? ShippedCriteriaDir() / "demo.yaml" : std::filesystem::path(args.criteria);
  std::optional<std::filesystem::path> model;
  if (!args.model.empty()) model = args.model;
  const CriteriaFile criteria = LoadCriteria(criteria_path, registry, model);

  TerminalProgress progress(!global.quiet && isatty(STDERR_FILENO) == 1);
  AuditOptions options;
  options.progress = &progress;
  if (args.threads > 0) options.threads = args.threads;
  const AuditOutcome outcome = RunAudit(criteria, registry, options);
  progress.Clear();

  const Report report = BuildReport(criteria, outcome);
  const std::filesystem::path out_dir(args.out);
  WriteFileAtomic(out_dir / "report.json", JsonReporter().Render(report));
  std::cout << ConsoleReporter(UseColor(STDOUT_FILENO)).Render(report);
  std::cout << "report: " << (out_dir / "report.json").string() << "\n";
  return static_cast<int>(ExitCodeFor(outcome.verdict));
}

}  // namespace

void AddAuditCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* cmd = app.add_subcommand(
      "audit",
      "Run an audit and write DIR/report.json (no arguments: the shipped demo criteria).\n"
      "Exit: 0 pass, 1 a mandatory criterion failed, 2 inconclusive, 3 bad input, 4 runtime error.");
  cmd->add_option("-c,--criteria", args->criteria, "criteria file (default: shipped criteria/demo.yaml)");
  cmd->add_option("-m,--model", args->model, "model file; overrides model.path in the criteria");
  cmd->add_option("-o,--out", args->out, "output directory for report.json")->capture_default_str();
  cmd->add_option("--threads", args->threads, "intra-op threads (overrides settings.threads)")
      ->check(CLI::PositiveNumber);
  cmd->callback([args, &global, exit_code] {
    *exit_code = RunGuarded([&] { return RunAuditCommand(*args, global); });
  });
}

}  // namespace greenlight::cli
