#include "reports/reporter.h"

#include <algorithm>
#include <stdexcept>

#include "core/error.h"
#include "core/json_limits.h"

namespace greenlight {
std::string Reporter::Render(const Report& report) const {
  try {
    return DoRender(report);
  } catch (const nlohmann::json::exception& e) {
    // Rendering failed on a field of the wrong type (only a report that did not come from an
    // audit has one): render the results one at a time to name the criterion that carries it.
    for (size_t i = 0; i < report.results.size(); ++i) {
      Report one = report;
      one.results = {report.results[i]};
      try {
        DoRender(one);
      } catch (const nlohmann::json::exception& inner) {
        throw InputError("report: results[" + std::to_string(i) + "] (criterion '" +
                         report.results[i].id +
                         "'): a field has the wrong type: " + JsonErrorText(inner));
      }
    }
    throw InputError("report: a field has the wrong type: " + JsonErrorText(e));
  }
}

void ReporterRegistry::Register(const std::string& name, const std::string& description,
                                ReporterFactory factory, const std::string& file_name) {
  const std::string file = file_name.empty() ? "report." + name : file_name;
  if (!entries_.emplace(name, Entry{description, std::move(factory), file}).second) {
    throw std::logic_error("report format '" + name + "' registered twice");
  }
}

std::vector<std::string> ReporterRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

std::string ReporterRegistry::NameList() const {
  std::string out;
  for (const auto& [name, entry] : entries_) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

std::string ReporterRegistry::Describe() const {
  size_t width = 0;
  for (const auto& [name, entry] : entries_) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, entry] : entries_) {
    out += "  " + name + std::string(width - name.size() + 2, ' ') + entry.description + "\n";
  }
  return out;
}

std::string ReporterRegistry::FileName(std::string_view name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? "report." + std::string(name) : it->second.file_name;
}

std::unique_ptr<Reporter> ReporterRegistry::Make(std::string_view name,
                                                 const ReporterOptions& options) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    throw InputError("unknown report format '" + std::string(name) + "' (known: " + NameList() +
                     ")");
  }
  return it->second.factory(options);
}

void RegisterBuiltinReporters(ReporterRegistry& registry) {
  registry.Register(
      "console", "the summary table (the default)",
      [](const ReporterOptions& o) {
        return std::make_unique<ConsoleReporter>(o.color, o.explain);
      },
      "report.txt");
  registry.Register(
      "json", "the in-toto statement, byte for byte what report.json holds",
      [](const ReporterOptions&) { return std::make_unique<JsonReporter>(); }, "report.json");
  registry.Register(
      "junit", "JUnit XML, one testcase per criterion (Jenkins, GitLab)",
      [](const ReporterOptions& o) { return std::make_unique<JunitReporter>(o.signature); },
      "report.junit.xml");
  registry.Register(
      "markdown", "a summary for a pull-request comment or $GITHUB_STEP_SUMMARY",
      [](const ReporterOptions& o) { return std::make_unique<MarkdownReporter>(o.signature); },
      "report.md");
  registry.Register(
      "github", "GitHub Actions annotations at each failing criterion's line",
      [](const ReporterOptions&) { return std::make_unique<GithubReporter>(); },
      "report.github.txt");
  registry.Register(
      "html", "one self-contained page with charts, for people (no network access)",
      [](const ReporterOptions& o) { return std::make_unique<HtmlReporter>(o.signature); },
      "report.html");
  registry.Register(
      "sarif", "SARIF 2.1.0, one result per criterion that did not pass",
      [](const ReporterOptions& o) { return std::make_unique<SarifReporter>(o.signature); });
}

const ReporterRegistry& BuiltinReporters() {
  static const ReporterRegistry registry = [] {
    ReporterRegistry r;
    RegisterBuiltinReporters(r);
    return r;
  }();
  return registry;
}

}  // namespace greenlight
