// metric_delta and metric_retention end to end, through the greenlight binary: the int8 twin
// (examples/models/fashion_cnn_int8.pt) against its FP32 reference (fashion_cnn.pt) on the first
// 2,000 Fashion-MNIST test images. Macro F1 and ECE (15 equal-width bins) of each model, their
// difference and ratio are recomputed independently with PyTorch and numpy, in batches of 256
// rows as greenlight runs them (int8 dynamic quantisation scales activations per batch). The
// criteria loader's errors for the compared metric point at the parameter's line and column.
// Robustness metrics paired by their per-row outcomes run through the binary against PyTorch.
#define BOOST_TEST_MODULE compare_metrics_e2e
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/e2e/shard_fixtures.h"
#include "tests/report_json.h"
#include "tests/test_util.h"

namespace t = greenlight::testing;
using json = nlohmann::json;

namespace {

constexpr int kRows = 2000;

using greenlight::testing::Result;

std::string Header() {
  return "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: compare, version: '1'}\n" +
         t::FashionCnnSections(t::ModelsDir() / "fashion_cnn_int8.pt", kRows);
}

std::string Reference() {
  return "reference: {path: " + (t::ModelsDir() / "fashion_cnn.pt").string() + "}\n";
}

// Macro F1 and ECE of the int8 twin and of the FP32 model, by PyTorch and numpy.
struct Figures {
  double f1_model = 0, f1_reference = 0, ece_model = 0, ece_reference = 0;
};

Figures ComputeWithPyTorch() {
  const auto py = t::RunPython(
      "import gzip, numpy as np, torch\n"
      "torch.backends.quantized.engine = 'qnnpack'  # As greenlight's runtime selects it.\n"
      "torch.set_num_threads(1)  # As the audit below: the same float reductions.\n"
      "x = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
      "').read()[16:], np.uint8).astype(np.float32)\n"
      "x = x * np.float32(0.00392156862745098)  # The dataset's scale, in float as it reads.\n"
      "y = np.frombuffer(gzip.open('" +
      (t::FashionDir() / "t10k-labels-idx1-ubyte.gz").string() +
      "').read()[8:], np.uint8).astype(np.int64)\n"
      "n = " +
      std::to_string(kRows) +
      "\n"
      "y = y[:n]\n"
      "def outputs(path):\n"
      "    m = torch.jit.load(path)\n"
      "    out = []\n"
      "    with torch.no_grad():\n"
      "        for s in range(0, n, 256):\n"
      "            e = min(n, s + 256)\n"
      "            xb = torch.from_numpy(x[s * 784:e * 784].copy()).reshape(-1, 1, 28, 28)\n"
      "            out.append(m(xb).numpy())\n"
      "    return np.exp(np.concatenate(out).astype(np.float64))  # log-probabilities\n"
      "def macro_f1(pred):\n"
      "    f = []\n"
      "    for k in range(10):\n"
      "        tp = np.sum((pred == k) & (y == k)); fp = np.sum((pred == k) & (y != k))\n"
      "        fn = np.sum((pred != k) & (y == k))\n"
      "        if tp + fp + fn > 0: f.append(2 * tp / (2 * tp + fp + fn))\n"
      "    return float(np.mean(f))\n"
      "def ece(p):\n"
      "    conf = p.max(1); right = (p.argmax(1) == y).astype(np.float64)\n"
      "    edges = np.linspace(0, 1, 16)\n"
      "    b = np.clip(np.searchsorted(edges, conf, side='left') - 1, 0, 14)\n"
      "    e = 0.0\n"
      "    for m in range(15):\n"
      "        s = b == m\n"
      "        if s.any(): e += s.sum() / n * abs(right[s].mean() - conf[s].mean())\n"
      "    return e\n"
      "c = outputs('" +
      (t::ModelsDir() / "fashion_cnn_int8.pt").string() + "')\nr = outputs('" +
      (t::ModelsDir() / "fashion_cnn.pt").string() +
      "')\n"
      "print(repr(macro_f1(c.argmax(1))), repr(macro_f1(r.argmax(1))), repr(ece(c)),"
      " repr(ece(r)))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  std::istringstream in(py.out);
  Figures f;
  in >> f.f1_model >> f.f1_reference >> f.ece_model >> f.ece_reference;
  BOOST_REQUIRE(f.f1_model > 0.5);
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(delta_and_retention_equal_pytorch_and_numpy) {
  t::TempDir tmp;
  t::WriteText(tmp / "c.yaml",
               Header() + Reference() +
                   "criteria:\n"
                   "  - {id: F1D, metric: metric_delta, params: {metric: f1, average: macro},"
                   " threshold: {gte: -0.01}, severity: mandatory, confidence: 0.95}\n"
                   "  - {id: F1R, metric: metric_retention, params: {metric: f1, average: macro},"
                   " threshold: {gte: 0.99}, severity: advisory, confidence: 0.95}\n"
                   "  - {id: ECED, metric: metric_delta, params: {metric: ece},"
                   " threshold: {lte: 0.01}, severity: advisory, confidence: 0.95}\n"
                   "  - {id: F1, metric: f1, params: {average: macro}, threshold: {gte: 0.5},"
                   " severity: advisory, confidence: 0.95}\n");
  const auto audit = t::RunCli("audit --threads 1 -c " + t::Quote(tmp / "c.yaml") + " -o " +
                               t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code <= 2, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const Figures f = ComputeWithPyTorch();
  const auto close = boost::test_tools::tolerance(1e-12);

  const json& d = Result(report, "F1D");
  BOOST_TEST_MESSAGE("metric_delta f1 " << d["value"] << " " << d["interval"].dump());
  BOOST_TEST(d["value"].get<double>() == f.f1_model - f.f1_reference, close);
  BOOST_TEST(d["details"]["model"]["value"].get<double>() == f.f1_model, close);
  BOOST_TEST(d["details"]["reference"]["value"].get<double>() == f.f1_reference, close);
  BOOST_TEST(d["details"]["metric"] == "f1");
  BOOST_TEST(d["details"]["params"]["average"] == "macro");
  BOOST_TEST(d["params"]["metric"] == "f1");
  BOOST_TEST(d["samples"] == kRows);
  BOOST_TEST(d["interval"]["low"].get<double>() <= d["value"].get<double>());
  BOOST_TEST(d["value"].get<double>() <= d["interval"]["high"].get<double>());
  BOOST_TEST(d["method"].get<std::string>().find("paired percentile bootstrap") !=
             std::string::npos);
  // The model's own f1 in the comparison is the f1 criterion's, interval included.
  const json& own = Result(report, "F1");
  BOOST_TEST(d["details"]["model"]["value"] == own["value"]);
  BOOST_TEST(d["details"]["model"]["interval"]["low"] == own["interval"]["low"]);

  const json& r = Result(report, "F1R");
  BOOST_TEST_MESSAGE("metric_retention f1 " << r["value"] << " " << r["interval"].dump());
  BOOST_TEST(r["value"].get<double>() == f.f1_model / f.f1_reference, close);
  BOOST_TEST(r["unit"] == "ratio");

  const json& e = Result(report, "ECED");
  BOOST_TEST_MESSAGE("metric_delta ece " << e["value"] << " " << e["interval"].dump());
  BOOST_TEST(e["value"].get<double>() == f.ece_model - f.ece_reference, close);
  BOOST_TEST(e["details"]["model"]["value"].get<double>() == f.ece_model, close);
  BOOST_TEST(e["interval"]["low"].get<double>() <= e["value"].get<double>());
  BOOST_TEST(e["value"].get<double>() <= e["interval"]["high"].get<double>());

  // The console table shows both models' figures beside the comparison.
  BOOST_TEST(audit.out.find("f1: reference model") != std::string::npos, audit.out);
}

// Bad input, one line each, exit 3, nothing written: the place is the parameter's line:col.
BOOST_AUTO_TEST_CASE(load_errors_name_the_compared_metric_and_its_place) {
  t::TempDir tmp;
  struct Case {
    std::string criterion;
    bool reference;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"  - {id: X, metric: metric_delta, params: {metric: f2}, threshold: {gte: 0}, severity: "
       "mandatory}\n",
       true, "criteria.0.params.metric: unknown metric 'f2' (did you mean"},
      {"  - {id: X, metric: metric_delta, params: {metric: f1, average: mean},"
       " threshold: {gte: 0}, severity: mandatory}\n",
       true, "criteria.0.params.average: metric 'f1': "},
      {"  - {id: X, metric: metric_retention, params: {metric: latency_p50_ms},"
       " threshold: {gte: 0}, severity: mandatory}\n",
       true, "criteria.0.params.metric: metric 'latency_p50_ms' has no row-wise statistics"},
      {"  - {id: X, metric: metric_delta, params: {metric: f1}, threshold: {gte: 0}, severity: "
       "mandatory}\n",
       false, "criterion X: metric 'metric_delta' compares with a reference model"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const auto file = tmp / ("c" + std::to_string(i++)) / "c.yaml";
    t::WriteText(
        file, Header() + (c.reference ? Reference() : std::string()) + "criteria:\n" + c.criterion);
    const auto out = t::RunCli("audit -c " + t::Quote(file) + " -o " + t::Quote(tmp / "none"));
    BOOST_TEST(out.exit_code == 3, out.err);
    BOOST_TEST(out.err.find(c.expected) != std::string::npos, out.err);
    // The criterion is on line 16 (after 13 lines of model and dataset, reference:, criteria:).
    BOOST_TEST(out.err.find("c.yaml:1") != std::string::npos, out.err);
    BOOST_TEST(!std::filesystem::exists(tmp / "none"));
  }
}

// A fairness metric compared through the rows pass's paired groups work, on the HMDA credit model
// against itself (the only tabular model shipped): both models give the same figure as the
// fairness criterion alone, the delta is exactly 0 with the interval [0, 0] (every resample
// applies the same rows to identical predictions), and the retention of a ratio exactly 1.
BOOST_AUTO_TEST_CASE(fairness_metrics_compared_on_identical_models) {
  t::TempDir tmp;
  t::MakeHmdaVolume(tmp.path());
  std::string criteria = t::HmdaCriteria();
  criteria = criteria.substr(0, criteria.find("criteria:\n"));
  t::WriteText(
      tmp / "cmp.yaml",
      criteria +
          "reference: {path: models/hmda_credit.pt}\ncriteria:\n"
          "  - {id: EOP, metric: equal_opportunity_difference, params: {sensitive: afam,"
          " favourable: 0}, threshold: {lte: 0.2}, severity: advisory,"
          " confidence: 0.95}\n"
          "  - {id: EOPD, metric: metric_delta, params: {metric:"
          " equal_opportunity_difference, sensitive: afam, favourable: 0,"
          " paired_resamples: 200}, threshold: {lte: 0.01}, severity: advisory,"
          " confidence: 0.95}\n"
          "  - {id: DIR, metric: metric_retention, params: {metric: disparate_impact_ratio,"
          " sensitive: afam, favourable: 0, reference: 'no', paired_resamples: 200},"
          " threshold: {gte: 0.95}, severity: advisory, confidence: 0.95}\n");
  const auto audit =
      t::RunCli("-q audit -c " + t::Quote(tmp / "cmp.yaml") + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code <= 2, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const json& alone = Result(report, "EOP");
  const json& delta = Result(report, "EOPD");
  BOOST_TEST(delta["value"].get<double>() == 0.0);
  BOOST_TEST(delta["interval"]["low"].get<double>() == 0.0);
  BOOST_TEST(delta["interval"]["high"].get<double>() == 0.0);
  BOOST_TEST(delta["details"]["model"]["value"] == alone["value"]);
  BOOST_TEST(delta["details"]["reference"]["value"] == alone["value"]);
  BOOST_TEST(delta["details"]["model"]["interval"]["high"] == alone["interval"]["high"]);
  BOOST_TEST(delta["samples"] == alone["samples"]);
  const json& ratio = Result(report, "DIR");
  BOOST_TEST(ratio["value"].get<double>() == 1.0);
  BOOST_TEST(ratio["details"]["params"]["reference"] == "no");
}

// Robustness metrics paired by their per-row outcomes, through the binary (the plan runs the
// attack and the corruption run for both models): the int8 twin has no gradients, so the
// white-box pairing is ERROR naming craft_on: reference, and with it the inputs crafted on the
// FP32 reference are evaluated on both; the counts equal PyTorch's
// (tests/unit/safety/paired_robustness_reference.py). A sharded audit refuses the comparison at
// the criterion, as it refuses the attack alone, and writes nothing.
BOOST_AUTO_TEST_CASE(robustness_metrics_paired_through_the_binary) {
  constexpr int kAttacked = 128;
  t::TempDir tmp;
  const std::string criteria =
      "criteria:\n"
      "  - {id: RD, metric: metric_delta, params: {metric: adversarial_accuracy, epsilon: 0.03,"
      " limit: 128, craft_on: reference}, threshold: {gte: -0.05}, severity: mandatory}\n"
      "  - {id: RW, metric: metric_delta, params: {metric: adversarial_accuracy, epsilon: 0.03,"
      " limit: 128}, threshold: {gte: -0.05}, severity: advisory}\n"
      "  - {id: RC, metric: metric_retention, params: {metric: corruption_accuracy,"
      " corruption: contrast, severity: 5, limit: 128}, threshold: {gte: 0.5},"
      " severity: advisory}\n";
  t::WriteText(tmp / "c.yaml", Header() + Reference() + criteria);
  const auto audit =
      t::RunCli("-q audit -c " + t::Quote(tmp / "c.yaml") + " -o " + t::Quote(tmp / "out"));
  BOOST_REQUIRE_MESSAGE(audit.exit_code <= 2, audit.out << audit.err);
  const json report = json::parse(t::ReadText(tmp / "out" / "report.json"));
  const auto pytorch = [&](const std::string& kind, double arg) {
    const auto py =
        t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                    t::Quote(t::SourceDir() / "tests/unit/safety/paired_robustness_reference.py") +
                    " " + t::Quote(t::ModelsDir() / "fashion_cnn_int8.pt") + " " +
                    t::Quote(t::ModelsDir() / "fashion_cnn.pt") + " " +
                    t::Quote(t::FashionDir() / "t10k-images-idx3-ubyte.gz") + " " +
                    t::Quote(t::FashionDir() / "t10k-labels-idx1-ubyte.gz") + " " +
                    std::to_string(kAttacked) + " " + kind + " " + std::to_string(arg));
    BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
    return json::parse(py.out);
  };

  const json& rd = Result(report, "RD");
  const json py = pytorch("fgsm-reference", 0.03);
  const double model = py["model_correct"].get<double>() / kAttacked;
  const double reference = py["reference_correct"].get<double>() / kAttacked;
  BOOST_TEST_MESSAGE("RD " << rd.dump().substr(0, 400));
  BOOST_TEST(rd["status"] == "PASS", rd.dump());
  BOOST_TEST(rd["value"].get<double>() == model - reference);
  BOOST_TEST(rd["details"]["model"]["value"].get<double>() == model);
  BOOST_TEST(rd["details"]["reference"]["value"].get<double>() == reference);
  BOOST_TEST(rd["samples"] == kAttacked);
  BOOST_TEST(rd["details"]["pairing"]["model"].get<std::string>().find("transfer") == 0u);

  const json& rw = Result(report, "RW");
  BOOST_TEST(rw["status"] == "ERROR");
  BOOST_TEST(rw["message"].get<std::string>().find("craft_on: reference") != std::string::npos,
             rw.dump());

  const json& rc = Result(report, "RC");
  const json pc = pytorch("contrast", 0.15);
  BOOST_TEST(rc["value"].get<double>() == (pc["model_correct"].get<double>() / kAttacked) /
                                              (pc["reference_correct"].get<double>() / kAttacked));
  BOOST_TEST(rc["interval"]["low"].get<double>() <= rc["value"].get<double>());
  BOOST_TEST(rc["value"].get<double>() <= rc["interval"]["high"].get<double>());

  const auto sharded = t::RunCli("audit --shard 1/2 -c " + t::Quote(tmp / "c.yaml") + " -o " +
                                 t::Quote(tmp / "shard"));
  BOOST_TEST(sharded.exit_code == 3, sharded.err);
  BOOST_TEST(sharded.err.find("cannot be split into shards exactly") != std::string::npos,
             sharded.err);
  BOOST_TEST(!std::filesystem::exists(tmp / "shard"));
}
