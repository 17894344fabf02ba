"""The ablation study of the seven questions: its arms, its rows and its paired statistics."""
import numpy as np
import pytest
from tiny_model import TINY_DGG

from dggbook.model.data import make_blobs_data
from dggbook.study.paired import arm_summary, format_interval, paired_differences
from dggbook.study.questions import ARMS, QUESTIONS, arm_named, read_rows, run_seed, write_rows


def _rows(arm, diffs, base=0.8):
    out = []
    for seed, d in enumerate(diffs):
        out.append({"dataset": "d", "seed": seed, "question": "reference", "arm": "preset", "acc": base, "nmi": base,
                    "ari": base})
        out.append({"dataset": "d", "seed": seed, "question": "Q1", "arm": arm, "acc": base + d, "nmi": base,
                    "ari": base})
    return out


def test_paired_difference_has_the_t_interval_and_the_exact_wilcoxon_p():
    (record,) = paired_differences(_rows("a", [0.01, 0.03, 0.02]))
    assert record["differences"] == pytest.approx([0.01, 0.03, 0.02])
    assert record["mean"] == pytest.approx(0.02)
    half = 4.302652729911275 * 0.01 / np.sqrt(3)  # t_{0.975, 2} sd / sqrt(n)
    assert (record["low"], record["high"]) == pytest.approx((0.02 - half, 0.02 + half))
    assert record["wilcoxon_p"] == pytest.approx(0.25)  # all three positive: the smallest exact p for n = 3
    assert format_interval(record) == f"Δ = +0.020 [{0.02 - half:+.3f}, {0.02 + half:+.3f}]"


def test_no_difference_gives_p_one_and_a_zero_interval():
    (record,) = paired_differences(_rows("a", [0.0, 0.0, 0.0, 0.0]))
    assert (record["mean"], record["low"], record["high"], record["wilcoxon_p"]) == (0.0, 0.0, 0.0, 1.0)


def test_pairs_by_seed_and_data_set_not_by_row_order():
    rows = _rows("a", [0.01, 0.05])
    rows.reverse()
    rows += [{"dataset": "other", "seed": 0, "question": "Q1", "arm": "a", "acc": 0.0, "nmi": 0.0, "ari": 0.0}]
    record = next(r for r in paired_differences(rows) if r["dataset"] == "d")
    pairs = sorted(zip(record["seeds"], record["differences"]))
    assert [s for s, _ in pairs] == [0, 1] and [d for _, d in pairs] == pytest.approx([0.01, 0.05])
    other = next(r for r in paired_differences(rows) if r["dataset"] == "other")
    assert other["n"] == 0  # no preset row for that data set: nothing to pair


def test_a_repeated_seed_is_an_error_not_a_second_pair():
    rows = _rows("a", [0.01, 0.02])
    with pytest.raises(ValueError, match="more than once"):
        paired_differences(rows + rows[-1:])


def test_arm_summary_is_mean_and_population_std():
    summary = {r["arm"]: r for r in arm_summary(_rows("a", [0.0, 0.1]))}
    assert summary["a"]["acc"] == pytest.approx(0.85) and summary["a"]["acc_std"] == pytest.approx(0.05)
    assert "same_labels_as_preset" not in summary["a"]  # the rows do not have it
    rows = [dict(r, same_labels_as_preset=0.5 if r["seed"] else 1.0) for r in _rows("a", [0.0, 0.1])]
    assert {r["arm"]: r for r in arm_summary(rows)}["a"]["same_labels_as_preset"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="metric"):
        paired_differences([], metric="accuracy")


def test_every_question_has_an_arm_and_every_arm_a_question():
    assert {a.question for a in ARMS} == set(QUESTIONS) | {"reference"}
    assert len({a.name for a in ARMS}) == len(ARMS)
    with pytest.raises(ValueError, match="arm must be one of"):
        arm_named("nope")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    data = make_blobs_data(150, 3, 6, random_state=0)
    preset = {k: v for k, v in TINY_DGG.items() if k != "cache_dir"}
    arms = [arm_named(n) for n in ("constants_dropped", "f2_on_sample", "posterior_bayes_with_pi", "vade")]
    rows = run_seed(data.X, data.y, 3, preset, 0, arms=arms, dataset="blobs",
                    cache_dir=tmp_path_factory.mktemp("cache"), log=lambda line: None)
    return {r["arm"]: r for r in rows}, rows


def test_the_preset_comes_first_and_every_arm_shares_its_start(study):
    by_arm, rows = study
    assert rows[0]["arm"] == "preset" and by_arm["preset"]["same_labels_as_preset"] == 1.0
    assert {r["start_acc"] for r in rows} == {by_arm["preset"]["start_acc"]}  # same autoencoder, same start
    assert by_arm["posterior_bayes_with_pi"]["train_seconds"] == 0.0  # re-reads the preset's model
    assert all(0.0 <= r["acc"] <= 1.0 and 0.0 <= r["same_labels_as_preset"] <= 1.0 for r in rows)


def test_dropping_the_constants_changes_the_gradient_only_at_float_precision(study):
    by_arm, _ = study
    row = by_arm["constants_dropped"]
    assert 0 <= row["max_grad_difference"] <= 1e-5 * row["max_grad"]
    assert row["max_grad"] > 0


def test_rows_survive_the_csv(study, tmp_path):
    _, rows = study
    write_rows(tmp_path / "q.csv", rows)
    back = read_rows(tmp_path / "q.csv")
    assert [r["arm"] for r in back] == [r["arm"] for r in rows]
    assert back[0]["acc"] == pytest.approx(rows[0]["acc"], abs=1e-6) and back[0]["max_grad"] is None
    q2 = next(r for r in back if r["arm"] == "constants_dropped")
    original = next(r for r in rows if r["arm"] == "constants_dropped")
    for key in ("max_grad_difference", "max_grad"):  # tiny numbers keep 4 significant digits
        assert q2[key] == pytest.approx(original[key], rel=1e-3, abs=1e-300)


def test_the_readme_table_quotes_the_committed_study():
    """Every interval in the README's "The seven questions" table is the one the committed CSV gives."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    rows = read_rows(root / "benchmarks" / "results" / "questions.csv")
    acc = {(r["dataset"], r["arm"]): format_interval(r).removeprefix("Δ = ") for r in paired_differences(rows)}
    section = (root / "README.md").read_text().split("### The seven questions")[1].split("\n### ")[0]
    arms = {"Q1": "coefficient_1", "Q2": "constants_dropped", "Q3": "f2_on_sample", "Q4": "random_20_of_top_100",
            "Q5": "pi_blog_printed", "Q6": "posterior_bayes_without_pi", "Q7": "weights_row11"}
    quoted = {}
    for line in section.splitlines():
        match = re.match(r"\| (Q\d) \|", line)
        if match:
            intervals = re.findall(r"[+−-]\d\.\d{3} \[[+−-]\d\.\d{3}, [+−-]\d\.\d{3}\]", line.replace("−", "-"))
            quoted[match.group(1)] = intervals[:2]
    assert set(quoted) == set(arms)
    for q, arm in arms.items():
        assert quoted[q] == [acc[("digits", arm)], acc[("mnist10k", arm)]], q
