// greenlight validate: schema and semantic checks only; exit 0 or 3. With --effective, prints the
// effective criteria (profiles resolved, overrides applied) as YAML.
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
};

}  // namespace

void AddValidateCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check criteria files (and profiles) against the schema and the metric catalog (exit 0 or "
      "3).");
  cmd->add_option("files", args->files, "criteria or profile files")->required();
  cmd->add_flag("--effective", args->effective,
                "print the effective criteria: extended profiles resolved, overrides applied");
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
        if (args->effective) {
          std::cout << EffectiveCriteriaYaml(ResolveEffectiveCriteria(doc));
        } else {
          std::cout << f << ": valid (" << c.criteria.size() << " criteria, " << c.metadata.name
                    << " " << c.metadata.version;
          for (const auto& p : c.profiles) std::cout << "; extends " << p.name << " " << p.version;
          std::cout << ")\n";
        }
      }
      return 0;
    });
  });
}

}  // namespace greenlight::cli
