// The rows pass (engine/supervisor.h): an audit reads its rows in blocks of kRowsPassBlockRows and
// merges each block's statistics. On 9,000 Fashion-MNIST test images (three blocks, the last one
// short) every row-wise criterion must equal the same metric measured on all rows held in memory
// at once (value and interval to 1e-12, samples and details exactly), and the accuracy must be
// the count PyTorch gives on the same rows.
#define BOOST_TEST_MODULE rows_pass
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "auditors/metric.h"
#include "datasets/dataset.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "engine/supervisor.h"
#include "models/model_registry.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

constexpr int kRows = 9000;

bool Close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= 1e-12 * std::max(1.0, std::fabs(b));
}

}  // namespace

BOOST_AUTO_TEST_CASE(blocks_merge_to_the_whole) {
  static_assert(kRows > 2 * gl::kRowsPassBlockRows && kRows % gl::kRowsPassBlockRows != 0);
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: rows, version: '1'}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", kRows) +
                   "settings: {threads: 1}\n"
                   "criteria:\n"
                   "  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n"
                   "  - {id: TOP3, metric: top_k_accuracy, params: {k: 3}, threshold: {gte: 0.5}, "
                   "severity: mandatory}\n"
                   "  - {id: F1, metric: f1, params: {average: macro, bootstrap_resamples: 200},"
                   " threshold: {gte: 0.5}, severity: mandatory}\n"
                   "  - {id: ECE, metric: ece, threshold: {lte: 0.5}, severity: mandatory}\n");
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::CriteriaFile criteria = gl::LoadCriteria(dir / "c.yaml", registry);
  gl::AuditOptions options;
  options.isolate_model = false;
  const gl::AuditOutcome audit = gl::RunAudit(criteria, registry, options);
  BOOST_REQUIRE(audit.results.size() == 4u);

  // The same metrics on every row in memory: one context over the whole dataset.
  const std::unique_ptr<gl::Dataset> data = gl::LoadDataset(criteria.dataset);
  BOOST_REQUIRE(data->rows() == kRows);
  std::unique_ptr<gl::Model> model = gl::BuiltinModelRegistry().Load(*criteria.model);
  model->SetThreads(1);
  gl::AuditContext context(model.get(), *data, criteria.seed, nullptr);
  for (size_t i = 0; i < criteria.criteria.size(); ++i) {
    const gl::Criterion& c = criteria.criteria[i];
    const gl::Metric& metric = *gl::FindFrameworkMetric(registry, c.metric);
    const auto record = metric.Needs(*c.bound)->Run(context, {});
    const gl::Measurement whole =
        gl::MeasureRows(metric, *c.bound, {*record, nullptr, {0, record->rows()}},
                        {criteria.seed, c.confidence.value_or(0.95), {}});
    const gl::CriterionResult& streamed = audit.results[i].result;
    BOOST_TEST_CONTEXT(c.id) {
      BOOST_TEST((streamed.status != gl::Status::kError), streamed.message);
      BOOST_REQUIRE(streamed.value.has_value() && whole.value.has_value());
      BOOST_TEST(Close(*streamed.value, *whole.value));
      BOOST_REQUIRE(streamed.interval.has_value() == whole.interval.has_value());
      if (whole.interval) {
        BOOST_TEST(Close(streamed.interval->low, whole.interval->low));
        BOOST_TEST(Close(streamed.interval->high, whole.interval->high));
        BOOST_TEST(streamed.interval->method == whole.interval->method);
      }
      BOOST_TEST(streamed.samples == whole.samples);
      BOOST_TEST(streamed.details == whole.details);
    }
  }

  // Accuracy by PyTorch on the same rows.
  const auto py = t::RunPython(
      "import gzip, numpy as np, torch\n"
      "d = '" +
      t::FashionDir().string() +
      "'\n"
      "x = np.frombuffer(gzip.open(d + '/t10k-images-idx3-ubyte.gz').read()[16:], np.uint8)\n"
      "y = np.frombuffer(gzip.open(d + '/t10k-labels-idx1-ubyte.gz').read()[8:], np.uint8)\n"
      "x = torch.tensor(x[:" +
      std::to_string(kRows * 784) +
      "].reshape(-1, 1, 28, 28)."
      "astype(np.float32)) * np.float32(0.00392156862745098)\n"
      "torch.set_num_threads(1)\n"
      "m = torch.jit.load('" +
      (t::ModelsDir() / "fashion_cnn.pt").string() +
      "')\n"
      "right = 0\n"
      "with torch.no_grad():\n"
      "  for b in range(0, len(x), 256):\n"
      "    p = m(x[b:b + 256]).argmax(1).numpy()\n"
      "    right += int((p == y[b:b + len(p)]).sum())\n"
      "print(right)\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  BOOST_TEST(*audit.results[0].result.value == std::stod(py.out) / kRows);
}
