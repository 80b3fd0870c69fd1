#include "auditors/accuracy/accuracy_auditor.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/random.h"
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

}  // namespace accuracy

namespace {

constexpr int kDefaultResamples = 1000;

nlohmann::json ConfusionDetails(const std::vector<int64_t>& m, int64_t classes) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t t = 0; t < classes; ++t) {
    rows.push_back(std::vector<int64_t>(m.begin() + t * classes, m.begin() + (t + 1) * classes));
  }
  return {{"confusion_matrix",
           {{"rows", "true class"}, {"columns", "predicted class"}, {"counts", rows}}}};
}

class AccuracyAuditor final : public Auditor {
 public:
  std::string_view concern() const override { return "safety"; }

  std::vector<MetricSpec> metrics() const override {
    const ParamSpec resamples{"bootstrap_resamples", ParamType::kInteger,
                              "percentile-bootstrap resamples for intervals", kDefaultResamples};
    const ParamSpec average{"average",
                            ParamType::kString,
                            "how per-class scores are combined",
                            "macro",
                            false,
                            {"macro", "weighted", "micro"}};
    const ParamSpec cls{"class", ParamType::kInteger,
                        "report this class's score instead of an average"};
    return {
        {"accuracy",
         "ratio",
         "safety",
         "share of rows whose predicted class is the label",
         {},
         false,
         true},
        {"top_k_accuracy",
         "ratio",
         "safety",
         "share of rows whose label is among the k most probable classes",
         {{"k", ParamType::kInteger, "how many top classes count", 5}},
         true,
         true},
        {"precision",
         "ratio",
         "safety",
         "TP / (TP + FP), per class or averaged",
         {average, cls, resamples},
         false,
         true},
        {"recall",
         "ratio",
         "safety",
         "TP / (TP + FN), per class or averaged",
         {average, cls, resamples},
         false,
         true},
        {"f1",
         "ratio",
         "safety",
         "2TP / (2TP + FP + FN), per class or averaged",
         {average, cls, resamples},
         false,
         true},
        {"roc_auc",
         "ratio",
         "safety",
         "area under the ROC curve of the class-1 score (binary problems)",
         {resamples},
         false,
         true},
    };
  }

  Measurement Measure(const MetricRequest& req, AuditContext& ctx) override {
    const Dataset& data = ctx.dataset();
    const ClassifierOutputs& out = ctx.Outputs(req.criterion_id);
    const auto labels = data.labels();
    const int64_t classes = std::max(out.classes, data.num_classes());
    const int64_t n = static_cast<int64_t>(labels.size());
    if (n == 0) throw InputError("the dataset has no rows");
    const auto m = accuracy::ConfusionMatrix(labels, out.predicted, classes);
    Measurement r;
    r.unit = "ratio";
    r.samples = n;
    r.details = ConfusionDetails(m, classes);
    r.details["predictions"] = out.source;

    if (req.metric == "accuracy") {
      int64_t correct = 0;
      for (int64_t k = 0; k < classes; ++k) correct += m[static_cast<size_t>(k * classes + k)];
      r.value = static_cast<double>(correct) / static_cast<double>(n);
      r.interval = stats::WilsonInterval(correct, n, req.confidence);
      r.method = "count: correct / rows; Wilson score interval";
      r.details["correct"] = correct;
      return r;
    }
    if (req.metric == "top_k_accuracy") {
      const int64_t k = req.Param<int64_t>("k", 5);
      if (k < 1) throw InputError("top_k_accuracy: k must be at least 1");
      if (out.probabilities.empty()) throw InputError("top_k_accuracy needs class probabilities");
      int64_t hits = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double* p = &out.probabilities[static_cast<size_t>(i * out.classes)];
        const double mine = p[labels[static_cast<size_t>(i)]];
        // Rank = classes strictly more probable, plus equally probable ones with a lower index
        // (the order torch.topk and numpy argsort use for ties).
        int64_t above = 0;
        for (int64_t c = 0; c < out.classes; ++c) {
          if (p[c] > mine || (p[c] == mine && c < labels[static_cast<size_t>(i)])) ++above;
        }
        if (above < k) ++hits;
      }
      r.value = static_cast<double>(hits) / static_cast<double>(n);
      r.interval = stats::WilsonInterval(hits, n, req.confidence);
      r.method = "count: label in top-" + std::to_string(k) + " / rows; Wilson score interval";
      r.details["k"] = k;
      return r;
    }
    const int resamples =
        static_cast<int>(req.Param<int64_t>("bootstrap_resamples", kDefaultResamples));
    if (resamples < 100)
      throw InputError(req.metric + ": bootstrap_resamples must be at least 100");
    if (req.metric == "roc_auc")
      return RocAucMeasure(req, ctx, out, labels, resamples, std::move(r));

    // precision / recall / f1.
    const auto cls = req.params.contains("class") && !req.params["class"].is_null()
                         ? std::optional<int64_t>(req.params["class"].get<int64_t>())
                         : std::nullopt;
    const std::string average = req.Param<std::string>("average", "macro");
    if (cls && (*cls < 0 || *cls >= classes)) {
      throw InputError(req.metric + ": class " + std::to_string(*cls) + " is not among the " +
                       std::to_string(classes) + " classes");
    }
    auto statistic = [&](std::span<const int64_t> cm) -> std::optional<double> {
      if (!cls) return accuracy::Averaged(cm, classes, req.metric, average);
      if (req.metric == "precision") return accuracy::Precision(cm, classes, *cls);
      if (req.metric == "recall") return accuracy::Recall(cm, classes, *cls);
      return accuracy::F1(cm, classes, *cls);
    };
    r.value = statistic(m);
    r.details["average"] = cls ? nlohmann::json(nullptr) : nlohmann::json(average);
    r.details["class"] = cls ? nlohmann::json(*cls) : nlohmann::json(nullptr);
    if (!r.value) {
      r.method = "count";
      r.message = req.metric + " is undefined (0/0) on this data";
      return r;
    }
    if (cls && req.metric != "f1") {
      // A per-class precision or recall is a binomial proportion: Wilson, like accuracy.
      int64_t tp = m[static_cast<size_t>(*cls * classes + *cls)], den = 0;
      for (int64_t k = 0; k < classes; ++k) {
        den += req.metric == "precision" ? m[static_cast<size_t>(k * classes + *cls)]
                                         : m[static_cast<size_t>(*cls * classes + k)];
      }
      r.interval = stats::WilsonInterval(tp, den, req.confidence);
      r.samples = den;
      r.method = "count; Wilson score interval";
      return r;
    }
    // Bootstrap over rows = multinomial draws over the confusion cells (same distribution).
    auto boot = stats::CellBootstrap(m, resamples, req.seed, statistic);
    std::vector<double>& reps = boot.replicates;
    const int64_t undefined = boot.undefined;
    r.interval = stats::PercentileIntervalContaining(reps, req.confidence, *r.value);
    r.method = "count; percentile bootstrap over rows (multinomial on confusion cells)";
    r.details["bootstrap"] = {{"resamples", resamples},
                              {"seed", req.seed},
                              {"generator", random::kGeneratorName},
                              {"undefined_resamples", undefined}};
    return r;
  }

 private:
  Measurement RocAucMeasure(const MetricRequest& req, AuditContext& ctx,
                            const ClassifierOutputs& out, std::span<const int64_t> labels,
                            int resamples, Measurement r) {
    if (out.positive_scores.empty()) {
      throw InputError("roc_auc needs a binary classifier with class-1 scores");
    }
    for (int64_t l : labels) {
      if (l != 0 && l != 1) throw InputError("roc_auc needs binary labels (0/1)");
    }
    r.value = accuracy::RocAuc(out.positive_scores, labels);
    r.details.erase("confusion_matrix");
    if (!r.value) {
      r.method = "Mann-Whitney U";
      r.message = "roc_auc is undefined: the labels hold one class only";
      return r;
    }
    int step = 0;
    auto boot = stats::RowBootstrap(
        static_cast<int64_t>(labels.size()), resamples, req.seed, [&](std::span<const uint32_t> w) {
          if (++step % 100 == 0) {
            ctx.Progress(req.criterion_id, "bootstrap", static_cast<double>(step) / resamples);
          }
          return accuracy::RocAuc(out.positive_scores, labels, w);
        });
    r.interval = stats::PercentileIntervalContaining(boot.replicates, req.confidence, *r.value);
    r.method = "Mann-Whitney U with mid-ranks; percentile row bootstrap";
    r.details["bootstrap"] = {{"resamples", resamples},
                              {"seed", req.seed},
                              {"generator", random::kGeneratorName},
                              {"undefined_resamples", boot.undefined}};
    return r;
  }
};

}  // namespace

void RegisterAccuracyAuditor(AuditorRegistry& registry) {
  registry.Register(std::make_unique<AccuracyAuditor>());
}

}  // namespace greenlight
