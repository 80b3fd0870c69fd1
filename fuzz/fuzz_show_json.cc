// `show`'s and `render`'s JSON reader: a report.json or an envelope's payload read back into the
// report model and rendered in every registered format.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/json_limits.h"
#include "reports/dsse.h"
#include "reports/report.h"
#include "reports/reporter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    nlohmann::json statement = greenlight::ParseJsonDocument(text, "report");
    if (statement.is_object() && statement.contains("payloadType")) {
      std::string error;
      const auto envelope = greenlight::ParseEnvelope(text, &error);
      if (!envelope) return 0;
      statement = greenlight::ParseJsonDocument(envelope->payload, "payload");
    }
    const greenlight::Report report = greenlight::FromStatement(statement);
    const greenlight::ReporterRegistry& reporters = greenlight::BuiltinReporters();
    for (const std::string& format : reporters.names()) {
      reporters.Make(format, {.color = true, .explain = true, .signature = "not checked"})
          ->Render(report);
    }
  } catch (const greenlight::InputError&) {
  }
  return 0;
}
