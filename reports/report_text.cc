#include "reports/report_text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>

namespace greenlight {

std::string PlainName(const std::string& metric) {
  static const std::map<std::string, std::string> kNames = {
      {"accuracy", "Accuracy: share of correct predictions"},
      {"top_k_accuracy", "Top-k accuracy: the right answer among the k most likely"},
      {"precision", "Precision: share of positive predictions that are right"},
      {"recall", "Recall: share of actual cases the model finds"},
      {"f1", "F1 score: balance of precision and recall"},
      {"roc_auc", "Ranking quality (ROC AUC)"},
      {"accuracy_retention", "Accuracy kept relative to the reference model"},
      {"accuracy_delta", "Accuracy gained or lost against the reference model"},
      {"prediction_agreement", "Share of inputs where the model answers as the reference model"},
      {"mcnemar_p_value", "Chance of a difference this large if both models were equally accurate"},
      {"latency_speedup", "How many times faster than the reference model"},
      {"throughput_ratio", "Inputs processed per second, relative to the reference model"},
      {"peak_memory_ratio", "Peak memory while running, relative to the reference model"},
      {"flops_reduction", "Share of the reference model's computation saved"},
      {"size_reduction", "Share of the reference model's file size saved"},
      {"parameter_reduction", "Share of the reference model's weights removed"},
      {"sparsity", "Share of weights that are exactly zero"},
      {"nonzero_parameters", "Number of weights that are not zero"},
      {"adversarial_accuracy", "Accuracy under deliberate small input manipulations"},
      {"attack_success_rate", "Share of correct answers an attacker can flip"},
      {"empirical_robustness", "Size of the smallest change that flips an answer"},
      {"corruption_accuracy", "Accuracy on degraded inputs (noise, blur, contrast)"},
      {"corruption_accuracy_drop", "Accuracy lost on degraded inputs"},
      {"ece", "Calibration error: stated confidence versus actual accuracy"},
      {"ece_equal_mass", "Calibration error (equal-size groups of predictions)"},
      {"determinism_max_abs_diff", "Largest difference between repeated runs on the same input"},
      {"invalid_input_silent_rate", "Share of invalid inputs accepted without complaint"},
      {"ood_auroc", "Ability to tell unfamiliar inputs from familiar ones"},
      {"monotonicity_violation_rate", "Share of rows where the score moves the wrong way"},
      {"perturbation_flip_rate", "Share of decisions changed by slight input noise"},
      {"latency_mean_ms", "Average response time"},
      {"latency_p50_ms", "Typical response time (median)"},
      {"latency_p90_ms", "Response time that 90% of requests beat"},
      {"latency_p95_ms", "Response time that 95% of requests beat"},
      {"latency_p99_ms", "Response time that 99% of requests beat"},
      {"latency_p999_ms", "Response time that 99.9% of requests beat"},
      {"throughput_samples_per_s", "Throughput: inputs processed per second"},
      {"peak_memory_mb", "Extra memory used while running"},
      {"model_parameters", "Number of model parameters"},
      {"model_size_mb", "Size of the model file"},
      {"flops_per_sample", "Computation per input (floating-point operations)"},
      {"energy_per_inference_mj", "Energy per prediction"},
      {"energy_per_1000_inferences_wh", "Energy per 1,000 predictions"},
      {"inferences_per_joule", "Predictions per joule of energy"},
      {"average_power_w", "Average power draw while running"},
      {"carbon_per_1000_inferences_g", "Carbon emissions per 1,000 predictions"},
      {"sci_per_inference_g", "Software carbon intensity per prediction (SCI)"},
      {"selection_rate", "Share of people given the favourable outcome"},
      {"disparate_impact_ratio",
       "Favourable-outcome rate of the least favoured group relative to the reference group"},
      {"demographic_parity_difference", "Gap in favourable-outcome rates between groups"},
      {"demographic_parity_ratio", "Lowest over highest favourable-outcome rate of the groups"},
      {"equal_opportunity_difference", "Gap between groups in finding the deserving cases"},
      {"equalized_odds_difference", "Largest gap between groups in right and wrong approvals"},
      {"average_odds_difference", "Average gap between groups in right and wrong approvals"},
      {"false_positive_rate_difference", "Gap between groups in wrong approvals"},
      {"false_negative_rate_difference", "Gap between groups in wrong refusals"},
      {"predictive_parity_difference", "Gap between groups in how often an approval is right"},
      {"accuracy_difference", "Gap in accuracy between groups"},
      {"group_accuracy_min", "Accuracy of the worst-served group"},
      {"theil_index", "Inequality of outcomes across individuals (Theil index)"},
  };
  const auto it = kNames.find(metric);
  if (it != kNames.end()) return it->second;
  std::string s = metric;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  std::ostringstream ss;
  ss << std::setprecision(4) << v;
  return ss.str();
}

std::string ThresholdText(const ResultThreshold& t) {
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

std::string ValueText(const CriterionResult& r) {
  if (!r.value) return "-";
  return FormatNumber(*r.value) + (r.unit.empty() || r.unit == "ratio" ? "" : " " + r.unit);
}

std::string IntervalText(const CriterionResult& r, bool with_method) {
  if (!r.interval) return "-";
  const Interval& i = *r.interval;
  std::string out = "[" + FormatNumber(i.low) + ", " + FormatNumber(i.high) + "] " +
                    FormatNumber(i.level * 100.0) + "%";
  if (with_method && !i.method.empty()) out += " " + i.method;
  return out;
}

std::string FigureText(const CriterionResult& r) {
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

std::vector<const CriterionResult*> WorstFirst(const Report& report) {
  std::vector<const CriterionResult*> out;
  for (const auto& r : report.results) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [](const CriterionResult* a, const CriterionResult* b) {
    return StatusRank(a->status) > StatusRank(b->status);
  });
  return out;
}

std::string StatusCounts(const Report& report) {
  std::string out;
  for (const Status s : {Status::kFail, Status::kError, Status::kInconclusive, Status::kSkipped,
                         Status::kWarn, Status::kPass}) {
    const auto n = std::count_if(report.results.begin(), report.results.end(),
                                 [s](const CriterionResult& r) { return r.status == s; });
    if (n > 0)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(StatusName(s));
  }
  return out.empty() ? "no criteria" : out;
}

std::string CriterionFile(const Report& report, const CriterionResult& result) {
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
