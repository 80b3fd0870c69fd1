#include "auditors/auditor.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace greenlight {

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kNumber:
      return "number";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kString:
      return "string";
    case ParamType::kBool:
      return "boolean";
    case ParamType::kStringList:
      return "list of strings";
    case ParamType::kNumberList:
      return "list of numbers";
    case ParamType::kIntegerList:
      return "list of integers";
    case ParamType::kStringOrList:
      return "string or list of strings";
    case ParamType::kObject:
      return "mapping";
  }
  return "value";
}

AuditContext::AuditContext(Model* model, const Dataset& dataset, uint64_t seed,
                           ProgressSink* progress)
    : model_(model), dataset_(dataset), seed_(seed), progress_(progress) {}

void AuditContext::Progress(std::string_view criterion_id, std::string_view step,
                            double fraction) const {
  if (progress_ != nullptr) progress_->Update(criterion_id, step, fraction);
}

const ClassifierOutputs& AuditContext::Outputs(std::string_view criterion_id) {
  if (outputs_) return *outputs_;
  ClassifierOutputs out;
  out.rows = dataset_.rows();
  if (model_ == nullptr) {
    if (!dataset_.has_predictions()) {
      throw InputError(
          "no model and no recorded predictions: give a model: section or "
          "dataset.predictions");
    }
    out.classes = 2;
    out.predicted.assign(dataset_.predictions().begin(), dataset_.predictions().end());
    out.positive_scores.assign(dataset_.scores().begin(), dataset_.scores().end());
    out.source = "recorded";
    for (int64_t p : out.predicted) out.classes = std::max(out.classes, p + 1);
    outputs_ = std::move(out);
    return *outputs_;
  }
  if (dataset_.sample_size() != model_->input_size()) {
    throw InputError(model_->spec().path.string() + ": dataset rows have " +
                     std::to_string(dataset_.sample_size()) + " values but model input.shape has " +
                     std::to_string(model_->input_size()));
  }
  constexpr int64_t kBatch = 256;
  out.predicted.resize(static_cast<size_t>(out.rows));
  for (int64_t start = 0; start < out.rows; start += kBatch) {
    const int64_t b = std::min(kBatch, out.rows - start);
    const auto input =
        dataset_.features().subspan(static_cast<size_t>(start * dataset_.sample_size()),
                                    static_cast<size_t>(b * dataset_.sample_size()));
    int64_t classes = 0;
    const std::vector<float> raw = model_->Forward(input, b, &classes);
    int64_t c = 0;
    const std::vector<double> p =
        OutputsToProbabilities(raw, b, classes, model_->spec().output, &c);
    if (out.classes == 0) {
      out.classes = c;
      out.probabilities.reserve(static_cast<size_t>(out.rows * c));
    }
    for (int64_t i = 0; i < b; ++i) {
      const auto first = p.begin() + i * c;
      // Ties go to the lowest class index, as torch.argmax and numpy.argmax do.
      out.predicted[static_cast<size_t>(start + i)] = std::max_element(first, first + c) - first;
    }
    out.probabilities.insert(out.probabilities.end(), p.begin(), p.end());
    Progress(criterion_id, "forward passes", static_cast<double>(start + b) / out.rows);
  }
  if (out.classes == 2) {
    for (int64_t i = 0; i < out.rows; ++i) {
      out.positive_scores.push_back(out.probabilities[static_cast<size_t>(i * 2 + 1)]);
    }
  }
  out.source = "model:" + model_->info().sha256;
  outputs_ = std::move(out);
  return *outputs_;
}

void AuditorRegistry::Register(std::unique_ptr<Auditor> auditor) {
  for (MetricSpec& spec : auditor->metrics()) {
    if (metrics_.count(spec.name) != 0) {
      throw RuntimeError("metric '" + spec.name + "' registered twice");
    }
    const std::string name = spec.name;
    metrics_.emplace(name, std::make_pair(auditor.get(), std::move(spec)));
  }
  auditors_.push_back(std::move(auditor));
}

Auditor* AuditorRegistry::FindAuditor(std::string_view metric) const {
  auto it = metrics_.find(metric);
  return it == metrics_.end() ? nullptr : it->second.first;
}

const MetricSpec* AuditorRegistry::FindMetric(std::string_view metric) const {
  auto it = metrics_.find(metric);
  return it == metrics_.end() ? nullptr : &it->second.second;
}

std::vector<MetricSpec> AuditorRegistry::AllMetrics() const {
  std::vector<MetricSpec> out;
  for (const auto& [name, entry] : metrics_) out.push_back(entry.second);
  std::stable_sort(out.begin(), out.end(), [](const MetricSpec& a, const MetricSpec& b) {
    return a.concern != b.concern ? a.concern < b.concern : a.name < b.name;
  });
  return out;
}

namespace {
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::vector<std::string> AuditorRegistry::ClosestMetrics(std::string_view name, size_t n) const {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& [metric, entry] : metrics_) {
    scored.emplace_back(EditDistance(name, metric), metric);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) {
    // Suggest only names within a plausible typo distance.
    if (scored[i].first <= std::max<size_t>(3, name.size() / 2)) out.push_back(scored[i].second);
  }
  return out;
}

}  // namespace greenlight
