"""The Siamese network whose embedding defines DGG's neighbours (DGG eq. (19), notebook 06).

DGG finds the graph's neighbours not in pixel space but in the embedding of
a Siamese network trained with a contrastive loss, eq. (19):

* a positive pair (x_i and one of its N_t nearest neighbours) costs
  ||e_i - e_j||^2;
* a negative pair (x_i and a random sample) costs max(τ - ||e_i - e_j||, 0)^2,
  with margin τ = 3 (the glossary's symbol; the paper writes c, which is the cluster here).

The network has the encoder's architecture, D-500-500-2000-10 with ReLU, and
is trained with Adam (lr 5e-4, x0.1 every 70 epochs, weight decay 1e-4).
The public code differs; ``variant="public_code"`` reproduces its loss (see
:func:`contrastive_loss`).
"""
from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..validation import as_feature_matrix, check_ndim, check_positive_int, check_positive_number, check_shape
from .graph import nearest_neighbors
from .runtime import check_precision, check_step, pick_device, run_epochs, static_on_cuda

__all__ = ["contrastive_loss", "make_pairs", "SiameseNet", "train_siamese", "embed"]

VARIANTS = ("paper", "public_code")


def contrastive_loss(
    emb_a: torch.Tensor,
    emb_b: torch.Tensor,
    is_positive: torch.Tensor,
    *,
    margin: float = 3.0,
    variant: str = "paper",
) -> torch.Tensor:
    """Contrastive loss of DGG eq. (19), averaged over pairs.

    With d = ||e_a - e_b|| (Euclidean) and τ = ``margin``:

    * ``variant="paper"`` (eq. (19)): d^2 for a positive pair,
      max(τ - d, 0)^2 for a negative pair. Negatives stop costing once
      d >= τ = 3.
    * ``variant="public_code"`` (the public MNIST code, ``mnist/Siamesev0.py``):
      max(τ + y d^2, 0) with y = +1 for a positive and y = -1 for a negative
      pair. For positives the hinge never binds, so the cost is τ + d^2 (the
      paper's term plus a constant); negatives are hinged on the **squared**
      distance and stop costing once d^2 >= τ, i.e. d >= sqrt(3) ~= 1.73.

    Args:
        emb_a, emb_b: (B, M) embeddings of the two members of each pair.
        is_positive: (B,) bool (or 0/1) tensor, true for positive pairs.

    Returns:
        Scalar tensor: the mean cost over the B pairs.
    """
    check_ndim("emb_a", emb_a, 2)
    check_shape("emb_b", emb_b, tuple(emb_a.shape))
    check_shape("is_positive", is_positive, (emb_a.shape[0],))
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}.")
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin!r}.")
    if is_positive.dtype != torch.bool:
        if bool(((is_positive != 0) & (is_positive != 1)).any()):
            raise ValueError("is_positive must hold only 0/1 or True/False, one flag per pair.")
        is_positive = is_positive != 0
    is_positive = is_positive.to(emb_a.device)
    diff = emb_a - emb_b
    if variant == "paper":
        # vector_norm's gradient at d = 0 is taken as 0, so identical negatives stay finite.
        dist = torch.linalg.vector_norm(diff, dim=1)
        cost = torch.where(is_positive, dist**2, torch.clamp(margin - dist, min=0.0) ** 2)
    else:
        sq_dist = (diff * diff).sum(dim=1)
        sign = torch.where(is_positive, 1.0, -1.0).to(sq_dist.dtype)
        cost = torch.clamp(margin + sign * sq_dist, min=0.0)
    return cost.mean()


def make_pairs(neighbor_indices, n_positive: int, *, random_state=None):
    """Training pairs of notebook 06: N_t nearest neighbours as positives, as many random negatives.

    For every sample i and t = 1..N_t, (i, t-th nearest neighbour of i) is a
    positive pair and (i, r) with r drawn uniformly from the other N - 1
    samples is a negative pair. A random "negative" may share i's class: the
    paper accepts that noise.

    Args:
        neighbor_indices: (N, k) neighbour indices sorted by distance, self
            excluded, k >= n_positive (from :func:`dggbook.model.graph.nearest_neighbors`).
        n_positive: N_t (2, 5, 3, 3 for MNIST, STL-10, Reuters, HHAR).
        random_state: seed or ``numpy.random.Generator`` for the negatives.

    Returns:
        ``(anchors, partners, is_positive)``: int64, int64 and bool tensors of
        length 2 * N * N_t, positives first.
    """
    nbrs = torch.as_tensor(np.asarray(neighbor_indices) if not isinstance(neighbor_indices, torch.Tensor)
                           else neighbor_indices).cpu()
    check_ndim("neighbor_indices", nbrs, 2)
    n, k = nbrs.shape
    check_positive_int("n_positive", n_positive, upper=k, upper_text="the neighbour columns available")
    if n < 2:
        raise ValueError(f"neighbor_indices must have at least 2 rows to draw negatives, got {n}.")
    if nbrs.dtype.is_floating_point or bool(((nbrs < 0) | (nbrs >= n)).any()):
        raise ValueError(f"neighbor_indices must hold integer row indices in [0, {n}).")
    rng = np.random.default_rng(random_state)
    rows = torch.arange(n, dtype=torch.int64)
    pos_anchor = rows.repeat_interleave(n_positive)
    pos_partner = nbrs[:, :n_positive].to(torch.int64).reshape(-1)
    neg_anchor = rows.repeat_interleave(n_positive)
    offsets = torch.from_numpy(rng.integers(1, n, size=n * n_positive).astype(np.int64))
    neg_partner = (neg_anchor + offsets) % n  # never the anchor itself
    anchors = torch.cat([pos_anchor, neg_anchor])
    partners = torch.cat([pos_partner, neg_partner])
    is_positive = torch.cat([torch.ones(n * n_positive, dtype=torch.bool), torch.zeros(n * n_positive, dtype=torch.bool)])
    return anchors, partners, is_positive


class SiameseNet(nn.Module):
    """The Siamese branch of notebook 06: an MLP with the encoder's shape, D-500-500-2000-10, ReLU.

    Args:
        input_dim: D.
        hidden_dims: widths of the hidden ReLU layers; (500, 500, 2000) in the
            paper, something tiny in tests and quick mode.
        embedding_dim: size of the (linear) output embedding, 10 in the paper.

    The linear layers live in ``self.layers`` (an ``nn.Sequential`` with a
    ReLU after every layer but the last).
    """

    def __init__(self, input_dim: int, hidden_dims: Sequence[int] = (500, 500, 2000), embedding_dim: int = 10):
        super().__init__()
        sizes = [input_dim, *hidden_dims, embedding_dim]
        for name, size in zip(["input_dim", *[f"hidden_dims[{i}]" for i in range(len(hidden_dims))],
                               "embedding_dim"], sizes):
            check_positive_int(name, size)
        blocks: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            blocks.append(nn.Linear(int(fan_in), int(fan_out)))
            if i < len(sizes) - 2:
                blocks.append(nn.ReLU())
        self.layers = nn.Sequential(*blocks)
        self.input_dim = int(input_dim)
        self.embedding_dim = int(embedding_dim)
        self.history: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def linear_layers(self) -> list[nn.Linear]:
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    @torch.no_grad()
    def copy_linear_layers(self, sources: Sequence[nn.Linear]) -> "SiameseNet":
        """Copy weights and biases from ``sources``, in order (e.g. a pretrained encoder's trunk + mean head).

        The public code starts the Siamese net from the pretrained encoder;
        this lets a notebook do the same whatever the encoder's module names.
        """
        targets = self.linear_layers()
        if len(sources) != len(targets):
            raise ValueError(f"sources must hold {len(targets)} nn.Linear layers, got {len(sources)}.")
        for i, (src, dst) in enumerate(zip(sources, targets)):
            if src.weight.shape != dst.weight.shape:
                raise ValueError(
                    f"sources[{i}] has weight shape {tuple(src.weight.shape)}, "
                    f"expected {tuple(dst.weight.shape)}."
                )
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
        return self


def _seed_from(random_state) -> int:
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(np.random.default_rng(random_state).integers(2**62))


def train_siamese(
    X,
    *,
    n_positive: int = 2,
    epochs: int = 300,
    lr: float = 5e-4,
    weight_decay: float = 1e-4,
    lr_step: int = 70,
    batch_size: int = 1000,
    variant: str = "paper",
    margin: float = 3.0,
    hidden_dims: Sequence[int] = (500, 500, 2000),
    embedding_dim: int = 10,
    neighbor_indices=None,
    device="cpu",
    random_state=None,
    init_state_dict=None,
    progress: bool = True,
    step: str = "eager",
    precision: str = "fp32",
) -> SiameseNet:
    """Train the Siamese network of notebook 06 with the contrastive loss of eq. (19).

    Pairs come from :func:`make_pairs` on the Euclidean neighbours of ``X``
    (or on ``neighbor_indices`` when given) and are drawn once. Each epoch
    shuffles them into mini-batches of ``batch_size`` pairs; Adam with
    ``weight_decay`` takes a step per batch; the learning rate is multiplied by
    0.1 every ``lr_step`` epochs (paper: 5e-4, 70, 1e-4; the public code used
    lr 1e-3 and 300 epochs of batches of 1000).

    On CPU the result is a deterministic function of ``random_state`` (an
    int); the global RNG is left untouched.

    Args:
        X: (N, D) training data.
        hidden_dims, embedding_dim: network shape (see :class:`SiameseNet`).
        init_state_dict: optional state dict for :class:`SiameseNet` to start
            from (keys ``layers.0.weight``, ``layers.0.bias``, ``layers.2.weight``, ...).
        progress: show a tqdm bar over epochs.
        step, precision: how each step runs (:func:`dggbook.model.runtime.run_epochs`): ``"compiled"`` through
            torch.compile (CUDA graphs on CUDA), ``"tf32"``/``"bf16"`` products; defaults eager and float32.

    Returns:
        The trained :class:`SiameseNet` in eval mode, on ``device``; its
        ``history`` lists the mean loss of every epoch.
    """
    feats = as_feature_matrix("X", X).to(torch.float32)
    n = feats.shape[0]
    if n < 3:
        raise ValueError(f"X must have at least 3 rows to form pairs, got {n}.")
    check_positive_int("n_positive", n_positive, upper=n - 1, upper_text="N - 1")
    for name, value in (("epochs", epochs), ("lr_step", lr_step), ("batch_size", batch_size)):
        check_positive_int(name, value)
    check_positive_number("lr", lr)
    if not (isinstance(weight_decay, numbers.Real) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}.")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}.")
    check_step(step)
    check_precision(precision)
    dev = pick_device(device)
    seed = _seed_from(random_state)

    if neighbor_indices is None:
        neighbor_indices, _ = nearest_neighbors(feats, n_positive, device=dev)
    anchors, partners, is_positive = make_pairs(neighbor_indices, n_positive, random_state=seed)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SiameseNet(feats.shape[1], hidden_dims, embedding_dim).to(torch.float32)  # whatever the default dtype
    if init_state_dict is not None:
        net.load_state_dict(init_state_dict)
    net.to(dev)
    feats = feats.to(dev)

    optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=lr_step, gamma=0.1)
    anchors, partners, is_positive = anchors.to(dev), partners.to(dev), is_positive.to(dev)
    if step == "compiled":
        static_on_cuda(feats, anchors, partners, is_positive)

    def batch_loss(batch):
        emb_a, emb_b = net(feats[anchors[batch]]), net(feats[partners[batch]])
        return contrastive_loss(emb_a, emb_b, is_positive[batch], margin=margin, variant=variant)

    net.train()
    net.history.extend(run_epochs("siamese", optimizer, batch_loss, anchors.shape[0], batch_size, epochs,
                                  device=dev, scheduler=scheduler, generator=torch.Generator().manual_seed(seed),
                                  verbose=progress, step=step, precision=precision))
    net.eval()
    return net


@torch.no_grad()
def embed(net: nn.Module, X, batch_size: int = 4096):
    """Embed ``X`` with ``net`` in eval mode, ``batch_size`` rows at a time.

    Returns a NumPy array for array input and a tensor (on ``X``'s device) for
    tensor input.
    """
    check_positive_int("batch_size", batch_size)
    was_tensor = isinstance(X, torch.Tensor)
    feats = as_feature_matrix("X", X).to(torch.float32)
    param = next(net.parameters(), None)
    dev = param.device if param is not None else torch.device("cpu")
    was_training = net.training
    net.eval()
    outs = [net(feats[start:start + batch_size].to(dev)) for start in range(0, feats.shape[0], batch_size)]
    net.train(was_training)
    out = torch.cat(outs) if outs else torch.empty((0, getattr(net, "embedding_dim", 0)))
    return out.to(X.device) if was_tensor else out.cpu().numpy()
