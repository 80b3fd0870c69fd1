// One interface, one implementation per output format (as Google Benchmark's reporters), and a
// registry that names them: the CLI's --format picks a reporter by name, so a new format is one
// class plus one Register line in RegisterBuiltinReporters.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report.h"

namespace greenlight {

class Reporter {
 public:
  virtual ~Reporter() = default;
  // Renders the whole report as text (a file's content or what is printed). A report read back
  // from a file (show, render, diff) can carry details of a shape no audit writes: a field that a
  // format reads with the wrong type is an InputError naming the criterion, never a crash.
  std::string Render(const Report& report) const;

 private:
  virtual std::string DoRender(const Report& report) const = 0;
};

// The summary table printed to stdout. `color` adds ANSI colours to statuses (callers decide from
// isatty and NO_COLOR); `explain` adds, under the table, what each metric measures in plain
// words (`show`, for readers who are not engineers).
class ConsoleReporter final : public Reporter {
 public:
  explicit ConsoleReporter(bool color = false, bool explain = false)
      : color_(color), explain_(explain) {}

 private:
  std::string DoRender(const Report& report) const override;
  bool color_;
  bool explain_;
};

// report.json: the in-toto Statement, byte for byte what SerializeStatement gives.
class JsonReporter final : public Reporter {
 private:
  std::string DoRender(const Report& report) const override { return SerializeStatement(report); }
};

// What a caller knows about where the rendering goes and where the report came from.
struct ReporterOptions {
  bool color = false;    // ANSI colours are welcome (a terminal without NO_COLOR).
  bool explain = false;  // The console table says what each metric measures in plain words.
  // What was checked of the report's signature, said by the formats meant to be filed or shown
  // (markdown, junit, sarif), e.g. "verified with key 3f2a…" or "NOT CHECKED (no --pubkey
  // given)"; empty says nothing (a report.json just written by audit).
  std::string signature;
};

// JUnit XML for CI test views (Jenkins, GitLab): one <testcase> per criterion, classname
// "greenlight.<concern>.<metric>". FAIL is a <failure>, ERROR an <error>, SKIPPED and
// INCONCLUSIVE a <skipped> whose message starts with the status (neither passed nor failed);
// WARN passes with its message in <system-out>. Every testcase's status attribute holds
// greenlight's status, and <system-out> the value, interval, threshold, method and clause.
// Validates against schemas/junit.xsd.
class JunitReporter final : public Reporter {
 public:
  explicit JunitReporter(std::string signature = {}) : signature_(std::move(signature)) {}

 private:
  std::string DoRender(const Report& report) const override;
  std::string signature_;
};

// A Markdown summary for a pull-request comment or $GITHUB_STEP_SUMMARY: the verdict, what was
// audited, one compact table with the worst statuses first, then the messages.
class MarkdownReporter final : public Reporter {
 public:
  explicit MarkdownReporter(std::string signature = {}) : signature_(std::move(signature)) {}

 private:
  std::string DoRender(const Report& report) const override;
  std::string signature_;
};

// GitHub Actions workflow commands: one annotation per criterion that did not pass, at the line
// of its id in the criteria file (FAIL and ERROR are ::error, INCONCLUSIVE and WARN ::warning,
// SKIPPED ::notice), then the verdict as a plain log line.
class GithubReporter final : public Reporter {
 private:
  std::string DoRender(const Report& report) const override;
};

// SARIF 2.1.0 (code-scanning upload): one run, one rule per metric, one result per criterion that
// did not pass, located at the line of its id in the criteria file.
class SarifReporter final : public Reporter {
 public:
  explicit SarifReporter(std::string signature = {}) : signature_(std::move(signature)) {}

 private:
  std::string DoRender(const Report& report) const override;
  std::string signature_;
};

// One self-contained HTML page for people who are not engineers (inline CSS and SVG; no scripts,
// fonts, images or requests): the verdict banner, what was audited (digests, rows, environment,
// signature), one section per concern with plain-language metric names, each figure with its
// interval and level, threshold, clause and method (estimates marked), and SVG charts where the
// details carry the data (latency histogram, per-group rates with intervals and the four-fifths
// band, reliability diagram, accuracy by corruption severity, accuracy against epsilon).
class HtmlReporter final : public Reporter {
 public:
  explicit HtmlReporter(std::string signature = {}) : signature_(std::move(signature)) {}

 private:
  std::string DoRender(const Report& report) const override;
  std::string signature_;
};

using ReporterFactory = std::function<std::unique_ptr<Reporter>(const ReporterOptions&)>;

class ReporterRegistry {
 public:
  // Throws std::logic_error when `name` is already registered. `file_name` is what `audit`
  // writes the rendering to next to report.json (default "report.<name>").
  void Register(const std::string& name, const std::string& description, ReporterFactory factory,
                const std::string& file_name = {});

  bool Has(std::string_view name) const { return entries_.find(name) != entries_.end(); }
  // Registered names, sorted.
  std::vector<std::string> names() const;
  // "console, json": for help texts and error messages.
  std::string NameList() const;
  // One line per format: "  name  description".
  std::string Describe() const;

  // The file name of a registered format's rendering ("report.md" for markdown).
  std::string FileName(std::string_view name) const;

  // Throws InputError "unknown report format 'x' (known: console, json)".
  std::unique_ptr<Reporter> Make(std::string_view name, const ReporterOptions& options) const;

 private:
  struct Entry {
    std::string description;
    ReporterFactory factory;
    std::string file_name;
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

// Registers "console" (the summary table), "json" (the in-toto statement), "junit", "markdown",
// "github", "sarif" and "html".
void RegisterBuiltinReporters(ReporterRegistry& registry);

// A registry with the built-in reporters, built on first use.
const ReporterRegistry& BuiltinReporters();

}  // namespace greenlight
