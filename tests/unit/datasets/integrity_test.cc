// Declared values must match the data: a label, decision or encoding value that occurs in no row,
// or a binary label value that is neither positive nor declared negative, is bad input naming the
// file, the column, the values that occur and the closest one.
#include <boost/test/unit_test.hpp>
#include <numeric>

#include "core/error.h"
#include "core/suggest.h"
#include "datasets/dataset.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

std::string LoadError(const gl::DatasetSpec& spec) {
  try {
    gl::LoadDataset(spec);
  } catch (const gl::InputError& e) {
    return e.what();
  }
  return "";
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

gl::DatasetSpec Hmda() {
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "examples/data/hmda.csv";
  spec.features = {"pirat", "hirat"};
  spec.sensitive = {"afam"};
  return spec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(integrity)

BOOST_AUTO_TEST_CASE(closest_match_hints) {
  BOOST_TEST(gl::EditDistance("kitten", "sitting") == 3u);
  BOOST_TEST(*gl::ClosestMatch("Yes", {"no", "yes"}) == "yes");
  BOOST_TEST(*gl::ClosestMatch("femal", {"female", "male"}) == "female");
  BOOST_TEST(!gl::ClosestMatch("Black", {"no", "yes"}));
  BOOST_TEST(!gl::ClosestMatch("yes", {"no", "yes"}));
  BOOST_TEST(gl::QuotedList({"a", "", "c"}, 2) == "\"a\", \"\", … (3 values)");
}

// The case: HMDA's deny holds "no" and "yes"; positive "Yes" matched no row, so every
// label became class 0 and the example credit model's accuracy moved without a word.
BOOST_AUTO_TEST_CASE(label_positive_that_matches_no_row) {
  gl::DatasetSpec spec = Hmda();
  spec.label = gl::LabelSpec{"deny", "Yes", {}};
  std::string err = LoadError(spec);
  BOOST_TEST(Has(err, "dataset.label.positive: \"Yes\" occurs in no row of column 'deny'"), err);
  BOOST_TEST(Has(err, "hmda.csv"), err);
  BOOST_TEST(Has(err, "(values: \"no\", \"yes\")"), err);
  BOOST_TEST(Has(err, "did you mean \"yes\"?"), err);
  BOOST_TEST(!Has(err, "\n"));
  // With the criteria file's place when the loader recorded it.
  spec.where["label.positive"] = "c.yaml:20:35";
  err = LoadError(spec);
  BOOST_TEST(err.rfind("c.yaml:20:35: dataset.label.positive: ", 0) == 0u, err);

  spec.label = gl::LabelSpec{"deny", "yes", {}};
  const auto ds = gl::LoadDataset(spec);
  const auto labels = ds->labels();
  // 285 of the 2,380 applications were denied (Stock & Watson's HMDA sample).
  BOOST_TEST(std::accumulate(labels.begin(), labels.end(), int64_t{0}) == 285);
}

BOOST_AUTO_TEST_CASE(decision_and_negative_values_that_match_no_row) {
  gl::DatasetSpec spec = Hmda();
  spec.predictions = gl::PredictionSpec{"deny", "YES", std::nullopt, std::nullopt, {}};
  std::string err = LoadError(spec);
  BOOST_TEST(Has(err, "dataset.predictions.positive: \"YES\" occurs in no row of column 'deny'"),
             err);
  BOOST_TEST(Has(err, "did you mean \"yes\"?"), err);

  spec.predictions.reset();
  spec.label = gl::LabelSpec{"deny", "yes", {"No"}};
  err = LoadError(spec);
  BOOST_TEST(Has(err, "dataset.label.negative: \"No\" occurs in no row"), err);
  BOOST_TEST(Has(err, "did you mean \"no\"?"), err);
  spec.label = gl::LabelSpec{"deny", "yes", {"no"}};
  BOOST_TEST(gl::LoadDataset(spec)->rows() == 2380);
}

BOOST_AUTO_TEST_CASE(encoding_key_that_matches_no_row) {
  gl::DatasetSpec spec = Hmda();
  spec.features = {"pirat", "selfemp"};
  spec.encode["selfemp"] = {{"no", 0.0}, {"Yes", 1.0}};
  std::string err = LoadError(spec);
  BOOST_TEST(Has(err, "dataset.encode.selfemp.Yes: \"Yes\" occurs in no row of column 'selfemp'"),
             err);
  BOOST_TEST(Has(err, "did you mean \"yes\"?"), err);
}

// The binary-label contract: without `negative` a column holds `positive` and one other value;
// a third value is an error at its line; with `negative`, every value must be declared.
BOOST_AUTO_TEST_CASE(binary_label_with_a_third_value) {
  t::TempDir dir;
  t::WriteText(dir / "t.csv", "x,y\n1,yes\n2,no\n3,yes\n4,maybe\n5,no\n");
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = dir / "t.csv";
  spec.features = {"x"};
  spec.label = gl::LabelSpec{"y", "yes", {}};
  std::string err = LoadError(spec);
  BOOST_TEST(err.rfind((dir / "t.csv").string() + ":5: column 'y': value \"maybe\"", 0) == 0u, err);
  BOOST_TEST(Has(err, "the column's other value \"no\""), err);
  BOOST_TEST(Has(err, "label.negative"), err);

  spec.label = gl::LabelSpec{"y", "yes", {"no", "maybe"}};
  const auto ds = gl::LoadDataset(spec);
  BOOST_TEST((std::vector<int64_t>(ds->labels().begin(), ds->labels().end()) ==
              std::vector<int64_t>{1, 0, 1, 0, 0}));

  spec.label = gl::LabelSpec{"y", "yes", {"no"}};
  err = LoadError(spec);
  BOOST_TEST(Has(err,
                 ":5: column 'y': value \"maybe\" is neither label.positive \"yes\" nor "
                 "label.negative (\"no\")"),
             err);

  // Stratified sampling is by label.
  spec.label.reset();
  spec.sample = gl::SampleSpec{gl::SampleMethod::kStratified, 2, 1, false};
  BOOST_TEST(Has(LoadError(spec), "stratified sampling is by label"));
}

BOOST_AUTO_TEST_SUITE_END()
