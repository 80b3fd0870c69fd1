"""Independent numpy reference for ECE, used by the safety tests.

usage: ece_reference.py FILE  (FILE: lines "confidence correct", confidence as %.17g)
prints: "<ece 15 equal-width bins> <ece 10 equal-mass bins>" with 17 significant digits.

Equal width follows Guo et al. 2017 as commonly implemented (bin boundaries
numpy.linspace(0, 1, M + 1), lower < conf <= upper). Equal mass follows HELM, which calls
calibration.get_ece_em (Kumar et al., verified_calibration): edges at midpoints between
numpy.array_split parts of the sorted confidences, last edge 1.0, bins by numpy.searchsorted.
"""
import sys

import numpy as np


def ece_equal_width(conf, correct, n_bins=15):
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (conf > lo) & (conf <= hi)
        if lo == 0.0:
            in_bin |= conf == 0.0
        prop = in_bin.mean()
        if prop > 0:
            ece += abs(correct[in_bin].mean() - conf[in_bin].mean()) * prop
    return ece


def ece_equal_mass(conf, correct, n_bins=10):
    sorted_probs = np.sort(conf)
    n_bins = min(n_bins, len(sorted_probs))
    parts = np.array_split(sorted_probs, n_bins)
    bins = [(parts[i][-1] + parts[i + 1][0]) / 2.0 for i in range(len(parts) - 1)]
    bins.append(1.0)
    bins = np.array(sorted(set(bins)))
    idx = np.searchsorted(bins, conf)
    total = 0.0
    for b in range(len(bins)):
        sel = idx == b
        if sel.any():
            total += sel.sum() / len(conf) * abs(conf[sel].mean() - correct[sel].mean())
    return total


def main():
    data = np.loadtxt(sys.argv[1], ndmin=2)
    conf, correct = data[:, 0], data[:, 1]
    print("%.17g %.17g" % (ece_equal_width(conf, correct), ece_equal_mass(conf, correct)))


if __name__ == "__main__":
    main()
