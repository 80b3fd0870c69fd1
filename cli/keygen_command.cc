// greenlight keygen: a new Ed25519 signing key pair, PREFIX.key (PKCS#8 PEM, 0600) and PREFIX.pub
// (SubjectPublicKeyInfo PEM). Never overwrites an existing file.
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "reports/ed25519.h"

namespace greenlight::cli {
namespace {

int RunKeygen(const std::string& prefix) {
  const KeyFiles files = WriteKeyFiles(Ed25519PrivateKey::Generate(), prefix);
  std::cout << "private key: " << files.private_key.string() << " (mode 0600, keep it secret)\n"
            << "public key:  " << files.public_key.string() << " (give it to verifiers)\n"
            << "keyid:       " << files.keyid << "\n";
  return 0;
}

}  // namespace

void AddKeygenCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto prefix = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "keygen",
      "Create an Ed25519 key pair for signing reports: PREFIX.key (private, PKCS#8 PEM, mode "
      "0600)\n"
      "and PREFIX.pub (public, SubjectPublicKeyInfo PEM). Never overwrites an existing file.\n"
      "Exit: 0 written, 3 bad input (a file exists), 4 runtime error.");
  cmd->add_option("-o,--out", *prefix, "path prefix of the key files")->required();
  cmd->callback(
      [prefix, exit_code] { *exit_code = RunGuarded([&] { return RunKeygen(*prefix); }); });
}

}  // namespace greenlight::cli
