// The decode loop and the generation-speed metrics on the example LM (examples/models/tiny_lm.pt,
// with prefill/step): greedy tokens equal a PyTorch greedy loop (generate_reference.py) with the
// cache and by recomputing the prefix; seeded sampling is reproducible, top_k = 1 is greedy and
// draws follow the softmax computed by hand; a run's times satisfy TTFT + Σ steps = e2e and the
// metrics equal their definitions computed by hand on the recorded times; bad settings are
// parameter or input errors naming the setting or the row.
#define BOOST_TEST_MODULE generation
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "auditors/language/generation_metrics.h"
#include "core/stats.h"
#include "datasets/in_memory_dataset.h"
#include "models/model_registry.h"
#include "tests/test_util.h"
#include "tests/tiny_lm_fixtures.h"

namespace gl = greenlight;
namespace h = greenlight::harness;
namespace lang = greenlight::language;
namespace t = greenlight::testing;

namespace {

std::unique_ptr<gl::Model> LoadLm(const std::filesystem::path& path, int64_t context) {
  gl::ModelSpec spec;
  spec.format = "causal_lm";
  spec.path = path;
  spec.tokenizer = gl::TokenizerSpec{};
  spec.context_length = context;
  auto model = gl::BuiltinModelRegistry().Load(spec);
  model->SetThreads(1);
  return model;
}

std::unique_ptr<gl::Model> TinyLm() { return LoadLm(t::ModelsDir() / "tiny_lm.pt", 128); }

// The forward-only twin of tests/unit/models/make_tiny_lm.py (no prefill/step), exported once.
std::filesystem::path PlainLm() { return t::TinyLmFixtures() / "lm_plain.pt"; }

std::vector<int64_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

std::vector<std::string> Texts() {
  return {"The audit reads every criterion and", "Held-out text scores the model on",
          "greenlight writes a signed report of", "Energy per token is measured around"};
}

std::unique_ptr<gl::InMemoryDataset> Documents(const std::vector<std::string>& texts) {
  auto data = std::make_unique<gl::InMemoryDataset>();
  data->texts_ = texts;
  data->info_.rows = static_cast<int64_t>(texts.size());
  data->info_.format = "text";
  return data;
}

// Runs generate_reference.py on `batches` (each a list of equal-length prompts).
nlohmann::json Reference(const std::filesystem::path& model,
                         const std::vector<std::vector<std::vector<int64_t>>>& batches, int64_t n,
                         const std::string& mode) {
  t::TempDir dir;
  t::WriteText(dir / "prompts.json", nlohmann::json(batches).dump());
  const auto r =
      t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                  (t::SourceDir() / "tests/unit/language/generate_reference.py").string() + " " +
                  t::Quote(model) + " " + t::Quote(dir / "prompts.json") + " " + std::to_string(n) +
                  " " + mode + " 1");
  if (r.exit_code != 0) throw std::runtime_error("generate_reference.py failed: " + r.err);
  return nlohmann::json::parse(r.out);
}

// GenerateQuery of `batch` (equal-length prompts), as rows of generated ids.
std::vector<std::vector<int64_t>> Generate(gl::Model& model,
                                           const std::vector<std::vector<int64_t>>& batch,
                                           const h::GenerationSettings& s, bool cache,
                                           h::QueryTrace* trace = nullptr) {
  auto& lm = gl::RequireCapability<gl::CausalLanguageModel>(model);
  std::vector<int64_t> flat, rows;
  for (size_t b = 0; b < batch.size(); ++b) {
    flat.insert(flat.end(), batch[b].begin(), batch[b].end());
    rows.push_back(static_cast<int64_t>(b));
  }
  const auto length = static_cast<int64_t>(batch.front().size());
  const std::vector<int64_t> out =
      h::GenerateQuery(lm, flat, static_cast<int64_t>(batch.size()), length, rows, s, cache, trace);
  std::vector<std::vector<int64_t>> per_row;
  for (size_t b = 0; b < batch.size(); ++b) {
    per_row.emplace_back(out.begin() + static_cast<std::ptrdiff_t>(b * s.max_new_tokens),
                         out.begin() + static_cast<std::ptrdiff_t>((b + 1) * s.max_new_tokens));
  }
  return per_row;
}

h::GenerationSettings ShortRun() {
  h::GenerationSettings s;
  s.prompt_tokens = 12;
  s.max_new_tokens = 6;
  s.warmup_queries = 1;
  s.min_queries = 20;
  s.min_duration_s = 0.0;
  s.repetitions = 5;
  return s;
}

// Records the windows the harness opens and closes, in order.
struct WindowLog final : h::WindowObserver {
  std::vector<std::string> events;
  void Begin(const std::string& w) override { events.push_back("+" + w); }
  void End(const std::string& w) override { events.push_back("-" + w); }
};

gl::Measurement Measure(const gl::Metric& metric, const nlohmann::json& params,
                        const lang::GenerationRecord& record) {
  const auto bound = metric.Bind(params);
  const gl::MetricInput input{record, nullptr, gl::RowRange{0, record.rows()}};
  return gl::MeasureRows(metric, *bound, input, gl::FinalizeContext{1, 0.95, {}});
}

}  // namespace

BOOST_AUTO_TEST_CASE(greedy_tokens_equal_pytorch_with_cache_and_by_recomputing) {
  const auto model = TinyLm();
  BOOST_REQUIRE(gl::RequireCapability<gl::CausalLanguageModel>(*model).incremental());
  h::GenerationSettings s;
  s.max_new_tokens = 16;
  // Batches of one prompt (three lengths) and one batch of two prompts of one length.
  std::vector<std::vector<std::vector<int64_t>>> batches;
  for (const std::string& text : Texts()) batches.push_back({Bytes(text)});
  batches.push_back({Bytes("first prompt, batch"), Bytes("second prompt batch")});
  for (const std::string mode : {"cache", "recompute"}) {
    const nlohmann::json ref = Reference(t::ModelsDir() / "tiny_lm.pt", batches, 16, mode);
    for (size_t i = 0; i < batches.size(); ++i) {
      const auto ours = Generate(*model, batches[i], s, mode == std::string("cache"));
      BOOST_TEST_CONTEXT("mode " << mode << ", batch " << i) {
        BOOST_TEST(ours.size() == ref[i].size());
        for (size_t b = 0; b < ours.size(); ++b) {
          BOOST_TEST(ours[b] == ref[i][b].get<std::vector<int64_t>>(),
                     boost::test_tools::per_element());
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(seeded_sampling_is_reproducible_and_top_k_1_is_greedy) {
  const auto model = TinyLm();
  const std::vector<std::vector<int64_t>> prompt = {Bytes("Sampling draws the next token")};
  h::GenerationSettings s;
  s.max_new_tokens = 24;
  const auto greedy = Generate(*model, prompt, s, true);
  s.decoding.sample = true;
  s.decoding.temperature = 1.5;
  s.decoding.seed = 42;
  const auto a = Generate(*model, prompt, s, true);
  const auto b = Generate(*model, prompt, s, true);
  BOOST_TEST(a == b);
  s.decoding.seed = 43;
  const auto c = Generate(*model, prompt, s, true);
  BOOST_TEST(a != c);  // 24 draws at temperature 1.5: equal only by a vanishing chance.
  BOOST_TEST(a != greedy);
  // top_k = 1 keeps only the largest logit: greedy, with the cache and by recomputing.
  s.decoding.top_k = 1;
  BOOST_TEST(Generate(*model, prompt, s, true) == greedy);
  BOOST_TEST(Generate(*model, prompt, s, false) ==
             Generate(*model, prompt, {.max_new_tokens = 24}, false));
}

// Frequencies of ChooseToken's draws against the probabilities computed by hand: softmax of
// logits / T over the top_k ids (ties kept by the lower id), chi-square at α = 0.001.
BOOST_AUTO_TEST_CASE(sampling_draws_follow_the_softmax_by_hand) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 0.5f, -1.0f, 0.5f};
  h::Decoding d;
  d.sample = true;
  d.temperature = 0.8;
  d.top_k = 4;  // Keeps ids 0, 1, 2, 3 (id 5 ties with 2 and 3 and loses to the lower ids).
  double z = 0.0;
  std::vector<double> p(6, 0.0);
  for (int v : {0, 1, 2, 3}) z += p[v] = std::exp(logits[v] / 0.8);
  for (double& x : p) x /= z;
  gl::random::Rng rng(2026);
  constexpr int kDraws = 40000;
  std::vector<int> counts(6, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<size_t>(h::ChooseToken(logits, d, &rng))];
  BOOST_TEST(counts[4] == 0);
  BOOST_TEST(counts[5] == 0);
  double chi2 = 0.0;
  for (int v : {0, 1, 2, 3}) {
    const double expected = p[v] * kDraws;
    chi2 += (counts[v] - expected) * (counts[v] - expected) / expected;
  }
  BOOST_TEST(chi2 < 16.27);  // χ²(3) at 0.999.
  // Greedy: the first index of the largest logit.
  BOOST_TEST(h::ChooseToken(std::vector<float>{1.0f, 3.0f, 3.0f}, h::Decoding{}, nullptr) == 1);
}

BOOST_AUTO_TEST_CASE(a_run_accounts_for_every_token_and_the_metrics_follow_their_definitions) {
  const auto model = TinyLm();
  const auto data = Documents(Texts());
  const h::GenerationSettings s = ShortRun();
  auto& lm = gl::RequireCapability<gl::CausalLanguageModel>(*model);
  const auto prompts = h::BuildPrompts(lm, data->texts(), s);
  auto log = std::make_shared<WindowLog>();
  const auto result = h::RunGeneration(*model, prompts, s, {log});
  const h::GenerationResult& r = *result;
  const int64_t n = s.max_new_tokens;
  const int64_t q = r.run.queries;
  BOOST_TEST(r.cache);
  BOOST_TEST(q >= 20);
  BOOST_TEST(r.run.valid());
  BOOST_TEST(r.output_tokens() == q * n);
  BOOST_REQUIRE(r.ttft_ns.size() == static_cast<size_t>(q));
  BOOST_REQUIRE(r.step_ns.size() == static_cast<size_t>(q * (n - 1)));
  for (int64_t i = 0; i < q; ++i) {
    const int64_t steps = std::accumulate(r.step_ns.begin() + i * (n - 1),
                                          r.step_ns.begin() + (i + 1) * (n - 1), int64_t{0});
    BOOST_TEST(r.ttft_ns[i] > 0);
    BOOST_TEST(r.ttft_ns[i] <= r.run.latencies_ns[i]);
    BOOST_TEST(r.ttft_ns[i] + steps == r.run.latencies_ns[i]);
    BOOST_TEST(r.prompt_tokens[i] == 12);
  }
  // Repetitions: contiguous, covering every query once, their times summing to the run's.
  BOOST_TEST(r.run.repetitions.size() == 5u);
  int64_t next = 0, timed = 0;
  for (const auto& rep : r.run.repetitions) {
    BOOST_TEST(rep.first_query == next);
    next += rep.queries;
    timed += rep.timed_ns;
  }
  BOOST_TEST(next == q);
  BOOST_TEST(timed == r.run.timed_ns);
  BOOST_TEST(r.run.timed_ns <= r.run.duration_ns);
  // The observer saw the run's window around the five repetitions' windows.
  BOOST_REQUIRE(log->events.size() == 12u);
  BOOST_TEST(log->events.front() == "+" + r.run.key);
  BOOST_TEST(log->events[1] == "+" + h::RepetitionWindow(r.run.key, 1));
  BOOST_TEST(log->events[10] == "-" + h::RepetitionWindow(r.run.key, 5));
  BOOST_TEST(log->events.back() == "-" + r.run.key);

  // The metrics by hand on the recorded times.
  lang::GenerationRecord record;
  record.result = result;
  std::vector<double> ttft, tpot, e2e;
  for (int64_t i = 0; i < q; ++i) {
    ttft.push_back(static_cast<double>(r.ttft_ns[i]) / 1e6);
    e2e.push_back(static_cast<double>(r.run.latencies_ns[i]) / 1e6);
    tpot.push_back((e2e.back() - ttft.back()) / static_cast<double>(n - 1));
  }
  for (auto* v : {&ttft, &tpot, &e2e}) std::sort(v->begin(), v->end());
  const nlohmann::json params = {{"prompt_tokens", 12}, {"max_new_tokens", 6}};
  const struct {
    std::unique_ptr<gl::Metric> metric;
    double expected;
  } cases[] = {
      {lang::MakeTtftPercentile(0.5), gl::stats::QuantileSorted(ttft, 0.5)},
      {lang::MakeTtftPercentile(0.9), gl::stats::QuantileSorted(ttft, 0.9)},
      {lang::MakeTpotPercentile(0.5), gl::stats::QuantileSorted(tpot, 0.5)},
      {lang::MakeE2eLatencyPercentile(0.99), gl::stats::QuantileSorted(e2e, 0.99)},
      {lang::MakeOutputTokensPerSecond(),
       static_cast<double>(q * n) / (static_cast<double>(r.run.timed_ns) / 1e9)},
  };
  for (const auto& c : cases) {
    const gl::Measurement m = Measure(*c.metric, params, record);
    BOOST_TEST_CONTEXT(c.metric->spec().name) {
      BOOST_REQUIRE(m.value.has_value());
      BOOST_TEST(*m.value == c.expected, boost::test_tools::tolerance(1e-12));
      BOOST_REQUIRE(m.interval.has_value());
      BOOST_TEST(m.interval->low <= *m.value);
      BOOST_TEST(*m.value <= m.interval->high);
      BOOST_TEST(m.method.find("decoded with the model's cache") != std::string::npos);
      BOOST_TEST(m.details["run"]["decode"]["used"] == "cache");
      BOOST_TEST(m.details["run"]["output_tokens"] == q * n);
    }
  }
  // p99 needs 100 queries per repetition: 20 queries in 5 repetitions cannot place it.
  const gl::Measurement p99 = Measure(*lang::MakeTtftPercentile(0.99), params, record);
  BOOST_REQUIRE(p99.undecidable.has_value());
  BOOST_TEST(p99.undecidable->find("too few queries per repetition") != std::string::npos);
  // The statistics travel through JSON unchanged.
  const auto metric = lang::MakeTpotPercentile(0.5);
  const auto bound = metric->Bind(params);
  const auto stats = metric->Accumulate(*bound, {record, nullptr, {0, q}});
  const auto again = metric->StatsFromJson(nlohmann::json::parse(stats->ToJson().dump()));
  const gl::FinalizeContext ctx{1, 0.95, {}};
  BOOST_TEST(*metric->Finalize(*bound, *again, ctx).value ==
             *metric->Finalize(*bound, *stats, ctx).value);
}

BOOST_AUTO_TEST_CASE(the_report_says_which_decode_mode_ran) {
  const auto data = Documents(Texts());
  h::GenerationSettings s = ShortRun();
  s.decode = h::DecodeMode::kRecompute;
  const auto model = TinyLm();
  auto& lm = gl::RequireCapability<gl::CausalLanguageModel>(*model);
  const auto forced = h::RunGeneration(*model, h::BuildPrompts(lm, data->texts(), s), s, {});
  BOOST_TEST(!forced->cache);
  BOOST_TEST(forced->mode_reason.find("recompute was asked for") != std::string::npos);

  s.decode = h::DecodeMode::kAuto;
  const auto plain = LoadLm(PlainLm(), 32);
  auto& plain_lm = gl::RequireCapability<gl::CausalLanguageModel>(*plain);
  BOOST_REQUIRE(!plain_lm.incremental());
  const auto result = h::RunGeneration(*plain, h::BuildPrompts(plain_lm, data->texts(), s), s, {});
  BOOST_TEST(!result->cache);
  BOOST_TEST(result->mode_reason.find("exports no prefill/step") != std::string::npos);
  lang::GenerationRecord record;
  record.result = result;
  const gl::Measurement m = Measure(*lang::MakeTtftPercentile(0.5),
                                    {{"prompt_tokens", 12}, {"max_new_tokens", 6}}, record);
  BOOST_TEST(m.method.find("recomputing the whole prefix") != std::string::npos);
  BOOST_TEST(m.details["run"]["decode"]["used"] == "recompute");
}

BOOST_AUTO_TEST_CASE(bad_settings_name_the_setting_or_the_row) {
  auto field_of = [](const gl::Metric& metric, const nlohmann::json& params) {
    try {
      metric.Bind(params);
    } catch (const gl::ParamError& e) {
      return e.field();
    }
    return std::string("(bound)");
  };
  const auto ttft = lang::MakeTtftPercentile(0.5);
  BOOST_TEST(field_of(*ttft, {{"batch_size", 4}}) == "batch_size");
  BOOST_TEST(field_of(*ttft, {{"scenario", "offline"}}) == "prompt_tokens");
  BOOST_TEST(field_of(*ttft, {{"temperature", 0.7}}) == "temperature");
  BOOST_TEST(field_of(*ttft, {{"decoding", "sampling"}, {"temperature", 0.0}}) == "temperature");
  BOOST_TEST(field_of(*ttft, {{"decode", "cached"}}) == "decode");
  BOOST_TEST(field_of(*lang::MakeTpotPercentile(0.5), {{"max_new_tokens", 1}}) == "max_new_tokens");
  BOOST_TEST(field_of(*ttft, {{"scenario", "offline"}, {"prompt_tokens", 8}}) == "(bound)");

  const auto model = TinyLm();
  auto& lm = gl::RequireCapability<gl::CausalLanguageModel>(*model);
  auto message = [&](const std::vector<std::string>& texts, const h::GenerationSettings& s) {
    try {
      h::BuildPrompts(lm, texts, s);
    } catch (const gl::InputError& e) {
      return std::string(e.what());
    }
    return std::string("(built)");
  };
  h::GenerationSettings s;
  s.prompt_tokens = 100;
  s.max_new_tokens = 29;
  BOOST_TEST(message(Texts(), s) ==
             "prompt_tokens 100 + max_new_tokens 29 exceed the model's context_length 128");
  s.prompt_tokens = 20;
  s.max_new_tokens = 8;
  BOOST_TEST(message({std::string(40, 'a'), "short"}, s) ==
             "dataset row 1 has 5 tokens, fewer than prompt_tokens 20 (shorten prompt_tokens or "
             "select longer documents)");
  s.prompt_tokens.reset();
  s.max_new_tokens = 100;
  BOOST_TEST(message({std::string(40, 'a')}, s).find("dataset row 0 has 40 tokens") == 0u);
}

// Edges: one new token (TTFT = e2e, no TPOT), and a run cut short by max_duration_s, whose
// figures are INCONCLUSIVE with the rules it missed.
BOOST_AUTO_TEST_CASE(one_token_and_a_run_cut_short) {
  const auto model = TinyLm();
  auto& lm = gl::RequireCapability<gl::CausalLanguageModel>(*model);
  const auto data = Documents(Texts());
  h::GenerationSettings s = ShortRun();
  s.max_new_tokens = 1;
  const auto one = h::RunGeneration(*model, h::BuildPrompts(lm, data->texts(), s), s, {});
  BOOST_TEST(one->step_ns.empty());
  BOOST_TEST(one->ttft_ns == one->run.latencies_ns, boost::test_tools::per_element());
  BOOST_TEST(lang::FiguresOf(*one).tpot_ms.empty());
  lang::GenerationRecord record;
  record.result = one;
  const gl::Measurement ttft = Measure(*lang::MakeTtftPercentile(0.5),
                                       {{"prompt_tokens", 12}, {"max_new_tokens", 1}}, record);
  BOOST_TEST(ttft.value.has_value());
  BOOST_TEST(!ttft.undecidable.has_value());

  s = ShortRun();
  s.min_queries = 100000;
  s.max_duration_s = 0.05;
  const auto cut = h::RunGeneration(*model, h::BuildPrompts(lm, data->texts(), s), s, {});
  BOOST_TEST(cut->run.stopped_at_max_duration);
  BOOST_TEST(!cut->run.valid());
  record.result = cut;
  const gl::Measurement rate = Measure(*lang::MakeOutputTokensPerSecond(),
                                       {{"prompt_tokens", 12}, {"max_new_tokens", 6}}, record);
  BOOST_REQUIRE(rate.undecidable.has_value());
  BOOST_TEST(rate.undecidable->find("run-length rules not met") != std::string::npos);
  BOOST_TEST(rate.undecidable->find("stopped at max_duration_s") != std::string::npos);
}
