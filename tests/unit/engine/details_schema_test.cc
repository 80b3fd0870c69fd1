// Every registered metric publishes the shape of its result's `details` as a JSON Schema,
// schemas/details/<metric>.schema.json (shared shapes in common.schema.json), and the details
// the metrics really produce match it:
// - framework metrics (accuracy, fairness) run in-process on fashion_cnn with 2,000 rows of
//   Fashion-MNIST and on the HMDA data, as in merge_property_test;
// - legacy metrics (safety, efficiency, energy) run through RunAudit on criteria written here with
//   short timed runs, so that even the timed and metered results are real ones.
#define BOOST_TEST_MODULE details_schema
#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <set>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "auditors/metric.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "tests/test_util.h"

namespace gl = greenlight;

namespace {

std::filesystem::path SchemaDir() { return gl::testing::SourceDir() / "schemas" / "details"; }

nlohmann::json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return nlohmann::json::parse(in);
}

// The parsed schema of every metric, `$ref`s to common.schema.json resolved from schemas/details/.
class DetailsSchemas {
 public:
  bool Has(const std::string& metric) const {
    return std::filesystem::exists(SchemaDir() / (metric + ".schema.json"));
  }

  // Empty when `details` is valid for `metric`; otherwise every violation, separated by "; ".
  std::string Errors(const std::string& metric, const nlohmann::json& details) {
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(details);
    if (validator.validate(Get(metric), target, &results)) return "";
    std::string why;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      std::string where;
      for (const auto& c : e.context) where += c;
      why += where + ": " + e.description + "; ";
    }
    return why.empty() ? "invalid" : why;
  }

  const valijson::Schema& Get(const std::string& metric) {
    auto& slot = schemas_[metric];
    if (!slot) {
      const nlohmann::json doc = ReadJson(SchemaDir() / (metric + ".schema.json"));
      slot = std::make_unique<valijson::Schema>();
      valijson::SchemaParser parser;
      valijson::adapters::NlohmannJsonAdapter adapter(doc);
      // A reference names a file beside the schema (after its $id's base): load it from there.
      auto fetch = [](const std::string& uri) -> const nlohmann::json* {
        std::string name = uri.substr(uri.find_last_of('/') + 1);
        name = name.substr(0, name.find('#'));
        return new nlohmann::json(ReadJson(SchemaDir() / name));
      };
      auto release = [](const nlohmann::json* doc) { delete doc; };
      parser.populateSchema(adapter, *slot, fetch, release);
    }
    return *slot;
  }

 private:
  std::map<std::string, std::unique_ptr<valijson::Schema>> schemas_;
};

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

enum class Data { kFashion, kHmda };

// Metrics measured in-process here: the parameter variants whose details differ in shape (a
// bootstrap or not, a class or an average, a threshold, several sensitive columns). Every other
// metric runs in the audits of `details_from_real_audits_match_their_schemas`.
const std::map<std::string, std::vector<std::pair<Data, nlohmann::json>>> kFrameworkCases = {
    {"accuracy", {{Data::kFashion, nlohmann::json::object()}}},
    {"top_k_accuracy", {{Data::kFashion, {{"k", 3}}}}},
    {"precision",
     {{Data::kFashion,
       {{"average", "macro"}, {"interval", "bootstrap"}, {"bootstrap_resamples", 200}}},
      {Data::kFashion, {{"class", 6}}}}},
    {"recall", {{Data::kFashion, {{"average", "weighted"}}}}},
    {"f1", {{Data::kFashion, {{"class", 2}}}, {Data::kFashion, {{"average", "micro"}}}}},
    {"roc_auc",
     {{Data::kHmda, nlohmann::json::object()},
      {Data::kHmda, {{"interval", "bootstrap"}, {"bootstrap_resamples", 200}}}}},
    {"accuracy_retention",
     {{Data::kFashion, {{"reference_accuracy", 0.9}, {"reference_source", "a test figure"}}}}},
    {"selection_rate",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}},
      {Data::kHmda, {{"sensitive", "afam"}, {"threshold", 0.3}}}}},
    {"demographic_parity_difference",
     {{Data::kHmda, {{"sensitive", {"afam", "single"}}, {"favourable", 0}}}}},
    {"demographic_parity_ratio",
     {{Data::kHmda,
       {{"sensitive", {"afam", "single"}}, {"favourable", 0}, {"min_group_size", 30}}}}},
    {"disparate_impact_ratio",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}, {"reference", "no"}}},
      {Data::kHmda,
       {{"sensitive", {"afam", "single"}}, {"favourable", 0}, {"reference", "best"}}}}},
    {"equal_opportunity_difference", {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}}}},
    {"equalized_odds_difference",
     {{Data::kHmda, {{"sensitive", {"afam", "single"}}, {"favourable", 0}}}}},
    {"average_odds_difference",
     {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}, {"aggregation", "to_overall"}}}}},
    {"predictive_parity_difference", {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}}}},
    {"false_positive_rate_difference", {{Data::kHmda, {{"sensitive", "single"}}}}},
    {"false_negative_rate_difference",
     {{Data::kHmda, {{"sensitive", "single"}, {"favourable", 0}}}}},
    {"accuracy_difference", {{Data::kHmda, {{"sensitive", {"afam", "single"}}}}}},
    {"group_accuracy_min", {{Data::kHmda, {{"sensitive", "afam"}}}}},
    {"theil_index", {{Data::kHmda, {{"sensitive", "afam"}, {"favourable", 0}}}}},
};

// A timed run short enough for a unit test: 5 repetitions (the minimum) of about 0.1 s.
constexpr const char* kShortRun =
    "warmup_queries: 4, min_queries: 50, min_duration_s: 0.1, max_duration_s: 5, repetitions: 5";

// Legacy metrics on the example CNN (Fashion-MNIST, first 2,000 rows).
std::string FashionCriteria() {
  const std::string run = kShortRun;
  const std::string energy = "{" + run + ", threads: 1, meter: auto, idle_baseline_s: 0.1}";
  const std::vector<std::pair<std::string, std::string>> criteria = {
      {"adversarial_accuracy", "{attack: fgsm, norm: inf, epsilon: 0.01, limit: 300}"},
      {"attack_success_rate",
       "{attack: pgd, norm: '2', epsilon: 0.5, iterations: 3, random_start: true, limit: 100}"},
      {"empirical_robustness", "{norm: inf, epsilon: 0.3, step_size: 0.02, limit: 200}"},
      {"corruption_accuracy", "{corruption: all, severity: 2, limit: 100}"},
      {"corruption_accuracy_drop", "{corruption: all, limit: 100}"},
      {"ece", "{bins: 15}"},
      {"ece_equal_mass", "{bins: 10}"},
      {"determinism_max_abs_diff",
       "{repeats: 2, threads: [1, 2], batch_sizes: [64, 8], limit: 64}"},
      {"invalid_input_silent_rate", "{samples: 2, timeout_s: 10}"},
      {"ood_auroc", "{ood_set: all, limit: 300}"},
      {"latency_p50_ms", "{" + run + ", threads: 1}"},
      {"latency_p90_ms", "{" + run + ", threads: 1}"},
      {"latency_p95_ms", "{" + run + ", threads: 1}"},
      {"latency_p99_ms", "{" + run + ", threads: 1, sweep: {threads: [1, 2]}}"},
      {"latency_p999_ms", "{" + run + ", threads: 1}"},
      {"latency_mean_ms", "{" + run + ", threads: 1}"},
      {"throughput_samples_per_s",
       "{" + run +
           ", scenario: offline, batch_size: 16, threads: 1, sweep: {batch_sizes: [8, 16]}}"},
      {"peak_memory_mb", "{" + run + ", threads: 1}"},
      {"model_parameters", "{}"},
      {"model_size_mb", "{}"},
      {"flops_per_sample", "{}"},
      {"energy_per_inference_mj", energy},
      {"energy_per_1000_inferences_wh", energy},
      {"average_power_w", energy},
      {"inferences_per_joule", energy},
      {"carbon_per_1000_inferences_g", energy},
      {"sci_per_inference_g", energy},
  };
  const std::string source = gl::testing::SourceDir().string();
  std::string yaml =
      "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: details-schema, version: "
      "1.0.0}\n"
      "settings: {seed: 20261128}\n"
      "model:\n  path: " +
      source +
      "/examples/models/fashion_cnn.pt\n  output: log_probabilities\n"
      "  input: {shape: [1, 28, 28], range: [0.0, 1.0]}\n"
      "dataset:\n  format: idx\n"
      "  images: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\n"
      "  labels: /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz\n"
      "  scale: 0.00392156862745098\n  limit: 2000\n"
      "criteria:\n";
  int i = 0;
  for (const auto& [metric, params] : criteria) {
    yaml += "  - {id: C" + std::to_string(++i) + ", metric: " + metric + ", params: " + params +
            ", threshold: {gte: -1000000}, severity: advisory}\n";
  }
  return yaml;
}

// Checks the details of every result of `outcome`, none of which may be an ERROR.
void CheckAudit(const gl::AuditOutcome& outcome, DetailsSchemas& schemas,
                std::set<std::string>& checked) {
  for (const gl::CriterionOutcome& r : outcome.results) {
    const std::string& metric = r.criterion.metric;
    BOOST_TEST_CONTEXT("criterion " << r.criterion.id << " (" << metric << ")") {
      BOOST_TEST_REQUIRE((r.status != gl::Status::kError), r.message);
      const nlohmann::json& details = r.measurement.details;
      BOOST_TEST(details.is_object());
      const std::string errors = schemas.Errors(metric, details);
      BOOST_TEST(errors.empty(), errors << "\ndetails: " << details.dump().substr(0, 2000));
      checked.insert(metric);
      BOOST_TEST_MESSAGE(metric << " (" << gl::StatusName(r.status)
                                << "): " << details.dump().substr(0, 160));
    }
  }
}

}  // namespace

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

BOOST_AUTO_TEST_CASE(framework_metrics_details_match_their_schemas) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  DetailsSchemas schemas;
  RealAudit fashion("demo.yaml", 2000, registry);
  RealAudit hmda("hmda-credit-fairness.yaml", 0, registry);
  for (const auto& [name, cases] : kFrameworkCases) {
    BOOST_TEST_CONTEXT("metric " << name) {
      const gl::Metric* metric = gl::FindFrameworkMetric(registry, name);
      BOOST_TEST_REQUIRE(metric != nullptr, name << " is not a framework metric");
      for (const auto& [data, params] : cases) {
        BOOST_TEST_CONTEXT("params " << params.dump()) {
          RealAudit& audit = data == Data::kFashion ? fashion : hmda;
          const auto bound = metric->Bind(params);
          const auto record = metric->Needs(*bound)->Run(*audit.context, {});
          gl::FinalizeContext fin;
          fin.seed = 20261128;
          fin.confidence = 0.9;
          const gl::Measurement m =
              gl::MeasureRows(*metric, *bound, {*record, nullptr, {0, record->rows()}}, fin);
          BOOST_TEST_REQUIRE(m.value.has_value());
          const std::string errors = schemas.Errors(name, m.details);
          BOOST_TEST(errors.empty(), errors << "\ndetails: " << m.details.dump().substr(0, 2000));
        }
      }
    }
  }
}

// The metrics not in kFrameworkCases (today the legacy ones: safety, efficiency, energy) through
// whole audits; a ported metric runs the same way.
BOOST_AUTO_TEST_CASE(details_from_real_audits_match_their_schemas) {
  gl::AuditorRegistry registry;
  gl::RegisterBuiltinAuditors(registry);
  DetailsSchemas schemas;
  std::set<std::string> checked;

  gl::testing::TempDir tmp;
  gl::testing::WriteText(tmp / "fashion.yaml", FashionCriteria());
  CheckAudit(gl::RunAudit(gl::LoadCriteria(tmp / "fashion.yaml", registry), registry), schemas,
             checked);
  CheckAudit(gl::RunAudit(
                 gl::LoadCriteria(
                     gl::testing::SourceDir() / "criteria" / "hmda-safety-example.yaml", registry),
                 registry),
             schemas, checked);

  // Every registered metric has its real details checked, here or in kFrameworkCases.
  for (const gl::MetricSpec& spec : registry.AllMetrics()) {
    BOOST_TEST((checked.count(spec.name) == 1 || kFrameworkCases.count(spec.name) == 1),
               "no real details checked for " << spec.name);
  }
}

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
