// Sharded audits refuse what would not give the single-process report, through the greenlight
// binary: a missing, repeated, foreign (criteria, model or data digest) or mismatched-N partial
// at merge, and at audit --shard a criterion that cannot be split, an empty shard, or a
// scheduler's environment that does not say which shard. Each is exit 3 with one line and no
// output written.
#define BOOST_TEST_MODULE shard_refusal_e2e
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <nlohmann/json.hpp>

#include "tests/e2e/shard_fixtures.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(missing_repeated_foreign_and_mismatched_partials_are_refused) {
  t::TempDir tmp;
  t::MakeHmdaVolume(tmp.path());
  const fs::path criteria = tmp / "criteria.yaml";
  auto shard = [&](const std::string& spec, const fs::path& out, const std::string& extra = "") {
    const auto r = t::RunCli("-q audit -c " + t::Quote(criteria) + " --shard " + spec + " --out " +
                             t::Quote(out) + extra);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return out / "partial.json";
  };
  const fs::path p0 = shard("0/3", tmp / "p0");
  const fs::path p1 = shard("1/3", tmp / "p1");
  const fs::path p2 = shard("2/3", tmp / "p2");
  const fs::path q1 = shard("1/2", tmp / "q1");
  // The same criteria with another model (one weight moved by 1e-6): a foreign model digest.
  const auto py = t::RunPython(
      "import torch\nm = torch.jit.load('" + (t::ModelsDir() / "hmda_credit.pt").string() +
      "')\nwith torch.no_grad():\n    next(m.parameters()).add_(1e-6)\ntorch.jit.save(m, '" +
      (tmp / "other.pt").string() + "')\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  const fs::path f2 = shard("2/3", tmp / "f2", " --model " + t::Quote(tmp / "other.pt"));
  // The same criteria file beside other data (one more row): a foreign dataset digest.
  const fs::path other = tmp / "other-volume";
  t::MakeHmdaVolume(other);
  fs::remove(other / "data" / "hmda.csv");
  const std::string csv = t::ReadText(t::SourceDir() / "examples" / "data" / "hmda.csv");
  const size_t last = csv.rfind('\n', csv.size() - 2);
  t::WriteText(other / "data" / "hmda.csv", csv + csv.substr(last + 1));
  const auto d = t::RunCli("-q audit -c " + t::Quote(other / "criteria.yaml") +
                           " --shard 2/3 --out " + t::Quote(tmp / "d2"));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, d.err);
  auto refused = [&](const std::vector<fs::path>& partials, const std::string& expected) {
    std::string args;
    for (const auto& p : partials) args += " " + t::Quote(p);
    const auto r = t::RunCli("-q merge" + args + " --out " + t::Quote(tmp / "merged"));
    BOOST_TEST(r.exit_code == 3);
    BOOST_TEST(r.err.find(expected) != std::string::npos, r.err);
    // One line, and no report.
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    BOOST_TEST(!fs::exists(tmp / "merged" / "report.json"));
  };
  refused({p0, p2}, "merge: shard 1 of 3 missing (2 partials given)");
  refused({p0, p1, p1, p2}, p1.string() + ": shard 1/3 is repeated (also " + p1.string() + ")");
  refused({p0, p1, q1}, q1.string() + ": foreign partial: its shard count 2 differs from " +
                            p0.string() + "'s 3");
  refused({p0, p1, f2}, f2.string() + ": foreign partial: its model digest");
  refused({p0, p1, tmp / "d2" / "partial.json"}, "foreign partial: its dataset digests");
  // A partial of other criteria (another file, so another digest).
  t::WriteText(tmp / "other.yaml", t::HmdaCriteria() + "# another file\n");
  const auto o = t::RunCli("-q audit -c " + t::Quote(tmp / "other.yaml") + " --shard 2/3 --out " +
                           t::Quote(tmp / "o2"));
  BOOST_REQUIRE_MESSAGE(o.exit_code == 0, o.err);
  refused({p0, p1, tmp / "o2" / "partial.json"}, "foreign partial: its criteria digest");
  // Altered statistics: bad input naming the partial and the criterion.
  nlohmann::json altered = nlohmann::json::parse(t::ReadText(p1));
  altered["results"][0]["stats"] = "altered";
  t::WriteText(tmp / "a1" / "partial.json", altered.dump());
  refused({p0, tmp / "a1" / "partial.json", p2},
          (tmp / "a1" / "partial.json").string() + ": criterion ACC: its statistics do not merge");
  // A count that is not an integer (a float where the statistics hold an integer, or one beyond
  // 64 bits) is read range-checked, never cast: bad input naming the partial, criterion, field.
  for (const nlohmann::json& bad : {nlohmann::json(4.4e46), nlohmann::json(2.5)}) {
    nlohmann::json counts = nlohmann::json::parse(t::ReadText(p1));
    BOOST_REQUIRE(counts["results"][0]["stats"].contains("counts"));
    counts["results"][0]["stats"]["counts"][0] = bad;
    t::WriteText(tmp / "c1" / "partial.json", counts.dump());
    refused({p0, tmp / "c1" / "partial.json", p2},
            (tmp / "c1" / "partial.json").string() +
                ": criterion ACC: its statistics do not merge: counts[0]: not an integer");
  }
  // Counts that no audit writes: negative, a table beyond its rows, a group listed twice.
  auto altered_stats = [&](const std::string& id,
                           const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(t::ReadText(p1));
    for (auto& r : j["results"]) {
      if (r["id"] == id) edit(r["stats"]);
    }
    t::WriteText(tmp / "n1" / "partial.json", j.dump());
    return tmp / "n1" / "partial.json";
  };
  refused({p0, altered_stats("ACC", [](nlohmann::json& s) { s["counts"][0] = -5; }), p2},
          "criterion ACC: its statistics do not merge: counts[0]: count -5 is negative");
  refused(
      {p0, altered_stats("DI", [](nlohmann::json& s) { s["groups"].push_back(s["groups"][0]); }),
       p2},
      "criterion DI: its statistics do not merge: fairness statistics: a group is listed twice");
  refused({p0, altered_stats("AUC", [](nlohmann::json& s) { s["positive"][0] = 7; }), p2},
          "criterion AUC: its statistics do not merge: roc_auc statistics: a label is neither 0 "
          "nor 1");
  // A partial that claims a criterion over rows is measured once would drop the other shards'
  // rows: how a criterion shards is the plan's word, not the partial's.
  nlohmann::json once = nlohmann::json::parse(t::ReadText(p0));
  for (auto& r : once["results"]) r["sharding"] = "once";
  t::WriteText(tmp / "s0" / "partial.json", once.dump());
  refused({tmp / "s0" / "partial.json", p1, p2},
          (tmp / "s0" / "partial.json").string() +
              ": criterion ACC is recorded as sharding \"once\"; its work shards by \"rows\"");
  // Sanity: the right three merge.
  const auto ok = t::RunCli("-q merge " + t::Quote(p2) + " " + t::Quote(p0) + " " + t::Quote(p1) +
                            " --out " + t::Quote(tmp / "good"));
  BOOST_TEST(ok.exit_code <= 2, ok.err);
}

BOOST_AUTO_TEST_CASE(unsplittable_criteria_and_bad_shard_arguments_are_bad_input) {
  t::TempDir tmp;
  t::WriteText(tmp / "attack.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: a, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 300) +
                   "criteria:\n"
                   "  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n"
                   "  - {id: ADV, metric: adversarial_accuracy,"
                   " threshold: {gte: 0.1}, severity: mandatory}\n");
  auto audit = [&](const std::string& args, const std::string& env = "") {
    return t::RunShell(env + " NO_COLOR=1 '" + std::string(GREENLIGHT_CLI) + "' -q audit -c " +
                       t::Quote(tmp / "attack.yaml") + " --out " + t::Quote(tmp / "out") + " " +
                       args);
  };
  auto r = audit("--shard 0/2");
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("attack.yaml:") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("criterion ADV: metric 'adversarial_accuracy' cannot be split into shards "
                        "exactly") != std::string::npos,
             r.err);
  BOOST_TEST(!fs::exists(tmp / "out" / "partial.json"));
  r = audit("--shard auto");
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("--shard auto: neither SLURM_ARRAY_TASK_ID") != std::string::npos, r.err);
  r = audit("--shard auto", "JOB_COMPLETION_INDEX=1");
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("give the Job's completions as --shard-count N") != std::string::npos,
             r.err);
  r = audit("--shard 2/2");
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("--shard '2/2': the shard index must be 0..1") != std::string::npos, r.err);
  // 300 rows are 2 blocks of 256: a third shard would be empty.
  t::WriteText(tmp / "acc.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: a, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 300) +
                   "criteria:\n"
                   "  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n");
  r = t::RunCli("-q audit -c " + t::Quote(tmp / "acc.yaml") + " --shard 2/3 --out " +
                t::Quote(tmp / "out"));
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("the shard has no rows (300 rows are selected, in blocks of 256); use at "
                        "most 2 shards") != std::string::npos,
             r.err);
  BOOST_TEST(!fs::exists(tmp / "out" / "partial.json"));
}

// audit --shard --key signs the partial (partial.dsse.json beside partial.json); merge --pubkey
// accepts only partials that a trusted key signed: an unsigned one, one signed by another key and
// an altered payload are each exit 3 naming the file. The partials name the criteria, models and
// data relative to their own folder, so the whole volume merges after it moved.
BOOST_AUTO_TEST_CASE(signed_partials_and_a_moved_volume) {
  t::TempDir tmp;
  const fs::path volume = tmp / "volume";
  t::MakeHmdaVolume(volume);
  for (const std::string name : {"shard", "other"}) {
    const auto k = t::RunCli("keygen --out " + t::Quote(tmp / name));
    BOOST_REQUIRE_MESSAGE(k.exit_code == 0, k.err);
  }
  auto shard = [&](int i, const std::string& key, const std::string& folder) {
    const fs::path out = volume / "out" / folder;
    const auto r = t::RunCli("audit -c " + t::Quote(volume / "criteria.yaml") + " --shard " +
                             std::to_string(i) + "/2 --out " + t::Quote(out) + " --key " +
                             t::Quote(tmp / (key + ".key")));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("signed: " + (out / "partial.dsse.json").string()) != std::string::npos,
               r.out);
    return out;
  };
  const fs::path s0 = shard(0, "shard", "shard-0");
  const fs::path s1 = shard(1, "shard", "shard-1");
  const fs::path x1 = shard(1, "other", "other-1");
  // Relative to the partial's folder: ../../criteria.yaml, ../../models/..., ../../data/...
  const nlohmann::json partial = t::ReadJson(s0 / "partial.json");
  BOOST_TEST(partial["criteria"]["path"] == "../../criteria.yaml");
  BOOST_TEST(partial["model"]["path"] == "../../models/hmda_credit.pt");
  BOOST_TEST(partial["dataset"]["files"][0]["path"] == "../../data/hmda.csv");
  // The envelope's payload is partial.json's bytes.
  const nlohmann::json envelope = t::ReadJson(s0 / "partial.dsse.json");
  BOOST_TEST(envelope["payloadType"] == "application/vnd.greenlight.partial+json");

  auto merge = [&](const std::vector<fs::path>& partials, const std::string& keys) {
    std::string args;
    for (const auto& p : partials) args += " " + t::Quote(p);
    return t::RunCli("-q merge" + args + keys + " --out " + t::Quote(tmp / "merged"));
  };
  const std::string trusted = " --pubkey " + t::Quote(tmp / "shard.pub");
  auto refused = [&](const std::vector<fs::path>& partials, const std::string& expected) {
    const auto r = merge(partials, trusted);
    BOOST_TEST(r.exit_code == 3);
    BOOST_TEST(r.err.find(expected) != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    BOOST_TEST(!fs::exists(tmp / "merged" / "report.json"));
  };
  refused({s0 / "partial.dsse.json", s1 / "partial.json"},
          (s1 / "partial.json").string() + ": not signed; with --pubkey every partial must be");
  refused({s0 / "partial.dsse.json", x1 / "partial.dsse.json"},
          (x1 / "partial.dsse.json").string() + ": signature not valid");
  // One byte of the payload changed (a count in the statistics): the signature no longer holds.
  nlohmann::json forged = t::ReadJson(s1 / "partial.dsse.json");
  const std::string payload = t::ReadText(s1 / "partial.json");
  std::string altered = payload;
  const size_t at = altered.find("\"counts\":[");
  BOOST_REQUIRE(at != std::string::npos);
  altered[at + 10] = altered[at + 10] == '9' ? '8' : '9';
  const auto encoded = t::RunShell("printf '%s' " + t::Quote(altered) + " | base64 -w0");
  forged["payload"] = encoded.out;
  t::WriteText(tmp / "forged" / "partial.dsse.json", forged.dump());
  refused({s0 / "partial.dsse.json", tmp / "forged" / "partial.dsse.json"},
          (tmp / "forged" / "partial.dsse.json").string() + ": signature not valid");

  // Signed and trusted: merged, and equal to merging the plain partials.
  auto ok = merge({s1 / "partial.dsse.json", s0 / "partial.dsse.json"}, trusted);
  BOOST_TEST(ok.exit_code <= 2, ok.err);
  const nlohmann::json signed_merge = t::ReadJson(tmp / "merged" / "report.json");
  // The volume moved elsewhere (another mount point): its partials still find the criteria.
  const fs::path moved = tmp / "elsewhere" / "mnt";
  fs::create_directories(moved.parent_path());
  fs::rename(volume, moved);
  ok = merge(
      {moved / "out" / "shard-0" / "partial.json", moved / "out" / "shard-1" / "partial.json"}, "");
  BOOST_TEST(ok.exit_code <= 2, ok.err);
  const nlohmann::json moved_merge = t::ReadJson(tmp / "merged" / "report.json");
  t::CheckSameResults(signed_merge, moved_merge);
}
