// Datasets read in blocks (DatasetSource::Read; docs/datasets.md, "Streaming"). Every block must
// hold exactly the file's rows, checked against independent readers: the one-shot IDX parser
// (whole-file gunzip, then the header) for pixels and labels, Python's csv module for CSV
// values and line numbers, and the Python re-implementation of sampling for which rows are
// selected. Blocks start anywhere, go back, cross the CSV's 256-row checkpoints and the end; a
// file changed while the audit reads it stops the read.
#define BOOST_TEST_MODULE streaming
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/idx_reader.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

std::vector<int64_t> Numbers(const std::string& text) {
  std::istringstream in(text);
  std::vector<int64_t> out;
  for (int64_t v; in >> v;) out.push_back(v);
  return out;
}

std::vector<int64_t> SampleReference(const std::string& args) {
  const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " '" + GREENLIGHT_SOURCE_DIR +
                             "/tests/unit/datasets/sampling_reference.py' " + args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return Numbers(r.out);
}

gl::DatasetSpec FashionTest(const std::filesystem::path& images,
                            const std::filesystem::path& labels) {
  gl::DatasetSpec spec;
  spec.format = "idx";
  spec.images = images;
  spec.labels = labels;
  spec.scale = 1.0 / 255.0;
  return spec;
}

// Block [begin, end) of `source` against the file rows `rows` (selected row -> file row) of the
// one-shot parse.
void CheckIdxBlock(const gl::DatasetSource& source, int64_t begin, int64_t end,
                   const gl::IdxArray& images, const gl::IdxArray& labels,
                   const std::vector<int64_t>& rows, float scale) {
  const auto block = source.Read(begin, end);
  BOOST_REQUIRE(block->rows() == end - begin);
  BOOST_TEST(block->num_classes() == source.num_classes());
  const size_t width = 784;
  BOOST_REQUIRE(block->features().size() == static_cast<size_t>(end - begin) * width);
  size_t mismatches = 0;
  for (int64_t r = begin; r < end; ++r) {
    const size_t file_row = static_cast<size_t>(rows[static_cast<size_t>(r)]);
    const auto got = block->row(r - begin);
    for (size_t j = 0; j < width; ++j) {
      if (got[j] != static_cast<float>(images.data[file_row * width + j]) * scale) ++mismatches;
    }
    if (block->labels()[static_cast<size_t>(r - begin)] != labels.data[file_row]) ++mismatches;
  }
  BOOST_TEST(mismatches == 0u, "block [" << begin << ", " << end << ")");
}

}  // namespace

BOOST_AUTO_TEST_CASE(idx_blocks_are_the_files_rows_gzip_and_plain) {
  const auto images_gz = t::FashionDir() / "t10k-images-idx3-ubyte.gz";
  const auto labels_gz = t::FashionDir() / "t10k-labels-idx1-ubyte.gz";
  const gl::IdxArray images = gl::ReadIdxFile(images_gz, std::nullopt);
  const gl::IdxArray labels = gl::ReadIdxFile(labels_gz, std::nullopt);
  const float scale = static_cast<float>(1.0 / 255.0);

  // A seeded random sample: rows in file order, reads forward and back in the gzip stream.
  gl::DatasetSpec spec = FashionTest(images_gz, labels_gz);
  spec.sample = gl::SampleSpec{gl::SampleMethod::kRandom, 3000, 11, false};
  const auto sampled = gl::OpenDataset(spec);
  const std::vector<int64_t> rows = SampleReference("random 10000 3000 11");
  BOOST_REQUIRE(rows.size() == 3000u);
  BOOST_TEST(sampled->rows() == 3000);
  BOOST_TEST(sampled->info().total_rows == 10000);
  BOOST_TEST(sampled->num_classes() == 10);
  for (auto [b, e] : {std::pair{0, 1}, std::pair{2990, 3000}, std::pair{1000, 1300},
                      std::pair{5, 40}, std::pair{0, 3000}, std::pair{7, 7}}) {
    CheckIdxBlock(*sampled, b, e, images, labels, rows, scale);
  }
  const auto metadata = sampled->Metadata().labels();
  for (size_t r = 0; r < rows.size(); ++r) {
    BOOST_REQUIRE(metadata[r] == labels.data[static_cast<size_t>(rows[r])]);
  }
  BOOST_TEST(sampled->Metadata().features().empty());

  // The same file uncompressed (written by Python's gzip module): read by offset.
  t::TempDir dir;
  const auto r =
      t::RunPython("import gzip,sys\nfor a,b in [('" + images_gz.string() + "','" +
                   (dir / "images").string() + "'),('" + labels_gz.string() + "','" +
                   (dir / "labels").string() + "')]:\n  open(b,'wb').write(gzip.open(a).read())\n");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  gl::DatasetSpec plain = FashionTest(dir / "images", dir / "labels");
  plain.limit = 5000;
  const auto first = gl::OpenDataset(plain);
  std::vector<int64_t> identity(10000);
  for (size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<int64_t>(i);
  BOOST_TEST(first->rows() == 5000);
  for (auto [b, e] : {std::pair{4096, 5000}, std::pair{0, 10}, std::pair{4999, 5000}}) {
    CheckIdxBlock(*first, b, e, images, labels, identity, scale);
  }
  BOOST_CHECK_THROW(first->Read(4990, 5001), gl::InputError);
  BOOST_CHECK_THROW(first->Read(3, 2), gl::InputError);

  // Changed in place while it is open: the next read stops rather than mixing two versions.
  std::filesystem::last_write_time(
      dir / "images", std::filesystem::file_time_type::clock::now() + std::chrono::hours(1));
  try {
    first->Read(0, 1);
    BOOST_FAIL("a changed file was read");
  } catch (const gl::RuntimeError& e) {
    BOOST_TEST(std::string(e.what()).find("changed while the audit was reading it") !=
               std::string::npos);
  }
}

// A CSV with quoted fields (commas, doubled quotes, newlines inside), CRLF line ends and blank
// lines, longer than several checkpoints. Python writes it and reads it back with its csv module
// for the expected values.
BOOST_AUTO_TEST_CASE(csv_blocks_are_the_files_rows) {
  t::TempDir dir;
  const auto path = dir / "data.csv";
  const std::string script = R"PY(
import csv, io, random, sys
random.seed(3)
out = io.StringIO()
w = csv.writer(out, lineterminator="\n")
w.writerow(["id", "note", "x", "cat", "grp", "label"])
for i in range(1000):
    note = random.choice(["plain", "with, comma", 'say ""hi""', "two\nlines", ""])
    x = random.choice([str(i * 0.25), "+%d" % i, "%de-3" % i])
    w.writerow([i, note, x, random.choice(["a", "b"]), random.choice(["g1", "g2", "g3"]),
                random.choice(["yes", "no"])])
lines = out.getvalue().split("\n")
text = ""
for k, line in enumerate(lines):
    text += line + ("\r\n" if k % 7 == 3 else "\n")
    if k % 50 == 10:
        text += "\n"
open(sys.argv[1], "w", newline="").write(text)
rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r][1:]
# Line of each record's first byte: count newlines before it.
starts, line, quoted, at_start = [], 1, False, True
for ch in text:
    if at_start and ch not in "\r\n":
        starts.append(line)
        at_start = False
    if ch == '"':
        quoted = not quoted
    elif ch == "\n":
        line += 1
        if not quoted:
            at_start = True
starts = starts[1:]
for r, s in zip(rows, starts):
    print(float(r[2]), 1.0 if r[3] == "a" else 0.0, r[4], 1 if r[5] == "yes" else 0, s)
)PY";
  t::WriteText(dir / "make.py", script);
  const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " + (dir / "make.py").string() +
                             " " + path.string());
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  struct Row {
    double x = 0, cat = 0;
    std::string grp;
    int64_t label = 0;
    int64_t line = 0;
  };
  std::vector<Row> expected;
  std::istringstream in(r.out);
  for (Row row; in >> row.x >> row.cat >> row.grp >> row.label >> row.line;) {
    expected.push_back(row);
  }
  BOOST_REQUIRE(expected.size() == 1000u);

  gl::DatasetSpec spec;
  spec.format = "csv";
  spec.path = path;
  spec.features = {"x", "cat"};
  spec.encode["cat"] = {{"a", 1.0}, {"b", 0.0}};
  spec.label = gl::LabelSpec{"label", std::string("yes"), {}};
  spec.sensitive = {"grp"};
  spec.sample = gl::SampleSpec{gl::SampleMethod::kStratified, 300, 5, false};
  std::string labels_arg;
  for (const Row& row : expected) labels_arg += " " + std::to_string(row.label);
  const std::vector<int64_t> rows = SampleReference("stratified 300 5" + labels_arg);
  BOOST_REQUIRE(rows.size() == 300u);

  const auto source = gl::OpenDataset(spec);
  BOOST_TEST(source->rows() == 300);
  BOOST_TEST(source->info().total_rows == 1000);
  for (auto [b, e] : {std::pair{0, 300}, std::pair{250, 260}, std::pair{0, 1}, std::pair{299, 300},
                      std::pair{120, 121}}) {
    const auto block = source->Read(b, e);
    BOOST_REQUIRE(block->rows() == e - b);
    size_t mismatches = 0;
    for (int64_t i = b; i < e; ++i) {
      const Row& want = expected[static_cast<size_t>(rows[static_cast<size_t>(i)])];
      const auto got = block->row(i - b);
      if (got[0] != static_cast<float>(want.x) || got[1] != static_cast<float>(want.cat)) {
        ++mismatches;
      }
      if (block->labels()[static_cast<size_t>(i - b)] != want.label) ++mismatches;
      if (block->sensitive().at("grp")[static_cast<size_t>(i - b)] != want.grp) ++mismatches;
    }
    BOOST_TEST(mismatches == 0u, "block [" << b << ", " << e << ")");
  }

  // A value that does not convert, in a selected row: the error names the line Python counts.
  const std::string text = t::ReadText(path);
  const size_t row_in_file = static_cast<size_t>(rows[200]);
  std::string broken = text;
  const std::string needle = "\n" + std::to_string(row_in_file) + ",";
  const size_t at = broken.find(needle);
  BOOST_REQUIRE(at != std::string::npos);
  // The x field follows the note; replace the whole record's x by rewriting through Python
  // would be longer: change the category instead (an unencoded value).
  const size_t cat_at = broken.find(",a,", at + 1) < broken.find(",b,", at + 1)
                            ? broken.find(",a,", at + 1)
                            : broken.find(",b,", at + 1);
  broken.replace(cat_at, 3, ",c,");
  t::WriteText(dir / "broken.csv", broken);
  gl::DatasetSpec bad = spec;
  bad.path = dir / "broken.csv";
  try {
    gl::OpenDataset(bad);
    BOOST_FAIL("an unencoded value was accepted");
  } catch (const gl::InputError& e) {
    BOOST_TEST(std::string(e.what()) == (dir / "broken.csv").string() + ":" +
                                            std::to_string(expected[row_in_file].line) +
                                            ": column 'cat': value 'c' has no declared encoding");
  }
}
