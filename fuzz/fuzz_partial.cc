// `greenlight merge`'s reader: the partials of a sharded audit, checked as one set (CheckPartials)
// and merged (MergePartials: each metric's StatsFromJson, Merge, Finalize and the verdict). The
// input is a JSON array of partials (or one partial). A partial names its criteria by digest; the
// criteria files in fuzz/partial/ are loaded once, and the seed corpus (fuzz/seeds/partial, made
// by fuzz/partial/make_seeds.sh) holds real partials of them, so mutations reach the statistics of
// every metric those files use: the accuracy, calibration, paired and fairness families, whose
// sources compile without LibTorch. Bad input must surface as greenlight::InputError; any other
// exception or a crash is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auditors/accuracy/accuracy_metrics.h"
#include "auditors/auditor.h"
#include "auditors/fairness/group_metrics.h"
#include "auditors/metric.h"
#include "auditors/safety/safety_metrics.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "engine/criteria.h"
#include "engine/partial.h"
#include "fuzz/no_model_runtimes.h"
#include "models/model.h"
#include "models/model_registry.h"

// The engine links against these two LibTorch-side definitions; this target loads no model.
namespace greenlight {
std::string TorchVersion() { return "none (fuzz target)"; }
const ModelRegistry& BuiltinModelRegistry() { return fuzz::NoModelRuntimes(); }
}  // namespace greenlight

namespace {

namespace gl = greenlight;

const gl::AuditorRegistry& Registry() {
  static const gl::AuditorRegistry* registry = [] {
    auto* r = new gl::AuditorRegistry();
    namespace accuracy = gl::accuracy;
    for (auto make : {accuracy::MakeAccuracy, accuracy::MakeTopKAccuracy, accuracy::MakePrecision,
                      accuracy::MakeRecall, accuracy::MakeF1, accuracy::MakeRocAuc,
                      accuracy::MakeAccuracyRetention, accuracy::MakeAccuracyDelta,
                      accuracy::MakePredictionAgreement, accuracy::MakeMcNemarPValue,
                      gl::safety::MakeEce, gl::safety::MakeEceEqualMass}) {
      gl::RegisterMetric(*r, make());
    }
    using gl::fairness::Metric;
    for (Metric m : {Metric::kSelectionRate, Metric::kDemographicParityDifference,
                     Metric::kDemographicParityRatio, Metric::kDisparateImpactRatio,
                     Metric::kEqualOpportunityDifference, Metric::kEqualizedOddsDifference,
                     Metric::kAverageOddsDifference, Metric::kPredictiveParityDifference,
                     Metric::kFalsePositiveRateDifference}) {
      gl::RegisterMetric(*r, gl::fairness::MakeGroupMetric(m));
    }
    return r;
  }();
  return *registry;
}

// The criteria files of fuzz/partial/, by the SHA-256 a partial names them with.
const std::map<std::string, gl::CriteriaFile>& Criteria() {
  static const auto* files = [] {
    auto* out = new std::map<std::string, gl::CriteriaFile>();
    const std::filesystem::path dir = std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "fuzz/partial";
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".yaml") continue;
      const std::string text = gl::ReadFile(entry.path());
      out->emplace(gl::Sha256Hex(text), gl::ParseCriteria(text, entry.path(), Registry(), {},
                                                          gl::BuiltinModelRegistry()));
    }
    if (out->empty()) std::abort();  // A setup error, not a finding.
    return out;
  }();
  return *files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json doc = gl::ParseJsonDocument(text, "partials");
    std::vector<gl::PartialFile> partials;
    if (doc.is_array()) {
      for (size_t i = 0; i < doc.size(); ++i) {
        partials.push_back({"/fuzz/shard-" + std::to_string(i) + "/partial.json", doc[i]});
      }
    } else {
      partials.push_back({"/fuzz/partial.json", doc});
    }
    const gl::PartialSet set = gl::CheckPartials(partials);
    const auto found = Criteria().find(set.criteria_sha256);
    if (found == Criteria().end()) return 0;
    gl::MergePartials(found->second, Registry(), set);
  } catch (const gl::InputError&) {
  }
  return 0;
}
