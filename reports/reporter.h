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
  // Renders the whole report as text (a file's content or what is printed).
  virtual std::string Render(const Report& report) const = 0;
};

// The summary table printed to stdout. `color` adds ANSI colours to statuses (callers decide from
// isatty and NO_COLOR).
class ConsoleReporter final : public Reporter {
 public:
  explicit ConsoleReporter(bool color = false) : color_(color) {}
  std::string Render(const Report& report) const override;

 private:
  bool color_;
};

// report.json: the in-toto Statement, byte for byte what SerializeStatement gives.
class JsonReporter final : public Reporter {
 public:
  std::string Render(const Report& report) const override { return SerializeStatement(report); }
};

// What a caller knows about where the rendering goes.
struct ReporterOptions {
  bool color = false;  // ANSI colours are welcome (a terminal without NO_COLOR).
};

using ReporterFactory = std::function<std::unique_ptr<Reporter>(const ReporterOptions&)>;

class ReporterRegistry {
 public:
  // Throws std::logic_error when `name` is already registered.
  void Register(const std::string& name, const std::string& description, ReporterFactory factory);

  bool Has(std::string_view name) const { return entries_.find(name) != entries_.end(); }
  // Registered names, sorted.
  std::vector<std::string> names() const;
  // "console, json": for help texts and error messages.
  std::string NameList() const;
  // One line per format: "  name  description".
  std::string Describe() const;

  // Throws InputError "unknown report format 'x' (known: console, json)".
  std::unique_ptr<Reporter> Make(std::string_view name, const ReporterOptions& options) const;

 private:
  struct Entry {
    std::string description;
    ReporterFactory factory;
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

// Registers "console" (the summary table) and "json" (the in-toto statement).
void RegisterBuiltinReporters(ReporterRegistry& registry);

// A registry with the built-in reporters, built on first use.
const ReporterRegistry& BuiltinReporters();

}  // namespace greenlight
