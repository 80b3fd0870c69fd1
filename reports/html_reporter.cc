// The HTML report: one self-contained page (inline CSS and SVG, no scripts, fonts or requests) for
// readers who are not engineers: the verdict, what was audited, one section per concern with
// plain-language metric names, and charts drawn from the result details.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "core/stats.h"
#include "reports/report_text.h"
#include "reports/reporter.h"

namespace greenlight {
namespace {

std::string Esc(std::string_view text) { return XmlEscape(text, /*attribute=*/true); }

std::string ConcernTitle(const std::string& concern) {
  if (concern == "safety") return "Safety: accuracy, robustness and reliability";
  if (concern == "efficiency") return "Efficiency: speed, size, energy and carbon";
  if (concern == "fairness") return "Fairness: outcomes across groups";
  return concern.empty() ? "Other criteria" : concern;
}

std::string StatusClass(Status s) {
  std::string name(StatusName(s));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "st-" + name;
}

std::string StatusWords(Status s) {
  switch (s) {
    case Status::kPass:
      return "PASS: met";
    case Status::kFail:
      return "FAIL: not met";
    case Status::kWarn:
      return "WARN: advisory criterion not met";
    case Status::kInconclusive:
      return "INCONCLUSIVE: the evidence is not strong enough to decide";
    case Status::kError:
      return "ERROR: could not be measured";
    case Status::kSkipped:
      return "SKIPPED: not applicable to this data";
  }
  return std::string(StatusName(s));
}

std::string ThresholdWords(const ResultThreshold& t) {
  const std::string v = FormatNumber(t.value);
  if (t.op == "gte") return "at least " + v;
  if (t.op == "gt") return "more than " + v;
  if (t.op == "lte") return "at most " + v;
  if (t.op == "lt") return "less than " + v;
  if (t.op == "between") return "between " + v + " and " + FormatNumber(t.high.value_or(t.value));
  return "equal to " + v;
}

// ---- charts ---------------------------------------------------------------------------------
// Every chart is an inline <svg role="img"> with a <title> and <desc> (its alt text); marks are
// <path> elements, axes and labels <text>. Coordinates are in a 640 x 260 viewBox.

constexpr double kW = 640, kH = 260, kLeft = 56, kRight = 16, kTop = 16, kBottom = 44;

std::string N(double v) {
  std::ostringstream ss;
  ss.setf(std::ios::fixed);
  ss.precision(1);
  ss << v;
  return ss.str();
}

struct Scale {
  double lo, hi, out_lo, out_hi;
  double operator()(double v) const {
    if (hi == lo) return (out_lo + out_hi) / 2;
    return out_lo + (v - lo) / (hi - lo) * (out_hi - out_lo);
  }
};

class Chart {
 public:
  Chart(std::string title, std::string desc, Scale x, Scale y)
      : title_(std::move(title)), desc_(std::move(desc)), x_(x), y_(y) {}
  const Scale& x() const { return x_; }
  const Scale& y() const { return y_; }
  void Path(const std::string& d, const std::string& cls) {
    body_ << "<path class=\"" << cls << "\" d=\"" << d << "\"/>";
  }
  void Text(double px, double py, const std::string& text, const std::string& anchor = "middle",
            const std::string& cls = "lbl") {
    body_ << "<text class=\"" << cls << "\" x=\"" << N(px) << "\" y=\"" << N(py)
          << "\" text-anchor=\"" << anchor << "\">" << Esc(text) << "</text>";
  }
  // Axes with ticks at the given data values and their labels.
  void Axes(const std::vector<std::pair<double, std::string>>& xticks,
            const std::vector<std::pair<double, std::string>>& yticks, const std::string& xlabel,
            const std::string& ylabel) {
    Path("M" + N(kLeft) + " " + N(kTop) + "V" + N(kH - kBottom) + "H" + N(x_.out_hi), "axis");
    for (const auto& [v, label] : xticks) {
      Path("M" + N(x_(v)) + " " + N(kH - kBottom) + "v5", "axis");
      Text(x_(v), kH - kBottom + 17, label);
    }
    for (const auto& [v, label] : yticks) {
      Path("M" + N(kLeft - 5) + " " + N(y_(v)) + "h5", "axis");
      Path("M" + N(kLeft) + " " + N(y_(v)) + "H" + N(x_.out_hi), "grid");
      Text(kLeft - 8, y_(v) + 4, label, "end");
    }
    Text((kLeft + x_.out_hi) / 2, kH - 6, xlabel);
    body_ << "<text class=\"lbl\" transform=\"translate(14 " << N((kTop + kH - kBottom) / 2)
          << ") rotate(-90)\" text-anchor=\"middle\">" << Esc(ylabel) << "</text>";
  }
  std::string Svg(const std::string& id) const {
    std::ostringstream out;
    out << "<figure><svg role=\"img\" viewBox=\"0 0 " << N(kW) << " " << N(kH)
        << "\" aria-labelledby=\"" << id << "-t " << id << "-d\"><title id=\"" << id << "-t\">"
        << Esc(title_) << "</title><desc id=\"" << id << "-d\">" << Esc(desc_) << "</desc>"
        << body_.str() << "</svg><figcaption>" << Esc(title_) << ". " << Esc(desc_)
        << "</figcaption></figure>\n";
    return out.str();
  }

 private:
  std::string title_, desc_;
  Scale x_, y_;
  std::ostringstream body_;
};

Scale XScale(double lo, double hi) { return {lo, hi, kLeft, kW - kRight}; }
Scale YScale(double lo, double hi) { return {lo, hi, kH - kBottom, kTop}; }

std::vector<std::pair<double, std::string>> Ticks(double lo, double hi, int n) {
  std::vector<std::pair<double, std::string>> out;
  for (int i = 0; i <= n; ++i) {
    const double v = lo + (hi - lo) * i / n;
    out.emplace_back(v, FormatNumber(v));
  }
  return out;
}

bool IsNumbers(const nlohmann::json& j) {
  return j.is_array() && !j.empty() &&
         std::all_of(j.begin(), j.end(), [](const nlohmann::json& v) { return v.is_number(); });
}

// Latency histogram (details.run.histogram: log-spaced edges in ms, counts), with the criterion's
// percentile and its interval marked.
std::string LatencyChart(const CriterionResult& r, const std::string& id) {
  const nlohmann::json* h = nullptr;
  if (r.details.contains("run") && r.details["run"].is_object() &&
      r.details["run"].contains("histogram")) {
    h = &r.details["run"]["histogram"];
  }
  if (h == nullptr || !h->contains("edges") || !h->contains("counts")) return "";
  const auto& edges = (*h)["edges"];
  const auto& counts = (*h)["counts"];
  if (!IsNumbers(edges) || !IsNumbers(counts) || edges.size() != counts.size() + 1) return "";
  double max_count = 0;
  for (const auto& c : counts) max_count = std::max(max_count, c.get<double>());
  if (max_count <= 0 || edges.front().get<double>() <= 0) return "";
  const double lx = std::log10(edges.front().get<double>());
  const double hx = std::log10(edges.back().get<double>());
  std::string marked =
      r.value ? "the " + r.metric + " value " + FormatNumber(*r.value) + " ms" : "";
  Chart chart("Distribution of response times",
              "Number of requests per response-time bucket (logarithmic time axis)" +
                  (marked.empty() ? std::string() : "; the line marks " + marked) +
                  (r.interval ? ", the shaded band its interval" : ""),
              XScale(lx, hx), YScale(0, max_count));
  std::vector<std::pair<double, std::string>> xt;
  for (double d = std::ceil(lx); d <= hx; d += 1) xt.emplace_back(d, FormatNumber(std::pow(10, d)));
  chart.Axes(xt, Ticks(0, max_count, 4), "response time (ms)", "requests");
  if (r.interval && r.interval->low > 0 && r.interval->high > 0) {
    const double a = chart.x()(std::log10(r.interval->low));
    const double b = chart.x()(std::log10(r.interval->high));
    chart.Path("M" + N(a) + " " + N(kTop) + "H" + N(std::max(b, a + 1)) + "V" + N(kH - kBottom) +
                   "H" + N(a) + "Z",
               "band");
  }
  std::string bars;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double c = counts[i].get<double>();
    if (c <= 0) continue;
    const double x0 = chart.x()(std::log10(edges[i].get<double>()));
    const double x1 = chart.x()(std::log10(edges[i + 1].get<double>()));
    bars += "M" + N(x0) + " " + N(kH - kBottom) + "V" + N(chart.y()(c)) + "H" + N(x1) + "V" +
            N(kH - kBottom) + "Z";
  }
  chart.Path(bars, "bar");
  if (r.value && *r.value > 0) {
    const double x = chart.x()(std::log10(*r.value));
    chart.Path("M" + N(x) + " " + N(kTop) + "V" + N(kH - kBottom), "mark");
    chart.Text(x + 4, kTop + 12, r.metric + " " + FormatNumber(*r.value) + " ms", "start", "mk");
  }
  return chart.Svg(id);
}

// Per-group selection rates with their Wilson whiskers and the four-fifths band (details.groups).
std::string GroupChart(const CriterionResult& r, const std::string& id) {
  if (!r.details.contains("groups") || !r.details["groups"].is_array()) return "";
  struct Bar {
    std::string name;
    double value, low, high;
    bool reference;
  };
  std::vector<Bar> bars;
  for (const auto& g : r.details["groups"]) {
    if (!g.is_object() || !g.contains("selection_rate")) continue;
    const auto& s = g["selection_rate"];
    if (!s.is_object() || !s.contains("value") || !s["value"].is_number()) continue;
    bars.push_back({g.value("group", std::string("?")), s["value"].get<double>(),
                    s.value("low", s["value"].get<double>()),
                    s.value("high", s["value"].get<double>()), g.value("reference", false)});
  }
  if (bars.empty()) return "";
  std::optional<double> ref;
  for (const auto& b : bars) {
    if (b.reference) ref = b.value;
  }
  Chart chart("Favourable-outcome rate by group",
              "Bars: the share of each group given the favourable outcome; whiskers: its interval" +
                  std::string(ref ? "; shaded band: at least four fifths of the reference "
                                    "group's rate (the four-fifths rule)"
                                  : ""),
              XScale(0, static_cast<double>(bars.size())), YScale(0, 1));
  std::vector<std::pair<double, std::string>> xt;
  for (size_t i = 0; i < bars.size(); ++i) {
    xt.emplace_back(i + 0.5, bars[i].name + (bars[i].reference ? " (reference)" : ""));
  }
  chart.Axes(xt, Ticks(0, 1, 4), "group", "favourable-outcome rate");
  if (ref) {
    chart.Path("M" + N(kLeft) + " " + N(chart.y()(std::min(1.0, *ref))) + "H" + N(kW - kRight) +
                   "V" + N(chart.y()(0.8 * *ref)) + "H" + N(kLeft) + "Z",
               "band");
  }
  std::string d, whiskers;
  for (size_t i = 0; i < bars.size(); ++i) {
    const double x0 = chart.x()(i + 0.2), x1 = chart.x()(i + 0.8), xm = chart.x()(i + 0.5);
    d += "M" + N(x0) + " " + N(kH - kBottom) + "V" + N(chart.y()(bars[i].value)) + "H" + N(x1) +
         "V" + N(kH - kBottom) + "Z";
    whiskers += "M" + N(xm) + " " + N(chart.y()(bars[i].low)) + "V" + N(chart.y()(bars[i].high)) +
                "M" + N(xm - 6) + " " + N(chart.y()(bars[i].low)) + "h12M" + N(xm - 6) + " " +
                N(chart.y()(bars[i].high)) + "h12";
  }
  chart.Path(d, "bar");
  chart.Path(whiskers, "whisker");
  return chart.Svg(id);
}

// Reliability diagram (details.reliability_diagram: bins with mean confidence and accuracy).
std::string ReliabilityChart(const CriterionResult& r, const std::string& id) {
  if (!r.details.contains("reliability_diagram") || !r.details["reliability_diagram"].is_array()) {
    return "";
  }
  Chart chart("Reliability diagram",
              "Bars: the accuracy of the predictions in each confidence bin; the diagonal is "
              "perfect calibration (accuracy equal to the stated confidence)",
              XScale(0, 1), YScale(0, 1));
  chart.Axes(Ticks(0, 1, 5), Ticks(0, 1, 4), "stated confidence", "actual accuracy");
  std::string d;
  for (const auto& b : r.details["reliability_diagram"]) {
    if (!b.is_object() || !(b.value("count", 0.0) > 0)) continue;
    const double lo = b.value("lower", 0.0), hi = b.value("upper", 0.0);
    const double acc = b.value("accuracy", 0.0);
    d += "M" + N(chart.x()(lo)) + " " + N(kH - kBottom) + "V" + N(chart.y()(acc)) + "H" +
         N(chart.x()(hi)) + "V" + N(kH - kBottom) + "Z";
  }
  if (d.empty()) return "";
  chart.Path(d, "bar");
  chart.Path(
      "M" + N(chart.x()(0)) + " " + N(chart.y()(0)) + "L" + N(chart.x()(1)) + " " + N(chart.y()(1)),
      "mark");
  return chart.Svg(id);
}

// A line chart of several series (corruption severity curves, accuracy vs epsilon).
std::string LineChart(const std::string& title, const std::string& desc, const std::string& xlabel,
                      const std::string& ylabel,
                      const std::map<std::string, std::vector<std::pair<double, double>>>& series,
                      const std::string& id) {
  double xl = 1e300, xh = -1e300, yl = 1e300, yh = -1e300;
  for (const auto& [name, pts] : series) {
    for (const auto& [x, y] : pts) {
      xl = std::min(xl, x), xh = std::max(xh, x), yl = std::min(yl, y), yh = std::max(yh, y);
    }
  }
  if (xl > xh) return "";
  yl = std::max(0.0, std::floor(yl * 10 - 1) / 10);
  yh = std::min(1.0, std::ceil(yh * 10 + 1e-9) / 10);
  if (yh <= yl) yh = yl + 0.1;
  if (xh == xl) xh = xl + 1;
  // The series' names go right of the plot, at their last point's height, moved apart so that
  // they do not overlap.
  constexpr double kLabelRoom = 130, kLabelGap = 12;
  Chart chart(title, desc, Scale{xl, xh, kLeft, kW - kLabelRoom}, YScale(yl, yh));
  const bool integers = xl == std::floor(xl) && xh == std::floor(xh) && xh - xl <= 10;
  chart.Axes(Ticks(xl, xh, integers ? static_cast<int>(xh - xl) : 5), Ticks(yl, yh, 4), xlabel,
             ylabel);
  std::vector<std::pair<double, int>> labels;  // {y, series}
  int k = 0;
  for (const auto& [name, pts] : series) {
    std::string d;
    for (const auto& [x, y] : pts) {
      d += (d.empty() ? "M" : "L") + N(chart.x()(x)) + " " + N(chart.y()(y));
    }
    chart.Path(d, "line s" + std::to_string(k % 6));
    labels.emplace_back(chart.y()(pts.back().second), k++);
  }
  std::sort(labels.begin(), labels.end());
  for (size_t i = 1; i < labels.size(); ++i) {
    labels[i].first = std::max(labels[i].first, labels[i - 1].first + kLabelGap);
  }
  std::vector<std::string> names;
  for (const auto& [name, pts] : series) names.push_back(name);
  for (const auto& [y, s] : labels) {
    chart.Text(kW - kLabelRoom + 6, y + 4, names[static_cast<size_t>(s)], "start",
               "lbl t" + std::to_string(s % 6));
  }
  return chart.Svg(id);
}

std::string CorruptionChart(const CriterionResult& r, const std::string& id) {
  if (!r.details.contains("cells") || !r.details["cells"].is_array()) return "";
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  for (const auto& c : r.details["cells"]) {
    if (!c.is_object() || !c.contains("severity") || !c.contains("accuracy")) continue;
    if (!c["severity"].is_number() || !c["accuracy"].is_number()) continue;
    series[c.value("corruption", std::string("?"))].emplace_back(c["severity"].get<double>(),
                                                                 c["accuracy"].get<double>());
  }
  if (series.empty()) return "";
  return LineChart("Accuracy by corruption severity",
                   "One line per kind of corruption: accuracy at severities 1 (mild) to 5 (strong)",
                   "severity", "accuracy", series, id);
}

// Accuracy against the attack budget epsilon, from every adversarial_accuracy result of a
// concern: (0, clean accuracy) and (epsilon, adversarial accuracy), one line per attack and norm.
std::string EpsilonChart(const std::vector<const CriterionResult*>& results,
                         const std::string& id) {
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  for (const CriterionResult* r : results) {
    if (r->metric != "adversarial_accuracy" || !r->value) continue;
    const auto& p = r->params;
    if (!p.contains("epsilon") || !p["epsilon"].is_number()) continue;
    const std::string name =
        p.value("attack", std::string("attack")) + " " +
        (p.contains("norm")
             ? (p["norm"].is_string() ? p["norm"].get<std::string>() : p["norm"].dump())
             : std::string());
    auto& pts = series[name];
    if (r->details.contains("clean_accuracy") && r->details["clean_accuracy"].is_number()) {
      pts.emplace_back(0.0, r->details["clean_accuracy"].get<double>());
    }
    pts.emplace_back(p["epsilon"].get<double>(), *r->value);
  }
  for (auto& [name, pts] : series) {
    std::sort(pts.begin(), pts.end());
    pts.erase(std::unique(pts.begin(), pts.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              pts.end());
  }
  if (series.empty()) return "";
  return LineChart("Accuracy against the attack budget",
                   "Accuracy without attack (budget 0) and under each attack budget epsilon "
                   "tried, in model input units",
                   "attack budget epsilon", "accuracy", series, id);
}

// A compare audit's figure for the reference model and the model side by side: both accuracies
// (with their Wilson intervals when the paired table gives the counts), both latencies, or both
// models' file sizes or weight counts.
std::string CompareChart(const CriterionResult& r, const std::string& id) {
  const nlohmann::json& d = r.details;
  auto number = [](const nlohmann::json& j, const char* key) -> std::optional<double> {
    if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
    return std::nullopt;
  };
  std::optional<double> model = number(d, "model_accuracy"), reference;
  if (!model) model = number(d, "accuracy");
  std::string what, unit;
  std::optional<Interval> model_ci, reference_ci;
  bool declared = false;  // The reference's figure is the criteria's declared one, not measured.
  if (model && (reference = number(d, "reference_accuracy"))) {
    what = "accuracy";
    declared = !d.contains("paired_table");
    // Whiskers only from counts that make sense (a report read from a file may hold anything).
    auto count = [](const nlohmann::json& j, const char* key) -> std::optional<int64_t> {
      if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
      if (j[key].is_number_unsigned()) {
        const uint64_t v = j[key].get<uint64_t>();
        return v <= (uint64_t{1} << 53) ? std::optional<int64_t>(static_cast<int64_t>(v))
                                        : std::nullopt;
      }
      const int64_t v = j[key].get<int64_t>();
      return v >= 0 && v <= (int64_t{1} << 53) ? std::optional<int64_t>(v) : std::nullopt;
    };
    const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json& t = d.contains("paired_table") ? d["paired_table"] : empty;
    const auto n = count(d, "rows"), both = count(t, "both_correct");
    const auto model_only = count(t, "model_only_correct");
    const auto reference_only = count(t, "reference_only_correct");
    const double level = r.interval ? r.interval->level : 0.95;
    if (n && both && model_only && reference_only && *n >= 1 && level > 0 && level < 1 &&
        *both + *model_only <= *n && *both + *reference_only <= *n) {
      model_ci = stats::WilsonInterval(*both + *model_only, *n, level);
      reference_ci = stats::WilsonInterval(*both + *reference_only, *n, level);
    }
  } else if ((model = number(d, "model_latency_ms")) &&
             (reference = number(d, "reference_latency_ms"))) {
    what =
        r.params.is_object() && r.params.contains("statistic") && r.params["statistic"].is_string()
            ? r.params["statistic"].get<std::string>() + " latency"
            : "latency";
    unit = "ms";
  } else if (d.contains("model") && d.contains("reference")) {
    const char* key = r.metric == "size_reduction" ? "size_bytes" : "elements";
    model = number(d["model"], key);
    reference = number(d["reference"], key);
    if (!model || !reference) return "";
    what = r.metric == "size_reduction" ? "file size" : "weights";
    unit = r.metric == "size_reduction" ? "bytes" : "";
  } else {
    return "";
  }
  const double top = std::max({*model, *reference, model_ci ? model_ci->high : 0.0,
                               reference_ci ? reference_ci->high : 0.0});
  if (!(top > 0) || *model < 0 || *reference < 0) return "";
  const double y_hi = what == "accuracy" ? 1.0 : top * 1.1;
  Chart chart("Reference model and model: " + what,
              "Bars: the " + what + " of the reference model" +
                  (declared ? " (as declared in the criteria)" : "") + " and of the audited model" +
                  (declared ? "" : ", both measured in this audit on the same data") +
                  (model_ci ? "; whiskers: each one's interval" : ""),
              XScale(0, 2), YScale(0, y_hi));
  chart.Axes({{0.5, "reference model"}, {1.5, "model"}}, Ticks(0, y_hi, 4), "",
             unit.empty() ? what : what + " (" + unit + ")");
  std::string bars, whiskers;
  const double values[2] = {*reference, *model};
  const std::optional<Interval> cis[2] = {reference_ci, model_ci};
  for (int i = 0; i < 2; ++i) {
    const double x0 = chart.x()(i + 0.25), x1 = chart.x()(i + 0.75), xm = chart.x()(i + 0.5);
    bars += "M" + N(x0) + " " + N(kH - kBottom) + "V" + N(chart.y()(values[i])) + "H" + N(x1) +
            "V" + N(kH - kBottom) + "Z";
    chart.Text(xm, chart.y()(values[i]) - 6, FormatNumber(values[i]));
    if (cis[i]) {
      whiskers += "M" + N(xm) + " " + N(chart.y()(cis[i]->low)) + "V" + N(chart.y()(cis[i]->high)) +
                  "M" + N(xm - 6) + " " + N(chart.y()(cis[i]->low)) + "h12M" + N(xm - 6) + " " +
                  N(chart.y()(cis[i]->high)) + "h12";
    }
  }
  chart.Path(bars, "bar");
  if (!whiskers.empty()) chart.Path(whiskers, "whisker");
  return chart.Svg(id);
}

std::string ResultChart(const CriterionResult& r, const std::string& id) {
  if (r.metric.rfind("latency_", 0) == 0 && r.metric != "latency_speedup") {
    return LatencyChart(r, id);
  }
  if (const std::string compare = CompareChart(r, id); !compare.empty()) return compare;
  if (r.details.contains("groups")) return GroupChart(r, id);
  if (r.details.contains("reliability_diagram")) return ReliabilityChart(r, id);
  if (r.metric.rfind("corruption_", 0) == 0) return CorruptionChart(r, id);
  return "";
}

constexpr char kStyle[] = R"(
:root{--pass:#1a7f37;--fail:#b42318;--warn:#9a6700;--muted:#57606a}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
main,header,footer{max-width:1040px;margin:0 auto;padding:0 24px}
.banner{padding:20px 24px;margin:24px auto;border-radius:8px;color:#fff;max-width:992px}
.banner h1{margin:0;font-size:2rem}.banner p{margin:4px 0 0}
.st-pass{color:var(--pass)}.st-fail,.st-error{color:var(--fail)}.st-warn,.st-inconclusive{color:var(--warn)}.st-skipped{color:var(--muted)}
.banner.st-pass{background:var(--pass);color:#fff}.banner.st-fail,.banner.st-error{background:var(--fail);color:#fff}
.banner.st-inconclusive,.banner.st-warn{background:var(--warn);color:#fff}.banner.st-skipped{background:var(--muted);color:#fff}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #d0d7de}
th{background:#f6f8fa}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:.85em;word-break:break-all}
.estimate{display:inline-block;border:1px solid var(--warn);color:var(--warn);border-radius:4px;padding:0 4px;font-size:.8em;font-weight:600}
.crit{border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;margin:16px 0;break-inside:avoid}
.crit h3{margin:0 0 4px;font-size:1.1rem}.crit .id{color:var(--muted);font-weight:400}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}dt{font-weight:600}dd{margin:0}
figure{margin:12px 0}figure svg{width:100%;max-width:640px;height:auto}figcaption{font-size:.85em;color:var(--muted)}
svg .axis{stroke:#57606a;fill:none}svg .grid{stroke:#d0d7de;stroke-dasharray:2 3;fill:none}
svg .bar{fill:#4c78a8;stroke:none}svg .band{fill:#1a7f37;fill-opacity:.12;stroke:none}
svg .mark{stroke:#b42318;stroke-width:2;fill:none;stroke-dasharray:6 3}svg .whisker{stroke:#1f2328;stroke-width:1.5;fill:none}
svg .line{fill:none;stroke-width:2}svg text{font-size:11px;fill:#1f2328}svg text.mk{fill:#b42318}
.s0{stroke:#4c78a8}.s1{stroke:#f58518}.s2{stroke:#54a24b}.s3{stroke:#e45756}.s4{stroke:#72b7b2}.s5{stroke:#b279a2}
.t0{fill:#4c78a8}.t1{fill:#f58518}.t2{fill:#54a24b}.t3{fill:#e45756}.t4{fill:#72b7b2}.t5{fill:#b279a2}
footer{color:var(--muted);font-size:.85em;padding-bottom:32px}
@media print{body{font-size:11pt}.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section,.crit,figure{break-inside:avoid}a{color:inherit;text-decoration:none}main,header,footer{max-width:none}}
)";

}  // namespace

std::string HtmlReporter::DoRender(const Report& report) const {
  std::ostringstream out;
  const std::string verdict(StatusName(report.verdict));
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>" << Esc(report.criteria.name) << " " << Esc(report.criteria.version) << ": audit "
      << verdict << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  out << "<header class=\"banner " << StatusClass(report.verdict) << "\" role=\"banner\">\n"
      << "<h1 id=\"verdict\">Verdict: " << verdict << "</h1>\n<p>"
      << Esc(StatusWords(report.verdict)) << ". " << Esc(report.criteria.name) << " "
      << Esc(report.criteria.version) << ": " << Esc(StatusCounts(report))
      << " (only mandatory criteria decide the verdict).</p>\n"
      << "</header>\n<main>\n";

  // What was audited.
  out << "<section aria-labelledby=\"audited\">\n<h2 id=\"audited\">What was audited</h2>\n"
      << "<table>\n<tbody>\n";
  auto row = [&out](const std::string& what, const std::string& html) {
    out << "<tr><th scope=\"row\">" << Esc(what) << "</th><td>" << html << "</td></tr>\n";
  };
  auto file = [](const std::string& path, const std::string& sha256) {
    return Esc(std::filesystem::path(path).filename().string()) + "<br><code>sha256 " +
           Esc(sha256) + "</code>";
  };
  row("Criteria",
      Esc(report.criteria.name + " " + report.criteria.version) +
          (report.criteria.authority.empty() ? std::string()
                                             : "<br>issued by " + Esc(report.criteria.authority)) +
          "<br>" + file(report.criteria.path, report.criteria.sha256));
  for (const auto& p : report.criteria.profiles) {
    row("Policy profile", Esc(p.name + " " + p.version) +
                              (p.authority.empty() ? "" : "<br>issued by " + Esc(p.authority)) +
                              "<br><code>sha256 " + Esc(p.sha256) + "</code>");
  }
  if (report.model) {
    row("Model", file(report.model->path, report.model->sha256) + "<br>" +
                     Esc(std::to_string(report.model->parameters)) + " parameters, " +
                     Esc(report.model->format) + " on " + Esc(report.model->device));
    if (report.reference) {
      row("Reference model", file(report.reference->path, report.reference->sha256) + "<br>" +
                                 Esc(std::to_string(report.reference->parameters)) +
                                 " parameters, " + Esc(report.reference->format) + " on " +
                                 Esc(report.reference->device));
    }
    if (report.surrogate) {
      row("Surrogate model", file(report.surrogate->path, report.surrogate->sha256) + "<br>" +
                                 Esc(std::to_string(report.surrogate->parameters)) +
                                 " parameters, " + Esc(report.surrogate->format) + " on " +
                                 Esc(report.surrogate->device) +
                                 "; transfer attacks were crafted on it");
    }
  } else {
    row("Model", "none: recorded decisions were audited (black-box mode)");
  }
  row("Data", file(report.dataset.path, report.dataset.sha256) + "<br>" +
                  Esc(AuditedRowsText(report.dataset)));
  std::string env;
  for (const char* key :
       {"cpu_model", "logical_cores", "os", "device", "threads", "libtorch_version"}) {
    if (!report.environment.contains(key)) continue;
    const auto& v = report.environment[key];
    env += (env.empty() ? "" : "; ") + std::string(key) + ": " +
           (v.is_string() ? v.get<std::string>() : v.dump());
  }
  if (!env.empty()) row("Environment", Esc(env));
  row("Tool",
      Esc(report.tool.name + " " + report.tool.version + " (" + report.tool.git_revision + ")"));
  row("Report created", Esc(report.created_at));
  if (!signature_.empty()) row("Signature", Esc(signature_));
  out << "</tbody>\n</table>\n</section>\n";

  // One section per concern, in a fixed order, then any other concern.
  std::vector<std::string> concerns = {"safety", "efficiency", "fairness"};
  for (const auto& r : report.results) {
    if (std::find(concerns.begin(), concerns.end(), r.concern) == concerns.end()) {
      concerns.push_back(r.concern);
    }
  }
  int chart_id = 0;
  for (const auto& concern : concerns) {
    std::vector<const CriterionResult*> results;
    for (const auto& r : report.results) {
      if (r.concern == concern) results.push_back(&r);
    }
    if (results.empty()) continue;
    const std::string sid = "c-" + (concern.empty() ? std::string("other") : concern);
    out << "<section aria-labelledby=\"" << Esc(sid) << "\">\n<h2 id=\"" << Esc(sid) << "\">"
        << Esc(ConcernTitle(concern)) << "</h2>\n";
    out << "<table>\n<caption>Summary</caption>\n<thead><tr><th scope=\"col\">Criterion</th>"
           "<th scope=\"col\">Measured</th><th scope=\"col\">Required</th>"
           "<th scope=\"col\">Result</th></tr></thead>\n<tbody>\n";
    for (const CriterionResult* r : results) {
      const bool estimate = IsEstimate(r->method);
      out << "<tr><td><a href=\"#r-" << Esc(r->id) << "\">" << Esc(r->id) << "</a> "
          << Esc(PlainName(r->metric)) << "</td><td class=\"num\">" << Esc(ValueText(*r))
          << (estimate ? " <span class=\"estimate\">estimate</span>" : "") << "</td><td>"
          << Esc(ThresholdWords(r->threshold)) << "</td><td class=\"" << StatusClass(r->status)
          << "\"><strong>" << StatusName(r->status) << "</strong></td></tr>\n";
    }
    out << "</tbody>\n</table>\n";
    for (const CriterionResult* r : results) {
      const bool estimate = IsEstimate(r->method);
      out << "<article class=\"crit\" id=\"r-" << Esc(r->id) << "\">\n<h3>"
          << Esc(PlainName(r->metric)) << " <span class=\"id\">" << Esc(r->id) << " · <code>"
          << Esc(r->metric) << "</code></span></h3>\n<p class=\"" << StatusClass(r->status)
          << "\"><strong>" << Esc(StatusWords(r->status)) << "</strong> (" << Esc(r->severity)
          << ")</p>\n<dl>\n";
      out << "<dt>Measured</dt><dd>" << Esc(ValueText(*r))
          << (estimate ? " <span class=\"estimate\">estimate, not a measurement</span>" : "")
          << "</dd>\n";
      if (r->interval) {
        out << "<dt>Interval</dt><dd>" << Esc(FormatNumber(r->interval->low)) << " to "
            << Esc(FormatNumber(r->interval->high)) << " at "
            << Esc(FormatNumber(r->interval->level * 100)) << "% confidence"
            << (r->interval->method.empty() ? "" : " (" + Esc(r->interval->method) + ")")
            << "</dd>\n";
      } else {
        out << "<dt>Interval</dt><dd>none</dd>\n";
      }
      out << "<dt>Required</dt><dd>" << Esc(ThresholdWords(r->threshold))
          << (r->confidence ? " at confidence " + Esc(FormatNumber(*r->confidence)) : "")
          << "</dd>\n";
      out << "<dt>Clause</dt><dd>" << (r->reference.empty() ? "none given" : Esc(r->reference))
          << "</dd>\n";
      out << "<dt>Method</dt><dd>" << (r->method.empty() ? "none" : Esc(r->method)) << ", "
          << Esc(std::to_string(r->samples)) << " samples</dd>\n";
      if (!r->message.empty()) out << "<dt>Note</dt><dd>" << Esc(r->message) << "</dd>\n";
      out << "</dl>\n";
      if (const auto side = SideBySideOf(*r)) {
        out << "<table class=\"side\">\n<caption>Reference model beside the model</caption>\n"
               "<thead><tr><th scope=\"col\">Figure</th><th scope=\"col\">Reference model</th>"
               "<th scope=\"col\">Model</th><th scope=\"col\">Compared</th></tr></thead>\n"
               "<tbody><tr><td>"
            << Esc(side->figure) << "</td><td class=\"num\">" << Esc(side->reference_text)
            << "</td><td class=\"num\">" << Esc(side->model_text) << "</td><td class=\"num\">"
            << Esc(side->compared_text) << "</td></tr></tbody>\n</table>\n";
      }
      out << ResultChart(*r, "chart" + std::to_string(++chart_id)) << "</article>\n";
    }
    out << EpsilonChart(results, "chart" + std::to_string(++chart_id));
    out << "</section>\n";
  }
  out << "</main>\n<footer><p>Rendered by greenlight from the report's in-toto statement "
         "(report.json). Figures marked “estimate” are modelled, not measured.</p></footer>\n"
      << "</body>\n</html>\n";
  return out.str();
}

}  // namespace greenlight
