// greenlight metrics [NAME|CONCERN]: the metric catalog with units, concerns and parameters.
// Parameters that several of the listed metrics share, identically, are printed once as a group.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "auditors/metric.h"
#include "cli/cli_common.h"
#include "core/error.h"
#include "core/suggest.h"

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

// One parameter line: "      name: type = default (required) {a|b} in [lo, hi]  description".
std::string ParamLine(const nlohmann::json& p) {
  std::ostringstream out;
  out << "      " << p["name"].get<std::string>() << ": " << p["type"].get<std::string>();
  if (!p["default"].is_null()) out << " = " << p["default"].dump();
  if (p["required"].get<bool>()) out << " (required)";
  if (!p["choices"].empty()) {
    out << " {";
    for (size_t i = 0; i < p["choices"].size(); ++i) {
      out << (i ? "|" : "") << p["choices"][i].get<std::string>();
    }
    out << "}";
  }
  const nlohmann::json& lo = p["minimum"];
  const nlohmann::json& hi = p["maximum"];
  if (!lo.is_null() || !hi.is_null()) {
    out << " in [" << (lo.is_null() ? "-inf" : FormatBound(lo.get<double>())) << ", "
        << (hi.is_null() ? "inf" : FormatBound(hi.get<double>())) << "]";
  }
  out << "  " << p["description"].get<std::string>() << "\n";
  return out.str();
}

nlohmann::json Catalog(const AuditorRegistry& registry) {
  nlohmann::json all = nlohmann::json::array();
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
  }
  return all;
}

// The metrics `filter` names: one metric by name, or every metric of a concern; all when empty.
// Throws InputError naming the concerns (and the closest metric names) otherwise.
nlohmann::json Select(const nlohmann::json& all, const std::string& filter,
                      const AuditorRegistry& registry) {
  if (filter.empty()) return all;
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> concerns;
  for (const auto& m : all) {
    concerns.insert(m["concern"].get<std::string>());
    if (m["name"] == filter || m["concern"] == filter) out.push_back(m);
  }
  if (!out.empty()) return out;
  std::string known;
  for (const auto& c : concerns) known += (known.empty() ? "" : ", ") + c;
  std::string hint;
  const auto closest = registry.ClosestMetrics(filter);
  for (size_t i = 0; i < closest.size(); ++i) hint += (i ? ", " : "") + ("'" + closest[i] + "'");
  throw InputError("unknown metric or concern '" + filter + "' (concerns: " + known +
                   (hint.empty() ? "" : "; closest metrics: " + hint) +
                   "; `greenlight metrics` lists every metric)");
}

// Prints the metrics; a parameter that two or more of them declare identically is printed once, in
// a group of the parameters used by exactly the same metrics, and each metric names its groups.
void PrintText(const nlohmann::json& metrics, std::ostream& out) {
  // Parameter (as JSON text) -> the metrics declaring it.
  std::map<std::string, std::vector<std::string>> users;
  for (const auto& m : metrics) {
    for (const auto& p : m["params"]) users[p.dump()].push_back(m["name"].get<std::string>());
  }
  // Groups in order of first appearance, keyed by their set of metrics.
  std::vector<std::vector<std::string>> group_users;
  std::vector<std::vector<nlohmann::json>> group_params;
  std::map<std::string, size_t> group_of_param;
  for (const auto& m : metrics) {
    for (const auto& p : m["params"]) {
      const std::vector<std::string>& who = users[p.dump()];
      if (who.size() < 2 || group_of_param.count(p.dump()) != 0) continue;
      size_t g = 0;
      while (g < group_users.size() && group_users[g] != who) ++g;
      if (g == group_users.size()) {
        group_users.push_back(who);
        group_params.emplace_back();
      }
      group_params[g].push_back(p);
      group_of_param[p.dump()] = g;
    }
  }
  std::string concern;
  for (const auto& m : metrics) {
    if (m["concern"] != concern) {
      concern = m["concern"].get<std::string>();
      out << (concern.empty() ? "" : "\n") << "[" << concern << "]\n";
    }
    out << "  " << m["name"].get<std::string>() << " (" << m["unit"].get<std::string>() << ")  "
        << m["description"].get<std::string>() << "\n";
    std::vector<size_t> groups;
    for (const auto& p : m["params"]) {
      const auto it = group_of_param.find(p.dump());
      if (it == group_of_param.end()) {
        out << ParamLine(p);
      } else if (std::find(groups.begin(), groups.end(), it->second) == groups.end()) {
        groups.push_back(it->second);
      }
    }
    if (!groups.empty()) {
      out << "      + parameter group";
      for (size_t i = 0; i < groups.size(); ++i) out << (i ? ", " : " ") << (groups[i] + 1);
      out << "\n";
    }
  }
  if (group_params.empty()) return;
  out << "\nParameter groups (shared by several metrics):\n";
  for (size_t g = 0; g < group_params.size(); ++g) {
    out << "  group " << (g + 1) << ", used by";
    for (size_t i = 0; i < group_users[g].size(); ++i) {
      out << (i ? ", " : " ") << group_users[g][i];
    }
    out << ":\n";
    for (const auto& p : group_params[g]) out << ParamLine(p);
  }
}

}  // namespace

void AddMetricsCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  auto filter = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "metrics",
      "List the metrics with their unit, concern and parameters: every metric, one metric by name, "
      "or one concern's.\nParameters several listed metrics share are printed once, as groups.");
  cmd->add_option("filter", *filter, "a metric name or a concern (safety, efficiency, fairness)");
  cmd->add_flag("--json", *json, "print the catalog as JSON (every parameter in each metric)");
  cmd->callback([json, filter, exit_code] {
    *exit_code = RunGuarded([&] {
      AuditorRegistry registry;
      RegisterBuiltinAuditors(registry);
      const nlohmann::json selected = Select(Catalog(registry), *filter, registry);
      if (*json) {
        std::cout << selected.dump(2) << "\n";
      } else {
        PrintText(selected, std::cout);
      }
      return 0;
    });
  });
}

}  // namespace greenlight::cli
