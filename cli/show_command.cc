// greenlight show: print a report.json or a signed envelope as the summary table. For an envelope
// it says whether the signature was verified, with which key, or that no key was given.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "reports/dsse.h"
#include "reports/reporter.h"

namespace greenlight::cli {
namespace {

struct ShowArgs {
  std::string file;
  std::vector<std::string> pubkeys;
  std::string format = "console";
};

int RunShow(const ShowArgs& args) {
  BuiltinReporters().Make(args.format, {});  // An unknown format fails before anything is read.
  std::vector<Ed25519PublicKey> keys;
  for (const auto& pub : args.pubkeys) keys.push_back(Ed25519PublicKey::FromPemFile(pub));
  const LoadedReport loaded = LoadReportFile(args.file, keys);
  const Report& report = loaded.report;
  const std::unique_ptr<Reporter> reporter = BuiltinReporters().Make(
      args.format,
      {.color = UseColor(STDOUT_FILENO), .explain = true, .signature = loaded.signature});
  const int rc = loaded.invalid ? 1 : 0;
  std::string banner;
  if (loaded.envelope) banner = "signature: " + loaded.signature + "\n";
  if (loaded.invalid)
    banner += "           the content below is NOT vouched for by any trusted key\n";
  if (args.format != "console") {
    // stdout carries the machine format alone; the signature status goes to stderr.
    std::cerr << banner;
    std::cout << reporter->Render(report);
    return rc;
  }
  std::cout << banner << reporter->Render(report);
  if (!banner.empty()) std::cout << banner;  // Repeated below a long table, where the eye ends.
  return rc;
}

}  // namespace

void AddShowCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand(
      "show",
      "Print a report.json or a signed report.dsse.json as the summary table (or --format json).\n"
      "For an envelope, give --pubkey to check the signature (otherwise it says it was not "
      "checked).\n"
      "Exit: 0 shown, 1 the envelope's signature is invalid, 3 bad input, 4 runtime error.");
  cmd->add_option("file", args->file, "report.json or report.dsse.json")->required();
  cmd->add_option("-k,--pubkey", args->pubkeys, "trusted public key (PEM); repeat for several");
  cmd->add_option("--format", args->format, "output format: " + BuiltinReporters().NameList())
      ->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunGuarded([&] { return RunShow(*args); }); });
}

}  // namespace greenlight::cli
