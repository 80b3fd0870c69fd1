// Carbon arithmetic: operational emissions (energy × grid intensity × PUE) and the Green Software
// Foundation's Software Carbon Intensity (SCI, ISO/IEC 21031:2024): SCI = (E·I + M) / R with
// embodied emissions M = TE · (TiR / EL) · (RR / ToR).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace greenlight::energy {

constexpr double kJoulesPerKwh = 3.6e6;

// Life-cycle carbon intensity of electricity generation by country.
struct GridIntensity {
  std::string code;  // ISO 3166-1 alpha-2, or "WORLD".
  std::string name;
  double g_per_kwh = 0.0;
  int year = 0;
  std::string source;
};
const std::vector<GridIntensity>& GridIntensityTable();
// Case-insensitive lookup by code; nullopt when absent.
std::optional<GridIntensity> FindGridIntensity(const std::string& code);
// The documented default: the world average.
const GridIntensity& WorldGridIntensity();

// grams CO2e of `energy_j` joules at `intensity_g_per_kwh`, with facility overhead `pue` (>= 1).
double CarbonGrams(double energy_j, double intensity_g_per_kwh, double pue);

// Embodied emissions share M (grams) = TE · (TiR / EL) · (RR / ToR).
struct EmbodiedInputs {
  double total_embodied_g = 0.0;     // TE: life-cycle manufacturing + disposal of the hardware.
  double time_reserved_s = 0.0;      // TiR: how long the software held the hardware.
  double expected_lifespan_s = 0.0;  // EL.
  double resources_reserved = 1.0;   // RR: e.g. threads used.
  double resources_total = 1.0;      // ToR: e.g. logical cores of the machine.
};
double EmbodiedGrams(const EmbodiedInputs& in);

// SCI per functional unit: (E·I + M) / R, E in kWh (after PUE), I in g/kWh, M in g, R units.
double SciPerUnit(double energy_kwh, double intensity_g_per_kwh, double embodied_g, double units);

constexpr double kSecondsPerYear = 365.25 * 24 * 3600;

}  // namespace greenlight::energy
