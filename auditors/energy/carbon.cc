#include "auditors/energy/carbon.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace greenlight::energy {

namespace {
constexpr const char* kEmber2023 =
    "Ember, Yearly Electricity Data (life-cycle gCO2e/kWh of generation), via Our World in Data "
    "'Carbon intensity of electricity generation'";
}  // namespace

const std::vector<GridIntensity>& GridIntensityTable() {
  // Only values checked against the cited source are shipped; pass grid_intensity_g_per_kwh
  // for any other grid (or a more recent or hourly figure).
  static const std::vector<GridIntensity> kTable = {
      {"WORLD", "World", 481, 2023,
       "Ember, Global Electricity Review 2024 (world power sector, 2023)"},
      {"AR", "Argentina", 354, 2023, kEmber2023},
      {"AT", "Austria", 111, 2023, kEmber2023},
      {"AU", "Australia", 549, 2023, kEmber2023},
      {"BD", "Bangladesh", 691, 2023, kEmber2023},
      {"BE", "Belgium", 138, 2023, kEmber2023},
      {"BG", "Bulgaria", 335, 2023, kEmber2023},
      {"BR", "Brazil", 98, 2023, kEmber2023},
      {"CA", "Canada", 170, 2023, kEmber2023},
      {"CL", "Chile", 291, 2023, kEmber2023},
      {"CN", "China", 582, 2023, kEmber2023},
      {"CO", "Colombia", 260, 2023, kEmber2023},
      {"CR", "Costa Rica", 53, 2023, kEmber2023},
      {"CY", "Cyprus", 534, 2023, kEmber2023},
      {"CZ", "Czechia", 450, 2023, kEmber2023},
      {"DE", "Germany", 381, 2023, kEmber2023},
      {"DK", "Denmark", 152, 2023, kEmber2023},
      {"EE", "Estonia", 417, 2023, kEmber2023},
      {"EG", "Egypt", 570, 2023, kEmber2023},
      {"FI", "Finland", 79, 2023, kEmber2023},
      {"FR", "France", 56, 2023, kEmber2023},
      {"GR", "Greece", 337, 2023, kEmber2023},
      {"HR", "Croatia", 205, 2023, kEmber2023},
      {"HU", "Hungary", 204, 2023, kEmber2023},
      {"IE", "Ireland", 291, 2023, kEmber2023},
      {"IN", "India", 713, 2023, kEmber2023},
      {"IR", "Iran", 655, 2023, kEmber2023},
      {"NO", "Norway", 30, 2023, "Ember 2023, as reported by Statista (July 2024)"},
  };
  return kTable;
}

std::optional<GridIntensity> FindGridIntensity(const std::string& code) {
  std::string upper = code;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  for (const GridIntensity& g : GridIntensityTable()) {
    if (g.code == upper) return g;
  }
  return std::nullopt;
}

const GridIntensity& WorldGridIntensity() { return GridIntensityTable().front(); }

double CarbonGrams(double energy_j, double intensity_g_per_kwh, double pue) {
  return energy_j / kJoulesPerKwh * intensity_g_per_kwh * pue;
}

double EmbodiedGrams(const EmbodiedInputs& in) {
  if (in.expected_lifespan_s <= 0.0) throw InputError("expected lifespan must be > 0");
  if (in.resources_total <= 0.0) throw InputError("resources_total must be > 0");
  return in.total_embodied_g * (in.time_reserved_s / in.expected_lifespan_s) *
         (in.resources_reserved / in.resources_total);
}

double SciPerUnit(double energy_kwh, double intensity_g_per_kwh, double embodied_g, double units) {
  return (energy_kwh * intensity_g_per_kwh + embodied_g) / units;
}

}  // namespace greenlight::energy
