#include "auditors/auditor.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/suggest.h"
#include "datasets/in_memory_dataset.h"

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

AuditContext::AuditContext(Model* model, const DatasetSource& source, uint64_t seed,
                           ProgressSink* progress)
    : model_(model), source_(source), seed_(seed), progress_(progress) {}

AuditContext::AuditContext(Model* model, const Dataset& dataset, uint64_t seed,
                           ProgressSink* progress)
    : model_(model),
      owned_source_(std::make_unique<InMemorySource>(dataset)),
      source_(*owned_source_),
      seed_(seed),
      progress_(progress) {}

const Dataset& AuditContext::Rows(int64_t n) const {
  if (const Dataset* all = source_.InMemory()) return *all;
  const int64_t want = n <= 0 ? source_.rows() : std::min(n, source_.rows());
  if (!head_ || head_->rows() < want) head_ = source_.Read(0, want);
  return *head_;
}

void AuditContext::Progress(std::string_view criterion_id, std::string_view step,
                            double fraction) const {
  if (progress_ != nullptr) progress_->Update(criterion_id, step, fraction);
}

const ClassifierOutputs& AuditContext::Outputs(std::string_view criterion_id) {
  if (outputs_) return *outputs_;
  ClassifierOutputs out;
  out.rows = source_.rows();
  if (model_ == nullptr) {
    const Dataset& recorded = source_.Metadata();
    if (!recorded.has_predictions()) {
      throw InputError(
          "no model and no recorded predictions: give a model: section or "
          "dataset.predictions");
    }
    out.classes = 2;
    out.predicted.assign(recorded.predictions().begin(), recorded.predictions().end());
    out.positive_scores.assign(recorded.scores().begin(), recorded.scores().end());
    out.source = "recorded";
    for (int64_t p : out.predicted) out.classes = std::max(out.classes, p + 1);
    outputs_ = std::move(out);
    return *outputs_;
  }
  out = ForwardAll(*model_, "forward passes", criterion_id);
  outputs_ = std::move(out);
  return *outputs_;
}

const ClassifierOutputs& AuditContext::ReferenceOutputs(std::string_view criterion_id) {
  if (reference_outputs_) return *reference_outputs_;
  if (reference_ == nullptr) throw RuntimeError("the audit has no reference model");
  reference_outputs_ = ForwardAll(*reference_, "reference forward passes", criterion_id);
  return *reference_outputs_;
}

ClassifierOutputs AuditContext::ForwardAll(Model& model, std::string_view step,
                                           std::string_view criterion_id) const {
  ClassifierOutputs out;
  out.rows = source_.rows();
  const int64_t size = source_.sample_size();
  if (model.spec().tokenizer) {
    // A language model takes token sequences: its runtime's Forward says so for every row.
    int64_t outputs = 0;
    model.Forward({}, 0, &outputs);
  }
  if (size != model.input_size()) {
    throw InputError(model.spec().path.string() + ": dataset rows have " + std::to_string(size) +
                     " values but model input.shape has " + std::to_string(model.input_size()));
  }
  constexpr int64_t kBatch = kOutputsBatchRows;
  out.predicted.resize(static_cast<size_t>(out.rows));
  // Rows not in memory are read one batch at a time.
  const Dataset* all = source_.InMemory();
  for (int64_t start = 0; start < out.rows; start += kBatch) {
    const int64_t b = std::min(kBatch, out.rows - start);
    std::unique_ptr<Dataset> block;
    if (all == nullptr) block = source_.Read(start, start + b);
    const auto input = all != nullptr ? all->features().subspan(static_cast<size_t>(start * size),
                                                                static_cast<size_t>(b * size))
                                      : block->features();
    int64_t classes = 0;
    const std::vector<float> raw = model.Forward(input, b, &classes);
    int64_t c = 0;
    const std::vector<double> p = OutputsToProbabilities(raw, b, classes, model.spec().output, &c);
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
    Progress(criterion_id, step, static_cast<double>(start + b) / out.rows);
  }
  if (out.classes == 2) {
    for (int64_t i = 0; i < out.rows; ++i) {
      out.positive_scores.push_back(out.probabilities[static_cast<size_t>(i * 2 + 1)]);
    }
  }
  out.source = "model:" + model.info().sha256;
  return out;
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
