"""Independent reference for core/stats' AUC intervals (auc_interval_test.cc runs it).

DeLong's variance is computed as DeLong, DeLong & Clarke-Pearson (Biometrics 44, 1988) define it,
from the m x n kernel psi(x, y) = 1 if x > y, 1/2 if x = y, 0 otherwise, with numpy, not by the
mid-rank algorithm the C++ code uses. Newcombe's score interval (Statistics in Medicine 25, 2006,
method 5) is found on a grid of 200,001 points of [0, 1] refined by bisection, not by the C++
bracketing. Prints JSON: a list of cases with the data and the reference figures.
"""
import json
import math
from statistics import NormalDist

import numpy as np


def delong(x, y):
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    m, n = psi.shape
    auc = psi.mean()
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    s10 = ((v10 - auc) ** 2).sum() / (m - 1)
    s01 = ((v01 - auc) ** 2).sum() / (n - 1)
    return auc, s10 / m + s01 / n


def newcombe(auc, m, n, level):
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    ns = (m + n) / 2 - 1

    def inside(t):
        v = t * (1 - t) * (1 + (ns - 1) * ((1 - t) / (2 - t) + t / (1 + t))) / (m * n)
        return (auc - t) ** 2 <= z * z * v

    grid = np.linspace(0.0, 1.0, 200001)
    ok = np.array([inside(t) for t in grid])
    idx = np.nonzero(ok)[0]
    lo_i, hi_i = idx[0], idx[-1]

    def refine(a, b):  # a inside, b outside
        for _ in range(60):
            mid = 0.5 * (a + b)
            a, b = (mid, b) if inside(mid) else (a, mid)
        return a

    lo = grid[lo_i] if lo_i == 0 else refine(grid[lo_i], grid[lo_i - 1])
    hi = grid[hi_i] if hi_i == len(grid) - 1 else refine(grid[hi_i], grid[hi_i + 1])
    return lo, hi


rng = np.random.default_rng(20261129)
cases = []
for m, n, gap, rounding in [(7, 13, 1.0, None), (30, 70, 0.5, 1), (12, 400, 2.5, None),
                            (50, 50, 0.0, 0), (5, 9, 4.0, None)]:
    x = rng.standard_normal(m) + gap
    y = rng.standard_normal(n)
    if rounding is not None:  # ties
        x, y = np.round(x, rounding), np.round(y, rounding)
    auc, var = delong(x, y)
    lo, hi = newcombe(auc, m, n, 0.95)
    scores = list(map(float, x)) + list(map(float, y))
    cases.append({"scores": scores, "positive": [1] * m + [0] * n, "auc": float(auc),
                  "variance": float(var), "score_low": float(lo), "score_high": float(hi)})
print(json.dumps(cases))
