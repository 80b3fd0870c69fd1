// The sharded audit on a real Slurm cluster: a single-node cluster from Debian's packages
// (tests/e2e/slurm/cluster.sh, started before this test and stopped after it by CTest fixtures;
// SLURM_CONF names it) runs examples/slurm/submit.sh as a user would: the shards as a job array,
// the merge as a job that waits for them (--dependency=afterok). The merged report must equal a
// single-process audit of the same criteria (deterministic results to 1e-12).
#define BOOST_TEST_MODULE slurm_e2e
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/e2e/shard_fixtures.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// `scontrol show job ID`'s JobState and ExitCode ("COMPLETED", "0:0"), once the job has ended.
std::pair<std::string, std::string> JobEnd(const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(8);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto r = t::RunShell("scontrol show job " + id);
    std::smatch state, code;
    const std::regex state_re("JobState=([A-Z_]+)"), code_re("ExitCode=([0-9]+:[0-9]+)");
    if (r.exit_code == 0 && std::regex_search(r.out, state, state_re) &&
        std::regex_search(r.out, code, code_re)) {
      const std::string s = state[1];
      if (s != "PENDING" && s != "RUNNING" && s != "CONFIGURING" && s != "COMPLETING") {
        return {s, code[1]};
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  BOOST_FAIL("job " + id + " did not end within 8 minutes");
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(job_array_and_dependent_merge_on_a_running_slurmctld) {
  BOOST_REQUIRE_MESSAGE(std::getenv("SLURM_CONF") != nullptr,
                        "SLURM_CONF is not set: run through ctest (the slurm_cluster fixture)");
  const auto info = t::RunShell("sinfo -h -o %t");
  BOOST_REQUIRE_MESSAGE(info.exit_code == 0 && info.out.find("idle") != std::string::npos,
                        info.out << info.err);
  t::TempDir tmp;
  t::MakeHmdaVolume(tmp / "volume");
  const json single = t::SingleProcess(tmp / "volume" / "criteria.yaml", tmp / "single");

  const auto submit =
      t::RunShell("cd " + t::Quote(tmp.path()) + " && GREENLIGHT='" + GREENLIGHT_CLI +
                  "' CRITERIA=" + t::Quote(tmp / "volume" / "criteria.yaml") + " PARTIALS=" +
                  t::Quote(tmp / "partials") + " REPORT=" + t::Quote(tmp / "report") + " bash " +
                  t::Quote(t::SourceDir() / "examples" / "slurm" / "submit.sh") + " 3");
  BOOST_REQUIRE_MESSAGE(submit.exit_code == 0, submit.out << submit.err);
  std::smatch ids;
  BOOST_REQUIRE_MESSAGE(
      std::regex_search(submit.out, ids, std::regex("job array ([0-9]+).*merge: job ([0-9]+)")),
      submit.out);
  const std::string array = ids[1], merge = ids[2];

  // Each array task ran on the cluster and wrote its partial; the merge ran after them.
  for (int task = 0; task < 3; ++task) {
    const auto [state, code] = JobEnd(array + "_" + std::to_string(task));
    BOOST_TEST(state == "COMPLETED", "task " << task << ": " << state << " " << code);
    const json partial = t::ReadJson(tmp / "partials" / std::to_string(task) / "partial.json");
    BOOST_TEST(partial["shard"]["index"] == task);
    BOOST_TEST(partial["shard"]["count"] == 3);
  }
  const auto [state, code] = JobEnd(merge);
  const int verdict = t::ExitOf(single);
  BOOST_TEST(code == std::to_string(verdict) + ":0", state << " " << code);
  const json merged = t::ReadJson(tmp / "report" / "report.json");
  t::CheckSameResults(single, merged);
}
