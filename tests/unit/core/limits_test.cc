// Input limits at the core boundary: regular files only, size limits, UTF-8 validation (checked
// against Python's decoder), YAML limits (aliases, depth, scalar length, numbers, documents) and
// JSON nesting.
#define BOOST_TEST_MODULE core_limits
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "core/yaml_json.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

template <typename F>
std::string InputErrorOf(F&& f) {
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

BOOST_AUTO_TEST_CASE(read_file_refuses_fifos_devices_directories_and_oversize) {
  t::TempDir dir;
  const auto fifo = dir / "criteria.fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Returns at once (no writer would ever come): the open does not block.
  BOOST_TEST(InputErrorOf([&] { gl::ReadFile(fifo); }) ==
             fifo.string() + ": is a FIFO, expected a regular file");
  BOOST_TEST(
      Has(InputErrorOf([&] { gl::ReadFile("/dev/zero", gl::kMaxCriteriaBytes, "criteria file"); }),
          "/dev/zero: is a character device, expected a regular criteria file"));
  BOOST_TEST(Has(InputErrorOf([&] { gl::ReadFile(dir.path()); }), "is a directory"));
  BOOST_TEST(Has(InputErrorOf([&] { gl::ReadFile(dir / "absent"); }), "absent: no such file"));
  t::WriteText(dir / "big", std::string(2000, 'x'));
  BOOST_TEST(Has(InputErrorOf([&] { gl::ReadFile(dir / "big", 1000, "key file"); }),
                 "key file is 2000 bytes, over the limit of 1000 bytes"));
  BOOST_TEST(gl::ReadFile(dir / "big", 2000).size() == 2000u);
}

// Python's strict UTF-8 decoder is the reference: its UnicodeDecodeError.start is the offset of
// the first invalid sequence.
BOOST_AUTO_TEST_CASE(utf8_validation_matches_python) {
  std::mt19937_64 rng(17);
  const unsigned char interesting[] = {0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                       0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90};
  std::vector<std::string> cases;
  for (int i = 0; i < 300; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 7);
    for (int k = 0; k < n; ++k) s.push_back(static_cast<char>(interesting[rng() % 20]));
    cases.push_back(s);
  }
  cases.push_back("\xED\xA0\x80");      // A surrogate.
  cases.push_back("\xF4\x90\x80\x80");  // Above U+10FFFF.
  cases.push_back("\xE0\x80\xAF");      // Overlong.
  cases.push_back("h\xC3\xA9llo");      // Valid.
  std::string script = "import sys\ncases = [";
  for (const auto& c : cases) {
    script += "bytes([";
    for (unsigned char b : c) script += std::to_string(b) + ",";
    script += "]),";
  }
  script +=
      "]\nfor c in cases:\n    try:\n        c.decode('utf-8')\n        print(-1)\n"
      "    except UnicodeDecodeError as e:\n        print(e.start)\n";
  const auto py = t::RunPython(script);
  BOOST_REQUIRE(py.exit_code == 0);
  std::istringstream in(py.out);
  for (const auto& c : cases) {
    long long expected = 0;
    in >> expected;
    const size_t got = gl::FindInvalidUtf8(c);
    const long long mine = got == std::string::npos ? -1 : static_cast<long long>(got);
    BOOST_TEST(mine == expected);
  }
}

BOOST_AUTO_TEST_CASE(yaml_scalars_numbers_and_documents) {
  BOOST_TEST(
      Has(InputErrorOf([] { gl::ParseYaml("id: " + std::string(200000, 'a') + "\n", "c.yaml"); }),
          "c.yaml:1:5: scalar of 200000 bytes, over the limit of 65536"));
  // 60,000 digits: within the scalar limit, beyond any double; 200,000: over the scalar limit.
  const std::string digits(60000, '7');
  BOOST_TEST(Has(InputErrorOf([&] { gl::ParseYaml("x:\n  v: " + digits + "\n", "c.yaml"); }),
                 "c.yaml:2:6: number '7777"));
  BOOST_TEST(Has(
      InputErrorOf([&] { gl::ParseYaml("x:\n  v: " + std::string(200000, '7') + "\n", "c.yaml"); }),
      "c.yaml:2:6: scalar of 200000 bytes"));
  BOOST_TEST(Has(InputErrorOf([] { gl::ParseYaml("v: 1e999\n", "c.yaml"); }),
                 "c.yaml:1:4: number '1e999' is out of range"));
  BOOST_TEST(
      Has(InputErrorOf([] { gl::ParseYaml("v: " + std::string(400, '9') + "\n", "c.yaml"); }),
          "is out of range"));
  for (const char* bad : {".nan", ".NaN", ".inf", "-.inf", "+.Inf"}) {
    BOOST_TEST(
        Has(InputErrorOf([&] { gl::ParseYaml(std::string("a: 1\nv: ") + bad + "\n", "c.yaml"); }),
            "c.yaml:2:4: '" + std::string(bad) + "' is not a finite number"));
  }
  // Underflow keeps the nearest double (a denormal), as Python's float() does.
  const auto tiny = gl::ParseYaml("v: 1e-320\n", "c.yaml");
  BOOST_TEST(tiny.value["v"].get<double>() == 1e-320);
  BOOST_TEST(std::fpclassify(tiny.value["v"].get<double>()) == FP_SUBNORMAL);
  // 300 digits overflow int64 but fit a double: float('1' * 300) in Python is 1.111...e299.
  const auto big = gl::ParseYaml("v: " + std::string(300, '1') + "\n", "c.yaml");
  BOOST_TEST(big.value["v"].get<double>() == 1.1111111111111112e299);
  BOOST_TEST(Has(InputErrorOf([] { gl::ParseYaml("a: 1\n---\nb: 2\n", "c.yaml"); }),
                 "c.yaml:3:1: a second YAML document"));
  BOOST_TEST(Has(InputErrorOf([] { gl::ParseYaml("a: 1\nb: x\xFFy\n", "c.yaml"); }),
                 "c.yaml:2:5: invalid UTF-8 (byte 0xFF)"));
  // The ordinary core-schema cases still convert as before.
  const auto doc = gl::ParseYaml("a: -12\nb: .5\nc: +3.\nd: 1e3\ne: '7'\nf: 1.2.3\n", "c.yaml");
  BOOST_TEST(doc.value["a"].get<int64_t>() == -12);
  BOOST_TEST(doc.value["b"].get<double>() == 0.5);
  BOOST_TEST(doc.value["c"].get<double>() == 3.0);
  BOOST_TEST(doc.value["d"].get<double>() == 1000.0);
  BOOST_TEST(doc.value["e"].get<std::string>() == "7");
  BOOST_TEST(doc.value["f"].get<std::string>() == "1.2.3");
}

BOOST_AUTO_TEST_CASE(yaml_alias_bomb_and_nesting) {
  // "Billion laughs": 9 levels of 10 aliases each would expand to 10^9 nodes.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  BOOST_TEST(Has(InputErrorOf([&] { gl::ParseYaml(bomb, "bomb.yaml"); }),
                 "expands to more than 100000 nodes"));
  std::string deep = "v: ";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  BOOST_TEST(Has(InputErrorOf([&] { gl::ParseYaml(deep + "\n", "deep.yaml"); }),
                 "nested deeper than 64 levels"));
  // Far deeper than the stack could take if anything recursed without a bound.
  const std::string abyss = std::string(500000, '[') + std::string(500000, ']');
  BOOST_TEST(Has(InputErrorOf([&] { gl::ParseYaml(abyss, "abyss.yaml"); }), "abyss.yaml:"));
}

// yaml-cpp 0.7 emits null nodes forever on a document that starts with a flow entry (found by
// fuzz_criteria as the 10 bytes ", yaapltei"); the loader stops it at its first line.
BOOST_AUTO_TEST_CASE(yaml_parser_that_makes_no_progress_is_stopped) {
  for (const std::string text : {", x", ", yaapltei", "a: 1\n, b\n"}) {
    const std::string what = InputErrorOf([&] { gl::ParseYaml(text, "loop.yaml"); });
    BOOST_TEST((Has(what, "loop.yaml:") && Has(what, "invalid YAML")), text << " -> " << what);
  }
  // Dense but valid YAML stays within the event budget.
  std::string flow = "v: [";
  for (int i = 0; i < 5000; ++i) flow += "[], {}, ";
  flow += "~]\n";
  BOOST_TEST(gl::ParseYaml(flow, "dense.yaml").value["v"].size() == 10001u);
  const auto nulls = gl::ParseYaml("- \n- \n- \n", "n.yaml");
  BOOST_TEST(nulls.value.size() == 3u);
}

BOOST_AUTO_TEST_CASE(json_depth_is_checked_before_parsing) {
  const auto nest = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  BOOST_TEST(!gl::CheckJsonDepth(nest(64)).has_value());
  BOOST_TEST(gl::CheckJsonDepth(nest(65)).value() ==
             "JSON nested deeper than 64 levels at byte 64");
  // Brackets inside strings, escaped quotes included, do not count.
  BOOST_TEST(!gl::CheckJsonDepth("{\"a\": \"" + std::string(100, '[') + "\\\"[[\"}").has_value());
  BOOST_TEST(Has(InputErrorOf([&] { gl::ParseJsonDocument(nest(1000000), "r.json"); }),
                 "r.json: JSON nested deeper than 64 levels"));
  BOOST_TEST(Has(InputErrorOf([] { gl::ParseJsonDocument("{\"a\": ", "r.json"); }),
                 "r.json: not valid JSON at byte"));
  BOOST_TEST(gl::ParseJsonDocument("{\"a\": [1]}", "r.json")["a"][0] == 1);
  // A number no double can hold is an input error, not an uncaught out_of_range (found by
  // fuzz_show_json).
  BOOST_TEST(InputErrorOf([] { gl::ParseJsonDocument("{\"a\": 1e999}", "r.json"); }) ==
             "r.json: number overflow parsing '1e999'");
}
