// Language models through the greenlight command: a causal LM (tests/unit/models/make_tiny_lm.py)
// audited on documents (jsonl) gives PyTorch's perplexity bit for bit through the supervised worker
// and the rows pass, the report records the tokenizer, classifier metrics end in ERROR, and bad
// text or a mismatched dataset stops the run as bad input with one line and no report. The
// counterfactual bias metrics read a pairs file relative to the criteria file, and the example
// int8 LM twin is compared with its reference (metric_delta, metric_retention) against PyTorch.
#define BOOST_TEST_MODULE lm_e2e
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tests/report_schema.h"
#include "tests/test_util.h"
#include "tests/tiny_lm_fixtures.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::string Criteria(const std::string& model, const std::string& dataset,
                     const std::string& criteria) {
  return "apiVersion: greenlight/v1\nkind: Criteria\n"
         "metadata: {name: lm-e2e, version: 1.0.0}\n"
         "settings: {seed: 5, threads: 1}\n" +
         model + dataset + "criteria:\n" + criteria;
}

std::string LmModel(const std::string& file = "lm_plain.pt") {
  return "model:\n  format: causal_lm\n  path: " + (t::TinyLmFixtures() / file).string() +
         "\n  tokenizer: {kind: bytes}\n  context_length: 32\n";
}

struct Audit {
  t::CommandResult run;
  bool report_exists = false;
  json report;
};

Audit RunAudit(const t::TempDir& dir, const std::string& criteria) {
  t::WriteText(dir / "c.yaml", criteria);
  Audit a;
  a.run = t::RunCli("audit --criteria " + t::Quote(dir / "c.yaml") + " --out " +
                    t::Quote(dir / "out") + " --format json");
  a.report_exists = std::filesystem::exists(dir / "out" / "report.json");
  if (a.report_exists) a.report = json::parse(t::ReadText(dir / "out" / "report.json"));
  return a;
}

const json& Result(const json& report, const std::string& id) {
  for (const auto& r : report["predicate"]["results"]) {
    if (r["id"] == id) return r;
  }
  throw std::runtime_error("no result " + id);
}

}  // namespace

BOOST_AUTO_TEST_CASE(perplexity_through_the_cli_equals_pytorch) {
  t::TempDir dir;
  std::vector<std::string> docs;
  std::string text;
  for (int i = 0; i < 40; ++i) {
    std::string doc = "Paragraph " + std::to_string(i) + ": the audit";
    for (int w = 0; w < i % 9; ++w)
      doc += " scores every token of held-out text " + std::to_string(w);
    docs.push_back(doc);
    text += json{{"body", doc}, {"y", i % 2}}.dump() + "\n";
  }
  t::WriteText(dir / "heldout.jsonl", text);
  const auto audit = RunAudit(
      dir,
      Criteria(
          LmModel(),
          "dataset: {format: jsonl, path: " + (dir / "heldout.jsonl").string() +
              ", text: body, label: y}\n",
          "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, severity: mandatory}\n"
          "  - {id: BPB, metric: bits_per_byte, threshold: {lte: 100}, severity: mandatory}\n"
          "  - {id: NTA, metric: next_token_accuracy, threshold: {gte: 0}, severity: mandatory}\n"
          "  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: advisory}\n"
          "  - {id: PARAMS, metric: model_parameters, threshold: {lte: 100000}, severity: "
          "mandatory}\n"));
  BOOST_REQUIRE_MESSAGE(audit.report_exists, audit.run.err);
  t::WriteText(dir / "docs.json", json(docs).dump());
  const auto ref = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                               (t::SourceDir() / "tests/unit/language/lm_reference.py").string() +
                               " " + t::Quote(t::TinyLmFixtures() / "lm_plain.pt") + " " +
                               t::Quote(dir / "docs.json") + " 32 1");
  BOOST_REQUIRE_MESSAGE(ref.exit_code == 0, ref.err);
  const json expected = json::parse(ref.out);
  const json& ppl = Result(audit.report, "PPL");
  BOOST_TEST(ppl["status"] == "PASS");
  BOOST_TEST(ppl["details"]["scored_tokens"] == expected["tokens_sum"]);
  BOOST_TEST(ppl["details"]["nll_sum_nats"].get<double>() == expected["nll_sum"].get<double>(),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(ppl["value"].get<double>() ==
                 std::exp(expected["nll_sum"].get<double>() / expected["tokens_sum"].get<double>()),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(ppl["samples"] == 40);
  BOOST_TEST(Result(audit.report, "NTA")["details"]["correct"] == expected["correct_sum"]);
  // The classifier metric is an ERROR that says why; the model's facts work as for a classifier.
  const json& acc = Result(audit.report, "ACC");
  BOOST_TEST(acc["status"] == "ERROR");
  BOOST_TEST(acc["message"].get<std::string>().find("causal language model") != std::string::npos);
  BOOST_TEST(Result(audit.report, "PARAMS")["value"].get<double>() ==
             256 * 16 + 16 * 16 + 16 + 16 * 256 + 256);
  const json& model = audit.report["predicate"]["model"];
  BOOST_TEST(model["format"] == "causal_lm");
  BOOST_TEST(model["tokenizer"]["kind"] == "bytes");
  BOOST_TEST(model["tokenizer"]["vocab_size"] == 256);
  BOOST_TEST(model["context_length"] == 32);
  BOOST_TEST(audit.report["predicate"]["dataset"]["rows"] == 40);
}

BOOST_AUTO_TEST_CASE(bad_text_is_bad_input_without_a_report) {
  t::TempDir dir;
  t::WriteText(dir / "bad.txt", "fine\nnot \xFF fine\n");
  const auto audit = RunAudit(
      dir,
      Criteria(LmModel(), "dataset: {format: text, path: " + (dir / "bad.txt").string() + "}\n",
               "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, severity: mandatory}\n"));
  BOOST_TEST(audit.run.exit_code == 3);
  BOOST_TEST(!audit.report_exists);
  BOOST_TEST(audit.run.err.find("bad.txt:2:5: invalid UTF-8 (byte 0xFF)") != std::string::npos);
  BOOST_TEST(std::count(audit.run.err.begin(), audit.run.err.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(mismatched_model_and_dataset_are_load_errors) {
  t::TempDir dir;
  // A language model on images.
  const auto images = RunAudit(
      dir,
      Criteria(LmModel(),
               "dataset:\n  format: idx\n  images: " +
                   (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
                   "\n  labels: " + (t::FashionDir() / "t10k-labels-idx1-ubyte.gz").string() + "\n",
               "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, severity: mandatory}\n"));
  BOOST_TEST(images.run.exit_code == 3);
  BOOST_TEST(images.run.err.find("c.yaml:11:11: dataset.format: a causal_lm model reads "
                                 "documents") != std::string::npos,
             images.run.err);
  // A causal_lm model without its tokenizer.
  const auto no_tokenizer = RunAudit(
      dir,
      Criteria("model: {format: causal_lm, path: " +
                   (t::TinyLmFixtures() / "lm_plain.pt").string() + ", context_length: 8}\n",
               "dataset: {format: text, path: x.txt}\n",
               "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, severity: mandatory}\n"));
  BOOST_TEST(no_tokenizer.run.exit_code == 3);
  BOOST_TEST(no_tokenizer.run.err.find("tokenizer") != std::string::npos, no_tokenizer.run.err);
  // A model whose outputs cannot hold the tokenizer's ids.
  t::WriteText(dir / "ok.txt", "some text\n");
  const auto small = RunAudit(
      dir,
      Criteria(LmModel("lm_small_vocab.pt"),
               "dataset: {format: text, path: " + (dir / "ok.txt").string() + "}\n",
               "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, severity: mandatory}\n"));
  BOOST_TEST(small.run.exit_code == 3);
  BOOST_TEST(small.run.err.find("scores only V = 100") != std::string::npos, small.run.err);
  BOOST_TEST(!small.report_exists);
}

BOOST_AUTO_TEST_CASE(a_reference_may_be_a_language_model) {
  t::TempDir dir;
  t::WriteText(dir / "docs.txt", "first document\nsecond document, a little longer\n");
  const auto audit =
      RunAudit(dir, Criteria(LmModel() + "reference: {path: " +
                                 (t::TinyLmFixtures() / "lm_incremental.pt").string() + "}\n",
                             "dataset: {format: text, path: " + (dir / "docs.txt").string() + "}\n",
                             "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, "
                             "severity: mandatory}\n"));
  BOOST_REQUIRE_MESSAGE(audit.report_exists, audit.run.err);
  const json& reference = audit.report["predicate"]["reference"];
  BOOST_TEST(reference["format"] == "causal_lm");
  BOOST_TEST(reference["tokenizer"]["kind"] == "bytes");
  BOOST_TEST(reference["context_length"] == 32);
  // `validate --data` reads the documents without a model.
  const auto validated = t::RunCli("validate --data " + t::Quote(dir / "c.yaml"));
  BOOST_TEST(validated.exit_code == 0, validated.err);
  BOOST_TEST(validated.out.find("audited 2 of 2 rows") != std::string::npos, validated.out);
}

// 300 documents in two shards (256 and 44, cut on blocks of 256 rows) merge into the single-run
// figures, interval and details included; partials and the merged report match their schemas.
BOOST_AUTO_TEST_CASE(shards_merge_into_the_single_run) {
  t::TempDir dir;
  std::string text;
  for (int i = 0; i < 300; ++i) text += "document " + std::to_string(i * 37 % 101) + " of many\n";
  t::WriteText(dir / "docs.txt", text);
  t::WriteText(
      dir / "c.yaml",
      Criteria(LmModel(), "dataset: {format: text, path: " + (dir / "docs.txt").string() + "}\n",
               "  - {id: PPL, metric: perplexity, threshold: {lte: 1000}, "
               "severity: mandatory}\n"
               "  - {id: NTA, metric: next_token_accuracy, threshold: {gte: 0}, "
               "severity: mandatory}\n"));
  const auto single =
      t::RunCli("-q audit -c " + t::Quote(dir / "c.yaml") + " --out " + t::Quote(dir / "single"));
  BOOST_REQUIRE_MESSAGE(single.exit_code == 0, single.err);
  std::string partials;
  for (int i = 0; i < 2; ++i) {
    const auto out = dir / ("shard" + std::to_string(i));
    const auto r = t::RunCli("-q audit -c " + t::Quote(dir / "c.yaml") + " --shard " +
                             std::to_string(i) + "/2 --out " + t::Quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json partial = json::parse(t::ReadText(out / "partial.json"));
    BOOST_TEST(t::SchemaErrors(t::SourceDir() / "schemas" / "partial.schema.json", partial) == "");
    partials += " " + t::Quote(out / "partial.json");
  }
  const auto merged = t::RunCli("-q merge" + partials + " --out " + t::Quote(dir / "merged"));
  BOOST_REQUIRE_MESSAGE(merged.exit_code == 0, merged.err);
  const json a = json::parse(t::ReadText(dir / "single" / "report.json"));
  const json b = json::parse(t::ReadText(dir / "merged" / "report.json"));
  BOOST_TEST(t::ReportSchemaErrors(b) == "");
  BOOST_TEST(b["predicate"]["model"]["tokenizer"] == a["predicate"]["model"]["tokenizer"]);
  for (const std::string id : {"PPL", "NTA"}) {
    BOOST_TEST_CONTEXT(id) {
      const json& x = Result(a, id);
      const json& y = Result(b, id);
      BOOST_TEST(x["value"] == y["value"]);
      BOOST_TEST(x["interval"] == y["interval"]);
      BOOST_TEST(x["details"] == y["details"]);
      BOOST_TEST(x["samples"] == 300);
    }
  }
}

// Generation speed and energy per token of the example LM (examples/models/tiny_lm.pt) through
// the command: the speed and energy criteria with equal generation settings share one run, the
// energy per token is the window's energy / the output tokens by hand, the report says which
// decode mode ran, and a bad generation setting stops the run at its line and column.
BOOST_AUTO_TEST_CASE(generation_speed_and_energy_per_token_through_the_cli) {
  t::TempDir dir;
  const std::string model =
      "model:\n  format: causal_lm\n  path: " + (t::ModelsDir() / "tiny_lm.pt").string() +
      "\n  tokenizer: {kind: bytes}\n  context_length: 128\n";
  const std::string dataset = "dataset: {format: text, path: " +
                              (t::SourceDir() / "examples/data/lm/heldout.txt").string() +
                              ", split: paragraphs}\n";
  const std::string run =
      "prompt_tokens: 8, max_new_tokens: 8, warmup_queries: 2, min_queries: 50, "
      "min_duration_s: 0, repetitions: 5";
  const auto audit = RunAudit(
      dir,
      Criteria(
          model, dataset,
          "  - {id: TTFT, metric: ttft_ms_p50, threshold: {lte: 10000}, severity: advisory, "
          "params: {" +
              run +
              "}}\n"
              "  - {id: TPOT, metric: tpot_ms_p90, threshold: {lte: 10000}, severity: advisory, "
              "params: {" +
              run +
              "}}\n"
              "  - {id: TOK, metric: output_tokens_per_s, threshold: {gte: 1}, severity: "
              "advisory, params: {" +
              run +
              "}}\n"
              "  - {id: RECOMPUTE, metric: tpot_ms_p50, threshold: {lte: 10000}, severity: "
              "advisory, params: {" +
              run +
              ", decode: recompute}}\n"
              "  - {id: EPT, metric: energy_per_output_token_mj, threshold: {lte: 1000000}, "
              "severity: advisory, params: {" +
              run +
              ", meter: estimate, idle_baseline_s: 0}}\n"
              "  - {id: EKT, metric: energy_per_1000_tokens_wh, threshold: {lte: 1000000}, "
              "severity: advisory, params: {" +
              run + ", meter: estimate, idle_baseline_s: 0}}\n"));
  BOOST_REQUIRE_MESSAGE(audit.report_exists, audit.run.err);
  BOOST_TEST(t::ReportSchemaErrors(audit.report) == "");
  const json& ttft = Result(audit.report, "TTFT");
  BOOST_TEST(ttft["status"] == "PASS", ttft.dump().substr(0, 1500));
  BOOST_TEST(ttft["details"]["run"]["decode"]["used"] == "cache");
  BOOST_TEST(ttft["method"].get<std::string>().find("decoded with the model's cache") !=
             std::string::npos);
  const int64_t queries = ttft["details"]["run"]["queries"].get<int64_t>();
  BOOST_TEST(queries >= 50);
  BOOST_TEST(ttft["details"]["run"]["output_tokens"] == queries * 8);
  const json& recompute = Result(audit.report, "RECOMPUTE");
  BOOST_TEST(recompute["details"]["run"]["decode"]["used"] == "recompute");
  BOOST_TEST(recompute["method"].get<std::string>().find("recomputing the whole prefix") !=
             std::string::npos);
  // One run for the criteria of equal settings: the same key and query count.
  for (const std::string id : {"TPOT", "TOK", "EPT", "EKT"}) {
    BOOST_TEST_CONTEXT(id) {
      const json& r = Result(audit.report, id);
      BOOST_TEST(r["status"] == "PASS", r.dump().substr(0, 1500));
      BOOST_TEST(r["details"]["run"]["key"] == ttft["details"]["run"]["key"]);
    }
  }
  BOOST_TEST(recompute["details"]["run"]["key"] != ttft["details"]["run"]["key"]);
  const json& tok = Result(audit.report, "TOK");
  BOOST_TEST(tok["value"].get<double>() ==
                 static_cast<double>(queries * 8) / tok["details"]["run"]["timed_s"].get<double>(),
             boost::test_tools::tolerance(1e-12));
  // Energy per token by hand from the window's energy and the output tokens.
  const json& ept = Result(audit.report, "EPT");
  BOOST_TEST(ept["method"].get<std::string>().rfind("estimate:cpu-time per output token", 0) == 0);
  BOOST_TEST(ept["details"]["output_tokens"] == queries * 8);
  const double energy_j = ept["details"]["energy_j"]["value"].get<double>();
  BOOST_TEST(energy_j > 0.0);
  BOOST_TEST(ept["value"].get<double>() == energy_j / static_cast<double>(queries * 8) * 1e3,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(Result(audit.report, "EKT")["value"].get<double>() ==
                 energy_j / static_cast<double>(queries * 8) * 1000.0 / 3600.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(ept["interval"]["low"].get<double>() <= ept["value"].get<double>());
  BOOST_TEST(ept["value"].get<double>() <= ept["interval"]["high"].get<double>());

  // Offline batches without prompt_tokens: a parameter error at its line and column, exit 3.
  t::TempDir bad_dir;
  const auto bad = RunAudit(
      bad_dir, Criteria(model, dataset,
                        "  - {id: OFF, metric: ttft_ms_p50, threshold: {lte: 100}, severity: "
                        "advisory, params: {scenario: offline}}\n"));
  BOOST_TEST(bad.run.exit_code == 3);
  BOOST_TEST(!bad.report_exists);
  BOOST_TEST(bad.run.err.find("c.yaml:") != std::string::npos, bad.run.err);
  BOOST_TEST(bad.run.err.find("prompt_tokens: offline batches need prompts of one length") !=
                 std::string::npos,
             bad.run.err);
  BOOST_TEST(std::count(bad.run.err.begin(), bad.run.err.end(), '\n') == 1);

  // A prompt and output longer than the declared context (100 + 29 > 128), and facts of more
  // tokens than it: parameter errors at their line and column when the criteria load, exit 3,
  // no report (the model is never loaded).
  for (const std::string& criterion :
       {std::string("  - {id: LONG, metric: energy_per_output_token_mj, threshold: {lte: 1}, "
                    "severity: advisory, params: {prompt_tokens: 100, max_new_tokens: 29}}\n"),
        std::string("  - {id: LONG, metric: flops_per_token, threshold: {lte: 1}, "
                    "severity: advisory, params: {tokens: 129}}\n")}) {
    t::TempDir long_dir;
    const auto too_long = RunAudit(long_dir, Criteria(model, dataset, criterion));
    BOOST_TEST(too_long.run.exit_code == 3);
    BOOST_TEST(!too_long.report_exists);
    BOOST_TEST(std::count(too_long.run.err.begin(), too_long.run.err.end(), '\n') == 1);
    const bool named =
        too_long.run.err.find("c.yaml:") != std::string::npos &&
        (too_long.run.err.find("max_new_tokens: prompt_tokens 100 + max_new_tokens 29 exceed "
                               "the model's context_length 128") != std::string::npos ||
         too_long.run.err.find("tokens: tokens = 129 exceeds the model's context_length of "
                               "128") != std::string::npos);
    BOOST_TEST(named, too_long.run.err);
  }
}

// The counterfactual bias metrics read a pairs file named relative to the criteria file (the
// report keeps the name as written and records the file's digest); the mean gap equals the one
// lm_reference.py gives sentence by sentence. A bad pairs file or an unknown category stops the
// run as bad input with one line naming the place, and no report.
BOOST_AUTO_TEST_CASE(counterfactual_pairs_relative_to_the_criteria_file) {
  t::TempDir dir;
  const std::vector<std::array<std::string, 3>> pairs = {
      {"gender", "The woman was a nurse.", "The man was a nurse."},
      {"gender", "The man fixed the car.", "The woman fixed the car."},
      {"age", "The old man slept early.", "The young man slept early."},
      {"age", "The young girl played games.", "The old girl played games."},
      {"age", "The teenager drove too fast.", "The pensioner drove too fast."}};
  std::string text;
  std::vector<std::string> sentences;
  for (const auto& [c, s, o] : pairs) {
    text += json{{"category", c}, {"stereotyped", s}, {"other", o}}.dump() + "\n";
    sentences.push_back(s);
    sentences.push_back(o);
  }
  t::WriteText(dir / "pairs.jsonl", text);
  t::WriteText(dir / "docs.txt", "a document\n");
  const std::string dataset =
      "dataset: {format: text, path: " + (dir / "docs.txt").string() + "}\n";
  const auto audit = RunAudit(
      dir,
      Criteria(LmModel(), dataset,
               "  - {id: CF-PREF, metric: counterfactual_preference, params: {pairs: "
               "pairs.jsonl}, threshold: {between: [0.0, 1.0]}, severity: advisory}\n"
               "  - {id: CF-GAP, metric: counterfactual_loglik_gap, params: {pairs: "
               "pairs.jsonl, categories: [age]}, threshold: {lte: 100}, severity: advisory}\n"
               "  - id: CF-TPL\n    metric: counterfactual_preference\n    params:\n"
               "      terms: {older: [old man, grandmother], younger: [young man, girl]}\n"
               "      templates:\n        age:\n"
               "          - {text: 'The {term} slept early.', stereotyped: older, other: younger}\n"
               "    threshold: {between: [0.0, 1.0]}\n    severity: advisory\n"));
  BOOST_REQUIRE_MESSAGE(audit.report_exists, audit.run.err);
  BOOST_TEST(t::ReportSchemaErrors(audit.report) == "");
  const json& pref = Result(audit.report, "CF-PREF");
  BOOST_TEST(pref["params"]["pairs"] == "pairs.jsonl");
  BOOST_TEST(pref["details"]["pairs"] == 5);
  BOOST_TEST(pref["details"]["pairs_source"] == "file pairs.jsonl");
  const auto sha = t::RunShell("sha256sum " + t::Quote(dir / "pairs.jsonl"));
  BOOST_TEST(pref["details"]["pairs_sha256"] == sha.out.substr(0, 64));
  BOOST_TEST(pref["concern"] == "fairness");

  t::WriteText(dir / "sentences.json", json(sentences).dump());
  const auto ref = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                               (t::SourceDir() / "tests/unit/language/lm_reference.py").string() +
                               " " + t::Quote(t::TinyLmFixtures() / "lm_plain.pt") + " " +
                               t::Quote(dir / "sentences.json") + " 32 1");
  BOOST_REQUIRE_MESSAGE(ref.exit_code == 0, ref.err);
  const json nll = json::parse(ref.out)["nll"];
  double age_gap = 0;
  int preferred = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double gap = nll[2 * i + 1].get<double>() - nll[2 * i].get<double>();
    if (pairs[i][0] == "age") age_gap += gap / 3.0;
    preferred += gap > 0 ? 1 : 0;
  }
  BOOST_TEST(pref["value"].get<double>() == preferred / 5.0);
  const json& gap = Result(audit.report, "CF-GAP");
  BOOST_TEST(gap["value"].get<double>() == age_gap, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(gap["details"]["pairs"] == 3);
  BOOST_TEST(gap["details"]["pairs_in_source"] == 5);
  BOOST_TEST(gap["unit"] == "nats");
  // Templates x term lists in the criteria: two pairs (old man/young man, grandmother/girl).
  const json& tpl = Result(audit.report, "CF-TPL");
  BOOST_TEST(tpl["details"]["pairs"] == 2);
  BOOST_TEST(tpl["details"]["pairs_source"] == "templates");
  BOOST_TEST(tpl["params"]["terms"]["older"][1] == "grandmother");
  BOOST_TEST(tpl["details"]["categories"][0]["category"] == "age");

  // A pair whose sentences are the same, on line 2 of the file.
  std::filesystem::remove_all(dir / "out");
  t::WriteText(dir / "bad.jsonl",
               text.substr(0, text.find('\n') + 1) +
                   R"({"category": "age", "stereotyped": "Same words.", "other": "Same words."})" +
                   "\n");
  const auto bad = RunAudit(
      dir, Criteria(LmModel(), dataset,
                    "  - {id: CF, metric: counterfactual_preference, params: {pairs: bad.jsonl}, "
                    "threshold: {between: [0.4, 0.6]}, severity: advisory}\n"));
  BOOST_TEST(bad.run.exit_code == 3);
  BOOST_TEST(!bad.report_exists);
  BOOST_TEST(bad.run.err.find("criteria.0.params.pairs: " + (dir / "bad.jsonl").string() +
                              ":2:51: the two sentences are the same") != std::string::npos,
             bad.run.err);
  BOOST_TEST(std::count(bad.run.err.begin(), bad.run.err.end(), '\n') == 1);
  const auto unknown = RunAudit(
      dir, Criteria(LmModel(), dataset,
                    "  - {id: CF, metric: counterfactual_preference, params: {pairs: pairs.jsonl, "
                    "categories: [religion]}, threshold: {between: [0.4, 0.6]}, "
                    "severity: advisory}\n"));
  BOOST_TEST(unknown.run.exit_code == 3);
  BOOST_TEST(unknown.run.err.find("criteria.0.params.categories: no pair has category "
                                  "'religion' (the pairs have: gender, age)") != std::string::npos,
             unknown.run.err);
  BOOST_TEST(!unknown.report_exists);
}

// metric_delta and metric_retention of the LM quality metrics: the example int8 twin
// (examples/models/tiny_lm_int8.pt) against tiny_lm.pt on the first 12 paragraphs of
// examples/data/lm/heldout.txt; both models' sums come from lm_reference.py.
BOOST_AUTO_TEST_CASE(int8_twin_against_its_reference) {
  t::TempDir dir;
  const std::string heldout = t::ReadText(t::SourceDir() / "examples/data/lm/heldout.txt");
  size_t cut = 0;
  for (int i = 0; i < 12; ++i) cut = heldout.find("\n\n", cut) + 2;
  t::WriteText(dir / "heldout12.txt", heldout.substr(0, cut));
  const std::string model =
      "model:\n  format: causal_lm\n  path: " + (t::ModelsDir() / "tiny_lm_int8.pt").string() +
      "\n  tokenizer: {kind: bytes}\n  context_length: 128\n"
      "reference: {path: " +
      (t::ModelsDir() / "tiny_lm.pt").string() + "}\n";
  const auto audit = RunAudit(
      dir, Criteria(model,
                    "dataset: {format: text, path: " + (dir / "heldout12.txt").string() +
                        ", split: paragraphs}\n",
                    "  - {id: D-PPL, metric: metric_delta, params: {metric: perplexity}, "
                    "threshold: {lte: 0.5}, severity: mandatory}\n"
                    "  - {id: R-BPB, metric: metric_retention, params: {metric: bits_per_byte, "
                    "paired_resamples: 200}, threshold: {lte: 1.02}, severity: mandatory}\n"
                    "  - {id: D-NTA, metric: metric_delta, params: {metric: next_token_accuracy}, "
                    "threshold: {gte: -0.02}, severity: mandatory}\n"));
  BOOST_REQUIRE_MESSAGE(audit.report_exists, audit.run.err);
  BOOST_TEST(t::ReportSchemaErrors(audit.report) == "");
  auto sums = [&](const std::string& file) {
    const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                               (t::SourceDir() / "tests/unit/language/lm_reference.py").string() +
                               " " + t::Quote(t::ModelsDir() / file) + " " +
                               t::Quote(dir / "heldout12.txt") + " 128 1 paragraphs");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return json::parse(r.out);
  };
  const json m = sums("tiny_lm_int8.pt");
  const json f = sums("tiny_lm.pt");
  auto ppl = [](const json& s) {
    return std::exp(s["nll_sum"].get<double>() / s["tokens_sum"].get<double>());
  };
  auto bpb = [](const json& s) {
    return s["nll_sum"].get<double>() / (std::log(2.0) * s["bytes_sum"].get<double>());
  };
  auto nta = [](const json& s) {
    return s["correct_sum"].get<double>() / s["tokens_sum"].get<double>();
  };
  const json& d_ppl = Result(audit.report, "D-PPL");
  BOOST_TEST(d_ppl["details"]["model"]["value"].get<double>() == ppl(m),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(d_ppl["details"]["reference"]["value"].get<double>() == ppl(f),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(d_ppl["value"].get<double>() == ppl(m) - ppl(f), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(d_ppl["samples"] == 12);
  BOOST_TEST(d_ppl["unit"] == "perplexity");
  const json& r_bpb = Result(audit.report, "R-BPB");
  BOOST_TEST(r_bpb["value"].get<double>() == bpb(m) / bpb(f), boost::test_tools::tolerance(1e-9));
  const json& d_nta = Result(audit.report, "D-NTA");
  BOOST_TEST(d_nta["value"].get<double>() == nta(m) - nta(f), boost::test_tools::tolerance(1e-9));
  for (const json* r : {&d_ppl, &r_bpb, &d_nta}) {
    BOOST_TEST((*r)["status"] != "ERROR", (*r)["message"]);
    BOOST_TEST((*r)["interval"]["low"].get<double>() <= (*r)["value"].get<double>());
    BOOST_TEST((*r)["value"].get<double>() <= (*r)["interval"]["high"].get<double>());
  }
  // Paired: the resamples draw the same documents for both models, so the interval of the
  // difference is far narrower than either model's own interval.
  const double own = d_ppl["details"]["reference"]["interval"]["high"].get<double>() -
                     d_ppl["details"]["reference"]["interval"]["low"].get<double>();
  BOOST_TEST(d_ppl["interval"]["high"].get<double>() - d_ppl["interval"]["low"].get<double>() <
             own / 4);
}
