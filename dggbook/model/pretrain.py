"""Initialisation before Algorithm 1 (notebook 07, "Initialisation").

1. A stacked denoising autoencoder, trained greedily layer by layer
   (:func:`pretrain_layerwise`), then end to end (:func:`finetune_autoencoder`).
2. The same encoder/decoder fine-tuned as a VAE with a standard-normal prior
   (:func:`finetune_vae`): the DGG ELBO (4) with a single cluster.
3. A starting partition (:mod:`dggbook.model.start`): of mu~ by k-means as in the
   paper, a Gaussian mixture, or UMAP then a Gaussian mixture; of the input by a
   Gaussian mixture; or, by default (``init="auto"``), whichever of the UMAP start and
   the input's mixture the input's neighbour graph cuts less; or labels the caller gives
   (``init_labels``, a diagnostic).
   :func:`init_gmm_from_labels` sets mu_k to each cluster's mean of mu~ and
   sigma_k^2 to its unbiased variance. By default the variance is that of z, not
   only of mu~: Var_k(mu~) + mean_k(sigma~^2) (``gmm_variance="aggregate"``;
   ``"means"`` is the public code's literal recipe - see the function for why).
4. f2 trained with cross-entropy on those labels (:func:`pretrain_classifier`),
   its input standardised with the mean and spread of mu~. How often f2's argmax
   agrees with the labels afterwards is the hand-over's fidelity (``f2_agreement``).
5. The hand-over (:func:`fit_to_start`): f1, g and the GMM fitted to the start's labels, so that the
   mixture agrees with the start before Algorithm 1. ``handover_epochs="auto"`` (the default) runs it
   only for a start taken from the input, which the latent space has never seen.

:func:`pretrain` runs all four and caches the result on disk, keyed by the
dataset name, a fingerprint of the data (and of ``init_labels``), every setting and the seed.

Seeds. Each random stage of a fit draws from a seed of its own, spawned from the one
seed by :func:`stage_seeds` (numpy's ``SeedSequence``): the initial weights, the
SDAE/VAE pretraining, the UMAP of mu~, the start's k-means or mixture, f2, the Siamese
net, the graph's random neighbours and Algorithm 1. So no stage of seed s shares a
stream with any stage of seed s + 1, and a study's seeds are independent.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state

from ..derivation import elbo
from ..environment import torch_seeded
from .algorithm1 import cluster_posterior
from .cache import cache_file, cache_key, data_fingerprint, load_cached, resolve_cache_dir, save_atomic
from .likelihoods import reconstruction_log_likelihood, reconstruction_noise_var
from .networks import DGGNetworks, reparameterize
from .runtime import map_in_batches, pick_device, run_epochs, static_on_cuda, to_device
from .settings import AUTO, DataFacts, PretrainSettings, auto_epochs
from .start import INPUT_START_MAX_FEATURES, choose_start, input_partition, start_partition, umap_embedding

__all__ = [
    "PretrainSettings", "PretrainResult", "build_networks", "pretrain_layerwise", "finetune_autoencoder",
    "finetune_vae", "latent_means", "init_gmm_from_labels", "f2_agreement", "pretrain_classifier", "fit_to_start",
    "pretrain", "start_candidates",
    "STAGES", "stage_seeds", "resolve_seed",
]

CACHE_VERSION = "pretrain-v7"  # bump when the algorithm or the settings change, so old cache files are not reused
# v6: one spawned seed per stage (stage_seeds), the UMAP embedding kept, plain-tensor files (weights_only)
# v7: init "input" and "auto", the start's source and cuts, handover_epochs "auto"
MIN_VARIANCE = 1e-6
# The random stages of a fit, each with its own seed (stage_seeds). Append new stages at the end: the
# position of a stage decides its seed.
STAGES = ("weights", "pretrain", "umap", "start", "classifier", "siamese", "graph", "train", "input_start")


def stage_seeds(seed: int) -> dict[str, int]:
    """``{stage: seed}`` for every stage in :data:`STAGES`: the children of ``SeedSequence(seed)``, one per stage.

    Spawned children are independent streams, unlike ``seed + 1``, ``seed + 2``, ... (with those, seed s's
    second stage drew what seed s + 1's first stage drew). Each child seed is a 32-bit int, which torch,
    numpy, scikit-learn and UMAP all accept.
    """
    children = np.random.SeedSequence(int(seed)).spawn(len(STAGES))
    return {stage: int(child.generate_state(1)[0]) for stage, child in zip(STAGES, children)}


def resolve_seed(random_state) -> int:
    """An int seed from what scikit-learn accepts as ``random_state``: an int is kept; a
    ``numpy.random.RandomState`` gives one draw (so each fit with the same instance differs, as in
    scikit-learn); None draws from numpy's global generator (``sklearn.utils.check_random_state``)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**32 - 1, dtype=np.int64))


@dataclass
class PretrainResult:
    """The initialised model, the starting partition that trained f2, per-stage losses, f2's agreement with it,
    and the UMAP embedding of mu~ (``init`` "umap" or "auto", without ``init_labels``; else None),
    so that a graph in UMAP space reuses it instead of running UMAP again."""

    networks: DGGNetworks
    start_labels: np.ndarray
    history: dict = field(default_factory=dict)
    f2_agreement: float = float("nan")
    from_cache: bool = False
    umap_embedding: np.ndarray | None = None
    noise_var: float = 1.0  # σ_x² the VAE stage used and Algorithm 1 should use (measured when it was "auto")
    start_source: str = ""  # where the start came from: an init value ("umap", "input", ...) or "init_labels"
    start_cuts: dict = field(default_factory=dict)  # init="auto": each candidate's normalized cut (choose_start)
    handover_epochs: int = 0  # the hand-over's epochs as run ("auto" resolved)


def build_networks(input_dim: int, n_clusters: int, settings: PretrainSettings) -> DGGNetworks:
    """The untrained f1, g, f2 and GMM with the sizes in ``settings``, in float32 whatever torch's default dtype."""
    return DGGNetworks(
        input_dim,
        n_clusters,
        latent_dim=settings.latent_dim,
        hidden_dims=settings.hidden_dims,
        classifier_hidden_dims=settings.classifier_hidden_dims,
    ).to(torch.float32)


def _reconstruction_loss(settings: PretrainSettings, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood -ln p(x|z) over the batch (term 1 of eq. (4)). Before ``noise_var="auto"``
    is measured (the autoencoder stages) σ_x² = 1: for a Gaussian that scales the loss only, which Adam ignores."""
    noise_var = 1.0 if settings.noise_var == AUTO else settings.noise_var
    return -reconstruction_log_likelihood(settings.likelihood, x, output, noise_var).mean()


def _train(stage: str, params, loss_fn, X: torch.Tensor, settings: PretrainSettings, epochs: int, verbose: bool,
           lr: float | None = None, step: str = "eager", precision: str = "fp32",
           compile_backend: str = "inductor") -> list:
    """Adam over mini-batches of rows of X (:func:`dggbook.model.runtime.run_epochs`); ``loss_fn(rows, idx)``.
    ``step``, ``precision`` and ``compile_backend`` are run_epochs' (default: the eager float32 step)."""
    if epochs == 0:
        return []
    if step == "compiled":
        static_on_cuda(X)
    optimizer = torch.optim.Adam(params, lr=settings.pretrain_lr if lr is None else lr)
    return run_epochs(stage, optimizer, lambda idx: loss_fn(X[idx], idx), X.shape[0], settings.pretrain_batch_size,
                      epochs, device=X.device, verbose=verbose, step=step, precision=precision,
                      compile_backend=compile_backend)


def pretrain_layerwise(networks: DGGNetworks, X: torch.Tensor, settings: PretrainSettings, *, verbose=False) -> dict:
    """Greedy stacked denoising autoencoder: train one encoder/decoder layer pair at a time.

    Pair l couples encoder layer l with the decoder layer that mirrors it. Its
    input is the (clean) output of the already-trained encoder layers below;
    that input is corrupted by dropout and reconstructed. The outermost pair
    reconstructs x with the model's own likelihood; inner pairs use squared error.
    """
    enc_layers = networks.encoder.layers()
    dec_layers = networks.decoder.layers()
    n_layers = len(enc_layers)
    history = {}
    inputs = X
    for level in range(n_layers):
        enc, dec = enc_layers[level], dec_layers[n_layers - 1 - level]
        enc_is_last = level == n_layers - 1  # mean_head: linear, no ReLU
        dec_is_output = level == 0  # decoder.output: logits or means

        def loss_fn(h, _idx, enc=enc, dec=dec, enc_is_last=enc_is_last, dec_is_output=dec_is_output):
            code = enc(F.dropout(h, settings.corruption, training=True))
            if not enc_is_last:
                code = torch.relu(code)
            out = dec(F.dropout(code, settings.corruption, training=True))
            if dec_is_output:
                return _reconstruction_loss(settings, h, out)
            return F.mse_loss(torch.relu(out), h, reduction="none").sum(dim=1).mean()

        params = list(enc.parameters()) + list(dec.parameters())
        history[f"layer{level}"] = _train(
            f"SDAE layer {level + 1}/{n_layers}", params, loss_fn, inputs, settings, settings.layerwise_epochs, verbose
        )
        with torch.no_grad():
            inputs = map_in_batches(lambda h: torch.relu(enc(h)) if not enc_is_last else enc(h), inputs)
    return history


def finetune_autoencoder(networks: DGGNetworks, X: torch.Tensor, settings: PretrainSettings, *, verbose=False,
                         step: str = "eager", precision: str = "fp32", compile_backend: str = "inductor") -> list:
    """End-to-end denoising autoencoder x -> mu~(x) -> g(mu~): the SDAE fine-tuning step.
    ``step="compiled"``, ``precision`` and ``compile_backend`` as in :func:`dggbook.model.runtime.run_epochs`
    (opt-in)."""
    encoder, decoder = networks.encoder, networks.decoder

    def loss_fn(x, _idx):
        mu, _ = encoder(F.dropout(x, settings.corruption, training=True))
        return _reconstruction_loss(settings, x, decoder(mu))

    params = list(encoder.hidden.parameters()) + list(encoder.mean_head.parameters()) + list(decoder.parameters())
    return _train("autoencoder", params, loss_fn, X, settings, settings.autoencoder_epochs, verbose,
                  step=step, precision=precision, compile_backend=compile_backend)


def finetune_vae(networks: DGGNetworks, X: torch.Tensor, settings: PretrainSettings, *, verbose=False) -> list:
    """Fine-tune f1 and g as a VAE with prior N(0, I).

    The loss is minus the DGG ELBO (4) with one cluster (K = 1, mu_1 = 0,
    sigma_1 = 1, gamma = pi = 1), evaluated by :func:`dggbook.derivation.elbo.elbo_terms`,
    so this step and Algorithm 1 share one implementation of the ELBO.
    """
    encoder, decoder = networks.encoder, networks.decoder
    with torch.no_grad():  # start from a small posterior variance, not sigma~ = 1
        encoder.logvar_head.weight.zero_()
        encoder.logvar_head.bias.fill_(-4.0)
    M = settings.latent_dim
    zeros = torch.zeros(1, M, device=X.device)

    def loss_fn(x, _idx):
        mu, logvar = encoder(x)
        z = reparameterize(mu, logvar)
        recon = reconstruction_log_likelihood(settings.likelihood, x, decoder(z), settings.noise_var)
        ones = torch.ones(x.shape[0], 1, device=x.device)
        return -elbo.elbo_terms(recon, mu, logvar, ones, ones, zeros, zeros, validate=False).total.mean()

    return _train("VAE", list(encoder.parameters()) + list(decoder.parameters()), loss_fn, X, settings,
                  settings.vae_epochs, verbose)


@torch.no_grad()
def latent_means(networks: DGGNetworks, X: torch.Tensor) -> torch.Tensor:
    """mu~(x) for every row of X, in evaluation mode."""
    return map_in_batches(lambda x: networks.encoder(x)[0], X)


def init_gmm_from_labels(networks: DGGNetworks, X: torch.Tensor, labels: np.ndarray, settings: PretrainSettings):
    """The GMM prior from a partition of mu~: mu_k = mean, sigma_k^2 = unbiased variance of cluster k (notebook 07).

    ``settings.gmm_variance`` chooses what the variance describes:

    - ``"means"`` (the public code's recipe, literally): the unbiased variance of mu~ within cluster k.
    - ``"aggregate"`` (default): the variance of z itself within cluster k, by the
      law of total variance: Var_k(mu~) (unbiased) + mean_k(sigma~^2). A VAE
      encoder puts the within-cluster spread into sigma~^2, not into mu~, so
      ``"means"`` can start sigma~^2 / sigma_k^2 at 100 or more; the term
      sigma~^2 / sigma_k^2 of eq. (4) then dominates the loss and every point
      is assigned to the widest component.

    A cluster with fewer than two members takes the variance of all points (and,
    when empty, their mean).
    """
    mu, logvar = map_in_batches(networks.encoder, X)
    Z = mu.cpu().double().numpy()
    posterior_var = logvar.exp().cpu().double().numpy()
    overall_mean, overall_var = Z.mean(axis=0), Z.var(axis=0, ddof=1)
    means, variances = [], []
    for k in range(networks.gmm.n_clusters):
        members = labels == k
        means.append(Z[members].mean(axis=0) if members.any() else overall_mean)
        var = Z[members].var(axis=0, ddof=1) if members.sum() > 1 else overall_var
        if settings.gmm_variance == "aggregate":
            var = var + (posterior_var[members] if members.any() else posterior_var).mean(axis=0)
        variances.append(var)
    networks.gmm.set_(torch.as_tensor(np.stack(means), dtype=torch.float32),
                      torch.as_tensor(np.maximum(np.stack(variances), MIN_VARIANCE), dtype=torch.float32))


def f2_agreement(networks: DGGNetworks, X: torch.Tensor, labels: np.ndarray) -> float:
    """Share of rows whose argmax f2(mu~) equals ``labels``: how faithfully f2 hands the start to Algorithm 1."""
    predicted = cluster_posterior(networks, X).argmax(dim=1)
    return float((predicted.cpu().numpy() == labels).mean())


def check_init_labels(init_labels, n_samples: int, n_clusters: int) -> np.ndarray | None:
    """``init_labels`` as int64 after checking one label per sample, each in 0..n_clusters-1 (None passes)."""
    if init_labels is None:
        return None
    labels = np.asarray(init_labels)
    if labels.shape != (n_samples,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"init_labels must hold one integer label per sample ({n_samples}), got shape "
                         f"{labels.shape} and dtype {labels.dtype}.")
    if labels.min() < 0 or labels.max() >= n_clusters:
        raise ValueError(f"init_labels must lie in 0..{n_clusters - 1} (n_clusters={n_clusters}), got "
                         f"{labels.min()}..{labels.max()}.")
    return labels.astype(np.int64)


def classifier_input(mu: torch.Tensor, logvar: torch.Tensor, f2_input: str) -> torch.Tensor:
    """What f2 sees: mu~ (``"mean"``, the public MNIST code) or a sample z (``"sample"``, the paper)."""
    return mu if f2_input == "mean" else reparameterize(mu, logvar)


def pretrain_classifier(networks: DGGNetworks, X: torch.Tensor, labels: np.ndarray, settings: PretrainSettings,
                        *, verbose=False) -> list:
    """Train f2 alone with cross-entropy on the starting partition's labels; the encoder stays fixed.

    The encoder is frozen, so (mu~, log sigma~^2) are computed once and the
    epochs only run the small classifier: cheap even for many epochs. f2's
    input standardisation is set here from mu~ (see :class:`Classifier`).
    """
    targets = torch.as_tensor(labels, device=X.device)
    mu, logvar = map_in_batches(networks.encoder, X)
    networks.classifier.standardize_inputs(mu)
    posterior = torch.cat([mu, logvar], dim=1)
    M = mu.shape[1]

    def loss_fn(rows, idx):
        inputs = classifier_input(rows[:, :M], rows[:, M:], settings.f2_input)
        return F.cross_entropy(networks.classifier(inputs), targets[idx])

    return _train("classifier f2", networks.classifier.parameters(), loss_fn, posterior, settings,
                  settings.classifier_epochs, verbose, lr=settings.classifier_lr)


def fit_to_start(networks: DGGNetworks, X: torch.Tensor, labels: np.ndarray, settings: PretrainSettings, *,
                 verbose=False) -> list:
    """The hand-over: f1, g and the GMM trained on the ELBO (4) with q(c|x) held at the start's one-hot labels and
    pi at the start's cluster shares (f2 is left alone), for ``handover_epochs`` at ``handover_lr``.

    Why: the start is found in UMAP space, but the mixture Algorithm 1 trains lives in mu~ space, where a class
    need not be a Gaussian blob. Set from the start's labels (:func:`init_gmm_from_labels`), the mixture's own
    posterior can disagree with the start (MNIST, CPU preset: on 9.2 % of the images), and terms 2 and 3 of (4)
    then pull q(c|x) away from the start. This stage pulls each cluster of mu~ towards its component first
    (README, "Training that keeps its start"). The terms come from :func:`dggbook.derivation.elbo.elbo_terms`.
    """
    if settings.handover_epochs == 0:
        return []
    K = networks.gmm.n_clusters
    onehot = F.one_hot(torch.as_tensor(labels, device=X.device, dtype=torch.long), K).to(X.dtype)
    # gamma floored so that gamma ln gamma stays finite (its gradient does not reach any parameter: gamma is data)
    gamma_all = (onehot + torch.finfo(X.dtype).tiny).div(1 + K * torch.finfo(X.dtype).tiny)
    shares = onehot.mean(dim=0).clamp_min(torch.finfo(X.dtype).tiny)
    noise_var = 1.0 if settings.noise_var == AUTO else settings.noise_var

    def loss_fn(x, idx):
        mu, logvar = networks.encoder(x)
        recon = reconstruction_log_likelihood(settings.likelihood, x, networks.decoder(reparameterize(mu, logvar)),
                                              noise_var)
        gamma = gamma_all[idx]
        return -elbo.elbo_terms(recon, mu, logvar, gamma, shares.expand_as(gamma), networks.gmm.means,
                                networks.gmm.logvars, validate=False).total.mean()

    params = [p for name, p in networks.named_parameters() if not name.startswith("classifier.")]
    networks.train()
    history = _train("hand-over", params, loss_fn, X, settings, settings.handover_epochs, verbose,
                     lr=settings.handover_lr)
    networks.eval()
    return history


def pretrain(
    X,
    n_clusters: int,
    settings: PretrainSettings = PretrainSettings(),
    *,
    random_state=0,
    device="auto",
    dataset_name: str = "",
    cache_dir=None,
    init_labels=None,
    verbose: bool = False,
    X_device: torch.Tensor | None = None,
) -> PretrainResult:
    """Run the whole initialisation (notebook 07) or load it from the cache.

    ``X_device`` is X already on ``device`` (the estimators copy X there once and pass it), else X is copied.

    ``init_labels`` (one label in 0..K-1 per row) replaces the starting partition:
    a diagnostic entry point, e.g. to start from the true classes.

    ``random_state`` is what scikit-learn accepts (int, ``RandomState`` or None; :func:`resolve_seed`);
    each stage draws from its own seed (:func:`stage_seeds`) on a forked torch generator, so the
    caller's generators are left as they were and a cached and a fresh run give the same networks.

    Caching is opt-in (:func:`dggbook.model.cache.resolve_cache_dir`): ``cache_dir=True``
    uses :func:`dggbook.model.cache.cache_root`, a path uses that folder, None or False
    none. It is also off unless ``random_state`` is an int, the only seed that names a run.
    """
    device = pick_device(device)
    X_np = np.asarray(X, dtype=np.float32)
    settings = settings.resolved(DataFacts.of(X_np), device)  # every "auto" but a Gaussian's noise_var
    init_labels = check_init_labels(init_labels, X_np.shape[0], n_clusters)
    cacheable = isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    seed = resolve_seed(random_state)
    folder = resolve_cache_dir(cache_dir) if cacheable else None
    path = None
    if folder is not None:
        key = cache_key(CACHE_VERSION, dataset_name, data_fingerprint(X_np), n_clusters, settings, seed,
                        device.type, None if init_labels is None else data_fingerprint(init_labels))
        path = cache_file(folder, "pretrain", dataset_name, key)
    if X_device is not None and (tuple(X_device.shape) != X_np.shape or X_device.device.type != device.type):
        raise ValueError(f"X_device must be X on device {device.type!r}, shape {X_np.shape}; got shape "
                         f"{tuple(X_device.shape)} on {X_device.device.type!r}. Pass X_device=None to copy X.")
    seeds = stage_seeds(seed)
    with torch_seeded(seeds["pretrain"], device):
        return _pretrain(X_np, n_clusters, settings, seeds, device, path, init_labels, verbose, X_device)


def _pretrain(X_np, n_clusters, settings, seeds, device, path, init_labels, verbose, X_device=None) -> PretrainResult:
    # The initial weights come from a generator of their own (stage "weights"), so that the number of draws
    # they take (which grows with f2's size) does not change any later random draw: two settings that differ
    # only in f2 share the same pretrained autoencoder and the same start.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seeds["weights"])
        networks = build_networks(X_np.shape[1], n_clusters, settings)

    cached = load_cached(path)
    if cached is not None:
        networks.load_state_dict(cached["networks"])
        embedding = cached["umap_embedding"]
        return PretrainResult(networks.to(device), cached["start_labels"].numpy(), cached["history"],
                              cached["f2_agreement"], from_cache=True,
                              umap_embedding=None if embedding is None else embedding.numpy(),
                              noise_var=cached["noise_var"], start_source=cached["start_source"],
                              start_cuts=cached["start_cuts"], handover_epochs=cached["handover_epochs"])

    networks.to(device).train()
    Xt = X_device if X_device is not None else to_device(X_np, device)
    history = {}
    history["layerwise"] = pretrain_layerwise(networks, Xt, settings, verbose=verbose)
    history["autoencoder"] = finetune_autoencoder(networks, Xt, settings, verbose=verbose)
    if settings.noise_var == AUTO:  # a Gaussian's σ_x²: the autoencoder's reconstruction error
        networks.eval()
        settings = dataclasses.replace(settings, noise_var=reconstruction_noise_var(networks.encoder, networks.decoder, Xt))
        networks.train()
    history["vae"] = finetune_vae(networks, Xt, settings, verbose=verbose)
    networks.eval()
    labels, embedding, source, cuts = init_labels, None, "init_labels", {}
    if labels is None:
        labels, embedding, source, cuts = _find_start(networks, X_np, Xt, n_clusters, settings, seeds)
    if settings.handover_epochs == AUTO:
        settings = dataclasses.replace(settings, handover_epochs=(
            auto_epochs("epochs", X_np.shape[0]) if source == "input" else 0))
    init_gmm_from_labels(networks, Xt, labels, settings)
    torch.manual_seed(seeds["classifier"])  # the forked generator of pretrain, not the caller's
    history["classifier"] = pretrain_classifier(networks, Xt, labels, settings, verbose=verbose)
    history["handover"] = fit_to_start(networks, Xt, labels, settings, verbose=verbose)
    agreement = f2_agreement(networks, Xt, labels)

    if path is not None:  # plain tensors and containers only: loaded with weights_only=True
        state = {k: v.cpu() for k, v in networks.state_dict().items()}
        save_atomic({"networks": state, "start_labels": torch.from_numpy(np.asarray(labels)),
                     "history": history, "f2_agreement": float(agreement), "noise_var": float(settings.noise_var),
                     "umap_embedding": None if embedding is None else torch.from_numpy(np.asarray(embedding)),
                     "start_source": source, "start_cuts": cuts, "handover_epochs": int(settings.handover_epochs),
                     "settings": dataclasses.asdict(settings)}, path)
    return PretrainResult(networks, labels, history, agreement, from_cache=False, umap_embedding=embedding,
                          noise_var=float(settings.noise_var), start_source=source, start_cuts=cuts,
                          handover_epochs=int(settings.handover_epochs))


def start_candidates(X, n_clusters: int, settings: PretrainSettings = PretrainSettings(), *, random_state=0,
                     device="auto") -> dict:
    """``{"umap": labels, "input": labels}``: the two starts ``init="auto"`` compares, drawn as ``fit`` draws them
    for ``random_state`` (the UMAP start after pretraining with ``settings``, the input's mixture from its own
    stage seed), so that both can be inspected, not only the one :func:`choose_start` keeps."""
    X_np = np.asarray(X, dtype=np.float32)
    seed = resolve_seed(random_state)
    umap_start = pretrain(X_np, n_clusters, dataclasses.replace(settings, init="umap"), random_state=seed,
                          device=device).start_labels
    return {"umap": umap_start, "input": input_partition(X_np, n_clusters, random_state=stage_seeds(seed)["input_start"],
                                                         n_init=settings.start_n_init)}


def _find_start(networks, X_np, Xt, n_clusters, settings, seeds) -> tuple[np.ndarray, np.ndarray | None, str, dict]:
    """``(labels, umap_embedding or None, source, cuts)``: the start ``settings.init`` names (:mod:`.start`).

    ``"auto"`` is the UMAP start, or, for at most :data:`INPUT_START_MAX_FEATURES` features and K > 1, whichever
    of it and the input's mixture :func:`choose_start` prefers. The input's mixture draws from a stage seed of its own
    ("input_start"), so every other stage draws what it drew before ``"auto"`` existed.
    """
    method, embedding, candidates = settings.init, None, {}
    if method != "input":
        means = latent_means(networks, Xt).cpu().numpy().astype(np.float64)
        latent = "umap" if method == "auto" else method
        if latent == "umap":
            embedding = umap_embedding(means, settings.umap_components, settings.umap_neighbors, seeds["umap"])
        candidates[latent] = start_partition(means, n_clusters, latent, random_state=seeds["start"],
                                             n_init=settings.start_n_init, umap_components=settings.umap_components,
                                             umap_neighbors=settings.umap_neighbors, embedding=embedding)
    if method == "input" or (method == "auto" and X_np.shape[1] <= INPUT_START_MAX_FEATURES and n_clusters > 1):
        candidates["input"] = input_partition(X_np, n_clusters, random_state=seeds["input_start"],
                                              n_init=settings.start_n_init)
    if len(candidates) == 1:
        (source, labels), = candidates.items()
        return labels, embedding, source, {}
    source, cuts = choose_start(X_np, candidates, n_clusters=n_clusters)
    return candidates[source], embedding, source, cuts
