// Calibration: expected calibration error of the top-label confidence.
//  - ece: M equal-width bins ((m-1)/M, m/M] (Guo et al. 2017, "On Calibration of Modern Neural
//    Networks"; boundaries as numpy.linspace(0, 1, M + 1)).
//  - ece_equal_mass: equal-count bins as HELM computes it (Kumar et al.'s `calibration` package,
//    get_ece_em: edges at midpoints between numpy.array_split parts of the sorted confidences,
//    last edge 1.0, bin = searchsorted(edges, confidence, side='left'), plug-in L1 error).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace greenlight::safety {

struct ReliabilityBin {
  double lower = 0.0;
  double upper = 0.0;
  double count = 0.0;  // Rows in the bin (weighted under the bootstrap).
  double mean_confidence = 0.0;
  double accuracy = 0.0;
};

// ECE with `bins` equal-width bins. `weights` (row multiplicities) empty = all 1. Fills
// `diagram` with every bin when non-null. Requires confidences in [0, 1] and a positive total.
double EceEqualWidth(std::span<const double> confidence, std::span<const uint8_t> correct, int bins,
                     std::span<const uint32_t> weights = {},
                     std::vector<ReliabilityBin>* diagram = nullptr);

// ECE with `bins` equal-mass bins (HELM). Bins are rebuilt from the (weighted) sample itself.
double EceEqualMass(std::span<const double> confidence, std::span<const uint8_t> correct, int bins,
                    std::span<const uint32_t> weights = {},
                    std::vector<ReliabilityBin>* diagram = nullptr);

}  // namespace greenlight::safety
