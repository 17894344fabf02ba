"""dggbook — DGG (Deep Clustering by Gaussian Mixture VAEs with Graph Embedding, ICCV 2019), one derivation step at a time.

Three layers, one subpackage each (README, "What is where"):

- :mod:`dggbook.derivation`: the mathematics of every step, with its numeric checks;
- :mod:`dggbook.model`: data, graph, networks, pretraining, Algorithm 1, the ``DGG`` estimator;
- :mod:`dggbook.book`: what the notebooks call (set-up, runner, plots, the JS explorer).

The names below are the stable public API: tests, notebooks and outside checks
call them. Heavy modules (the model, data, graph) load on first use.
"""
from __future__ import annotations

import importlib

from .environment import pin_cpu_math

pin_cpu_math()  # before torch loads: the same kernels, so the same numbers, on every x86-64 CPU

from .book import pick_device, quick_mode, savefig, setup_book
from .derivation import (
    bernoulli_log_likelihood,
    dgg_objective,
    elbo_terms,
    entropy_normal_diag,
    expected_log_gaussian,
    gaussian_log_likelihood,
    js_divergence_gaussians,
    kl_normal_diag,
    log_normal_diag,
    run_checks,
    update_pi,
)

__version__ = "0.1.0"

_LAZY = {
    "DGG": "dggbook.model.estimator",
    "VaDE": "dggbook.model.vade",
    "load_dataset": "dggbook.model.data",
    "build_graph": "dggbook.model.graph",
    "clustering_scores": "dggbook.model.metrics",
    "cluster_accuracy": "dggbook.model.metrics",
    "LinearGaussianMixture": "dggbook.derivation.tractable",
    "settings_for": "dggbook.model.presets",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dggbook' has no attribute {name!r}")


__all__ = [
    "DGG",
    "VaDE",
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
