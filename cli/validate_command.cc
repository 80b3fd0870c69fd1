// greenlight validate: schema and semantic checks; with --data the criteria against their dataset
// (no model is loaded); with --effective, prints the effective criteria (profiles resolved,
// overrides applied) as YAML. Exit 0 or 3.
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "core/files.h"
#include "engine/profiles.h"

namespace greenlight::cli {
namespace {

struct ValidateArgs {
  std::vector<std::string> files;
  bool effective = false;
  bool data = false;
};

}  // namespace

void AddValidateCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check criteria files (and profiles) against the schema and the metric catalog (exit 0 or "
      "3); with --data, also against the data they name.");
  cmd->add_option("files", args->files, "criteria or profile files")->required();
  cmd->add_flag("--effective", args->effective,
                "print the effective criteria: extended profiles resolved, overrides applied");
  cmd->add_flag("--data", args->data,
                "also load each file's dataset (no model) and check the declared label, "
                "decision and encoding values, sample and fairness groups against its rows");
  cmd->callback([args, exit_code] {
    *exit_code = RunGuarded([&] {
      AuditorRegistry registry;
      RegisterBuiltinAuditors(registry);
      for (const auto& f : args->files) {
        const YamlDocument doc = LoadYamlFile(f);
        if (IsProfileDocument(doc)) {
          const ProfileRef p = ValidateProfileFile(f);
          std::cout << f << ": valid profile (" << p.name << " " << p.version << ", sha256 "
                    << p.sha256 << "); its criteria are checked when a criteria file extends it\n";
          continue;
        }
        const CriteriaFile c = LoadCriteria(f, registry);
        std::string data_note;
        if (args->data) {
          const std::unique_ptr<DatasetSource> dataset = OpenDataset(c.dataset);
          CheckCriteriaAgainstData(c, registry, dataset->Metadata());
          data_note = "; data matches: " +
                      AuditedRowsText(DatasetReport(dataset->info(), c.path.parent_path()));
        }
        if (args->effective) {
          std::cout << EffectiveCriteriaYaml(ResolveEffectiveCriteria(doc));
        } else {
          std::cout << f << ": valid (" << c.criteria.size() << " criteria, " << c.metadata.name
                    << " " << c.metadata.version;
          for (const auto& p : c.profiles) std::cout << "; extends " << p.name << " " << p.version;
          std::cout << ")" << data_note << "\n";
        }
      }
      return 0;
    });
  });
}

}  // namespace greenlight::cli
