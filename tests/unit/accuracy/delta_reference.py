"""Independent reference for DeltaScoreVariance / DeltaScoreInterval (score_interval_test.cc).

The scores are written from their definitions (precision tp / predicted, recall tp / support,
F1 2 tp / (support + predicted); macro = mean over classes present in labels or predictions,
weighted = by support); the gradient is taken by central finite differences, and the variance is
J (diag(p) - p p^T) J^T / n, the multinomial covariance written out as a matrix, with numpy.
Prints JSON: a list of cases with the reference figures.
"""
import json
import math
from statistics import NormalDist

import numpy as np


def score(cells, present, metric, average, cls):
    k = cells.shape[0]
    support = cells.sum(axis=1)
    predicted = cells.sum(axis=0)
    tp = np.diag(cells)

    def one(c):
        if metric == "precision":
            return tp[c] / predicted[c]
        if metric == "recall":
            return tp[c] / support[c]
        return 2 * tp[c] / (support[c] + predicted[c])

    if cls is not None:
        return one(cls)
    classes = [c for c in range(k) if present[c]]
    if average == "weighted":
        return sum(support[c] * one(c) for c in classes) / sum(support[c] for c in classes)
    return sum(one(c) for c in classes) / len(classes)


def delta_variance(cells, present, metric, average, cls):
    n = cells.sum()
    p = (cells / n).ravel()
    f = lambda q: score(q.reshape(cells.shape), present, metric, average, cls)
    h = 1e-6
    grad = np.zeros(p.size)
    for i in range(p.size):
        up, dn = p.copy(), p.copy()
        up[i] += h
        dn[i] -= h
        grad[i] = (f(up) - f(dn)) / (2 * h)
    cov = (np.diag(p) - np.outer(p, p)) / n
    return f(p), float(grad @ cov @ grad)


def wilson(p, n_eff, z):
    d = 1 + z * z / n_eff
    c = (p + z * z / (2 * n_eff)) / d
    h = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / d
    return c - h, c + h


z = NormalDist().inv_cdf(0.975)
matrices = [
    [[40, 8], [6, 46]],
    [[81, 9], [2, 8]],
    [[30, 3, 2], [4, 20, 1], [1, 2, 12]],
    [[50, 0, 1, 0], [2, 40, 3, 0], [0, 1, 7, 0], [0, 0, 0, 0]],  # class 3 absent
]
cases = []
for m in matrices:
    cells = np.array(m, dtype=float)
    k = cells.shape[0]
    present = (cells.sum(axis=0) + cells.sum(axis=1)) > 0
    for metric, average, cls in [("f1", "macro", None), ("f1", "weighted", None),
                                 ("precision", "macro", None), ("recall", "macro", None),
                                 ("recall", "weighted", None), ("f1", None, 1)]:
        value, var = delta_variance(cells, present, metric, average, cls)
        padded = cells.copy()
        if cls is None:
            padded[np.ix_(present, present)] += 0.5
        else:
            padded += 0.5
        pvalue, pvar = delta_variance(padded, present, metric, average, cls)
        n_eff = min(pvalue * (1 - pvalue) / pvar, value * (1 - value) / var)
        lo, hi = wilson(value, n_eff, z)
        cases.append({"matrix": m, "metric": metric, "average": average, "class": cls,
                      "value": float(value), "variance": var, "padded_variance": pvar,
                      "n_eff": float(n_eff), "low": float(lo), "high": float(hi),
                      "poisson_limits": bool(min(value, 1 - value) * n_eff <= 3)})
print(json.dumps(cases))
