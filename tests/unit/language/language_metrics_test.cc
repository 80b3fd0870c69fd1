// The language-model quality metrics: the scoring windows by hand, perplexity, bits per byte and
// next-token accuracy against a PyTorch computation by the definition (tests/unit/language/
// lm_reference.py), exact merging of per-document statistics, and the coverage of the bootstrap
// interval over documents by simulation. The coverage table in docs/language-models.md is this
// test's output:
//   build/tests/unit/language/language_metrics_test --log_level=message | grep '^|'
#define BOOST_TEST_MODULE language_metrics
#include "auditors/language/language_metrics.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "auditors/auditor.h"
#include "auditors/metric.h"
#include "core/random.h"
#include "datasets/in_memory_dataset.h"
#include "models/model_registry.h"
#include "tests/test_util.h"
#include "tests/tiny_lm_fixtures.h"

namespace gl = greenlight;
namespace lang = greenlight::language;
namespace t = greenlight::testing;

namespace {

std::unique_ptr<gl::Model> TinyLm(int64_t context) {
  gl::ModelSpec spec;
  spec.format = "causal_lm";
  spec.path = t::TinyLmFixtures() / "lm_incremental.pt";
  spec.tokenizer = gl::TokenizerSpec{};
  spec.context_length = context;
  auto model = gl::BuiltinModelRegistry().Load(spec);
  model->SetThreads(1);
  return model;
}

std::unique_ptr<gl::InMemoryDataset> Documents(const std::vector<std::string>& texts) {
  auto data = std::make_unique<gl::InMemoryDataset>();
  data->texts_ = texts;
  data->info_.rows = static_cast<int64_t>(texts.size());
  data->info_.format = "text";
  return data;
}

// Documents of several lengths: shorter than the context, one token, several windows, UTF-8.
std::vector<std::string> HeldOut() {
  std::vector<std::string> docs = {
      "A",
      "short line",
      "Greenlight audits models against criteria and writes signed reports.",
      "naïve café — 日本語 text with multi-byte characters, long enough for two windows here.",
  };
  std::string longer;
  for (int i = 0; i < 12; ++i) longer += "sentence " + std::to_string(i) + " of a longer text. ";
  docs.push_back(longer);
  return docs;
}

struct Measured {
  gl::Measurement perplexity, bits_per_byte, next_token_accuracy;
};

Measured Measure(gl::Model& model, const gl::Dataset& data, int64_t begin, int64_t end,
                 uint64_t seed = 7) {
  gl::AuditContext context(&model, data, seed, nullptr);
  const auto record = lang::LmScoresWork().Run(context, {});
  auto measure = [&](const gl::Metric& metric) {
    const auto bound = metric.Bind(nlohmann::json::object());
    const gl::MetricInput input{*record, nullptr, gl::RowRange{begin, end}};
    return gl::MeasureRows(metric, *bound, input, gl::FinalizeContext{seed, 0.95, {}});
  };
  return {measure(*lang::MakePerplexity()), measure(*lang::MakeBitsPerByte()),
          measure(*lang::MakeNextTokenAccuracy())};
}

}  // namespace

BOOST_AUTO_TEST_CASE(windows_by_hand) {
  using W = std::vector<std::tuple<int64_t, int64_t, int64_t>>;
  auto windows = [](int64_t n, int64_t context) {
    W out;
    for (const auto& w : lang::ScoringWindows(n, context)) {
      out.emplace_back(w.begin, w.end, w.first_scored);
    }
    return out;
  };
  // 10 tokens, context 4, stride 2: positions 1-3, then 4-5, 6-7, 8-9.
  BOOST_TEST((windows(10, 4) == W{{0, 4, 1}, {2, 6, 4}, {4, 8, 6}, {6, 10, 8}}));
  // The last window is cut at the end: 7 tokens, context 4.
  BOOST_TEST((windows(7, 4) == W{{0, 4, 1}, {2, 6, 4}, {4, 7, 6}}));
  // Context 5, stride 2.
  BOOST_TEST((windows(8, 5) == W{{0, 5, 1}, {2, 7, 5}, {4, 8, 7}}));
  BOOST_TEST((windows(5, 16) == W{{0, 5, 1}}));
  BOOST_TEST(windows(1, 16).empty());
  BOOST_TEST(windows(0, 16).empty());
  BOOST_TEST((windows(3, 2) == W{{0, 2, 1}, {1, 3, 2}}));
}

BOOST_AUTO_TEST_CASE(quality_equals_pytorch_by_the_definition) {
  constexpr int64_t kContext = 16;
  const auto model = TinyLm(kContext);
  const std::vector<std::string> docs = HeldOut();
  const auto data = Documents(docs);
  t::TempDir dir;
  t::WriteText(dir / "docs.json", nlohmann::json(docs).dump());
  const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                             (t::SourceDir() / "tests/unit/language/lm_reference.py").string() +
                             " " + t::Quote(t::TinyLmFixtures() / "lm_incremental.pt") + " " +
                             t::Quote(dir / "docs.json") + " " + std::to_string(kContext) + " 1");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto ref = nlohmann::json::parse(r.out);

  const Measured m = Measure(*model, *data, 0, data->rows());
  const auto& d = m.perplexity.details;
  BOOST_TEST(d["scored_tokens"].get<int64_t>() == ref["tokens_sum"].get<int64_t>());
  BOOST_TEST(d["scored_bytes"].get<int64_t>() == ref["bytes_sum"].get<int64_t>());
  BOOST_TEST(d["correct"].get<int64_t>() == ref["correct_sum"].get<int64_t>());
  const double nll = ref["nll_sum"].get<double>();
  const double tokens = ref["tokens_sum"].get<double>();
  BOOST_TEST(d["nll_sum_nats"].get<double>() == nll, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(*m.perplexity.value == std::exp(nll / tokens), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(*m.bits_per_byte.value == nll / (std::log(2.0) * ref["bytes_sum"].get<double>()),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(*m.next_token_accuracy.value == ref["correct_sum"].get<double>() / tokens,
             boost::test_tools::tolerance(1e-12));
  // The one-token document is scored nothing; the others all of tokens 2..n.
  int64_t expected_tokens = 0;
  for (const auto& doc : docs) expected_tokens += static_cast<int64_t>(doc.size()) - 1;
  BOOST_TEST(d["scored_tokens"].get<int64_t>() == expected_tokens);
  BOOST_TEST(m.perplexity.samples == static_cast<int64_t>(docs.size()));
  // Every interval contains its estimate.
  for (const gl::Measurement* x : {&m.perplexity, &m.bits_per_byte, &m.next_token_accuracy}) {
    BOOST_REQUIRE(x->interval.has_value());
    BOOST_TEST(x->interval->low <= *x->value);
    BOOST_TEST(*x->value <= x->interval->high);
  }
}

BOOST_AUTO_TEST_CASE(statistics_merge_exactly) {
  const auto model = TinyLm(16);
  const auto data = Documents(HeldOut());
  gl::AuditContext context(model.get(), *data, 3, nullptr);
  const auto record = lang::LmScoresWork().Run(context, {});
  const auto metric = lang::MakePerplexity();
  const auto bound = metric->Bind(nlohmann::json::object());
  const int64_t n = data->rows();
  auto whole = metric->Accumulate(*bound, {*record, nullptr, {0, n}});
  auto first = metric->Accumulate(*bound, {*record, nullptr, {0, 2}});
  const auto second = metric->Accumulate(*bound, {*record, nullptr, {2, n}});
  metric->Merge(*first, *second);
  BOOST_TEST(first->ToJson() == whole->ToJson());
  // Through JSON (a partial on another machine): the same measurement, interval included.
  const auto again = metric->StatsFromJson(nlohmann::json::parse(first->ToJson().dump()));
  const gl::FinalizeContext ctx{11, 0.95, {}};
  const auto a = metric->Finalize(*bound, *whole, ctx);
  const auto b = metric->Finalize(*bound, *again, ctx);
  BOOST_TEST(*a.value == *b.value);
  BOOST_TEST(a.interval->low == b.interval->low);
  BOOST_TEST(a.interval->high == b.interval->high);
}

BOOST_AUTO_TEST_CASE(no_scorable_document_is_undefined_not_a_number) {
  const auto model = TinyLm(16);
  const auto data = Documents({"a", "b"});
  const Measured m = Measure(*model, *data, 0, 2);
  BOOST_TEST(!m.perplexity.value.has_value());
  BOOST_TEST(m.perplexity.message.find("no document has two or more tokens") != std::string::npos);
}

// Coverage of the percentile bootstrap over documents, from populations whose ratio of sums is
// known: a document has t tokens (uniform on 5..64), a per-token NLL mean mu (uniform on
// [1.5, 3.5], so the population ratio is E[t mu] / E[t] = 2.5 as t and mu are independent), NLL
// sum t mu + noise, bytes 1.3 t rounded, and correct ~ Binomial(t, p) with p uniform on
// [0.2, 0.6] (population accuracy 0.4).
BOOST_AUTO_TEST_CASE(bootstrap_over_documents_covers) {
  constexpr double kLevel = 0.95;
  constexpr int kReps = 400;
  const auto perplexity = lang::MakePerplexity();
  const auto bpb = lang::MakeBitsPerByte();
  const auto accuracy = lang::MakeNextTokenAccuracy();
  const auto bound = perplexity->Bind(nlohmann::json{{"bootstrap_resamples", 500}});
  const double true_ratio = 2.5;
  // bytes = round(1.3 t): E[t mu] / E[bytes] over t uniform on 5..64.
  double sum_t = 0, sum_bytes = 0;
  for (int64_t t = 5; t <= 64; ++t) {
    sum_t += static_cast<double>(t);
    sum_bytes += std::round(1.3 * static_cast<double>(t));
  }
  const double true_bpb = true_ratio * sum_t / sum_bytes / std::log(2.0);
  for (int64_t n : {30, 100, 300}) {
    int covered_ppl = 0, covered_bpb = 0, covered_acc = 0;
    gl::random::Rng rng(20261130 + static_cast<uint64_t>(n));
    for (int rep = 0; rep < kReps; ++rep) {
      nlohmann::json stats = {{"context_length", 16},
                              {"nll", nlohmann::json::array()},
                              {"tokens", nlohmann::json::array()},
                              {"bytes", nlohmann::json::array()},
                              {"correct", nlohmann::json::array()}};
      for (int64_t i = 0; i < n; ++i) {
        const auto tokens = static_cast<int64_t>(5 + gl::random::UniformBelow(rng, 60));
        const double mu = gl::random::UniformReal(rng, 1.5, 3.5);
        const double noise =
            0.5 * std::sqrt(static_cast<double>(tokens)) * gl::random::StandardNormal(rng);
        const double p = gl::random::UniformReal(rng, 0.2, 0.6);
        stats["nll"].push_back(std::max(0.0, static_cast<double>(tokens) * mu + noise));
        stats["tokens"].push_back(tokens);
        stats["bytes"].push_back(
            static_cast<int64_t>(std::round(1.3 * static_cast<double>(tokens))));
        stats["correct"].push_back(gl::random::Binomial(rng, tokens, p));
      }
      const gl::FinalizeContext ctx{static_cast<uint64_t>(rep), kLevel, {}};
      const auto covers = [&](const gl::Metric& metric, double truth) {
        const auto m = metric.Finalize(*bound, *metric.StatsFromJson(stats), ctx);
        BOOST_REQUIRE(m.interval.has_value());
        BOOST_REQUIRE(m.interval->low <= *m.value);
        BOOST_REQUIRE(*m.value <= m.interval->high);
        return m.interval->low <= truth && truth <= m.interval->high;
      };
      covered_ppl += covers(*perplexity, std::exp(true_ratio)) ? 1 : 0;
      covered_bpb += covers(*bpb, true_bpb) ? 1 : 0;
      covered_acc += covers(*accuracy, 0.4) ? 1 : 0;
    }
    for (const auto& [name, covered] :
         {std::pair{"perplexity", covered_ppl}, std::pair{"bits_per_byte", covered_bpb},
          std::pair{"next_token_accuracy", covered_acc}}) {
      const double coverage = static_cast<double>(covered) / kReps;
      char line[160];
      std::snprintf(line, sizeof line, "| %s | %lld documents | %d | %.1f %% |", name,
                    static_cast<long long>(n), kReps, 100.0 * coverage);
      BOOST_TEST_MESSAGE(line);
      BOOST_TEST(coverage >= kLevel - 0.025);
    }
  }
}
