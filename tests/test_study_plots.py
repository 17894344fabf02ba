"""The figures of notebook 08: one panel per data set, arms labelled in words."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dggbook.book.study_plots import ARM_LABELS, plot_paired_differences  # noqa: E402
from dggbook.study.questions import ARMS  # noqa: E402


def _record(dataset, arm, differences):
    mean = sum(differences) / len(differences)
    return {"dataset": dataset, "arm": arm, "n": len(differences), "differences": differences,
            "mean": mean, "low": mean - 0.01, "high": mean + 0.01}


def test_one_panel_per_data_set_with_its_own_axis_and_words_for_labels():
    records = [_record("digits", "pi_blog_printed", [0.001, 0.002, -0.001]),
               _record("mnist10k", "pi_blog_printed", [-0.12, -0.09, -0.08])]
    fig = plot_paired_differences(records, title="Q5")
    try:
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert len(panels) == 2
        assert panels[0].get_xlim() != panels[1].get_xlim()  # not squashed onto one axis
        labels = [t.get_text() for t in panels[0].get_yticklabels()]
        assert labels == [ARM_LABELS["pi_blog_printed"]] and "_" not in labels[0]
    finally:
        plt.close(fig)


def test_every_arm_of_the_study_has_a_label_in_words():
    assert {a.name for a in ARMS if a.question != "reference"} <= set(ARM_LABELS)


def test_one_axes_for_two_data_sets_is_refused():
    fig, ax = plt.subplots()
    records = [_record("digits", "vade", [0.01]), _record("mnist10k", "vade", [0.02])]
    with pytest.raises(ValueError, match="ax"):
        plot_paired_differences(records, ax=ax)
    plt.close(fig)
