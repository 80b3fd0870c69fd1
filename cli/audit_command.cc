// greenlight audit: run the criteria, write DIR/report.json, print the summary, exit by verdict.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli/cli_common.h"
#include "core/error.h"
#include "core/files.h"
#include "reports/dsse.h"
#include "reports/reporter.h"

namespace greenlight::cli {
namespace {

struct AuditArgs {
  std::string criteria;
  std::string model;
  std::string out = "greenlight-report";
  int threads = 0;
  std::string key;
  bool insecure_key = false;
};

int RunAuditCommand(const AuditArgs& args, const GlobalOptions& global) {
  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  const std::filesystem::path criteria_path = args.criteria.empty()
                                                  ? ShippedCriteriaDir() / "demo.yaml"
                                                  : std::filesystem::path(args.criteria);
  std::optional<std::filesystem::path> model;
  if (!args.model.empty()) model = args.model;
  const CriteriaFile criteria = LoadCriteria(criteria_path, registry, model);
  // Load the signing key before the audit, so a bad key fails in seconds, not after the run.
  std::optional<Ed25519PrivateKey> key;
  if (!args.key.empty()) key = Ed25519PrivateKey::FromPemFile(args.key, args.insecure_key);

  TerminalProgress progress(!global.quiet && isatty(STDERR_FILENO) == 1);
  AuditOptions options;
  options.progress = &progress;
  if (args.threads > 0) options.threads = args.threads;
  const AuditOutcome outcome = RunAudit(criteria, registry, options);
  progress.Clear();

  const Report report = BuildReport(criteria, outcome);
  const std::filesystem::path out_dir(args.out);
  const std::string statement = JsonReporter().Render(report);
  WriteFileAtomic(out_dir / "report.json", statement);
  const std::filesystem::path envelope_path = out_dir / "report.dsse.json";
  if (key) {
    // Signs the exact bytes just written to report.json (DSSE over PAE(type, bytes)).
    WriteFileAtomic(envelope_path,
                    SerializeEnvelope(SignEnvelope(kInTotoPayloadType, statement, *key)));
  } else {
    // An envelope from an earlier run would sit next to a report it does not sign.
    std::error_code ec;
    std::filesystem::remove(envelope_path, ec);
  }
  std::cout << ConsoleReporter(UseColor(STDOUT_FILENO)).Render(report);
  std::cout << "report: " << (out_dir / "report.json").string() << "\n";
  if (key) {
    std::cout << "signed: " << envelope_path.string() << " (keyid " << key->PublicKey().KeyId()
              << ")\n";
  }
  return static_cast<int>(ExitCodeFor(outcome.verdict));
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
  cmd->add_option("-o,--out", args->out, "output directory for report.json")->capture_default_str();
  cmd->add_option("--threads", args->threads, "intra-op threads (overrides settings.threads)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-k,--key", args->key,
                  "Ed25519 private key (greenlight keygen): also write DIR/report.dsse.json");
  cmd->add_flag("--insecure-key", args->insecure_key,
                "sign even if the key file is readable by group or others");
  cmd->callback([args, &global, exit_code] {
    *exit_code = RunGuarded([&] { return RunAuditCommand(*args, global); });
  });
}

}  // namespace greenlight::cli
