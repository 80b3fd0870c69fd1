#include <algorithm>
#include <optional>
#include <sstream>
#include <vector>

#include "reports/report_text.h"
#include "reports/reporter.h"

namespace greenlight {
namespace {

std::string Colour(Status s, bool on) {
  if (!on) return std::string(StatusName(s));
  const char* code = "0";
  switch (s) {
    case Status::kPass:
      code = "32";
      break;
    case Status::kFail:
    case Status::kError:
      code = "31";
      break;
    case Status::kWarn:
    case Status::kInconclusive:
      code = "33";
      break;
    case Status::kSkipped:
      code = "90";
      break;
  }
  return "\033[" + std::string(code) + "m" + std::string(StatusName(s)) + "\033[0m";
}

}  // namespace

std::string ConsoleReporter::DoRender(const Report& report) const {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "METRIC", "VALUE", "INTERVAL", "N", "THRESHOLD", "SEVERITY", "STATUS"}};
  std::vector<Status> statuses = {Status::kPass};
  // The intervals' level goes in the header when every interval has the same one, else after
  // each interval.
  std::optional<double> level;
  bool one_level = true;
  for (const auto& r : report.results) {
    if (!r.interval) continue;
    if (level && *level != r.interval->level) one_level = false;
    level = r.interval->level;
  }
  auto percent = [](double l) { return FormatNumber(l * 100.0) + "%"; };
  if (level && one_level) rows[0][3] = "INTERVAL (" + percent(*level) + ")";
  // Timings and energy measured in a noisy context (details.noisy_context) are marked with "!"
  // and the reasons listed once under the table; estimated figures (method "estimate:...") with
  // "~" and their methods listed.
  std::vector<std::string> noisy;
  std::vector<std::string> estimates;
  for (const auto& r : report.results) {
    std::string value =
        r.value ? FormatNumber(*r.value) + (r.unit.empty() || r.unit == "ratio" ? "" : " " + r.unit)
                : "-";
    if (IsEstimate(r.method)) {
      value += " ~";
      if (std::find(estimates.begin(), estimates.end(), r.method) == estimates.end()) {
        estimates.push_back(r.method);
      }
    }
    std::string interval = r.interval ? "[" + FormatNumber(r.interval->low) + ", " +
                                            FormatNumber(r.interval->high) + "]"
                                      : "-";
    if (r.interval && !one_level) interval += " " + percent(r.interval->level);
    if (r.details.contains("noisy_context") && r.details["noisy_context"].is_array() &&
        !r.details["noisy_context"].empty()) {
      interval += " !";
      for (const auto& w : r.details["noisy_context"]) {
        if (w.is_string() &&
            std::find(noisy.begin(), noisy.end(), w.get<std::string>()) == noisy.end()) {
          noisy.push_back(w.get<std::string>());
        }
      }
    }
    rows.push_back({r.id, r.metric, value, interval, std::to_string(r.samples),
                    ThresholdText(r.threshold), r.severity, std::string(StatusName(r.status))});
    statuses.push_back(r.status);
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::ostringstream out;
  out << "greenlight " << report.tool.version << " — " << report.criteria.name << " "
      << report.criteria.version << "\n";
  if (report.model) {
    out << "model   " << report.model->path << "  sha256:" << report.model->sha256.substr(0, 16)
        << "…  " << report.model->parameters << " parameters\n";
    if (report.reference) {
      out << "reference " << report.reference->path
          << "  sha256:" << report.reference->sha256.substr(0, 16) << "…  "
          << report.reference->parameters << " parameters\n";
    }
    if (report.surrogate) {
      out << "surrogate " << report.surrogate->path
          << "  sha256:" << report.surrogate->sha256.substr(0, 16) << "…  "
          << report.surrogate->parameters << " parameters (transfer attacks crafted on it)\n";
    }
  }
  out << "dataset " << report.dataset.path << "  " << AuditedRowsText(report.dataset) << "\n";
  for (const auto& p : report.criteria.profiles) {
    out << "profile " << p.name << " " << p.version << "  sha256:" << p.sha256.substr(0, 16)
        << "…  " << p.source << "\n";
  }
  out << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < rows[i].size(); ++c) {
      const bool last = c + 1 == rows[i].size();
      if (last && i > 0) {
        out << Colour(statuses[i], color_);
      } else {
        out << rows[i][c];
        if (!last) out << std::string(width[c] - rows[i][c].size() + 2, ' ');
      }
    }
    out << "\n";
  }
  out << "\n";
  if (!estimates.empty()) {
    out << "~ estimated, not measured:";
    for (size_t i = 0; i < estimates.size(); ++i) out << (i == 0 ? " " : "; ") << estimates[i];
    out << "\n";
  }
  if (!noisy.empty()) {
    out << "! noisy timing context:";
    for (size_t i = 0; i < noisy.size(); ++i) out << (i == 0 ? " " : "; ") << noisy[i];
    out << "\n";
  }
  if (!estimates.empty() || !noisy.empty()) out << "\n";
  // Results that compare with the reference model: both figures beside the compared value.
  bool side_heading = false;
  for (const auto& r : report.results) {
    const std::optional<SideBySide> side = SideBySideOf(r);
    if (!side) continue;
    if (!side_heading) out << "Reference model beside the model:\n";
    side_heading = true;
    out << "  " << r.id << "  " << SideBySideText(*side) << "\n";
  }
  if (side_heading) out << "\n";
  if (explain_) {
    // Each metric once, in the table's order, with its plain-language name.
    std::vector<std::string> metrics;
    size_t metric_width = 0;
    for (const auto& r : report.results) {
      if (std::find(metrics.begin(), metrics.end(), r.metric) != metrics.end()) continue;
      metrics.push_back(r.metric);
      metric_width = std::max(metric_width, r.metric.size());
    }
    if (!metrics.empty()) out << "What the metrics measure:\n";
    for (const auto& m : metrics) {
      out << "  " << m << std::string(metric_width - m.size() + 2, ' ') << PlainName(m) << "\n";
    }
    if (!metrics.empty()) out << "\n";
  }
  // Overrides of a profile's criteria are shown whatever the status: a loosened threshold is the
  // first thing a regulator looks for.
  for (const auto& r : report.results) {
    for (const auto& o : r.overrides) {
      out << r.id << ": overrides " << o.value("field", "?") << " of profile "
          << (r.profile ? r.profile->name + " " + r.profile->version : std::string("?")) << ": "
          << o.value("profile_value", nlohmann::json()).dump() << " -> "
          << o.value("value", nlohmann::json()).dump() << "\n";
    }
  }
  for (const auto& r : report.results) {
    if (r.status != Status::kPass && !r.message.empty()) {
      out << r.id << ": " << StatusName(r.status) << ": " << r.message << "\n";
    }
  }
  out << "verdict: " << Colour(report.verdict, color_) << "\n";
  return out.str();
}

}  // namespace greenlight
