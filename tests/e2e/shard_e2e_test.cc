// Sharded audits end to end, through the greenlight binary: a single-process audit of the same
// criteria is the independent reference, and the merge of 3 shards (and of 1) must reproduce every
// deterministic criterion's value, interval, samples and status to 1e-12: the Fashion-MNIST CNN
// (accuracy with its interval, top-3 accuracy, F1 and ECE with bootstrap intervals, a model fact
// measured once) and the HMDA credit model (fairness metrics, ROC AUC with a row bootstrap).
// The shipped examples are run as the schedulers would run them: examples/slurm's sbatch scripts
// with the SLURM_ARRAY_* variables of an array 1..3, and the commands of examples/kubernetes'
// manifests (parsed with yaml-cpp) with JOB_COMPLETION_INDEX set, as local processes. The
// refusals (bad input) are in shard_refusal_e2e_test.cc.
#define BOOST_TEST_MODULE shard_e2e
#include <yaml-cpp/yaml.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tests/e2e/shard_fixtures.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;
using t::CheckSameResults;
using t::ExitOf;
using t::ReadJson;
using t::SingleProcess;

namespace {

// Rows sampled at random (seed 7) from the 10,000 test images: sharding is by position in the
// selection, after the sampling. 1000 rows = 4 batches of 256 (the last of 232).
std::string FashionCriteria() {
  const fs::path f = t::FashionDir();
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: shard-fashion, version: "
         "'1'}\nsettings: {seed: 20261128}\nmodel:\n  path: " +
         (t::ModelsDir() / "fashion_cnn.pt").string() +
         "\n  output: log_probabilities\n  input: {shape: [1, 28, 28], range: [0, 1]}\n"
         "dataset:\n  format: idx\n  images: " +
         (f / "t10k-images-idx3-ubyte.gz").string() +
         "\n  labels: " + (f / "t10k-labels-idx1-ubyte.gz").string() +
         "\n  scale: 0.00392156862745098\n  sample: {method: random, size: 1000, seed: 7}\n"
         "criteria:\n"
         "  - {id: ACC, metric: accuracy, threshold: {gte: 0.8}, severity: mandatory,"
         " confidence: 0.95}\n"
         "  - {id: TOP3, metric: top_k_accuracy, params: {k: 3}, threshold: {gte: 0.9},"
         " severity: mandatory}\n"
         "  - {id: F1, metric: f1, threshold: {gte: 0.8}, severity: advisory, confidence: 0.95}\n"
         "  - {id: ECE, metric: ece, threshold: {lte: 0.1}, severity: mandatory,"
         " confidence: 0.95}\n"
         "  - {id: SIZE, metric: model_size_mb, threshold: {lte: 5}, severity: mandatory}\n";
}

std::string PartialSchemaErrors(const json& doc) {
  return t::SchemaErrors(t::SourceDir() / "schemas" / "partial.schema.json", doc);
}

// Audits `criteria` as `shards` shards into DIR/<i>/partial.json and merges them into DIR/merged.
json ShardAndMerge(const fs::path& criteria, const fs::path& dir, int shards) {
  std::string partials;
  for (int i = 0; i < shards; ++i) {
    const fs::path out = dir / std::to_string(i);
    const auto r = t::RunCli("-q audit -c " + t::Quote(criteria) + " --shard " + std::to_string(i) +
                             "/" + std::to_string(shards) + " --out " + t::Quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json partial = ReadJson(out / "partial.json");
    BOOST_TEST(PartialSchemaErrors(partial) == "");
    BOOST_TEST(partial["shard"]["index"] == i);
    partials += " " + t::Quote(out / "partial.json");
  }
  const auto m = t::RunCli("-q merge" + partials + " --out " + t::Quote(dir / "merged"));
  BOOST_TEST_MESSAGE(m.out);
  BOOST_REQUIRE_MESSAGE(m.exit_code <= 2, m.err);
  const json merged = ReadJson(dir / "merged" / "report.json");
  BOOST_TEST(t::ReportSchemaErrors(merged) == "");
  return merged;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fashion_cnn_three_shards_and_one_merge_to_the_single_process_report) {
  t::TempDir tmp;
  t::WriteText(tmp / "fashion.yaml", FashionCriteria());
  const json single = SingleProcess(tmp / "fashion.yaml", tmp / "single");
  const json three = ShardAndMerge(tmp / "fashion.yaml", tmp / "three", 3);
  CheckSameResults(single, three);
  CheckSameResults(single, ShardAndMerge(tmp / "fashion.yaml", tmp / "one", 1));
  // merge --key signs as audit --key does: verify checks the envelope against the model.
  BOOST_REQUIRE(t::RunCli("keygen --out " + t::Quote(tmp / "k")).exit_code == 0);
  const auto signed_merge =
      t::RunCli("-q merge " + t::Quote(tmp / "three" / "0" / "partial.json") + " " +
                t::Quote(tmp / "three" / "1" / "partial.json") + " " +
                t::Quote(tmp / "three" / "2" / "partial.json") + " --key " +
                t::Quote(tmp / "k.key") + " --out " + t::Quote(tmp / "signed"));
  BOOST_REQUIRE_MESSAGE(signed_merge.exit_code == 0, signed_merge.err);
  const auto verified = t::RunCli("verify " + t::Quote(tmp / "signed" / "report.dsse.json") +
                                  " --pubkey " + t::Quote(tmp / "k.pub") + " --model " +
                                  t::Quote(t::ModelsDir() / "fashion_cnn.pt"));
  BOOST_TEST(verified.exit_code == 0, verified.out + verified.err);
  // The shards' rows: 1000 rows in blocks of 256, dealt 2 + 1 + 1.
  const json p1 = ReadJson(tmp / "three" / "1" / "partial.json");
  BOOST_TEST(p1["shard"]["rows"] == json({{"begin", 512}, {"end", 768}}));
  // The model fact is measured once, on shard 0; the others leave it.
  BOOST_TEST(p1["results"][4]["state"] == "elsewhere");
  BOOST_TEST(ReadJson(tmp / "three" / "0" / "partial.json")["results"][4]["state"] == "measured");
}

// A comparison of the int8 twin with its FP32 reference, sharded: metric_delta and
// metric_retention keep the rows themselves, which the shards' partials carry and the merge
// appends in order, so the paired bootstrap gives the single run's interval exactly; the compared
// metric's figures of both models too.
BOOST_AUTO_TEST_CASE(metric_comparisons_merge_to_the_single_process_report) {
  t::TempDir tmp;
  std::string criteria = FashionCriteria();
  criteria = criteria.substr(0, criteria.find("criteria:\n"));
  criteria.replace(criteria.find("fashion_cnn.pt"), std::string("fashion_cnn.pt").size(),
                   "fashion_cnn_int8.pt");
  criteria += "reference: {path: " + (t::ModelsDir() / "fashion_cnn.pt").string() +
              "}\ncriteria:\n"
              "  - {id: F1D, metric: metric_delta, params: {metric: f1, average: macro,"
              " paired_resamples: 300}, threshold: {gte: -0.02}, severity: mandatory,"
              " confidence: 0.95}\n"
              "  - {id: ECER, metric: metric_retention, params: {metric: ece,"
              " bootstrap_resamples: 200, paired_resamples: 300}, threshold: {lte: 1.5},"
              " severity: advisory, confidence: 0.95}\n"
              "  - {id: DELTA, metric: accuracy_delta, threshold: {gte: -0.02},"
              " severity: mandatory}\n";
  t::WriteText(tmp / "compare.yaml", criteria);
  const json single = SingleProcess(tmp / "compare.yaml", tmp / "single");
  const json three = ShardAndMerge(tmp / "compare.yaml", tmp / "three", 3);
  CheckSameResults(single, three);
  for (size_t i = 0; i < 2; ++i) {
    const json& a = single["predicate"]["results"][i];
    const json& b = three["predicate"]["results"][i];
    BOOST_TEST(a["value"].is_number());
    BOOST_TEST(a["details"] == b["details"], a["id"]);
  }
}

BOOST_AUTO_TEST_CASE(slurm_array_scripts_with_array_1_to_3) {
  t::TempDir tmp;
  t::MakeHmdaVolume(tmp.path());
  const json single = SingleProcess(tmp / "criteria.yaml", tmp / "single");
  const std::string env = std::string("GREENLIGHT='") + GREENLIGHT_CLI +
                          "' CRITERIA=" + t::Quote(tmp / "criteria.yaml") +
                          " PARTIALS=" + t::Quote(tmp / "partials") +
                          " REPORT=" + t::Quote(tmp / "report");
  const fs::path slurm = t::SourceDir() / "examples" / "slurm";
  // An array submitted as --array=1-3: the tasks see ID 1..3, MIN 1, MAX 3, COUNT 3.
  for (int id = 1; id <= 3; ++id) {
    const auto r = t::RunShell(env + " SLURM_ARRAY_TASK_ID=" + std::to_string(id) +
                               " SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3"
                               " SLURM_ARRAY_TASK_COUNT=3 bash " +
                               t::Quote(slurm / "audit-array.sbatch"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json partial = ReadJson(tmp / "partials" / std::to_string(id) / "partial.json");
    BOOST_TEST(partial["shard"]["index"] == id - 1);
    BOOST_TEST(partial["shard"]["count"] == 3);
  }
  const auto m = t::RunShell(env + " bash " + t::Quote(slurm / "merge.sbatch"));
  BOOST_REQUIRE_MESSAGE(m.exit_code <= 2, m.err);
  const json merged = ReadJson(tmp / "report" / "report.json");
  CheckSameResults(single, merged);
  // The timed run ran on shard 0 (task 1) only, and the report's environment is that node's.
  const json timing = ReadJson(tmp / "partials" / "1" / "partial.json");
  BOOST_TEST(timing["results"][5]["id"] == "LAT");
  BOOST_TEST(timing["results"][5]["state"] == "measured");
  BOOST_TEST(ReadJson(tmp / "partials" / "2" / "partial.json")["results"][5]["state"] ==
             "elsewhere");
  for (const char* key : {"hostname", "cpu_model", "os", "threads", "device"}) {
    BOOST_TEST(merged["predicate"]["environment"][key] == timing["environment"][key], key);
  }
  BOOST_TEST(m.exit_code == ExitOf(single));
}

BOOST_AUTO_TEST_CASE(kubernetes_indexed_job_commands_as_local_processes) {
  t::TempDir tmp;
  const fs::path volume = tmp / "audit";
  t::MakeHmdaVolume(volume);
  const json single = SingleProcess(volume / "criteria.yaml", tmp / "single");
  // The pods' commands, with the volume's mount path mapped to the local folder and the
  // program to the built one; $(JOB_COMPLETION_INDEX) is expanded as the kubelet does.
  auto command_of = [&](const YAML::Node& job, const std::string& mount) {
    const YAML::Node container = job["spec"]["template"]["spec"]["containers"][0];
    BOOST_REQUIRE(container["volumeMounts"][0]["mountPath"].as<std::string>() == mount);
    std::vector<std::string> argv;
    for (const auto& a : container["command"]) argv.push_back(a.as<std::string>());
    return argv;
  };
  auto run = [&](std::vector<std::string> argv, const std::string& mount, const std::string& env) {
    BOOST_REQUIRE(argv.at(0) == "greenlight");
    std::string line = env + " export NO_COLOR=1; '" + std::string(GREENLIGHT_CLI) + "'";
    for (size_t i = 1; i < argv.size(); ++i) {
      std::string a = argv[i];
      if (a.rfind(mount, 0) == 0) a = volume.string() + a.substr(mount.size());
      for (size_t p; (p = a.find("$(JOB_COMPLETION_INDEX)")) != std::string::npos;) {
        a.replace(p, 23, "${JOB_COMPLETION_INDEX}");
      }
      line += " \"" + a + "\"";
    }
    return t::RunShell(line);
  };
  const fs::path k8s = t::SourceDir() / "examples" / "kubernetes";
  YAML::Node indexed;
  for (const YAML::Node& doc : YAML::LoadAllFromFile((k8s / "audit-shards.yaml").string())) {
    if (doc["kind"].as<std::string>() == "Job") indexed = doc;
  }
  BOOST_REQUIRE(indexed);
  BOOST_TEST(indexed["spec"]["completionMode"].as<std::string>() == "Indexed");
  const int completions = indexed["spec"]["completions"].as<int>();
  BOOST_TEST(completions == 3);
  for (int i = 0; i < completions; ++i) {
    const auto r = run(command_of(indexed, "/audit"), "/audit",
                       "export JOB_COMPLETION_INDEX=" + std::to_string(i) + ";");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  const YAML::Node merge = YAML::LoadFile((k8s / "merge.yaml").string());
  BOOST_TEST(merge["kind"].as<std::string>() == "Job");
  const auto m = run(command_of(merge, "/audit"), "/audit", "");
  BOOST_REQUIRE_MESSAGE(m.exit_code <= 2, m.err);
  CheckSameResults(single, ReadJson(volume / "report" / "report.json"));
  BOOST_TEST(fs::exists(volume / "report" / "report.junit.xml"));
}
