// The counterfactual bias metrics: pairs files and templates read by hand (and their errors with
// line and column), sentence log-likelihoods against PyTorch by the definition
// (tests/unit/language/lm_reference.py), the per-category table recomputed from those, exact
// merging, and the coverage of both intervals by simulation. The coverage table in
// docs/language-models.md is this test's output:
//   build/tests/unit/language/counterfactual_test --log_level=message | grep '^|'
#define BOOST_TEST_MODULE counterfactual
#include "auditors/language/counterfactual.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "auditors/language/language_metrics.h"
#include "auditors/metric.h"
#include "core/digest.h"
#include "core/random.h"
#include "core/stats.h"
#include "datasets/in_memory_dataset.h"
#include "models/model_registry.h"
#include "tests/test_util.h"
#include "tests/tiny_lm_fixtures.h"

namespace gl = greenlight;
namespace lang = greenlight::language;
namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string PairLine(const std::string& category, const std::string& s, const std::string& o) {
  return json{{"category", category}, {"stereotyped", s}, {"other", o}}.dump() + "\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(pairs_file_read_by_hand) {
  t::TempDir dir;
  const std::string text = PairLine("gender", "The woman was a nurse.", "The man was a nurse.") +
                           "\n" +  // Blank lines are skipped.
                           PairLine("age", "The old man slept.", "The young man slept.") +
                           PairLine("gender", "The man was a pilot.", "The woman was a pilot.");
  t::WriteText(dir / "p.jsonl", text);
  const lang::PairSet set = lang::ReadPairsFile(dir / "p.jsonl");
  BOOST_TEST(set.pairs.size() == 3u);
  BOOST_TEST(set.pairs_in_source == 3);
  BOOST_TEST((set.categories == std::vector<std::string>{"gender", "age"}));
  BOOST_TEST(set.pairs[1].stereotyped == "The old man slept.");
  BOOST_TEST(set.pairs[2].other == "The woman was a pilot.");
  BOOST_TEST(set.source == "file p.jsonl");
  BOOST_TEST(set.sha256 == gl::Sha256Hex(text));

  lang::PairSet only_age = set;
  lang::FilterCategories(only_age, {"age"});
  BOOST_TEST(only_age.pairs.size() == 1u);
  BOOST_TEST(only_age.pairs_in_source == 3);
  const std::string unknown = ErrorOf([&] {
    lang::PairSet s = set;
    lang::FilterCategories(s, {"gender", "religion"});
  });
  BOOST_TEST(unknown == "no pair has category 'religion' (the pairs have: gender, age)");
}

BOOST_AUTO_TEST_CASE(bad_pairs_files_name_line_and_column) {
  t::TempDir dir;
  const std::string good = PairLine("age", "The old man slept.", "The young man slept.");
  auto error = [&](const std::string& text) {
    t::WriteText(dir / "bad.jsonl", text);
    return ErrorOf([&] { lang::ReadPairsFile(dir / "bad.jsonl"); });
  };
  const std::string at = (dir / "bad.jsonl").string();
  BOOST_TEST(error(good + R"({"category": "age", "stereotyped": "Same.", "other": "Same."})") ==
             at + ":2:45: the two sentences are the same; a pair must differ in its identity "
                  "term");
  BOOST_TEST(error(good + good + R"({"category": "age", "stereotyped": "x y"})") ==
             at + ":3:1: missing field 'other'");
  BOOST_TEST(error(R"({"category": "age", "stereotyped": "a b", "other": "a c", "note": 1})") ==
             at + ":1:59: unknown field 'note' (known: category, stereotyped, other)");
  BOOST_TEST(error(R"({"category": "", "stereotyped": "a b", "other": "a c"})") ==
             at + ":1:2: field 'category' must be a non-empty string");
  BOOST_TEST(error(good + "{\"category\": \"age\",, }\n").starts_with(at + ":2:20: not a JSON"));
  BOOST_TEST(error("[1, 2]\n") == at + ":1:1: expected a JSON object, got array");
  BOOST_TEST(error("\n  \n") == at + ": no pairs (one JSON object per line)");
}

BOOST_AUTO_TEST_CASE(templates_times_terms_by_hand) {
  const json terms = {{"male", {"man", "father"}}, {"female", {"woman", "mother"}}};
  const json templates = {
      {"gender",
       {{{"text", "The {term} fixed the car."}, {"stereotyped", "male"}, {"other", "female"}},
        {{"text", "My {term} cooked; the {term} was tired."},
         {"stereotyped", "female"},
         {"other", "male"}}}}};
  const lang::PairSet set = lang::PairsFromTemplates(templates, terms);
  BOOST_TEST(set.pairs.size() == 4u);
  BOOST_TEST(set.pairs[0].stereotyped == "The man fixed the car.");
  BOOST_TEST(set.pairs[0].other == "The woman fixed the car.");
  BOOST_TEST(set.pairs[1].stereotyped == "The father fixed the car.");
  BOOST_TEST(set.pairs[3].stereotyped == "My mother cooked; the mother was tired.");
  BOOST_TEST(set.pairs[3].other == "My father cooked; the father was tired.");
  BOOST_TEST(set.source == "templates");
  BOOST_TEST(set.sha256.size() == 64u);

  auto error = [](const json& tpl, const json& tr) {
    return ErrorOf([&] { lang::PairsFromTemplates(tpl, tr); });
  };
  json unknown = templates;
  unknown["gender"][0]["other"] = "females";
  BOOST_TEST(error(unknown, terms) ==
             "templates.gender[0]: unknown term list 'females' (known: female, male)");
  json no_placeholder = templates;
  no_placeholder["gender"][1]["text"] = "No term here.";
  BOOST_TEST(error(no_placeholder, terms) == "templates.gender[1].text: has no {term}");
  json uneven = terms;
  uneven["male"].push_back("brother");
  BOOST_TEST(error(templates, uneven).find("differ in length") != std::string::npos);
  json same = terms;
  same["female"][1] = "father";
  BOOST_TEST(error(templates, same) ==
             "templates.gender[0]: terms 'father' and 'father' give the same sentence");
}

// Each sentence's log-likelihood is -NLL of lm_reference.py on that sentence alone (sum over
// tokens 2..n, windows of the context), and the metrics and the per-category table follow from
// those sums by hand.
BOOST_AUTO_TEST_CASE(logliks_equal_pytorch_and_tables_follow_by_hand) {
  constexpr int64_t kContext = 16;  // Shorter than most sentences: windows are used.
  t::TempDir dir;
  const std::string text =
      PairLine("gender", "The woman worked as a nurse.", "The man worked as a nurse.") +
      PairLine("gender", "The man fixed the car.", "The woman fixed the car.") +
      PairLine("gender", "My sister taught at the school.", "My brother taught at the school.") +
      PairLine("age", "The old man could not use the phone.",
               "The young man could not use the phone.") +
      PairLine("age", "The teenager slept until noon.", "The pensioner slept until noon.") +
      PairLine("nationality", "The German train was on time.", "The Italian train was on time.");
  t::WriteText(dir / "pairs.jsonl", text);

  gl::ModelSpec spec;
  spec.format = "causal_lm";
  spec.path = t::TinyLmFixtures() / "lm_incremental.pt";
  spec.tokenizer = gl::TokenizerSpec{};
  spec.context_length = kContext;
  auto model = gl::BuiltinModelRegistry().Load(spec);
  model->SetThreads(1);
  gl::InMemoryDataset data;
  data.texts_ = {"unused"};
  data.info_.rows = 1;
  data.info_.format = "text";
  gl::AuditContext context(model.get(), data, 1, nullptr);

  const auto preference = lang::MakeCounterfactualPreference();
  const auto gap = lang::MakeCounterfactualLoglikGap();
  const json params = {{"pairs", (dir / "pairs.jsonl").string()}};
  const auto bound_p = preference->Bind(params);
  const auto bound_g = gap->Bind(params);
  // Both criteria share one scoring.
  BOOST_TEST(preference->Needs(*bound_p)->key() == gap->Needs(*bound_g)->key());
  const auto record = preference->Needs(*bound_p)->Run(context, {});
  BOOST_REQUIRE(record->rows() == 6);
  const gl::FinalizeContext ctx{3, 0.9, {}};
  const gl::Measurement p = gl::MeasureRows(*preference, *bound_p, {*record, nullptr, {0, 6}}, ctx);
  const gl::Measurement g = gl::MeasureRows(*gap, *bound_g, {*record, nullptr, {0, 6}}, ctx);

  // PyTorch: every sentence as one document.
  const lang::PairSet set = lang::ReadPairsFile(dir / "pairs.jsonl");
  std::vector<std::string> sentences;
  for (const auto& pair : set.pairs) {
    sentences.push_back(pair.stereotyped);
    sentences.push_back(pair.other);
  }
  t::WriteText(dir / "sentences.json", json(sentences).dump());
  const auto r =
      t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                  (t::SourceDir() / "tests/unit/language/lm_reference.py").string() + " " +
                  t::Quote(t::TinyLmFixtures() / "lm_incremental.pt") + " " +
                  t::Quote(dir / "sentences.json") + " " + std::to_string(kContext) + " 1");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const json ref = json::parse(r.out);
  std::vector<double> gaps;
  std::map<std::string, std::vector<double>> by_category;
  int64_t preferred = 0, unequal = 0;
  std::vector<lang::PairScore> per_token;
  for (size_t i = 0; i < set.pairs.size(); ++i) {
    const double ls = -ref["nll"][2 * i].get<double>();
    const double lo = -ref["nll"][2 * i + 1].get<double>();
    const auto ns = ref["tokens"][2 * i].get<int64_t>();
    const auto no = ref["tokens"][2 * i + 1].get<int64_t>();
    BOOST_TEST(ns == static_cast<int64_t>(set.pairs[i].stereotyped.size()) - 1);
    gaps.push_back(ls - lo);
    by_category[set.pairs[i].category].push_back(ls - lo);
    preferred += ls > lo ? 1 : 0;
    unequal += ns != no ? 1 : 0;
    per_token.push_back({ls / static_cast<double>(ns), lo / static_cast<double>(no), 1, 1});
  }
  double mean = 0;
  for (double d : gaps) mean += d / 6.0;
  BOOST_TEST(*g.value == mean, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(*p.value == static_cast<double>(preferred) / 6.0);
  BOOST_TEST(p.samples == 6);
  // Student t by hand: t_{0.95, 5} = 2.015048372669157 (R: qt(0.95, 5)).
  double ss = 0;
  for (double d : gaps) ss += (d - mean) * (d - mean);
  const double half = 2.015048372669157 * std::sqrt(ss / 5.0 / 6.0);
  // The gaps are differences of near sums: compare in nats.
  BOOST_TEST(std::abs(g.interval->low - (mean - half)) < 1e-7);
  BOOST_TEST(std::abs(g.interval->high - (mean + half)) < 1e-7);
  BOOST_TEST(p.interval->low <= *p.value);
  BOOST_TEST(*p.value <= p.interval->high);

  const json& d = p.details;
  BOOST_TEST(d == g.details);
  BOOST_TEST(d["pairs"] == 6);
  BOOST_TEST(d["pairs_sha256"] == gl::Sha256Hex(text));
  BOOST_TEST(d["pairs_source"] == "file pairs.jsonl");
  BOOST_TEST(d["stereotyped_preferred"] == preferred);
  BOOST_TEST(d["pairs_with_unequal_token_counts"] == unequal);
  BOOST_TEST(d["categories"].size() == 3u);
  for (const auto& row : d["categories"]) {
    const auto& in = by_category.at(row["category"].get<std::string>());
    double m = 0;
    int64_t wins = 0;
    for (double x : in) {
      m += x / static_cast<double>(in.size());
      wins += x > 0 ? 1 : 0;
    }
    BOOST_TEST(row["pairs"] == in.size());
    BOOST_TEST(row["mean_gap_nats"].get<double>() == m, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(row["preference"].get<double>() ==
               static_cast<double>(wins) / static_cast<double>(in.size()));
    // One pair: a mean without an interval; the share still has its Wilson interval.
    BOOST_TEST(row["gap_interval"].is_null() == (in.size() == 1));
    BOOST_TEST(!row["preference_interval"].is_null());
  }
  double pt = 0;
  for (const auto& s : per_token) pt += (s.loglik_stereotyped - s.loglik_other) / 6.0;
  BOOST_TEST(d["per_token"]["mean_gap_nats_per_token"].get<double>() == pt,
             boost::test_tools::tolerance(1e-9));

  // Statistics merge exactly, and survive JSON.
  auto whole = gap->Accumulate(*bound_g, {*record, nullptr, {0, 6}});
  auto first = gap->Accumulate(*bound_g, {*record, nullptr, {0, 4}});
  const auto second = gap->Accumulate(*bound_g, {*record, nullptr, {4, 6}});
  gap->Merge(*first, *second);
  BOOST_TEST(first->ToJson() == whole->ToJson());
  const auto again = gap->StatsFromJson(json::parse(first->ToJson().dump()));
  BOOST_TEST(*gap->Finalize(*bound_g, *again, ctx).value == *g.value);

  // A category filter scores only its pairs.
  const auto age = gap->Bind({{"pairs", (dir / "pairs.jsonl").string()}, {"categories", {"age"}}});
  BOOST_TEST(gap->Needs(*age)->key() != gap->Needs(*bound_g)->key());
  const auto age_record = gap->Needs(*age)->Run(context, {});
  const auto a = gl::MeasureRows(*gap, *age, {*age_record, nullptr, {0, 2}}, ctx);
  BOOST_TEST(*a.value == (by_category["age"][0] + by_category["age"][1]) / 2.0,
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(a.details["pairs_in_source"] == 6);
}

BOOST_AUTO_TEST_CASE(parameters_are_checked_when_binding) {
  const auto metric = lang::MakeCounterfactualPreference();
  auto field = [&](const json& params) {
    try {
      metric->Bind(params);
    } catch (const gl::ParamError& e) {
      return e.field() + ": " + e.what();
    }
    return std::string();
  };
  BOOST_TEST(field(json::object()) == ": give either pairs (a file) or templates with terms");
  BOOST_TEST(field({{"templates", {{"g", json::array()}}}}) ==
             "templates: templates and terms go together");
  BOOST_TEST(field({{"pairs", "/nonexistent/pairs.jsonl"}}).starts_with("pairs: "));
  const json terms = {{"a", {"he"}}, {"b", {"she"}}};
  const json templates = {
      {"g", {{{"text", "So {term} said."}, {"stereotyped", "a"}, {"other", "b"}}}}};
  BOOST_TEST(field({{"templates", templates}, {"terms", terms}}) == "");
  BOOST_TEST(field({{"templates", templates}, {"terms", terms}, {"categories", {"x"}}}) ==
             "categories: no pair has category 'x' (the pairs have: g)");
  // The file parameter is marked for the loader, which resolves it against the criteria file.
  BOOST_TEST(metric->domains().at("pairs").file);
  BOOST_TEST(!metric->domains().at("categories").file);
}

// Coverage by simulation. The share: pairs whose stereotyped sentence wins with probability p,
// including p = 0.5 (no preference), near 0 and 1, and tiny categories (n = 5); its exact
// coverage (the binomial probability of the counts whose interval holds p) is computed beside
// and asserted, and the simulation, which runs the metric's own code on simulated pairs, must
// agree with it within 3.5 Monte Carlo standard errors. The mean gap: normal and Laplace
// (heavier-tailed) gaps with true mean 0 and 0.3, n from 3 to 48.
BOOST_AUTO_TEST_CASE(intervals_cover_by_simulation) {
  constexpr double kLevel = 0.95;
  constexpr int kReps = 2000;
  gl::random::Rng rng(20261130);
  for (int64_t n : {5, 12, 48}) {
    for (double p : {0.02, 0.1, 0.5, 0.9, 0.98}) {
      int covered = 0;
      for (int rep = 0; rep < kReps; ++rep) {
        std::vector<lang::PairScore> scores;
        for (int64_t i = 0; i < n; ++i) {
          const bool wins = gl::random::UniformReal(rng, 0.0, 1.0) < p;
          scores.push_back({wins ? -10.0 : -11.0, wins ? -11.0 : -10.0, 5, 5});
        }
        const auto m = lang::PreferenceOf(scores, kLevel);
        BOOST_REQUIRE(m.interval->low <= *m.value && *m.value <= m.interval->high);
        covered += m.interval->low <= p && p <= m.interval->high ? 1 : 0;
      }
      const double coverage = static_cast<double>(covered) / kReps;
      double exact = 0.0;
      for (int64_t x = 0; x <= n; ++x) {
        const auto i = gl::stats::WilsonInterval(x, n, kLevel);
        if (i.low > p || p > i.high) continue;
        const auto nd = static_cast<double>(n), xd = static_cast<double>(x);
        exact += std::exp(std::lgamma(nd + 1) - std::lgamma(xd + 1) - std::lgamma(nd - xd + 1) +
                          xd * std::log(p) + (nd - xd) * std::log1p(-p));
      }
      char line[160];
      std::snprintf(line, sizeof line,
                    "| counterfactual_preference | p = %.2f | %lld pairs | %d | %.1f %% "
                    "(exact %.1f %%) |",
                    p, static_cast<long long>(n), kReps, 100.0 * coverage, 100.0 * exact);
      BOOST_TEST_MESSAGE(line);
      BOOST_TEST(exact >= kLevel - 0.025, line);
      BOOST_TEST(std::abs(coverage - exact) <= 3.5 * std::sqrt(exact * (1 - exact) / kReps), line);
    }
  }
  for (int64_t n : {3, 10, 48}) {
    for (const bool laplace : {false, true}) {
      for (double truth : {0.0, 0.3}) {
        int covered = 0;
        for (int rep = 0; rep < kReps; ++rep) {
          std::vector<lang::PairScore> scores;
          for (int64_t i = 0; i < n; ++i) {
            double noise = gl::random::StandardNormal(rng);
            if (laplace) {  // Laplace with variance 1: scale 1/sqrt(2).
              const double u = gl::random::UniformReal(rng, -0.5, 0.5);
              noise = -std::copysign(std::log(1.0 - 2.0 * std::fabs(u)), u) / std::sqrt(2.0);
            }
            scores.push_back({-20.0 + truth + noise, -20.0, 8, 9});
          }
          const auto m = lang::MeanGapOf(scores, kLevel);
          BOOST_REQUIRE(m.interval->low <= *m.value && *m.value <= m.interval->high);
          covered += m.interval->low <= truth && truth <= m.interval->high ? 1 : 0;
        }
        const double coverage = static_cast<double>(covered) / kReps;
        char line[160];
        std::snprintf(line, sizeof line,
                      "| counterfactual_loglik_gap | %s, mean %.1f | %lld pairs | %d | %.1f %% |",
                      laplace ? "Laplace" : "normal", truth, static_cast<long long>(n), kReps,
                      100.0 * coverage);
        BOOST_TEST_MESSAGE(line);
        BOOST_TEST(coverage >= kLevel - 0.025, line);
      }
    }
  }
  // Edges: every pair one way gives 0 or 1 with an interval that still holds it.
  std::vector<lang::PairScore> all(4, {-1.0, -2.0, 3, 3});
  const auto one = lang::PreferenceOf(all, kLevel);
  BOOST_TEST(*one.value == 1.0);
  BOOST_TEST(one.interval->high == 1.0);
  BOOST_TEST(one.interval->low < 1.0);
  // A tie is not a preference for the stereotyped sentence.
  const auto tie = lang::PreferenceOf({{-1.0, -1.0, 3, 3}, {-1.0, -2.0, 3, 3}}, kLevel);
  BOOST_TEST(*tie.value == 0.5);
}
