// Cost of `greenlight merge` (engine/partial.h) for 2, 8 and 64 partials: the checks, the
// statistics parsed and merged in shard order, finalization and judgement. The partials are one
// real shard's partial (the HMDA credit model audited in this process: accuracy and three fairness
// metrics, whose statistics are counts per class and group) cloned N times with the shard fields
// and the selected rows they claim rewritten; the merge's work depends on the statistics' size,
// not on the rows behind them, which the two row counts (2^14 and 2^30 selected rows) show.
// Reading and parsing the files is not included. docs/scale-out.md has the figures.
//
//   greenlight_merge_benchmark [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "auditors/auditor.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "engine/partial.h"

namespace gl = greenlight;

namespace {

const std::filesystem::path kSource = GREENLIGHT_SOURCE_DIR;

struct Fixture {
  gl::AuditorRegistry registry;
  std::optional<gl::CriteriaFile> criteria;
  nlohmann::json partial;  // One shard of one: every row.
};

Fixture& Shared() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    gl::RegisterBuiltinAuditors(f->registry);
    const auto path = std::filesystem::temp_directory_path() / "greenlight-merge-benchmark.yaml";
    std::ofstream(path)
        << "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: merge-benchmark, "
           "version: '1'}\nmodel: {path: "
        << (kSource / "examples" / "models" / "hmda_credit.pt").string()
        << ", output: logits, input: {shape: [12]}}\n"
           "dataset:\n  format: csv\n  path: "
        << (kSource / "examples" / "data" / "hmda.csv").string()
        << "\n  features: [pirat, hirat, lvrat, chist, mhist, phist, unemp, selfemp, insurance,"
           " condomin, single, hschool]\n"
           "  encode: {phist: {'no': 0, 'yes': 1}, selfemp: {'no': 0, 'yes': 1}, insurance: "
           "{'no': 0, 'yes': 1}, condomin: {'no': 0, 'yes': 1}, single: {'no': 0, 'yes': 1}, "
           "hschool: {'no': 0, 'yes': 1}}\n"
           "  label: {column: deny, positive: 'yes'}\n  sensitive: [afam, single]\n"
           "criteria:\n"
           "  - {id: ACC, metric: accuracy, threshold: {gte: 0.8}, severity: mandatory}\n"
           "  - {id: DI, metric: disparate_impact_ratio, params: {sensitive: afam, favourable: "
           "0, reference: 'no'}, threshold: {gte: 0.8}, severity: mandatory}\n"
           "  - {id: EOP, metric: equal_opportunity_difference, params: {sensitive: afam, "
           "favourable: 0}, threshold: {lte: 0.1}, severity: advisory}\n"
           "  - {id: DP2, metric: demographic_parity_ratio, params: {sensitive: [afam, single], "
           "favourable: 0}, threshold: {gte: 0.8}, severity: advisory}\n";
    f->criteria = gl::LoadCriteria(path, f->registry);
    gl::AuditOptions options;
    options.isolate_model = false;
    options.shard = gl::ShardSpec{0, 1};
    const gl::AuditOutcome outcome = gl::RunAudit(*f->criteria, f->registry, options);
    f->partial =
        gl::PartialToJson(*f->criteria, outcome, {0, 1}, 0, std::filesystem::current_path());
    std::filesystem::remove(path);
    return f;
  }();
  return *fixture;
}

void BM_Merge(benchmark::State& state) {
  Fixture& f = Shared();
  const int64_t shards = state.range(0);
  const int64_t rows = state.range(1);
  std::vector<gl::PartialFile> partials;
  for (int64_t i = 0; i < shards; ++i) {
    nlohmann::json p = f.partial;
    const gl::RowRange r = gl::ShardRows(rows, {i, shards}, gl::kOutputsBatchRows);
    p["shard"]["index"] = i;
    p["shard"]["count"] = shards;
    p["shard"]["rows"] = {{"begin", r.begin}, {"end", r.end}};
    p["dataset"]["rows"] = rows;
    partials.push_back({"partial-" + std::to_string(i) + ".json", std::move(p)});
  }
  for (auto _ : state) {
    const gl::PartialSet set = gl::CheckPartials(partials);
    gl::AuditOutcome merged = gl::MergePartials(*f.criteria, f.registry, set);
    benchmark::DoNotOptimize(merged);
  }
  state.counters["partials"] = static_cast<double>(shards);
  state.counters["rows"] = static_cast<double>(rows);
}

BENCHMARK(BM_Merge)
    ->ArgNames({"partials", "rows"})
    ->ArgsProduct({{2, 8, 64}, {int64_t{1} << 14, int64_t{1} << 30}})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
