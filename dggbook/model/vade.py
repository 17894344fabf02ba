"""VaDE (Jiang et al., IJCAI 2017) as published: the baseline DGG extends, on DGG's networks and pretraining.

VaDE maximises the ELBO (4) of one sample with three differences from DGG:

- one prior pi over the clusters for all samples, learnt (here as ``softmax(pi_logits)``),
  instead of a per-sample pi_i set by eq. (31);
- gamma = q(c|x) is the Bayes posterior of the GMM at the sampled z,
  gamma_k ∝ pi_k N(z; mu_k, sigma_k^2), instead of a classifier f2;
- no graph: every sample is scored under its own posterior only.

The terms are those of :func:`dggbook.derivation.elbo.elbo_terms`, the function
Algorithm 1 uses, so the two methods differ only where the papers differ.
Predictions use the Bayes posterior at z = mu~(x).

``DGG(use_graph=False)`` is something else: "DGG without graph" keeps f2 and the
per-sample pi_i, and with N(i) = {i}, eq. (31) gives pi_i = gamma_i, so term 3
of (4) is about 0 and no cluster prior is left.
"""
from __future__ import annotations

import time
from numbers import Integral
from types import SimpleNamespace

import numpy as np
import torch

from ..derivation.elbo import ElboTerms, elbo_terms
from ..derivation.gaussian import log_normal_diag
from ..environment import DEFAULT_TORCH_THREADS
from .cache import resolve_cache_dir
from .base import RUN_CONSTRAINTS, DeepClusterer
from .likelihoods import reconstruction_log_likelihood
from .metrics import clustering_scores
from .networks import DGGNetworks, reparameterize
from .algorithm1 import resolve_for_data
from .pretrain import pretrain, stage_seeds
from .runtime import map_in_batches, progress, run_epochs
from .settings import PretrainSettings, TrainSettings, constraints_of

__all__ = ["VaDE", "bayes_posterior", "vade_elbo", "vade_loss", "train_vade"]

_PRE, _TRAIN = PretrainSettings, TrainSettings  # the defaults of their fields are the estimator's defaults
_VADE_PRETRAIN = ("likelihood", "noise_var", "latent_dim", "hidden_dims", "layerwise_epochs", "autoencoder_epochs",
                  "vae_epochs", "pretrain_batch_size", "pretrain_lr", "corruption", "init", "start_n_init",
                  "umap_components", "umap_neighbors", "gmm_variance", "handover_epochs", "handover_lr")
_VADE_TRAIN = ("epochs", "batch_size", "lr", "weight_decay", "lr_decay", "lr_decay_every")


def bayes_posterior(z: torch.Tensor, log_pi: torch.Tensor, networks: DGGNetworks) -> torch.Tensor:
    """gamma_k = pi_k N(z; mu_k, sigma_k^2) / sum_l pi_l N(z; mu_l, sigma_l^2), shape (B, K) (VaDE eq. (16))."""
    log_joint = log_pi + log_normal_diag(z[:, None, :], networks.gmm.means, networks.gmm.logvars, validate=False)
    return torch.softmax(log_joint, dim=1)


def vade_elbo(networks: DGGNetworks, pi_logits: torch.Tensor, x: torch.Tensor, settings, *,
              sample: bool = True) -> ElboTerms:
    """The terms of the ELBO (4) of each row of a batch with the global pi = softmax(pi_logits) and the Bayes
    posterior at z (VaDE eq. (17)): z drawn from q(z|x) (training), or z = mu~ with ``sample=False``
    (deterministic; :meth:`VaDE.score`). ``settings`` gives ``likelihood`` and ``noise_var``."""
    mu, logvar = networks.encoder(x)
    z = reparameterize(mu, logvar) if sample else mu
    log_pi = torch.log_softmax(pi_logits, dim=0)
    # Floored at the smallest normal float: a posterior that underflows to exactly 0 would give
    # gamma ln gamma the gradient ln 0 + 1 = -inf, times 0, = NaN in term 4. The floor moves gamma by K * 1e-38.
    gamma = bayes_posterior(z, log_pi, networks).clamp_min(torch.finfo(z.dtype).tiny)
    recon = reconstruction_log_likelihood(settings.likelihood, x, networks.decoder(z), settings.noise_var)
    pi = log_pi.exp().expand_as(gamma)
    return elbo_terms(recon, mu, logvar, gamma, pi, networks.gmm.means, networks.gmm.logvars, validate=False)


def vade_loss(networks: DGGNetworks, pi_logits: torch.Tensor, x: torch.Tensor, settings: TrainSettings):
    """Minus the mean ELBO (4) of a batch with the global pi and the Bayes posterior (VaDE eq. (17)):
    :func:`vade_elbo` with a sampled z."""
    return -vade_elbo(networks, pi_logits, x, settings).total.mean()


@torch.no_grad()
def mean_posterior(networks: DGGNetworks, pi_logits: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """The Bayes posterior at z = mu~(x) for every row of X: VaDE's prediction."""
    log_pi = torch.log_softmax(pi_logits, dim=0)
    return map_in_batches(lambda x: bayes_posterior(networks.encoder(x)[0], log_pi, networks), X)


def train_vade(networks: DGGNetworks, pi_logits: torch.Tensor, X: torch.Tensor, settings: TrainSettings, *, y=None,
               verbose: bool = False) -> list[dict]:
    """Adam on f1, g, {mu_k, sigma_k} (weight decay) and pi (none); lr x lr_decay every lr_decay_every epochs.

    Returns one record per epoch: loss, lr, seconds, and ACC/NMI when ``y`` is given (monitoring only).
    """
    settings = resolve_for_data(settings, networks, X)  # every "auto", for this data
    groups = [{"params": [p for name, p in networks.named_parameters() if not name.startswith("classifier.")]},
              {"params": [pi_logits], "weight_decay": 0.0}]
    optimizer = torch.optim.Adam(groups, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_decay_every, gamma=settings.lr_decay)
    history = []
    for epoch in progress(range(settings.epochs), desc="VaDE", verbose=verbose):
        started, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
        networks.train()
        loss, = run_epochs("VaDE", optimizer, lambda idx: vade_loss(networks, pi_logits, X[idx], settings),
                           X.shape[0], settings.batch_size, 1, device=X.device, scheduler=scheduler)
        record = {"epoch": epoch + 1, "lr": lr, "loss": loss}
        if y is not None:
            networks.eval()
            labels = mean_posterior(networks, pi_logits, X).argmax(dim=1).cpu().numpy()
            scores = clustering_scores(y, labels)
            record.update(acc=float(scores["acc"]), nmi=float(scores["nmi"]))
        record["seconds"] = time.perf_counter() - started
        history.append(record)
    networks.eval()
    return history


class VaDE(DeepClusterer):
    """Variational deep embedding (Jiang et al., 2017) with DGG's networks, pretraining and estimator API.

    Parameters: those of :class:`dggbook.DGG` that VaDE has, with the same names and
    defaults (:mod:`dggbook.model.settings`): the likelihood, the networks, pretraining
    and its starting partition (``init``), and the training (``epochs``, ``batch_size``,
    ``lr``, ``weight_decay``, ``lr_decay``, ``lr_decay_every``); plus ``device``,
    ``n_threads``, ``random_state``, ``cache_dir``, ``dataset_name``, ``verbose``.

    Fitted attributes (all restored by :meth:`load`)
        networks_, pi_ (K,) the learnt prior, history_ (per-epoch dicts), labels_, likelihood_, noise_var_,
        latent_dim_, hidden_dims_ (what the model was fitted with, every "auto" resolved),
        start_labels_ (the starting partition), start_source_ and start_cuts_ (where it came from, as in DGG),
        start_agreement_ (share of samples whose
        Bayes posterior at mu~ agreed with it before training), n_features_in_,
        feature_names_in_ (DataFrames), fit_seconds_, stage_seconds_ ({"pretrain", "vade"}),
        pretrain_from_cache_, auto_settings_ ({parameter: value} for each parameter that was "auto"),
        seed_ (the int seed every stage's seed was spawned from; ``random_state`` as scikit-learn takes it),
        n_iter_ (its training epochs, ``len(history_)``), lower_bound_ and start_lower_bound_ (the mean ELBO
        of the training data after and before training, as :meth:`score` computes it), fit_warnings_ (the
        label-free findings of this fit, each also raised as a ``ConvergenceWarning``: an empty cluster,
        collapsed posteriors, an objective that fell). ``fit`` returns the last epoch's model.

    ``score(X)`` is the mean over rows of VaDE's own ELBO (4) (higher is better): z = mu~(x) (no sampling),
    its Bayes posterior q(c|z) and its learnt global prior ``pi_`` (:func:`vade_elbo`).
    """

    _parameter_constraints: dict = {
        **RUN_CONSTRAINTS,
        **{k: v for k, v in constraints_of(PretrainSettings).items() if k in _VADE_PRETRAIN},
        **{k: v for k, v in constraints_of(TrainSettings).items() if k in _VADE_TRAIN},
    }
    _FIXED_SETTINGS = {"classifier_epochs": 0, "n_neighbor_samples": None}  # VaDE has no f2 and no graph

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        likelihood: str = _PRE.likelihood,
        noise_var: float = _PRE.noise_var,
        latent_dim: int = _PRE.latent_dim,
        hidden_dims=_PRE.hidden_dims,
        layerwise_epochs: int | str = _PRE.layerwise_epochs,
        autoencoder_epochs: int | str = _PRE.autoencoder_epochs,
        vae_epochs: int | str = _PRE.vae_epochs,
        pretrain_batch_size: int = _PRE.pretrain_batch_size,
        pretrain_lr: float = _PRE.pretrain_lr,
        corruption: float = _PRE.corruption,
        init: str = _PRE.init,
        start_n_init: int = _PRE.start_n_init,
        umap_components: int = _PRE.umap_components,
        umap_neighbors: int = _PRE.umap_neighbors,
        gmm_variance: str = _PRE.gmm_variance,
        handover_epochs: int | str = _PRE.handover_epochs,
        handover_lr: float = _PRE.handover_lr,
        epochs: int | str = _TRAIN.epochs,
        batch_size: int = _TRAIN.batch_size,
        lr: float = _TRAIN.lr,
        weight_decay: float = _TRAIN.weight_decay,
        lr_decay: float = _TRAIN.lr_decay,
        lr_decay_every: int = _TRAIN.lr_decay_every,
        device: str = "auto",
        n_threads: int | None = DEFAULT_TORCH_THREADS,
        random_state=None,
        cache_dir=None,
        dataset_name: str = "",
        verbose: bool = False,
    ):
        self.n_clusters = n_clusters
        self.likelihood = likelihood
        self.noise_var = noise_var
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.layerwise_epochs = layerwise_epochs
        self.autoencoder_epochs = autoencoder_epochs
        self.vae_epochs = vae_epochs
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_lr = pretrain_lr
        self.corruption = corruption
        self.init = init
        self.start_n_init = start_n_init
        self.umap_components = umap_components
        self.umap_neighbors = umap_neighbors
        self.gmm_variance = gmm_variance
        self.handover_epochs = handover_epochs
        self.handover_lr = handover_lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.dataset_name = dataset_name
        self.verbose = verbose

    FITTED = ("pi_", "history_", "labels_", "start_labels_", "start_agreement_", "n_features_in_", "fit_seconds_",
              "stage_seconds_", "pretrain_from_cache_", "auto_settings_", "seed_", "n_iter_", "fit_warnings_",
              "lower_bound_", "start_lower_bound_", "likelihood_", "noise_var_", "latent_dim_", "hidden_dims_",
              "start_source_", "start_cuts_")

    def _fit(self, X: np.ndarray, Xt: torch.Tensor, y, init_labels) -> np.ndarray:
        folder = resolve_cache_dir(self.cache_dir) if isinstance(self.random_state, Integral) else None
        pretrain_settings, train_settings = self._resolve_and_record_settings(X)
        started = time.perf_counter()
        init = pretrain(X, self.n_clusters, pretrain_settings, random_state=self.seed_, device=self.device_,
                        dataset_name=self.dataset_name, cache_dir=folder, init_labels=init_labels,
                        verbose=self.verbose, X_device=Xt)
        stage_seconds = {"pretrain": time.perf_counter() - started}
        networks = init.networks
        train_settings = self._record_noise_var(init.noise_var, train_settings)
        self._record_start(init)
        counts = np.bincount(init.start_labels, minlength=self.n_clusters) + 1.0  # +1: no empty cluster at -inf
        pi_logits = torch.log(torch.as_tensor(counts / counts.sum(), dtype=torch.float32, device=self.device_))
        pi_logits.requires_grad_(True)
        self.start_agreement_ = float((mean_posterior(networks.eval(), pi_logits, Xt).argmax(dim=1).cpu().numpy()
                                       == init.start_labels).mean())
        self.start_lower_bound_ = self._mean_elbo(networks, Xt, torch.softmax(pi_logits.detach(), dim=0))
        torch.manual_seed(stage_seeds(self.seed_)["train"])  # the generator fit forked, not the caller's
        started = time.perf_counter()
        self.history_ = train_vade(networks, pi_logits, Xt, train_settings, y=y, verbose=self.verbose)
        stage_seconds["vade"] = time.perf_counter() - started

        self.networks_ = networks.eval()
        self.pi_ = torch.softmax(pi_logits.detach(), dim=0).cpu().numpy()
        self.start_labels_ = init.start_labels
        self.pretrain_from_cache_ = init.from_cache
        posterior = self._rowwise_posterior(Xt)
        self.labels_ = posterior.argmax(dim=1).cpu().numpy()  # what predict(X) gives
        self.stage_seconds_ = stage_seconds
        return posterior.cpu().numpy()

    def _posterior(self, X: torch.Tensor) -> torch.Tensor:
        """gamma_k ∝ pi_k N(mu~(x); mu_k, sigma_k^2): VaDE's cluster posterior at the latent mean."""
        log_pi = torch.log(torch.as_tensor(self.pi_, device=X.device))  # log pi works as logits: softmax(log pi) = pi
        return mean_posterior(self.networks_, log_pi, X)

    def _score_prior(self) -> torch.Tensor:
        """VaDE's learnt global prior pi_."""
        return torch.as_tensor(self.pi_, dtype=torch.float64)

    def _elbo_rows(self, networks, X: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """VaDE's ELBO (4) of every row, :func:`vade_elbo` with z = mu~ (``sample=False``)."""
        observation = SimpleNamespace(likelihood=self.likelihood_, noise_var=self.noise_var_)
        return vade_elbo(networks, torch.log(prior), X, observation, sample=False).total
