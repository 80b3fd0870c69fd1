#include "reports/report_text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace greenlight {

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  std::ostringstream ss;
  ss << std::setprecision(4) << v;
  return ss.str();
}

std::string ThresholdText(const ReportThreshold& t) {
  if (t.op == "between") {
    return "in [" + FormatNumber(t.value) + ", " + FormatNumber(t.high.value_or(t.value)) + "]";
  }
  const char* sym = t.op == "gt"    ? ">"
                    : t.op == "gte" ? ">="
                    : t.op == "lt"  ? "<"
                    : t.op == "lte" ? "<="
                                    : "==";
  return std::string(sym) + " " + FormatNumber(t.value);
}

std::string ValueText(const ReportResult& r) {
  if (!r.value) return "-";
  return FormatNumber(*r.value) + (r.unit.empty() || r.unit == "ratio" ? "" : " " + r.unit);
}

std::string IntervalText(const ReportResult& r, bool with_method) {
  if (!r.interval) return "-";
  const Interval& i = *r.interval;
  std::string out = "[" + FormatNumber(i.low) + ", " + FormatNumber(i.high) + "] " +
                    FormatNumber(i.level * 100.0) + "%";
  if (with_method && !i.method.empty()) out += " " + i.method;
  return out;
}

std::string FigureText(const ReportResult& r) {
  std::string out;
  if (r.value) out += "value " + ValueText(r) + ", ";
  if (r.interval) out += "interval " + IntervalText(r) + ", ";
  return out + "threshold " + ThresholdText(r.threshold);
}

int StatusRank(Status status) {
  switch (status) {
    case Status::kPass:
      return 0;
    case Status::kWarn:
      return 1;
    case Status::kSkipped:
      return 2;
    case Status::kInconclusive:
      return 3;
    case Status::kError:
      return 4;
    case Status::kFail:
      return 5;
  }
  return 5;
}

std::vector<const ReportResult*> WorstFirst(const Report& report) {
  std::vector<const ReportResult*> out;
  for (const auto& r : report.results) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [](const ReportResult* a, const ReportResult* b) {
    return StatusRank(a->status) > StatusRank(b->status);
  });
  return out;
}

std::string StatusCounts(const Report& report) {
  std::string out;
  for (const Status s : {Status::kFail, Status::kError, Status::kInconclusive, Status::kSkipped,
                         Status::kWarn, Status::kPass}) {
    const auto n = std::count_if(report.results.begin(), report.results.end(),
                                 [s](const ReportResult& r) { return r.status == s; });
    if (n > 0)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(StatusName(s));
  }
  return out.empty() ? "no criteria" : out;
}

std::string CriterionFile(const Report& report, const ReportResult& result) {
  const std::filesystem::path file(result.line_file.empty() ? report.criteria.path
                                                            : result.line_file);
  if (!file.is_absolute()) return file.string();
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) return file.string();
  const std::filesystem::path rel = file.lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return file.string();
  return rel.string();
}

std::string XmlEscape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
      case '\n':
      case '\r':
        if (attribute) {
          out += "&#" + std::to_string(c) + ";";
        } else {
          out += static_cast<char>(c);
        }
        break;
      default:
        // XML 1.0 allows tab, LF and CR among the control characters; the others cannot be
        // written even as references.
        if (c < 0x20) {
          out += "\xEF\xBF\xBD";
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string MarkdownCell(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// A path as a URI reference (RFC 3986): relative paths stay relative references, absolute
// ones become file:// URIs; bytes outside the unreserved set and '/' are percent-encoded.
std::string PathUri(const std::string& path) {
  std::string out = path.empty() || path[0] != '/' ? "" : "file://";
  for (const char ch : path) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += ch;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace greenlight
