#!/usr/bin/python3
"""Independent numpy implementation of greenlight's fairness metrics, for the unit tests.

It works on the rows (boolean masks per group), never on greenlight's counts, and follows the
conventions docs/fairness.md states: favourable outcome = positive, gaps are max - min between
eligible groups (or max |group - overall|), ratios min / max, a 0/0 rate makes a metric undefined
(None), the Theil index is AIF360's generalized_entropy_index with alpha = 1.

usage: fairness_reference.py metrics DATA.csv CONFIGS.json   -> JSON list, one dict per config
       fairness_reference.py intervals DATA.csv CONFIG.json  -> JSON {metric: [low, high]}: the
                                                                intervals docs/fairness.md defines
                                                                (Wilson, Newcombe, Bonferroni and
                                                                Sidak boxes), from the rows
       fairness_reference.py model HMDA.csv MODEL.pt CONFIGS.json -> metrics of the TorchScript
                                                                HMDA model, run with PyTorch
DATA.csv has a header; columns: the sensitive columns (text), "label" and "pred" (integers).
"""
import csv
import json
import math
import sys
from statistics import NormalDist

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


def z_of(level):
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


def poisson_lower(x, tail):
    """lambda with P(Poisson(lambda) >= x) = tail, by bisection."""
    lo, hi = 0.0, 50.0
    for _ in range(200):
        mid = (lo + hi) / 2
        below = sum(math.exp(-mid) * mid ** k / math.factorial(k) for k in range(x))
        if 1 - below < tail:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def wilson(x, n, level):
    """Wilson score interval with Brown, Cai and DasGupta's boundary modification."""
    z = z_of(level)
    p = x / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    lo = 0.0 if x == 0 else max(0.0, c - h)
    hi = 1.0 if x == n else min(1.0, c + h)
    xs = 2 if n <= 50 else 3
    tail = (1 - level) / 2
    if 1 <= x <= xs:
        lo = min(lo, poisson_lower(x, tail) / n)
    if 1 <= n - x <= xs:
        hi = max(hi, 1 - poisson_lower(n - x, tail) / n)
    return lo, hi


def newcombe(x1, n1, x2, n2, level):
    l1, u1 = wilson(x1, n1, level)
    l2, u2 = wilson(x2, n2, level)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    return (max(-1.0, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            min(1.0, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def fraction(mask, Y, P, rate):
    num = {"selection_rate": P & mask, "tpr": P & Y & mask, "fpr": P & ~Y & mask,
           "fnr": ~P & Y & mask, "ppv": P & Y & mask, "accuracy": (P == Y) & mask}[rate]
    den = {"selection_rate": mask, "tpr": Y & mask, "fpr": ~Y & mask, "fnr": Y & mask,
           "ppv": P & mask, "accuracy": mask}[rate]
    return int(num.sum()), int(den.sum())


def intervals(names, Y, P, cfg, groups, level):
    """Each metric's interval as docs/fairness.md defines it; None when undefined."""
    values, _, _ = metrics_from(names, Y, P, cfg)
    agg = cfg.get("aggregation", "between_groups")
    min_size = cfg.get("min_group_size", 1)
    elig = [g for g in groups if int((names == g).sum()) >= min_size]
    alpha = 1 - level
    everyone = np.ones(len(Y), dtype=bool)

    def gap(rate, lvl):
        a = 1 - lvl
        lo = hi = 0.0
        if agg == "between_groups":
            m = len(elig) * (len(elig) - 1) / 2
            for i in range(len(elig)):
                for j in range(i + 1, len(elig)):
                    x1, n1 = fraction(names == elig[i], Y, P, rate)
                    x2, n2 = fraction(names == elig[j], Y, P, rate)
                    L, U = newcombe(x1, n1, x2, n2, 1 - a / m)
                    hi = max(hi, abs(L), abs(U))
                    L, U = newcombe(x1, n1, x2, n2, 1 - a / (2 * m))
                    lo = max(lo, L if L > 0 else (-U if U < 0 else 0.0))
            return lo, hi
        k = len(elig)
        for g in elig:
            x1, n1 = fraction(names == g, Y, P, rate)
            x2, n2 = fraction(names != g, Y, P, rate)
            if n2 == 0:
                continue
            s = n2 / (n1 + n2)
            L, U = newcombe(x1, n1, x2, n2, 1 - a / k)
            hi = max(hi, s * max(abs(L), abs(U)))
            L, U = newcombe(x1, n1, x2, n2, 1 - a / (2 * k))
            lo = max(lo, s * (L if L > 0 else (-U if U < 0 else 0.0)))
        return lo, hi

    def box(rate):
        each = (1 - alpha / 2) ** (1 / len(elig))
        return [wilson(*fraction(names == g, Y, P, rate), each) for g in elig]

    def min_over_max(b):
        ls, us = [w[0] for w in b], [w[1] for w in b]
        return (min(ls) / max(us) if max(us) > 0 else 0.0,
                min(1.0, min(us) / max(ls)) if max(ls) > 0 else 1.0)

    def ratio_to_overall(rate):
        k = len(elig)
        each = math.sqrt(1 - alpha / (2 * k))
        lo = hi = 1.0
        for g in elig:
            x1, n1 = fraction(names == g, Y, P, rate)
            x2, n2 = fraction(names != g, Y, P, rate)
            if n2 == 0:
                continue
            w = n1 / (n1 + n2)
            lg, ug = wilson(x1, n1, each)
            lr, ur = wilson(x2, n2, each)
            theta = lambda pg, pr: pg / (w * pg + (1 - w) * pr) if w * pg + (1 - w) * pr > 0 else 1.0
            a, b = theta(lg, ur), theta(ug, lr)
            sym = lambda t: t if t <= 1 else 1 / t
            if a <= 1 <= b:
                lo_g, hi_g = min(sym(a), sym(b)), 1.0
            else:
                lo_g, hi_g = min(sym(a), sym(b)), max(sym(a), sym(b))
            lo, hi = min(lo, lo_g), min(hi, hi_g)
        return lo, hi

    def theil():
        n = len(Y)
        fn = int((~P & Y).sum())
        fp = int((P & ~Y).sum())
        each = 1 - alpha / 4
        lx, ux = wilson(fn, n, each)
        ly, uy = wilson(fp, n, each)
        # Brute force over a fine grid of the box (T is smooth), plus its corners.
        xs = np.linspace(lx, ux, 401)
        ys = np.linspace(ly, uy, 401)
        X, Yg = np.meshgrid(xs, ys)
        ok = X + Yg <= 1
        mu = 1 - X + Yg
        T = 2 * math.log(2) * Yg / mu - np.log(mu)
        return max(0.0, float(T[ok].min())), float(T[ok].max())

    def di():
        b = box("selection_rate")
        ref = cfg.get("reference", "majority")
        if ref == "best":
            return min_over_max(b)
        r = cfg["_majority"] if ref == "majority" else [
            g for g in groups if g == ref or g.split("=", 1)[1] == ref][0]
        k = elig.index(r)
        return (min(b[i][0] / b[k][1] for i in range(len(b)) if i != k),
                min(b[i][1] / b[k][0] for i in range(len(b)) if i != k))

    def odds(combine):
        half = 1 - alpha / 2
        t, f = gap("tpr", half), gap("fpr", half)
        return combine(t, f)

    def acc_min():
        acc = box("accuracy")
        return (min(w[0] for w in acc), min(w[1] for w in acc))

    builders = {
        "selection_rate": lambda: wilson(*fraction(everyone, Y, P, "selection_rate"), level),
        "demographic_parity_difference": lambda: gap("selection_rate", level),
        "equal_opportunity_difference": lambda: gap("tpr", level),
        "predictive_parity_difference": lambda: gap("ppv", level),
        "false_positive_rate_difference": lambda: gap("fpr", level),
        "false_negative_rate_difference": lambda: gap("fnr", level),
        "accuracy_difference": lambda: gap("accuracy", level),
        "equalized_odds_difference": lambda: odds(
            lambda t, f: (max(t[0], f[0]), max(t[1], f[1]))),
        "average_odds_difference": lambda: odds(
            lambda t, f: ((t[0] + f[0]) / 2, (t[1] + f[1]) / 2)),
        "demographic_parity_ratio": lambda: (
            min_over_max(box("selection_rate")) if agg == "between_groups"
            else ratio_to_overall("selection_rate")),
        "disparate_impact_ratio": di,
        "group_accuracy_min": acc_min,
        "theil_index": theil,
    }
    # Only defined metrics have an interval.
    return {m: (list(build()) if values.get(m) is not None else None)
            for m, build in builders.items()}


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
    cfg = cfgs
    names, Y, P = compute(cols, cfg)
    cfg, groups = with_majority(names, cfg)
    print(json.dumps(intervals(names, Y, P, cfg, groups, cfg.get("confidence", 0.95))))

if __name__ == "__main__":
    main()
