// greenlight render: a report.json or a signed envelope in another format (junit, markdown,
// github, sarif, ...), to stdout or a file. With --pubkey the envelope is verified first and the
// rendering says so; an envelope that no trusted key verifies is not rendered.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "core/error.h"
#include "core/files.h"
#include "reports/reporter.h"

namespace greenlight::cli {
namespace {

struct RenderArgs {
  std::string file;
  std::string format;
  std::string out;
  std::vector<std::string> pubkeys;
};

int RunRender(const RenderArgs& args) {
  BuiltinReporters().Make(args.format, {});  // An unknown format fails before anything is read.
  std::vector<Ed25519PublicKey> keys;
  for (const auto& pub : args.pubkeys) keys.push_back(Ed25519PublicKey::FromPemFile(pub));
  const LoadedReport loaded = LoadReportFile(args.file, keys);
  if (!keys.empty() && !loaded.envelope) {
    throw InputError(args.file +
                     ": --pubkey given, but this is an unsigned report.json, not a signed "
                     "envelope (report.dsse.json)");
  }
  if (loaded.invalid) {
    std::cerr << "greenlight: " << args.file << ": signature " << loaded.signature
              << "; nothing rendered\n";
    return static_cast<int>(ExitCode::kFail);
  }
  const std::string signature =
      loaded.envelope ? loaded.signature : "none (an unsigned report.json)";
  const bool to_stdout = args.out.empty();
  const std::unique_ptr<Reporter> reporter = BuiltinReporters().Make(
      args.format, {.color = to_stdout && UseColor(STDOUT_FILENO), .signature = signature});
  std::string text = reporter->Render(loaded.report);
  // The console table has no place for the signature: it goes above, as `show` prints it.
  if (args.format == "console") text = "signature: " + signature + "\n" + text;
  if (to_stdout) {
    std::cout << text;
  } else {
    WriteFileAtomic(args.out, text);
  }
  return 0;
}

}  // namespace

void AddRenderCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<RenderArgs>();
  CLI::App* cmd = app.add_subcommand(
      "render",
      "Render a report.json or a signed report.dsse.json in another format.\n"
      "With --pubkey the envelope is verified first, and the rendering says whether it was.\n"
      "Exit: 0 rendered, 1 the envelope's signature is invalid (nothing rendered), 3 bad input, "
      "4 runtime error.");
  cmd->add_option("file", args->file, "report.json or report.dsse.json")->required();
  cmd->add_option("-f,--format", args->format, "output format: " + BuiltinReporters().NameList())
      ->required();
  cmd->add_option("-o,--out", args->out, "write to this file (atomically) instead of stdout");
  cmd->add_option("-k,--pubkey", args->pubkeys, "trusted public key (PEM); repeat for several");
  cmd->callback([args, exit_code] { *exit_code = RunGuarded([&] { return RunRender(*args); }); });
}

}  // namespace greenlight::cli
