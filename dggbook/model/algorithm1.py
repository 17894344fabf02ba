"""Algorithm 1 of DGG: joint training of f1, g, f2 and the GMM on the graph objective.

For every anchor x_i and its neighbours N(i) with weights w_ij (rows summing to
one), DGG maximises (blog step (3))

    1/2 sum_j w_ij [ L(x_i) + L(x_i, x_j) ]  =  1/2 L(x_i) + 1/2 sum_j w_ij L(x_i, x_j),

where L(x_i) is the ELBO (4)/(21) and L(x_i, x_j) the cross ELBO (5): x_i scored
under its neighbour's posterior q(z, c | x_j), with the anchor's prior pi_i.
Both come from one function, :func:`elbo_of_pairs`, which calls
:func:`dggbook.derivation.elbo.elbo_terms`; nothing here re-derives a term.

After each gradient step the per-sample priors pi_i of the batch are replaced
by the closed form (31), :func:`dggbook.derivation.pi_update.update_pi`, detached.

The settings can swap a step for the version the paper prints, the blog prints
or the public code runs (:mod:`dggbook.model.departures`): term 2's coefficient,
the ln 2pi constants, the pi update, the weights of a batch. Those exist for the
ablation study of the seven questions; the defaults are the derived steps.

Cost. With ``n_neighbor_samples=None`` every anchor costs J + 1 encoder and
decoder passes, as in the paper. With ``n_neighbor_samples=S`` each anchor
draws S neighbours with probability proportional to w_ij; weighting each drawn
cross ELBO by (sum_j w_ij) / S gives an unbiased estimate of the same objective
for S + 1 passes.

On CUDA the data, the graph and pi stay on the device; mini-batches gather
neighbours by index (never an (N, D, J+1) copy); losses are summed on the
device and read back once per epoch.

Speed. A step of the paper's networks on 100 anchors is a few hundred small kernels, so on a GPU an epoch
is bound by their launches, not by arithmetic. ``settings.step="compiled"`` runs the step's forward part
(:func:`batch_step`: sampling, gathering, the objective, pi's new values) through torch.compile, and on CUDA
as CUDA graphs (:func:`dggbook.model.runtime.compile_step`); the same quantities are computed, from the same
random draws. ``settings.precision`` opts in to TF32 products or bfloat16 networks (default float32).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch

from ..derivation import elbo
from .cache import load_cached, save_atomic
from .departures import batch_neighbor_weights, pi_update_rule
from .likelihoods import reconstruction_log_likelihood, reconstruction_noise_var
from .networks import DGGNetworks, reparameterize
from .runtime import (autocast_networks, begin_compiled_step, compile_step, map_in_batches, matmul_precision,
                      minibatch_indices, progress, static_on_cuda)
from .settings import AUTO, DataFacts, TrainSettings

__all__ = [
    "TrainSettings", "TrainResult", "TERM_NAMES", "elbo_of_pairs", "sample_neighbors", "graph_objective",
    "closed_form_pi", "initial_pi", "cluster_posterior", "make_optimizer", "batch_step", "run_epoch", "train_dgg",
]

TERM_NAMES = ("reconstruction", "prior_z", "prior_c", "entropy_z", "total")
CHECKPOINT_VERSION = 1


class PairElbo(NamedTuple):
    """The ELBO terms of a batch of (scored x, encoded x) pairs and the posteriors q(c|z) used."""

    terms: "elbo.ElboTerms"
    gamma: torch.Tensor


def elbo_of_pairs(
    networks: DGGNetworks,
    x_scored: torch.Tensor,
    x_encoded: torch.Tensor,
    pi: torch.Tensor,
    *,
    likelihood: str = "bernoulli",
    noise_var: float = 1.0,
    f2_input: str = "mean",
    coefficient: float = elbo.CORRECT_COEFFICIENT,
    constants: bool = True,
    sample: bool = True,
    precision: str = "fp32",
) -> PairElbo:
    """L(x_scored, x_encoded): DGG eq. (4) when both are x_i, the cross ELBO (5) when x_encoded = x_j.

    Encodes ``x_encoded`` (mu~_j, sigma~_j), draws z_j (eq. (28)), evaluates
    gamma_j = f2(mu~_j or z_j), scores ``x_scored`` against g(z_j), and uses the
    prior ``pi`` (the anchor's pi_i). Rows are independent pairs. ``coefficient``
    and ``constants`` are those of :func:`dggbook.derivation.elbo.elbo_terms`.
    ``sample=False`` takes z_j = mu~_j instead of a draw (deterministic; the estimators' ``score``).
    ``precision="bf16"`` runs the three networks under bfloat16 autocast
    (:func:`dggbook.model.runtime.autocast_networks`) and casts their outputs back to x's dtype (float32), so
    the draw of z and every ELBO term are float32; with ``"fp32"`` (default) the casts do nothing.
    """
    device, dtype = x_encoded.device, x_encoded.dtype
    with autocast_networks(precision, device):
        mu, logvar = networks.encoder(x_encoded)
    mu, logvar = mu.to(dtype), logvar.to(dtype)
    z = reparameterize(mu, logvar) if sample else mu
    with autocast_networks(precision, device):
        gamma = networks.classifier.proba(mu if f2_input == "mean" else z)
        output = networks.decoder(z)
    gamma, output = gamma.to(dtype), output.to(dtype)
    recon = reconstruction_log_likelihood(likelihood, x_scored, output, noise_var)
    terms = elbo.elbo_terms(recon, mu, logvar, gamma, pi, networks.gmm.means, networks.gmm.logvars,
                            coefficient=coefficient, constants=constants, validate=False)
    return PairElbo(terms, gamma)


def sample_neighbors(indices: torch.Tensor, weights: torch.Tensor, n_samples: int | None):
    """Neighbours and weights that enter the objective for a batch of anchors.

    ``None`` (or S >= J) keeps all J with their weights w_ij: exact. Otherwise
    draw S columns per row with probability w_ij / sum_j w_ij (with
    replacement) and give each the weight (sum_j w_ij) / S, so the weighted sum
    is an unbiased estimate of sum_j w_ij L(x_i, x_j).
    """
    if n_samples is None or n_samples >= indices.shape[1]:
        return indices, weights
    row_sums = weights.sum(dim=1, keepdim=True)
    draws = torch.multinomial(weights, n_samples, replacement=True)
    return indices.gather(1, draws), (row_sums / n_samples).expand(-1, n_samples)


class BatchObjective(NamedTuple):
    """One mini-batch of Algorithm 1: the loss to minimise and what pi's update needs."""

    loss: torch.Tensor  # scalar: minus the mean over anchors of the graph objective
    term_means: torch.Tensor  # (5,) weighted means of TERM_NAMES, detached
    gamma_anchor: torch.Tensor  # (B, K) detached
    gamma_neighbors: torch.Tensor  # (B, S, K) detached
    neighbor_weights: torch.Tensor  # (B, S)


def graph_objective(
    networks: DGGNetworks,
    X: torch.Tensor,
    anchors: torch.Tensor,
    neighbor_indices: torch.Tensor,
    neighbor_weights: torch.Tensor,
    pi_anchor: torch.Tensor,
    settings: TrainSettings,
) -> BatchObjective:
    """-(1/B) sum_i 1/2 sum_j w_ij [L(x_i) + L(x_i, x_j)] for one batch (blog step (3), Algorithm 1).

    All B (S + 1) pairs go through the networks in one pass: the first B rows
    are (x_i, x_i) -> L(x_i), the rest (x_i, x_j) -> L(x_i, x_j), every row
    with the anchor's prior pi_i.
    """
    B, S = neighbor_indices.shape
    x_anchor = X[anchors]
    x_scored = torch.cat([x_anchor, x_anchor.repeat_interleave(S, dim=0)])
    x_encoded = torch.cat([x_anchor, X[neighbor_indices.reshape(-1)]])
    pi = torch.cat([pi_anchor, pi_anchor.repeat_interleave(S, dim=0)])
    pair = elbo_of_pairs(networks, x_scored, x_encoded, pi, likelihood=settings.likelihood,
                         noise_var=settings.noise_var, f2_input=settings.f2_input,
                         coefficient=settings.prior_z_coefficient, constants=settings.elbo_constants,
                         precision=settings.precision)
    terms = torch.stack([pair.terms.reconstruction, pair.terms.prior_z, pair.terms.prior_c,
                         pair.terms.entropy_z, pair.terms.total])  # (5, B(S+1))
    # 1/2 sum_j w_ij [L(x_i) + L(x_i, x_j)] per anchor, for the total and (it is linear) each term.
    per_anchor = elbo.dgg_objective(terms[:, :B], terms[:, B:].reshape(len(TERM_NAMES), B, S), neighbor_weights)
    weighted = per_anchor.mean(dim=1)  # (5,)
    gamma = pair.gamma.detach()
    return BatchObjective(
        loss=-weighted[-1],
        term_means=weighted.detach(),
        gamma_anchor=gamma[:B],
        gamma_neighbors=gamma[B:].reshape(B, S, -1),
        neighbor_weights=neighbor_weights,
    )


@torch.no_grad()
def cluster_posterior(networks: DGGNetworks, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """gamma = f2(mu~(x)) for every row: the deterministic q(c|x) used for prediction."""
    return map_in_batches(lambda x: networks.classifier.proba(networks.encoder(x)[0]), X, batch_size)


def closed_form_pi(gamma_self: torch.Tensor, gamma_neighbors: torch.Tensor, weights: torch.Tensor,
                   rule: str = "eq31") -> torch.Tensor:
    """pi_i by eq. (31) (:func:`dggbook.derivation.pi_update.update_pi`), detached and floored at the smallest normal float.

    A softmax can underflow to exactly 0 in float32; the next step's gamma_ik > 0
    would then meet ln pi_ik = -inf in term 3 of eq. (4). The floor keeps that
    term finite and moves pi by at most K * 1e-38. ``rule`` names another update
    (:func:`dggbook.model.departures.pi_update_rule`), for the ablation study.
    """
    pi = pi_update_rule(rule)(gamma_self.detach(), gamma_neighbors.detach(), weights, validate=False)
    return pi.clamp_min(torch.finfo(pi.dtype).tiny)


@torch.no_grad()
def initial_pi(networks: DGGNetworks, X: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor,
               rule: str = "eq31") -> torch.Tensor:
    """pi_i before the first step: the closed form (31) (or ``rule``) with gamma = f2(mu~) of the pretrained model.

    It uses the graph's weights whatever ``batch_weights`` is: the public code's row-11 weights exist per batch only.
    """
    gamma = cluster_posterior(networks, X)
    return closed_form_pi(gamma, gamma[indices], weights, rule)


@dataclass
class TrainResult:
    """What Algorithm 1 leaves behind: the priors pi (N, K), the per-epoch history, the epoch it resumed after."""

    pi: torch.Tensor
    history: list = field(default_factory=list)
    resumed_from: int = 0


def _rng_states(device: torch.device) -> dict:
    """torch's generator state (the only one Algorithm 1 draws from), so that a resumed run continues it."""
    states = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _set_rng_states(states: dict, device: torch.device) -> None:
    """Restore torch's generator; numpy's and Python's are never touched (older checkpoints hold them too)."""
    torch.set_rng_state(states["torch"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def resolve_for_data(settings, networks: DGGNetworks, X: torch.Tensor):
    """``settings`` with every ``"auto"`` chosen for X on the networks' device; a Gaussian's ``noise_var="auto"``
    is the networks' reconstruction error (:func:`dggbook.model.likelihoods.reconstruction_noise_var`). The
    estimators pass settings resolved already, with the σ_x² pretraining measured."""
    settings = settings.resolved(DataFacts.of(X), networks.device)
    if settings.noise_var == AUTO:
        networks.eval()
        settings = dataclasses.replace(settings, noise_var=reconstruction_noise_var(networks.encoder,
                                                                                    networks.decoder, X))
    return settings


def make_optimizer(networks: DGGNetworks, settings: TrainSettings):
    """Adam on f1, g, f2 and {mu_k, sigma_k} with weight decay (also on the GMM); lr x lr_decay every lr_decay_every epochs.

    With ``settings.step="compiled"`` on CUDA, Adam's fused kernel (``fused=True``: the same update, in a couple
    of launches instead of one per operation and parameter group); elsewhere torch's default implementation."""
    fused = {"fused": True} if settings.step == "compiled" and networks.device.type == "cuda" else {}
    optimizer = torch.optim.Adam(networks.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, **fused)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_decay_every, gamma=settings.lr_decay)
    return optimizer, scheduler


def _nonfinite_error(epoch: int, batch: int) -> FloatingPointError:
    return FloatingPointError(
        f"DGG loss became NaN or inf at epoch {epoch + 1}, batch {batch + 1}; training stopped. "
        "Lower lr, check the data scale (Bernoulli needs x in [0, 1]) or use a larger noise_var."
    )


def batch_step(
    networks: DGGNetworks,
    X: torch.Tensor,
    indices: torch.Tensor,
    weights: torch.Tensor,
    pi: torch.Tensor,
    anchors: torch.Tensor,
    settings: TrainSettings,
    distances: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The forward part of one step of Algorithm 1 on the rows ``anchors``: ``(loss, term_means, pi_anchors)``.

    Gathers the anchors' neighbours by index (S of them drawn when ``settings.n_neighbor_samples`` is set), then
    :func:`graph_objective` (all B (S + 1) pairs in one pass through the networks), then the anchors' new
    priors by eq. (31) (:func:`closed_form_pi`, from the gammas of this forward pass, detached). The backward
    pass and the optimizer step follow it in :func:`run_epoch`, which also writes ``pi_anchors`` into pi. No
    host synchronisation: one function of device tensors that torch.compile can trace whole.
    """
    batch_weights = batch_neighbor_weights(settings.batch_weights, weights[anchors],
                                           None if distances is None else distances[anchors])
    nb_idx, nb_w = sample_neighbors(indices[anchors], batch_weights, settings.n_neighbor_samples)
    out = graph_objective(networks, X, anchors, nb_idx, nb_w, pi[anchors], settings)
    pi_anchors = closed_form_pi(out.gamma_anchor, out.gamma_neighbors, out.neighbor_weights, settings.pi_update)
    return out.loss, out.term_means, pi_anchors


_COMPILED_STEPS: dict = {}  # (device type, backend) -> batch_step under torch.compile, made on first use


def compiled_batch_step(device: torch.device, backend: str = "inductor"):
    """:func:`batch_step` through :func:`dggbook.model.runtime.compile_step`, one wrapper per device type and
    backend."""
    key = (torch.device(device).type, backend)
    if key not in _COMPILED_STEPS:
        _COMPILED_STEPS[key] = compile_step(batch_step, device, backend)
    return _COMPILED_STEPS[key]


def run_epoch(
    networks: DGGNetworks,
    X: torch.Tensor,
    indices: torch.Tensor,
    weights: torch.Tensor,
    pi: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    settings: TrainSettings,
    *,
    epoch: int = 0,
    distances: torch.Tensor | None = None,
    compile_backend: str = "inductor",
) -> torch.Tensor:
    """One pass of Algorithm 1 over shuffled anchors; updates the networks and ``pi`` in place.

    Per batch: :func:`batch_step` (the anchors' neighbours gathered by index, sampled when
    ``settings.n_neighbor_samples`` is set; the loss of :func:`graph_objective`; pi_i by eq. (31)),
    one gradient step, then the batch's pi_i written into ``pi``, detached.
    Returns the epoch means of :data:`TERM_NAMES` (a device tensor). ``distances``
    (N, J), the graph's, are needed only by ``settings.batch_weights="public_code_row11"``.

    ``settings.step="compiled"`` runs :func:`batch_step` through torch.compile (``compile_backend``: inductor,
    or ``"aot_eager"`` to trace without generating code); ``settings.precision`` sets the products' precision
    (:func:`dggbook.model.runtime.matmul_precision`, :func:`dggbook.model.runtime.autocast_networks`).

    Raises FloatingPointError naming the epoch and batch of the first non-finite loss: at once for the eager
    step on CPU; otherwise after the epoch, at its one host sync.
    """
    device, N = X.device, X.shape[0]
    networks.train()
    compiled = settings.step == "compiled"
    if compiled:
        static_on_cuda(X, indices, weights, pi, distances)
    forward = compiled_batch_step(device, compile_backend) if compiled else batch_step
    sums = torch.zeros(len(TERM_NAMES), device=device)
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    with matmul_precision(settings.precision, device):
        for batch, anchors in enumerate(minibatch_indices(N, settings.batch_size, device)):
            if compiled:
                begin_compiled_step(device)
            loss, term_means, pi_anchors = forward(networks, X, indices, weights, pi, anchors, settings, distances)
            bad = ~torch.isfinite(loss)
            if device.type == "cpu" and not compiled:
                if bad:
                    raise _nonfinite_error(epoch, batch)
            else:  # no host sync: remember the first bad batch
                first_bad = torch.where(bad & (first_bad < 0), torch.full_like(first_bad, batch), first_bad)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            pi[anchors] = pi_anchors
            sums += term_means * anchors.numel()
    if (device.type != "cpu" or compiled) and int(first_bad) >= 0:  # the one host sync of the epoch
        raise _nonfinite_error(epoch, int(first_bad))
    return sums / N


def train_dgg(
    networks: DGGNetworks,
    X: torch.Tensor,
    graph,
    settings: TrainSettings,
    *,
    y=None,
    checkpoint_path: str | Path | None = None,
    run_key: str = "",
    verbose: bool = False,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    checkpoint_every: float = 60.0,
) -> TrainResult:
    """Algorithm 1: mini-batches of anchors, gradient steps on the graph objective, pi by (31).

    Args:
        networks: pretrained f1, g, f2 and GMM (modified in place).
        X: (N, D) data tensor on the networks' device.
        graph: anything with ``indices`` (N, J) and ``weights`` (N, J) tensors
            (:class:`dggbook.model.graph.NeighborGraph`; ``self_graph`` gives DGG without graph).
        settings: :class:`TrainSettings`.
        y: optional true labels, used only to record ACC/NMI per epoch.
        checkpoint_path: where a resumable checkpoint is written (state dicts, optimizer,
            scheduler, pi, epoch, RNG states): after the last epoch, after an epoch that ends
            ``checkpoint_every`` seconds or more after the previous write, and when
            ``on_epoch_end`` raises. If it exists and was written with the same ``run_key``
            and settings, training resumes after its epoch.
        on_epoch_end: called as ``on_epoch_end(epoch, record)`` after each epoch (and its
            checkpoint, if one is due); raising from it interrupts training (used by tests).
        checkpoint_every: seconds of wall time between checkpoints (default 60; 0 writes one
            every epoch). A checkpoint of the paper's networks is about 40 MB, and a GPU epoch
            takes well under a second, so writing one per epoch would cost more than the epoch.

    Raises:
        FloatingPointError: the loss became NaN/inf; names the epoch and batch.
    """
    device = networks.device
    settings = resolve_for_data(settings, networks, X)  # every "auto", for this data and device
    indices, weights = graph.indices.to(device), graph.weights.to(device)
    distances = graph.distances.to(device) if settings.batch_weights != "graph" else None
    optimizer, scheduler = make_optimizer(networks, settings)
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, float)) or not checkpoint_every >= 0:
        raise ValueError(f"checkpoint_every must be a number of seconds >= 0 (0: every epoch), got {checkpoint_every!r}.")
    last_saved = time.perf_counter()
    resume_key = {"run_key": run_key, "settings": settings.resume_key(), "version": CHECKPOINT_VERSION}

    start_epoch, history, pi = 0, [], None
    checkpoint = load_cached(path)
    if checkpoint is not None and checkpoint.get("resume_key") == resume_key and checkpoint["epoch"] <= settings.epochs:
        networks.load_state_dict(checkpoint["networks"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        pi = checkpoint["pi"].to(device)
        start_epoch, history = checkpoint["epoch"], list(checkpoint["history"])
        _set_rng_states(checkpoint["rng"], device)
    if pi is None:
        networks.eval()
        pi = initial_pi(networks, X, indices, weights, settings.pi_update)

    y_np = None if y is None else np.asarray(y)
    bar = progress(range(start_epoch, settings.epochs), desc="DGG", verbose=verbose,
                   total=settings.epochs - start_epoch)
    for epoch in bar:
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        term_means = run_epoch(networks, X, indices, weights, pi, optimizer, settings, epoch=epoch,
                               distances=distances)
        scheduler.step()  # lr x lr_decay every lr_decay_every epochs

        record = {"epoch": epoch + 1, "lr": lr}
        record.update({name: v for name, v in zip(TERM_NAMES, term_means.tolist())})
        record["loss"] = -record["total"]
        if y_np is not None:
            record.update(_monitor(networks, X, y_np))
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        bar.set_postfix({k: f"{record[k]:.3f}" for k in ("loss", "acc") if k in record}, refresh=False)

        def save() -> None:
            save_atomic({
                "resume_key": resume_key,
                "epoch": epoch + 1,
                "networks": networks.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "pi": pi,
                "history": history,
                "rng": _rng_states(device),
            }, path)

        saved = path is not None and (epoch + 1 == settings.epochs
                                      or time.perf_counter() - last_saved >= checkpoint_every)
        if saved:
            save()
            last_saved = time.perf_counter()
        if on_epoch_end is not None:
            try:
                on_epoch_end(epoch + 1, record)
            except BaseException:  # stopped at an epoch boundary: keep this epoch for the resume
                if path is not None and not saved:
                    save()
                raise
    networks.eval()
    return TrainResult(pi=pi, history=history, resumed_from=start_epoch)


def _monitor(networks: DGGNetworks, X: torch.Tensor, y: np.ndarray) -> dict:
    """ACC and NMI of argmax f2(mu~) against the true labels (monitoring only)."""
    from .metrics import clustering_scores

    networks.eval()
    labels = cluster_posterior(networks, X).argmax(dim=1).cpu().numpy()
    scores = clustering_scores(y, labels)
    return {"acc": float(scores["acc"]), "nmi": float(scores["nmi"])}
