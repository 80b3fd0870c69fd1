// greenlight merge: the partials of a sharded audit (audit --shard) into one report, judged as a
// single-process audit of the same criteria would be; exit by verdict.
#include <iostream>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "engine/partial.h"
#include "reports/dsse.h"
#include "reports/ed25519.h"

namespace greenlight::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> partials;
  std::string criteria;  // Empty: the path the partials name.
  std::vector<std::string> pubkeys;
  ReportOutputArgs output;
};

// A partial as given: partial.json, or its DSSE envelope partial.dsse.json. With trusted `keys`
// only an envelope that one of them verifies is accepted; without, an envelope's payload is read
// unverified. Returns the partial's JSON text; *keyid is the verifying key's id (empty if none).
std::string ReadPartial(const std::string& file, std::span<const Ed25519PublicKey> keys,
                        std::string* keyid) {
  const std::string text = ReadFile(file, kMaxReportBytes, "partial");
  const nlohmann::json doc = ParseJsonDocument(text, file);
  if (!doc.is_object() || !doc.contains("payloadType")) {
    if (!keys.empty()) {
      throw InputError(file + ": not signed; with --pubkey every partial must be the envelope " +
                       "that audit --shard --key writes (partial.dsse.json)");
    }
    return text;
  }
  std::string error;
  const auto envelope = ParseEnvelope(text, &error);
  if (!envelope) throw InputError(file + ": " + error);
  if (envelope->payload_type != kPartialPayloadType) {
    throw InputError(file + ": payloadType is '" + envelope->payload_type + "', not '" +
                     std::string(kPartialPayloadType) + "' (a signed partial)");
  }
  if (!keys.empty()) {
    const EnvelopeVerification check = VerifyEnvelope(*envelope, keys);
    if (!check.valid) throw InputError(file + ": signature not valid: " + check.reason);
    *keyid = check.keyid;
  }
  return envelope->payload;
}

int RunMergeCommand(const MergeArgs& args, const GlobalOptions& global) {
  const ReportWriter writer(args.output);
  std::vector<Ed25519PublicKey> keys;
  for (const auto& pub : args.pubkeys) keys.push_back(Ed25519PublicKey::FromPemFile(pub));
  std::vector<PartialFile> partials;
  std::set<std::string> keyids;
  for (const auto& file : args.partials) {
    std::string keyid;
    const std::string text = ReadPartial(file, keys, &keyid);
    partials.push_back({file, ParseJsonDocument(text, file)});
    if (!keyid.empty()) keyids.insert(keyid);
  }
  const PartialSet set = CheckPartials(partials);
  if (!keys.empty() && !global.quiet) {
    std::string ids;
    for (const auto& id : keyids) ids += (ids.empty() ? "" : ", ") + id;
    std::cerr << "partials: " << partials.size() << " signatures verified (keyid " << ids << ")\n";
  }
  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  // The criteria the shards audited: the same bytes (checked by digest) give the same criteria.
  const std::filesystem::path path =
      args.criteria.empty() ? set.criteria_path : std::filesystem::path(args.criteria);
  const std::string text = ReadFile(path, kMaxCriteriaBytes, "criteria file");
  if (Sha256Hex(text) != set.criteria_sha256) {
    throw InputError(path.string() + ": its SHA-256 " + Sha256Hex(text).substr(0, 12) +
                     "... is not the " + set.criteria_sha256.substr(0, 12) +
                     "... the shards audited (give the audited file with --criteria)");
  }
  const CriteriaFile criteria =
      ParseCriteria(text, path, registry, set.model_path, BuiltinModelRegistry(),
                    set.reference_path, set.surrogate_path);
  return writer.Write(criteria, MergePartials(criteria, registry, set), global);
}

}  // namespace

void AddMergeCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Merge the partials of a sharded audit (audit --shard I/N) into DIR/report.json.\n"
      "Exit: 0 pass, 1 a mandatory criterion failed, 2 inconclusive, 3 bad input (a partial "
      "missing, repeated or foreign), 4 runtime error.");
  cmd->add_option("partials", args->partials, "the partial.json of every shard, in any order")
      ->required();
  cmd->add_option("--pubkey", args->pubkeys,
                  "trusted public key (PEM) of the shards; repeat for several. Every partial must "
                  "then be a partial.dsse.json that one of them signed (audit --shard --key)");
  cmd->add_option("-c,--criteria", args->criteria,
                  "the criteria file the shards audited, when it is not at the path the "
                  "partials name (its SHA-256 must match)");
  AddReportOutputOptions(*cmd, args->output);
  cmd->callback([args, &global, exit_code] {
    *exit_code = RunGuarded([&] { return RunMergeCommand(*args, global); });
  });
}

}  // namespace greenlight::cli
