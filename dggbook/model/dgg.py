"""``DGG``: the whole method behind a scikit-learn estimator (fit / predict / transform).

``fit`` runs, in order (notebooks 06–07):

1. :func:`dggbook.model.pretrain.pretrain` - SDAE, VAE fine-tuning, the starting partition
   (``init``: UMAP of mu~ then a GMM, a GMM on mu~ or on the input, or k-means on mu~ as in the paper;
   by default the UMAP start or, for few features, the input's mixture when the input's neighbour graph
   cuts it less) -> GMM prior, f2 on its labels (and a hand-over for a start from the input);
2. the graph: J neighbours (``graph_space``) in UMAP of mu~, in mu~, or in raw space or
   its Siamese embedding (eq. (19)) as in the paper (by default the space the start was found in), :func:`dggbook.model.graph.build_graph`; ``use_graph=False`` swaps in
   :func:`dggbook.model.graph.self_graph`, "DGG without graph" (not VaDE: :class:`dggbook.model.vade.VaDE`);
3. Algorithm 1, :func:`dggbook.model.algorithm1.train_dgg`.

With ``cache_dir`` set (opt-in; ``True`` means ``$DGGBOOK_CACHE`` or
``build/cache/``) and ``random_state`` an int, pretrained weights, the Siamese
embedding and per-epoch checkpoints are cached, so re-running a notebook cell
skips finished work and an interrupted fit resumes from its last epoch.

With a UMAP start and ``graph_space="umap"`` (or ``"auto"``, the default), UMAP runs once: the graph
is searched in the embedding the start was found in (:attr:`PretrainResult.umap_embedding`).
A start from the input (``init="input"``, or ``"auto"`` choosing it) gets, under ``graph_space="auto"``,
a graph of the input: on iris, 10 seeds, DGG then keeps its start (0.969 against 0.967), where a graph in
UMAP space pulled four seeds 0.02-0.15 towards the UMAP partition (0.943; README, "Training that keeps its
start").

Checks, settings, predict / transform and save / load are shared with
:class:`dggbook.model.vade.VaDE` (:class:`dggbook.model.base.DeepClusterer`).
"""
from __future__ import annotations

import time
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions

from ..environment import DEFAULT_TORCH_THREADS
from .algorithm1 import cluster_posterior, elbo_of_pairs, initial_pi, train_dgg
from .cache import cache_file, cache_key, data_fingerprint, load_cached, resolve_cache_dir, save_atomic
from .base import RUN_CONSTRAINTS, DeepClusterer
from .graph import SELECTIONS, WEIGHTINGS, NeighborGraph, build_graph, self_graph
from .networks import DGGNetworks
from .pretrain import PretrainResult, latent_means, pretrain, stage_seeds
from .settings import AUTO, COUNT, POSITIVE_INT, PretrainSettings, TrainSettings, constraints_of
from .siamese import SiameseNet, embed, train_siamese
from .start import umap_embedding

__all__ = ["DGG"]

FIT_CACHE_VERSION = "dgg-fit-v2"  # bump when Algorithm 1's code changes, so old checkpoints are not resumed
SIAMESE_CACHE_VERSION = "siamese-v2"  # v2: spawned stage seeds, plain-tensor files
GRAPH_SPACES = ("input", "latent", "umap", "auto")  # where the J neighbours are searched: see DGG's docstring
LOCAL_SCALE_K = 7  # s_i of weights="local_scaling": the distance to the 7th neighbour (clipped to N - 1)


_PRE, _TRAIN = PretrainSettings, TrainSettings  # the defaults of their fields are the estimator's defaults


class DGG(DeepClusterer):
    """Deep clustering by Gaussian-mixture VAEs with graph embedding (Yang et al., ICCV 2019).

    Parameters (every one is stored as given; :func:`dggbook.model.presets.settings_for` gives presets,
    :func:`dggbook.model.presets.paper_settings` the paper's). Those of pretraining and Algorithm 1
    are the fields of :class:`PretrainSettings` and :class:`TrainSettings` (:mod:`dggbook.model.settings`),
    with the same names and defaults.

    The defaults are those measured to work on a CPU (README, "Measured results" and "Training that
    keeps its start"): f2 with one hidden layer of 128, the nearest J = 20 neighbours with local-scaling
    weights, lr 5e-4, and ``"auto"`` for the start (UMAP's, or on data of a few features the input's own
    mixture when the graph of X cuts it less), the graph's space (the start's), the hand-over, the
    likelihood, the network sizes, the epochs and S, which ``fit`` chooses from the data and the device (``auto_settings_`` records what
    it chose; :mod:`dggbook.model.settings`). ``DGG(10).fit(X)`` on 3,000 MNIST images takes a few minutes
    on one CPU core; on iris, seconds.

        n_clusters: K.
        likelihood, noise_var: p(x|z), "bernoulli" (x in [0, 1]) or "gaussian" N(g(z), σ_x² I), σ_x² = noise_var.
            "auto" (default): Bernoulli when every value of X lies in [0, 1], else a Gaussian whose σ_x² is the
            autoencoder's mean squared reconstruction error (``likelihood_``, ``noise_var_``).
        f2_input: "mean" (f2 sees mu~, public MNIST code) or "sample" (a sample z, the paper).
        latent_dim, hidden_dims, classifier_hidden_dims: network sizes
            (paper: 10, (500, 500, 2000), f2 linear). ``"auto"`` (default) follows the data
            (:func:`dggbook.model.settings.auto_network_sizes`): latent min(10, D), layers (w, w, 4w) with
            w = 4 D in [32, 500], so MNIST gets the paper's sizes and iris 4-32-32-128-4
            (``latent_dim_``, ``hidden_dims_``).
        layerwise_epochs, autoencoder_epochs, vae_epochs, classifier_epochs, pretrain_batch_size,
        pretrain_lr, classifier_lr, corruption, gmm_variance: the initialisation
            (notebook 07; :func:`dggbook.model.pretrain.pretrain`).
        handover_epochs, handover_lr: fit f1, g and the GMM to the start's labels before Algorithm 1
            (:func:`dggbook.model.pretrain.fit_to_start`); "auto" (default): as many epochs as Algorithm 1's
            "auto" when the start came from the input, else 0 (off).
        init, start_n_init, umap_components, umap_neighbors: the starting partition: "umap", "gmm" or
            "kmeans" (the paper) of mu~, "input" (a Gaussian mixture on X), or "auto" (default): the UMAP
            start, or for at most 50 features whichever of it and "input" the neighbour graph of X cuts
            less (:mod:`dggbook.model.start`; ``start_source_`` and ``start_cuts_`` say which and why). The
            graph is Euclidean in X, so scale features of different units first; on standardised iris it keeps
            UMAP's start where the input's mixture is better (README, "Training that keeps its start").
        use_graph: False gives "DGG without graph" (``self_graph``), a baseline that is not VaDE.
        n_neighbors, neighbor_selection, pool_size, weights: the graph (J = 20 "nearest" with
            "local_scaling" weights by default; the public code takes 20 "random_top" of 100 with
            "uniform" weights; "gaussian" uses the median neighbour distance as its width; see
            :func:`dggbook.model.graph.build_graph`). With N samples, J and the pool are clipped to
            N - 1 with a warning (as UMAP does); ``n_neighbors_`` and ``pool_size_`` record what was used.
        use_siamese, siamese_epochs, n_positive: neighbours in a Siamese
            embedding (eq. (19)) instead of raw space.
        graph_space: where the neighbours are searched. "umap": UMAP of the pretrained
            latent means mu~ (``umap_components``, ``umap_neighbors``; with a UMAP start the
            same embedding the start was found in); "latent": mu~ itself; "input": the rows of X
            (or their Siamese embedding), as in the paper; "auto" (default): "input" when the start
            came from the input or ``use_siamese`` is set, else "umap", also for a start found in mu~
            by k-means or a mixture (``graph_space_`` records which). A graph helps only where its purity,
            the share of neighbours in the anchor's class, is high (README, "DGG(10).fit(X): the defaults").
        epochs, batch_size, lr, weight_decay, lr_decay, lr_decay_every: Algorithm 1
            (paper: 300, 100, 2e-3, 1e-4, x0.9 every 10 epochs; default lr 5e-4; ``epochs="auto"``: 20-60 by
            data size).
        n_neighbor_samples: None uses all J neighbours per anchor (J + 1
            passes); S draws S neighbours in proportion to w_ij (unbiased, S + 1 passes);
            "auto" is S = 1 on a CPU and all J on CUDA.
        prior_z_coefficient, elbo_constants, pi_update, batch_weights: train with a departure from
            the derivation instead of the derived step, for the ablation study of the seven questions
            (notebook 08): term 2 of eq. (21) with 1 as printed (default ½), the ln 2pi constants
            dropped (default kept), the blog's or the public code's pi update (default eq. (31)),
            the public code's ``sigma = dist_temp[11]`` weights per batch (default the graph's)
            (:mod:`dggbook.model.departures`).
        step, precision: how Algorithm 1's steps run. ``step="compiled"`` traces each step with torch.compile
            (CUDA graphs on CUDA): the same quantities from the same draws, equal to float rounding, with fewer
            kernel launches (default "eager"). ``precision``: "fp32" (default), "tf32" (TF32 matrix products on
            CUDA) or "bf16" (the networks under bfloat16 autocast, the ELBO in float32); both change the results
            slightly (README, "The GPU path").
        device: "auto", "cpu" or "cuda".
        n_threads: threads while fitting and predicting (default 1, the fastest on a shared
            machine: benchmarks/bench_threads.py): torch's, and while fitting also the BLAS and
            OpenMP pools of k-means and the Gaussian mixtures, and UMAP's numba pool when unseeded;
            None keeps every pool's own setting. The count changes the order of sums, so results too.
        random_state: int for reproducible results (and for caching), a numpy ``RandomState``, or None
            (scikit-learn's meaning); ``seed_`` records the int seed the stages' seeds were spawned from.
        cache_dir: folder for cached weights and checkpoints (str or Path); True = the
            default folder ($DGGBOOK_CACHE or build/cache/); None or False = no cache (default).
        dataset_name: a label that goes into cache file names and keys.
        verbose: progress bars per stage.

    Fitted attributes (all restored by :meth:`load`)
        networks_, pi_ (N, K numpy array), history_ (list of per-epoch dicts), labels_,
        graph_, start_labels_ (the starting partition), start_source_ (where it came from: "umap", "input", ...,
        or "init_labels"), start_cuts_ (init="auto": each candidate's normalized cut), f2_agreement_ (share of samples where
        f2 agreed with it before Algorithm 1), n_features_in_, feature_names_in_ (DataFrames), fit_seconds_,
        stage_seconds_ ({"pretrain", "graph", "dgg"} wall seconds of this call),
        pretrain_from_cache_ (True when the initialisation was loaded from disk),
        resumed_from_epoch_ (epochs a checkpoint already held; 0 for a fresh run),
        auto_settings_ ({parameter: value} for each parameter that was "auto"),
        n_neighbors_ and pool_size_ (J and the pool used, after clipping to N - 1), seed_,
        likelihood_, noise_var_, latent_dim_, hidden_dims_ (what the model was fitted with, "auto" resolved),
        n_iter_ (the epochs of Algorithm 1 behind the model, ``len(history_)``; with a resumed checkpoint,
        ``resumed_from_epoch_`` of them ran in an earlier call),
        lower_bound_ and start_lower_bound_ (the mean ELBO of the training data after and before Algorithm 1,
        as :meth:`score` computes it; Algorithm 1 maximises the graph objective (3), not this self-ELBO, which
        may fall while (3) rises: notebook 07's fit on digits, 20.74 -> 20.15), fit_warnings_ (the label-free findings of this fit, each also raised as a
        ``ConvergenceWarning``: an empty cluster, collapsed posteriors, an objective that fell;
        :meth:`dggbook.model.base.DeepClusterer._fit_findings`). ``fit`` returns the last epoch's model.

    ``score(X)`` is the mean over rows of L(x) of eq. (4) (higher is better) with z = mu~(x) (no sampling),
    q(c|x) = f2's posterior, and as p(c) the global mixing weights ``pi_.mean(axis=0)``: a new row has no
    graph neighbours, so eq. (31) gives it no pi_i of its own.
    """

    # Algorithm 1 maximises the graph objective (3), not the self-ELBO that lower_bound_ measures (base.py).
    _MAXIMISES_LOWER_BOUND = False

    _parameter_constraints: dict = {
        **RUN_CONSTRAINTS,
        **constraints_of(PretrainSettings, TrainSettings),
        "use_graph": ["boolean"],
        "n_neighbors": [POSITIVE_INT],
        "neighbor_selection": [StrOptions(set(SELECTIONS))],
        "pool_size": [POSITIVE_INT],
        "weights": [StrOptions(set(WEIGHTINGS))],
        "use_siamese": ["boolean"],
        "graph_space": [StrOptions(set(GRAPH_SPACES))],
        "siamese_epochs": [COUNT],
        "n_positive": [POSITIVE_INT],
    }

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        # p(x|z) and f2's input (ModelSettings)
        likelihood: str = _PRE.likelihood,
        noise_var: float = _PRE.noise_var,
        f2_input: str = _PRE.f2_input,
        # networks and pretraining (PretrainSettings)
        latent_dim: int = _PRE.latent_dim,
        hidden_dims=_PRE.hidden_dims,
        classifier_hidden_dims=_PRE.classifier_hidden_dims,
        layerwise_epochs: int | str = _PRE.layerwise_epochs,
        autoencoder_epochs: int | str = _PRE.autoencoder_epochs,
        vae_epochs: int | str = _PRE.vae_epochs,
        classifier_epochs: int | str = _PRE.classifier_epochs,
        pretrain_batch_size: int = _PRE.pretrain_batch_size,
        pretrain_lr: float = _PRE.pretrain_lr,
        classifier_lr: float = _PRE.classifier_lr,
        corruption: float = _PRE.corruption,
        init: str = _PRE.init,
        start_n_init: int = _PRE.start_n_init,
        umap_components: int = _PRE.umap_components,
        umap_neighbors: int = _PRE.umap_neighbors,
        gmm_variance: str = _PRE.gmm_variance,
        handover_epochs: int | str = _PRE.handover_epochs,
        handover_lr: float = _PRE.handover_lr,
        # the graph
        use_graph: bool = True,
        n_neighbors: int = 20,
        neighbor_selection: str = "nearest",
        pool_size: int = 100,
        weights: str = "local_scaling",
        use_siamese: bool = False,
        graph_space: str = AUTO,
        siamese_epochs: int = 50,
        n_positive: int = 2,
        # Algorithm 1 (TrainSettings)
        epochs: int | str = _TRAIN.epochs,
        batch_size: int = _TRAIN.batch_size,
        lr: float = _TRAIN.lr,
        weight_decay: float = _TRAIN.weight_decay,
        lr_decay: float = _TRAIN.lr_decay,
        lr_decay_every: int = _TRAIN.lr_decay_every,
        n_neighbor_samples: int | str | None = _TRAIN.n_neighbor_samples,
        prior_z_coefficient: float = _TRAIN.prior_z_coefficient,
        elbo_constants: bool = _TRAIN.elbo_constants,
        pi_update: str = _TRAIN.pi_update,
        batch_weights: str = _TRAIN.batch_weights,
        step: str = _TRAIN.step,
        precision: str = _TRAIN.precision,
        # how to run
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
        self.f2_input = f2_input
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.classifier_hidden_dims = classifier_hidden_dims
        self.layerwise_epochs = layerwise_epochs
        self.autoencoder_epochs = autoencoder_epochs
        self.vae_epochs = vae_epochs
        self.classifier_epochs = classifier_epochs
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_lr = pretrain_lr
        self.classifier_lr = classifier_lr
        self.corruption = corruption
        self.init = init
        self.start_n_init = start_n_init
        self.umap_components = umap_components
        self.umap_neighbors = umap_neighbors
        self.gmm_variance = gmm_variance
        self.handover_epochs = handover_epochs
        self.handover_lr = handover_lr
        self.use_graph = use_graph
        self.n_neighbors = n_neighbors
        self.neighbor_selection = neighbor_selection
        self.pool_size = pool_size
        self.weights = weights
        self.use_siamese = use_siamese
        self.graph_space = graph_space
        self.siamese_epochs = siamese_epochs
        self.n_positive = n_positive
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.n_neighbor_samples = n_neighbor_samples
        self.prior_z_coefficient = prior_z_coefficient
        self.elbo_constants = elbo_constants
        self.pi_update = pi_update
        self.batch_weights = batch_weights
        self.step = step
        self.precision = precision
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.dataset_name = dataset_name
        self.verbose = verbose

    # --------------------------------------------------------------- validation
    def _check_params_against_data(self, n_samples: int) -> None:
        """The shared checks, then the graph's: those between parameters first, then those that need the data
        size. J and the pool are clipped to N - 1 (with a warning) into ``n_neighbors_`` and ``pool_size_``."""
        if self.use_graph and self.neighbor_selection == "random_top" and self.pool_size < self.n_neighbors:
            raise ValueError(f"pool_size={self.pool_size} must be at least n_neighbors={self.n_neighbors}: the "
                             "J neighbours are drawn from the pool; raise pool_size or lower n_neighbors.")
        if self.use_siamese and self.graph_space not in ("input", AUTO):
            raise ValueError(f"use_siamese=True embeds the input, but graph_space={self.graph_space!r}; "
                             "pass graph_space='input' with it, or use_siamese=False.")
        super()._check_params_against_data(n_samples)
        uses_siamese = self.use_graph and self.use_siamese
        if uses_siamese and (n_samples < 3 or self.n_positive >= n_samples):
            raise ValueError(f"use_siamese=True needs at least 3 samples and n_positive={self.n_positive} below "
                             f"their number ({n_samples}); lower n_positive or pass use_siamese=False.")
        self.n_neighbors_ = self._clipped("n_neighbors", n_samples, self.use_graph)
        self.pool_size_ = self._clipped("pool_size", n_samples,
                                        self.use_graph and self.neighbor_selection == "random_top")

    def _clipped(self, name: str, n_samples: int, used: bool) -> int:
        """Parameter ``name`` clipped to N - 1 (a sample is not its own neighbour), with a warning when used."""
        value = getattr(self, name)
        if value < n_samples:
            return value
        if used:
            warnings.warn(f"{name}={value} is not smaller than the number of samples ({n_samples}); using "
                          f"{n_samples - 1} (recorded in {name}_). Pass {name} < {n_samples} to silence this.",
                          UserWarning, stacklevel=4)
        return n_samples - 1

    # -------------------------------------------------------------------- fit
    def _key(self, fingerprint: str, start: DGGNetworks) -> str:
        """Names this fit's checkpoint: data, every parameter that changes the result but ``epochs`` (and
        ``step``, which does not change it), device, and the pretrained networks Algorithm 1 starts from.

        ``epochs`` is left out so that asking for more epochs continues a finished run. The
        networks are in, so that a checkpoint is never resumed on top of a different start (after
        a change to the pretraining code, say).
        """
        params = {k: v for k, v in self.get_params().items() if k not in ("verbose", "cache_dir", "device", "epochs")}
        params.pop("step")  # how a step runs, not what it computes; precision only when not the default, so that
        if params["precision"] == "fp32":  # keys written before these parameters existed still match
            params.pop("precision")
        return cache_key(FIT_CACHE_VERSION, fingerprint, params, self.device_.type,
                         data_fingerprint(*start.state_dict().values()))

    def _runs_umap(self) -> bool:
        """The start's UMAP (:meth:`DeepClusterer._runs_umap`), or the graph's: ``graph_space`` "umap", or "auto" for a
        start that may come from mu~."""
        graph_in_umap = self.use_graph and (self.graph_space == "umap" or (
            self.graph_space == AUTO and self.init != "input" and not self.use_siamese))
        return super()._runs_umap() or graph_in_umap

    def _umap_reason(self) -> str:
        return f"init={self.init!r}, graph_space={self.graph_space!r}"

    def _umap_escape(self) -> str:
        return " and graph_space='input'"

    def _graph_features(self, X: np.ndarray, Xt: torch.Tensor, init: PretrainResult, folder: Path | None,
                        fingerprint: str,
                        seeds: dict, pretrain_settings: PretrainSettings):
        """Raw X or its Siamese embedding (DGG eq. (19)) started from the pretrained encoder; or mu~, or its UMAP
        (the start's, when it was found in UMAP space: the encoder has not changed since)."""
        networks = init.networks
        if self.graph_space_ == "umap" and init.umap_embedding is not None:
            return init.umap_embedding
        if self.graph_space_ != "input":
            means = latent_means(networks.eval(), Xt).cpu().numpy()
            if self.graph_space_ == "latent":
                return means
            return umap_embedding(means.astype(np.float64), self.umap_components, self.umap_neighbors,
                                  seeds["umap"], n_threads=self.n_threads)
        if not self.use_siamese:
            return X
        path = None
        if folder is not None:
            key = cache_key(SIAMESE_CACHE_VERSION, fingerprint, pretrain_settings, self.n_clusters,
                            self.siamese_epochs, self.n_positive, self.seed_, self.device_.type)
            path = cache_file(folder, "siamese", self.dataset_name, key)
        cached = load_cached(path)
        if cached is not None:
            return cached["embedding"].numpy()
        # Start from the pretrained encoder, as the public code does (notebook 06).
        start = SiameseNet(X.shape[1], self.hidden_dims_, self.latent_dim_)
        start.copy_linear_layers(networks.encoder.layers())
        net = train_siamese(
            X, n_positive=self.n_positive, epochs=self.siamese_epochs, hidden_dims=self.hidden_dims_,
            embedding_dim=self.latent_dim_, device=self.device_, random_state=seeds["siamese"],
            init_state_dict=start.state_dict(), progress=self.verbose,
        )
        embedding = embed(net, X)
        if path is not None:
            save_atomic({"embedding": torch.from_numpy(embedding)}, path)
        return embedding

    def _build_graph(self, X: np.ndarray, Xt: torch.Tensor, init: PretrainResult, folder, fingerprint, seeds: dict,
                     pretrain_settings: PretrainSettings):
        if not self.use_graph:
            return self_graph(X.shape[0])
        features = self._graph_features(X, Xt, init, folder, fingerprint, seeds, pretrain_settings)
        return build_graph(features, self.n_neighbors_, selection=self.neighbor_selection, pool_size=self.pool_size_,
                           weights=self.weights, local_scale_k=min(LOCAL_SCALE_K, X.shape[0] - 1),
                           random_state=seeds["graph"], device=self.device_)

    def _fit(self, X: np.ndarray, Xt: torch.Tensor, y, init_labels) -> np.ndarray:
        pretrain_settings, train_settings = self._resolve_and_record_settings(X)
        seeds = stage_seeds(self.seed_)
        cacheable = isinstance(self.random_state, Integral)  # only an int seed names a run
        folder = resolve_cache_dir(self.cache_dir) if cacheable else None
        fingerprint = data_fingerprint(X) if init_labels is None else data_fingerprint(X, init_labels)

        stage_started = time.perf_counter()
        init = pretrain(X, self.n_clusters, pretrain_settings, random_state=self.seed_, device=self.device_,
                        dataset_name=self.dataset_name, cache_dir=folder, init_labels=init_labels,
                        verbose=self.verbose, X_device=Xt)
        networks = init.networks
        train_settings = self._record_noise_var(init.noise_var, train_settings)
        self._record_start(init)
        self.graph_space_ = self.graph_space
        if self.graph_space == AUTO:  # the input for a start from it (or a Siamese embedding of it), else UMAP of mu~
            from_input = init.start_source == "input" or self.use_siamese
            self.graph_space_ = self.auto_settings_["graph_space"] = "input" if from_input else "umap"
        stage_seconds = {"pretrain": time.perf_counter() - stage_started}
        stage_started = time.perf_counter()
        graph = self._build_graph(X, Xt, init, folder, fingerprint, seeds, pretrain_settings)
        stage_seconds["graph"] = time.perf_counter() - stage_started

        torch.manual_seed(seeds["train"])  # the generator fit forked, not the caller's
        key = self._key(fingerprint, networks) if folder is not None else ""
        checkpoint = cache_file(folder, "dgg", self.dataset_name, key)
        start_pi = initial_pi(networks.eval(), Xt, graph.indices.to(self.device_), graph.weights.to(self.device_),
                              train_settings.pi_update)  # what train_dgg starts from
        self.start_lower_bound_ = self._mean_elbo(networks, Xt, start_pi.mean(dim=0))
        stage_started = time.perf_counter()
        result = train_dgg(networks, Xt, graph, train_settings, y=y, checkpoint_path=checkpoint,
                           run_key=key, verbose=self.verbose)
        stage_seconds["dgg"] = time.perf_counter() - stage_started

        self.networks_ = networks.eval()
        self.pi_ = result.pi.detach().cpu().numpy()
        self.history_ = result.history
        self.start_labels_ = init.start_labels
        self.f2_agreement_ = init.f2_agreement
        self.graph_ = graph
        self.pretrain_from_cache_ = init.from_cache
        self.resumed_from_epoch_ = result.resumed_from
        posterior = self._rowwise_posterior(Xt)
        self.labels_ = posterior.argmax(dim=1).cpu().numpy()  # what predict(X) gives
        self.stage_seconds_ = stage_seconds
        return posterior.cpu().numpy()

    def _posterior(self, X: torch.Tensor) -> torch.Tensor:
        """gamma = q(c | x) = f2(mu~(x)): DGG's cluster posterior."""
        return cluster_posterior(self.networks_, X)

    def _score_prior(self) -> torch.Tensor:
        """The global mixing weights: the mean over training samples of the per-sample priors pi_i (eq. (31)).
        A new row has no graph neighbours, so eq. (31) cannot give it a pi_i of its own."""
        pi = torch.as_tensor(self.pi_, dtype=torch.float64).mean(dim=0)
        return pi / pi.sum()

    def _elbo_rows(self, networks, X: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """L(x_i) of eq. (4) with z = mu~, gamma = f2's posterior and the prior ``prior`` for every row: the
        self term of Algorithm 1's objective (:func:`dggbook.model.algorithm1.elbo_of_pairs`, ``sample=False``),
        with the derived coefficient and constants whatever departure the fit trained with."""
        return elbo_of_pairs(networks, X, X, prior.expand(X.shape[0], -1), likelihood=self.likelihood_,
                             noise_var=self.noise_var_, f2_input=self.f2_input, sample=False).terms.total

    # ------------------------------------------------------------- save / load
    FITTED = ("pi_", "history_", "labels_", "start_labels_", "f2_agreement_", "n_features_in_", "fit_seconds_",
              "stage_seconds_", "pretrain_from_cache_", "resumed_from_epoch_", "auto_settings_", "n_neighbors_",
              "pool_size_", "seed_", "n_iter_", "fit_warnings_", "lower_bound_", "start_lower_bound_",
              "likelihood_", "noise_var_", "latent_dim_", "hidden_dims_", "start_source_", "start_cuts_",
              "graph_space_")

    def _save_extra(self) -> dict:
        return {"graph": (self.graph_.indices.cpu(), self.graph_.weights.cpu(), self.graph_.distances.cpu())}

    def _load_extra(self, state: dict) -> None:
        self.graph_ = NeighborGraph(*state["graph"])
