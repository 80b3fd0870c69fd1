#include <filesystem>
#include <optional>
#include <sstream>

#include "reports/report_text.h"
#include "reports/reporter.h"

namespace greenlight {
namespace {

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// Inline code that survives any content: a backtick inside is replaced, a pipe escaped.
std::string Code(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '`') c = '\'';
  }
  return "`" + MarkdownCell(s) + "`";
}

}  // namespace

std::string MarkdownReporter::DoRender(const Report& report) const {
  std::ostringstream out;
  out << "## greenlight: " << StatusName(report.verdict) << " — "
      << MarkdownCell(report.criteria.name) << " " << MarkdownCell(report.criteria.version)
      << "\n\n";
  out << "**Verdict: " << StatusName(report.verdict) << "** (" << StatusCounts(report)
      << "; mandatory criteria decide the verdict)\n\n";
  if (report.model) {
    out << "- Model: " << Code(FileName(report.model->path)) << " sha256 "
        << Code(report.model->sha256.substr(0, 16)) << "\n";
  }
  if (report.reference) {
    out << "- Reference model: " << Code(FileName(report.reference->path)) << " sha256 "
        << Code(report.reference->sha256.substr(0, 16)) << "\n";
  }
  if (report.surrogate) {
    out << "- Surrogate model (transfer attacks crafted on it): "
        << Code(FileName(report.surrogate->path)) << " sha256 "
        << Code(report.surrogate->sha256.substr(0, 16)) << "\n";
  }
  out << "- Dataset: " << Code(FileName(report.dataset.path)) << ", "
      << AuditedRowsText(report.dataset) << "\n";
  out << "- Criteria: " << Code(FileName(report.criteria.path)) << " sha256 "
      << Code(report.criteria.sha256.substr(0, 16)) << "\n";
  if (!signature_.empty()) out << "- Signature: " << MarkdownCell(signature_) << "\n";
  out << "\n| Status | ID | Metric | Value | Interval | Threshold | Severity |\n"
      << "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const CriterionResult* r : WorstFirst(report)) {
    const bool bad = r->status != Status::kPass;
    const std::string status(StatusName(r->status));
    out << "| " << (bad ? "**" + status + "**" : status) << " | " << MarkdownCell(r->id) << " | "
        << MarkdownCell(r->metric) << " | " << MarkdownCell(ValueText(*r)) << " | "
        << MarkdownCell(IntervalText(*r, /*with_method=*/false)) << " | "
        << MarkdownCell(ThresholdText(r->threshold)) << " | " << r->severity << " |\n";
  }
  // Results that compare with the reference model: both models' figures beside the compared
  // value, in the table's order.
  bool side_heading = false;
  for (const CriterionResult* r : WorstFirst(report)) {
    const std::optional<SideBySide> side = SideBySideOf(*r);
    if (!side) continue;
    if (!side_heading) {
      out << "\n### Reference model beside the model\n\n"
          << "| ID | Figure | Reference model | Model | Compared |\n"
          << "| --- | --- | --- | --- | --- |\n";
    }
    side_heading = true;
    out << "| " << MarkdownCell(r->id) << " | " << MarkdownCell(side->figure) << " | "
        << MarkdownCell(side->reference_text) << " | " << MarkdownCell(side->model_text) << " | "
        << MarkdownCell(side->compared_text) << " |\n";
  }
  bool heading = false;
  for (const CriterionResult* r : WorstFirst(report)) {
    if (r->status == Status::kPass || r->message.empty()) continue;
    if (!heading) out << "\n### Messages\n\n";
    heading = true;
    out << "- **" << MarkdownCell(r->id) << "** " << StatusName(r->status) << ": "
        << MarkdownCell(r->message) << "\n";
  }
  return out.str();
}

}  // namespace greenlight
