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
  const std::unique_ptr<Reporter> reporter =
      BuiltinReporters().Make(args.format, {.color = UseColor(STDOUT_FILENO)});
  std::vector<Ed25519PublicKey> keys;
  for (const auto& pub : args.pubkeys) keys.push_back(Ed25519PublicKey::FromPemFile(pub));
  const std::string text = ReadFile(args.file, kMaxReportBytes, "report file");
  const nlohmann::json doc = ParseJsonDocument(text, args.file);

  int rc = 0;
  std::string banner;
  nlohmann::json statement = doc;
  if (doc.is_object() && doc.contains("payloadType")) {
    std::string error;
    const auto envelope = ParseEnvelope(text, &error);
    if (!envelope) throw InputError(args.file + ": " + error);
    std::string claimed;
    for (const auto& s : envelope->signatures) {
      claimed +=
          (claimed.empty() ? "" : ", ") + (s.keyid.empty() ? std::string("(none)") : s.keyid);
    }
    if (keys.empty()) {
      banner = "signature: NOT CHECKED (no --pubkey given); claimed keyid " + claimed + "\n";
    } else {
      const auto check = VerifyEnvelope(*envelope, keys);
      if (check.valid) {
        banner = "signature: verified with key " + check.keyid + "\n";
      } else {
        banner = "signature: INVALID: " + check.reason + "\n" +
                 "           the content below is NOT vouched for by any trusted key\n";
        rc = 1;
      }
    }
    if (envelope->payload_type != kInTotoPayloadType) {
      throw InputError(args.file + ": payloadType is '" + envelope->payload_type +
                       "', not an in-toto statement");
    }
    statement = ParseJsonDocument(envelope->payload, args.file + " (payload)");
  }
  const Report report = FromStatement(statement);
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
