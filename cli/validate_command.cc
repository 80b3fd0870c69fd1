// greenlight validate: schema and semantic checks only; exit 0 or 3.
#include <iostream>
#include <memory>

#include "cli/cli_common.h"

namespace greenlight::cli {

void AddValidateCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "validate", "Check criteria files against the schema and the metric catalog (exit 0 or 3).");
  cmd->add_option("files", *files, "criteria files")->required();
  cmd->callback([files, exit_code] {
    *exit_code = RunGuarded([&] {
      AuditorRegistry registry;
      RegisterBuiltinAuditors(registry);
      for (const auto& f : *files) {
        const CriteriaFile c = LoadCriteria(f, registry);
        std::cout << f << ": valid (" << c.criteria.size() << " criteria, " << c.metadata.name
                  << " " << c.metadata.version << ")\n";
      }
      return 0;
    });
  });
}

}  // namespace greenlight::cli
