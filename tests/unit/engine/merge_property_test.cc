// The merge property of every registered metric: splitting the rows into k parts (k = 2, 3, 7;
// uneven), accumulating each part, sending the statistics through JSON as a shard would, merging
// them in row order and finalizing gives the unsplit result: value and interval equal to 1e-12.
// Real rows: the example models on Fashion-MNIST and on the HMDA data; the language-model metrics
// a small causal LM (tests/unit/models/make_tiny_lm.py) on 150 documents. The unsplit result's
// details are also validated against the metric's schema (schemas/details/).
#define BOOST_TEST_MODULE merge_property
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <set>

#include "auditors/metric.h"
#include "datasets/in_memory_dataset.h"
#include "engine/criteria.h"
#include "models/model_registry.h"
#include "tests/test_util.h"
#include "tests/unit/engine/details_schemas.h"

namespace gl = greenlight;

namespace {

// Which real audit a merge case runs on.
enum class Data { kFashion, kHmda, kText };

struct MergeCase {
  Data data;
  nlohmann::json params;
  int64_t min_rows = 101;  // Rows the record must have (a model's static facts have one).
};

// A short timed run (queries are the rows): exactly 200 queries in 5 repetitions.
nlohmann::json QuickRun(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json p = {{"warmup_queries", 4},
                      {"min_queries", 200},
                      {"min_duration_s", 0.0},
                      {"repetitions", 5},
                      {"threads", 1}};
  p.update(extra);
  return p;
}
// Energy from the CPU-time estimate (no meter needed), without the idle pause unless asked.
nlohmann::json QuickEnergy(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json p = QuickRun({{"meter", "estimate"}, {"idle_baseline_s", 0.0}});
  p.update(extra);
  return p;
}

// A short generation run of the text audit's LM (context 16): exactly 120 queries in 5
// repetitions, prompts of 2 tokens, 6 new tokens each.
nlohmann::json QuickGeneration(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json p = {{"prompt_tokens", 2}, {"max_new_tokens", 6},   {"warmup_queries", 2},
                      {"min_queries", 120}, {"min_duration_s", 0.0}, {"repetitions", 5},
                      {"threads", 1}};
  p.update(extra);
  return p;
}

std::string ShippedPairs() {
  return (gl::testing::SourceDir() / "examples/data/lm/counterfactual_pairs.jsonl").string();
}

// Every framework metric needs a case here, or `every_registered_metric_merges_exactly` fails.
const std::map<std::string, std::vector<MergeCase>> kMergeCases = {
    {"accuracy", {{Data::kFashion, nlohmann::json::object()}}},
    {"perplexity", {{Data::kText, {{"bootstrap_resamples", 200}}}}},
    {"bits_per_byte", {{Data::kText, {{"bootstrap_resamples", 200}}}}},
    {"next_token_accuracy", {{Data::kText, {{"bootstrap_resamples", 200}}}}},
    // The shipped pairs (48): the rows are the pairs.
    {"counterfactual_preference", {{Data::kText, {{"pairs", ShippedPairs()}}, 48}}},
    {"flops_per_token", {{Data::kText, nlohmann::json::object(), 1}}},
    {"kv_cache_bytes_per_token", {{Data::kText, {{"tokens", 8}}, 1}}},
    {"counterfactual_loglik_gap",
     {{Data::kText, {{"pairs", ShippedPairs()}}, 48},
      {Data::kText, {{"pairs", ShippedPairs()}, {"categories", {"age", "religion"}}}, 24}}},
    {"top_k_accuracy", {{Data::kFashion, {{"k", 3}}}}},
    {"precision",
     {{Data::kFashion, {{"average", "macro"}, {"bootstrap_resamples", 200}}},
      {Data::kFashion,
       {{"average", "macro"}, {"interval", "bootstrap"}, {"bootstrap_resamples", 200}}},
      {Data::kFashion, {{"class", 6}}}}},
    {"recall",
     {{Data::kFashion, {{"average", "weighted"}, {"bootstrap_resamples", 200}}},
      {Data::kFashion, {{"class", 6}}}}},
    {"f1",
     {{Data::kFashion, {{"average", "micro"}, {"bootstrap_resamples", 200}}},
      {Data::kFashion, {{"class", 2}, {"bootstrap_resamples", 200}}}}},
    {"roc_auc",
     {{Data::kHmda, {{"bootstrap_resamples", 200}}},
      {Data::kHmda, {{"interval", "bootstrap"}, {"bootstrap_resamples", 200}}}}},
    {"accuracy_retention",
     {{Data::kFashion, {{"reference_accuracy", 0.9}}}, {Data::kFashion, nlohmann::json::object()}}},
    // Paired with the int8 twin as the reference model (RealAudit below).
    {"accuracy_delta", {{Data::kFashion, nlohmann::json::object()}}},
    {"prediction_agreement", {{Data::kFashion, nlohmann::json::object()}}},
    {"mcnemar_p_value", {{Data::kFashion, nlohmann::json::object()}}},
    {"metric_delta",
     {{Data::kFashion, {{"metric", "f1"}, {"average", "macro"}, {"paired_resamples", 200}}},
      {Data::kFashion,
       {{"metric", "ece"}, {"bootstrap_resamples", 200}, {"paired_resamples", 200}}},
      // Paired with another small LM as the reference model (TextAudit below).
      {Data::kText, {{"metric", "perplexity"}, {"paired_resamples", 200}}},
      // A robustness metric paired by its per-row outcomes: the same noisy rows through the model
      // and its int8 twin (an attack needs gradients the twin lacks; paired_robustness_test.cc
      // merges attacks).
      {Data::kFashion,
       {{"metric", "corruption_accuracy"},
        {"corruption", "gaussian_noise"},
        {"severity", 3},
        {"limit", 300},
        {"paired_resamples", 200}}}}},
    {"metric_retention",
     {{Data::kFashion, {{"metric", "accuracy"}, {"paired_resamples", 200}}},
      {Data::kFashion,
       {{"metric", "corruption_accuracy"},
        {"corruption", "contrast"},
        {"limit", 200},
        {"bootstrap_resamples", 200},
        {"paired_resamples", 200}}},
      {Data::kText, {{"metric", "bits_per_byte"}, {"paired_resamples", 200}}}}},
    // fairness: HMDA by race (afam) and race x marital status (single), favourable = approved (0)
    {"selection_rate",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}},
      {Data::kHmda, {{"sensitive", "afam"}, {"threshold", 0.3}}}}},
    {"demographic_parity_difference",
     {{Data::kHmda, {{"sensitive", {"afam", "single"}}, {"favourable", 0}}},
      {Data::kHmda, {{"sensitive", "afam"}, {"aggregation", "to_overall"}, {"threshold", 0.3}}}}},
    {"demographic_parity_ratio",
     {{Data::kHmda, {{"sensitive", {"afam", "single"}}, {"favourable", 0}, {"min_group_size", 30}}},
      {Data::kHmda, {{"sensitive", "single"}, {"favourable", 0}, {"aggregation", "to_overall"}}}}},
    {"disparate_impact_ratio",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}, {"reference", "no"}}},
      {Data::kHmda,
       {{"sensitive", {"afam", "single"}}, {"favourable", 0}, {"reference", "best"}}}}},
    {"equal_opportunity_difference", {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}}}},
    {"equalized_odds_difference",
     {{Data::kHmda, {{"sensitive", {"afam", "single"}}, {"favourable", 0}}}}},
    {"average_odds_difference",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}, {"aggregation", "to_overall"}}}}},
    {"predictive_parity_difference", {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}}}},
    {"false_positive_rate_difference", {{Data::kHmda, {{"sensitive", "single"}}}}},
    {"false_negative_rate_difference",
     {{Data::kHmda, {{"sensitive", "single"}, {"favourable", 0}}}}},
    {"accuracy_difference", {{Data::kHmda, {{"sensitive", {"afam", "single"}}}}}},
    {"group_accuracy_min", {{Data::kHmda, {{"sensitive", "afam"}}}}},
    {"theil_index",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}},
      {Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}, {"threshold", 0.2}}}}},
    {"ece",
     {{Data::kFashion, {{"bootstrap_resamples", 200}}},
      {Data::kFashion, {{"bins", 7}, {"limit", 1500}, {"bootstrap_resamples", 200}}}}},
    {"ece_equal_mass",
     {{Data::kFashion, {{"bootstrap_resamples", 200}}},
      {Data::kHmda, {{"bins", 12}, {"bootstrap_resamples", 200}}}}},
    {"adversarial_accuracy",
     {{Data::kFashion, {{"epsilon", 0.02}, {"limit", 300}}},
      {Data::kFashion, {{"attack", "pgd"}, {"epsilon", 0.02}, {"iterations", 3}, {"limit", 200}}}}},
    {"attack_success_rate", {{Data::kFashion, {{"norm", "2"}, {"epsilon", 0.5}, {"limit", 300}}}}},
    // Batches of 32 rows: the flipped rows are listed by (batch, step, row), across the parts.
    {"empirical_robustness",
     {{Data::kFashion,
       {{"epsilon", 0.1}, {"limit", 200}, {"batch_size", 32}, {"bootstrap_resamples", 200}}}}},
    {"corruption_accuracy",
     {{Data::kFashion, {{"corruption", "gaussian_noise"}, {"severity", 3}, {"limit", 300}}},
      {Data::kFashion,
       {{"corruption", "contrast"}, {"limit", 200}, {"bootstrap_resamples", 200}}}}},
    {"corruption_accuracy_drop",
     {{Data::kFashion,
       {{"corruption", "brightness"}, {"limit", 200}, {"bootstrap_resamples", 200}}}}},
    {"determinism_max_abs_diff",
     {{Data::kFashion, {{"repeats", 2}, {"batch_sizes", {64, 7}}, {"limit", 128}}}}},
    {"ood_auroc", {{Data::kFashion, {{"limit", 300}, {"bootstrap_resamples", 200}}}}},
    {"monotonicity_violation_rate",
     {{Data::kHmda, {{"feature", "pirat"}, {"grid", 6}}},
      {Data::kHmda, {{"feature", "chist"}, {"grid", 6}, {"range", {1, 6}}, {"limit", 0}}}}},
    {"perturbation_flip_rate",
     {{Data::kHmda, {{"draws", 4}, {"noise", 0.2}, {"bootstrap_resamples", 200}}},
      {Data::kHmda,
       {{"draws", 1}, {"noise", 0.2}, {"features", nlohmann::json::array({"pirat", "hirat"})}}}}},
    // Its rows are the invalid-input cases (13).
    {"invalid_input_silent_rate", {{Data::kFashion, {{"samples", 2}, {"timeout_s", 20.0}}, 7}}},
    // Timed runs are not repeatable: the property is that row (query) ranges merge into the
    // statistics of the whole record.
    {"latency_p50_ms", {{Data::kFashion, QuickRun()}}},
    {"latency_p90_ms", {{Data::kFashion, QuickRun()}}},
    {"latency_p95_ms", {{Data::kFashion, QuickRun()}}},
    {"latency_p99_ms", {{Data::kFashion, QuickRun()}}},
    {"latency_p999_ms", {{Data::kFashion, QuickRun()}}},
    {"latency_mean_ms", {{Data::kFashion, QuickRun()}}},
    {"throughput_samples_per_s",
     {{Data::kHmda, QuickRun({{"scenario", "offline"}, {"batch_size", 4}})},
      {Data::kHmda, QuickRun({{"scenario", "offline"},
                              {"sweep", {{"batch_sizes", {1, 8}}, {"threads", {1}}}}})}}},
    {"peak_memory_mb", {{Data::kFashion, QuickRun()}}},
    {"model_parameters", {{Data::kFashion, nlohmann::json::object(), 1}}},
    {"model_size_mb", {{Data::kFashion, nlohmann::json::object(), 1}}},
    {"flops_per_sample", {{Data::kFashion, nlohmann::json::object(), 1}}},
    {"sparsity", {{Data::kFashion, nlohmann::json::object(), 1}}},
    {"nonzero_parameters", {{Data::kHmda, nlohmann::json::object(), 1}}},
    {"parameter_reduction",
     {{Data::kFashion, nlohmann::json::object(), 1}, {Data::kFashion, {{"count", "nonzero"}}, 1}}},
    {"size_reduction", {{Data::kFashion, nlohmann::json::object(), 1}}},
    {"flops_reduction", {{Data::kFashion, nlohmann::json::object(), 1}}},
    // Its rows are the interleaved rounds.
    {"latency_speedup",
     {{Data::kFashion,
       {{"rounds", 8}, {"queries_per_round", 8}, {"statistic", "mean"}, {"warmup_queries", 4}},
       8}}},
    {"throughput_ratio",
     {{Data::kFashion,
       {{"rounds", 8}, {"queries_per_round", 2}, {"batch_size", 8}, {"warmup_queries", 2}},
       8}}},
    {"peak_memory_ratio",
     {{Data::kFashion,
       {{"rounds", 8}, {"queries_per_round", 2}, {"batch_size", 8}, {"warmup_queries", 2}},
       8}}},
    // Its rows are the interleaved rounds, each metered for both models.
    {"energy_saving",
     {{Data::kFashion,
       {{"rounds", 8}, {"queries_per_round", 16}, {"warmup_queries", 4}, {"meter", "estimate"}},
       8}}},
    {"energy_per_inference_mj",
     {{Data::kFashion, QuickEnergy()},
      {Data::kFashion, QuickEnergy({{"idle_baseline_s", 0.05}, {"subtract_idle", true}})}}},
    {"energy_per_1000_inferences_wh", {{Data::kFashion, QuickEnergy()}}},
    {"average_power_w", {{Data::kFashion, QuickEnergy()}}},
    {"inferences_per_joule", {{Data::kFashion, QuickEnergy()}}},
    {"carbon_per_1000_inferences_g",
     {{Data::kFashion, QuickEnergy({{"grid_region", "FR"}, {"pue", 1.2}})}}},
    {"sci_per_inference_g", {{Data::kHmda, QuickEnergy({{"grid_intensity_g_per_kwh", 300.0}})}}},
    // Its rows are the queries of one generation run, measured once: the part holding the first
    // query carries the whole run.
    {"ttft_ms_p50", {{Data::kText, QuickGeneration()}}},
    {"ttft_ms_p90", {{Data::kText, QuickGeneration()}}},
    {"ttft_ms_p99", {{Data::kText, QuickGeneration()}}},
    {"tpot_ms_p50",
     {{Data::kText, QuickGeneration()},
      {Data::kText,
       QuickGeneration({{"decoding", "sampling"}, {"temperature", 0.8}, {"top_k", 5}})}}},
    {"tpot_ms_p90", {{Data::kText, QuickGeneration({{"decode", "recompute"}})}}},
    {"tpot_ms_p99", {{Data::kText, QuickGeneration()}}},
    {"e2e_latency_ms_p50",
     {{Data::kText, QuickGeneration({{"scenario", "offline"}, {"batch_size", 4}})}}},
    {"e2e_latency_ms_p90", {{Data::kText, QuickGeneration()}}},
    {"e2e_latency_ms_p99", {{Data::kText, QuickGeneration()}}},
    {"output_tokens_per_s", {{Data::kText, QuickGeneration()}}},
    {"energy_per_output_token_mj",
     {{Data::kText, QuickGeneration({{"meter", "estimate"}, {"idle_baseline_s", 0.0}})}}},
    {"energy_per_1000_tokens_wh",
     {{Data::kText, QuickGeneration({{"meter", "estimate"}, {"idle_baseline_s", 0.0}})}}},
    {"carbon_per_1000_tokens_g",
     {{Data::kText,
       QuickGeneration({{"meter", "estimate"}, {"idle_baseline_s", 0.0}, {"grid_region", "FR"}})}}},
};

// A loaded model and dataset with their AuditContext, from a shipped criteria file; the Fashion
// audit compares with the int8 twin as its reference model.
struct RealAudit {
  gl::CriteriaFile criteria;
  std::unique_ptr<gl::Model> model;
  std::unique_ptr<gl::Model> reference;
  std::unique_ptr<gl::Dataset> dataset;
  std::unique_ptr<gl::AuditContext> context;

  RealAudit(const std::string& file, int64_t limit, const gl::AuditorRegistry& registry) {
    criteria = gl::LoadCriteria(gl::testing::SourceDir() / "criteria" / file, registry);
    if (limit > 0) criteria.dataset.limit = limit;
    model = gl::LoadTorchScriptModel(*criteria.model);
    dataset = gl::LoadDataset(criteria.dataset);
    context = std::make_unique<gl::AuditContext>(model.get(), *dataset, criteria.seed, nullptr);
    if (criteria.model->input_shape == std::vector<int64_t>{1, 28, 28}) {
      gl::ModelSpec spec = *criteria.model;
      spec.path = gl::testing::ModelsDir() / "fashion_cnn_int8.pt";
      reference = gl::LoadTorchScriptModel(spec);
      context->SetReference(reference.get());
    }
  }
};

// A small causal LM (exported here) on 150 documents of 2 to about 100 bytes, context 16; its
// reference model is another (vocabulary 300, other weights).
struct TextAudit {
  gl::testing::TempDir dir;
  std::unique_ptr<gl::Model> model;
  std::unique_ptr<gl::Model> reference;
  gl::InMemoryDataset dataset;
  std::unique_ptr<gl::AuditContext> context;

  TextAudit() {
    const auto r = gl::testing::RunShell(
        std::string(GREENLIGHT_PYTHON) + " " +
        (gl::testing::SourceDir() / "tests/unit/models/make_tiny_lm.py").string() + " " +
        gl::testing::Quote(dir.path()) + " 300");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    gl::ModelSpec spec;
    spec.format = "causal_lm";
    spec.path = dir / "lm_incremental.pt";
    spec.tokenizer = gl::TokenizerSpec{};
    spec.context_length = 16;
    model = gl::BuiltinModelRegistry().Load(spec);
    spec.path = dir / "lm_vocab_300.pt";
    reference = gl::BuiltinModelRegistry().Load(spec);
    for (int i = 0; i < 150; ++i) {
      std::string text = "d" + std::to_string(i);
      for (int w = 0; w < i % 13; ++w) text += " word" + std::to_string((i * 7 + w) % 11);
      dataset.texts_.push_back(text);
    }
    dataset.info_.rows = 150;
    context = std::make_unique<gl::AuditContext>(model.get(), dataset, 20261130, nullptr);
    context->SetReference(reference.get());
  }
};

// Uneven cut points: part j gets a share proportional to j + 1.
std::vector<gl::RowRange> Split(int64_t n, int k) {
  std::vector<gl::RowRange> parts;
  const int64_t total = static_cast<int64_t>(k) * (k + 1) / 2;
  int64_t begin = 0, acc = 0;
  for (int j = 0; j < k; ++j) {
    acc += j + 1;
    const int64_t end = j == k - 1 ? n : n * acc / total;
    parts.push_back({begin, end});
    begin = end;
  }
  return parts;
}

void CheckClose(const std::optional<double>& a, const std::optional<double>& b,
                const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_REQUIRE(a.has_value() == b.has_value());
    if (a) BOOST_TEST(std::abs(*a - *b) <= 1e-12);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_registered_metric_merges_exactly) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const std::vector<std::string> legacy = gl::LegacyMetrics(registry);
  // Every built-in metric is on the framework, so every one is walked below.
  BOOST_TEST(legacy.empty(), "metrics on the legacy Auditor path: " << legacy.size());

  RealAudit fashion("demo.yaml", 2000, registry);
  RealAudit hmda("hmda-credit-fairness.yaml", 0, registry);
  TextAudit text;
  gl::testing::DetailsSchemas schemas;
  for (const gl::Metric* metric : gl::FrameworkMetrics(registry)) {
    const std::string& name = metric->spec().name;
    BOOST_TEST_CONTEXT("metric " << name) {
      const auto cases = kMergeCases.find(name);
      BOOST_REQUIRE_MESSAGE(cases != kMergeCases.end(), "no merge case for metric " + name);
      for (const MergeCase& c : cases->second) {
        gl::AuditContext& context = c.data == Data::kText      ? *text.context
                                    : c.data == Data::kFashion ? *fashion.context
                                                               : *hmda.context;
        const auto bound = metric->Bind(c.params);
        // A metric that measures around its work (energy) gets its instrument attached.
        const auto instrument = metric->MakeInstrument(*bound);
        std::vector<gl::Instrument*> instruments;
        if (instrument) instruments.push_back(instrument.get());
        const auto record = metric->Needs(*bound)->Run(context, instruments);
        const auto reading = instrument ? instrument->Reading() : nullptr;
        const int64_t n = record->rows();
        BOOST_REQUIRE(n >= c.min_rows);
        gl::FinalizeContext fin;
        fin.seed = 20261128;
        fin.confidence = 0.9;
        const gl::Measurement whole =
            gl::MeasureRows(*metric, *bound, {*record, reading.get(), {0, n}}, fin);
        BOOST_REQUIRE(whole.value.has_value());
        BOOST_TEST_CONTEXT("params " << c.params.dump()) {
          BOOST_REQUIRE_MESSAGE(schemas.Has(name), "no schemas/details/" + name + ".schema.json");
          const std::string errors = schemas.Errors(name, whole.details);
          BOOST_TEST(errors.empty(),
                     errors << "\ndetails: " << whole.details.dump().substr(0, 2000));
        }
        for (int k : {2, 3, 7}) {
          BOOST_TEST_CONTEXT("params " << c.params.dump() << ", " << k << " parts") {
            std::unique_ptr<gl::MetricStats> merged;
            for (const gl::RowRange& part : Split(n, k)) {
              const auto stats = metric->Accumulate(*bound, {*record, reading.get(), part});
              // Through JSON, as a partial audit from another machine arrives.
              auto shipped = metric->StatsFromJson(nlohmann::json::parse(stats->ToJson().dump()));
              if (merged) {
                metric->Merge(*merged, *shipped);
              } else {
                merged = std::move(shipped);
              }
            }
            const gl::Measurement m = metric->Finalize(*bound, *merged, fin);
            CheckClose(m.value, whole.value, "value");
            BOOST_REQUIRE(m.interval.has_value() == whole.interval.has_value());
            if (m.interval) {
              CheckClose(m.interval->low, whole.interval->low, "interval low");
              CheckClose(m.interval->high, whole.interval->high, "interval high");
            }
            BOOST_TEST(m.samples == whole.samples);
            BOOST_TEST(m.details == whole.details);
          }
        }
      }
    }
  }
}

// top_k <= classes is checked once the outputs are known.
BOOST_AUTO_TEST_CASE(top_k_beyond_the_classes_is_an_error) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  RealAudit fashion("demo.yaml", 50, registry);
  const gl::Metric* metric = gl::FindFrameworkMetric(registry, "top_k_accuracy");
  const auto bound = metric->Bind({{"k", 11}});
  const auto record = metric->Needs(*bound)->Run(*fashion.context, {});
  try {
    metric->Accumulate(*bound, {*record, nullptr, {0, record->rows()}});
    BOOST_FAIL("expected an error");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()) == "top_k_accuracy: k = 11 exceeds the model's 10 classes");
  }
}
