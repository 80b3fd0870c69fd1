// CSV reader: RFC 4180 parsing, UTF-8 validation, header checks.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "datasets/csv_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const greenlight::CsvTable table = greenlight::ParseCsv(text, "fuzz.csv");
    for (const auto& row : table.rows) {
      if (row.size() != table.header.size()) __builtin_trap();
    }
  } catch (const greenlight::InputError&) {
  }
  return 0;
}
