"""dggbook — DGG (Deep Clustering by Gaussian Mixture VAEs with Graph Embedding, ICCV 2019), one derivation step at a time.

The public names below are stable: tests, notebooks and outside checks call them.
Heavy modules (the model, data, graph) load on first use.
"""
from __future__ import annotations

import importlib

from .environment import pin_cpu_math

pin_cpu_math()  # before torch loads: the same kernels, so the same numbers, on every x86-64 CPU

from .book import pick_device, quick_mode, savefig, setup_book
from .checks import run_checks
from .divergence import js_divergence_gaussians
from .elbo import bernoulli_log_likelihood, dgg_objective, elbo_terms, gaussian_log_likelihood
from .gaussian import entropy_normal_diag, expected_log_gaussian, kl_normal_diag, log_normal_diag
from .pi_update import update_pi

__version__ = "0.1.0"

_LAZY = {
    "DGG": "dggbook.estimator",
    "load_dataset": "dggbook.data",
    "build_graph": "dggbook.graph",
    "clustering_scores": "dggbook.metrics",
    "cluster_accuracy": "dggbook.metrics",
    "LinearGaussianMixture": "dggbook.tractable",
    "settings_for": "dggbook.estimator",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dggbook' has no attribute {name!r}")


__all__ = [
    "DGG",
    "LinearGaussianMixture",
    "bernoulli_log_likelihood",
    "build_graph",
    "cluster_accuracy",
    "clustering_scores",
    "dgg_objective",
    "elbo_terms",
    "entropy_normal_diag",
    "expected_log_gaussian",
    "gaussian_log_likelihood",
    "js_divergence_gaussians",
    "kl_normal_diag",
    "load_dataset",
    "log_normal_diag",
    "pick_device",
    "quick_mode",
    "run_checks",
    "savefig",
    "setup_book",
    "update_pi",
]
