#include <algorithm>
#include <numeric>
#include <random>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"

namespace greenlight {
namespace accuracy {

std::vector<int64_t> ConfusionMatrix(std::span<const int64_t> labels,
                                     std::span<const int64_t> predicted, int64_t classes) {
  std::vector<int64_t> m(static_cast<size_t>(classes * classes), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const int64_t t = labels[i];
    const int64_t p = predicted[i];
    if (t < 0 || t >= classes || p < 0 || p >= classes) {
      throw InputError("row " + std::to_string(i) + ": class index out of range (label " +
                       std::to_string(t) + ", prediction " + std::to_string(p) + ", " +
                       std::to_string(classes) + " classes)");
    }
    ++m[static_cast<size_t>(t * classes + p)];
  }
  return m;
}

namespace {
struct ClassCounts {
  int64_t tp = 0, fp = 0, fn = 0, support = 0;
};
ClassCounts Counts(std::span<const int64_t> m, int64_t classes, int64_t cls) {
  ClassCounts c;
  for (int64_t k = 0; k < classes; ++k) {
    const int64_t pred_as_cls = m[static_cast<size_t>(k * classes + cls)];
    const int64_t true_cls = m[static_cast<size_t>(cls * classes + k)];
    if (k == cls) {
      c.tp = pred_as_cls;
    } else {
      c.fp += pred_as_cls;
      c.fn += true_cls;
    }
    c.support += true_cls;
  }
  return c;
}
std::optional<double> Ratio(int64_t num, int64_t den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}
}  // namespace

std::optional<double> Precision(std::span<const int64_t> m, int64_t classes, int64_t cls) {
  const ClassCounts c = Counts(m, classes, cls);
  return Ratio(c.tp, c.tp + c.fp);
}

std::optional<double> Recall(std::span<const int64_t> m, int64_t classes, int64_t cls) {
  const ClassCounts c = Counts(m, classes, cls);
  return Ratio(c.tp, c.tp + c.fn);
}

std::optional<double> F1(std::span<const int64_t> m, int64_t classes, int64_t cls) {
  const ClassCounts c = Counts(m, classes, cls);
  // F1 = 2TP / (2TP + FP + FN): defined whenever the class occurs in labels or predictions.
  return Ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
}

std::optional<double> Averaged(std::span<const int64_t> m, int64_t classes,
                               const std::string& metric, const std::string& average) {
  auto one = [&](int64_t cls) {
    if (metric == "precision") return Precision(m, classes, cls);
    if (metric == "recall") return Recall(m, classes, cls);
    return F1(m, classes, cls);
  };
  if (average == "micro") {
    // Pooled over classes, single-label micro precision = recall = F1 = accuracy.
    int64_t tp = 0, total = 0;
    for (int64_t k = 0; k < classes; ++k) tp += m[static_cast<size_t>(k * classes + k)];
    for (int64_t v : m) total += v;
    return Ratio(tp, total);
  }
  double sum = 0.0, weight = 0.0;
  for (int64_t k = 0; k < classes; ++k) {
    const ClassCounts c = Counts(m, classes, k);
    int64_t predicted = c.tp + c.fp;
    if (c.support == 0 && predicted == 0) continue;  // Class absent from labels and predictions.
    const auto v = one(k);
    if (!v) return std::nullopt;  // An undefined class makes the average undefined.
    const double w = average == "weighted" ? static_cast<double>(c.support) : 1.0;
    sum += w * *v;
    weight += w;
  }
  if (weight == 0.0) return std::nullopt;
  return sum / weight;
}

std::optional<ScoreVariance> DeltaScoreVariance(std::span<const double> cells,
                                                std::span<const int64_t> present_from,
                                                int64_t classes, const std::string& metric,
                                                const std::string& average,
                                                std::optional<int64_t> cls) {
  const auto k = static_cast<size_t>(classes);
  auto at = [&](size_t i, size_t j) { return cells[i * k + j]; };
  std::vector<double> row(k, 0.0), col(k, 0.0);
  double n = 0.0;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      row[i] += at(i, j);
      col[j] += at(i, j);
      n += at(i, j);
    }
  }
  // Score of class c, adding `weight` x its gradient to g. Precision tp / col, recall tp / row,
  // F1 2 tp / (row + col): the gradient is nonzero in row c and column c only.
  std::vector<double> g(k * k, 0.0);
  auto per_class = [&](size_t c, double weight) -> std::optional<double> {
    const double tp = at(c, c);
    const double den = metric == "precision" ? col[c]
                       : metric == "recall"  ? row[c]
                                             : row[c] + col[c];
    if (den <= 0.0) return std::nullopt;
    const double f = (metric == "f1" ? 2.0 : 1.0) * tp / den;
    if (metric != "recall") {
      for (size_t i = 0; i < k; ++i) g[i * k + c] -= weight * f / den;  // column c
    }
    if (metric != "precision") {
      for (size_t j = 0; j < k; ++j) g[c * k + j] -= weight * f / den;  // row c
    }
    g[c * k + c] += weight * (metric == "f1" ? 2.0 : 1.0) / den;
    return f;
  };
  double f = 0.0;
  if (cls) {
    const auto v = per_class(static_cast<size_t>(*cls), 1.0);
    if (!v) return std::nullopt;
    f = *v;
  } else {
    // The classes averaged over: present in the labels or predictions of `present_from`.
    std::vector<bool> is_present(k, false);
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < k; ++j) {
        if (present_from[i * k + j] > 0) is_present[i] = is_present[j] = true;
      }
    }
    std::vector<size_t> present;
    for (size_t c = 0; c < k; ++c) {
      if (is_present[c]) present.push_back(c);
    }
    if (present.empty()) return std::nullopt;
    const bool weighted = average == "weighted";
    double total_weight = 0.0, sum = 0.0;
    for (size_t c : present) total_weight += weighted ? row[c] : 1.0;
    if (total_weight <= 0.0) return std::nullopt;
    for (size_t c : present) {
      const double w = weighted ? row[c] : 1.0;
      const auto v = per_class(c, w);
      if (!v) return std::nullopt;
      sum += w * *v;
      // A weight row[c] also moves with the cells of row c.
      if (weighted) {
        for (size_t j = 0; j < k; ++j) g[c * k + j] += *v;
      }
    }
    f = sum / total_weight;
    for (double& x : g) x /= total_weight;
    if (weighted) {
      // d(total_weight) / d m_ij = 1 for i present: the quotient rule's second term.
      for (size_t c : present) {
        for (size_t j = 0; j < k; ++j) g[c * k + j] -= f / total_weight;
      }
    }
  }
  double sum_mg2 = 0.0, sum_mg = 0.0;
  for (size_t idx = 0; idx < k * k; ++idx) {
    sum_mg2 += cells[idx] * g[idx] * g[idx];
    sum_mg += cells[idx] * g[idx];
  }
  return ScoreVariance{f, std::max(0.0, sum_mg2 - sum_mg * sum_mg / n)};
}

Interval DeltaScoreInterval(std::span<const int64_t> confusion, int64_t classes,
                            const std::string& metric, const std::string& average,
                            std::optional<int64_t> cls, double level) {
  const auto k = static_cast<size_t>(classes);
  std::vector<double> observed(confusion.begin(), confusion.end());
  std::vector<bool> present(k, false);
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      if (confusion[i * k + j] > 0) present[i] = present[j] = true;
    }
  }
  std::vector<double> padded = observed;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      if (cls || (present[i] && present[j])) padded[i * k + j] += 0.5;
    }
  }
  const auto raw = DeltaScoreVariance(observed, confusion, classes, metric, average, cls);
  if (!raw) throw RuntimeError(metric + ": interval of an undefined score");
  double n = 0.0;
  for (double v : observed) n += v;
  double n_eff = n;
  if (const auto pad = DeltaScoreVariance(padded, confusion, classes, metric, average, cls);
      pad && pad->variance > 0.0) {
    n_eff = pad->value * (1.0 - pad->value) / pad->variance;
  }
  if (raw->variance > 0.0 && raw->value > 0.0 && raw->value < 1.0) {
    n_eff = std::min(n_eff, raw->value * (1.0 - raw->value) / raw->variance);
  }
  return stats::EffectiveWilsonInterval(raw->value, n_eff, level);
}

std::optional<double> RocAuc(std::span<const double> scores, std::span<const int64_t> labels,
                             std::span<const uint32_t> weights) {
  std::vector<uint8_t> positive(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) positive[i] = labels[i] == 1 ? 1 : 0;
  const std::vector<double> w(weights.begin(), weights.end());
  return stats::RocAuc(scores, positive, w);
}

int64_t ConfusionStats::rows() const {
  int64_t n = 0;
  for (int64_t v : counts) n += v;
  return n;
}

void ConfusionStats::Merge(const ConfusionStats& other) {
  if (other.classes != classes || other.source != source) {
    throw RuntimeError("confusion counts of different class counts or prediction sources");
  }
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
}

nlohmann::json ConfusionStats::ToJson() const {
  return {{"classes", classes}, {"counts", counts}, {"source", source}};
}

ConfusionStats ConfusionStats::FromJson(const nlohmann::json& json) {
  ConfusionStats s;
  s.classes = JsonInteger<int64_t>(json.at("classes"), "classes");
  s.counts = JsonCounts(json.at("counts"), "counts");
  s.source = json.at("source").get<std::string>();
  // classes is compared before it is squared: a square beyond 64 bits would be undefined.
  if (s.classes < 1 || s.classes > (int64_t{1} << 20) ||
      static_cast<int64_t>(s.counts.size()) != s.classes * s.classes) {
    throw InputError("confusion statistics: counts must hold classes x classes cells");
  }
  return s;
}

ConfusionStats ConfusionStats::Of(const OutputsRecord& record, RowRange rows) {
  ConfusionStats s;
  s.classes = record.classes;
  s.counts.assign(static_cast<size_t>(s.classes * s.classes), 0);
  s.source = record.outputs->source;
  for (int64_t i = rows.begin; i < rows.end; ++i) {
    const int64_t t = record.labels[static_cast<size_t>(i)];
    const int64_t p = record.outputs->predicted[static_cast<size_t>(i)];
    if (t < 0 || t >= s.classes || p < 0 || p >= s.classes) {
      throw InputError("row " + std::to_string(i) + ": class index out of range (label " +
                       std::to_string(t) + ", prediction " + std::to_string(p) + ", " +
                       std::to_string(s.classes) + " classes)");
    }
    ++s.counts[static_cast<size_t>(t * s.classes + p)];
  }
  return s;
}

nlohmann::json ConfusionStats::Details() const {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t t = 0; t < classes; ++t) {
    rows.push_back(
        std::vector<int64_t>(counts.begin() + t * classes, counts.begin() + (t + 1) * classes));
  }
  nlohmann::json details = nlohmann::json::object();
  details["confusion_matrix"] = {
      {"rows", "true class"}, {"columns", "predicted class"}, {"counts", rows}};
  details["predictions"] = source;
  return details;
}

}  // namespace accuracy

}  // namespace greenlight
