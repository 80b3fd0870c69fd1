// greenlight merge: the partials of a sharded audit (audit --shard) into one report, judged as a
// single-process audit of the same criteria would be; exit by verdict.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "engine/partial.h"

namespace greenlight::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> partials;
  std::string criteria;  // Empty: the path the partials name.
  ReportOutputArgs output;
};

int RunMergeCommand(const MergeArgs& args, const GlobalOptions& global) {
  const ReportWriter writer(args.output);
  std::vector<PartialFile> partials;
  for (const auto& file : args.partials) {
    partials.push_back({file, ParseJsonDocument(ReadFile(file, kMaxReportBytes, "partial"), file)});
  }
  const PartialSet set = CheckPartials(partials);
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
  const CriteriaFile criteria = ParseCriteria(text, path, registry, set.model_path,
                                              BuiltinModelRegistry(), set.reference_path);
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
  cmd->add_option("-c,--criteria", args->criteria,
                  "the criteria file the shards audited, when it is not at the path the "
                  "partials name (its SHA-256 must match)");
  AddReportOutputOptions(*cmd, args->output);
  cmd->callback([args, &global, exit_code] {
    *exit_code = RunGuarded([&] { return RunMergeCommand(*args, global); });
  });
}

}  // namespace greenlight::cli
