"""The departures from the derivation that Algorithm 1 can train with: the seven questions (notebook 08).

Questions 5 and 7 ask whether a step that the blog or the public code writes
differently changes the clustering. To answer by measurement
(``benchmarks/bench_questions.py``, notebook 08), Algorithm 1 takes each version
by name (:class:`dggbook.model.settings.TrainSettings`); the default is always
the derived, checked step. (Questions 1 and 2, the coefficient of term 2 and the
ln 2π constants, are the settings ``prior_z_coefficient`` and ``elbo_constants``,
passed straight to :func:`dggbook.derivation.elbo.elbo_terms`.) The formulas live in :mod:`dggbook.derivation`
(the correct ones) and :mod:`dggbook.derivation.reproductions` (the others);
this module only picks one by name.

- ``pi_update`` (Q5): ``"eq31"`` is DGG eq. (31); ``"blog_printed"`` is the blog's
  Σ_j w_ij γ_jk / Σ_j w_ij (γ_ik + γ_jk) with each row divided by its sum (as printed
  it does not lie on the simplex); ``"public_code"`` is ½ f2(μ̃_i) + Σ_j f2(μ̃_j) / (2J),
  which ignores w_ij (equal to eq. (31) when the weights are uniform, or S = 1).
- ``batch_weights`` (Q7): ``"graph"`` uses the graph's w_ij; ``"public_code_row11"``
  recomputes each mini-batch's weights as the public code's Gaussian branch does,
  with ``sigma = dist_temp[11]``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..derivation.affinity import normalize_rows
from ..derivation.pi_update import update_pi
from ..derivation.reproductions import blog_printed_pi, public_code_pi, public_code_row11_batch_weights
from .settings import BATCH_WEIGHTS, PI_UPDATES

__all__ = ["pi_update_rule", "batch_neighbor_weights"]


def _blog_printed_renormalised(gamma_self, gamma_neighbors, weights, *, validate: bool = True) -> torch.Tensor:
    """The blog's printed π update with each row divided by its sum (notebook 04).

    Where γ_ik and every γ_jk are 0 (a float32 softmax underflows), the printed ratio is 0/0
    and has no limit; such an entry is set to 0. Entries whose γ are tiny but not 0 keep the
    printed ratio, which can then be large for a cluster neither sample belongs to: the
    formula is ill-conditioned there, one more reason it cannot be the update.

    ``validate=True`` checks the inputs and the renormalisation (:func:`normalize_rows`); training
    passes ``validate=False`` (:func:`dggbook.model.algorithm1.closed_form_pi`), which checks nothing and
    divides by the row sums on the device, so that a CUDA batch never waits for the host. A row
    sum is positive there: each γ row is a softmax, whose largest entry is at least 1/K.
    """
    printed = torch.nan_to_num(blog_printed_pi(gamma_self, gamma_neighbors, weights, validate=validate), nan=0.0)
    if validate:
        return normalize_rows(printed)
    return printed / printed.sum(dim=1, keepdim=True)


def _public_code(gamma_self, gamma_neighbors, weights, *, validate: bool = True) -> torch.Tensor:
    """The public code's π update, ½ γ_i + Σ_j γ_j / (2J); the weights are not used (notebook 04)."""
    return public_code_pi(gamma_self, gamma_neighbors)


_PI_RULES: dict[str, Callable] = {"eq31": update_pi, "blog_printed": _blog_printed_renormalised,
                                  "public_code": _public_code}  # keys: settings.PI_UPDATES (tested)


def pi_update_rule(name: str) -> Callable:
    """The π update called ``name`` (one of :data:`PI_UPDATES`), as ``rule(gamma_self, gamma_neighbors, weights)``."""
    if name not in _PI_RULES:
        raise ValueError(f"pi_update must be one of {PI_UPDATES}, got {name!r}.")
    return _PI_RULES[name]


def batch_neighbor_weights(name: str, graph_weights: torch.Tensor, graph_distances: torch.Tensor, *,
                           validate: bool = False) -> torch.Tensor:
    """The (B, J) weights a mini-batch of anchors trains with: the graph's, or the public code's row-11 kernel.

    Called once per training batch, so by default it checks nothing (``validate=False``) and makes no
    host synchronisation on CUDA; the graph's distances were checked when the graph was built.
    """
    if name == "graph":
        return graph_weights
    if name == "public_code_row11":
        return public_code_row11_batch_weights(graph_distances, validate=validate)
    raise ValueError(f"batch_weights must be one of {BATCH_WEIGHTS}, got {name!r}.")
