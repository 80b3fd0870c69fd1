#include <sstream>

#include "reports/report_text.h"
#include "reports/reporter.h"

namespace greenlight {
namespace {

// Workflow-command escaping as GitHub's actions/toolkit does it: in the message %, CR and LF; in
// property values also ':' and ','.
std::string EscapeData(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case '\r':
        out += "%0D";
        break;
      case '\n':
        out += "%0A";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeProperty(std::string_view text) {
  std::string out;
  for (const char c : EscapeData(text)) {
    if (c == ':') {
      out += "%3A";
    } else if (c == ',') {
      out += "%2C";
    } else {
      out += c;
    }
  }
  return out;
}

const char* Command(Status s) {
  switch (s) {
    case Status::kFail:
    case Status::kError:
      return "error";
    case Status::kWarn:
    case Status::kInconclusive:
      return "warning";
    default:
      return "notice";
  }
}

}  // namespace

std::string GithubReporter::DoRender(const Report& report) const {
  std::ostringstream out;
  for (const CriterionResult* r : WorstFirst(report)) {
    if (r->status == Status::kPass) continue;
    out << "::" << Command(r->status) << " file=" << EscapeProperty(CriterionFile(report, *r));
    if (r->line) out << ",line=" << *r->line;
    out << ",title="
        << EscapeProperty(r->id + " " + std::string(StatusName(r->status)) + " (" + r->metric + ")")
        << "::";
    std::string message = FigureText(*r) + " (" + r->severity + ")";
    if (const auto side = SideBySideOf(*r)) message += "\n" + SideBySideText(*side);
    if (!r->message.empty()) message = r->message + "\n" + message;
    out << EscapeData(message) << "\n";
  }
  out << "greenlight verdict: " << StatusName(report.verdict) << " (" << StatusCounts(report)
      << ")\n";
  return out.str();
}

}  // namespace greenlight
