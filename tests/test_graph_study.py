"""Where the graph helps (notebook 08): the paired gain records and the per-partition terms of the objective."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from dggbook.model.graph import NeighborGraph
from dggbook.study.graph_gain import arm_means, gain_records, summary_markdown
from dggbook.study.graph_mechanism import cut_share, gaussian_term, graph_term, partition_terms


def _row(dataset, start, arm, seed, start_acc, acc, purity=float("nan")):
    return {"dataset": dataset, "start": start, "arm": arm, "seed": str(seed), "n_samples": "100",
            "start_acc": str(start_acc), "acc": str(acc), "nmi": "0.5", "purity": str(purity),
            "epoch1_acc": str(acc), "seconds": "1.0"}


def _rows():
    rows = []
    for seed, (base, gained) in enumerate([(0.70, 0.75), (0.72, 0.74), (0.71, 0.77)]):
        rows += [_row("digits", "kmeans", "no_graph", seed, 0.70, base),
                 _row("digits", "kmeans", "dgg_input", seed, 0.70, gained, purity=0.9)]
    rows.append(_row("digits", "umap", "dgg_input", 0, 0.9, 0.9, purity=0.9))  # no reference arm: skipped
    return rows


def test_gain_is_paired_by_seed_with_a_t_interval():
    rows = _rows()
    rows = rows[::-1]  # pairing must follow the seed, not the order of the rows
    (record,) = gain_records(rows)
    diffs = np.array([0.05, 0.02, 0.06])
    assert record["arm"] == "dgg_input" and record["start"] == "kmeans" and record["dataset"] == "digits"
    assert sorted(record["differences"]) == pytest.approx(sorted(diffs))
    assert record["mean"] == pytest.approx(diffs.mean())
    half = stats.t.ppf(0.975, 2) * diffs.std(ddof=1) / math.sqrt(3)
    assert (record["low"], record["high"]) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    assert record["start_acc"] == pytest.approx(0.70) and record["purity"] == pytest.approx(0.9)
    assert len(record["start_accs"]) == len(record["seeds"]) == 3


def test_arm_means_and_the_markdown_keep_every_seed():
    means = {(m["start"], m["arm"]): m for m in arm_means(_rows())}
    assert means[("kmeans", "dgg_input")]["accs"] == pytest.approx([0.75, 0.74, 0.77])
    assert means[("kmeans", "dgg_input")]["acc"] == pytest.approx(0.75333333)
    text = summary_markdown(_rows())
    assert "+0.050, +0.020, +0.060" in text and "| digits | kmeans | 0.700 | dgg_input | 0.900 | 3 |" in text


def _chain_graph():
    """Five points on a line, each with its two nearest others (uniform weights)."""
    indices = torch.tensor([[1, 2], [0, 2], [1, 3], [2, 4], [3, 2]])
    return NeighborGraph(indices=indices, weights=torch.full((5, 2), 0.5), distances=torch.ones(5, 2))


def test_graph_term_is_zero_without_cut_edges_and_minus_an_entropy_across_them():
    graph = _chain_graph()
    assert graph_term(graph, [0, 0, 0, 0, 0], 2) == pytest.approx(np.zeros(5))
    labels = np.array([0, 0, 0, 1, 1])
    term = graph_term(graph, labels, 2)
    # Anchor 2 (label 0) has neighbours 1 (0) and 3 (1): a = (3/4, 1/4) = pi, so term 3 = Σ a ln a.
    assert term[2] == pytest.approx(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert term[0] == pytest.approx(0.0) and term[1] == pytest.approx(0.0)
    assert cut_share(graph, labels) == pytest.approx(3 / 10)  # edges 2→3, 3→2, 4→2 of ten


def test_gaussian_term_is_the_log_density_of_each_clusters_moment_fit():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 3))
    labels = np.repeat([0, 1], 20)
    got = gaussian_term(Z, labels, 2)
    for c in (0, 1):
        part = Z[labels == c]
        want = stats.multivariate_normal(part.mean(0), np.diag(part.var(0))).logpdf(part)
        assert got[labels == c] == pytest.approx(want)
    terms = partition_terms(_chain_graph(), Z[:5], np.array([0, 0, 0, 1, 1]), 2)
    assert terms["sum"] == pytest.approx(terms["term2"] + terms["term3"])


def test_bad_partitions_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="labels must lie in"):
        graph_term(_chain_graph(), [0, 0, 2, 0, 0], 2)
    with pytest.raises(ValueError, match="graph has 5 samples"):
        graph_term(_chain_graph(), [0, 0, 0], 2)
    with pytest.raises(ValueError, match="latent_means must be"):
        gaussian_term(np.zeros(5), [0] * 5, 2)
