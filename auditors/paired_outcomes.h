// Pairing beyond the rows pass, for metric_delta and metric_retention (auditors/compare/): a metric
// whose value is sum(numerator) / sum(denominator) of per-row outcomes over the rows of its own
// work (an attack, a corruption run: a mean over rows has denominator 1) implements
// PairableMetric, and its work's WithReference() is a PairedWork that runs the same work for the
// model and for the reference model over the same rows. The comparison keeps both models' per-row
// outcomes and resamples them together, as it resamples the rows pass.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "auditors/auditor.h"
#include "auditors/metric.h"
#include "core/error.h"

namespace greenlight {

// Which model a paired work runs its work for.
enum class PairedSide { kModel, kReference };

// The compared metric's own records of both models over the same rows, in the same order.
struct PairedRecord final : WorkRecord {
  std::shared_ptr<const WorkRecord> model, reference;
  std::string model_source, reference_source;  // "model:<sha256>" of each side.
  // How each side was obtained ({"model": ..., "reference": ...}, e.g. whose gradients crafted
  // the attack); copied into the comparison's details.
  nlohmann::json pairing;
  int64_t rows() const override { return model->rows(); }
};

// One model's per-row outcomes over a range of rows: the metric's value over any multiset of rows
// is sum(numerator) / sum(denominator) over it (undefined when the denominator sums to 0).
struct RowOutcomes {
  std::vector<double> numerator, denominator;
};

// Implemented (beside Metric) by a metric that can be paired through its per-row outcomes.
class PairableMetric {
 public:
  virtual ~PairableMetric() = default;
  // What one row's numerator and denominator are, for the details (e.g. "correct under attack").
  virtual std::string OutcomeName(const BoundParams& params) const = 0;
  // The outcomes of `rows` of `record` (one side of a PairedRecord, the metric's own record kind).
  virtual RowOutcomes Outcomes(const BoundParams& params, const WorkRecord& record,
                               RowRange rows) const = 0;
};

// A pairable metric's work run for both models. `run` runs the work for one side and throws
// greenlight::Error when it cannot; `pairing` describes how each side is obtained.
class PairedWork final : public Work {
 public:
  using RunSide = std::function<std::shared_ptr<const WorkRecord>(AuditContext&, PairedSide)>;
  PairedWork(std::string key, RunSide run, nlohmann::json pairing)
      : key_(std::move(key)), run_(std::move(run)), pairing_(std::move(pairing)) {}
  std::string key() const override { return key_ + "+reference"; }
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const>) const override {
    if (context.model() == nullptr) throw RuntimeError("the audit has no model");
    if (context.reference() == nullptr) throw RuntimeError("the audit has no reference model");
    auto record = std::make_shared<PairedRecord>();
    record->model = run_(context, PairedSide::kModel);
    record->reference = run_(context, PairedSide::kReference);
    if (record->model->rows() != record->reference->rows()) {
      throw RuntimeError("the reference model's run covers " +
                         std::to_string(record->reference->rows()) + " rows, the model's " +
                         std::to_string(record->model->rows()));
    }
    record->model_source = "model:" + context.model()->info().sha256;
    record->reference_source = "model:" + context.reference()->info().sha256;
    record->pairing = pairing_;
    return record;
  }

 private:
  std::string key_;
  RunSide run_;
  nlohmann::json pairing_;
};

}  // namespace greenlight
