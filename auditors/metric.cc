#include "auditors/metric.h"

#include <algorithm>

namespace greenlight {

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

}  // namespace greenlight
