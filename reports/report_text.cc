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

bool IsEstimate(std::string_view method) { return method.rfind("estimate:", 0) == 0; }

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

std::optional<SideBySide> SideBySideOf(const CriterionResult& r) {
  const nlohmann::json& d = r.details;
  if (!d.is_object()) return std::nullopt;
  auto number = [](const nlohmann::json& j, const char* key) -> std::optional<double> {
    if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
    return std::nullopt;
  };
  // The larger of a list of numbers (the highest round's figure), or nullopt.
  auto highest = [](const nlohmann::json& j, const char* key) -> std::optional<double> {
    if (!j.contains(key) || !j[key].is_array() || j[key].empty()) return std::nullopt;
    std::optional<double> out;
    for (const auto& x : j[key]) {
      if (!x.is_number()) return std::nullopt;
      out = std::max(out.value_or(x.get<double>()), x.get<double>());
    }
    return out;
  };
  SideBySide s;
  std::optional<double> model, reference;
  if ((model = number(d, "model_accuracy")) && (reference = number(d, "reference_accuracy"))) {
    s.figure = "accuracy";
  } else if ((model = number(d, "accuracy")) && (reference = number(d, "reference_accuracy"))) {
    // accuracy_retention against a declared figure: the reference model was not run.
    s.figure = "accuracy";
    s.reference_declared = true;
  } else if ((model = number(d, "model_latency_ms")) &&
             (reference = number(d, "reference_latency_ms"))) {
    const bool named =
        r.params.is_object() && r.params.contains("statistic") && r.params["statistic"].is_string();
    s.figure = (named ? r.params["statistic"].get<std::string>() : std::string("p50")) + " latency";
    s.unit = "ms";
  } else if ((model = number(d, "model_samples_per_s")) &&
             (reference = number(d, "reference_samples_per_s"))) {
    s.figure = "throughput";
    s.unit = "samples/s";
  } else if ((model = number(d, "model_energy_per_inference_mj")) &&
             (reference = number(d, "reference_energy_per_inference_mj"))) {
    s.figure =
        d.value("estimate", false) ? "energy per inference (estimated)" : "energy per inference";
    s.unit = "mJ";
  } else if ((model = highest(d, "per_round_model_peak_mb")) &&
             (reference = highest(d, "per_round_reference_peak_mb"))) {
    s.figure = "peak resident set of the process (highest round)";
    s.unit = "MB";
  } else if (d.contains("model") && d.contains("reference") && d["model"].is_object() &&
             d["reference"].is_object()) {
    const nlohmann::json &m = d["model"], &f = d["reference"];
    if (r.metric == "metric_delta" || r.metric == "metric_retention") {
      // The compared metric on each model, in its own unit ("ratio" reads as a plain number).
      if (!d.contains("metric") || !d["metric"].is_string()) return std::nullopt;
      s.figure = d["metric"].get<std::string>();
      if (d.contains("unit") && d["unit"].is_string() && d["unit"] != "ratio") {
        s.unit = d["unit"].get<std::string>();
      }
      model = number(m, "value");
      reference = number(f, "value");
    } else if (r.metric == "size_reduction") {
      s.figure = "file size";
      s.unit = "bytes";
      model = number(m, "size_bytes");
      reference = number(f, "size_bytes");
    } else if (r.metric == "flops_reduction") {
      s.figure = "FLOPs per sample";
      model = number(m, "flops");
      reference = number(f, "flops");
    } else if (r.metric == "parameter_reduction") {
      const bool nonzero = r.params.is_object() && r.params.value("count", "all") == "nonzero";
      s.figure = nonzero ? "nonzero weight elements" : "weight elements";
      model = number(m, "elements");
      reference = number(f, "elements");
      if (nonzero) {
        const auto mz = number(m, "zeros"), fz = number(f, "zeros");
        if (!mz || !fz) return std::nullopt;
        if (model) *model -= *mz;
        if (reference) *reference -= *fz;
      }
    }
  }
  if (!model || !reference || s.figure.empty()) return std::nullopt;
  s.model = *model;
  s.reference = *reference;
  // Counts (bytes, FLOPs, weights) in full: four significant digits would hide a difference.
  const bool count = s.unit == "bytes" || s.figure == "FLOPs per sample" ||
                     s.figure.find("weight elements") != std::string::npos;
  auto text = [&](double v) {
    std::string t;
    if (count && std::abs(v) < 1e15 && v == std::floor(v)) {
      t = std::to_string(static_cast<long long>(v));
    } else {
      t = FormatNumber(v);
    }
    return s.unit.empty() ? t : t + " " + s.unit;
  };
  s.model_text = text(s.model);
  s.reference_text = text(s.reference) + (s.reference_declared ? " (declared)" : "");
  s.compared_text = r.metric + " " + ValueText(r) +
                    (r.interval ? " " + IntervalText(r, /*with_method=*/false) : std::string());
  return s;
}

std::string SideBySideText(const SideBySide& s) {
  return s.figure + ": reference model " + s.reference_text + ", model " + s.model_text + "; " +
         s.compared_text;
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
