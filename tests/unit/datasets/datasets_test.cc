#define BOOST_TEST_MODULE datasets
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <numeric>

#include "core/digest.h"
#include "core/error.h"
#include "datasets/csv_reader.h"
#include "datasets/dataset.h"
#include "datasets/idx_reader.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {
std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const gl::InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(idx_hand_made_file) {
  t::TempDir dir;
  // 2 images of 2x3 bytes, written by hand in the IDX layout.
  std::string bytes = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 12; ++i) bytes.push_back(static_cast<char>(i * 20));
  t::WriteText(dir / "img.idx", bytes);
  const gl::IdxArray a = gl::ReadIdxFile(dir / "img.idx", std::nullopt);
  BOOST_TEST((a.dims == std::vector<int64_t>{2, 2, 3}));
  BOOST_TEST(a.data[11] == 220);
  const gl::IdxArray one = gl::ReadIdxFile(dir / "img.idx", 1);
  BOOST_TEST(one.data.size() == 6u);
  t::WriteText(dir / "short.idx", bytes.substr(0, 20));
  BOOST_TEST(ErrorOf([&] { gl::ReadIdxFile(dir / "short.idx", std::nullopt); }).find("truncated") !=
             std::string::npos);
  t::WriteText(dir / "bad.idx", std::string("\x01\x02\x08\x01", 4));
  BOOST_TEST(ErrorOf([&] { gl::ReadIdxFile(dir / "bad.idx", std::nullopt); }).find("magic") !=
             std::string::npos);
}

// Fashion-MNIST as Debian ships it, cross-checked with an independent reader in Python.
BOOST_AUTO_TEST_CASE(fashion_mnist_matches_python_reader) {
  gl::DatasetSpec spec;
  spec.format = "idx";
  spec.images = t::FashionDir() / "t10k-images-idx3-ubyte.gz";
  spec.labels = t::FashionDir() / "t10k-labels-idx1-ubyte.gz";
  spec.scale = 1.0;
  const auto ds = gl::LoadDataset(spec);
  BOOST_TEST(ds->rows() == 10000);
  BOOST_TEST((ds->sample_shape() == std::vector<int64_t>{1, 28, 28}));
  const auto first = ds->row(0);
  const double sum0 = std::accumulate(first.begin(), first.end(), 0.0);
  const auto py = t::RunPython(
      "import gzip, numpy as np\n"
      "x = np.frombuffer(gzip.open('" +
      spec.images.string() +
      "').read()[16:], np.uint8)\n"
      "y = np.frombuffer(gzip.open('" +
      spec.labels.string() +
      "').read()[8:], np.uint8)\n"
      "print(int(x[:784].sum()), int(y[:5].tolist()[0]), ' '.join(map(str, np.bincount(y))))\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  std::istringstream in(py.out);
  double py_sum = 0;
  int64_t py_label0 = 0;
  in >> py_sum >> py_label0;
  BOOST_TEST(sum0 == py_sum);
  BOOST_TEST(ds->labels()[0] == py_label0);
  for (int64_t c = 0; c < 10; ++c) {
    int64_t py_count = 0;
    in >> py_count;
    BOOST_TEST(std::count(ds->labels().begin(), ds->labels().end(), c) == py_count);
  }
  BOOST_TEST(ds->info().files[0].sha256 == gl::Sha256File(spec.images));
}

BOOST_AUTO_TEST_CASE(csv_quotes_and_field_counts) {
  const auto table = gl::ParseCsv("a,b\n\"x,1\",\"say \"\"hi\"\"\"\n2,3\n", "f.csv");
  BOOST_TEST(table.rows.size() == 2u);
  BOOST_TEST(table.rows[0][0] == "x,1");
  BOOST_TEST(table.rows[0][1] == "say \"hi\"");
  BOOST_TEST(table.line_numbers[1] == 3);
  BOOST_TEST(ErrorOf([] { gl::ParseCsv("a,b\n1,2\n3\n", "f.csv"); }) ==
             "f.csv:3: expected 2 fields, found 1");
}

BOOST_AUTO_TEST_CASE(hmda_counts_match_the_published_figures) {
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = t::SourceDir() / "examples" / "data" / "hmda.csv";
  spec.features = {"pirat", "chist", "phist"};
  spec.encode["phist"] = {{"no", 0}, {"yes", 1}};
  spec.label = gl::LabelSpec{"deny", "yes"};
  spec.sensitive = {"afam"};
  const auto ds = gl::LoadDataset(spec);
  BOOST_TEST(ds->info().files[0].sha256 ==
             "958315173bfa5fed71fed6a17547dbc4b91774b02d082c167371266582eed758");
  BOOST_TEST(ds->rows() == 2380);
  BOOST_TEST(std::count(ds->labels().begin(), ds->labels().end(), 1) == 285);
  const auto& afam = ds->sensitive().at("afam");
  BOOST_TEST(std::count(afam.begin(), afam.end(), "yes") == 339);
  // Row 1: pirat 0.221000003814697, chist "5", phist "no".
  BOOST_TEST(ds->row(0)[0] == 0.221000003814697f);
  BOOST_TEST(ds->row(0)[1] == 5.0f);
  BOOST_TEST(ds->row(0)[2] == 0.0f);
  BOOST_TEST(ds->feature_names().size() == 3u);  // afam is kept aside, not a feature.
}

BOOST_AUTO_TEST_CASE(csv_bad_values_name_line_and_column) {
  t::TempDir dir;
  t::WriteText(dir / "d.csv", "x,s\n1,no\nfoo,yes\n");
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = dir / "d.csv";
  spec.features = {"x"};
  BOOST_TEST(ErrorOf([&] { gl::LoadDataset(spec); }) ==
             (dir / "d.csv").string() +
                 ":3: column 'x': 'foo' is not a number and the column has no declared encoding");
  spec.features = {"s"};
  spec.encode["s"] = {{"no", 0}};
  BOOST_TEST(ErrorOf([&] {
               gl::LoadDataset(spec);
             }).find(":3: column 's': value 'yes' has no declared encoding") != std::string::npos);
  spec.features = {"nope"};
  BOOST_TEST(ErrorOf([&] { gl::LoadDataset(spec); }).find("no column 'nope'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(black_box_predictions) {
  t::TempDir dir;
  t::WriteText(dir / "d.csv", "decision,score,label\nyes,0.9,1\nno,0.2,0\nyes,0.5,0\n");
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = dir / "d.csv";
  spec.predictions = gl::PredictionSpec{"decision", "yes", std::nullopt, std::nullopt};
  auto ds = gl::LoadDataset(spec);
  BOOST_TEST((std::vector<int64_t>(ds->predictions().begin(), ds->predictions().end()) ==
              std::vector<int64_t>{1, 0, 1}));
  spec.predictions = gl::PredictionSpec{std::nullopt, std::nullopt, "score", 0.6};
  ds = gl::LoadDataset(spec);
  BOOST_TEST((std::vector<int64_t>(ds->predictions().begin(), ds->predictions().end()) ==
              std::vector<int64_t>{1, 0, 0}));
  BOOST_TEST(ds->scores()[2] == 0.5);
}
