#define BOOST_TEST_MODULE reports_base64
#include <boost/test/unit_test.hpp>
#include <random>

#include "reports/base64.h"

using greenlight::Base64Decode;
using greenlight::Base64Encode;

// RFC 4648 §10 test vectors.
BOOST_AUTO_TEST_CASE(rfc4648_section10_vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    BOOST_TEST(Base64Encode(plain) == encoded);
    const auto decoded = Base64Decode(encoded);
    BOOST_REQUIRE(decoded.has_value());
    BOOST_TEST(*decoded == plain);
  }
}

BOOST_AUTO_TEST_CASE(padding_is_optional) {
  BOOST_TEST(Base64Decode("Zg").value() == "f");
  BOOST_TEST(Base64Decode("Zm8").value() == "fo");
  BOOST_TEST(Base64Decode("Zm9vYmE").value() == "fooba");
}

// Bytes chosen so the encodings contain characters 62 and 63 of the alphabet.
BOOST_AUTO_TEST_CASE(standard_and_url_safe_alphabets) {
  const std::string bytes("\xfb\xff\xbf\xfe", 4);
  BOOST_TEST(Base64Encode(bytes) == "+/+//g==");
  BOOST_TEST(Base64Decode("+/+//g==").value() == bytes);
  BOOST_TEST(Base64Decode("-_-__g==").value() == bytes);
  BOOST_TEST(Base64Decode("-_-__g").value() == bytes);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_text) {
  const char* bad[] = {
      "Zg=",    // padding does not complete a group
      "Z",      // impossible length
      "Zm9vY",  // impossible length
      "Zg===",  // too much padding
      "Z===",   // too much padding
      "Zm8==",  // wrong padding amount
      "Zm=8",   // '=' inside
      "Zm 8",   // whitespace
      "Zm8\n",  // newline
      "Zm8*",   // outside both alphabets
      "+_AA",   // both alphabets mixed
      "Zh==",   // non-zero unused bits (canonical is Zg==)
      "Zm9=",   // non-zero unused bits (canonical is Zm8=)
  };
  for (const char* text : bad) {
    std::string error;
    BOOST_TEST(!Base64Decode(text, &error).has_value(), "accepted '" << text << "'");
    BOOST_TEST(!error.empty());
  }
}

BOOST_AUTO_TEST_CASE(round_trips_random_bytes_of_every_length) {
  std::mt19937 rng(20261128);
  for (size_t len = 0; len < 200; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const std::string text = Base64Encode(bytes);
    BOOST_TEST(text.size() == (len + 2) / 3 * 4);
    BOOST_TEST(Base64Decode(text).value() == bytes);
    std::string url = text;
    for (auto& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!url.empty() && url.back() == '=') url.pop_back();
    BOOST_TEST(Base64Decode(url).value() == bytes);
  }
}
