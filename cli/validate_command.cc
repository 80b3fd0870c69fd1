// greenlight validate: schema and semantic checks, and with --data the criteria against their
// dataset (no model is loaded); exit 0 or 3.
#include <iostream>
#include <memory>

#include "cli/cli_common.h"

namespace greenlight::cli {

void AddValidateCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto data = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check criteria files against the schema and the metric catalog (exit 0 or 3); with "
      "--data, also against the data they name.");
  cmd->add_option("files", *files, "criteria files")->required();
  cmd->add_flag("--data", *data,
                "also load each file's dataset (no model) and check the declared label, "
                "decision and encoding values, sample and fairness groups against its rows");
  cmd->callback([files, data, exit_code] {
    *exit_code = RunGuarded([&] {
      AuditorRegistry registry;
      RegisterBuiltinAuditors(registry);
      for (const auto& f : *files) {
        const CriteriaFile c = LoadCriteria(f, registry);
        std::string line = f + ": valid (" + std::to_string(c.criteria.size()) + " criteria, " +
                           c.metadata.name + " " + c.metadata.version + ")";
        if (*data) {
          const std::unique_ptr<Dataset> dataset = LoadDataset(c.dataset);
          CheckCriteriaAgainstData(c, registry, *dataset);
          line += "; data matches: " + AuditedRowsText(DatasetReport(dataset->info()));
        }
        // Printed once every check passed, so a rejected file gets only the error line.
        std::cout << line << "\n";
      }
      return 0;
    });
  });
}

}  // namespace greenlight::cli
