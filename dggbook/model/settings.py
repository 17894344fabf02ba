"""Every setting of pretraining and Algorithm 1: its name, its default and its allowed values, once.

Three places read these and none repeats them:

- :class:`PretrainSettings` and :class:`TrainSettings`, the frozen records that
  :func:`dggbook.model.pretrain.pretrain` and :func:`dggbook.model.algorithm1.train_dgg`
  take (each checks its values when it is built);
- :class:`dggbook.model.dgg.DGG`, whose parameter of the same name takes
  its default from the field (``DGG.lr`` defaults to ``TrainSettings.lr``) and
  whose ``_parameter_constraints`` are :func:`constraints_of` both records;
- :func:`dggbook.model.presets.settings_for`, which only overrides values.

A field name means one thing everywhere: ``pretrain_lr`` is the learning rate of
pretraining in the settings, in the estimator and in the presets; ``lr`` is
Algorithm 1's.

The defaults are the ones measured to work on a CPU (README, "Measured results"):
the UMAP start, an f2 with one hidden layer, and ``"auto"`` for every number of
epochs and for S. :meth:`ModelSettings.resolved` turns each ``"auto"`` into a
number from the data size and the device (:data:`AUTO_EPOCHS`). The public MNIST
run (DGG notes §7) is the named preset :func:`dggbook.model.presets.paper_settings`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from ..derivation.elbo import CORRECT_COEFFICIENT
from ..validation import check_positive_int
from .likelihoods import LIKELIHOODS
from .networks import PAPER_HIDDEN_DIMS
from .start import STARTS

__all__ = ["AUTO", "AUTO_EPOCHS", "BATCH_WEIGHTS", "F2_INPUTS", "GMM_VARIANCES", "PI_UPDATES", "ModelSettings",
           "PretrainSettings", "TrainSettings", "auto_epochs", "constraints_of"]

F2_INPUTS = ("mean", "sample")  # what f2 sees: mu~ (public MNIST code) or a sample z (the paper)
GMM_VARIANCES = ("aggregate", "means")  # see dggbook.model.pretrain.init_gmm_from_labels
# How Algorithm 1 updates pi_i (dggbook.model.departures): eq. (31); the blog's printed formula, renormalised;
# the public code's 1/2 f2(mu~_i) + sum_j f2(mu~_j) / (2J).
PI_UPDATES = ("eq31", "blog_printed", "public_code")
# Where the neighbour weights of a mini-batch come from: the graph's w_ij, or the public code's Gaussian branch
# with sigma = dist_temp[11] (row 11 of each batch), rows normalised (dggbook.model.departures).
BATCH_WEIGHTS = ("graph", "public_code_row11")

POSITIVE_INT = Interval(Integral, 1, None, closed="left")
COUNT = Interval(Integral, 0, None, closed="left")
POSITIVE_REAL = Interval(Real, 0, None, closed="neither")
NONNEGATIVE_REAL = Interval(Real, 0, None, closed="left")

AUTO = "auto"
# "auto" numbers of epochs: ceil(passes / n_samples), clipped to [fewest, most]. Each row gives the
# two measured CPU presets (dggbook.model.presets) at their sizes: digits (n = 1,797) takes `most`,
# MNIST-70k takes `fewest`. Between the sizes where the clips apply (up to 5,400-12,000 rows,
# by stage), the number of sample passes, and so a stage's total time, stays about constant.
AUTO_EPOCHS = {  # field: (sample passes, fewest, most)
    "layerwise_epochs": (18_000, 2, 10),
    "autoencoder_epochs": (270_000, 30, 150),
    "vae_epochs": (18_000, 3, 10),
    "classifier_epochs": (360_000, 30, 200),
    "epochs": (108_000, 20, 60),
}


def auto_epochs(field: str, n_samples: int) -> int:
    """The number of epochs ``field="auto"`` means for ``n_samples`` rows (:data:`AUTO_EPOCHS`)."""
    passes, fewest, most = AUTO_EPOCHS[field]
    return int(min(most, max(fewest, -(-passes // check_positive_int("n_samples", n_samples)))))


def _layer_sizes(name: str, sizes, *, allow_empty: bool) -> tuple:
    """``sizes`` as a tuple of ints after checking every one is a positive int (and that there is one)."""
    wrong = ValueError(f"{name} must be a tuple of positive ints (layer sizes), got {sizes!r}.")
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise wrong
    sizes = tuple(sizes)
    if not sizes and not allow_empty:
        raise wrong
    return tuple(check_positive_int(f"{name}[{i}]", v) for i, v in enumerate(sizes))


@dataclass(frozen=True)
class ModelSettings:
    """What pretraining and Algorithm 1 share: the observation model p(x|z) and f2's input."""

    likelihood: str = "bernoulli"  # "bernoulli" (x in [0, 1]) or "gaussian" N(g(z), noise_var I)
    noise_var: float = 1.0  # σ_x², the variance of the Gaussian likelihood (notebooks/notation.md)
    f2_input: str = "mean"

    CONSTRAINTS: ClassVar[dict] = {
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "noise_var": [POSITIVE_REAL],
        "f2_input": [StrOptions(set(F2_INPUTS))],
    }

    def __post_init__(self):
        validate_parameter_constraints(constraints_of(type(self)), dataclasses.asdict(self),
                                       caller_name=type(self).__name__)

    def resolved(self, n_samples: int, device) -> ModelSettings:
        """A copy with every ``"auto"`` replaced by its value for ``n_samples`` rows on ``device``.

        Epochs follow :data:`AUTO_EPOCHS`; ``n_neighbor_samples="auto"`` is S = 1 on a CPU
        (an epoch costs about 1.7 VAE epochs, README) and all J neighbours on CUDA (the paper).
        """
        changes = {}
        for f in dataclasses.fields(self):
            if getattr(self, f.name) != AUTO:
                continue
            if f.name in AUTO_EPOCHS:
                changes[f.name] = auto_epochs(f.name, n_samples)
            elif f.name == "n_neighbor_samples":
                changes[f.name] = None if torch.device(device).type == "cuda" else 1
        return dataclasses.replace(self, **changes) if changes else self

    def auto_values(self, n_samples: int, device) -> dict:
        """``{field: value}`` for each field that is ``"auto"`` here: what :meth:`resolved` chose."""
        resolved = self.resolved(n_samples, device)
        return {f.name: getattr(resolved, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) == AUTO}


def constraints_of(*records: type) -> dict:
    """The allowed values of every field of ``records`` (scikit-learn's ``_parameter_constraints`` form)."""
    merged: dict = {}
    for record in records:
        for klass in reversed(record.__mro__):
            merged.update(vars(klass).get("CONSTRAINTS", {}))
    return merged


@dataclass(frozen=True)
class PretrainSettings(ModelSettings):
    """Everything that determines the pretrained weights (and hence their cache key); DGG notes §7."""

    latent_dim: int = 10
    hidden_dims: tuple = PAPER_HIDDEN_DIMS  # encoder D-h1-h2-h3-M, decoder its mirror
    classifier_hidden_dims: tuple = (128,)  # f2: () is linear, as in the public MNIST code
    layerwise_epochs: int | str = AUTO  # each SDAE layer pair, with dropout
    autoencoder_epochs: int | str = AUTO  # the whole SDAE end to end
    vae_epochs: int | str = AUTO  # f1 and g as a VAE with prior N(0, I)
    classifier_epochs: int | str = AUTO  # f2 on the start's labels
    pretrain_batch_size: int = 256
    pretrain_lr: float = 1e-3
    classifier_lr: float = 1e-2
    corruption: float = 0.2  # the SDAE's dropout rate
    init: str = "umap"  # the starting partition of mu~: "kmeans" (the paper), "gmm" or "umap" (model.start)
    start_n_init: int = 10  # restarts of the start's k-means or Gaussian mixture
    umap_components: int = 10  # init="umap" (and DGG's graph_space="umap"): UMAP's output dimension
    umap_neighbors: int = 20  # init="umap" (and DGG's graph_space="umap"): UMAP's n_neighbors
    gmm_variance: str = "aggregate"

    CONSTRAINTS: ClassVar[dict] = {
        "latent_dim": [POSITIVE_INT],
        "hidden_dims": [tuple, list],  # of positive ints: checked in __post_init__
        "classifier_hidden_dims": [tuple, list],
        "layerwise_epochs": [COUNT, StrOptions({AUTO})],
        "autoencoder_epochs": [COUNT, StrOptions({AUTO})],
        "vae_epochs": [COUNT, StrOptions({AUTO})],
        "classifier_epochs": [COUNT, StrOptions({AUTO})],
        "pretrain_batch_size": [POSITIVE_INT],
        "pretrain_lr": [POSITIVE_REAL],
        "classifier_lr": [POSITIVE_REAL],
        "corruption": [Interval(Real, 0, 1, closed="left")],
        "init": [StrOptions(set(STARTS))],
        "start_n_init": [POSITIVE_INT],
        "umap_components": [POSITIVE_INT],
        "umap_neighbors": [Interval(Integral, 2, None, closed="left")],
        "gmm_variance": [StrOptions(set(GMM_VARIANCES))],
    }

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "hidden_dims", _layer_sizes("hidden_dims", self.hidden_dims, allow_empty=False))
        object.__setattr__(self, "classifier_hidden_dims",
                           _layer_sizes("classifier_hidden_dims", self.classifier_hidden_dims, allow_empty=True))


@dataclass(frozen=True)
class TrainSettings(ModelSettings):
    """Settings of Algorithm 1 (DGG notes §7): Adam with weight decay, lr x lr_decay every lr_decay_every epochs.

    The paper trains 300 epochs with all J neighbours (:func:`dggbook.model.presets.paper_settings`);
    the default ``"auto"`` takes 20-60 epochs by data size, and S = 1 on a CPU (:meth:`resolved`).

    The last four fields train with a departure from the derivation instead of the correct step,
    for the ablation study of the seven questions (``benchmarks/bench_questions.py``, notebook 08):
    ``prior_z_coefficient=1.0`` is term 2 of eq. (21) as printed (½ is right); ``elbo_constants=False``
    drops the ln 2π of terms 2 and 4; ``pi_update`` and ``batch_weights`` name the blog's and the
    public code's versions of eq. (31) and of the weights (:mod:`dggbook.model.departures`).
    """

    epochs: int | str = AUTO
    batch_size: int = 100  # anchors per step
    lr: float = 2e-3
    weight_decay: float = 1e-4
    lr_decay: float = 0.9
    lr_decay_every: int = 10
    n_neighbor_samples: int | str | None = AUTO  # None: all J neighbours; S: S drawn in proportion to w_ij
    prior_z_coefficient: float = CORRECT_COEFFICIENT  # of term 2 of eq. (21): ½ is correct, 1 is the misprint
    elbo_constants: bool = True  # keep the ln 2π of terms 2 and 4 (they cancel; DGG notes §3)
    pi_update: str = "eq31"  # PI_UPDATES
    batch_weights: str = "graph"  # BATCH_WEIGHTS

    CONSTRAINTS: ClassVar[dict] = {
        "epochs": [COUNT, StrOptions({AUTO})],
        "batch_size": [POSITIVE_INT],
        "lr": [POSITIVE_REAL],
        "weight_decay": [NONNEGATIVE_REAL],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "lr_decay_every": [POSITIVE_INT],
        "n_neighbor_samples": [None, POSITIVE_INT, StrOptions({AUTO})],
        "prior_z_coefficient": [POSITIVE_REAL],
        "elbo_constants": ["boolean"],
        "pi_update": [StrOptions(set(PI_UPDATES))],
        "batch_weights": [StrOptions(set(BATCH_WEIGHTS))],
    }

    def resume_key(self) -> dict:
        """The settings a checkpoint must share to be resumed: all but ``epochs``."""
        d = dataclasses.asdict(self)
        d.pop("epochs")
        return d
