"""Jensen–Shannon divergence between two full-covariance Gaussians (notebook 05, supplement Fig. 1).

JS has no closed form for Gaussians. With the mixture q̄ = ½(a + b),

    JS(A, B) = ½ E_A[ln a − ln q̄] + ½ E_B[ln b − ln q̄]
             = ln 2 − ½ E_A[softplus(ln b − ln a)] − ½ E_B[softplus(ln a − ln b)].

Both expectations are evaluated under the narrower Gaussian by Gauss–Hermite
quadrature (see ``_js_at_order``); the order doubles until two successive
values agree.
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import check_covariance, check_finite
from .quadrature import LN2, MAX_DIM, gaussian_nodes, log_mvn


def _softplus(t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, t)


def _validate_pair(mean_a, cov_a, mean_b, cov_b):
    mean_a = np.atleast_1d(np.asarray(mean_a, dtype=float))
    mean_b = np.atleast_1d(np.asarray(mean_b, dtype=float))
    check_finite("mean_a", mean_a)
    check_finite("mean_b", mean_b)
    if mean_a.ndim != 1 or not 1 <= mean_a.size <= MAX_DIM:
        raise ValueError(f"mean_a must be a vector of dimension 1-3, got shape {mean_a.shape}.")
    if mean_b.shape != mean_a.shape:
        raise ValueError(f"mean_b must have the shape of mean_a {mean_a.shape}, got {mean_b.shape}.")
    d = mean_a.size
    cov_a = check_covariance("cov_a", np.atleast_2d(np.asarray(cov_a, dtype=float)))
    cov_b = check_covariance("cov_b", np.atleast_2d(np.asarray(cov_b, dtype=float)))
    for name, cov in (("cov_a", cov_a), ("cov_b", cov_b)):
        if cov.shape != (d, d):
            raise ValueError(f"{name} must have shape {(d, d)} to match the means, got {cov.shape}.")
    return mean_a, cov_a, mean_b, cov_b


def _softplus_times_exp_neg(t: np.ndarray) -> np.ndarray:
    """e^{−t} softplus(t), stable for all t (it tends to 1 as t → −∞ and to 0 as t → ∞)."""
    out = np.empty_like(t)
    pos = t > 0
    out[pos] = np.exp(-t[pos]) * (t[pos] + np.log1p(np.exp(-t[pos])))
    u = np.exp(t[~pos])  # in (0, 1]; log1p(u)/u → 1 as u → 0
    safe = np.where(u > 0, u, 1.0)
    out[~pos] = np.where(u > 0, np.log1p(safe) / safe, 1.0)
    return out


def _js_at_order(mean_a, cov_a, mean_b, cov_b, n_points: int) -> float:
    """JS with every expectation taken under A, which the caller makes the narrower Gaussian.

    E_B[softplus(ln a − ln b)] = E_A[e^{−t} softplus(t)] with t = ln a − ln b, an
    integrand bounded by 1 and smooth on A's scale, so a narrow A inside a wide
    B needs no more nodes than two equal Gaussians do.
    """
    z, w = gaussian_nodes(mean_a, cov_a, n_points)
    t = log_mvn(z, mean_a, cov_a) - log_mvn(z, mean_b, cov_b)
    return LN2 - 0.5 * w @ _softplus(-t) - 0.5 * w @ _softplus_times_exp_neg(t)


def _simultaneous_frame(mean_a, cov_a, mean_b, cov_b):
    """Affine map under which A = N(0, I) and B = N(delta, diag(lam)); JS is invariant under it."""
    chol = np.linalg.cholesky(cov_a)
    inv = np.linalg.inv(chol)
    lam, vecs = np.linalg.eigh(inv @ cov_b @ inv.T)
    delta = vecs.T @ inv @ (mean_b - mean_a)
    return delta, lam


def _axis_rule(centres, scales, n_gl: int):
    """A composite Gauss–Legendre rule on one axis, its panels graded around each centre at each scale."""
    offsets = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.5, 7.0, 9.0, 12.0, 16.0])
    lo = min(c - 16.0 * s for c in centres for s in scales)
    hi = max(c + 16.0 * s for c in centres for s in scales)
    points = [lo, hi]
    for c in centres:
        for s_ in scales:
            points.extend(c + offsets * s_)
            points.extend(c - offsets * s_)
    edges = np.unique(np.clip(points, lo, hi))
    keep = np.concatenate([[True], np.diff(edges) > 1e-9 * (hi - lo)])
    edges = edges[keep]
    x, w = np.polynomial.legendre.leggauss(n_gl)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def _js_composite(delta, lam, n_gl: int) -> float:
    """JS = ∫ ½ a ln(a/q̄) + ½ b ln(b/q̄) on a tensor grid of composite per-axis rules.

    Used when the two Gaussians are narrow in different directions, where a
    single Gauss–Hermite rule would need thousands of nodes per axis. The grid
    is summed one slice of the first axis at a time to bound memory.
    """
    d = delta.size
    sd_b = np.sqrt(lam)
    rules = [_axis_rule([0.0, delta[m]], [1.0, sd_b[m]], n_gl) for m in range(d)]
    if d > 1:
        rest = np.meshgrid(*[r[0] for r in rules[1:]], indexing="ij")
        rest_w = np.meshgrid(*[r[1] for r in rules[1:]], indexing="ij")
        z_rest = np.stack([g.ravel() for g in rest], axis=1)
        w_rest = np.prod(np.stack([g.ravel() for g in rest_w], axis=1), axis=1)
    else:
        z_rest, w_rest = np.zeros((1, 0)), np.ones(1)
    const = 0.5 * d * math.log(2 * math.pi)
    la_rest = -0.5 * (z_rest**2).sum(1)
    lb_rest = -0.5 * (((z_rest - delta[1:]) ** 2) / lam[1:]).sum(1)
    lb_const = -0.5 * np.log(lam).sum() - const
    total = 0.0
    for x0, w0 in zip(*rules[0]):
        la = la_rest - 0.5 * x0**2 - const
        lb = lb_rest - 0.5 * (x0 - delta[0]) ** 2 / lam[0] + lb_const
        lm = np.logaddexp(la, lb) - LN2
        total += w0 * (w_rest @ (0.5 * np.exp(la) * (la - lm) + 0.5 * np.exp(lb) * (lb - lm)))
    return float(total)


_GH_START = {1: 64, 2: 48, 3: 24}
_GH_MAX = {1: 1024, 2: 192, 3: 96}
_GL_ORDER = {1: (16, 32), 2: (8, 16), 3: (4, 6, 8)}


def js_divergence_gaussians(mean_a, cov_a, mean_b, cov_b, *, tol: float = 1e-9) -> float:
    """JS(N(mean_a, cov_a), N(mean_b, cov_b)) in nats, dimension 1–3, full covariances (notebook 05).

    First, both halves of JS are written as expectations under the Gaussian of
    smaller volume and computed by Gauss–Hermite quadrature, doubling the order
    until two estimates agree to ``tol``. If that does not settle (the two are
    narrow in different directions), the integral is taken on composite
    Gauss–Legendre grids in the frame where A = N(0, I) and B is axis-aligned,
    again until two orders agree. Raises ``RuntimeError`` if neither converges.
    """
    mean_a, cov_a, mean_b, cov_b = _validate_pair(mean_a, cov_a, mean_b, cov_b)
    if np.linalg.slogdet(cov_b)[1] < np.linalg.slogdet(cov_a)[1]:
        mean_a, cov_a, mean_b, cov_b = mean_b, cov_b, mean_a, cov_a  # JS is symmetric
    d = mean_a.size
    n = _GH_START[d]
    previous = _js_at_order(mean_a, cov_a, mean_b, cov_b, n)
    while n < _GH_MAX[d]:
        n *= 2
        current = _js_at_order(mean_a, cov_a, mean_b, cov_b, n)
        if abs(current - previous) <= tol:
            return float(min(max(current, 0.0), LN2))
        previous = current
    delta, lam = _simultaneous_frame(mean_a, cov_a, mean_b, cov_b)
    orders = _GL_ORDER[d]
    coarse = _js_composite(delta, lam, orders[0])
    for k in orders[1:]:  # in 3-D the 4-point panels alone can miss 1e-8 (eigenvalue ratio ~15)
        fine = _js_composite(delta, lam, k)
        if abs(fine - coarse) <= max(tol, 1e-8):
            return float(min(max(fine, 0.0), LN2))
        coarse, gap = fine, abs(fine - coarse)
    raise RuntimeError(
        f"JS quadrature did not converge (last two estimates differ by {gap:.2e}); "
        "the covariances differ too much in scale for these rules."
    )


def js_divergence_monte_carlo(mean_a, cov_a, mean_b, cov_b, n_samples: int = 200_000, *, seed: int = 0):
    """Monte Carlo estimate of JS and its standard error, the independent check of the quadrature."""
    mean_a, cov_a, mean_b, cov_b = _validate_pair(mean_a, cov_a, mean_b, cov_b)
    rng = np.random.default_rng(seed)
    xa = rng.multivariate_normal(mean_a, cov_a, size=n_samples)
    xb = rng.multivariate_normal(mean_b, cov_b, size=n_samples)
    fa = LN2 - _softplus(log_mvn(xa, mean_b, cov_b) - log_mvn(xa, mean_a, cov_a))
    fb = LN2 - _softplus(log_mvn(xb, mean_a, cov_a) - log_mvn(xb, mean_b, cov_b))
    estimate = 0.5 * fa.mean() + 0.5 * fb.mean()
    stderr = 0.5 * math.sqrt(fa.var(ddof=1) / n_samples + fb.var(ddof=1) / n_samples)
    return float(estimate), float(stderr)


def rotation_2d(theta: float) -> np.ndarray:
    """The 2-D rotation matrix R(θ)."""
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def js_rotated_covariance(axis_lengths, distance: float, theta: float) -> float:
    """Reading (a) of notebook 05: JS(N(0, Σ_A), N(d e₁, R(θ) Σ_A R(θ)ᵀ)) — one covariance rotates."""
    cov = np.diag(np.asarray(axis_lengths, dtype=float) ** 2)
    rot = rotation_2d(theta)
    return js_divergence_gaussians([0.0, 0.0], cov, [distance, 0.0], rot @ cov @ rot.T)


def js_rotated_offset(axis_lengths, distance: float, theta: float) -> float:
    """Reading (b) of notebook 05: JS(N(0, Σ_A), N(d u(θ), Σ_A)) — the offset rotates relative to the axes."""
    cov = np.diag(np.asarray(axis_lengths, dtype=float) ** 2)
    offset = distance * np.array([math.cos(theta), math.sin(theta)])
    return js_divergence_gaussians([0.0, 0.0], cov, offset, cov)
