// The supervised worker against the audit run in this process: the same criteria on the example
// CNN must give bit-identical results both ways (framework metrics through their statistics' JSON,
// legacy auditors through their Measurement's JSON), and a Measurement survives its JSON form,
// non-finite numbers included. The hung and crashing models are in tests/e2e/supervision_e2e_test.
#define BOOST_TEST_MODULE supervisor
#include "engine/supervisor.h"

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "engine/audit.h"
#include "engine/criteria.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

BOOST_AUTO_TEST_CASE(measurement_json_is_lossless) {
  gl::Measurement m;
  m.value = 0.1 + 0.2;  // Not a short decimal: the last bit must survive.
  m.unit = "ratio";
  m.interval = gl::Interval{-HUGE_VAL, std::nextafter(1.0, 0.0), 0.95, "wilson"};
  m.samples = 123456789012;
  m.method = "measured:single_stream";
  m.deterministic = false;
  m.undecidable = "the run was cut short";
  m.message = "run-length minimums not met";
  m.details = {{"queries", 7}, {"per_class", {1.5, 2.5}}};
  const gl::Measurement back = gl::MeasurementFromJson(gl::MeasurementToJson(m));
  BOOST_TEST(*back.value == 0.30000000000000004);
  BOOST_TEST(back.unit == "ratio");
  BOOST_TEST(std::isinf(back.interval->low));
  BOOST_TEST(back.interval->low < 0);
  BOOST_TEST(back.interval->high == 0.99999999999999989);
  BOOST_TEST(back.interval->level == 0.95);
  BOOST_TEST(back.interval->method == "wilson");
  BOOST_TEST(back.samples == 123456789012);
  BOOST_TEST(back.method == m.method);
  BOOST_TEST(!back.deterministic);
  BOOST_TEST(back.undecidable.value() == "the run was cut short");
  BOOST_TEST(back.message == m.message);
  BOOST_TEST(back.details == m.details);

  gl::Measurement nan;
  nan.value = std::nan("");
  const gl::Measurement nan_back = gl::MeasurementFromJson(gl::MeasurementToJson(nan));
  BOOST_TEST(std::isnan(*nan_back.value));
  BOOST_TEST(!nan_back.interval.has_value());
  BOOST_TEST(!nan_back.undecidable.has_value());
}

BOOST_AUTO_TEST_CASE(supervised_and_in_process_audits_agree_bit_for_bit) {
  t::TempDir dir;
  t::WriteText(dir / "c.yaml",
               "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: t, version: '1'}\n"
               "settings: {seed: 9}\n" +
                   t::FashionCnnSections(t::ModelsDir() / "fashion_cnn.pt", 60) +
                   "criteria:\n"
                   "  - {id: ACC, metric: accuracy, threshold: {gte: 0.5}, severity: mandatory}\n"
                   "  - {id: TOP, metric: top_k_accuracy, params: {k: 3}, threshold: {gte: 0.5},\n"
                   "     severity: mandatory}\n"
                   "  - {id: F1, metric: f1, params: {average: macro}, threshold: {gte: 0.5},\n"
                   "     severity: advisory}\n"
                   "  - {id: ECE, metric: ece, threshold: {lte: 0.5}, severity: mandatory}\n"
                   "  - {id: PAR, metric: model_parameters, threshold: {lte: 1e9},\n"
                   "     severity: mandatory}\n");
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  const gl::CriteriaFile criteria = gl::LoadCriteria(dir / "c.yaml", registry);
  // Supervised first: once this process has run the model, LibTorch's OpenMP pool would not
  // survive the worker's fork (the CLI never runs the model in the audit process).
  const gl::AuditOutcome b = gl::RunAudit(criteria, registry);  // Supervised: the default.
  gl::AuditOptions in_process;
  in_process.isolate_model = false;
  const gl::AuditOutcome a = gl::RunAudit(criteria, registry, in_process);
  BOOST_REQUIRE(a.model && b.model);
  BOOST_TEST(a.model->sha256 == b.model->sha256);
  BOOST_TEST(a.model->parameters == b.model->parameters);
  BOOST_TEST(a.model->parameters > 0);
  BOOST_TEST(a.environment.threads == b.environment.threads);
  BOOST_REQUIRE(a.results.size() == b.results.size());
  for (size_t i = 0; i < a.results.size(); ++i) {
    const gl::CriterionResult& x = a.results[i].result;
    const gl::CriterionResult& y = b.results[i].result;
    BOOST_TEST_CONTEXT(x.id) {
      BOOST_TEST(gl::StatusName(x.status) == gl::StatusName(y.status));
      BOOST_TEST(x.message == y.message);
      BOOST_REQUIRE(x.value.has_value() == y.value.has_value());
      if (x.value) BOOST_TEST(*x.value == *y.value);
      BOOST_REQUIRE(x.interval.has_value() == y.interval.has_value());
      if (x.interval) {
        BOOST_TEST(x.interval->low == y.interval->low);
        BOOST_TEST(x.interval->high == y.interval->high);
      }
      BOOST_TEST(x.samples == y.samples);
      BOOST_TEST(x.details == y.details);
    }
  }
  // Not a vacuous comparison: the accuracy is a real figure.
  BOOST_TEST(*a.results[0].result.value > 0.5);
  BOOST_TEST(gl::StatusName(a.results[0].result.status) == "PASS");
}
