"""What DGG and VaDE share as scikit-learn estimators: checks, settings, predict / transform, save / load.

Both are a Gaussian-mixture VAE with the same networks and the same
initialisation (:func:`dggbook.model.pretrain.pretrain`); they differ in how
they train and in their cluster posterior q(c|x). A subclass gives:

- ``_posterior(X)``: q(c|x) for a tensor of rows (f2 for DGG, the GMM's Bayes posterior for VaDE);
- ``_fit(X, y, init_labels)``: the training, which sets the fitted attributes;
- ``FITTED``: the fitted attributes that :meth:`save` writes and :meth:`load` restores,
  and ``_save_extra`` / ``_load_extra`` for anything that is not a plain value.

Every parameter is checked (``_parameter_constraints``) before any work
starts; ``fit`` leaves the caller's random generators as they were (torch's is
forked and seeded locally; numpy's and Python's are not used).
"""
from __future__ import annotations

import dataclasses
import os
import time
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..environment import torch_seeded, torch_threads
from ..validation import check_unit_interval
from .cache import save_atomic
from .pretrain import build_networks, check_init_labels
from .runtime import DEVICES, map_in_batches, pick_device
from .settings import POSITIVE_INT, PretrainSettings, TrainSettings

__all__ = ["DeepClusterer", "RUN_CONSTRAINTS", "SAVE_VERSION"]

SAVE_VERSION = 5  # 3: parameter names of dggbook.model.settings; 4: start_labels_, the estimator's class name;
# 5: auto_settings_

RUN_CONSTRAINTS = {  # how to run, not what to compute
    "n_clusters": [POSITIVE_INT],
    "device": [StrOptions(set(DEVICES))],
    "n_threads": [None, POSITIVE_INT],
    "random_state": [None, Interval(Integral, 0, 2**32 - 1, closed="both")],
    "cache_dir": [None, "boolean", str, os.PathLike],
    "dataset_name": [str],
    "verbose": ["boolean"],
}


class DeepClusterer(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """The shared part of :class:`dggbook.DGG` and :class:`dggbook.VaDE` (not used on its own)."""

    FITTED: tuple = ()
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

    def _resolve_and_record_settings(self, n_samples: int) -> tuple[PretrainSettings, TrainSettings]:
        """Both records with each ``"auto"`` replaced for ``n_samples`` rows on ``device_``
        (:meth:`dggbook.model.settings.ModelSettings.resolved`); the choices go to ``auto_settings_``."""
        records = self.pretrain_settings(), self.train_settings()
        self.auto_settings_ = {k: v for r in records for k, v in r.auto_values(n_samples, self.device_).items()}
        return tuple(r.resolved(n_samples, self.device_) for r in records)

    # --------------------------------------------------------------- validation
    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        """scikit-learn's ``validate_data`` (2-D, finite, dense, real; n_features_in_, feature_names_in_),
        then the likelihood's own requirement: x in [0, 1] for the Bernoulli one."""
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = validate_data(self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=2 if reset else 1)
        if self.likelihood == "bernoulli":
            check_unit_interval("X", X)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _check_params_against_data(self, n_samples: int) -> None:
        """The checks ``_parameter_constraints`` cannot express: layer sizes, and those that need the data size."""
        self.pretrain_settings(), self.train_settings()  # layer sizes (and everything else in the records)
        if self.n_clusters > n_samples:
            raise ValueError(f"n_clusters={self.n_clusters} exceeds the number of samples ({n_samples}).")
        pick_device(self.device)  # device="cuda" without CUDA fails here, before any work

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, init_labels=None):
        """Pretrain and train. ``y`` is only used to log ACC/NMI per epoch.

        ``init_labels`` (one label in 0..n_clusters-1 per sample) replaces the starting
        partition of ``init``: a diagnostic, e.g. ``init_labels=y`` asks whether the
        training keeps a correct partition (README, "Measured results").
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
        with torch_threads(self.n_threads), torch_seeded(self.random_state, self.device_):
            self._fit(X, y, init_labels)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _fit(self, X: np.ndarray, y, init_labels) -> None:
        raise NotImplementedError

    def _posterior(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # ---------------------------------------------------------------- predict
    def _tensor(self, X) -> torch.Tensor:
        check_is_fitted(self, "networks_")
        return torch.as_tensor(self._check_X(X, reset=False), device=self.networks_.device)

    def predict_proba(self, X) -> np.ndarray:
        """q(c | x), shape (N, K); rows sum to one."""
        X = self._tensor(X)
        with torch.no_grad(), torch_threads(self.n_threads):
            return self._posterior(X).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Cluster labels argmax_k q(c = k | x)."""
        return self.predict_proba(X).argmax(axis=1)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """``fit(X, y)`` then the labels of X."""
        return self.fit(X, y).labels_

    def transform(self, X) -> np.ndarray:
        """Latent means mu~(x), shape (N, latent_dim)."""
        X = self._tensor(X)
        with torch.no_grad(), torch_threads(self.n_threads):
            return map_in_batches(lambda x: self.networks_.encoder(x)[0], X).cpu().numpy()

    @property
    def _n_features_out(self) -> int:
        """``transform`` returns latent_dim columns, named <class>0, <class>1, ... by get_feature_names_out."""
        check_is_fitted(self, "networks_")
        return self.latent_dim

    # ------------------------------------------------------------- save / load
    def _save_extra(self) -> dict:
        return {}

    def _load_extra(self, state: dict) -> None:
        pass

    def save(self, path) -> Path:
        """Write parameters and every fitted attribute to ``path`` (a ``torch.save`` file)."""
        check_is_fitted(self, "networks_")
        state = {
            "version": SAVE_VERSION,
            "estimator": type(self).__name__,
            "params": self.get_params(),
            "networks": {k: v.cpu() for k, v in self.networks_.state_dict().items()},
            "fitted": {name: getattr(self, name) for name in self.FITTED},
            "feature_names_in": getattr(self, "feature_names_in_", None),
            **self._save_extra(),
        }
        return save_atomic(state, Path(path))

    @classmethod
    def load(cls, path, *, device: str | None = None):
        """Rebuild a fitted estimator saved by :meth:`save` (on ``device``, default its own)."""
        state = torch.load(Path(path), map_location="cpu", weights_only=False)
        if state.get("version") != SAVE_VERSION or state.get("estimator") != cls.__name__:
            raise ValueError(f"{path} is not a {cls.__name__} file of version {SAVE_VERSION}; "
                             "refit and save it again.")
        est = cls(**state["params"])
        if device is not None:
            est.device = device
        est.device_ = pick_device(est.device)
        fitted = state["fitted"]
        networks = build_networks(fitted["n_features_in_"], est.n_clusters, est.pretrain_settings())
        networks.load_state_dict(state["networks"])
        est.networks_ = networks.to(est.device_).eval()
        for name, value in fitted.items():
            setattr(est, name, value)
        if state["feature_names_in"] is not None:
            est.feature_names_in_ = state["feature_names_in"]
        est._load_extra(state)
        return est
