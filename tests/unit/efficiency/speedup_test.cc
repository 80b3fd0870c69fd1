// latency_speedup's estimate and interval (efficiency::EstimateSpeedup), on synthetic interleaved
// rounds whose truth is known: per-query latencies lognormal (sigma 0.3 on the log scale), the
// reference S times slower than the model, and a drift shared by both models within a round (a
// lognormal factor with sigma 0.2 plus a linear trend across the run: what the interleaving is
// there to cancel). With the same drifts for both, the reference's pooled latency distribution is
// S times the model's, and within a round every statistic of the reference is S times the model's
// in distribution: the true speedup is S. 1,000
// simulated runs per case: every interval must contain its estimate, and coverage must reach
// 95 % less 2.5 points. The same simulation checks throughput_ratio (efficiency::
// EstimateThroughputRatio), whose true value is also S: a round's queries take S times longer on
// the reference, so the model does S times the samples per second. And energy_saving (energy::
// EstimateEnergySaving), whose rounds are each model's energy: the per-query latencies above read
// as joules (the reference's S times the model's), so the true saving is 1 − 1/S. The tables in
// docs/compression.md are this test's output:
//   build/tests/unit/efficiency/speedup_test --log_level=message --color_output=false | grep '^|'
// Also: the value, per-round ratios and interval by hand on small examples.
#define BOOST_TEST_MODULE speedup
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "auditors/efficiency/efficiency_metrics.h"
#include "auditors/energy/energy_metrics.h"
#include "core/error.h"
#include "core/random.h"

namespace eff = greenlight::efficiency;
namespace rnd = greenlight::random;

BOOST_AUTO_TEST_CASE(value_and_rounds_by_hand) {
  // Round 1: model 1, 2, 3 ms (mean 2), reference 4, 4, 4 (mean 4): ratio 2.
  // Round 2: model 2, 2, 2 (mean 2), reference 3, 3, 6 (mean 4, median 3): ratio 2 (median 1.5).
  const std::vector<eff::SpeedupRound> rounds = {
      {{1000000, 2000000, 3000000}, {4000000, 4000000, 4000000}},
      {{2000000, 2000000, 2000000}, {3000000, 3000000, 6000000}}};
  const eff::SpeedupEstimate mean = eff::EstimateSpeedup(rounds, "mean", 0.95);
  BOOST_TEST(mean.value == 2.0);
  BOOST_TEST(mean.model_ms == 2.0);
  BOOST_TEST(mean.reference_ms == 4.0);
  BOOST_TEST(mean.per_round == (std::vector<double>{2.0, 2.0}));
  // Pooled medians: model {1,2,2,2,2,3} -> 2; reference {3,3,4,4,4,6} -> 4.
  const eff::SpeedupEstimate median = eff::EstimateSpeedup(rounds, "p50", 0.95);
  BOOST_TEST(median.model_ms == 2.0);
  BOOST_TEST(median.reference_ms == 4.0);
  BOOST_TEST(median.per_round == (std::vector<double>{2.0, 1.5}));
  // Geometric mean sqrt(3); logs ln 2, ln 1.5: s = (ln 2 - ln 1.5) / sqrt 2, se = s / sqrt 2 =
  // 0.1438410, t(1 df, 0.975) = 12.7062047.
  BOOST_TEST(median.value == std::sqrt(3.0), boost::test_tools::tolerance(1e-14));
  BOOST_TEST(median.interval.low == std::sqrt(3.0) * std::exp(-12.7062047 * 0.1438410),
             boost::test_tools::tolerance(1e-6));
  BOOST_TEST(median.interval.high == std::sqrt(3.0) * std::exp(12.7062047 * 0.1438410),
             boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(round_ratio_estimator_by_hand) {
  // Ratios 1, 2, 4: logs 0, ln 2, 2 ln 2; mean ln 2 (geometric mean 2); s = ln 2, se = ln 2 / √3;
  // t(2 df, 0.95) = 2.91998558 (90 % two-sided).
  const std::vector<double> ratios = {1.0, 2.0, 4.0};
  const eff::RatioEstimate e = eff::EstimateRoundRatio(ratios, 0.90, "test");
  BOOST_TEST(e.value == 2.0, boost::test_tools::tolerance(1e-14));
  const double half = 2.91998558 * std::log(2.0) / std::sqrt(3.0);
  BOOST_TEST(e.interval.low == 2.0 * std::exp(-half), boost::test_tools::tolerance(1e-8));
  BOOST_TEST(e.interval.high == 2.0 * std::exp(half), boost::test_tools::tolerance(1e-8));
  BOOST_TEST(e.interval.level == 0.90);
  // Equal ratios: no spread, the interval is the value.
  const std::vector<double> equal = {1.5, 1.5};
  const eff::RatioEstimate flat = eff::EstimateRoundRatio(equal, 0.95, "test");
  BOOST_TEST(flat.value == 1.5, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(flat.interval.low == flat.value);
  BOOST_TEST(flat.interval.high == flat.value);
  const std::vector<double> one = {2.0};
  BOOST_CHECK_THROW(eff::EstimateRoundRatio(one, 0.95, "test"), greenlight::RuntimeError);
  const std::vector<double> zero = {2.0, 0.0};
  BOOST_CHECK_THROW(eff::EstimateRoundRatio(zero, 0.95, "test"), greenlight::RuntimeError);
}

BOOST_AUTO_TEST_CASE(throughput_ratio_by_hand) {
  // Batches of 4 samples. Round 1: model 2 queries of 1 and 3 ms (4 ms: 8 samples / 4 ms = 2000
  // samples/s), reference 5 and 3 ms (8 ms: 1000/s): ratio 2. Round 2: model 2 + 2 ms (2000/s),
  // reference 3 + 3 ms (8 / 6 ms = 1333.3/s): ratio 1.5. Overall: model 16 samples / 8 ms =
  // 2000/s, reference 16 / 14 ms = 1142.857/s.
  const std::vector<eff::SpeedupRound> rounds = {{{1000000, 3000000}, {5000000, 3000000}},
                                                 {{2000000, 2000000}, {3000000, 3000000}}};
  const eff::ThroughputRatioEstimate e = eff::EstimateThroughputRatio(rounds, 4, 0.95);
  BOOST_TEST(e.model_samples_per_s == (std::vector<double>{2000.0, 2000.0}),
             boost::test_tools::per_element());
  BOOST_TEST(e.reference_samples_per_s[0] == 1000.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.reference_samples_per_s[1] == 8000.0 / 6.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.per_round[0] == 2.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.per_round[1] == 1.5, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.model_overall_samples_per_s == 2000.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.reference_overall_samples_per_s == 16000.0 / 14.0,
             boost::test_tools::tolerance(1e-12));
  // As in value_and_rounds_by_hand: geometric mean √3, se 0.1438410, t(1 df) 12.7062047.
  BOOST_TEST(e.value == std::sqrt(3.0), boost::test_tools::tolerance(1e-14));
  BOOST_TEST(e.interval.low == std::sqrt(3.0) * std::exp(-12.7062047 * 0.1438410),
             boost::test_tools::tolerance(1e-6));
  BOOST_TEST(e.interval.high == std::sqrt(3.0) * std::exp(12.7062047 * 0.1438410),
             boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(energy_saving_estimator_by_hand) {
  // Round energies (J): model 1, 2, 4 against reference 2, 2, 2: ratios 1/2, 1, 2; logs −ln 2, 0,
  // ln 2: mean 0 (ratio 1, saving 0), s = ln 2, se = ln 2 / √3; t(2 df, 0.95) = 2.91998558 (90 %).
  const std::vector<double> model = {1.0, 2.0, 4.0}, reference = {2.0, 2.0, 2.0};
  const auto e = greenlight::energy::EstimateEnergySaving(model, reference, 0.90);
  BOOST_TEST(e.per_round_ratio == (std::vector<double>{0.5, 1.0, 2.0}),
             boost::test_tools::per_element());
  BOOST_TEST(e.ratio == 1.0, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(std::abs(e.value) < 1e-14);
  const double half = 2.91998558 * std::log(2.0) / std::sqrt(3.0);
  BOOST_TEST(e.ratio_interval.low == std::exp(-half), boost::test_tools::tolerance(1e-8));
  BOOST_TEST(e.ratio_interval.high == std::exp(half), boost::test_tools::tolerance(1e-8));
  // The saving's interval is 1 − the ratio's, ends swapped: [1 − e^half, 1 − e^−half].
  BOOST_TEST(e.interval.low == 1.0 - std::exp(half), boost::test_tools::tolerance(1e-8));
  BOOST_TEST(e.interval.high == 1.0 - std::exp(-half), boost::test_tools::tolerance(1e-8));
  BOOST_TEST(e.interval.level == 0.90);
  // Model 3 J and 1 J against 4 J twice: ratios 3/4 and 1/4, geometric mean √(3/16) = 0.4330127,
  // saving 0.5669873.
  const std::vector<double> m2 = {3.0, 1.0}, r2 = {4.0, 4.0};
  const auto e2 = greenlight::energy::EstimateEnergySaving(m2, r2, 0.95);
  BOOST_TEST(e2.value == 1.0 - std::sqrt(3.0 / 16.0), boost::test_tools::tolerance(1e-14));
  BOOST_TEST(e2.interval.low <= e2.value);
  BOOST_TEST(e2.value <= e2.interval.high);
  const std::vector<double> one = {1.0}, zero = {0.0, 1.0}, two = {1.0, 1.0};
  BOOST_CHECK_THROW(greenlight::energy::EstimateEnergySaving(one, one, 0.95),
                    greenlight::RuntimeError);
  BOOST_CHECK_THROW(greenlight::energy::EstimateEnergySaving(two, zero, 0.95),
                    greenlight::RuntimeError);
  BOOST_CHECK_THROW(greenlight::energy::EstimateEnergySaving(one, two, 0.95),
                    greenlight::RuntimeError);
}

BOOST_AUTO_TEST_CASE(interval_covers_on_lognormal_rounds) {
  constexpr int kReps = 1000;
  constexpr int64_t kQueries = 64;
  constexpr double kLevel = 0.95;
  rnd::Rng rng(20261130);
  // "throughput": throughput_ratio's estimator on the same rounds (its truth is S as well);
  // "energy_saving": energy_saving's, on the rounds' summed queries as energies (truth 1 − 1/S).
  for (const std::string statistic : {"mean", "p50", "p90", "throughput", "energy_saving"}) {
    for (double speedup : {1.0, 2.5}) {
      const bool saving = statistic == "energy_saving";
      const double truth = saving ? 1.0 - 1.0 / speedup : speedup;
      for (int64_t rounds : {5, 10, 20, 40}) {
        int covered = 0;
        double width = 0.0;
        for (int rep = 0; rep < kReps; ++rep) {
          std::vector<eff::SpeedupRound> data(static_cast<size_t>(rounds));
          for (int64_t r = 0; r < rounds; ++r) {
            const double drift = 0.2 * rnd::StandardNormal(rng) + 0.3 * r / rounds;
            for (int64_t q = 0; q < kQueries; ++q) {
              const double base = std::log(1e6) + drift;
              data[r].model_ns.push_back(
                  std::llround(std::exp(base + 0.3 * rnd::StandardNormal(rng))));
              data[r].reference_ns.push_back(std::llround(
                  std::exp(base + std::log(speedup) + 0.3 * rnd::StandardNormal(rng))));
            }
          }
          double ratio_width = 0.0;  // Half-width of the ratio's interval / the ratio.
          const auto estimate = [&]() -> eff::RatioEstimate {
            if (saving) {
              std::vector<double> model_j, reference_j;
              for (const auto& round : data) {
                double m = 0.0, f = 0.0;
                for (int64_t ns : round.model_ns) m += static_cast<double>(ns) * 1e-9;
                for (int64_t ns : round.reference_ns) f += static_cast<double>(ns) * 1e-9;
                model_j.push_back(m);
                reference_j.push_back(f);
              }
              const auto e = greenlight::energy::EstimateEnergySaving(model_j, reference_j, kLevel);
              ratio_width = (e.ratio_interval.high - e.ratio_interval.low) / 2.0 / e.ratio;
              return {e.value, e.interval};
            }
            if (statistic == "throughput") {
              const auto t = eff::EstimateThroughputRatio(data, 32, kLevel);
              return {t.value, t.interval};
            }
            const auto l = eff::EstimateSpeedup(data, statistic, kLevel);
            return {l.value, l.interval};
          };
          const eff::RatioEstimate e = estimate();
          BOOST_REQUIRE(e.interval.low <= e.value);
          BOOST_REQUIRE(e.value <= e.interval.high);
          covered += e.interval.low <= truth && truth <= e.interval.high;
          width += saving ? ratio_width : (e.interval.high - e.interval.low) / 2.0 / e.value;
        }
        const double coverage = static_cast<double>(covered) / kReps;
        char line[200];
        std::snprintf(line, sizeof line, "| %s | %.1f | %lld x %lld | %d | %.1f %% | %.1f %% |",
                      statistic.c_str(), truth, static_cast<long long>(rounds),
                      static_cast<long long>(kQueries), kReps, 100 * coverage, 100 * width / kReps);
        BOOST_TEST_MESSAGE(line);
        BOOST_TEST_CONTEXT(statistic << ", truth " << truth << ", " << rounds << " rounds") {
          BOOST_TEST(coverage >= kLevel - 0.025);
        }
      }
    }
  }
}
