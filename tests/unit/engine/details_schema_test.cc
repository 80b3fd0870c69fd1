// Every registered metric publishes the shape of its result's `details` as a JSON Schema,
// schemas/details/<metric>.schema.json (shared shapes in common.schema.json). Here: each schema
// exists, parses and names its metric, no schema outlives its metric, and a schema rejects wrong
// details. merge_property_test validates the real details of every metric against these schemas
// (it runs each one in-process on real data already).
#define BOOST_TEST_MODULE details_schema
#include <boost/test/unit_test.hpp>
#include <set>

#include "auditors/metric.h"
#include "engine/criteria.h"
#include "tests/unit/engine/details_schemas.h"

namespace gl = greenlight;
using gl::testing::DetailsSchemas;
using gl::testing::ReadJson;
using gl::testing::SchemaDir;

BOOST_AUTO_TEST_CASE(every_registered_metric_has_a_parsable_details_schema) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  DetailsSchemas schemas;
  std::set<std::string> registered;
  for (const gl::MetricSpec& spec : registry.AllMetrics()) {
    registered.insert(spec.name);
    BOOST_TEST_CONTEXT("metric " << spec.name) {
      BOOST_TEST_REQUIRE(schemas.Has(spec.name),
                         "no schemas/details/" + spec.name + ".schema.json");
      const nlohmann::json doc = ReadJson(SchemaDir() / (spec.name + ".schema.json"));
      BOOST_TEST(doc.at("$schema") == "http://json-schema.org/draft-07/schema#");
      BOOST_TEST(doc.at("$id") ==
                 "https://greenlight.dev/schemas/details/" + spec.name + ".schema.json");
      BOOST_CHECK_NO_THROW(schemas.Get(spec.name));
    }
  }
  // And no schema for a metric that does not exist (a renamed metric leaves none behind).
  for (const auto& entry : std::filesystem::directory_iterator(SchemaDir())) {
    const std::string file = entry.path().filename().string();
    if (file == "common.schema.json") continue;
    const std::string metric = file.substr(0, file.size() - std::string(".schema.json").size());
    BOOST_TEST(registered.count(metric) == 1, file << " names no registered metric");
  }
}

namespace {

// A loaded model and dataset with their AuditContext, from a shipped criteria file.
struct RealAudit {
  gl::CriteriaFile criteria;
  std::unique_ptr<gl::Model> model;
  std::unique_ptr<gl::Dataset> dataset;
  std::unique_ptr<gl::AuditContext> context;

  RealAudit(const std::string& file, int64_t limit, const gl::AuditorRegistry& registry) {
    criteria = gl::LoadCriteria(gl::testing::SourceDir() / "criteria" / file, registry);
    if (limit > 0) criteria.dataset.limit = limit;
    model = gl::LoadTorchScriptModel(*criteria.model);
    dataset = gl::LoadDataset(criteria.dataset);
    context = std::make_unique<gl::AuditContext>(model.get(), *dataset, criteria.seed, nullptr);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_wrong_detail_is_rejected) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  DetailsSchemas schemas;
  RealAudit fashion("demo.yaml", 2000, registry);
  const gl::Metric* metric = gl::FindFrameworkMetric(registry, "accuracy");
  BOOST_TEST_REQUIRE(metric != nullptr);
  const auto bound = metric->Bind(nlohmann::json::object());
  const auto record = metric->Needs(*bound)->Run(*fashion.context, {});
  gl::FinalizeContext fin;
  const nlohmann::json real =
      gl::MeasureRows(*metric, *bound, {*record, nullptr, {0, record->rows()}}, fin).details;
  BOOST_TEST(schemas.Errors("accuracy", real).empty());

  nlohmann::json wrong_type = real;
  wrong_type["correct"] = "1815";  // A count as a string.
  BOOST_TEST(!schemas.Errors("accuracy", wrong_type).empty());

  nlohmann::json wrong_shared = real;  // Through the $ref into common.schema.json.
  wrong_shared["confusion_matrix"]["counts"][0][0] = -1;
  BOOST_TEST(!schemas.Errors("accuracy", wrong_shared).empty());

  nlohmann::json missing = real;
  missing.erase("predictions");
  BOOST_TEST(!schemas.Errors("accuracy", missing).empty());
}
