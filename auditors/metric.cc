#include "auditors/metric.h"

#include <algorithm>

namespace greenlight {
namespace {

// Presents one framework metric to the registry. The engine measures framework metrics through
// its plan; Measure here serves callers that hold only a MetricRequest: it binds the request's
// params and runs the metric's work on the context, unshared.
class MetricAuditor final : public Auditor {
 public:
  explicit MetricAuditor(std::unique_ptr<Metric> metric) : metric_(std::move(metric)) {}
  std::vector<MetricSpec> metrics() const override { return {metric_->spec()}; }
  // The engine's data check (before anything is measured, and for `validate --data`).
  void CheckData(const MetricRequest& req, const Dataset& data) const override {
    std::shared_ptr<const BoundParams> params;
    try {
      params = metric_->Bind(req.params);
    } catch (const ParamError& e) {
      throw InputError(req.metric + ": params." + e.field() + ": " + e.what());
    }
    metric_->CheckData(*params, data);
  }
  Measurement Measure(const MetricRequest& req, AuditContext& context) override {
    std::shared_ptr<const BoundParams> params;
    try {
      params = metric_->Bind(req.params);
    } catch (const ParamError& e) {
      throw InputError(req.metric + ": params." + e.field() + ": " + e.what());
    }
    const std::shared_ptr<Instrument> instrument = metric_->MakeInstrument(*params);
    std::vector<Instrument*> instruments;
    if (instrument) instruments.push_back(instrument.get());
    const auto record = metric_->Needs(*params)->Run(context, instruments);
    const auto reading = instrument ? instrument->Reading() : nullptr;
    FinalizeContext fin;
    fin.seed = req.seed;
    fin.confidence = req.confidence;
    return MeasureRows(*metric_, *params, {*record, reading.get(), {0, record->rows()}}, fin);
  }
  const Metric& metric() const { return *metric_; }

 private:
  std::unique_ptr<Metric> metric_;
};

}  // namespace

void RegisterMetric(AuditorRegistry& registry, std::unique_ptr<Metric> metric) {
  registry.Register(std::make_unique<MetricAuditor>(std::move(metric)));
}

const Metric* FindFrameworkMetric(const AuditorRegistry& registry, std::string_view name) {
  const auto* adapter = dynamic_cast<const MetricAuditor*>(registry.FindAuditor(name));
  return adapter == nullptr ? nullptr : &adapter->metric();
}

std::vector<const Metric*> FrameworkMetrics(const AuditorRegistry& registry) {
  std::vector<const Metric*> out;
  for (const MetricSpec& spec : registry.AllMetrics()) {
    if (const Metric* m = FindFrameworkMetric(registry, spec.name)) out.push_back(m);
  }
  return out;
}

std::vector<std::string> LegacyMetrics(const AuditorRegistry& registry) {
  std::vector<std::string> out;
  for (const MetricSpec& spec : registry.AllMetrics()) {
    if (FindFrameworkMetric(registry, spec.name) == nullptr) out.push_back(spec.name);
  }
  return out;
}

Measurement MeasureRows(const Metric& metric, const BoundParams& params, const MetricInput& input,
                        const FinalizeContext& context) {
  const std::unique_ptr<MetricStats> stats = metric.Accumulate(params, input);
  return metric.Finalize(params, *stats, context);
}

std::shared_ptr<const WorkRecord> OutputsWork::Run(
    AuditContext& context, std::span<Instrument* const> /*instruments*/) const {
  auto record = std::make_shared<OutputsRecord>();
  record->outputs = &context.Outputs("outputs");
  const Dataset& data = context.dataset();
  if (data.has_labels()) record->labels = data.labels();
  record->classes = std::max(record->outputs->classes, data.num_classes());
  return record;
}

std::shared_ptr<const Work> OutputsWork::WithReference() const {
  return std::make_shared<PairedOutputsWork>();
}

std::shared_ptr<const WorkRecord> PairedOutputsWork::Run(
    AuditContext& context, std::span<Instrument* const> /*instruments*/) const {
  auto record = std::make_shared<OutputsRecord>();
  record->outputs = &context.Outputs("outputs");
  record->reference = &context.ReferenceOutputs("outputs+reference");
  if (record->reference->rows != record->outputs->rows) {
    throw RuntimeError("the reference model's outputs cover " +
                       std::to_string(record->reference->rows) + " rows, the model's " +
                       std::to_string(record->outputs->rows));
  }
  const Dataset& data = context.dataset();
  if (data.has_labels()) record->labels = data.labels();
  record->classes =
      std::max({record->outputs->classes, record->reference->classes, data.num_classes()});
  return record;
}

}  // namespace greenlight
