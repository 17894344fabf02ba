"""What DGG and VaDE share as scikit-learn estimators: checks, settings, predict / transform, save / load.

Both are a Gaussian-mixture VAE with the same networks and the same
initialisation (:func:`dggbook.model.pretrain.pretrain`); they differ in how
they train and in their cluster posterior q(c|x). A subclass gives:

- ``_posterior(X)``: q(c|x) for a tensor of rows (f2 for DGG, the GMM's Bayes posterior for VaDE);
- ``_fit(X, y, init_labels)``: the training, which sets the fitted attributes;
- ``FITTED``: the fitted attributes that :meth:`save` writes and :meth:`load` restores,
  and ``_save_extra`` / ``_load_extra`` for anything that is not a plain value.

Every parameter is checked (``_parameter_constraints``), then the data, then the
checks that need both, before any work starts. ``random_state`` is what scikit-learn
accepts: an int (reproducible, and the only seed that enables the cache), a
``numpy.random.RandomState`` or None (one int is drawn from it, or from numpy's global
generator, and recorded as ``seed_``). Every stage draws from its own seed spawned
from ``seed_`` (:func:`dggbook.model.pretrain.stage_seeds`) on a forked torch
generator, so ``fit`` leaves torch's and Python's generators as they were (and numpy's,
unless ``random_state`` is None).

While fitting, ``n_threads`` bounds every thread pool the fit uses: torch's, the BLAS
and OpenMP pools of scikit-learn's k-means and Gaussian mixtures (threadpoolctl), and
UMAP's numba pool (:func:`dggbook.model.start.umap_embedding`); torch computes in
float32 whatever the caller's default dtype.

After training, ``fit`` checks its result without labels (:meth:`DeepClusterer._fit_findings`): an empty
cluster, collapsed posteriors, or a training objective that fell each give a ``ConvergenceWarning`` saying
what happened and what to try, and are recorded in ``fit_warnings_``. ``fit`` then still returns the last
epoch's model (never one chosen by labels); :meth:`DeepClusterer.score`, the mean per-sample ELBO, compares
runs without labels.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import time
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..environment import torch_seeded, torch_threads
from ..validation import check_unit_interval
from .cache import save_atomic
from .pretrain import build_networks, check_init_labels, resolve_seed
from .runtime import DEVICES, float64_copy, map_in_batches, pick_device, to_device
from .settings import AUTO, POSITIVE_INT, DataFacts, PretrainSettings, TrainSettings

__all__ = ["DeepClusterer", "RUN_CONSTRAINTS", "SAVE_VERSION", "UNIFORM_POSTERIOR_MARGIN", "DOMINANT_CLUSTER_SHARE",
           "EPOCH_OBJECTIVE_TOLERANCE", "START_ELBO_TOLERANCE"]

SAVE_VERSION = 9  # 3: parameter names of dggbook.model.settings; 4: start_labels_, the estimator's class name;
# 5: auto_settings_; 6: plain tensors and containers only (loaded with weights_only=True), seed_;
# 7: n_iter_, fit_warnings_, lower_bound_, start_lower_bound_; 8: likelihood_, noise_var_, latent_dim_, hidden_dims_;
# 9: start_source_, start_cuts_

UNIFORM_POSTERIOR_MARGIN = 0.1
"""Posteriors have collapsed when the mean over samples of max_k q(c=k|x) is below 1/K + 0.1 (1 - 1/K): within a
tenth of the way from uniform rows (every sample equally likely in every cluster, the mean is 1/K) to certain rows
(1). The public VaDE and DGG code's reported failure, every sample with near-equal cluster probabilities, sits at
the bottom of that range; a fit that separates anything is far above it (K = 3: the line is 0.40)."""

DOMINANT_CLUSTER_SHARE = 0.95
"""A single cluster holding more than this share of the samples (K > 1) is reported as a collapse: the issue-20
failure "iris -> a single cluster". 0.95 leaves room for data whose largest class is genuinely large
(with K = 2, a 90/10 split is not flagged)."""

EPOCH_OBJECTIVE_TOLERANCE = 1e-2
"""The training objective "fell" when the last epoch's (``history_``) ends more than this fraction of
max(1, |first epoch's|) below the first epoch's. Each is a Monte Carlo mean over one pass (sampled z, S sampled
neighbours) taken while the weights move: on 150 blobs with the tests' tiny settings one epoch's DGG objective
was 0.2% below the one before it in a fit that improved, so the margin is five times that."""

START_ELBO_TOLERANCE = 1e-3
"""The mean ELBO of the training data "fell below its start" when ``lower_bound_`` is more than this fraction
of max(1, |start_lower_bound_|) below ``start_lower_bound_``. Both are deterministic (z = mu~), so the margin
only absorbs float rounding and near-ties."""

RUN_CONSTRAINTS = {  # how to run, not what to compute
    "n_clusters": [POSITIVE_INT],
    "device": [StrOptions(set(DEVICES))],
    "n_threads": [None, POSITIVE_INT],
    "random_state": ["random_state"],  # None, an int in [0, 2**32 - 1] or a numpy RandomState
    "cache_dir": [None, "boolean", str, os.PathLike],
    "dataset_name": [str],
    "verbose": ["boolean"],
}


@contextlib.contextmanager
def fit_runtime(n_threads: int | None):
    """The runtime of a fit: ``n_threads`` for torch (:func:`dggbook.environment.torch_threads`) and for the
    BLAS and OpenMP pools of scikit-learn's k-means and Gaussian mixtures (``threadpoolctl``), and float32
    as torch's default dtype (the networks and data are float32); all restored after. None keeps the
    thread counts as they are."""
    from threadpoolctl import threadpool_limits

    previous_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        with torch_threads(n_threads), (threadpool_limits(n_threads) if n_threads is not None
                                        else contextlib.nullcontext()):
            yield
    finally:
        torch.set_default_dtype(previous_dtype)


def _plain(value):
    """``value`` with numpy arrays as tensors and numpy scalars as Python numbers, so ``torch.load(...,
    weights_only=True)`` reads it back (:meth:`DeepClusterer.save`)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype == object else torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _numpy(value):
    """The inverse of :func:`_plain` for fitted attributes: tensors back to numpy arrays."""
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numpy(v) for v in value]
    return value


class DeepClusterer(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """The shared part of :class:`dggbook.DGG` and :class:`dggbook.VaDE` (not used on its own)."""

    FITTED: tuple = ()
    # True when training maximises the ELBO that lower_bound_ measures, so its fall below start_lower_bound_ is a
    # fall of the objective itself (VaDE). DGG maximises the graph objective instead, which trades the self terms
    # for neighbour terms: its self-ELBO may fall while its objective rises, so there it is reported, not warned.
    _MAXIMISES_LOWER_BOUND: bool = True
    _FIXED_SETTINGS: dict = {}  # settings a subclass does not expose, with the value it always uses

    # ----------------------------------------------------------------- settings
    def _settings(self, record: type):
        """``record`` (a settings class) filled from the parameters of the same names."""
        values = {f.name: getattr(self, f.name, f.default) for f in dataclasses.fields(record)}
        return record(**{**values, **{k: v for k, v in self._FIXED_SETTINGS.items() if k in values}})

    def pretrain_settings(self) -> PretrainSettings:
        """The :class:`PretrainSettings` these parameters imply."""
        return self._settings(PretrainSettings)

    def train_settings(self) -> TrainSettings:
        """The :class:`TrainSettings` of the training these parameters imply."""
        return self._settings(TrainSettings)

    def _resolve_and_record_settings(self, X: np.ndarray) -> tuple[PretrainSettings, TrainSettings]:
        """Both records with each ``"auto"`` replaced for the data X on ``device_``
        (:meth:`dggbook.model.settings.ModelSettings.resolved`); the choices go to ``auto_settings_``, and
        the model's sizes and likelihood to ``latent_dim_``, ``hidden_dims_`` and ``likelihood_``. A Gaussian's
        ``noise_var="auto"`` is set later, from pretraining (:meth:`_record_noise_var`)."""
        facts = DataFacts.of(X)
        records = self.pretrain_settings(), self.train_settings()
        self.auto_settings_ = {k: v for r in records for k, v in r.auto_values(facts, self.device_).items()}
        pretrain_settings, train_settings = (r.resolved(facts, self.device_) for r in records)
        self.latent_dim_, self.hidden_dims_ = pretrain_settings.latent_dim, tuple(pretrain_settings.hidden_dims)
        self.likelihood_ = pretrain_settings.likelihood
        return pretrain_settings, train_settings

    def _record_noise_var(self, noise_var: float, train_settings: TrainSettings) -> TrainSettings:
        """``train_settings`` with the σ_x² pretraining used (measured there when ``noise_var="auto"``), kept
        in ``noise_var_`` (and in ``auto_settings_`` when it was chosen)."""
        self.noise_var_ = float(noise_var)
        if self.noise_var == AUTO and self.likelihood_ == "gaussian":
            self.auto_settings_["noise_var"] = self.noise_var_
        return dataclasses.replace(train_settings, noise_var=self.noise_var_)

    def _runs_umap(self) -> bool:
        """Whether a fit runs UMAP: for the start (``init`` "umap", or "auto", which scores UMAP's start)."""
        return self.init in ("umap", AUTO)

    def _umap_reason(self) -> str:
        return f"init={self.init!r}"

    def _umap_escape(self) -> str:
        return ""

    def _record_start(self, init) -> None:
        """Where the start came from (``start_source_``: an ``init`` value, or ``"init_labels"``), each candidate's
        normalized cut when ``init="auto"`` compared two (``start_cuts_``; :func:`dggbook.model.start.choose_start`),
        and, in ``auto_settings_``, what ``init`` and ``handover_epochs`` meant when they were ``"auto"``."""
        self.start_source_, self.start_cuts_ = init.start_source, dict(init.start_cuts)
        if self.init == AUTO:
            self.auto_settings_["init"] = init.start_source
        if self.handover_epochs == AUTO:
            self.auto_settings_["handover_epochs"] = int(init.handover_epochs)

    # --------------------------------------------------------------- validation
    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        """scikit-learn's ``validate_data`` (2-D, finite, dense, real; n_features_in_, feature_names_in_),
        then the likelihood's own requirement: x in [0, 1] for the Bernoulli one."""
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = validate_data(self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=2 if reset else 1)
        if (self.likelihood if reset else getattr(self, "likelihood_", self.likelihood)) == "bernoulli":
            check_unit_interval("X", X)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _check_params_against_data(self, n_samples: int) -> None:
        """The checks ``_parameter_constraints`` cannot express: layer sizes, and those that need the data size."""
        self.pretrain_settings(), self.train_settings()  # layer sizes (and everything else in the records)
        if self.n_clusters > n_samples:
            raise ValueError(f"n_clusters={self.n_clusters} exceeds the number of samples ({n_samples}).")
        fewest = self.umap_components + 2  # UMAP's spectral layout needs more rows than umap_components + 1
        if self._runs_umap() and n_samples < fewest:
            raise ValueError(f"X has {n_samples} rows, and UMAP ({self._umap_reason()}) needs at least umap_components "
                             f"+ 2 = {fewest}. Pass init='input'{self._umap_escape()}, or a smaller umap_components.")
        pick_device(self.device)  # device="cuda" without CUDA fails here, before any work

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, init_labels=None):
        """Pretrain and train. ``y`` is only used to log ACC/NMI per epoch.

        ``init_labels`` (one label in 0..n_clusters-1 per sample) replaces the starting
        partition of ``init``: a diagnostic, e.g. ``init_labels=y`` asks whether the
        training keeps a correct partition (README, "Measured results").

        Then the label-free checks of :meth:`_fit_findings`: each finding (an empty cluster, collapsed
        posteriors, an objective that fell) is raised as a ``ConvergenceWarning`` and kept in
        ``fit_warnings_``; the model returned is the last epoch's either way.
        """
        started = time.perf_counter()
        X = self._check_X(X, reset=True)
        self._check_params_against_data(X.shape[0])
        if y is not None:
            y = np.asarray(y)
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"y has {y.shape[0]} labels for {X.shape[0]} samples; y only labels the "
                                 "per-epoch ACC/NMI monitor, so pass the labels of X or None.")
        init_labels = check_init_labels(init_labels, X.shape[0], self.n_clusters)
        self.device_ = pick_device(self.device)
        self.seed_ = resolve_seed(self.random_state)
        with fit_runtime(self.n_threads), torch_seeded(self.seed_, self.device_):
            Xt = to_device(X, self.device_)  # the one copy of X on the device that every stage uses
            posterior = self._fit(X, Xt, y, init_labels)
            self.n_iter_ = len(self.history_)
            self.lower_bound_ = self._mean_elbo(self.networks_, Xt,
                                                self._score_prior())
        self.fit_warnings_ = self._fit_findings(posterior)
        for message in self.fit_warnings_:
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _fit(self, X: np.ndarray, Xt: torch.Tensor, y, init_labels) -> np.ndarray:
        """Train on X (numpy, on the host) and Xt (the same rows on the device); set the fitted attributes (``labels_``, ``history_``, ``start_lower_bound_``, ...) and
        return q(c|x) of the training rows, shape (N, K) (the pass ``labels_`` was taken from)."""
        raise NotImplementedError

    # ------------------------------------------------------ never silently worse
    def _fit_findings(self, posterior: np.ndarray) -> list[str]:
        """What went wrong in this fit, read without labels from q(c|x) of the training rows (``posterior``),
        ``labels_``, ``history_`` and the ELBO at the start and end; one message per finding, each naming
        what to try. Thresholds: :data:`UNIFORM_POSTERIOR_MARGIN`, :data:`DOMINANT_CLUSTER_SHARE`,
        :data:`EPOCH_OBJECTIVE_TOLERANCE`, :data:`START_ELBO_TOLERANCE`."""
        name, K, N = type(self).__name__, self.n_clusters, posterior.shape[0]
        retry = ("Try another random_state or init, fewer n_clusters, or smaller networks (latent_dim, "
                 "hidden_dims) for data with few features; compare runs without labels by score(X).")
        findings = []
        counts = np.bincount(self.labels_, minlength=K)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            findings.append(f"{name} left {empty.size} of {K} clusters empty (k = {', '.join(map(str, empty))}): "
                            f"no training sample has its largest q(c=k|x) there, so labels_ holds "
                            f"{K - empty.size} distinct labels. {retry}")
        confidence = float(posterior.max(axis=1).mean())
        line = 1.0 / K + UNIFORM_POSTERIOR_MARGIN * (1.0 - 1.0 / K)
        if K > 1 and confidence < line:
            findings.append(f"{name}'s cluster posteriors collapsed: the mean over samples of max_k q(c=k|x) is "
                            f"{confidence:.3f}, below {line:.3f} (1/K = {1 / K:.3f} means every sample is equally "
                            f"likely in every cluster). {retry}")
        share = counts.max() / N
        if K > 1 and share > DOMINANT_CLUSTER_SHARE:
            findings.append(f"{name} put {share:.1%} of the samples in one cluster (k = {int(counts.argmax())}; "
                            f"more than {DOMINANT_CLUSTER_SHARE:.0%}): the clustering collapsed. {retry}")
        where = "the model it returns is the last epoch's"
        losses = [record["loss"] for record in self.history_]
        if len(losses) >= 2 and -losses[-1] < -losses[0] - EPOCH_OBJECTIVE_TOLERANCE * max(1.0, abs(losses[0])):
            findings.append(f"{name}'s training objective fell: the last epoch's is {-losses[-1]:.4g}, the first "
                            f"epoch's {-losses[0]:.4g} ({where}). Try a lower lr or fewer epochs.")
        start = self.start_lower_bound_
        if self._MAXIMISES_LOWER_BOUND and self.lower_bound_ < start - START_ELBO_TOLERANCE * max(1.0, abs(start)):
            findings.append(f"{name}'s mean ELBO on the training data fell below its start: {self.lower_bound_:.4g} "
                            f"after training, {start:.4g} before (lower_bound_, start_lower_bound_; {where}). "
                            "Try a lower lr or fewer epochs, or keep the start (epochs=0).")
        return findings

    # -------------------------------------------------------------------- score
    def _score_prior(self) -> torch.Tensor:
        """The cluster prior p(c), shape (K,), that :meth:`score` scores a new row under."""
        raise NotImplementedError

    def _elbo_rows(self, networks, X: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """The ELBO (4) of each row of X with z = mu~(x) and the prior ``prior`` (K,), shape (N,)."""
        raise NotImplementedError

    @torch.no_grad()
    def _mean_elbo(self, networks, X: torch.Tensor, prior: torch.Tensor) -> float:
        """The mean over the rows of X of :meth:`_elbo_rows`, on a float64 copy of ``networks`` (as
        ``predict_proba``: a row's ELBO does not depend on the rows passed with it), summed in float64."""
        twin = float64_copy(networks)
        prior = prior.to(X.device, torch.float64)
        return float(map_in_batches(lambda x: self._elbo_rows(twin, x, prior), X.double()).mean())

    def score(self, X, y=None) -> float:
        """The mean per-sample ELBO (4) of X under the fitted model, in nats per sample (higher is better), as
        ``GaussianMixture.score`` gives its mean log-likelihood: a lower bound on the mean ln p(x), to choose
        between runs without labels. Deterministic: z = mu~(x), no sampling (the reconstruction term at the
        latent mean). Each estimator's docstring says which q(c|x) and p(c) it uses. ``y`` is ignored."""
        X = self._tensor(X)
        with torch_threads(self.n_threads):
            return self._mean_elbo(self.networks_, X, self._score_prior())

    def _posterior(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # ---------------------------------------------------------------- predict
    def _tensor(self, X) -> torch.Tensor:
        """X checked against the fit, as a float32 tensor on the model's device."""
        check_is_fitted(self, "networks_")
        return torch.as_tensor(self._check_X(X, reset=False), device=self.networks_.device)

    @torch.no_grad()
    def _rowwise_posterior(self, X: torch.Tensor) -> torch.Tensor:
        """q(c | x) for the float32 rows X, evaluated on a float64 copy of the networks and rounded to float32
        (:func:`dggbook.model.runtime.float64_copy`): a row's answer does not depend on the rows passed with it,
        their order, or the CPU's kernels. :meth:`predict_proba` returns it; ``fit`` takes ``labels_`` from it."""
        twin = copy.copy(self)  # shallow: this estimator keeps its float32 networks
        twin.networks_ = float64_copy(self.networks_)
        return twin._posterior(X.double()).float()

    def predict_proba(self, X) -> np.ndarray:
        """q(c | x), shape (N, K), float32; rows sum to one. Each row's value is its own: see ``_rowwise_posterior``."""
        X = self._tensor(X)
        with torch_threads(self.n_threads):
            return self._rowwise_posterior(X).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Cluster labels argmax_k q(c = k | x)."""
        return self.predict_proba(X).argmax(axis=1)

    def fit_predict(self, X, y=None, *, init_labels=None) -> np.ndarray:
        """``fit(X, y, init_labels=init_labels)`` then the labels of X."""
        return self.fit(X, y, init_labels=init_labels).labels_

    def transform(self, X) -> np.ndarray:
        """Latent means mu~(x), shape (N, latent_dim), float32; like :meth:`predict_proba`, from a float64
        pass rounded to float32, so a row's value does not depend on the rows around it."""
        X = self._tensor(X)
        with torch.no_grad(), torch_threads(self.n_threads):
            encoder = float64_copy(self.networks_.encoder)
            return map_in_batches(lambda x: encoder(x)[0], X.double()).float().cpu().numpy()

    @property
    def _n_features_out(self) -> int:
        """``transform`` returns ``latent_dim_`` columns, named <class>0, <class>1, ... by get_feature_names_out."""
        check_is_fitted(self, "networks_")
        return self.latent_dim_

    # ------------------------------------------------------------- save / load
    def _save_extra(self) -> dict:
        return {}

    def _load_extra(self, state: dict) -> None:
        pass

    def save(self, path) -> Path:
        """Write parameters and every fitted attribute to ``path`` (a ``torch.save`` file of CPU tensors and
        plain containers, which :meth:`load` reads with ``weights_only=True``).

        ``cache_dir`` is saved as a string; a ``RandomState`` ``random_state`` as the int ``seed_`` drawn
        from it, so refitting the loaded estimator repeats this fit."""
        check_is_fitted(self, "networks_")
        params = self.get_params()
        if isinstance(params["cache_dir"], os.PathLike):
            params["cache_dir"] = os.fspath(params["cache_dir"])
        if params["random_state"] is not None and not isinstance(params["random_state"], Integral):
            params["random_state"] = self.seed_
        state = {
            "version": SAVE_VERSION,
            "estimator": type(self).__name__,
            "params": _plain(params),
            "networks": {k: v.cpu() for k, v in self.networks_.state_dict().items()},
            "fitted": _plain({name: getattr(self, name) for name in self.FITTED}),
            "feature_names_in": _plain(getattr(self, "feature_names_in_", None)),
            **self._save_extra(),
        }
        return save_atomic(state, Path(path))

    @classmethod
    def load(cls, path, *, device: str | None = None):
        """Rebuild a fitted estimator saved by :meth:`save` (on ``device``, default its own).

        The file is read with ``weights_only=True`` (tensors and plain containers: no code runs) onto the
        CPU, so a model fitted on CUDA loads on a machine without it: with ``device=None`` and no CUDA,
        it is placed on the CPU, with a warning.
        """
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if state.get("version") == SAVE_VERSION and state.get("estimator") not in (None, cls.__name__):
            raise ValueError(f"{path} is not a {cls.__name__} file: it holds a {state['estimator']}; load it with "
                             f"{state['estimator']}.load.")
        if state.get("version") != SAVE_VERSION or state.get("estimator") != cls.__name__:
            raise ValueError(f"{path} is not a {cls.__name__} file of version {SAVE_VERSION}; "
                             "refit and save it again.")
        est = cls(**state["params"])
        if device is not None:
            est.device = device
        elif str(est.device).startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(f"{path} was fitted with device={est.device!r}, but CUDA is not available here; "
                          "loading it on the CPU (pass device=... to choose).", stacklevel=2)
            est.device = "cpu"
        est.device_ = pick_device(est.device)
        fitted = _numpy(state["fitted"])
        sizes = {"latent_dim": fitted["latent_dim_"], "hidden_dims": tuple(fitted["hidden_dims_"])}
        networks = build_networks(fitted["n_features_in_"], est.n_clusters,
                                  dataclasses.replace(est.pretrain_settings(), **sizes))
        networks.load_state_dict(state["networks"])
        est.networks_ = networks.to(est.device_).eval()
        for name, value in fitted.items():
            setattr(est, name, value)
        if state["feature_names_in"] is not None:
            est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        est._load_extra(state)
        return est
