// Live grid carbon intensity from an HTTP endpoint (docs/energy.md, "Live grid intensity"). Two
// response shapes are understood, those of the common public "latest carbon intensity" calls:
//   Electricity Maps v3 /carbon-intensity/latest:
//     {"zone": "DE", "carbonIntensity": 302, "datetime": "2026-11-29T18:00:00.000Z", ...}
//   Carbon Intensity API (GB) /intensity:
//     {"data": [{"from": "...", "to": "...", "intensity": {"forecast": 266, "actual": 263}}]}
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace greenlight::energy {

// The criterion's `grid_intensity` parameter.
struct LiveGridSpec {
  std::string url;            // https; the zone is sent as the `zone` query parameter.
  std::string zone;           // Optional.
  std::string token_file;     // Optional: its one line goes in the `auth-token` header.
  bool require_live = false;  // No live figure: INCONCLUSIVE instead of the fallback.
};

struct LiveGridReading {
  double g_per_kwh = 0.0;
  std::string zone;
  std::string timestamp;  // As the endpoint gave it.
  std::string shape;      // "electricity-maps" | "carbon-intensity-gb"
  std::string figure;     // "actual" | "forecast" | "carbonIntensity"
};

// Throws InputError naming the field when the parameter is malformed.
LiveGridSpec ParseLiveGridSpec(const nlohmann::json& param);

// Parses a response body; throws InputError "<reason>" when it has neither shape or the figure is
// not a finite number >= 0.
LiveGridReading ParseGridResponse(const std::string& body);

// Fetches and parses the latest figure (net::Send, settings from the environment). Throws
// greenlight::Error with the reason when the endpoint is unreachable, answers non-200 or
// malformed.
LiveGridReading FetchLiveGridIntensity(const LiveGridSpec& spec);

}  // namespace greenlight::energy
