// File-level checks of the dataset readers: IDX dimensions against the bytes present (plain and
// gzip'd, files made by Python's gzip), FIFOs refused, duplicate CSV headers, invalid UTF-8.
#define BOOST_TEST_MODULE dataset_files
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <functional>

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
  return "(no InputError)";
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(idx_dimensions_are_checked_against_the_file_before_allocating) {
  t::TempDir dir;
  // Header for 0xFFFFFFFF x 0xFFFFFFFF x 0xFFFFFFFF bytes (~8e28) with 3 bytes of data; and
  // 2^16 x 2^16 (4 GiB) whose product fits in 64 bits but not in the file.
  const std::string huge = std::string("\0\0\x08\x03", 4) + std::string(12, '\xFF') + "abc";
  const std::string big = std::string("\0\0\x08\x02\0\x01\0\0\0\x01\0\0", 12) + "abcd";
  BOOST_TEST(Has(ErrorOf([&] { gl::ParseIdx(huge, "huge.idx", std::nullopt); }),
                 "huge.idx: IDX header declares 4294967295 x 4294967295 x 4294967295 items but "
                 "the file holds only 3 data bytes"));
  BOOST_TEST(Has(ErrorOf([&] { gl::ParseIdx(big, "big.idx", 1); }),
                 "big.idx: IDX header declares 65536 x 65536 items but the file holds only 4"));
  // The same headers gzip'd by Python: decompressed, then checked the same way.
  t::WriteText(dir / "huge.raw", huge);
  const auto py = t::RunPython("import gzip\nopen('" + (dir / "huge.gz").string() +
                               "', 'wb').write(gzip.compress(open('" + (dir / "huge.raw").string() +
                               "', 'rb').read()))\n");
  BOOST_REQUIRE(py.exit_code == 0);
  BOOST_TEST(Has(ErrorOf([&] { gl::ReadIdxFile(dir / "huge.gz", std::nullopt); }),
                 "declares 4294967295 x 4294967295 x 4294967295 items"));
  // A truncated gzip stream is refused, not read as a short array.
  const std::string gz = t::ReadText(dir / "huge.gz");
  BOOST_TEST(Has(ErrorOf([&] { gl::ParseIdx(gz.substr(0, gz.size() - 12), "cut.gz", 1); }),
                 "cut.gz: truncated gzip stream"));
}

BOOST_AUTO_TEST_CASE(fifo_datasets_are_refused_without_blocking) {
  t::TempDir dir;
  BOOST_REQUIRE(::mkfifo((dir / "images.fifo").c_str(), 0600) == 0);
  gl::DatasetSpec idx;
  idx.format = "idx";
  idx.images = dir / "images.fifo";
  idx.labels = dir / "images.fifo";
  BOOST_TEST(ErrorOf([&] { gl::LoadDataset(idx); }) ==
             (dir / "images.fifo").string() + ": is a FIFO, expected a regular IDX file");
  gl::DatasetSpec csv;
  csv.format = "csv";
  csv.path = dir / "images.fifo";
  BOOST_TEST(Has(ErrorOf([&] { gl::LoadDataset(csv); }), "is a FIFO, expected a regular CSV file"));
}

BOOST_AUTO_TEST_CASE(csv_duplicate_header_and_invalid_utf8) {
  BOOST_TEST(ErrorOf([] { gl::ParseCsv("a,b,a\n1,2,3\n", "f.csv"); }) ==
             "f.csv:1: column 'a' appears twice in the header (columns 1 and 3)");
  BOOST_TEST(ErrorOf([] { gl::ParseCsv("a,b\n1,x\xC3(\n", "f.csv"); }) ==
             "f.csv:2:4: invalid UTF-8 (byte 0xC3)");
  const auto ok = gl::ParseCsv("name,v\ncaf\xC3\xA9,1\n", "f.csv");
  BOOST_TEST(ok.rows[0][0] == "caf\xC3\xA9");
}

// The digest recorded for a CSV is that of the bytes parsed (read once).
BOOST_AUTO_TEST_CASE(csv_digest_is_of_the_bytes_read) {
  t::TempDir dir;
  const std::string text = "x,y\n1,a\n2,b\n";
  t::WriteText(dir / "d.csv", text);
  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = dir / "d.csv";
  spec.features = {"x"};
  spec.predictions = gl::PredictionSpec{.column = "y", .positive = "a"};
  const auto ds = gl::LoadDataset(spec);
  const auto py = t::RunPython("import hashlib\nprint(hashlib.sha256(open('" +
                               (dir / "d.csv").string() + "', 'rb').read()).hexdigest())\n");
  BOOST_TEST(ds->info().files[0].sha256 + "\n" == py.out);
}
