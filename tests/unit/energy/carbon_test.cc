// Carbon and SCI arithmetic against hand computations (values worked out with a calculator and
// repeated in the comments).
#include "auditors/energy/carbon.h"

#include <boost/test/unit_test.hpp>

#include "core/error.h"

using namespace greenlight::energy;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(carbon_of_one_kwh_is_the_intensity) {
  BOOST_TEST(CarbonGrams(3.6e6, 481.0, 1.0) == 481.0, tt::tolerance(1e-12));
  // 5 mJ per inference -> 5 J per 1000 inferences = 1.388889e-6 kWh; × 481 g/kWh × PUE 1.2
  // = 8.016667e-4 g per 1000 inferences.
  BOOST_TEST(CarbonGrams(5.0, 481.0, 1.2) == 8.0166666666666668e-4, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(sci_hand_computation) {
  // 36 J over 10,000 inferences in a 10 s window, I = 400 g/kWh, TE = 1,000 kg, EL = 4 years
  // (4 × 365.25 × 86,400 = 126,230,400 s), RR / ToR = 2 / 8.
  // M = 1e6 × 10 / 126,230,400 × 0.25 = 0.0198050549 g; E·I = 1e-5 kWh × 400 = 0.004 g;
  // SCI = (0.004 + 0.0198050549) / 10,000 = 2.380505e-6 g per inference.
  EmbodiedInputs in;
  in.total_embodied_g = 1e6;
  in.time_reserved_s = 10.0;
  in.expected_lifespan_s = 4 * kSecondsPerYear;
  in.resources_reserved = 2;
  in.resources_total = 8;
  const double m = EmbodiedGrams(in);
  BOOST_TEST(in.expected_lifespan_s == 126230400.0);
  BOOST_TEST(m == 0.019805054883768092, tt::tolerance(1e-12));
  BOOST_TEST(SciPerUnit(36.0 / kJoulesPerKwh, 400.0, m, 10000.0) == 2.3805054883768093e-06,
             tt::tolerance(1e-12));
  in.resources_total = 0;
  BOOST_CHECK_THROW(EmbodiedGrams(in), greenlight::InputError);
}

BOOST_AUTO_TEST_CASE(grid_table) {
  BOOST_TEST(WorldGridIntensity().g_per_kwh == 481.0);
  BOOST_TEST(WorldGridIntensity().year == 2023);
  BOOST_TEST(FindGridIntensity("fr")->g_per_kwh == 56.0);
  BOOST_TEST(FindGridIntensity("DE")->g_per_kwh == 381.0);
  BOOST_TEST(!FindGridIntensity("XX").has_value());
  for (const auto& g : GridIntensityTable()) {
    BOOST_TEST(!g.source.empty());
    BOOST_TEST(g.g_per_kwh > 0.0);
  }
}
