#!/usr/bin/python3
"""Independent numpy implementation of greenlight's fairness metrics, for the unit tests.

It works on the rows (boolean masks per group), never on greenlight's counts, and follows the
conventions docs/fairness.md states: favourable outcome = positive, gaps are max - min between
eligible groups (or max |group - overall|), ratios min / max, a 0/0 rate makes a metric undefined
(None), the Theil index is AIF360's generalized_entropy_index with alpha = 1.

usage: fairness_reference.py metrics DATA.csv CONFIGS.json   -> JSON list, one dict per config
       fairness_reference.py bootstrap DATA.csv CONFIG.json  -> JSON percentile intervals from a
                                                                row bootstrap (and a Poisson one
                                                                for the Theil index)
       fairness_reference.py model HMDA.csv MODEL.pt CONFIGS.json -> metrics of the TorchScript
                                                                HMDA model, run with PyTorch
DATA.csv has a header; columns: the sensitive columns (text), "label" and "pred" (integers).
"""
import csv
import json
import math
import sys

import numpy as np

METRICS = [
    "selection_rate", "demographic_parity_difference", "demographic_parity_ratio",
    "disparate_impact_ratio", "equal_opportunity_difference", "equalized_odds_difference",
    "average_odds_difference", "predictive_parity_difference", "false_positive_rate_difference",
    "false_negative_rate_difference", "accuracy_difference", "group_accuracy_min", "theil_index",
]


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0].keys()}
    return cols


def safe_div(num, den):
    return float("nan") if den == 0 else num / den


def compute(cols, cfg):
    sens = cfg["sensitive"] if isinstance(cfg["sensitive"], list) else [cfg["sensitive"]]
    fav = cfg.get("favourable", 1)
    y = cols["label"].astype(np.int64)
    yhat = cols["pred"].astype(np.int64)
    svals = [cols[c] for c in sens]
    names = np.array([", ".join(f"{c}={v[i]}" for c, v in zip(sens, svals))
                      for i in range(len(y))])
    return names, y == fav, yhat == fav


def group_rates(mask, Y, P):
    n = int(mask.sum())
    return {
        "size": n,
        "selection_rate": safe_div(int((P & mask).sum()), n),
        "tpr": safe_div(int((P & Y & mask).sum()), int((Y & mask).sum())),
        "fpr": safe_div(int((P & ~Y & mask).sum()), int((~Y & mask).sum())),
        "fnr": safe_div(int((~P & Y & mask).sum()), int((Y & mask).sum())),
        "ppv": safe_div(int((P & Y & mask).sum()), int((P & mask).sum())),
        "accuracy": safe_div(int(((P == Y) & mask).sum()), n),
    }


def metrics_from(names, Y, P, cfg, group_list=None, eligible=None):
    agg = cfg.get("aggregation", "between_groups")
    min_size = cfg.get("min_group_size", 1)
    ref = cfg.get("reference", "majority")
    groups = sorted(set(names.tolist())) if group_list is None else group_list
    per = {g: group_rates(names == g, Y, P) for g in groups}
    allrows = group_rates(np.ones(len(Y), dtype=bool), Y, P)
    # Groups and eligibility are fixed from the observed data; a resample may empty a group (its
    # rates become nan).
    elig = [g for g in groups if per[g]["size"] >= min_size] if eligible is None else eligible

    def gap(rate):
        if len(elig) < 2:
            return None
        vals = [per[g][rate] for g in elig]
        if any(math.isnan(v) for v in vals):
            return None
        if agg == "between_groups":
            return max(vals) - min(vals)
        o = allrows[rate]
        if math.isnan(o):
            return None
        return max(abs(v - o) for v in vals)

    def ratio(rate):
        if len(elig) < 2:
            return None
        vals = [per[g][rate] for g in elig]
        if any(math.isnan(v) for v in vals):
            return None
        if agg == "between_groups":
            return None if max(vals) == 0 else min(vals) / max(vals)
        o = allrows[rate]
        out = 1.0
        for v in vals:
            if max(v, o) == 0:
                return None
            out = min(out, min(v, o) / max(v, o))
        return out

    def di():
        if len(elig) < 2:
            return None
        srs = {g: per[g]["selection_rate"] for g in elig}
        if any(math.isnan(v) for v in srs.values()):
            return None
        if ref == "best":
            r = max(elig, key=lambda g: (srs[g], -elig.index(g)))
        elif ref == "majority":
            r = cfg["_majority"]
        else:
            matches = [g for g in groups if g == ref or g.split("=", 1)[1] == ref]
            r = matches[0]
            if r not in elig:
                return None
        if srs[r] == 0:
            return None
        return min(srs[g] / srs[r] for g in elig if g != r)

    def acc_min():
        if not elig:
            return None
        vals = [per[g]["accuracy"] for g in elig]
        return None if any(math.isnan(v) for v in vals) else min(vals)

    def theil():
        b = P.astype(np.float64) - Y.astype(np.float64) + 1.0
        if len(b) == 0 or np.mean(b) == 0:
            return None
        # AIF360 generalized_entropy_index, alpha == 1.
        return float(np.mean(np.log((b / np.mean(b)) ** b) / np.mean(b)))

    tpr, fpr = gap("tpr"), gap("fpr")
    sr = allrows["selection_rate"]
    out = {
        "selection_rate": None if math.isnan(sr) else sr,
        "demographic_parity_difference": gap("selection_rate"),
        "demographic_parity_ratio": ratio("selection_rate"),
        "disparate_impact_ratio": di(),
        "equal_opportunity_difference": tpr,
        "equalized_odds_difference": None if tpr is None or fpr is None else max(tpr, fpr),
        "average_odds_difference": None if tpr is None or fpr is None else (tpr + fpr) / 2,
        "predictive_parity_difference": gap("ppv"),
        "false_positive_rate_difference": fpr,
        "false_negative_rate_difference": gap("fnr"),
        "accuracy_difference": gap("accuracy"),
        "group_accuracy_min": acc_min(),
        "theil_index": theil(),
    }
    return out, per, groups


def with_majority(names, cfg):
    groups = sorted(set(names.tolist()))
    min_size = cfg.get("min_group_size", 1)
    sizes = {g: int((names == g).sum()) for g in groups}
    elig = [g for g in groups if sizes[g] >= min_size]
    best = None
    for g in elig:  # first largest in name order
        if best is None or sizes[g] > sizes[best]:
            best = g
    cfg = dict(cfg)
    cfg["_majority"] = best
    return cfg, groups


def model_rows(hmda_csv, model_path):
    """The HMDA model's predictions with PyTorch (features and encodings as
    examples/export_models.py and criteria/hmda-credit-fairness.yaml declare them)."""
    import torch
    features = ["pirat", "hirat", "lvrat", "chist", "mhist", "phist", "unemp", "selfemp",
                "insurance", "condomin", "single", "hschool"]
    yes_no = {"phist", "selfemp", "insurance", "condomin", "single", "hschool"}
    with open(hmda_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[(1.0 if r[c] == "yes" else 0.0) if c in yes_no else float(r[c])
                   for c in features] for r in rows], dtype=np.float32)
    model = torch.jit.load(model_path)
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return {
        "afam": np.array([r["afam"] for r in rows]),
        "single": np.array([r["single"] for r in rows]),
        "label": np.array([1 if r["deny"] == "yes" else 0 for r in rows]),
        "pred": pred.astype(np.int64),
    }


def main():
    if sys.argv[1] == "model":
        cols = model_rows(sys.argv[2], sys.argv[3])
        with open(sys.argv[4]) as f:
            cfgs = json.load(f)
        results = []
        for cfg in cfgs:
            names, Y, P = compute(cols, cfg)
            cfg, _ = with_majority(names, cfg)
            out, _, _ = metrics_from(names, Y, P, cfg)
            results.append(out)
        print(json.dumps(results))
        return
    mode, data_path, cfg_path = sys.argv[1:4]
    cols = load(data_path)
    with open(cfg_path) as f:
        cfgs = json.load(f)
    if mode == "metrics":
        results = []
        for cfg in cfgs:
            names, Y, P = compute(cols, cfg)
            cfg, _ = with_majority(names, cfg)
            out, per, _ = metrics_from(names, Y, P, cfg)
            out["_groups"] = {g: {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                  for k, v in r.items()} for g, r in per.items()}
            results.append(out)
        print(json.dumps(results))
        return
    # Bootstrap: row resampling with numpy (as Fairlearn's MetricFrame bootstrap does).
    cfg = cfgs
    names, Y, P = compute(cols, cfg)
    cfg, groups = with_majority(names, cfg)
    min_size = cfg.get("min_group_size", 1)
    eligible = [g for g in groups if int((names == g).sum()) >= min_size]
    rng = np.random.default_rng(cfg.get("seed", 0))
    level = cfg.get("confidence", 0.95)
    n = len(Y)
    reps = {m: [] for m in cfg["metrics"]}
    for _ in range(cfg.get("resamples", 1000)):
        idx = rng.integers(0, n, n)
        out, _, _ = metrics_from(names[idx], Y[idx], P[idx], cfg, group_list=groups,
                                 eligible=eligible)
        for m in cfg["metrics"]:
            if out[m] is not None:
                reps[m].append(out[m])
    # Poisson(1) row weights for the Theil index.
    theil = []
    b = P.astype(np.float64) - Y.astype(np.float64) + 1.0
    for _ in range(cfg.get("resamples", 1000)):
        w = rng.poisson(1.0, n).astype(np.float64)
        mu = np.sum(w * b) / np.sum(w)
        t = np.sum(w * np.where(b > 0, (b / mu) * np.log(np.where(b > 0, b, 1.0) / mu), 0.0))
        theil.append(t / np.sum(w))
    tail = (1 - level) / 2
    res = {m: [float(np.quantile(v, tail)), float(np.quantile(v, 1 - tail))]
           for m, v in reps.items()}
    res["theil_index_poisson"] = [float(np.quantile(theil, tail)), float(np.quantile(theil, 1 - tail))]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
