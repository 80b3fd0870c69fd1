// End-to-end compression audit: the int8 twin (examples/models/fashion_cnn_int8.pt) against its
// FP32 reference (fashion_cnn.pt) on the first Fashion-MNIST test images, through the greenlight
// binary. The paired figures (agreement, accuracy delta, McNemar's exact p, retention) are
// recomputed independently with PyTorch and numpy (and exact fractions for the p-value), in batches
// of 256 rows as greenlight runs them (int8 dynamic quantisation scales activations per batch). The
// report names both models as subjects; verify --model checks either; a paired metric without a
// reference is bad input naming the criterion.
#define BOOST_TEST_MODULE compare_e2e
#include <boost/math/distributions/students_t.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/report_json.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using json = nlohmann::json;

namespace {

constexpr int kRows = 2000;

using greenlight::testing::Result;

std::string PairedCriteria(const std::string& reference_section) {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: compare, version: '1'}\n" +
         t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", kRows) + reference_section +
         "criteria:\n"
         "  - {id: D, metric: accuracy_delta, threshold: {gte: -0.02}, severity: mandatory,"
         " confidence: 0.95}\n"
         "  - {id: A, metric: prediction_agreement, threshold: {gte: 0.95}, severity: mandatory}\n"
         "  - {id: M, metric: mcnemar_p_value, threshold: {gte: 0.01}, severity: advisory}\n"
         "  - {id: R, metric: accuracy_retention, threshold: {gte: 0.99}, severity: mandatory,"
         " confidence: 0.95}\n";
}

// b (int8 right, fp32 wrong), c, a, d, agreeing rows, and McNemar's exact p, by PyTorch and
// Python's exact fractions.
struct Reference {
  int64_t a = 0, b = 0, c = 0, d = 0, agree = 0;
  double p = 0.0;
};

// Computed once for both test cases.
const Reference& ComputeWithPyTorch() {
  static const Reference computed = [] {
    const auto py = t::RunPython(
        "import gzip, math, numpy as np, torch\n"
        "torch.backends.quantized.engine = 'qnnpack'  # As greenlight's runtime selects it.\n"
        "from fractions import Fraction\n"
        "x = np.frombuffer(gzip.open('" +
        (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
        "').read()[16:], np.uint8).astype(np.float32) / 255.0\n"
        "y = np.frombuffer(gzip.open('" +
        (t::FashionDir() / "t10k-labels-idx1-ubyte.gz").string() +
        "').read()[8:], np.uint8).astype(np.int64)\n"
        "n = " +
        std::to_string(kRows) +
        "\n"
        "def predict(path):\n"
        "    m = torch.jit.load(path)\n"
        "    out = []\n"
        "    with torch.no_grad():\n"
        "        for s in range(0, n, 256):\n"
        "            e = min(n, s + 256)\n"
        "            xb = torch.from_numpy(x[s * 784:e * 784].copy()).reshape(-1, 1, 28, 28)\n"
        "            out.append(m(xb).argmax(1).numpy())\n"
        "    return np.concatenate(out)\n"
        "cand = predict('" +
        (t::ModelsDir() / "fashion_cnn_int8.pt").string() + "')\nref = predict('" +
        (t::ModelsDir() / "fashion_cnn.pt").string() +
        "')\n"
        "yc, yr = cand == y[:n], ref == y[:n]\n"
        "a, b, c, d = [int(v) for v in ((yc & yr).sum(), (yc & ~yr).sum(), (~yc & yr).sum(),"
        " (~yc & ~yr).sum())]\n"
        "m = b + c\n"
        "p = min(Fraction(1), 2 * Fraction(sum(math.comb(m, i) for i in range(min(b, c) + 1)),"
        " 2 ** m)) if m else Fraction(1)\n"
        "print(a, b, c, d, int((cand == ref).sum()), repr(float(p)))\n");
    BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
    std::istringstream in(py.out);
    Reference r;
    in >> r.a >> r.b >> r.c >> r.d >> r.agree >> r.p;
    BOOST_REQUIRE(r.a + r.b + r.c + r.d == kRows);
    return r;
  }();
  return computed;
}

}  // namespace

BOOST_AUTO_TEST_CASE(paired_metrics_equal_pytorch_and_both_models_are_subjects) {
  t::TempDir tmp;
  t::WriteText(tmp / "c.yaml",
               PairedCriteria("reference: {path: " + (t::ModelsDir() / "fashion_cnn.pt").string() +
                              ", output: log_probabilities}\n"));
  const auto keygen = t::RunCli("keygen --out " + t::Quote(tmp / "k"));
  BOOST_REQUIRE_MESSAGE(keygen.exit_code == 0, keygen.err);
  const auto audit = t::RunCli("audit -c " + t::Quote(tmp / "c.yaml") + " -o " +
                               t::Quote(tmp / "out") + " -k " + t::Quote(tmp / "k.key"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code <= 2, audit.out << audit.err);
  BOOST_TEST(audit.out.find("reference ") != std::string::npos, audit.out);
  BOOST_TEST(audit.err.find("qnnpack") == std::string::npos, audit.err);  // LibTorch kept quiet.
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const Reference& ref = ComputeWithPyTorch();

  const json& delta = Result(report, "D");
  BOOST_TEST(delta["value"].get<double>() == static_cast<double>(ref.b - ref.c) / kRows);
  BOOST_TEST(delta["details"]["paired_table"]["both_correct"] == ref.a);
  BOOST_TEST(delta["details"]["paired_table"]["model_only_correct"] == ref.b);
  BOOST_TEST(delta["details"]["paired_table"]["reference_only_correct"] == ref.c);
  BOOST_TEST(delta["details"]["paired_table"]["both_wrong"] == ref.d);
  BOOST_TEST(delta["interval"]["low"].get<double>() <= delta["value"].get<double>());
  BOOST_TEST(delta["value"].get<double>() <= delta["interval"]["high"].get<double>());

  const json& agreement = Result(report, "A");
  BOOST_TEST(agreement["value"].get<double>() == static_cast<double>(ref.agree) / kRows);
  BOOST_TEST(agreement["samples"] == kRows);

  const json& mcnemar = Result(report, "M");
  BOOST_TEST(mcnemar["value"].get<double>() == ref.p, boost::test_tools::tolerance(1e-10));
  BOOST_TEST(mcnemar["details"]["discordant_pairs"] == ref.b + ref.c);

  const json& retention = Result(report, "R");
  BOOST_TEST(retention["value"].get<double>() ==
             static_cast<double>(ref.a + ref.b) / static_cast<double>(ref.a + ref.c));
  BOOST_TEST(retention["interval"]["low"].get<double>() <= retention["value"].get<double>());

  // Both models are subjects, with the digests of their files.
  const json& subject = report["subject"];
  BOOST_REQUIRE(subject.size() == 2u);
  const auto sha = [](const std::filesystem::path& p) {
    return t::RunShell("sha256sum " + t::Quote(p)).out.substr(0, 64);
  };
  BOOST_TEST(subject[0]["name"] == "fashion_cnn_int8.pt");
  BOOST_TEST(subject[0]["digest"]["sha256"] == sha(t::ModelsDir() / "fashion_cnn_int8.pt"));
  BOOST_TEST(subject[1]["name"] == "fashion_cnn.pt");
  BOOST_TEST(subject[1]["digest"]["sha256"] == sha(t::ModelsDir() / "fashion_cnn.pt"));
  BOOST_TEST(report["predicate"]["reference"]["sha256"] == subject[1]["digest"]["sha256"]);

  // verify --model accepts either subject, and rejects a file that is neither.
  const std::string verify = "verify " + t::Quote(tmp / "out" / "report.dsse.json") + " --pubkey " +
                             t::Quote(tmp / "k.pub");
  auto v = t::RunCli(verify + " --model " + t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt") +
                     " --model " + t::Quote(t::ModelsDir() / "fashion_cnn.pt"));
  BOOST_TEST(v.exit_code == 0, v.out << v.err);
  v = t::RunCli(verify + " --model " + t::Quote(t::ModelsDir() / "hmda_credit.pt"));
  BOOST_TEST(v.exit_code == 1, v.out << v.err);
}

// The same criteria audit any pair given on the command line; without a reference, a paired
// metric is bad input naming the criterion, and nothing is written.
BOOST_AUTO_TEST_CASE(reference_on_the_command_line_and_missing) {
  t::TempDir tmp;
  t::WriteText(tmp / "c.yaml", PairedCriteria(""));
  const auto missing =
      t::RunCli("audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "none"));
  BOOST_TEST(missing.exit_code == 3, missing.err);
  BOOST_TEST(missing.err.find("c.yaml:") != std::string::npos, missing.err);
  BOOST_TEST(missing.err.find("criterion D: metric 'accuracy_delta' compares with a reference "
                              "model") != std::string::npos,
             missing.err);
  BOOST_TEST(!std::filesystem::exists(tmp / "none"));

  // Swapped: the FP32 model as the candidate, the int8 twin as its reference.
  const auto swapped =
      t::RunCli("audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "out") +
                " --model " + t::Quote(t::ModelsDir() / "fashion_cnn.pt") + " --reference " +
                t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt"));
  BOOST_REQUIRE_MESSAGE(swapped.exit_code <= 2, swapped.out << swapped.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const Reference& ref = ComputeWithPyTorch();
  // Model and reference exchanged: the discordant cells swap, the delta changes sign.
  BOOST_TEST(Result(report, "D")["value"].get<double>() ==
             static_cast<double>(ref.c - ref.b) / kRows);
  BOOST_TEST(Result(report, "M")["value"].get<double>() == ref.p,
             boost::test_tools::tolerance(1e-10));
  BOOST_TEST(report["subject"][1]["name"] == "fashion_cnn_int8.pt");
}

// LibTorch's qnnpack warns on every forward pass of the int8 twin (before routing: one glog line
// a batch, hundreds of thousands in a full int8 audit with attacks). Quiet by default; --verbose
// shows them.
BOOST_AUTO_TEST_CASE(libtorch_warnings_are_quiet_unless_verbose) {
  t::TempDir tmp;
  t::WriteText(tmp / "c.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: q, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 1000) +
                   "criteria:\n  - {id: A, metric: accuracy, threshold: {gte: 0.5},"
                   " severity: mandatory}\n");
  const auto quiet =
      t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "q"));
  BOOST_REQUIRE_MESSAGE(quiet.exit_code == 0, quiet.err);
  BOOST_TEST(quiet.err.size() < 200u, quiet.err);
  BOOST_TEST(quiet.err.find("qnnpack") == std::string::npos, quiet.err);
  const auto verbose =
      t::RunCli("-q -v audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "v"));
  BOOST_REQUIRE_MESSAGE(verbose.exit_code == 0, verbose.err);
  BOOST_TEST(verbose.err.find("qnnpack") != std::string::npos, verbose.err);
}

// The shipped compression policy on the shipped twins, as a user runs it: every criterion
// measured (none ERROR), the sizes as the files are, the speedup's interval around its value.
BOOST_AUTO_TEST_CASE(shipped_compression_policy_runs_on_the_int8_twin) {
  t::TempDir tmp;
  const auto r =
      t::RunCli("-q audit -c " + t::Quote(t::SourceDir() / "criteria" / "compression.yaml") +
                " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(r.exit_code <= 2, r.out << r.err);
  BOOST_TEST(r.err.empty(), r.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  BOOST_TEST(report["subject"].size() == 2u);
  for (const json& result : report["predicate"]["results"]) {
    BOOST_TEST(result["status"] != "ERROR", result.dump());
  }
  const double int8_bytes =
      static_cast<double>(std::filesystem::file_size(t::ModelsDir() / "fashion_cnn_int8.pt"));
  const double fp32_bytes =
      static_cast<double>(std::filesystem::file_size(t::ModelsDir() / "fashion_cnn.pt"));
  BOOST_TEST(Result(report, "CMP-06")["value"].get<double>() == 1.0 - int8_bytes / fp32_bytes,
             boost::test_tools::tolerance(1e-12));
  const json& speedup = Result(report, "CMP-05");
  BOOST_TEST(speedup["value"].get<double>() > 0.0);
  BOOST_TEST(speedup["interval"]["low"].get<double>() <= speedup["value"].get<double>());
  BOOST_TEST(speedup["value"].get<double>() <= speedup["interval"]["high"].get<double>());
  BOOST_TEST(speedup["samples"] == 20);
  // The int8 twin's robustness: a transfer attack crafted on the FP32 reference.
  const json& robust = Result(report, "CMP-11");
  BOOST_TEST(robust["samples"] == 1000);
  BOOST_TEST(robust["details"]["attack"]["crafted_on"]["sha256"] ==
             report["predicate"]["reference"]["sha256"]);
  BOOST_TEST(robust["method"].get<std::string>().find("transfer attack crafted on the reference") !=
             std::string::npos);
  // Other metrics compared on both models (macro F1 retention, ECE delta): each model's figure in
  // the details, and the paired interval around the value.
  for (const char* id : {"CMP-13", "CMP-14"}) {
    const json& c = Result(report, id);
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(c["samples"] == 10000);
      BOOST_TEST(c["details"]["model"]["value"].is_number());
      BOOST_TEST(c["details"]["reference"]["value"].is_number());
      BOOST_TEST(c["interval"]["low"].get<double>() <= c["value"].get<double>());
      BOOST_TEST(c["value"].get<double>() <= c["interval"]["high"].get<double>());
    }
  }
  const json& f1 = Result(report, "CMP-13");
  BOOST_TEST(f1["details"]["metric"] == "f1");
  BOOST_TEST(f1["value"].get<double>() == f1["details"]["model"]["value"].get<double>() /
                                              f1["details"]["reference"]["value"].get<double>());
}

// throughput_ratio, peak_memory_ratio and flops_reduction of the int8 twin against its FP32
// reference, through the binary: each timed value is the geometric mean of the ratios of the
// per-round figures the report records (recomputed here, with its t interval), and the interval
// contains it; the FLOPs are the hand count of both (2 × (20·24·24·25 + 20·20·20·500 + 2000·50 +
// 50·10) = 8,777,000: dynamic quantization keeps every multiply-accumulate).
BOOST_AUTO_TEST_CASE(throughput_memory_and_flops_ratios_of_the_int8_twin) {
  t::TempDir tmp;
  t::WriteText(
      tmp / "c.yaml",
      "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: ratios, version: '1'}\n" +
          t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 512) +
          "reference: {path: " + (t::ModelsDir() / "fashion_cnn.pt").string() +
          "}\ncriteria:\n"
          "  - {id: T, metric: throughput_ratio, params: {batch_size: 32, rounds: 10,"
          " queries_per_round: 4, warmup_queries: 2}, threshold: {gte: 0.5},"
          " severity: advisory, confidence: 0.95}\n"
          "  - {id: P, metric: peak_memory_ratio, params: {batch_size: 32, rounds: 6,"
          " queries_per_round: 2}, threshold: {lte: 1.5}, severity: advisory,"
          " confidence: 0.95}\n"
          "  - {id: F, metric: flops_reduction, threshold: {gte: 0.0},"
          " severity: mandatory}\n");
  const auto audit =
      t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code <= 2, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));

  // The estimator, recomputed: geometric mean of the rounds' ratios, Student's t on their logs.
  const auto check_rounds = [](const json& r, const std::vector<double>& ratios) {
    const double n = static_cast<double>(ratios.size());
    double mean = 0.0;
    for (double x : ratios) mean += std::log(x) / n;
    double ss = 0.0;
    for (double x : ratios) ss += (std::log(x) - mean) * (std::log(x) - mean);
    const double level = r["interval"]["level"].get<double>();
    const double tq = boost::math::quantile(boost::math::students_t(n - 1.0), 0.5 + level / 2.0);
    const double half = tq * std::sqrt(ss / (n - 1.0) / n);
    const double value = r["value"].get<double>();
    BOOST_TEST(value == std::exp(mean), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(r["interval"]["low"].get<double>() <= value);
    BOOST_TEST(value <= r["interval"]["high"].get<double>());
    BOOST_TEST(r["interval"]["low"].get<double>() == std::min(value, std::exp(mean - half)),
               boost::test_tools::tolerance(1e-9));
    BOOST_TEST(r["interval"]["high"].get<double>() == std::max(value, std::exp(mean + half)),
               boost::test_tools::tolerance(1e-9));
  };

  const json& tr = Result(report, "T");
  BOOST_TEST_MESSAGE("throughput_ratio " << tr["value"] << " " << tr["interval"].dump());
  BOOST_TEST(tr["samples"] == 10);
  BOOST_TEST(tr["details"]["batch_size"] == 32);
  const auto& model_sps = tr["details"]["per_round_model_samples_per_s"];
  const auto& reference_sps = tr["details"]["per_round_reference_samples_per_s"];
  BOOST_REQUIRE(model_sps.size() == 10u);
  BOOST_REQUIRE(reference_sps.size() == 10u);
  std::vector<double> ratios;
  for (size_t i = 0; i < model_sps.size(); ++i) {
    ratios.push_back(model_sps[i].get<double>() / reference_sps[i].get<double>());
    BOOST_TEST(tr["details"]["per_round_ratio"][i].get<double>() == ratios.back(),
               boost::test_tools::tolerance(1e-12));
  }
  check_rounds(tr, ratios);

  const json& pm = Result(report, "P");
  BOOST_TEST_MESSAGE("peak_memory_ratio " << pm["value"] << " " << pm["interval"].dump());
  BOOST_TEST(pm["details"]["peak_reset"] == true);
  const auto& model_mb = pm["details"]["per_round_model_peak_mb"];
  const auto& reference_mb = pm["details"]["per_round_reference_peak_mb"];
  BOOST_REQUIRE(model_mb.size() == 6u);
  ratios.clear();
  for (size_t i = 0; i < model_mb.size(); ++i) {
    // Both models are loaded in the same process: each peak holds both models' weights (MB).
    BOOST_TEST(reference_mb[i].get<double>() > 1.0);
    ratios.push_back(model_mb[i].get<double>() / reference_mb[i].get<double>());
  }
  check_rounds(pm, ratios);

  const json& fr = Result(report, "F");
  BOOST_TEST(fr["value"].get<double>() == 0.0);
  BOOST_TEST(fr["status"] == "PASS");
  BOOST_TEST(fr["details"]["model"]["flops"] == 8777000);
  BOOST_TEST(fr["details"]["reference"]["flops"] == 8777000);
  BOOST_TEST((!fr.contains("interval") || fr["interval"].is_null()));
}

// Robustness of the int8 twin, which has no gradients, through the binary: crafted on its FP32
// reference (craft_on: reference) the attack measures the twin and says it is a transfer attack
// with the reference's digest; the white-box attack on the twin is ERROR naming the option to
// use, and the other criteria still run. Without a reference, craft_on: reference is bad input
// at the criterion, and nothing is written.
BOOST_AUTO_TEST_CASE(transfer_attack_on_the_int8_twin) {
  t::TempDir tmp;
  const std::string criteria =
      "criteria:\n"
      "  - {id: T, metric: adversarial_accuracy, params: {epsilon: 0.05, limit: 64,"
      " craft_on: reference}, threshold: {gte: 0.0}, severity: mandatory, confidence: 0.95}\n"
      "  - {id: W, metric: adversarial_accuracy, params: {epsilon: 0.05, limit: 64},"
      " threshold: {gte: 0.0}, severity: advisory}\n";
  t::WriteText(tmp / "c.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: t, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 64) +
                   "reference: {path: " + (t::ModelsDir() / "fashion_cnn.pt").string() + "}\n" +
                   criteria);
  const auto audit =
      t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code == 0, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const json& transfer = Result(report, "T");
  BOOST_TEST(transfer["status"] == "PASS", transfer.dump());
  BOOST_TEST(transfer["samples"] == 64);
  const std::string sha =
      t::RunShell("sha256sum " + t::Quote(t::ModelsDir() / "fashion_cnn.pt")).out.substr(0, 64);
  BOOST_TEST(transfer["details"]["attack"]["crafted_on"]["sha256"] == sha);
  BOOST_TEST(transfer["method"].get<std::string>().find(
                 "transfer attack crafted on the reference model (sha256 " + sha.substr(0, 12)) !=
             std::string::npos);
  const json& white_box = Result(report, "W");
  BOOST_TEST(white_box["status"] == "ERROR");
  BOOST_TEST(
      white_box["message"].get<std::string>().find("craft_on: reference") != std::string::npos,
      white_box.dump());

  t::WriteText(tmp / "bare.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: t, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 64) + criteria);
  const auto missing =
      t::RunCli("audit -c " + t::Quote(tmp / "bare.yaml") + " -o " + t::Quote(tmp / "none"));
  BOOST_TEST(missing.exit_code == 3, missing.err);
  // Line 15 (3 header lines, 10 of model and dataset, criteria:), column 21: the metric's value.
  BOOST_TEST(missing.err.find("bare.yaml:15:21: criteria.0.metric: criterion T: metric "
                              "'adversarial_accuracy' compares with a reference model") !=
                 std::string::npos,
             missing.err);
  BOOST_TEST(!std::filesystem::exists(tmp / "none"));
}

// energy_saving of the int8 twin against its FP32 reference with the CPU-time estimate for both:
// the value is 1 − the geometric mean of the ratios of the per-round energies the report records
// (recomputed here, with its t interval on the log ratios, turned into 1 − ratio), the interval
// contains it, and the result is labelled an estimate-based ratio that says what the shared
// method cannot show, never asking for more samples. A meter that cannot read leaves no value
// and says why; without a reference the criterion is bad input at its place.
BOOST_AUTO_TEST_CASE(energy_saving_of_the_int8_twin_from_the_estimate) {
  t::TempDir tmp;
  const std::string run = "rounds: 8, queries_per_round: 64, warmup_queries: 16";
  const std::string criteria =
      "criteria:\n"
      "  - {id: E, metric: energy_saving, params: {meter: estimate, " +
      run +
      "}, threshold: {gte: 0.0}, severity: advisory, confidence: 0.95}\n"
      "  - {id: R, metric: energy_saving, params: {meter: rapl, rapl_root: " +
      (tmp / "no-powercap").string() + ", " + run +
      "}, threshold: {gte: 0.0}, severity: advisory}\n";
  const std::string head =
      "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: saving, version: '1'}\n" +
      t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", 512);
  t::WriteText(tmp / "c.yaml", head + "reference: {path: " +
                                   (t::ModelsDir() / "fashion_cnn.pt").string() + "}\n" + criteria);
  const auto audit =
      t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code <= 2, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));

  const json& e = Result(report, "E");
  const json& d = e["details"];
  BOOST_TEST_MESSAGE("energy_saving " << e["value"] << " " << e["interval"].dump() << " model "
                                      << d["model_energy_per_inference_mj"] << " mJ, reference "
                                      << d["reference_energy_per_inference_mj"] << " mJ");
  BOOST_TEST(e["samples"] == 8);
  BOOST_TEST(e["unit"] == "ratio");
  const auto& model_j = d["per_round_model_energy_j"];
  const auto& reference_j = d["per_round_reference_energy_j"];
  BOOST_REQUIRE(model_j.size() == 8u);
  BOOST_REQUIRE(reference_j.size() == 8u);
  double mean = 0.0, model_total = 0.0, reference_total = 0.0;
  for (size_t i = 0; i < 8; ++i) {
    const double ratio = model_j[i].get<double>() / reference_j[i].get<double>();
    BOOST_TEST(d["per_round_ratio"][i].get<double>() == ratio, boost::test_tools::tolerance(1e-12));
    mean += std::log(ratio) / 8.0;
    model_total += model_j[i].get<double>();
    reference_total += reference_j[i].get<double>();
  }
  double ss = 0.0;
  for (size_t i = 0; i < 8; ++i) {
    const double x = std::log(model_j[i].get<double>() / reference_j[i].get<double>());
    ss += (x - mean) * (x - mean);
  }
  const double level = e["interval"]["level"].get<double>();
  const double tq = boost::math::quantile(boost::math::students_t(7.0), 0.5 + level / 2.0);
  const double half = tq * std::sqrt(ss / 7.0 / 8.0);
  const double value = e["value"].get<double>();
  BOOST_TEST(value == 1.0 - std::exp(mean), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e["interval"]["low"].get<double>() <= value);
  BOOST_TEST(value <= e["interval"]["high"].get<double>());
  BOOST_TEST(e["interval"]["low"].get<double>() == 1.0 - std::exp(mean + half),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(e["interval"]["high"].get<double>() == 1.0 - std::exp(mean - half),
             boost::test_tools::tolerance(1e-9));
  // Each model's energy per inference: its rounds' joules / its 8 × 64 inferences, in mJ.
  BOOST_TEST(d["model_energy_per_inference_mj"].get<double>() == model_total / 512.0 * 1e3,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(d["reference_energy_per_inference_mj"].get<double>() == reference_total / 512.0 * 1e3,
             boost::test_tools::tolerance(1e-12));
  // Labelled an estimate-based ratio, never measured energy.
  const std::string method = e["method"].get<std::string>();
  BOOST_TEST(method.rfind("estimate:cpu-time ratio", 0) == 0u, method);
  BOOST_TEST(method.find("not measured energy") != std::string::npos, method);
  BOOST_TEST(d["estimate"] == true);
  BOOST_TEST(d["energy_method"] == "estimate:cpu-time");
  BOOST_TEST(d["shared_method"]["cannot_show"].get<std::string>().find("per CPU-second") !=
             std::string::npos);
  if (e["status"] != "PASS") {
    const std::string message = e["message"].get<std::string>();
    BOOST_TEST(message.find("estimate-based ratio, not measured energy") != std::string::npos,
               message);
    BOOST_TEST(message.find("more data") == std::string::npos, message);
    BOOST_TEST(message.find("more samples") == std::string::npos, message);
  }

  // RAPL forced where there is none: no value, the reason.
  const json& r = Result(report, "R");
  BOOST_TEST(r["status"] == "INCONCLUSIVE");
  BOOST_TEST(r["value"].is_null());
  BOOST_TEST(r["details"]["meters"].empty());
  BOOST_TEST(r["details"]["rounds"] == 8);
  BOOST_TEST(r["message"].get<std::string>().find("rapl: meter unavailable") != std::string::npos,
             r["message"]);

  // Without a reference: bad input at the criterion's metric, nothing written.
  t::WriteText(tmp / "none.yaml", head + criteria);
  const auto missing =
      t::RunCli("audit -c " + t::Quote(tmp / "none.yaml") + " -o " + t::Quote(tmp / "none"));
  BOOST_TEST(missing.exit_code == 3, missing.err);
  BOOST_TEST(missing.err.find("none.yaml:15:21: criteria.0.metric:") != std::string::npos,
             missing.err);
  BOOST_TEST(missing.err.find("criterion E: metric 'energy_saving' compares with a reference "
                              "model") != std::string::npos,
             missing.err);
  BOOST_TEST(!std::filesystem::exists(tmp / "none"));
}
