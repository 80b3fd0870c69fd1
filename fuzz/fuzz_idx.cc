// IDX reader: gzip'd or plain, header and dimension checks before allocation.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "datasets/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const std::optional<int64_t> limit : {std::optional<int64_t>{}, std::optional<int64_t>{1}}) {
    try {
      const greenlight::IdxArray a = greenlight::ParseIdx(bytes, "fuzz.idx", limit);
      uint64_t items = 1;
      for (int64_t d : a.dims) items *= static_cast<uint64_t>(d);
      if (items != a.data.size()) __builtin_trap();
    } catch (const greenlight::InputError&) {
    }
  }
  return 0;
}
