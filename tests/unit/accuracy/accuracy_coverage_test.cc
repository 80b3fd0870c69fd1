// Coverage of the accuracy auditor's bootstrap intervals, by simulation from known populations:
// macro F1 (percentile bootstrap over the confusion cells, stats::CellBootstrap, as the auditor
// runs it) and ROC AUC (percentile row bootstrap, stats::RowBootstrap with accuracy::RocAuc). The
// true F1 is that of the population's confusion probabilities; the true AUC of a binormal model
// with unit variances and mean gap d is Phi(d / sqrt 2). Every interval must contain its estimate.
//
// Coverage is asserted (>= nominal - 2.5 points) only where the percentile bootstrap achieves it:
// macro F1 from 1,000 rows. Below that, with rare classes, near-perfect classifiers and for ROC AUC
// with few positives or AUC near 1, the measured coverage falls short (down to 39 % for F1 at 99 %
// accuracy and 50 rows, 70 % for AUC 0.96 with 4 positives in 40 rows): those cases are printed,
// marked "below nominal", and docs/statistics.md lists them as a known defect of these two
// intervals. The table in docs/statistics.md is this test's output:
//   build/tests/unit/accuracy/accuracy_coverage_test --log_level=message --color_output=false |
//   grep '^|'
#define BOOST_TEST_MODULE accuracy_coverage
#include <boost/math/distributions/normal.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "auditors/accuracy/accuracy_metrics.h"
#include "core/random.h"
#include "core/stats.h"

namespace gl = greenlight;
namespace rnd = greenlight::random;

namespace {

constexpr double kLevel = 0.95;
constexpr double kSlack = 0.025;

void Row(const std::string& family, const std::string& population, int64_t n, int reps,
         double coverage) {
  char line[256];
  std::snprintf(line, sizeof line, "| %s | %s | n = %lld | %d | %.1f %%%s |", family.c_str(),
                population.c_str(), static_cast<long long>(n), reps, 100.0 * coverage,
                coverage < kLevel - kSlack ? " (below nominal)" : "");
  BOOST_TEST_MESSAGE(line);
}

// F1 of class c from a 2 x 2 matrix of (expected) counts or probabilities, by its definition.
double F1Of(const std::vector<double>& cm, int c) {
  const double tp = cm[c * 2 + c];
  const double fp = cm[(1 - c) * 2 + c];
  const double fn = cm[c * 2 + (1 - c)];
  return 2 * tp / (2 * tp + fp + fn);
}

}  // namespace

BOOST_AUTO_TEST_CASE(macro_f1_bootstrap_covers_from_1000_rows) {
  struct Pop {
    std::string name;
    std::vector<double> p;  // P(true i, predicted j), row-major
  };
  const std::vector<Pop> pops = {
      {"balanced, 80 % right", {0.40, 0.10, 0.10, 0.40}},
      {"rare class (10 %), 90 % recall", {0.81, 0.09, 0.01, 0.09}},
      {"near perfect (99 %)", {0.495, 0.005, 0.005, 0.495}},
  };
  const int reps = 500;
  const int resamples = 500;
  rnd::Rng g(606);
  uint64_t seed = 1;
  for (const Pop& pop : pops) {
    const double truth = 0.5 * (F1Of(pop.p, 0) + F1Of(pop.p, 1));
    for (int64_t n : {50, 200, 1000, 10000}) {
      int covered = 0, defined = 0;
      for (int r = 0; r < reps; ++r) {
        const std::vector<int64_t> cm = rnd::Multinomial(g, n, pop.p);
        auto stat = [](std::span<const int64_t> c) {
          return gl::accuracy::Averaged(c, 2, "f1", "macro");
        };
        const auto est = stat(cm);
        if (!est) continue;
        auto boot = gl::stats::CellBootstrap(cm, resamples, seed++, stat);
        if (boot.replicates.empty()) continue;
        ++defined;
        const gl::Interval iv =
            gl::stats::PercentileIntervalContaining(boot.replicates, kLevel, *est);
        BOOST_REQUIRE(iv.low <= *est);
        BOOST_REQUIRE(*est <= iv.high);
        covered += iv.low <= truth && truth <= iv.high;
      }
      const double coverage = covered / double(defined);
      Row("f1 macro (cell bootstrap)", pop.name, n, defined, coverage);
      if (n >= 1000) {
        BOOST_TEST_CONTEXT(pop.name << ", n=" << n) { BOOST_TEST(coverage >= kLevel - kSlack); }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(roc_auc_row_bootstrap_contains_its_estimate_and_measures_coverage) {
  const int reps = 500;
  const int resamples = 200;
  rnd::Rng g(707);
  uint64_t seed = 1;
  for (double gap : {0.0, 1.0, 2.5}) {
    const double truth = boost::math::cdf(boost::math::normal(), gap / std::sqrt(2.0));
    for (double prevalence : {0.5, 0.1}) {
      for (int64_t n : {40, 100, 300}) {
        int covered = 0, defined = 0;
        std::vector<double> scores(static_cast<size_t>(n));
        std::vector<int64_t> labels(static_cast<size_t>(n));
        for (int r = 0; r < reps; ++r) {
          for (int64_t i = 0; i < n; ++i) {
            labels[i] = rnd::UniformDouble(g) < prevalence ? 1 : 0;
            scores[i] = rnd::StandardNormal(g) + (labels[i] ? gap : 0.0);
          }
          const auto est = gl::accuracy::RocAuc(scores, labels);
          if (!est) continue;
          auto boot = gl::stats::RowBootstrap(
              n, resamples, seed++,
              [&](std::span<const uint32_t> w) { return gl::accuracy::RocAuc(scores, labels, w); });
          if (boot.replicates.empty()) continue;
          ++defined;
          const gl::Interval iv =
              gl::stats::PercentileIntervalContaining(boot.replicates, kLevel, *est);
          BOOST_REQUIRE(iv.low <= *est);
          BOOST_REQUIRE(*est <= iv.high);
          covered += iv.low <= truth && truth <= iv.high;
        }
        const double coverage = covered / double(defined);
        char pop[96];
        std::snprintf(pop, sizeof pop, "AUC %.3f, prevalence %.1f", truth, prevalence);
        Row("roc_auc (row bootstrap)", pop, n, defined, coverage);
      }
    }
  }
}
