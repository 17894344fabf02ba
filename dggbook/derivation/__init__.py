"""The derivation layer: the mathematics of DGG, one module per step, each with numeric checks.

Students read this layer next to notebooks 01-05. It depends on numpy, scipy
and torch only, and never on the model or the book layer.

- ``gaussian``: diagonal-Gaussian densities, entropies, KL, E[ln N] (notebook 03);
- ``elbo``: the ELBO terms (4), (5), (21) with and without their constants, and DGG's objective;
- ``joint``, ``quadrature``, ``tractable``: KL, JS and the bound G between joints (step (1)),
  Gauss-Hermite expectations, and an exactly solvable model to test against (§8);
- ``divergence``: JS between two full-covariance Gaussians (§9);
- ``pi_update``: the per-sample prior pi_i and its closed form (31);
- ``affinity``: the graph weights w_ij (§5);
- ``reproductions``: the misprints and the public code's behaviour, kept apart from the correct library;
- ``checks``: the registry behind ``dggbook check`` (:func:`run_checks`).
"""
from __future__ import annotations

from .checks import run_checks
from .divergence import js_divergence_gaussians
from .elbo import bernoulli_log_likelihood, dgg_objective, elbo_terms, gaussian_log_likelihood
from .gaussian import entropy_normal_diag, expected_log_gaussian, kl_normal_diag, log_normal_diag
from .pi_update import update_pi

__all__ = [
    "bernoulli_log_likelihood", "dgg_objective", "elbo_terms", "entropy_normal_diag", "expected_log_gaussian",
    "gaussian_log_likelihood", "js_divergence_gaussians", "kl_normal_diag", "log_normal_diag", "run_checks",
    "update_pi",
]
