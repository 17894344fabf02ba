"""Paired comparisons over seeds: each arm of a study against the reference arm of the same seed.

For every arm and data set, the per-seed differences d_s = metric(arm, s) − metric(reference, s)
are summarised by their mean, a 95% interval from the paired t distribution,
mean ± t_{0.975, n−1} · sd(d) / √n (sd with n − 1), and the two-sided Wilcoxon
signed-rank test (scipy; exact for small n without ties or zeros, zeros dropped; with
n = 3 seeds its smallest p is 0.25, so only the interval can speak there). Differences
are rounded to 1e-9 before ranking, so that float noise does not break ties between
equal accuracies. No correction for the number of arms is applied: read many intervals
with that in mind. Used by ``benchmarks/bench_questions.py`` and notebook 08.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["paired_differences", "arm_summary", "format_interval", "check_unique"]

METRICS = ("acc", "nmi", "ari")


def check_unique(rows: list[dict]) -> None:
    """Raise ValueError when a (data set, seed, arm) appears twice: pairing would count it twice."""
    seen = set()
    for r in rows:
        key = (r["dataset"], r["seed"], r["arm"])
        if key in seen:
            raise ValueError(f"rows hold {key} (data set, seed, arm) more than once; drop the duplicate "
                             "(e.g. a CSV merged twice) before pairing.")
        seen.add(key)


def _paired(rows: list[dict], dataset: str, arm: str, reference: str, metric: str) -> tuple[list[int], np.ndarray]:
    by_seed = {r["seed"]: r[metric] for r in rows if r["dataset"] == dataset and r["arm"] == reference}
    seeds, diffs = [], []
    for r in rows:
        if r["dataset"] == dataset and r["arm"] == arm and r["seed"] in by_seed:
            seeds.append(r["seed"])
            diffs.append(r[metric] - by_seed[r["seed"]])
    return seeds, np.round(np.asarray(diffs, dtype=float), 9)


def _wilcoxon_p(diffs: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p; 1.0 when every difference is 0 (nothing to rank)."""
    if len(diffs) == 0 or not np.any(diffs != 0):
        return 1.0
    return float(stats.wilcoxon(diffs, zero_method="wilcox", alternative="two-sided").pvalue)


def paired_differences(rows: list[dict], *, metric: str = "acc", reference: str = "preset") -> list[dict]:
    """One record per (data set, arm ≠ reference): seeds, per-seed differences, mean, 95% interval, Wilcoxon p."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")
    check_unique(rows)
    out = []
    pairs = dict.fromkeys((r["dataset"], r["arm"], r["question"]) for r in rows if r["arm"] != reference)
    for dataset, arm, question in pairs:
        seeds, diffs = _paired(rows, dataset, arm, reference, metric)
        n = len(diffs)
        mean = float(diffs.mean()) if n else float("nan")
        if n >= 2:
            half = float(stats.t.ppf(0.975, n - 1) * diffs.std(ddof=1) / np.sqrt(n))
        else:
            half = float("nan")
        out.append({"dataset": dataset, "question": question, "arm": arm, "metric": metric, "n": n,
                    "seeds": seeds, "differences": diffs.tolist(), "mean": mean, "low": mean - half,
                    "high": mean + half, "wilcoxon_p": _wilcoxon_p(diffs)})
    return out


def arm_summary(rows: list[dict]) -> list[dict]:
    """Mean ± std (population, over seeds) of ACC, NMI and ARI per (data set, arm), in the rows' order,
    and the mean ``same_labels_as_preset`` where the rows have it."""
    out = []
    for dataset, arm, question in dict.fromkeys((r["dataset"], r["arm"], r["question"]) for r in rows):
        mine = [r for r in rows if r["dataset"] == dataset and r["arm"] == arm]
        record = {"dataset": dataset, "question": question, "arm": arm, "n": len(mine)}
        for metric in METRICS:
            values = np.array([r[metric] for r in mine], dtype=float)
            record[metric] = float(values.mean())
            record[f"{metric}_std"] = float(values.std())
        if all("same_labels_as_preset" in r for r in mine):
            record["same_labels_as_preset"] = float(np.mean([r["same_labels_as_preset"] for r in mine]))
        out.append(record)
    return out


def format_interval(record: dict, digits: int = 3) -> str:
    """'Δ = +0.012 [−0.004, +0.028]' for one record of :func:`paired_differences`."""
    return (f"Δ = {record['mean']:+.{digits}f} [{record['low']:+.{digits}f}, {record['high']:+.{digits}f}]")
