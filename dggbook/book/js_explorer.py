"""Explore JS between two rotated 2-D Gaussians: both readings of notebook 05 (supplement Fig. 1).

The supplement's caption says JS is smallest when the two Gaussians are
aligned with the coordinate axes, but the set-up behind its figure is not
recoverable, so dggbook shows two readings (``divergence.py``):

- reading ``"a"``: A = N(0, Σ_A), B = N(d·e₁, R(θ) Σ_A R(θ)ᵀ) — B's covariance rotates;
- reading ``"b"``: A = N(0, Σ_A), B = N(d·u(θ), Σ_A), u(θ) = (cos θ, sin θ) — the offset rotates.

Σ_A = diag(axis_lengths)², so ``axis_lengths`` are the standard deviations along
e₁ and e₂. In both readings JS(θ) = JS(−θ) = JS(π − θ) (reflect y → −y; the
period is π), so θ ∈ [0, π/2] holds every value and minima are searched there.

Angles are in radians in every function here, except the widget sliders and
the plot axes, which show degrees.
"""
from __future__ import annotations

import math

import numpy as np

from ..derivation.divergence import LN2, js_divergence_gaussians, rotation_2d

READINGS = ("a", "b")
READING_LABELS = {
    "a": "(a) B's covariance rotates: B = N(d e₁, R(θ) Σ_A R(θ)ᵀ)",
    "b": "(b) the offset rotates: B = N(d u(θ), Σ_A)",
}
FIGURE_NAME = "js_rotated_gaussians"
PLOT_TOP = 0.76  # y-limit of the JS panels of plot_js_figure: just above ln 2 ≈ 0.69, which bounds every curve


# ---------------------------------------------------------------- checks
def _check_reading(reading) -> str:
    if reading not in READINGS:
        raise ValueError(f"reading must be 'a' or 'b', got {reading!r}.")
    return reading


def _check_axis_lengths(axis_lengths) -> np.ndarray:
    lengths = np.asarray(axis_lengths, dtype=float)
    if lengths.shape != (2,) or not np.all(np.isfinite(lengths)) or np.any(lengths <= 0):
        raise ValueError(f"axis_lengths must be two positive finite standard deviations, got {axis_lengths!r}.")
    return lengths


def _check_distance(distance) -> float:
    distance = float(distance)
    if not math.isfinite(distance) or distance < 0:
        raise ValueError(f"distance must be a finite number >= 0, got {distance!r}.")
    return distance


# ---------------------------------------------------------------- numbers
def gaussian_pair(reading: str, axis_lengths, distance: float, theta: float):
    """(mean_a, cov_a, mean_b, cov_b) of the given reading at angle ``theta`` (radians), notebook 05."""
    _check_reading(reading)
    lengths = _check_axis_lengths(axis_lengths)
    distance = _check_distance(distance)
    cov = np.diag(lengths**2)
    if reading == "a":
        rot = rotation_2d(theta)
        return np.zeros(2), cov, np.array([distance, 0.0]), rot @ cov @ rot.T
    return np.zeros(2), cov, distance * np.array([math.cos(theta), math.sin(theta)]), cov


def js_curve(reading: str, axis_lengths, distance: float, thetas) -> np.ndarray:
    """JS (nats) of the given reading at each angle in ``thetas`` (radians); same shape as ``thetas``.

    Each value is ``js_divergence_gaussians`` on ``gaussian_pair``, i.e.
    ``js_rotated_covariance`` (reading a) or ``js_rotated_offset`` (reading b).
    """
    thetas = np.asarray(thetas, dtype=float)
    if not np.all(np.isfinite(thetas)):
        raise ValueError("thetas contains NaN or inf; pass finite angles in radians.")
    values = [js_divergence_gaussians(*gaussian_pair(reading, axis_lengths, distance, t)) for t in thetas.ravel()]
    return np.asarray(values, dtype=float).reshape(thetas.shape)


def angle_grid(n_angles: int, stop: float = math.pi) -> np.ndarray:
    """``n_angles`` evenly spaced angles from 0 to ``stop`` inclusive (radians)."""
    if int(n_angles) < 2:
        raise ValueError(f"n_angles must be at least 2, got {n_angles!r}.")
    return np.linspace(0.0, stop, int(n_angles))


def minimum_angle(reading: str, axis_lengths, distance: float, n_angles: int = 19) -> tuple[float, float]:
    """(θ*, JS(θ*)): the angle in [0, π/2] where JS is smallest, and the smallest JS.

    A grid of ``n_angles`` points on [0, π/2] (enough by the symmetries in the
    module docstring) locates the minimum; a bounded Brent search between the
    grid neighbours refines it. When JS is constant (reading b at d = 0) the
    answer is θ = 0.
    """
    from scipy.optimize import minimize_scalar

    grid = angle_grid(n_angles, math.pi / 2)
    values = js_curve(reading, axis_lengths, distance, grid)
    i = int(np.argmin(values))
    best_t, best_v = float(grid[i]), float(values[i])
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda t: js_curve(reading, axis_lengths, distance, t).item(),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-4},
    )
    if res.fun < best_v - 1e-12:  # the grid point wins ties, so an exact 0 or π/2 stays exact
        best_t, best_v = float(res.x), float(res.fun)
    return best_t, best_v


def is_axis_aligned(theta: float, tol_deg: float = 0.5) -> bool:
    """True when ``theta`` (radians) is within ``tol_deg`` of 0°, 90° or 180° (B's axes are e₁, e₂)."""
    deg = math.degrees(theta) % 90.0
    return min(deg, 90.0 - deg) <= tol_deg


def ellipse_points(mean, cov, scale: float = 1.0, n_points: int = 100) -> np.ndarray:
    """(n_points, 2) points on {z : (z − mean)ᵀ cov⁻¹ (z − mean) = scale²}, a density contour."""
    angles = np.linspace(0.0, 2 * math.pi, n_points)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.asarray(mean) + scale * circle @ np.linalg.cholesky(cov).T


# ---------------------------------------------------------------- static figure
def _fmt_deg(theta: float) -> str:
    return f"{math.degrees(theta):.1f}°"


def plot_js_figure(axis_lengths=(1.0, 0.3), distances=(0.5, 1.0, 2.0), n_angles: int = 91,
                   inset_angles_deg=(0.0, 45.0, 90.0), n_min_angles: int = 19):
    """Matplotlib figure in the spirit of supplement Fig. 1, both readings side by side.

    Top row: JS against θ ∈ [0°, 180°] for each mean distance, one panel per
    reading, with the measured minimum marked and stated in the panel title. Bottom
    row: the two Gaussians' 1σ and 2σ ellipses at ``inset_angles_deg`` for the
    middle distance. Minima come from ``minimum_angle`` with ``n_min_angles``.
    The figure is returned, not shown or saved.
    """
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    lengths = _check_axis_lengths(axis_lengths)
    distances = [_check_distance(d) for d in distances]
    if not distances:
        raise ValueError("distances must hold at least one mean distance.")
    thetas = angle_grid(n_angles)
    degrees = np.degrees(thetas)
    n_in = len(inset_angles_deg)
    fig = plt.figure(figsize=(11, 6.4), layout="constrained")
    grid = GridSpec(2, 2 * n_in, figure=fig, height_ratios=[3.0, 1.35])
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(distances)))
    d_mid = distances[len(distances) // 2]
    reach = 2.2 * lengths.max() + d_mid
    for col, reading in enumerate(READINGS):
        ax = fig.add_subplot(grid[0, col * n_in:(col + 1) * n_in])
        minima, maxima, aligned = [], [], []
        for d, colour in zip(distances, colours):
            curve = js_curve(reading, lengths, d, thetas)
            ax.plot(degrees, curve, color=colour, lw=2, label=f"d = {d:g}")
            t_min, v_min = minimum_angle(reading, lengths, d, n_min_angles)
            ax.plot([math.degrees(t_min), 180 - math.degrees(t_min)], [v_min, v_min], "v", color=colour, ms=8,
                    clip_on=False, zorder=5)
            half = degrees <= 90.0  # the curve is symmetric about 90°
            minima.append(f"{_fmt_deg(t_min)} (d={d:g})")
            maxima.append(f"{degrees[half][np.argmax(curve[half])]:.0f}° (d={d:g})")
            aligned.append(is_axis_aligned(t_min))
        ax.axhline(LN2, color="grey", ls="--", lw=1)
        ax.text(178, LN2, "ln 2", ha="right", va="bottom", color="grey", fontsize=8)
        ax.set_xlim(0, 180)
        ax.set_xticks(range(0, 181, 30))
        # JS ≤ ln 2, so the axis stops just above it; the measured minima go in the panel's title and
        # the distances in one legend for the figure, so no part of the axis is kept empty for text.
        ax.set_ylim(0, PLOT_TOP)
        ax.set_yticks(np.arange(0, 0.71, 0.1))
        ax.set_xlabel("θ (degrees)")
        ax.set_ylabel("JS (nats)")
        verdict = "yes, for every d" if all(aligned) else "no: " + ", ".join(
            f"d={d:g}" for d, ok in zip(distances, aligned) if not ok) + " has an oblique minimum"
        ax.set_title(f"{READING_LABELS[reading]}\nmeasured minimum (▼) at {', '.join(minima)}\n"
                     f"maximum at {', '.join(maxima)}\nminimum at an axis-aligned angle? {verdict}", fontsize=8.5)
        if col == 0:
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=len(distances),
                       fontsize=8, title="mean distance d", title_fontsize=8, columnspacing=1.0,
                       handlelength=1.5)
        for k, deg in enumerate(inset_angles_deg):
            small = fig.add_subplot(grid[1, col * n_in + k])
            mean_a, cov_a, mean_b, cov_b = gaussian_pair(reading, lengths, d_mid, math.radians(deg))
            for mean, cov, colour in ((mean_a, cov_a, "tab:blue"), (mean_b, cov_b, "tab:red")):
                for scale, alpha in ((1.0, 1.0), (2.0, 0.45)):
                    pts = ellipse_points(mean, cov, scale)
                    small.plot(pts[:, 0], pts[:, 1], color=colour, alpha=alpha, lw=1.2)
            small.set_xlim(-reach, reach)
            small.set_ylim(-reach, reach)
            small.set_aspect("equal")
            small.set_xticks([])
            small.set_yticks([])
            small.set_title(f"({reading}) θ={deg:g}°, d={d_mid:g}", fontsize=8)
    fig.suptitle(
        f"JS between two 2-D Gaussians, axis lengths {lengths[0]:g} × {lengths[1]:g} (blue A, red B; "
        "supplement Fig. 1 claims JS is smallest when they are aligned with the axes)",
        fontsize=10,
    )
    return fig


# ---------------------------------------------------------------- interactive
def density_contour_figure(reading: str, axis_lengths, distance: float, theta: float, n_angles: int = 37):
    """Plotly figure: left, density contours (1σ, 2σ, 3σ ellipses) of A and B at ``theta`` (radians);
    right, the JS curve of the reading over θ ∈ [0°, 180°] with a marker at ``theta``.

    The contours of a Gaussian density are exactly these ellipses, so they are
    drawn as lines; that keeps the figure's JSON a few kB.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    lengths = _check_axis_lengths(axis_lengths)
    mean_a, cov_a, mean_b, cov_b = gaussian_pair(reading, lengths, distance, theta)
    js_here = js_divergence_gaussians(mean_a, cov_a, mean_b, cov_b)
    thetas = angle_grid(n_angles)
    curve = js_curve(reading, lengths, distance, thetas)
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.45, 0.55],
        subplot_titles=("density contours (1σ, 2σ, 3σ)", f"JS vs θ, reading {READING_LABELS[reading]}"),
    )
    for name, mean, cov, colour in (("A", mean_a, cov_a, "royalblue"), ("B", mean_b, cov_b, "crimson")):
        for scale in (1.0, 2.0, 3.0):
            pts = np.round(ellipse_points(mean, cov, scale, 80), 4)
            fig.add_trace(go.Scatter(
                x=pts[:, 0], y=pts[:, 1], mode="lines", line=dict(color=colour, width=2.5 - 0.6 * scale),
                name=name, legendgroup=name, showlegend=scale == 1.0, hoverinfo="skip",
            ), row=1, col=1)
    fig.add_trace(go.Scatter(x=np.round(np.degrees(thetas), 3), y=np.round(curve, 6), mode="lines",
                             name="JS(θ)", line=dict(color="black")), row=1, col=2)
    fig.add_trace(go.Scatter(x=[round(math.degrees(theta), 3)], y=[round(js_here, 6)], mode="markers",
                             name=f"θ = {math.degrees(theta):.0f}°", marker=dict(size=11, color="darkorange")),
                  row=1, col=2)
    reach = 3.2 * lengths.max() + distance
    fig.update_xaxes(range=[-reach, reach], row=1, col=1)
    fig.update_yaxes(range=[-reach, reach], scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_xaxes(title_text="θ (degrees)", range=[0, 180], row=1, col=2)
    fig.update_yaxes(title_text="JS (nats)", range=[0, LN2 * 1.05], row=1, col=2)
    fig.update_layout(
        height=420, width=900, margin=dict(l=40, r=20, t=70, b=40),
        title=f"JS = {js_here:.4f} nats at θ = {math.degrees(theta):.0f}°, d = {distance:g}, "
              f"axes {lengths[0]:g} × {lengths[1]:g}",
    )
    return fig


def output_bundle(shell, obj) -> dict:
    """``obj`` as one ``display_data`` output (all its formats, as ``display(obj)`` would send), for an
    ``ipywidgets.Output``'s ``outputs``; ``shell`` is the running IPython shell."""
    data, metadata = shell.display_formatter.format(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def js_explorer(axis_lengths=(1.0, 0.3), distance: float = 1.0, theta_deg: float = 30.0,
                reading: str = "a", n_angles: int = 37):
    """An ipywidgets VBox: sliders for the two axis lengths, the mean distance and θ, a
    reading toggle, and an Output that re-renders ``density_contour_figure`` on each change.

    Re-rendering through ``Output`` (not a plotly FigureWidget) needs no
    ``anywidget``. The figure is put into the Output by setting its ``outputs``
    (:func:`output_bundle`), never by capturing (``with output: display(...)``):
    during a headless run nbclient mimics a captured Output by sending its state
    back to the kernel on the shell socket while it waits there for the cell's
    reply, and that wait then sometimes missed the reply (issue 19, §3;
    ``dggbook.book.execution``). The box carries ``controls`` (name → widget),
    ``output`` and ``figure`` (the latest plotly figure) so it can be driven from code.
    """
    import ipywidgets as widgets
    from IPython import get_ipython

    _check_reading(reading)
    lengths = _check_axis_lengths(axis_lengths)
    style = {"description_width": "110px"}
    layout = widgets.Layout(width="420px")

    def slider(description, value, lo, hi, step):
        return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                                   continuous_update=False, style=style, layout=layout)

    controls = {
        "axis_1": slider("axis length e₁", float(lengths[0]), 0.1, 2.0, 0.05),
        "axis_2": slider("axis length e₂", float(lengths[1]), 0.1, 2.0, 0.05),
        "distance": slider("mean distance d", float(_check_distance(distance)), 0.0, 4.0, 0.1),
        "theta_deg": slider("θ (degrees)", float(theta_deg), 0.0, 180.0, 1.0),
        "reading": widgets.ToggleButtons(
            options=[("(a) covariance rotates", "a"), ("(b) offset rotates", "b")], value=reading,
            description="reading", style=style),
    }
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([widgets.VBox([controls[k] for k in ("axis_1", "axis_2")]),
                                      widgets.VBox([controls[k] for k in ("distance", "theta_deg")])]),
                        controls["reading"], output])
    box.controls = controls
    box.output = output

    def render(_change=None):
        fig = density_contour_figure(
            controls["reading"].value, (controls["axis_1"].value, controls["axis_2"].value),
            controls["distance"].value, math.radians(controls["theta_deg"].value), n_angles=n_angles)
        box.figure = fig
        shell = get_ipython()
        if shell is None:  # plain Python (tests, scripts): keep the figure, print nothing
            return
        output.outputs = (output_bundle(shell, fig),)

    for control in controls.values():
        control.observe(render, names="value")
    render()
    return box
