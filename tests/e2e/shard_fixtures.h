// Criteria and a shared-volume layout for the sharded-audit end-to-end tests.
#pragma once

#include <filesystem>
#include <string>

#include "tests/test_util.h"

namespace greenlight::testing {

// Paths relative to the criteria file: models/ and data/ sit beside it (as on a shared volume).
inline std::string HmdaCriteria() {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: shard-hmda, version: '1'}\n"
         "settings: {seed: 20261128}\n"
         "model: {path: models/hmda_credit.pt, output: logits, input: {shape: [12]}}\n"
         "dataset:\n  format: csv\n  path: data/hmda.csv\n"
         "  features: [pirat, hirat, lvrat, chist, mhist, phist, unemp, selfemp, insurance,"
         " condomin, single, hschool]\n"
         "  encode:\n"
         "    phist: {'no': 0, 'yes': 1}\n    selfemp: {'no': 0, 'yes': 1}\n"
         "    insurance: {'no': 0, 'yes': 1}\n    condomin: {'no': 0, 'yes': 1}\n"
         "    single: {'no': 0, 'yes': 1}\n    hschool: {'no': 0, 'yes': 1}\n"
         "  label: {column: deny, positive: 'yes'}\n  sensitive: [afam, single]\n"
         "criteria:\n"
         "  - {id: ACC, metric: accuracy, threshold: {gte: 0.8}, severity: mandatory,"
         " confidence: 0.95}\n"
         "  - {id: DI, metric: disparate_impact_ratio, params: {sensitive: afam, favourable: 0,"
         " reference: 'no'}, threshold: {gte: 0.8}, severity: mandatory, confidence: 0.95}\n"
         "  - {id: EOP, metric: equal_opportunity_difference, params: {sensitive: afam,"
         " favourable: 0}, threshold: {lte: 0.1}, severity: advisory}\n"
         "  - {id: DP2, metric: demographic_parity_ratio, params: {sensitive: [afam, single],"
         " favourable: 0, min_group_size: 30}, threshold: {gte: 0.8}, severity: advisory}\n"
         "  - {id: AUC, metric: roc_auc, threshold: {gte: 0.7}, severity: mandatory,"
         " confidence: 0.95}\n"
         // A short timed run: a property of the node, measured on the timing shard only.
         "  - {id: LAT, metric: latency_p50_ms, params: {min_queries: 200, min_duration_s: 0,"
         " warmup_queries: 8, repetitions: 5, threads: 1}, threshold: {lte: 1000},"
         " severity: advisory}\n";
}

// A folder laid out like the shared volume of the examples: criteria.yaml, models/, data/.
inline void MakeHmdaVolume(const std::filesystem::path& root) {
  WriteText(root / "criteria.yaml", HmdaCriteria());
  std::filesystem::create_directories(root / "models");
  std::filesystem::create_directories(root / "data");
  std::filesystem::create_symlink(ModelsDir() / "hmda_credit.pt",
                                  root / "models" / "hmda_credit.pt");
  std::filesystem::create_symlink(SourceDir() / "examples" / "data" / "hmda.csv",
                                  root / "data" / "hmda.csv");
}

}  // namespace greenlight::testing
