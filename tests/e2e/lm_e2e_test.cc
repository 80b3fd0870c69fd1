// Language models through the greenlight command: a causal LM (tests/unit/models/make_tiny_lm.py)
// audited on documents (jsonl) gives PyTorch's perplexity bit for bit through the supervised worker
// and the rows pass, the report records the tokenizer, classifier metrics end in ERROR, and bad
// text or a mismatched dataset stops the run as bad input with one line and no report.
#define BOOST_TEST_MODULE lm_e2e
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

const std::filesystem::path& Fixtures() {
  static t::TempDir dir;
  static const bool made = [] {
    const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                               (t::SourceDir() / "tests/unit/models/make_tiny_lm.py").string() +
                               " " + t::Quote(dir.path()));
    if (r.exit_code != 0) throw std::runtime_error("make_tiny_lm.py failed: " + r.err);
    return true;
  }();
  (void)made;
  return dir.path();
}

std::string Criteria(const std::string& model, const std::string& dataset,
                     const std::string& criteria) {
  return "apiVersion: greenlight/v1\nkind: Criteria\n"
         "metadata: {name: lm-e2e, version: 1.0.0}\n"
         "settings: {seed: 5, threads: 1}\n" +
         model + dataset + "criteria:\n" + criteria;
}

std::string LmModel(const std::string& file = "lm_plain.pt") {
  return "model:\n  format: causal_lm\n  path: " + (Fixtures() / file).string() +
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
                               " " + t::Quote(Fixtures() / "lm_plain.pt") + " " +
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
      Criteria("model: {format: causal_lm, path: " + (Fixtures() / "lm_plain.pt").string() +
                   ", context_length: 8}\n",
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
  const auto audit = RunAudit(
      dir, Criteria(LmModel() + "reference: {path: " + (Fixtures() / "lm_incremental.pt").string() +
                        "}\n",
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
}
