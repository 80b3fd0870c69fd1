// One interface, one implementation per output format (as Google Benchmark's reporters).
#pragma once

#include <string>

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

}  // namespace greenlight
