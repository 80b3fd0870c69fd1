// greenlight submit: POST a signed envelope to a regulator's intake endpoint (docs/submit.md) and
// print the receipt. Exit 0 only on an accepted receipt for this envelope; 1 when the intake
// rejects it; 3 for unreadable input or a refused token; 4 when the intake cannot be reached.
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "net/http_client.h"
#include "reports/base64.h"
#include "reports/dsse.h"

namespace greenlight::cli {
namespace {

struct SubmitArgs {
  std::string envelope;
  std::string to;
  std::string token_file;
  std::vector<std::string> attach;
};

std::string MediaType(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html";
  if (ext == ".json") return "application/json";
  if (ext == ".md") return "text/markdown";
  if (ext == ".xml") return "application/xml";
  if (ext == ".txt") return "text/plain";
  return "application/octet-stream";
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

int RunSubmit(const SubmitArgs& args) {
  const std::string bytes = ReadFile(args.envelope);
  std::string why;
  const auto envelope = ParseEnvelope(bytes, &why);
  if (!envelope) throw InputError(args.envelope + ": not a DSSE envelope: " + why);
  if (envelope->signatures.empty()) throw InputError(args.envelope + ": the envelope is unsigned");
  if (!net::IsHttpsUrl(args.to)) throw InputError(args.to + ": --to must be an https:// URL");
  const std::string digest = Sha256Hex(bytes);

  nlohmann::json body = {{"envelope_sha256", digest},
                         {"envelope_base64", Base64Encode(bytes)},
                         {"attachments", nlohmann::json::array()}};
  for (const auto& a : args.attach) {
    const std::string data = ReadFile(a);
    const std::filesystem::path p(a);
    body["attachments"].push_back({{"name", p.filename().string()},
                                   {"media_type", MediaType(p)},
                                   {"sha256", Sha256Hex(data)},
                                   {"data_base64", Base64Encode(data)}});
  }
  net::HttpRequest req;
  req.method = "POST";
  req.url = args.to;
  req.follow_redirects = false;
  req.body = body.dump();
  req.headers = {"Content-Type: application/json", "Accept: application/json",
                 "Idempotency-Key: sha256:" + digest};
  if (!args.token_file.empty()) {
    const std::string token = Trim(ReadFile(args.token_file));
    if (token.empty()) throw InputError(args.token_file + ": the token file is empty");
    if (token.find_first_of("\r\n") != std::string::npos) {
      throw InputError(args.token_file + ": the token must be one line");
    }
    req.headers.push_back("Authorization: Bearer " + token);
  }
  // Retrying is safe: the intake deduplicates by the Idempotency-Key (the envelope's digest).
  const net::HttpResponse resp = net::Send(req, net::HttpOptions::FromEnvironment());

  nlohmann::json receipt;
  try {
    receipt = nlohmann::json::parse(resp.body);
  } catch (const nlohmann::json::exception&) {
    receipt = nullptr;
  }
  const std::string where = args.to + ": HTTP " + std::to_string(resp.status);
  if (resp.status == 401 || resp.status == 403) {
    throw InputError(where + ": not authorised" +
                     (args.token_file.empty() ? " (no --token-file given)" : " (check the token)"));
  }
  if (resp.status >= 400) {
    std::string reason = receipt.is_object() ? receipt.value("reason", "") : "";
    if (reason.empty()) reason = Trim(resp.body.substr(0, 200));
    std::cerr << "greenlight: " << where << ": rejected: " << reason << "\n";
    return static_cast<int>(ExitCode::kFail);
  }
  if (resp.status != 200 && resp.status != 201) {
    throw RuntimeError(where + ": unexpected status (expected 200 or 201 with a receipt)");
  }
  if (!receipt.is_object() || !receipt.contains("status") || !receipt["status"].is_string() ||
      !receipt.contains("receipt_id") || !receipt.contains("envelope_sha256")) {
    throw RuntimeError(where + ": the response is not a receipt {status, receipt_id, " +
                       "envelope_sha256, received_at}");
  }
  if (receipt["envelope_sha256"] != digest) {
    throw RuntimeError(where + ": the receipt is for envelope " +
                       receipt["envelope_sha256"].dump() + ", not " + digest);
  }
  std::cout << receipt.dump(2) << "\n";
  if (receipt["status"] != "accepted") {
    std::cerr << "greenlight: " << where << ": receipt status " << receipt["status"].dump() << "\n";
    return static_cast<int>(ExitCode::kFail);
  }
  return static_cast<int>(ExitCode::kPass);
}

}  // namespace

void AddSubmitCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<SubmitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "submit",
      "POST a signed report envelope to a regulator's intake and print the receipt.\n"
      "Exit: 0 accepted, 1 rejected, 3 bad input or refused token, 4 intake unreachable.");
  cmd->add_option("envelope", args->envelope, "DSSE envelope (audit --key writes report.dsse.json)")
      ->required();
  cmd->add_option("--to", args->to, "intake endpoint (https URL)")->required();
  cmd->add_option("--token-file", args->token_file,
                  "file holding a bearer token for the intake (one line)");
  cmd->add_option("--attach", args->attach, "file sent along with the envelope (repeatable)");
  cmd->callback([args, exit_code] { *exit_code = RunGuarded([&] { return RunSubmit(*args); }); });
}

}  // namespace greenlight::cli
