// End-to-end: the CI examples in examples/ci/. Their YAML parses and has the shape GitHub Actions
// and GitLab CI need (the audit step, the uploaded HTML and JUnit files, the JUnit report, the
// summary); the audit step's own command line, taken from the YAML, runs here for real against a
// passing, a failing, an inconclusive and a broken criteria file, and gates as documented.
#define BOOST_TEST_MODULE ci_examples_e2e
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/yaml_json.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using nlohmann::json;

namespace {

const std::filesystem::path kCi = t::SourceDir() / "examples" / "ci";

json Yaml(const std::string& file) { return greenlight::LoadYamlFile(kCi / file).value; }

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// A checkout of the audited project as the CI job sees it: criteria/release.yaml with one
// accuracy criterion on 300 test images, and greenlight's own checkout at .greenlight.
struct Workspace {
  t::TempDir dir;
  explicit Workspace(const std::string& threshold, bool broken_model = false) {
    const auto model = broken_model ? dir / "missing.pt" : t::ModelsDir() / "fashion_cnn.pt";
    t::WriteText(dir / "criteria" / "release.yaml",
                 "apiVersion: greenlight/v1\nkind: Criteria\n"
                 "metadata: {name: ci-example, version: '1'}\nsettings: {seed: 3}\n" +
                     t::FashionCnnSections(model, 300) +
                     "criteria:\n"
                     "  - id: ACC-RELEASE\n    metric: accuracy\n    threshold: " +
                     threshold + "\n    severity: mandatory\n    confidence: 0.95\n");
    std::filesystem::create_directory_symlink(t::SourceDir(), dir / ".greenlight");
  }
  // Runs a CI step's command line the way the runner does (bash, the job's variables set).
  t::CommandResult Run(const std::string& command, const json& variables,
                       const std::string& extra_env = "") const {
    std::string env;
    for (const auto& [k, v] : variables.items()) {
      env += k + "=" + t::Quote(v.get<std::string>()) + " ";
    }
    t::WriteText(dir / "step.sh", command + "\n");
    return t::RunShell("cd " + t::Quote(dir.path()) + " && env " + env + "GREENLIGHT=" +
                       t::Quote(GREENLIGHT_CLI) + " NO_COLOR=1 " + extra_env + " bash step.sh");
  }
};

// The `run:` of the GitHub job's step named `name`.
std::string GithubStep(const json& workflow, const std::string& name) {
  for (const auto& step : workflow["jobs"]["audit"]["steps"]) {
    if (step.value("name", "") == name) return step["run"].get<std::string>();
  }
  BOOST_FAIL("no step named " + name);
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(github_workflow_has_the_gate_the_docs_describe) {
  const json w = Yaml("github-actions.yml");
  BOOST_TEST(w["on"].contains("pull_request"));
  BOOST_TEST(w["permissions"]["pull-requests"] == "write");
  const json& env = w["env"];
  BOOST_TEST(env["GREENLIGHT_ON_INCONCLUSIVE"] == "fail");
  const std::string dir = env["REPORT_DIR"].get<std::string>();
  BOOST_TEST(Has(GithubStep(w, "Audit"), "examples/ci/audit.sh \"$CRITERIA\" \"$REPORT_DIR\""));
  bool uploaded = false;
  for (const auto& step : w["jobs"]["audit"]["steps"]) {
    if (step.value("uses", "").rfind("actions/upload-artifact@", 0) != 0) continue;
    uploaded = true;
    const std::string paths = step["with"]["path"].get<std::string>();
    BOOST_TEST(Has(paths, dir + "/report.html"), paths);
    BOOST_TEST(Has(paths, dir + "/report.junit.xml"), paths);
    BOOST_TEST(step["if"] == "${{ !cancelled() }}");  // Also when the gate failed.
  }
  BOOST_TEST(uploaded);
  BOOST_TEST(Has(GithubStep(w, "Comment the summary on the pull request"),
                 "--body-file \"$REPORT_DIR/report.md\""));
}

BOOST_AUTO_TEST_CASE(gitlab_job_has_the_gate_the_docs_describe) {
  const json g = Yaml("gitlab-ci.yml");
  const json& job = g["greenlight-audit"];
  const std::string dir = g["variables"]["REPORT_DIR"].get<std::string>();
  BOOST_TEST(job["artifacts"]["when"] == "always");
  BOOST_TEST(job["artifacts"]["reports"]["junit"] == dir + "/report.junit.xml");
  BOOST_TEST(job["artifacts"]["paths"][0] == dir + "/");
  BOOST_TEST(Has(job["script"][0].get<std::string>(),
                 "examples/ci/audit.sh \"$CRITERIA\" \"$REPORT_DIR\""));
  BOOST_TEST(
      Has(job["after_script"][0].get<std::string>(), "merge_requests/$CI_MERGE_REQUEST_IID"));
}

BOOST_AUTO_TEST_CASE(the_audit_step_gates_on_the_verdict) {
  const json w = Yaml("github-actions.yml");
  const std::string audit = GithubStep(w, "Audit");
  json vars = w["env"];
  vars.erase("GREENLIGHT_REPOSITORY");
  vars.erase("GREENLIGHT_REF");
  const std::string dir = vars["REPORT_DIR"].get<std::string>();
  const std::string github_env = "GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=summary.md";

  {  // Pass: exit 0, the summary appended, the HTML and JUnit written.
    Workspace ws("{gte: 0.5}");
    const auto r = ws.Run(audit, vars, github_env);
    BOOST_TEST(r.exit_code == 0, r.out << r.err);
    BOOST_TEST(Has(r.out, "greenlight gate: PASS"), r.out);
    BOOST_TEST(Has(t::ReadText(ws.dir / "summary.md"), "PASS"));
    BOOST_TEST(std::filesystem::exists(ws.dir / dir / "report.html"));
    BOOST_TEST(std::filesystem::exists(ws.dir / dir / "report.junit.xml"));
  }
  {  // Fail: exit 1, an ::error annotation at the line of the criterion's id.
    Workspace ws("{gte: 0.99}");
    const std::string yaml = t::ReadText(ws.dir / "criteria" / "release.yaml");
    const size_t at = yaml.find("- id: ACC-RELEASE");
    const int line = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + at, '\n'));
    const auto r = ws.Run(audit, vars, github_env);
    BOOST_TEST(r.exit_code == 1, r.out << r.err);
    BOOST_TEST(Has(r.out, "::error file=criteria/release.yaml,line=" + std::to_string(line)),
               r.out);
    BOOST_TEST(Has(r.out, "greenlight gate: FAIL"), r.out);
  }
  {  // Inconclusive (0.9 lies inside the accuracy's interval on 300 images): the policy decides.
    Workspace ws("{gte: 0.9}");
    auto r = ws.Run(audit, vars, github_env);
    BOOST_TEST(r.exit_code == 2, r.out << r.err);
    BOOST_TEST(Has(r.out, "greenlight gate: INCONCLUSIVE (the data could not decide"), r.out);
    vars["GREENLIGHT_ON_INCONCLUSIVE"] = "pass";
    r = ws.Run(audit, vars, github_env);
    BOOST_TEST(r.exit_code == 0, r.out << r.err);
    BOOST_TEST(Has(r.out, "::warning title=greenlight::INCONCLUSIVE verdict let through"), r.out);
    vars["GREENLIGHT_ON_INCONCLUSIVE"] = "maybe";
    r = ws.Run(audit, vars, github_env);
    BOOST_TEST(r.exit_code == 3, r.out << r.err);
    vars["GREENLIGHT_ON_INCONCLUSIVE"] = "fail";
  }
  {  // Bad input: exit 3, no report, greenlight's one-line reason on stderr.
    Workspace ws("{gte: 0.5}", /*broken_model=*/true);
    const auto r = ws.Run(audit, vars, github_env);
    BOOST_TEST(r.exit_code == 3, r.out << r.err);
    BOOST_TEST(Has(r.err, "missing.pt"), r.err);
    BOOST_TEST(Has(r.out, "greenlight gate: bad input"), r.out);
    BOOST_TEST(!std::filesystem::exists(ws.dir / dir / "report.json"));
  }
}

BOOST_AUTO_TEST_CASE(the_gitlab_script_runs_the_same_gate) {
  const json g = Yaml("gitlab-ci.yml");
  const json vars = g["variables"];
  Workspace ws("{gte: 0.99}");
  const auto r = ws.Run(g["greenlight-audit"]["script"][0].get<std::string>(), vars);
  BOOST_TEST(r.exit_code == 1, r.out << r.err);
  BOOST_TEST(!Has(r.out, "::error"), r.out);  // Annotations are GitHub's only.
  const std::string junit =
      t::ReadText(ws.dir / vars["REPORT_DIR"].get<std::string>() / "report.junit.xml");
  BOOST_TEST(Has(junit, "<failure"), junit);
}
