// Base64 decoding (both alphabets): strict, and a decoded text re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reports/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto decoded = greenlight::Base64Decode(text);
  if (decoded) {
    const auto again = greenlight::Base64Decode(greenlight::Base64Encode(*decoded));
    if (!again || *again != *decoded) __builtin_trap();
  }
  return 0;
}
