// SliceRows (datasets/dataset_slice.h) on a hand-written CSV: the slice's features, labels and
// sensitive values are the whole dataset's rows [begin, end), its class count is the whole
// dataset's (so shard statistics have one shape), and a range outside the rows is bad input.
#define BOOST_TEST_MODULE dataset_slice
#include "datasets/dataset_slice.h"

#include <boost/test/unit_test.hpp>
#include <vector>

#include "core/error.h"
#include "datasets/dataset.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

// 5 rows; label classes 0..2, but rows 1..2 use only classes 0 and 1.
gl::DatasetSpec FiveRows(const t::TempDir& dir) {
  t::WriteText(dir / "d.csv",
               "x,y,g,label\n"
               "1,10,a,2\n"
               "2,20,b,0\n"
               "3,30,a,1\n"
               "4,40,c,0\n"
               "5,50,b,2\n");
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = dir / "d.csv";
  spec.features = {"x", "y"};
  spec.label = gl::LabelSpec{"label", std::nullopt, {}};
  spec.sensitive = {"g"};
  return spec;
}

}  // namespace

BOOST_AUTO_TEST_CASE(slice_is_the_rows_of_the_whole) {
  t::TempDir dir;
  const gl::DatasetSpec spec = FiveRows(dir);
  const auto whole = gl::LoadDataset(spec);
  BOOST_REQUIRE(whole->rows() == 5);
  const auto slice = gl::SliceRows(*whole, 1, 3);
  BOOST_TEST(slice->rows() == 2);
  BOOST_TEST(slice->info().total_rows == 5);
  BOOST_TEST(slice->sample_size() == 2);
  const auto f = slice->features();
  BOOST_TEST((std::vector<float>(f.begin(), f.end()) == std::vector<float>{2, 20, 3, 30}));
  BOOST_TEST((std::vector<float>(slice->row(1).begin(), slice->row(1).end()) ==
              std::vector<float>{3, 30}));
  const auto labels = slice->labels();
  BOOST_TEST((std::vector<int64_t>(labels.begin(), labels.end()) == std::vector<int64_t>{0, 1}));
  BOOST_TEST(slice->num_classes() == 3);
  BOOST_TEST((slice->sensitive().at("g") == std::vector<std::string>{"b", "a"}));
  BOOST_TEST(gl::SliceRows(*whole, 5, 5)->rows() == 0);
  for (auto [b, e] : {std::pair{-1, 2}, std::pair{3, 2}, std::pair{0, 6}}) {
    BOOST_CHECK_THROW(gl::SliceRows(*whole, b, e), gl::InputError);
  }
}

// The same for a source read in blocks: the slice's block [b, e) is the whole's [begin + b,
// begin + e), its metadata the whole's rows [begin, end).
BOOST_AUTO_TEST_CASE(source_slice_reads_the_rows_of_the_whole) {
  t::TempDir dir;
  const gl::DatasetSpec spec = FiveRows(dir);
  const auto whole = gl::OpenDataset(spec);
  const auto slice = gl::SliceRows(*whole, 1, 4);
  BOOST_TEST(slice->rows() == 3);
  BOOST_TEST(slice->num_classes() == 3);
  const auto block = slice->Read(1, 3);
  const auto f = block->features();
  BOOST_TEST((std::vector<float>(f.begin(), f.end()) == std::vector<float>{3, 30, 4, 40}));
  BOOST_TEST((block->sensitive().at("g") == std::vector<std::string>{"a", "c"}));
  const auto labels = slice->Metadata().labels();
  BOOST_TEST((std::vector<int64_t>(labels.begin(), labels.end()) == std::vector<int64_t>{0, 1, 0}));
  BOOST_CHECK_THROW(slice->Read(2, 4), gl::InputError);
  BOOST_CHECK_THROW(gl::SliceRows(*whole, 2, 6), gl::InputError);
}
