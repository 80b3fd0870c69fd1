// Criteria, a shared-volume layout and the single-process comparison for the sharded-audit
// end-to-end tests (shard_e2e_test, slurm_e2e_test).
#pragma once

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
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

inline nlohmann::json ReadJson(const std::filesystem::path& path) {
  return nlohmann::json::parse(ReadText(path));
}

// Every deterministic criterion of `merged` equals the single-process `reference`: status,
// samples, method; value and interval bounds to 1e-12; the verdict too. A measured one (timing)
// is another measurement on another run: it must be there, with its method.
inline void CheckSameResults(const nlohmann::json& reference, const nlohmann::json& merged) {
  const nlohmann::json& a = reference["predicate"];
  const nlohmann::json& b = merged["predicate"];
  BOOST_TEST(a["verdict"] == b["verdict"]);
  BOOST_TEST(a["dataset"] == b["dataset"]);
  BOOST_REQUIRE_EQUAL(a["results"].size(), b["results"].size());
  for (size_t i = 0; i < a["results"].size(); ++i) {
    const nlohmann::json& x = a["results"][i];
    const nlohmann::json& y = b["results"][i];
    BOOST_TEST_CONTEXT("criterion " << x["id"]) {
      BOOST_TEST(x["id"] == y["id"]);
      BOOST_TEST(x["deterministic"] == y["deterministic"]);
      if (!x["deterministic"].get<bool>()) {
        BOOST_TEST(y["value"].is_number());
        BOOST_TEST(x["method"] == y["method"]);
        continue;
      }
      BOOST_TEST(x["status"] == y["status"]);
      BOOST_TEST(x["samples"] == y["samples"]);
      BOOST_TEST(x["method"] == y["method"]);
      BOOST_REQUIRE(x["value"].is_number() == y["value"].is_number());
      if (x["value"].is_number()) {
        BOOST_TEST(std::abs(x["value"].get<double>() - y["value"].get<double>()) <= 1e-12);
      }
      BOOST_REQUIRE(x.contains("interval") == y.contains("interval"));
      if (x.contains("interval") && x["interval"].is_object()) {
        for (const char* bound : {"low", "high", "level"}) {
          BOOST_TEST(std::abs(x["interval"][bound].get<double>() -
                              y["interval"][bound].get<double>()) <= 1e-12,
                     bound);
        }
        BOOST_TEST(x["interval"]["method"] == y["interval"]["method"]);
      }
    }
  }
}

// The exit code a report's verdict maps to.
inline int ExitOf(const nlohmann::json& report) {
  const std::string v = report["predicate"]["verdict"].get<std::string>();
  return v == "PASS" ? 0 : v == "FAIL" ? 1 : v == "INCONCLUSIVE" ? 2 : 4;
}

inline nlohmann::json SingleProcess(const std::filesystem::path& criteria,
                                    const std::filesystem::path& out) {
  const auto r = RunCli("-q audit -c " + Quote(criteria) + " --out " + Quote(out));
  BOOST_REQUIRE_MESSAGE(r.exit_code <= 2, r.err);
  return ReadJson(out / "report.json");
}

}  // namespace greenlight::testing
