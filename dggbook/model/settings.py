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
an f2 with one hidden layer, and ``"auto"`` for the start (UMAP's, or the input's own mixture on data
of a few features: :mod:`dggbook.model.start`), the hand-over's epochs, the likelihood and its variance,
the network sizes, every number of epochs and S.
:meth:`ModelSettings.resolved` turns each ``"auto"`` into a value from the data
(:class:`DataFacts`: its size, its number of features, whether it lies in [0, 1])
and the device: epochs by :data:`AUTO_EPOCHS`, sizes by :func:`auto_network_sizes`,
the likelihood by :func:`auto_likelihood`. A Gaussian's ``noise_var="auto"`` is
measured after the autoencoder (:func:`dggbook.model.pretrain.reconstruction_noise_var`).
The public MNIST run is the named preset :func:`dggbook.model.presets.paper_settings`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from ..derivation.elbo import CORRECT_COEFFICIENT
from ..validation import check_positive_int
from .likelihoods import LIKELIHOODS
from .runtime import PRECISIONS, STEPS
from .start import LATENT_STARTS, STARTS

__all__ = ["AUTO", "AUTO_EPOCHS", "AUTO_LATENT_DIM", "BATCH_WEIGHTS", "DataFacts", "auto_likelihood",
           "auto_network_sizes", "F2_INPUTS", "GMM_VARIANCES", "PI_UPDATES", "ModelSettings",
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
# handover_epochs="auto" (pretrain.fit_to_start) is resolved once the start is known: for a start from the input
# (init "input", or "auto" choosing it) as many epochs as Algorithm 1's "auto" for N rows (auto_epochs("epochs", N),
# whatever `epochs` is set to); 0 for a start found in mu~ or given as init_labels. Iris, from the input's mixture
# (0.967), 5 seeds: DGG ends at 0.904 without hand-over, 0.939 after 10 epochs, 0.972 after 50 (README, "Training
# that keeps its start").


# "auto" network sizes (auto_network_sizes): a latent of at most AUTO_LATENT_DIM and never more than the
# number of features; hidden layers (w, w, 4w), the paper's 500-500-2000 shape, with w = 4 features, clipped to
# [AUTO_MIN_WIDTH, AUTO_MAX_WIDTH] and to a quarter of the samples. MNIST (784 features) gets the paper's
# sizes; iris (4 features) gets (32, 32, 128) and a 4-D latent. Why the width matters: Adam moves every weight
# by about lr per step, so a layer's output moves by about lr x its fan-in; a 2,000-wide layer fed by 4
# features moves the latent means by more than their spread in one step (README, "Training that keeps its start").
AUTO_LATENT_DIM = 10
AUTO_WIDTH_PER_FEATURE = 4
AUTO_MIN_WIDTH, AUTO_MAX_WIDTH = 32, 500


@dataclass(frozen=True)
class DataFacts:
    """What the ``"auto"`` settings read from the data: its shape and whether every value lies in [0, 1]."""

    n_samples: int
    n_features: int
    unit_interval: bool

    @classmethod
    def of(cls, X) -> DataFacts:
        """The facts of an (N, D) array or tensor (one pass over it for its range)."""
        if isinstance(X, torch.Tensor):
            low, high = float(X.min()), float(X.max())
        else:
            low, high = float(np.min(X)), float(np.max(X))
        return cls(int(X.shape[0]), int(X.shape[1]), bool(low >= 0.0 and high <= 1.0))


def auto_network_sizes(n_features: int, n_samples: int) -> tuple[int, tuple[int, int, int]]:
    """``(latent_dim, hidden_dims)`` that ``"auto"`` means for data of this shape (:data:`AUTO_LATENT_DIM`).

    latent_dim = min(10, D); hidden_dims = (w, w, 4w) with w = 4 D clipped to [32, 500] and to N / 4.
    """
    D = check_positive_int("n_features", n_features)
    N = check_positive_int("n_samples", n_samples)
    width = int(min(AUTO_MAX_WIDTH, AUTO_WIDTH_PER_FEATURE * D, max(AUTO_MIN_WIDTH, N // 4)))
    width = max(AUTO_MIN_WIDTH, width)
    return min(AUTO_LATENT_DIM, D), (width, width, 4 * width)


def auto_likelihood(unit_interval: bool) -> str:
    """``likelihood="auto"``: Bernoulli when every value lies in [0, 1] (pixel intensities, min-max scaled
    features), else a Gaussian (whose variance ``noise_var="auto"`` is measured after the autoencoder)."""
    return "bernoulli" if unit_interval else "gaussian"


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

    likelihood: str = AUTO  # "bernoulli" (x in [0, 1]), "gaussian" N(g(z), noise_var I), or auto_likelihood
    noise_var: float | str = AUTO  # σ_x², the Gaussian's variance (notation.md); "auto": measured after the SDAE
    f2_input: str = "mean"

    CONSTRAINTS: ClassVar[dict] = {
        "likelihood": [StrOptions(set(LIKELIHOODS) | {AUTO})],
        "noise_var": [POSITIVE_REAL, StrOptions({AUTO})],
        "f2_input": [StrOptions(set(F2_INPUTS))],
    }

    def __post_init__(self):
        validate_parameter_constraints(constraints_of(type(self)), dataclasses.asdict(self),
                                       caller_name=type(self).__name__)

    def resolved(self, data: DataFacts | int, device) -> ModelSettings:
        """A copy with every ``"auto"`` replaced by its value for ``data`` on ``device``.

        ``data`` is a :class:`DataFacts` (or just the number of rows, when no field that needs more is
        ``"auto"``). Epochs follow :data:`AUTO_EPOCHS`; ``n_neighbor_samples="auto"`` is S = 1 on a CPU
        (an epoch costs about 1.7 VAE epochs, README) and all J neighbours on CUDA (the paper); the
        likelihood :func:`auto_likelihood`; the sizes :func:`auto_network_sizes`. ``noise_var="auto"``
        becomes 1.0 (unused) under a Bernoulli likelihood and stays ``"auto"`` under a Gaussian one:
        pretraining measures it (:func:`dggbook.model.pretrain.reconstruction_noise_var`).
        ``handover_epochs="auto"`` is 0 for a start found in mu~; under ``init`` "input" or "auto" it stays
        ``"auto"`` (and ``init="auto"`` too): pretraining finds the start (:func:`dggbook.model.start.choose_start`)
        and gives a start from the input Algorithm 1's "auto" epochs of hand-over, and labels passed as
        ``init_labels`` none.
        """
        facts = data if isinstance(data, DataFacts) else None
        n_samples = facts.n_samples if facts is not None else data
        changes = {}

        def needs(name):
            if facts is None:
                raise ValueError(f"{name}='auto' is chosen from the data: pass DataFacts.of(X) to resolved(), "
                                 f"or set {name} explicitly.")
            return facts

        for f in dataclasses.fields(self):
            if getattr(self, f.name) != AUTO:
                continue
            if f.name in AUTO_EPOCHS:
                changes[f.name] = auto_epochs(f.name, n_samples)
            elif f.name == "n_neighbor_samples":
                changes[f.name] = None if torch.device(device).type == "cuda" else 1
            elif f.name == "likelihood":
                changes[f.name] = auto_likelihood(needs(f.name).unit_interval)
            elif f.name in ("latent_dim", "hidden_dims"):
                latent_dim, hidden_dims = auto_network_sizes(needs(f.name).n_features, n_samples)
                changes[f.name] = latent_dim if f.name == "latent_dim" else hidden_dims
        if self.noise_var == AUTO and changes.get("likelihood", self.likelihood) == "bernoulli":
            changes["noise_var"] = 1.0
        if getattr(self, "handover_epochs", None) == AUTO and self.init in LATENT_STARTS:
            changes["handover_epochs"] = 0  # a start found in mu~; "input" and "auto" wait for the start (pretrain)
        return dataclasses.replace(self, **changes) if changes else self

    def auto_values(self, data: DataFacts | int, device) -> dict:
        """``{field: value}`` for each field that is ``"auto"`` here: what :meth:`resolved` chose (a Gaussian's
        ``noise_var`` stays ``"auto"`` until pretraining measures it)."""
        resolved = self.resolved(data, device)
        unused = {"noise_var"} if resolved.likelihood == "bernoulli" else set()  # σ_x² only enters a Gaussian
        return {f.name: getattr(resolved, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) == AUTO and f.name not in unused}


def constraints_of(*records: type) -> dict:
    """The allowed values of every field of ``records`` (scikit-learn's ``_parameter_constraints`` form)."""
    merged: dict = {}
    for record in records:
        for klass in reversed(record.__mro__):
            merged.update(vars(klass).get("CONSTRAINTS", {}))
    return merged


@dataclass(frozen=True)
class PretrainSettings(ModelSettings):
    """Everything that determines the pretrained weights (and hence their cache key); notebook 07."""

    latent_dim: int | str = AUTO  # M; "auto": auto_network_sizes (10 for MNIST, the paper's)
    hidden_dims: tuple | str = AUTO  # encoder D-h1-h2-h3-M, decoder its mirror; "auto": auto_network_sizes
    classifier_hidden_dims: tuple = (128,)  # f2: () is linear, as in the public MNIST code
    layerwise_epochs: int | str = AUTO  # each SDAE layer pair, with dropout
    autoencoder_epochs: int | str = AUTO  # the whole SDAE end to end
    vae_epochs: int | str = AUTO  # f1 and g as a VAE with prior N(0, I)
    classifier_epochs: int | str = AUTO  # f2 on the start's labels
    pretrain_batch_size: int = 256
    pretrain_lr: float = 1e-3
    classifier_lr: float = 1e-2
    corruption: float = 0.2  # the SDAE's dropout rate
    init: str = "auto"  # the start: "kmeans" (the paper), "gmm" or "umap" in mu~, "input", or "auto" (model.start)
    start_n_init: int = 10  # restarts of the start's k-means or Gaussian mixture
    umap_components: int = 10  # init="umap" (and DGG's graph_space="umap"): UMAP's output dimension
    umap_neighbors: int = 20  # init="umap" (and DGG's graph_space="umap"): UMAP's n_neighbors
    gmm_variance: str = "aggregate"
    # fit f1, g and the GMM to the start's labels (pretrain.fit_to_start); 0: off; "auto": Algorithm 1's "auto"
    # epochs when the start came from the input, else 0
    handover_epochs: int | str = AUTO
    handover_lr: float = 5e-4

    CONSTRAINTS: ClassVar[dict] = {
        "latent_dim": [POSITIVE_INT, StrOptions({AUTO})],
        "hidden_dims": [tuple, list, StrOptions({AUTO})],  # of positive ints: checked in __post_init__
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
        "handover_epochs": [COUNT, StrOptions({AUTO})],
        "handover_lr": [POSITIVE_REAL],
    }

    def __post_init__(self):
        super().__post_init__()
        if self.hidden_dims != AUTO:
            object.__setattr__(self, "hidden_dims", _layer_sizes("hidden_dims", self.hidden_dims, allow_empty=False))
        object.__setattr__(self, "classifier_hidden_dims",
                           _layer_sizes("classifier_hidden_dims", self.classifier_hidden_dims, allow_empty=True))


@dataclass(frozen=True)
class TrainSettings(ModelSettings):
    """Settings of Algorithm 1 (notebook 07): Adam with weight decay, lr x lr_decay every lr_decay_every epochs.

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
    lr: float = 5e-4  # the paper's 2e-3 is a preset; 5e-4 keeps the start on small data (README, "Training that keeps its start")
    weight_decay: float = 1e-4
    lr_decay: float = 0.9
    lr_decay_every: int = 10
    n_neighbor_samples: int | str | None = AUTO  # None: all J neighbours; S: S drawn in proportion to w_ij
    prior_z_coefficient: float = CORRECT_COEFFICIENT  # of term 2 of eq. (21): ½ is correct, 1 is the misprint
    elbo_constants: bool = True  # keep the ln 2π of terms 2 and 4 (they cancel; notebook 03)
    pi_update: str = "eq31"  # PI_UPDATES
    batch_weights: str = "graph"  # BATCH_WEIGHTS
    # How a step runs, not what it computes: "compiled" traces it with torch.compile (CUDA graphs on CUDA) and
    # replays it (dggbook.model.runtime.compile_step; the same draws and values to float rounding).
    step: str = "eager"  # STEPS
    precision: str = "fp32"  # PRECISIONS: "tf32" products on CUDA, or "bf16" networks under autocast (opt-in)

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
        "step": [StrOptions(set(STEPS))],
        "precision": [StrOptions(set(PRECISIONS))],
    }

    def resume_key(self) -> dict:
        """The settings a checkpoint must share to be resumed: all but ``epochs`` and ``step`` (which changes how a
        step runs, not what it computes); ``precision`` only when it is not the default, so that checkpoints
        written before it existed still resume."""
        d = dataclasses.asdict(self)
        d.pop("epochs")
        d.pop("step")
        if d["precision"] == "fp32":
            d.pop("precision")
        return d
