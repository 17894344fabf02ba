"""The registry of numeric checks: one or more per derivation step (notebook 02–§4, §8, §9).

Each check computes a left side and a right side with dggbook's own functions
and compares them. ``expect="equal"`` passes when |lhs − rhs| ≤ tolerance;
``expect="differ"`` passes when they differ by more than the tolerance (used to
demonstrate a misprint, e.g. the blog's π formula, which does not sum to 1).
``dggbook check`` prints this registry; ``run_checks()`` returns it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from .divergence import js_divergence_gaussians, js_divergence_monte_carlo, rotation_2d
from .elbo import bernoulli_log_likelihood, constant_shift, elbo_terms, gaussian_log_likelihood
from .gaussian import entropy_normal_diag, expected_log_gaussian, kl_normal_diag, log_normal_diag
from .joint import GaussianSoftmaxJoint, elbo_joint, g_bound, js_joint, kl_joint, kl_mixture
from .pi_update import pi_update_numeric, update_pi
from .quadrature import gaussian_expectation
from .reproductions import PRINTED_COEFFICIENT, blog_printed_pi, public_code_pi
from .tractable import LinearGaussianMixture


@dataclass(frozen=True)
class CheckResult:
    """One numeric check: both sides, their error, the tolerance and the verdict."""

    name: str
    equation: str
    lhs: float
    rhs: float
    error: float
    tolerance: float
    expect: str
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    name: str
    equation: str
    tolerance: float
    compute: Callable[[], tuple[float, float]]
    expect: str = "equal"

    def run(self) -> CheckResult:
        lhs, rhs = (float(v) for v in self.compute())
        error = abs(lhs - rhs)
        ok = error <= self.tolerance if self.expect == "equal" else error > self.tolerance
        if not math.isfinite(error):
            ok = False
        return CheckResult(self.name, self.equation, lhs, rhs, error, self.tolerance, self.expect, ok)


REGISTRY: list[Check] = []


def check(name: str, equation: str, tolerance: float, expect: str = "equal"):
    """Register ``func() -> (lhs, rhs)`` as a named check."""

    def decorator(func):
        REGISTRY.append(Check(name, equation, tolerance, func, expect))
        return func

    return decorator


# ---------------------------------------------------------------------------
# A fixed tractable set-up (notebook 01) shared by the derivation checks.

def tractable_setup(seed: int = 0):
    """Model, two data points, and two softmax-classifier posteriors q_i, q_j on a 2-D latent."""
    model = LinearGaussianMixture.random(n_clusters=3, latent_dim=2, data_dim=4, seed=seed)
    x, _, _ = model.sample(2, seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    q = [
        GaussianSoftmaxJoint(rng.normal(size=2), np.diag(rng.uniform(0.3, 0.9, 2)), rng.normal(size=(3, 2)), rng.normal(size=3))
        for _ in range(2)
    ]
    return model, x[0], x[1], q[0], q[1]


def _mean_field(seed: int = 0):
    """A model with diagonal prior covariances and a mean-field q(z, c) = N(μ̃, diag σ̃²) γ."""
    model = LinearGaussianMixture.random(n_clusters=3, latent_dim=2, data_dim=4, seed=seed)
    x, _, _ = model.sample(2, seed=seed + 1)
    rng = np.random.default_rng(seed + 5)
    posts = []
    for _ in range(2):
        mu, var, gamma = rng.normal(size=2), rng.uniform(0.2, 1.0, 2), rng.dirichlet(np.ones(3))
        posts.append((mu, var, gamma))
    return model, x, posts


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def closed_form_elbo(model, x_i, post, *, coefficient=0.5, constants=True):
    """L(x_i) (or L(x_i, x_j) with the neighbour's ``post``) from ``elbo_terms`` with the exact reconstruction."""
    mu, var, gamma = post
    recon = model.expected_log_likelihood(x_i, mu, var)
    log_prior_var = np.log(np.stack([np.diag(c) for c in model.covs]))
    return elbo_terms(
        _t([recon]), _t(mu[None]), _t(np.log(var)[None]), _t(gamma[None]), _t(model.weights[None]),
        _t(model.means), _t(log_prior_var), coefficient=coefficient, constants=constants,
    )


# ---------------------------------------------------------------------------
# §8: the tractable model itself.

@check("tractable: p(z,c|x) = p(x,z,c)/p(x)", "§8", 1e-10)
def _posterior_bayes():
    model, x_i, _, _, _ = tractable_setup()
    z = np.random.default_rng(7).normal(size=(16, 2))
    lhs = model.posterior(x_i).log_prob(z)
    rhs = model.log_joint(x_i, z) - model.log_evidence(x_i)
    return float(np.abs(lhs - rhs).max()), 0.0


@check("tractable: ln p(x) = ln ∫Σ_c p(x,z,c) dz (quadrature)", "§8", 1e-9)
def _evidence_quadrature():
    model, x_i, _, _, _ = tractable_setup()
    total = 0.0
    for k in range(model.n_clusters):
        # ∫ p(x, z, k) dz with nodes under the prior N(μ_k, Σ_k): E_prior[π_k p(x|z)].
        total += model.weights[k] * gaussian_expectation(
            lambda z: np.exp(model.log_likelihood(x_i, z)), model.means[k], model.covs[k], 60
        )
    return math.log(total), model.log_evidence(x_i)


# ---------------------------------------------------------------------------
# Step (1): G = JS + KL(q̄‖p_i) ≥ JS.

@check("step (1): G = JS(q_i,q_j) + KL(q̄‖p_i)", "(1)", 1e-10)
def _step1_identity():
    model, x_i, _, q_i, q_j = tractable_setup()
    p_i = model.posterior(x_i)
    return g_bound(q_i, q_j, p_i), js_joint(q_i, q_j) + kl_mixture(q_i, q_j, p_i)


@check("step (1): G − JS ≥ 0 (lhs = min(G − JS, 0))", "(1)", 0.0)
def _step1_inequality():
    model, x_i, _, q_i, q_j = tractable_setup()
    gap = g_bound(q_i, q_j, model.posterior(x_i)) - js_joint(q_i, q_j)
    return min(gap, 0.0), 0.0


# ---------------------------------------------------------------------------
# Steps (2.1)–(2.3).

@check("step (2.1): ln p(x_i) = KL(q_j‖p_i) + L(x_i,x_j) for any q_j", "(2.1)", 1e-10)
def _step21_cross():
    model, x_i, _, _, q_j = tractable_setup()
    cross = elbo_joint(q_j, lambda z: model.log_joint(x_i, z))
    return model.log_evidence(x_i), kl_joint(q_j, model.posterior(x_i)) + cross


@check("step (2.1): ln p(x_i) = KL(q_i‖p_i) + L(x_i)", "(2.1)", 1e-10)
def _step21_self():
    model, x_i, _, q_i, _ = tractable_setup()
    own = elbo_joint(q_i, lambda z: model.log_joint(x_i, z))
    return model.log_evidence(x_i), kl_joint(q_i, model.posterior(x_i)) + own


@check("step (2.3): ln p(x_i) = G + ½[L(x_i) + L(x_i,x_j)]", "(2.3)", 1e-10)
def _step23():
    model, x_i, _, q_i, q_j = tractable_setup()
    log_joint = lambda z: model.log_joint(x_i, z)  # noqa: E731
    g = g_bound(q_i, q_j, model.posterior(x_i))
    return model.log_evidence(x_i), g + 0.5 * (elbo_joint(q_i, log_joint) + elbo_joint(q_j, log_joint))


# ---------------------------------------------------------------------------
# Step (3): with normalised rows the ln p(x_i) terms cancel.

def _graph_setup(normalised: bool, seed: int = 0):
    model = LinearGaussianMixture.random(n_clusters=3, latent_dim=2, data_dim=4, seed=seed)
    n = 4
    x, _, _ = model.sample(n, seed=seed + 11)
    rng = np.random.default_rng(seed + 12)
    q = [GaussianSoftmaxJoint(rng.normal(size=2), np.diag(rng.uniform(0.3, 0.9, 2)), rng.normal(size=(3, 2)), rng.normal(size=3)) for _ in range(n)]
    w = rng.uniform(0.1, 1.0, size=(n, n))
    if normalised:
        w = w / w.sum(1, keepdims=True)
    return model, x, q, w


def step3_sides(normalised: bool):
    """(Σ_i [ln p(x_i) − Σ_j w_ij G_ij],  ½ Σ_ij w_ij [L(x_i) + L(x_i,x_j)],  Σ_i (1 − Σ_j w_ij) ln p(x_i))."""
    model, x, q, w = _graph_setup(normalised)
    lhs = rhs = residual = 0.0
    for i in range(len(x)):
        p_i = model.posterior(x[i])
        log_joint = lambda z, i=i: model.log_joint(x[i], z)  # noqa: E731
        l_self = elbo_joint(q[i], log_joint)
        log_px = model.log_evidence(x[i])
        lhs += log_px - sum(w[i, j] * g_bound(q[i], q[j], p_i) for j in range(len(x)))
        rhs += 0.5 * sum(w[i, j] * (l_self + elbo_joint(q[j], log_joint)) for j in range(len(x)))
        residual += (1.0 - w[i].sum()) * log_px
    return lhs, rhs, residual


@check("step (3): Σ_i[ln p(x_i) − Σ_j w_ij G_ij] = ½Σ_ij w_ij[L_i + L_ij], rows normalised", "(3)", 1e-9)
def _step3_normalised():
    lhs, rhs, _ = step3_sides(True)
    return lhs, rhs


@check("step (3): unnormalised rows leave Σ_i(1 − Σ_j w_ij) ln p(x_i) behind", "(3)", 1e-9)
def _step3_unnormalised():
    lhs, rhs, residual = step3_sides(False)
    return lhs - rhs, residual


@check("step (3): unnormalised rows break the cancellation", "(3)", 1e-3, expect="differ")
def _step3_broken():
    lhs, rhs, _ = step3_sides(False)
    return lhs, rhs


# ---------------------------------------------------------------------------
# §3: the ELBO terms (4) and (5) in closed form.

@check("eq. (4): closed-form L(x_i) = quadrature (mean-field γ)", "(4)", 1e-10)
def _elbo_self():
    model, x, posts = _mean_field()
    mu, var, gamma = posts[0]
    q = GaussianSoftmaxJoint.mean_field(mu, var, gamma)
    return float(closed_form_elbo(model, x[0], posts[0]).total), elbo_joint(q, lambda z: model.log_joint(x[0], z))


@check("eq. (5): closed-form L(x_i,x_j) = quadrature (q_j, π_i)", "(5)", 1e-10)
def _elbo_cross():
    model, x, posts = _mean_field()
    mu, var, gamma = posts[1]
    q_j = GaussianSoftmaxJoint.mean_field(mu, var, gamma)
    return float(closed_form_elbo(model, x[0], posts[1]).total), elbo_joint(q_j, lambda z: model.log_joint(x[0], z))


def _prior_z_quadrature(model, post) -> float:
    mu, var, gamma = post
    def f(z):
        return sum(g * log_normal_diag(_t(z), _t(m), _t(np.log(np.diag(c)))).numpy() for g, m, c in zip(gamma, model.means, model.covs))
    return float(gaussian_expectation(f, mu, np.diag(var), 8))


@check("eq. (21) term 2 with coefficient ½ = E_q[ln p(z|c)]", "(21)", 1e-12)
def _half_factor():
    model, x, posts = _mean_field()
    return float(closed_form_elbo(model, x[0], posts[0]).prior_z), _prior_z_quadrature(model, posts[0])


@check("eq. (21) term 2 as printed (coefficient 1) ≠ E_q[ln p(z|c)]", "(21)", 1e-3, expect="differ")
def _printed_factor():
    model, x, posts = _mean_field()
    printed = closed_form_elbo(model, x[0], posts[0], coefficient=PRINTED_COEFFICIENT).prior_z
    return float(printed), _prior_z_quadrature(model, posts[0])


@check("§3 constants: dropping both ln 2π leaves L unchanged", "(4)", 1e-12)
def _constants_cancel():
    model, x, posts = _mean_field()
    kept = closed_form_elbo(model, x[0], posts[0], constants=True)
    dropped = closed_form_elbo(model, x[0], posts[0], constants=False)
    return float(kept.total), float(dropped.total)


@check("§3 constants: dropping one ln 2π shifts L by (M/2) ln 2π", "(4)", 1e-12)
def _constants_one():
    model, x, posts = _mean_field()
    kept = closed_form_elbo(model, x[0], posts[0], constants=True)
    only_entropy_dropped = kept._replace(entropy_z=entropy_normal_diag(_t(np.log(posts[0][1])[None]), constants=False))
    return float(kept.total - only_entropy_dropped.total), constant_shift(model.latent_dim)


@check("eq. (4) term 1: Gaussian log-likelihood is −‖x−g‖²/2σ_x² − (D/2)ln 2πσ_x²", "(4)", 1e-12)
def _gaussian_sign():
    rng = np.random.default_rng(3)
    x, mean, lam = rng.normal(size=6), rng.normal(size=6), 0.7
    ours = gaussian_log_likelihood(_t(x[None]), _t(mean[None]), lam)
    reference = torch.distributions.Normal(_t(mean), math.sqrt(lam)).log_prob(_t(x)).sum()
    return float(ours[0]), float(reference)


@check("eq. (4) term 1: Bernoulli log-likelihood from logits", "(4)", 1e-12)
def _bernoulli():
    rng = np.random.default_rng(4)
    x, logits = rng.uniform(size=6), rng.normal(size=6)
    mu = 1 / (1 + np.exp(-logits))
    return float(bernoulli_log_likelihood(_t(x[None]), _t(logits[None]))[0]), float(np.sum(x * np.log(mu) + (1 - x) * np.log(1 - mu)))


@check("expected_log_gaussian = Gauss–Hermite E[ln N(z; μ_k, σ_k²)]", "(4)", 1e-12)
def _expected_log_gaussian():
    rng = np.random.default_rng(5)
    mu, logvar = rng.normal(size=(1, 2)), rng.normal(scale=0.3, size=(1, 2))
    means, logvars = rng.normal(size=(3, 2)), rng.normal(scale=0.3, size=(3, 2))
    closed = expected_log_gaussian(_t(mu), _t(logvar), _t(means), _t(logvars)).numpy()[0]
    quad = gaussian_expectation(lambda z: log_normal_diag(_t(z[:, None]), _t(means), _t(logvars)).numpy(), mu[0], np.diag(np.exp(logvar[0])), 4)
    return float(np.abs(closed - quad).max()), 0.0


@check("KL of diagonal Gaussians = Gauss–Hermite E_q[ln q − ln p]", "§3", 1e-12)
def _kl_diag():
    rng = np.random.default_rng(6)
    mq, lq, mp, lp = rng.normal(size=(4, 3)) * [[1], [0.3], [1], [0.3]]
    closed = kl_normal_diag(_t(mq), _t(lq), _t(mp), _t(lp))
    quad = gaussian_expectation(lambda z: (log_normal_diag(_t(z), _t(mq), _t(lq)) - log_normal_diag(_t(z), _t(mp), _t(lp))).numpy(), mq, np.diag(np.exp(lq)), 4)
    return float(closed), float(quad)


# ---------------------------------------------------------------------------
# §4: the π update (31).

def _pi_setup(seed: int = 0, row_scale: float = 3.0):
    rng = np.random.default_rng(seed)
    gs = torch.softmax(_t(rng.normal(size=(4, 5))), -1)
    gn = torch.softmax(_t(rng.normal(size=(4, 6, 5))), -1)
    w = _t(rng.uniform(0.1, 1.0, size=(4, 6)) * row_scale)  # rows deliberately not normalised
    return gs, gn, w


@check("eq. (31): closed form = numeric optimiser (unnormalised w)", "(31)", 1e-10)
def _pi_numeric():
    gs, gn, w = _pi_setup()
    return float(np.abs(update_pi(gs, gn, w).numpy() - pi_update_numeric(gs, gn, w)).max()), 0.0


@check("eq. (31): rows of π sum to 1 (unnormalised w)", "(31)", 1e-12)
def _pi_simplex():
    gs, gn, w = _pi_setup()
    return float((update_pi(gs, gn, w).sum(-1) - 1).abs().max()), 0.0


@check("eq. (31) as the blog prints it does not sum to 1", "(31)", 1e-3, expect="differ")
def _pi_blog():
    gs, gn, w = _pi_setup()
    return float(blog_printed_pi(gs, gn, w).sum(-1).max()), 1.0


@check("eq. (31): public code's π = closed form with w_ij = 1/J", "(31)", 1e-12)
def _pi_public():
    gs, gn, _ = _pi_setup()
    uniform = torch.full(gn.shape[:2], 1.0 / gn.shape[1], dtype=torch.float64)
    return float((public_code_pi(gs, gn) - update_pi(gs, gn, uniform)).abs().max()), 0.0


# ---------------------------------------------------------------------------
# §9: JS between Gaussians.

def _rotated_pair():
    d = np.diag([1.0, 0.2])
    r = rotation_2d(0.6)
    return np.zeros(2), d, np.array([1.2, 0.0]), r @ d @ r.T


@check("§9: JS quadrature = Monte Carlo (within 5 standard errors)", "§9", 0.0)
def _js_monte_carlo():
    ma, ca, mb, cb = _rotated_pair()
    quad = js_divergence_gaussians(ma, ca, mb, cb)
    mc, se = js_divergence_monte_carlo(ma, ca, mb, cb, n_samples=100_000, seed=1)
    return max(abs(quad - mc) - 5 * se, 0.0), 0.0


@check("§9: JS(A,B) = JS(B,A)", "§9", 1e-9)
def _js_symmetric():
    ma, ca, mb, cb = _rotated_pair()
    return js_divergence_gaussians(ma, ca, mb, cb), js_divergence_gaussians(mb, cb, ma, ca)


@check("§9: JS invariant under a joint rotation and translation", "§9", 1e-9)
def _js_invariant():
    ma, ca, mb, cb = _rotated_pair()
    r, t = rotation_2d(1.1), np.array([0.7, -2.0])
    return js_divergence_gaussians(ma, ca, mb, cb), js_divergence_gaussians(r @ ma + t, r @ ca @ r.T, r @ mb + t, r @ cb @ r.T)


@check("step (1): with a shared f2, JS of joints = JS of the z-marginals", "(1)", 1e-9)
def _js_shared_classifier():
    rng = np.random.default_rng(8)
    weight, bias = rng.normal(size=(3, 2)), rng.normal(size=3)
    ca, cb = np.diag([0.6, 0.4]), np.diag([0.3, 0.8])
    q_a = GaussianSoftmaxJoint([0.0, 0.0], ca, weight, bias)
    q_b = GaussianSoftmaxJoint([0.8, -0.4], cb, weight, bias)
    return js_joint(q_a, q_b, 80), js_divergence_gaussians([0.0, 0.0], ca, [0.8, -0.4], cb)


def run_checks(names: list[str] | None = None) -> list[CheckResult]:
    """Run every registered check (or those whose name contains one of ``names``)."""
    selected = [c for c in REGISTRY if not names or any(n in c.name for n in names)]
    return [c.run() for c in selected]
