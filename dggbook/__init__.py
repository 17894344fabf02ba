"""dggbook — DGG (Deep Clustering by Gaussian Mixture VAEs with Graph Embedding, ICCV 2019), one derivation step at a time.

Four layers, one subpackage each (README, "What is where"):

- :mod:`dggbook.derivation`: the mathematics of every step, with its numeric checks;
- :mod:`dggbook.model`: data, graph, networks, pretraining, Algorithm 1, the ``DGG`` estimator;
- :mod:`dggbook.study`: experiments about the model (the seven-questions ablation, paired statistics);
- :mod:`dggbook.book`: what the notebooks call (set-up, runner, plots, the JS explorer).

The names below are the stable public API: tests, notebooks and outside checks
call them. Every one but :func:`pin_cpu_math` and :func:`quick_mode` loads on first
use, so ``import dggbook`` loads no torch and changes no environment variable.
"""
from __future__ import annotations

import importlib

from .environment import pin_cpu_math, quick_mode

__version__ = "0.1.0"

# Every other public name loads on first use, so ``import dggbook`` loads no torch and changes nothing:
# a script can still call ``dggbook.pin_cpu_math()`` after it and before importing torch.
_LAZY = {
    "DGG": "dggbook.model.dgg",
    "VaDE": "dggbook.model.vade",
    "load_dataset": "dggbook.model.data",
    "build_graph": "dggbook.model.graph",
    "clustering_scores": "dggbook.model.metrics",
    "cluster_accuracy": "dggbook.model.metrics",
    "settings_for": "dggbook.model.presets",
    "pick_device": "dggbook.model.runtime",
    "LinearGaussianMixture": "dggbook.derivation.tractable",
    "setup_book": "dggbook.book.setup",
    "savefig": "dggbook.book.setup",
    **{name: "dggbook.derivation" for name in (
        "bernoulli_log_likelihood", "dgg_objective", "elbo_terms", "entropy_normal_diag", "expected_log_gaussian",
        "gaussian_log_likelihood", "js_divergence_gaussians", "kl_normal_diag", "log_normal_diag", "run_checks",
        "update_pi")},
}


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
    "pin_cpu_math",
    "quick_mode",
    "run_checks",
    "savefig",
    "setup_book",
    "update_pi",
]
