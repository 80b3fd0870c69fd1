#!/usr/bin/python3
"""The fairness benchmark's numpy side: the same metrics and intervals as greenlight's fairness
auditor, computed the way Python toolkits do it (Fairlearn's MetricFrame bootstrap): resample the
rows, recompute the per-group counts of each resample, evaluate the metrics. Vectorized numpy per
resample (bincount over group x label x prediction cells), which is already much faster than
recomputing a MetricFrame per resample.

usage: fairness_numpy.py DIR ROWS GROUPS RESAMPLES SEED
DIR holds group.u8, label.u8, pred.u8 (one byte per row; label/pred 1 = favourable).
Prints one JSON object: seconds and cpu_seconds (the timed part: resampling + metrics +
intervals), point
estimates and 95 % percentile intervals.
"""
import json
import sys
import time

import numpy as np

COUNT_METRICS = [
    "demographic_parity_difference", "demographic_parity_ratio", "disparate_impact_ratio",
    "equal_opportunity_difference", "equalized_odds_difference", "average_odds_difference",
    "predictive_parity_difference", "false_positive_rate_difference",
    "false_negative_rate_difference", "accuracy_difference", "group_accuracy_min",
]


def metrics(c, ref):
    """c: groups x 4 counts (tp, fp, fn, tn). Returns a dict (nan = undefined)."""
    tp, fp, fn, tn = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    n = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = (tp + fp) / n
        tpr = tp / (tp + fn)
        fpr = fp / (fp + tn)
        fnr = fn / (tp + fn)
        ppv = tp / (tp + fp)
        acc = (tp + tn) / n
    gap = lambda r: np.max(r) - np.min(r)  # nan propagates: undefined
    out = {
        "demographic_parity_difference": gap(sr),
        "demographic_parity_ratio": np.min(sr) / np.max(sr) if np.max(sr) > 0 else np.nan,
        "disparate_impact_ratio": (np.min(np.delete(sr, ref)) / sr[ref]) if sr[ref] > 0 else np.nan,
        "equal_opportunity_difference": gap(tpr),
        "predictive_parity_difference": gap(ppv),
        "false_positive_rate_difference": gap(fpr),
        "false_negative_rate_difference": gap(fnr),
        "accuracy_difference": gap(acc),
        "group_accuracy_min": np.min(acc),
    }
    out["equalized_odds_difference"] = max(out["equal_opportunity_difference"],
                                           out["false_positive_rate_difference"])
    out["average_odds_difference"] = 0.5 * (out["equal_opportunity_difference"] +
                                            out["false_positive_rate_difference"])
    return out


def theil(b0, b1, b2):
    n = b0 + b1 + b2
    mu = (b1 + 2 * b2) / n
    return (b1 * (1 / mu) * np.log(1 / mu) + b2 * (2 / mu) * np.log(2 / mu)) / n


def main():
    d, rows, groups, resamples, seed = sys.argv[1], *map(int, sys.argv[2:6])
    g = np.fromfile(f"{d}/group.u8", dtype=np.uint8).astype(np.int64)
    y = np.fromfile(f"{d}/label.u8", dtype=np.uint8).astype(np.int64)
    p = np.fromfile(f"{d}/pred.u8", dtype=np.uint8).astype(np.int64)
    assert len(g) == rows
    # Cell per row: tp = 0, fp = 1, fn = 2, tn = 3 (as greenlight's CellCounts).
    cell = g * 4 + np.where(y == 1, np.where(p == 1, 0, 2), np.where(p == 1, 1, 3))
    b = p - y + 1
    counts = np.bincount(cell, minlength=groups * 4).reshape(groups, 4)
    ref = int(np.argmax(counts.sum(axis=1)))  # majority group
    point = metrics(counts, ref)
    point["selection_rate"] = float((counts[:, 0] + counts[:, 1]).sum() / rows)
    bc = np.bincount(b, minlength=3)
    point["theil_index"] = theil(*bc.astype(np.float64))

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    cpu_start = time.process_time()
    reps = {m: [] for m in COUNT_METRICS}
    for _ in range(resamples):
        idx = rng.integers(0, rows, rows)
        c = np.bincount(cell[idx], minlength=groups * 4).reshape(groups, 4)
        for m, v in metrics(c, ref).items():
            reps[m].append(v)
    theil_reps = []
    for _ in range(resamples):
        w = rng.poisson(1.0, rows)
        wb = np.bincount(b, weights=w, minlength=3)
        theil_reps.append(theil(*wb))
    intervals = {}
    for m, v in list(reps.items()) + [("theil_index", theil_reps)]:
        v = np.asarray(v, dtype=np.float64)
        v = v[~np.isnan(v)]
        intervals[m] = [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))]
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "resamples": resamples,
                      "point": {k: float(v) for k, v in point.items()},
                      "intervals": intervals}))


if __name__ == "__main__":
    main()
