// Text datasets (format text and jsonl): documents per row, selection, and every bad input as a
// one-line error with file and line (and column where there is one).
#define BOOST_TEST_MODULE text_dataset
#include <boost/test/unit_test.hpp>

#include "core/digest.h"
#include "core/error.h"
#include "datasets/dataset.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

gl::DatasetSpec TextSpec(const std::filesystem::path& path, const std::string& split = "lines") {
  gl::DatasetSpec spec;
  spec.format = "text";
  spec.path = path;
  spec.split = split;
  return spec;
}

gl::DatasetSpec JsonlSpec(const std::filesystem::path& path) {
  gl::DatasetSpec spec;
  spec.format = "jsonl";
  spec.path = path;
  spec.text_field = "text";
  return spec;
}

std::vector<std::string> Texts(const gl::Dataset& d) {
  return std::vector<std::string>(d.texts().begin(), d.texts().end());
}

// The message of the InputError that opening `spec` throws ("" if none).
std::string OpenError(const gl::DatasetSpec& spec) {
  try {
    gl::OpenDataset(spec);
  } catch (const gl::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_are_documents) {
  t::TempDir dir;
  const std::string content = "first line\r\nsecond — line\nthird\n";
  t::WriteText(dir / "a.txt", content);
  const auto source = gl::OpenDataset(TextSpec(dir / "a.txt"));
  BOOST_TEST(source->rows() == 3);
  BOOST_TEST(source->info().total_rows == 3);
  BOOST_TEST(source->sample_size() == 0);
  BOOST_TEST(!source->has_labels());
  BOOST_TEST(source->info().files.at(0).sha256 == gl::Sha256Hex(content));
  const auto all = source->Read(0, 3);
  BOOST_TEST(Texts(*all) == (std::vector<std::string>{"first line", "second — line", "third"}));
  // A block keeps its documents.
  BOOST_TEST(Texts(*source->Read(1, 3)) == (std::vector<std::string>{"second — line", "third"}));
}

BOOST_AUTO_TEST_CASE(paragraphs_are_blank_line_separated) {
  t::TempDir dir;
  t::WriteText(dir / "p.txt", "\n\none\ntwo lines\n\n  \n\nthree\n\n");
  const auto data = gl::LoadDataset(TextSpec(dir / "p.txt", "paragraphs"));
  BOOST_TEST(Texts(*data) == (std::vector<std::string>{"one\ntwo lines", "three"}));
}

BOOST_AUTO_TEST_CASE(jsonl_reads_text_label_and_group) {
  t::TempDir dir;
  t::WriteText(dir / "d.jsonl",
               "{\"text\": \"a cat\", \"y\": 1, \"g\": \"x\"}\n"
               "{\"text\": \"dogs\\nbark\", \"y\": 0, \"g\": 7}\n");
  auto spec = JsonlSpec(dir / "d.jsonl");
  spec.label = gl::LabelSpec{"y", std::nullopt, {}};
  spec.sensitive = {"g"};
  const auto data = gl::LoadDataset(spec);
  BOOST_TEST(Texts(*data) == (std::vector<std::string>{"a cat", "dogs\nbark"}));
  BOOST_TEST(data->has_labels());
  BOOST_TEST(std::vector<int64_t>(data->labels().begin(), data->labels().end()) ==
             (std::vector<int64_t>{1, 0}));
  BOOST_TEST(data->num_classes() == 2);
  BOOST_TEST(data->sensitive().at("g") == (std::vector<std::string>{"x", "7"}));
}

BOOST_AUTO_TEST_CASE(selection_picks_documents) {
  t::TempDir dir;
  std::string content;
  for (int i = 0; i < 10; ++i) content += "doc " + std::to_string(i) + "\n";
  t::WriteText(dir / "ten.txt", content);
  auto spec = TextSpec(dir / "ten.txt");
  spec.sample = gl::SampleSpec{gl::SampleMethod::kRandom, 3, 1234567, false};
  const auto source = gl::OpenDataset(spec);
  BOOST_TEST(source->rows() == 3);
  BOOST_TEST(source->info().total_rows == 10);
  // The same rows the sampler selects (its own test pins it against the Python reference).
  const auto picked = gl::SelectRows(*spec.sample, 10, {}).rows;
  const auto texts = Texts(*source->Read(0, 3));
  for (size_t i = 0; i < 3; ++i) BOOST_TEST(texts[i] == "doc " + std::to_string(picked[i]));
}

BOOST_AUTO_TEST_CASE(bad_text_is_one_line_with_its_place) {
  t::TempDir dir;
  t::WriteText(dir / "utf8.txt", "fine\nab\xC3(x\n");
  BOOST_TEST(OpenError(TextSpec(dir / "utf8.txt")) ==
             (dir / "utf8.txt").string() + ":2:3: invalid UTF-8 (byte 0xC3)");
  t::WriteText(dir / "overlong.txt", "\xC0\xAF\n");
  BOOST_TEST(OpenError(TextSpec(dir / "overlong.txt")).find(":1:1: invalid UTF-8") !=
             std::string::npos);
  t::WriteText(dir / "surrogate.txt", "ok\n\xED\xA0\x80\n");
  BOOST_TEST(OpenError(TextSpec(dir / "surrogate.txt")).find(":2:1: invalid UTF-8") !=
             std::string::npos);
  t::WriteText(dir / "empty.txt", "one\n\nthree\n");
  BOOST_TEST(OpenError(TextSpec(dir / "empty.txt")).find("empty.txt:2: empty document") !=
             std::string::npos);
  t::WriteText(dir / "none.txt", "\n\n");
  BOOST_TEST(OpenError(TextSpec(dir / "none.txt", "paragraphs")) ==
             (dir / "none.txt").string() + ": no documents");
}

BOOST_AUTO_TEST_CASE(bad_jsonl_is_one_line_with_its_place) {
  t::TempDir dir;
  const auto error = [&](const std::string& content) {
    t::WriteText(dir / "d.jsonl", content);
    auto spec = JsonlSpec(dir / "d.jsonl");
    spec.label = gl::LabelSpec{"y", std::nullopt, {}};
    const std::string e = OpenError(spec);
    BOOST_TEST(e.find('\n') == std::string::npos);
    return e.substr(e.find("d.jsonl"));
  };
  const std::string ok = "{\"text\": \"x\", \"y\": 0}\n";
  BOOST_TEST(error(ok + "{\"y\": 1}\n") == "d.jsonl:2: no field 'text' (dataset.text)");
  BOOST_TEST(error(ok + ok + "{\"text\": 5, \"y\": 1}\n") ==
             "d.jsonl:3: field 'text' is a number, not a string");
  BOOST_TEST(error("{\"text\": \"\", \"y\": 1}\n") ==
             "d.jsonl:1: field 'text' is an empty document");
  BOOST_TEST(error(ok + "{\"text\": \"a\", \"y\": -1}\n") ==
             "d.jsonl:2: field 'y' is -1, not a non-negative integer class index");
  BOOST_TEST(error(ok + "{\"text\": \"a\"}\n") == "d.jsonl:2: no field 'y' (dataset.label)");
  BOOST_TEST(error(ok + "[1, 2]\n") == "d.jsonl:2: expected a JSON object");
  BOOST_TEST(
      error(ok + "{\"text\": \"a\" \"y\": 1}\n") ==
      "d.jsonl:2:16: not valid JSON");  // The parser stops after the unexpected "y" (bytes 14-16).
  BOOST_TEST(error(ok + "\n" + ok) == "d.jsonl:2: empty line (one JSON object per line)");
}
