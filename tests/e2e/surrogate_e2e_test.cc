// A transfer attack crafted on a declared surrogate model, through the greenlight binary: the int8
// twin (fashion_cnn_int8.pt, no gradients) audited with its FP32 reference (fashion_cnn.pt) and
// the distilled student (fashion_cnn_student.pt) as the surrogate, craft_on: surrogate. The count
// of rows the twin still classifies correctly equals the same attack written in PyTorch
// (tests/unit/safety/transfer_fgsm_reference.py with the student crafting); the report has three
// subjects with the digests sha256sum gives; verify --model accepts the three files and rejects a
// changed surrogate, and verify --rerun re-runs with the recorded surrogate and refuses a changed
// one. A craft_on: surrogate without a surrogate, and a surrogate no criterion crafts on, are bad
// input at their place; shards that name different surrogates do not merge.
#define BOOST_TEST_MODULE surrogate_e2e
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "tests/report_json.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// At most 128: one gradient batch and one evaluation batch, as the PyTorch reference runs them.
constexpr int kRows = 64;
constexpr double kEpsilon = 0.05;

std::string Sha256(const fs::path& p) {
  return t::RunShell("sha256sum " + t::Quote(p)).out.substr(0, 64);
}

using greenlight::testing::Result;

// Header, model (the int8 twin) and dataset: lines 1-13.
std::string Head() {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: surrogate, version: '1'}\n" +
         t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", kRows);
}

std::string ReferenceLine() {
  return "reference: {path: " + (t::ModelsDir() / "fashion_cnn.pt").string() + "}\n";
}

// T crafts on the surrogate; A compares with the reference.
const char* kCriteria =
    "criteria:\n"
    "  - {id: T, metric: adversarial_accuracy, params: {epsilon: 0.05, limit: 64,"
    " craft_on: surrogate}, threshold: {gte: 0.0}, severity: mandatory, confidence: 0.95}\n"
    "  - {id: A, metric: prediction_agreement, threshold: {gte: 0.0}, severity: advisory}\n";

}  // namespace

BOOST_AUTO_TEST_CASE(surrogate_is_a_subject_verified_and_rerun) {
  t::TempDir tmp;
  // The surrogate is a copy, so that the test can change it after the audit.
  const fs::path student = tmp / "student.pt";
  fs::copy_file(t::ModelsDir() / "fashion_cnn_student.pt", student);
  t::WriteText(tmp / "c.yaml", Head() + ReferenceLine() + "surrogate: {path: " + student.string() +
                                   "}\n" + kCriteria);
  const auto keygen = t::RunCli("keygen --out " + t::Quote(tmp / "k"));
  BOOST_REQUIRE_MESSAGE(keygen.exit_code == 0, keygen.err);
  const auto audit = t::RunCli("audit -c " + t::Quote(tmp / "c.yaml") + " -o " +
                               t::Quote(tmp / "out") + " -k " + t::Quote(tmp / "k.key"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code == 0, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const std::string student_sha = Sha256(student);
  // The console names it beside the reference, relative to the criteria file's folder.
  BOOST_TEST(audit.out.find("surrogate student.pt  sha256:" + student_sha.substr(0, 16)) !=
                 std::string::npos,
             audit.out);

  // Three subjects: the model, the reference and the surrogate, with their files' digests.
  const json& subject = report["subject"];
  BOOST_REQUIRE(subject.size() == 3u);
  BOOST_TEST(subject[0]["name"] == "fashion_cnn_int8.pt");
  BOOST_TEST(subject[0]["digest"]["sha256"] == Sha256(t::ModelsDir() / "fashion_cnn_int8.pt"));
  BOOST_TEST(subject[1]["name"] == "fashion_cnn.pt");
  BOOST_TEST(subject[1]["digest"]["sha256"] == Sha256(t::ModelsDir() / "fashion_cnn.pt"));
  BOOST_TEST(subject[2]["name"] == "student.pt");
  BOOST_TEST(subject[2]["digest"]["sha256"] == student_sha);
  BOOST_TEST(report["predicate"]["surrogate"]["sha256"] == student_sha);

  // The attack: crafted on the student, counted on the twin, as PyTorch counts it.
  const auto py = t::RunShell(
      std::string(GREENLIGHT_PYTHON) + " " +
      t::Quote(t::SourceDir() / "tests" / "unit" / "safety" / "transfer_fgsm_reference.py") + " " +
      t::Quote(student) + " " + t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt") + " " +
      t::Quote(t::FashionDir() / "t10k-images-idx3-ubyte.gz") + " " +
      t::Quote(t::FashionDir() / "t10k-labels-idx1-ubyte.gz") + " " + std::to_string(kRows) + " " +
      std::to_string(kEpsilon) + " 1");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  const int64_t py_correct = json::parse(py.out).at("correct").get<int64_t>();
  const json& attack = Result(report, "T");
  BOOST_TEST_MESSAGE("FGSM eps 0.05 crafted on the student, on the int8 twin: greenlight "
                     << attack["details"]["adversarial_correct"] << " / " << kRows << ", PyTorch "
                     << py_correct);
  BOOST_TEST(attack["status"] == "PASS", attack.dump());
  BOOST_TEST(attack["details"]["adversarial_correct"] == py_correct);
  BOOST_TEST(attack["value"].get<double>() == static_cast<double>(py_correct) / kRows);
  BOOST_TEST(attack["details"]["attack"]["crafted_on"]["model"] == "surrogate");
  BOOST_TEST(attack["details"]["attack"]["crafted_on"]["sha256"] == student_sha);
  BOOST_TEST(attack["method"].get<std::string>().find(
                 "transfer attack crafted on the surrogate model (sha256 " +
                 student_sha.substr(0, 12) + ")") != std::string::npos,
             attack["method"]);
  BOOST_TEST(Result(report, "A")["status"] == "PASS");

  // verify --model: the three files match subjects; a changed surrogate matches none.
  const std::string verify = "verify " + t::Quote(tmp / "out" / "report.dsse.json") + " --pubkey " +
                             t::Quote(tmp / "k.pub") + " --criteria " + t::Quote(tmp / "c.yaml");
  const std::string all_three = " --model " + t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt") +
                                " --model " + t::Quote(t::ModelsDir() / "fashion_cnn.pt") +
                                " --model " + t::Quote(student);
  auto v = t::RunCli(verify + all_three);
  BOOST_TEST(v.exit_code == 0, v.out << v.err);
  // verify --rerun with the recorded surrogate (found at its recorded path, beside the criteria;
  // the shipped models, in another tree, are recorded by name and given) reproduces every result.
  const std::string rerun = "-q " + verify + " --rerun --model " +
                            t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt") + " --model " +
                            t::Quote(t::ModelsDir() / "fashion_cnn.pt");
  v = t::RunCli(rerun);
  BOOST_TEST(v.exit_code == 0, v.out << v.err);
  BOOST_TEST(v.out.find("re-run: ") != std::string::npos, v.out);

  std::string bytes = t::ReadText(student);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  t::WriteText(student, bytes);
  v = t::RunCli(verify + all_three);
  BOOST_TEST(v.exit_code == 1, v.out << v.err);
  v = t::RunCli(rerun);
  BOOST_TEST(v.exit_code == 1, v.out << v.err);
  BOOST_TEST(v.out.find("INVALID: the surrogate model file at the recorded path " +
                        student.string() + " is not the audited one") != std::string::npos,
             v.out);
}

// --surrogate names the surrogate without a surrogate: section (read as the model is).
BOOST_AUTO_TEST_CASE(surrogate_on_the_command_line) {
  t::TempDir tmp;
  t::WriteText(tmp / "c.yaml", Head() + ReferenceLine() + kCriteria);
  const fs::path student = t::ModelsDir() / "fashion_cnn_student.pt";
  const auto audit = t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " -o " +
                               t::Quote(tmp / "out") + " --surrogate " + t::Quote(student));
  BOOST_REQUIRE_MESSAGE(audit.exit_code == 0, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  BOOST_REQUIRE(report["subject"].size() == 3u);
  BOOST_TEST(report["subject"][2]["digest"]["sha256"] == Sha256(student));
  BOOST_TEST(Result(report, "T")["details"]["attack"]["crafted_on"]["sha256"] == Sha256(student));
}

// craft_on: surrogate without a surrogate, and a surrogate that no criterion crafts on, stop the
// load at their place (exit 3, one line, nothing written).
BOOST_AUTO_TEST_CASE(missing_and_unused_surrogates_are_bad_input) {
  t::TempDir tmp;
  auto refused = [&](const std::string& file, const std::string& expected,
                     const std::string& extra = "") {
    const auto r =
        t::RunCli("audit -c " + t::Quote(tmp / file) + " -o " + t::Quote(tmp / "none") + extra);
    BOOST_TEST(r.exit_code == 3, r.err);
    BOOST_TEST(r.err.find(expected) != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(!fs::exists(tmp / "none"));
  };
  // Line 16 (13 of header, model and dataset, the reference, criteria:), column 21: the metric.
  t::WriteText(tmp / "missing.yaml", Head() + ReferenceLine() + kCriteria);
  refused("missing.yaml",
          (tmp / "missing.yaml").string() +
              ":16:21: criteria.0.metric: criterion T: metric 'adversarial_accuracy' crafts on a "
              "surrogate model: add a surrogate: section (or --surrogate)");
  // Line 15: the surrogate: section, where no criterion uses it (A compares with the reference;
  // W attacks the FP32 model white-box).
  t::WriteText(tmp / "unused.yaml",
               Head() + ReferenceLine() +
                   "surrogate: {path: " + (t::ModelsDir() / "fashion_cnn_student.pt").string() +
                   "}\n"
                   "criteria:\n"
                   "  - {id: A, metric: prediction_agreement, threshold: {gte: 0.0},"
                   " severity: advisory}\n"
                   "  - {id: W, metric: adversarial_accuracy, params: {craft_on: reference},"
                   " threshold: {gte: 0.0}, severity: advisory}\n");
  refused("unused.yaml", (tmp / "unused.yaml").string() +
                             ":15:12: surrogate: no criterion crafts on the surrogate model");
  // A surrogate that declares another input shape: its adversarial inputs would not fit the model.
  t::WriteText(tmp / "shape.yaml", Head() + ReferenceLine() + "surrogate: {path: " +
                                       (t::ModelsDir() / "fashion_cnn_student.pt").string() +
                                       ", input: {shape: [784]}}\n" + kCriteria);
  refused("shape.yaml", (tmp / "shape.yaml").string() + ":15:");
  refused("shape.yaml", "surrogate.input.shape: the surrogate must take the model's input shape");
  // The same through --surrogate: named by the option.
  t::WriteText(tmp / "plain.yaml", Head() + ReferenceLine() +
                                       "criteria:\n"
                                       "  - {id: A, metric: prediction_agreement,"
                                       " threshold: {gte: 0.0}, severity: advisory}\n");
  refused("plain.yaml",
          (tmp / "plain.yaml").string() +
              ": --surrogate given but no criterion crafts on the surrogate model",
          " --surrogate " + t::Quote(t::ModelsDir() / "fashion_cnn_student.pt"));
}

// Shards carry the surrogate's digest, and a merge of shards that name different surrogates (or a
// surrogate on one shard only) is refused, one line, nothing written. Attack criteria do not shard
// (they need all their rows at once), so the partials of a sharded paired audit are given a
// surrogate by hand, as a partial of another audit would carry one.
BOOST_AUTO_TEST_CASE(shards_with_different_surrogates_do_not_merge) {
  t::TempDir tmp;
  t::WriteText(tmp / "c.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: s, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 512) +
                   ReferenceLine() +
                   "criteria:\n  - {id: A, metric: prediction_agreement, threshold: {gte: 0.0},"
                   " severity: advisory}\n");
  std::vector<json> partials;
  for (const char* shard : {"0/2", "1/2"}) {
    const fs::path out = tmp / (std::string("p") + shard[0]);
    const auto r = t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " --shard " + shard +
                             " --out " + t::Quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    partials.push_back(json::parse(t::ReadText(out / "partial.json")));
  }
  auto with_surrogate = [](json partial, const fs::path& model) {
    partial["surrogate"] = partial["reference"];
    partial["surrogate"]["path"] = model.filename().string();
    partial["surrogate"]["sha256"] = Sha256(model);
    return partial;
  };
  auto refused = [&](const json& first, const json& second, const std::string& expected) {
    t::WriteText(tmp / "x0" / "partial.json", first.dump());
    t::WriteText(tmp / "x1" / "partial.json", second.dump());
    const auto r =
        t::RunCli("-q merge " + t::Quote(tmp / "x0" / "partial.json") + " " +
                  t::Quote(tmp / "x1" / "partial.json") + " --out " + t::Quote(tmp / "merged"));
    BOOST_TEST(r.exit_code == 3, r.err);
    BOOST_TEST(r.err.find(expected) != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(!fs::exists(tmp / "merged" / "report.json"));
  };
  const fs::path student = t::ModelsDir() / "fashion_cnn_student.pt";
  const fs::path pruned = t::ModelsDir() / "fashion_cnn_pruned.pt";
  refused(with_surrogate(partials[0], student), with_surrogate(partials[1], pruned),
          (tmp / "x1" / "partial.json").string() +
              ": foreign partial: its surrogate model digest " + Sha256(pruned).substr(0, 12) +
              "... differs from " + (tmp / "x0" / "partial.json").string() + "'s " +
              Sha256(student).substr(0, 12));
  refused(with_surrogate(partials[0], student), partials[1],
          ": foreign partial: its surrogate model digest null differs");
  // The unchanged shards merge.
  const auto ok =
      t::RunCli("-q merge " + t::Quote(tmp / "p0" / "partial.json") + " " +
                t::Quote(tmp / "p1" / "partial.json") + " --out " + t::Quote(tmp / "good"));
  BOOST_TEST(ok.exit_code == 0, ok.err);
}
