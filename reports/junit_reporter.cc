#include <cstdio>
#include <sstream>

#include "reports/report_text.h"
#include "reports/reporter.h"

namespace greenlight {
namespace {

// Seconds with millisecond precision, as JUnit's time attribute (xs:decimal, no exponent).
std::string Seconds(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", s < 0.0 ? 0.0 : s);
  return buf;
}

std::string Attr(std::string_view text) { return XmlEscape(text, /*attribute=*/true); }

// What a reader of the CI page needs to judge the figure without opening report.json.
std::string CaseOutput(const Report& report, const CriterionResult& r) {
  std::ostringstream out;
  out << "status: " << StatusName(r.status) << " (" << r.severity << ")\n"
      << "value: " << ValueText(r) << "\n"
      << "interval: " << IntervalText(r) << "\n"
      << "samples: " << r.samples << "\n";
  if (const auto side = SideBySideOf(r)) {
    out << "reference model: " << side->figure << " " << side->reference_text << "\n"
        << "model: " << side->figure << " " << side->model_text << "\n"
        << "compared: " << side->compared_text << "\n";
  }
  out << "threshold: " << ThresholdText(r.threshold);
  if (r.confidence) out << " at confidence " << FormatNumber(*r.confidence);
  out << "\n";
  if (!r.method.empty()) {
    out << "method: " << r.method << (IsEstimate(r.method) ? " (an estimate)" : "") << "\n";
  }
  if (!r.reference.empty()) out << "reference: " << r.reference << "\n";
  if (r.line) out << "declared at: " << CriterionFile(report, r) << ":" << *r.line << "\n";
  if (!r.message.empty()) out << "message: " << r.message << "\n";
  return out.str();
}

// The failure/error/skipped message: greenlight's own message, else the figure against the
// threshold.
std::string Why(const CriterionResult& r) {
  std::string why = std::string(StatusName(r.status)) + ": ";
  if (!r.message.empty()) return why + r.message;
  return why + FigureText(r);
}

}  // namespace

std::string JunitReporter::DoRender(const Report& report) const {
  int failures = 0, errors = 0, skipped = 0;
  double time = 0.0;
  for (const auto& r : report.results) {
    failures += r.status == Status::kFail;
    errors += r.status == Status::kError;
    skipped += r.status == Status::kSkipped || r.status == Status::kInconclusive;
    time += r.elapsed_s;
  }
  const std::string tests = std::to_string(report.results.size());
  const std::string name = report.criteria.name + " " + report.criteria.version;
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"greenlight\" tests=\"" << tests << "\" failures=\"" << failures
      << "\" errors=\"" << errors << "\" time=\"" << Seconds(time) << "\">\n"
      << "  <testsuite name=\"" << Attr(name) << "\" tests=\"" << tests << "\" failures=\""
      << failures << "\" errors=\"" << errors << "\" skipped=\"" << skipped << "\" time=\""
      << Seconds(time) << "\">\n"
      << "    <properties>\n";
  auto property = [&out](std::string_view key, std::string_view value) {
    out << "      <property name=\"" << Attr(key) << "\" value=\"" << Attr(value) << "\"/>\n";
  };
  property("verdict", StatusName(report.verdict));
  property("criteria", report.criteria.path);
  property("criteria.sha256", report.criteria.sha256);
  if (report.model) {
    property("model", report.model->path);
    property("model.sha256", report.model->sha256);
  }
  if (report.reference) {
    property("reference", report.reference->path);
    property("reference.sha256", report.reference->sha256);
  }
  if (report.surrogate) {
    property("surrogate", report.surrogate->path);
    property("surrogate.sha256", report.surrogate->sha256);
  }
  property("dataset", report.dataset.path);
  property("dataset.rows", AuditedRowsText(report.dataset));
  property("created_at", report.created_at);
  property("tool", report.tool.name + " " + report.tool.version);
  if (!signature_.empty()) property("signature", signature_);
  out << "    </properties>\n";
  for (const auto& r : report.results) {
    out << "    <testcase name=\"" << Attr(r.id) << "\" classname=\""
        << Attr("greenlight." + (r.concern.empty() ? std::string("other") : r.concern) + "." +
                r.metric)
        << "\" time=\"" << Seconds(r.elapsed_s) << "\" status=\"" << StatusName(r.status)
        << "\">\n";
    const std::string why = Attr(Why(r));
    switch (r.status) {
      case Status::kFail:
        out << "      <failure message=\"" << why << "\" type=\"FAIL\"/>\n";
        break;
      case Status::kError:
        out << "      <error message=\"" << why << "\" type=\"ERROR\"/>\n";
        break;
      case Status::kSkipped:
      case Status::kInconclusive:
        out << "      <skipped message=\"" << why << "\"/>\n";
        break;
      case Status::kPass:
      case Status::kWarn:
        break;
    }
    out << "      <system-out>" << XmlEscape(CaseOutput(report, r)) << "</system-out>\n"
        << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace greenlight
