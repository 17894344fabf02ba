"""Quick tests for dggbook.book.js_explorer: the two readings of notebook 05, the figures and the widget."""
import math

import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import pytest

from dggbook.book import js_explorer as jx
from dggbook.book import savefig
from dggbook.derivation.divergence import LN2, js_divergence_gaussians, js_rotated_covariance, js_rotated_offset

AXES = (1.0, 0.3)


def test_js_curve_matches_the_library_readings_and_keeps_the_shape():
    thetas = np.array([[0.0, 0.4], [1.1, math.pi / 2]])
    a, b = jx.js_curve("a", AXES, 1.0, thetas), jx.js_curve("b", AXES, 1.0, thetas)
    assert a.shape == b.shape == (2, 2)
    for t, va, vb in zip(thetas.ravel(), a.ravel(), b.ravel()):
        assert va == pytest.approx(js_rotated_covariance(AXES, 1.0, t), abs=1e-12)
        assert vb == pytest.approx(js_rotated_offset(AXES, 1.0, t), abs=1e-12)
    assert np.all((a >= 0) & (a <= LN2)) and np.all((b >= 0) & (b <= LN2))


@pytest.mark.parametrize("reading", jx.READINGS)
def test_curve_symmetries_used_to_search_only_0_to_90_degrees(reading):
    t = np.array([0.3, 1.2])
    base = jx.js_curve(reading, AXES, 0.8, t)
    np.testing.assert_allclose(jx.js_curve(reading, AXES, 0.8, -t), base, atol=1e-8)
    np.testing.assert_allclose(jx.js_curve(reading, AXES, 0.8, math.pi - t), base, atol=1e-8)


def test_reading_b_depends_only_on_the_mahalanobis_distance():
    theta, d = 0.7, 1.3
    delta = d * math.hypot(math.cos(theta) / AXES[0], math.sin(theta) / AXES[1])
    one_d = js_divergence_gaussians([0.0], [[1.0]], [delta], [[1.0]])
    assert jx.js_curve("b", AXES, d, theta) == pytest.approx(one_d, abs=1e-8)


def test_minimum_angles():
    for reading in jx.READINGS:
        assert jx.minimum_angle(reading, AXES, 1.0, n_angles=7)[0] == 0.0
    # Offset along A's short axis, reading (a): the minimum is oblique at d = 0.5 (about 12°).
    theta, value = jx.minimum_angle("a", (0.3, 1.0), 0.5, n_angles=10)
    assert math.radians(5) < theta < math.radians(20)
    assert value < jx.js_curve("a", (0.3, 1.0), 0.5, 0.0) - 1e-3


@pytest.mark.parametrize("call, match", [
    (lambda: jx.js_curve("c", AXES, 1.0, [0.0]), "reading"),
    (lambda: jx.js_curve("a", (1.0, -0.3), 1.0, [0.0]), "axis_lengths"),
    (lambda: jx.js_curve("a", (1.0, 0.3, 0.2), 1.0, [0.0]), "axis_lengths"),
    (lambda: jx.js_curve("b", AXES, float("nan"), [0.0]), "distance"),
    (lambda: jx.js_curve("b", AXES, 1.0, [np.nan]), "thetas"),
    (lambda: jx.angle_grid(1), "n_angles"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_static_figure_and_its_saved_name(tmp_path, monkeypatch):
    fig = jx.plot_js_figure(AXES, distances=(1.0,), n_angles=7, inset_angles_deg=(0.0, 90.0))
    try:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert len(fig.axes) == 2 + 2 * 2  # one main panel and two insets per reading
        titles = [ax.get_title() for ax in fig.axes]
        assert any("(a)" in t for t in titles) and any("(b)" in t for t in titles)
        monkeypatch.setenv("DGGBOOK_FIGURES", str(tmp_path))
        path = savefig(fig, jx.FIGURE_NAME, dpi=40)
        assert path == tmp_path / "js_rotated_gaussians.png" and path.stat().st_size > 0
    finally:
        plt.close(fig)


def test_density_contour_figure_is_small_and_marks_theta():
    fig = jx.density_contour_figure("a", AXES, 1.0, math.radians(30), n_angles=7)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 2 * 3 + 2  # 1σ, 2σ, 3σ for A and B, the curve, the marker
    marker = fig.data[-1]
    assert marker.x[0] == pytest.approx(30.0)
    assert marker.y[0] == pytest.approx(js_rotated_covariance(AXES, 1.0, math.radians(30)), abs=1e-6)
    assert len(fig.to_json()) < 50_000


def test_explorer_widget_builds_and_reacts():
    import ipywidgets as widgets

    box = jx.js_explorer(n_angles=5)
    assert isinstance(box, widgets.VBox)
    assert set(box.controls) == {"axis_1", "axis_2", "distance", "theta_deg", "reading"}
    first = box.figure
    box.controls["reading"].value = "b"
    box.controls["theta_deg"].value = 90.0
    assert box.figure is not first
    assert box.figure.data[-1].x[0] == pytest.approx(90.0)
    assert box.figure.data[-1].y[0] == pytest.approx(js_rotated_offset(AXES, 1.0, math.pi / 2), abs=1e-6)
