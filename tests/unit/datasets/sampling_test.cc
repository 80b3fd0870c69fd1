// Row selection (datasets/sampling.h): the generator and the samples against published values, hand
// computation and an independent Python re-implementation (sampling_reference.py), which uses no
// standard-library randomness, so the pinned rows hold under any C++ standard library.
#include "datasets/sampling.h"

#include <boost/test/unit_test.hpp>
#include <map>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "datasets/dataset.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

std::vector<int64_t> PythonReference(const std::string& args) {
  const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " '" + GREENLIGHT_SOURCE_DIR +
                             "/tests/unit/datasets/sampling_reference.py' " + args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream in(r.out);
  std::vector<int64_t> out;
  for (int64_t v; in >> v;) out.push_back(v);
  return out;
}

std::string Join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += " " + std::to_string(x);
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sampling)

// The first outputs of SplitMix64 for seed 1234567, as published with Vigna's reference code (and
// used as the test vector of other ports, e.g. Rust's rand_xoshiro).
BOOST_AUTO_TEST_CASE(splitmix64_test_vector) {
  gl::SplitMix64 rng(1234567);
  BOOST_TEST(rng.Next() == 6457827717110365317ull);
  BOOST_TEST(rng.Next() == 3203168211198807973ull);
  BOOST_TEST(rng.Next() == 9817491932198370423ull);
}

BOOST_AUTO_TEST_CASE(uniform_below_has_no_modulo_bias) {
  // n = 3 * 2^62: threshold (2^64 - n) mod n = 2^62, so x < 2^62 is rejected and the 3 * 2^62
  // accepted values map one to one onto [0, n): P(v < 2^62) = 1/3 (about 667 of 2000; sd about
  // 21). A plain x % n would also map [n, 2^64) onto [0, 2^62), doubling it: P = 1/2 (1000).
  gl::SplitMix64 rng(1);
  const uint64_t n = 3ull << 62;
  int low = 0;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t v = gl::UniformBelow(rng, n);
    BOOST_TEST(v < n);
    low += v < (1ull << 62) ? 1 : 0;
  }
  BOOST_TEST(low > 600);
  BOOST_TEST(low < 733);
  gl::SplitMix64 one(5);
  BOOST_TEST(gl::UniformBelow(one, 1) == 0u);
}

BOOST_AUTO_TEST_CASE(random_sample_matches_python_reimplementation) {
  for (const auto& [total, size, seed] : std::vector<std::tuple<int64_t, int64_t, uint64_t>>{
           {10, 4, 7}, {2380, 600, 20261128}, {10000, 600, 1}, {5, 9, 3}}) {
    gl::SplitMix64 rng(seed);
    const auto got = gl::RandomSample(total, size, rng);
    const auto want = PythonReference("random " + std::to_string(total) + " " +
                                      std::to_string(size) + " " + std::to_string(seed));
    BOOST_TEST(got == want,
               "total " << total << " size " << size << ":" << Join(got) << " vs" << Join(want));
    BOOST_TEST(std::is_sorted(got.begin(), got.end()));
  }
  // Pinned, so a change of algorithm shows here even if the Python copy changed with it.
  gl::SplitMix64 rng(7);
  BOOST_TEST(gl::RandomSample(10, 4, rng) == (std::vector<int64_t>{0, 4, 6, 7}));
}

// Proportional allocation with the largest-remainder rule, computed by hand.
BOOST_AUTO_TEST_CASE(proportional_allocation_by_hand) {
  using V = std::vector<int64_t>;
  // 7 × (5, 3, 2) / 10 = 3.5, 2.1, 1.4: floors 3, 2, 1 (6); the largest remainder (.5) gets 1.
  BOOST_TEST(gl::ProportionalAllocation(V{5, 3, 2}, 7) == (V{4, 2, 1}));
  // 5 × (6, 3, 1) / 10 = 3, 1.5, 0.5: floors 3, 1, 0; remainders tie, the earlier stratum wins.
  BOOST_TEST(gl::ProportionalAllocation(V{6, 3, 1}, 5) == (V{3, 2, 0}));
  // 2 × (1, 1, 1) / 3: floors 0; three equal remainders, the first two strata get one each.
  BOOST_TEST(gl::ProportionalAllocation(V{1, 1, 1}, 2) == (V{1, 1, 0}));
  // HMDA deny: 2,095 "no", 285 "yes"; 600 × 2095 / 2380 = 528.15, 600 × 285 / 2380 = 71.85.
  BOOST_TEST(gl::ProportionalAllocation(V{2095, 285}, 600) == (V{528, 72}));
  // More than the file holds: everything; exactly the file: everything.
  BOOST_TEST(gl::ProportionalAllocation(V{4, 1}, 50) == (V{4, 1}));
  BOOST_TEST(gl::ProportionalAllocation(V{4, 1}, 5) == (V{4, 1}));
  BOOST_TEST(gl::ProportionalAllocation(V{0, 3}, 2) == (V{0, 2}));
}

BOOST_AUTO_TEST_CASE(stratified_sample_matches_python_reimplementation) {
  std::vector<int64_t> labels;
  for (int i = 0; i < 97; ++i) labels.push_back((i * 7) % 3 == 0 ? 2 : i % 5 == 0 ? 0 : 1);
  gl::SampleSpec spec{gl::SampleMethod::kStratified, 20, 99, false};
  const gl::RowSelection got = gl::SelectRows(spec, 97, labels);
  BOOST_TEST(got.rows == PythonReference("stratified 20 99" + Join(labels)));
  int64_t drawn = 0;
  for (const auto& s : got.strata) drawn += s.rows_drawn;
  BOOST_TEST(drawn == 20);
  BOOST_TEST(got.strata.size() == 3u);
  BOOST_TEST(got.strata[0].label == 0);
}

BOOST_AUTO_TEST_CASE(first_and_all) {
  const std::vector<int64_t> none;
  const auto first = gl::SelectRows({gl::SampleMethod::kFirst, 3, 0, true}, 10, none);
  BOOST_TEST(first.rows == (std::vector<int64_t>{0, 1, 2}));
  BOOST_TEST(gl::SelectRows({gl::SampleMethod::kFirst, 30, 0, true}, 4, none).rows.size() == 4u);
  BOOST_TEST(gl::SelectRows({}, 4, none).rows == (std::vector<int64_t>{0, 1, 2, 3}));
  BOOST_CHECK_THROW(gl::SelectRows({gl::SampleMethod::kStratified, 3, 0, false}, 4, none),
                    gl::InputError);
}

// A CSV whose feature is the row index: the loaded rows must be the reference's rows.
BOOST_AUTO_TEST_CASE(csv_random_and_stratified_samples_pick_the_reference_rows) {
  t::TempDir dir;
  std::string csv = "idx,y\n";
  std::vector<int64_t> labels;
  for (int i = 0; i < 500; ++i) {
    labels.push_back(i % 4 == 0 ? 1 : 0);
    csv += std::to_string(i) + "," + (i % 4 == 0 ? "yes" : "no") + "\n";
  }
  t::WriteText(dir / "t.csv", csv);
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = dir / "t.csv";
  spec.features = {"idx"};
  spec.label = gl::LabelSpec{"y", "yes", {}};
  auto rows_of = [](const gl::Dataset& ds) {
    std::vector<int64_t> out;
    for (float f : ds.features()) out.push_back(static_cast<int64_t>(f));
    return out;
  };

  spec.sample = gl::SampleSpec{gl::SampleMethod::kRandom, 60, 42, false};
  auto ds = gl::LoadDataset(spec);
  BOOST_TEST(rows_of(*ds) == PythonReference("random 500 60 42"));
  BOOST_TEST(ds->info().rows == 60);
  BOOST_TEST(ds->info().total_rows == 500);
  BOOST_TEST((ds->info().selection.method == gl::SampleMethod::kRandom));
  BOOST_TEST(ds->info().selection.seed == 42u);
  // The same seed gives the same rows; another seed other rows.
  BOOST_TEST(rows_of(*gl::LoadDataset(spec)) == rows_of(*ds));
  spec.sample->seed = 43;
  BOOST_TEST(rows_of(*gl::LoadDataset(spec)) != rows_of(*ds));

  // Stratified: 125 "yes" of 500; 60 × 125 / 500 = 15 exactly, 45 "no".
  spec.sample = gl::SampleSpec{gl::SampleMethod::kStratified, 60, 42, false};
  ds = gl::LoadDataset(spec);
  BOOST_TEST(rows_of(*ds) == PythonReference("stratified 60 42" + Join(labels)));
  const auto l = ds->labels();
  BOOST_TEST(std::accumulate(l.begin(), l.end(), int64_t{0}) == 15);
  BOOST_TEST(ds->info().selection.strata.size() == 2u);
  BOOST_TEST(ds->info().selection.strata[1].rows_in_file == 125);
  BOOST_TEST(ds->info().selection.strata[1].rows_drawn == 15);

  // limit: N stays the first N rows.
  spec.sample.reset();
  spec.limit = 7;
  ds = gl::LoadDataset(spec);
  BOOST_TEST(rows_of(*ds) == (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  BOOST_TEST(ds->info().selection.from_limit);
  BOOST_TEST(ds->info().total_rows == 500);
}

// Fashion-MNIST's test set has exactly 1,000 images of each of its 10 classes, so a stratified
// sample of 1,000 has 100 of each (hand computation: 1000 × 1000 / 10000 = 100, no remainders).
BOOST_AUTO_TEST_CASE(idx_stratified_sample_keeps_class_proportions) {
  gl::DatasetSpec spec;
  spec.format = "idx";
  spec.images = t::FashionDir() / "t10k-images-idx3-ubyte.gz";
  spec.labels = t::FashionDir() / "t10k-labels-idx1-ubyte.gz";
  spec.sample = gl::SampleSpec{gl::SampleMethod::kStratified, 1000, 11, false};
  const auto ds = gl::LoadDataset(spec);
  BOOST_TEST(ds->rows() == 1000);
  BOOST_TEST(ds->info().total_rows == 10000);
  std::map<int64_t, int> per_class;
  for (int64_t y : ds->labels()) ++per_class[y];
  BOOST_TEST(per_class.size() == 10u);
  for (const auto& [y, n] : per_class) BOOST_TEST(n == 100, "class " << y);
  // First N reads only N rows but still knows the file's size.
  spec.sample = gl::SampleSpec{gl::SampleMethod::kFirst, 25, 0, false};
  const auto first = gl::LoadDataset(spec);
  BOOST_TEST(first->rows() == 25);
  BOOST_TEST(first->info().total_rows == 10000);
}

BOOST_AUTO_TEST_SUITE_END()
