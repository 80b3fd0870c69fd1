// greenlight metrics: the metric catalog with units, concerns and parameters.
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "auditors/metric.h"
#include "cli/cli_common.h"

namespace greenlight::cli {
namespace {
std::string FormatBound(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}
// A framework metric's bound for a parameter (null: none, or a legacy metric).
nlohmann::json Bound(const std::map<std::string, ParamDomain>& domains, const std::string& name,
                     bool lower) {
  auto it = domains.find(name);
  if (it == domains.end()) return nullptr;
  const auto& b = lower ? it->second.min : it->second.max;
  return b ? nlohmann::json(*b) : nlohmann::json(nullptr);
}
}  // namespace

void AddMetricsCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd =
      app.add_subcommand("metrics", "List every metric with its unit, concern and parameters.");
  cmd->add_flag("--json", *json, "print the catalog as JSON");
  cmd->callback([json, exit_code] {
    *exit_code = RunGuarded([&] {
      AuditorRegistry registry;
      RegisterBuiltinAuditors(registry);
      nlohmann::json all = nlohmann::json::array();
      std::string concern;
      for (const MetricSpec& m : registry.AllMetrics()) {
        const Metric* framework = FindFrameworkMetric(registry, m.name);
        const std::map<std::string, ParamDomain> domains =
            framework != nullptr ? framework->domains() : std::map<std::string, ParamDomain>{};
        nlohmann::json params = nlohmann::json::array();
        for (const ParamSpec& p : m.params) {
          params.push_back({{"name", p.name},
                            {"type", std::string(ParamTypeName(p.type))},
                            {"default", p.default_value},
                            {"required", p.required},
                            {"choices", p.choices},
                            {"minimum", Bound(domains, p.name, true)},
                            {"maximum", Bound(domains, p.name, false)},
                            {"description", p.description}});
        }
        all.push_back({{"name", m.name},
                       {"unit", m.unit},
                       {"concern", m.concern},
                       {"description", m.description},
                       {"needs_model", m.needs_model},
                       {"needs_labels", m.needs_labels},
                       {"params", params}});
        if (*json) continue;
        if (m.concern != concern) {
          concern = m.concern;
          std::cout << (concern.empty() ? "" : "\n") << "[" << concern << "]\n";
        }
        std::cout << "  " << m.name << " (" << m.unit << ")  " << m.description << "\n";
        for (const ParamSpec& p : m.params) {
          std::cout << "      " << p.name << ": " << ParamTypeName(p.type);
          if (!p.default_value.is_null()) std::cout << " = " << p.default_value.dump();
          if (p.required) std::cout << " (required)";
          if (!p.choices.empty()) {
            std::cout << " {";
            for (size_t i = 0; i < p.choices.size(); ++i)
              std::cout << (i ? "|" : "") << p.choices[i];
            std::cout << "}";
          }
          const nlohmann::json lo = Bound(domains, p.name, true);
          const nlohmann::json hi = Bound(domains, p.name, false);
          if (!lo.is_null() || !hi.is_null()) {
            std::cout << " in [" << (lo.is_null() ? "-inf" : FormatBound(lo.get<double>())) << ", "
                      << (hi.is_null() ? "inf" : FormatBound(hi.get<double>())) << "]";
          }
          std::cout << "  " << p.description << "\n";
        }
      }
      if (*json) std::cout << all.dump(2) << "\n";
      return 0;
    });
  });
}

}  // namespace greenlight::cli
