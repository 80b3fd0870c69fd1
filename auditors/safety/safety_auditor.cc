#include "auditors/safety/safety_auditor.h"

#include <map>

#include "auditors/safety/adversarial.h"
#include "auditors/safety/calibration.h"
#include "auditors/safety/corruptions.h"
#include "auditors/safety/determinism.h"
#include "auditors/safety/invalid_inputs.h"
#include "auditors/safety/ood.h"
#include "auditors/safety/tabular.h"
#include "core/error.h"

namespace greenlight {
namespace {

using MeasureFn = Measurement (*)(const MetricRequest&, AuditContext&);

struct Family {
  std::vector<MetricSpec> (*metrics)();
  MeasureFn measure;
};

const std::vector<Family>& Families() {
  static const std::vector<Family> families{
      {safety::AdversarialMetrics, safety::MeasureAdversarial},
      {safety::CorruptionMetrics, safety::MeasureCorruption},
      {safety::CalibrationMetrics, safety::MeasureCalibration},
      {safety::DeterminismMetrics, safety::MeasureDeterminism},
      {safety::InvalidInputMetrics, safety::MeasureInvalidInputs},
      {safety::OodMetrics, safety::MeasureOod},
      {safety::TabularMetrics, safety::MeasureTabular},
  };
  return families;
}

class SafetyAuditor final : public Auditor {
 public:
  SafetyAuditor() {
    for (const Family& f : Families()) {
      for (MetricSpec& spec : f.metrics()) {
        dispatch_[spec.name] = f.measure;
        specs_.push_back(std::move(spec));
      }
    }
  }

  std::vector<MetricSpec> metrics() const override { return specs_; }

  Measurement Measure(const MetricRequest& req, AuditContext& ctx) override {
    auto it = dispatch_.find(req.metric);
    if (it == dispatch_.end()) throw RuntimeError("safety auditor: unknown metric " + req.metric);
    return it->second(req, ctx);
  }

 private:
  std::vector<MetricSpec> specs_;
  std::map<std::string, MeasureFn, std::less<>> dispatch_;
};

}  // namespace

void RegisterSafetyAuditor(AuditorRegistry& registry) {
  registry.Register(std::make_unique<SafetyAuditor>());
}

}  // namespace greenlight
