#include <algorithm>
#include <numeric>
#include <random>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/error.h"
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
  s.classes = json.at("classes").get<int64_t>();
  s.counts = json.at("counts").get<std::vector<int64_t>>();
  s.source = json.at("source").get<std::string>();
  if (static_cast<int64_t>(s.counts.size()) != s.classes * s.classes) {
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
