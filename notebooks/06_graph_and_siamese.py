# %% [markdown]
# # 06 — The neighbour graph and the Siamese embedding
#
# DGG does not cluster each sample alone. Every sample $x_i$ is tied to a set
# $N(i)$ of $J$ neighbours, and the objective mixes the ELBO of $x_i$ with
# cross terms $L(x_i, x_j)$ weighted by $w_{ij}$. This notebook looks at the
# ingredients of that graph one at a time:
#
# 1. which samples end up as neighbours when distances are taken on raw pixels;
# 2. how the weights $w_{ij}$ are spread over the $J$ neighbours, including what
#    the public code's `sigma = dist_temp[11]` really computes (open question 7);
# 3. the Siamese network of eq. (19), whose embedding the paper uses instead of pixels;
# 4. how often a neighbour has the sample's own label, for the nearest $J$ against
#    $J$ drawn at random from the top 100 (open question 4).
#
# Everything is computed by `dggbook`; the cells below only call it, draw, and check.

# %%
from dggbook.book import setup_book

settings = setup_book(seed=0)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from dggbook.derivation.reproductions import public_code_gauss_weights, public_code_row11_window
from dggbook.book import savefig
from dggbook.model.data import load_dataset
from dggbook.model.graph import graph_from_neighbors, nearest_neighbors
from dggbook.model.siamese import contrastive_loss, embed, train_siamese

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 110})

# %% [markdown]
# ## Scale
#
# Three settings, chosen from `settings`:
#
# | mode | data | Siamese net | epochs |
# |---|---|---|---|
# | CUDA | MNIST, all 70,000 images (paper scale) | 784-500-500-2000-10 | 300, batch 1000, lr ×0.1 every 70 |
# | CPU | scikit-learn digits, 1,797 images of 8×8 | 64-500-500-2000-10 | 10, batch 256 |
# | quick (CI) | 500 random digits | 64-32-32-10 | 3, batch 256 |
#
# The graph always has the public MNIST code's sizes: $J = 20$ neighbours, and a pool of the
# top 100 for the random selection. On CPU the Siamese net keeps the paper's shape but gets
# far fewer epochs, with smaller batches so that each epoch still takes a few dozen steps.

# %%
J, POOL = 20, 100
if settings.quick:
    digits = load_dataset("digits")
    keep = np.sort(np.random.default_rng(settings.seed).choice(digits.n_samples, 500, replace=False))
    X, y, image_shape = digits.X[keep], digits.y[keep], digits.image_shape
    siamese_kw = dict(hidden_dims=(32, 32), epochs=3, batch_size=256, lr_step=70)
elif settings.device.type == "cuda":
    data = load_dataset("mnist")
    X, y, image_shape = data.X, data.y, data.image_shape
    siamese_kw = dict(hidden_dims=(500, 500, 2000), epochs=300, batch_size=1000, lr_step=70)
else:
    data = load_dataset("digits")
    X, y, image_shape = data.X, data.y, data.image_shape
    siamese_kw = dict(hidden_dims=(500, 500, 2000), epochs=10, batch_size=256, lr_step=70)
N = X.shape[0]
print(f"N = {N} samples of dimension {X.shape[1]}, {np.unique(y).size} classes; J = {J}, pool = {POOL}")
print("Siamese settings:", siamese_kw)

# %% [markdown]
# ## 1. Neighbours in pixel space (§5)
#
# One exact search for the 100 nearest samples of every $x_i$ (Euclidean distance on raw
# pixels, the sample itself left out) feeds every graph in this notebook: the nearest 20
# are its first 20 columns, and the random selection draws from all 100.

# %%
start = time.perf_counter()
pool_idx, pool_dist = nearest_neighbors(X, POOL, device=settings.device)
print(f"exact {POOL}-NN search: {time.perf_counter() - start:.1f} s; indices {tuple(pool_idx.shape)}")
assert bool((pool_dist[:, 1:] >= pool_dist[:, :-1]).all()), "each row must be sorted by distance"

# %% [markdown]
# Below, each row starts with an anchor (blue frame) followed by its 20 nearest samples in
# order of distance. A red frame marks a neighbour whose label differs from the anchor's.
# The first four anchors are drawn at random; the last two are the anchors with the most
# wrong-label neighbours in the whole set, to show where pixel distance fails.

# %%
nearest_px = graph_from_neighbors(pool_idx, pool_dist, J, selection="nearest")
wrong = y[nearest_px.indices.numpy()] != y[:, None]  # (N, J): neighbour j of i has another label
rng = np.random.default_rng(settings.seed)
assert abs((1 - wrong.mean()) - nearest_px.purity(y)) < 1e-12  # the same count as NeighborGraph.purity
anchors = list(rng.choice(N, 4, replace=False)) + list(np.argsort(-wrong.sum(1), kind="stable")[:2])

fig, axes = plt.subplots(len(anchors), J + 1, figsize=(0.5 * (J + 1), 0.58 * len(anchors)))
for row, i in zip(axes, anchors):
    shown = [i, *nearest_px.indices[i].tolist()]
    for col, (ax, j) in enumerate(zip(row, shown)):
        ax.imshow(X[j].reshape(image_shape), cmap="gray_r")
        ax.set_xticks([]), ax.set_yticks([])
        colour, width = ("tab:blue", 2.0) if col == 0 else (("tab:red", 2.0) if wrong[i, col - 1] else ("0.8", 0.5))
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(width)
    row[0].set_ylabel(f"y={y[i]}", rotation=0, ha="right", va="center", fontsize=8)
axes[0, 0].set_title("anchor", fontsize=8)
for col in range(1, J + 1):
    axes[0, col].set_title(str(col), fontsize=7)
fig.suptitle(f"anchor and its {J} nearest samples in pixel space (red: other label)", fontsize=9)
savefig(fig, "neighbors_examples")
plt.show()
print("wrong-label neighbours in the rows shown:", [int(wrong[i].sum()) for i in anchors])

# %% [markdown]
# ## 2. How the weights are spread over the neighbours
#
# The paper weights neighbour $x_j \in N(i)$ by a Gaussian kernel, normalised over the row:
#
# $$w_{ij} = \frac{\exp(-\lVert x_i - x_j\rVert^2 / 2 s_i^2)}{\sum_{l \in N(i)} \exp(-\lVert x_i - x_l\rVert^2 / 2 s_i^2)} \qquad (\S 5)$$
#
# and leaves the window $s_i$ "set in advance". Three choices are compared:
#
# * **fixed window**: one $s$ for everybody, here the median distance to a 20-nearest neighbour;
# * **local scaling** (self-tuning spectral clustering): $s_i$ = distance from $x_i$ to its
#   7th neighbour, so a sample in a dense region gets a narrow kernel and a sample in a sparse
#   region a wide one;
# * **uniform** $w_{ij} = 1/J$: what every committed run of the public code uses.
#
# The plot follows three anchors: the one in the densest region (smallest $s_i$), a typical
# one (median $s_i$), and the one in the sparsest region (largest $s_i$).

# %%
fixed_s = float(pool_dist[:, :J].median())
kernels = {
    f"Gaussian, fixed s = {fixed_s:.2f}": graph_from_neighbors(pool_idx, pool_dist, J, weights="gaussian", window=fixed_s),
    "Gaussian, local scaling (k = 7)": graph_from_neighbors(pool_idx, pool_dist, J, weights="local_scaling", local_scale_k=7),
    "uniform 1/J (public code)": graph_from_neighbors(pool_idx, pool_dist, J, weights="uniform"),
}
s_local = pool_dist[:, 6]  # the local-scaling window: distance to the 7th neighbour
order = torch.argsort(s_local)
rows_shown = {"densest": int(order[0]), "median": int(order[N // 2]), "sparsest": int(order[-1])}

fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True)
ranks = np.arange(1, J + 1)
for ax, (name, i) in zip(axes, rows_shown.items()):
    for label, graph in kernels.items():
        ax.plot(ranks, graph.weights[i].numpy(), marker="o", ms=3, label=label)
    ax.set_title(f"{name} anchor: s_i = {s_local[i]:.2f}", fontsize=9)
    ax.set_xlabel("neighbour rank j")
axes[0].set_ylabel("w_ij")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# All three weightings are probability distributions over $N(i)$: each row must sum to one
# (checked to $10^{-5}$, the float32 weights' rounding). That normalisation is what lets the
# $\ln p(x_i)$ terms cancel in blog step (3).
#
# The "effective number of neighbours" $1/\sum_j w_{ij}^2$ summarises how concentrated a row
# is: $J$ for uniform weights, 1 when a single neighbour takes all the weight. Two things to
# check with it:
#
# * With a window of the size of the neighbour distances, the Gaussian hardly departs from
#   uniform over only 20 neighbours: the 20 nearest distances of a sample are all of a similar
#   size, so the kernel is nearly flat across them. The cell asserts that the median row keeps
#   more than $0.75\,J$ effective neighbours.
# * A narrower window always concentrates a row more. (For weights proportional to
#   $e^{-\beta \Delta_j}$, $\ln \sum_j w_j^2$ has derivative $2(\langle\Delta\rangle_\beta -
#   \langle\Delta\rangle_{2\beta}) \ge 0$ in $\beta = 1/2s^2$.) So where local scaling's $s_i$
#   is below the fixed $s$, as for the densest anchor, it gives fewer effective neighbours than
#   the fixed window, and where $s_i$ is above it, as for the sparsest anchor, more. The plot
#   above shows this: in the dense row local scaling is the steeper curve, in the sparse row
#   the fixed window is.

# %%
effective = {}
for label, graph in kernels.items():
    w = graph.weights.double()
    torch.testing.assert_close(w.sum(dim=1), torch.ones(N, dtype=torch.float64), atol=1e-5, rtol=0)
    effective[label] = 1.0 / (w**2).sum(dim=1)
    q = np.quantile(effective[label].numpy(), [0.0, 0.5, 1.0])
    print(f"{label:<34} effective neighbours: min {q[0]:5.2f}  median {q[1]:5.2f}  max {q[2]:5.2f}")
eff_fixed, eff_local, eff_uniform = effective.values()
torch.testing.assert_close(eff_uniform, torch.full((N,), float(J), dtype=torch.float64), atol=1e-3, rtol=0)
assert float(eff_fixed.median()) > 0.75 * J and float(eff_local.median()) > 0.75 * J
dense, sparse = rows_shown["densest"], rows_shown["sparsest"]
assert s_local[dense] < fixed_s < s_local[sparse]
# 1e-4: slack for the float32 weights; the inequality itself is exact
assert eff_local[dense] <= eff_fixed[dense] + 1e-4 and eff_local[sparse] >= eff_fixed[sparse] - 1e-4

# %% [markdown]
# ### What `sigma = dist_temp[11]` does (open question 7)
#
# The public code's Gaussian branch works on a mini-batch of $B$ anchors laid out as a
# $(B, 1+J)$ matrix of **squared** distances: column 0 is each anchor's distance to itself
# (zero), columns $1..J$ its distances to its neighbours, sorted. It then writes
# `sigma = dist_temp[11]`. On a 2-D tensor one integer index picks a **row**, so `sigma` is
# the sorted distance list of the 12th anchor in the batch, and column $j$ of *every* anchor
# is divided by the 12th anchor's $j$-th squared distance (with no factor 2, and a squared
# distance where §5 has $s_i^2$). `public_code_row11_window` and
# `public_code_gauss_weights` reproduce this. Three properties to check:
#
# * the window is one vector shared by the whole batch, equal to row 11, and its first entry is 0
#   (so column 0 becomes $0/0$, NaN, before being overwritten);
# * the weights of an anchor depend on which sample happens to sit at position 11 of its batch;
# * rows are not normalised: they do not sum to one. The anchor at position 11 is the one case
#   that can be worked out by hand: each of its neighbours is divided by its own distance and gets
#   $e^{-1}$, the self column adds the same again, so its row sums to $2J/e \approx 14.7$.

# %%
B = 64
batch_a = np.arange(B)                           # anchors 0..63
batch_b = batch_a.copy()
batch_b[[11, 12]] = batch_b[[12, 11]]            # same anchors, another sample in position 11


def code_layout(batch):
    """(B, 1+J) squared distances, self (0) in column 0, as the public code lays them out."""
    return torch.cat([torch.zeros(len(batch), 1), pool_dist[torch.as_tensor(batch), :J] ** 2], dim=1)


dist_a, dist_b = code_layout(batch_a), code_layout(batch_b)
window_a, window_b = public_code_row11_window(dist_a), public_code_row11_window(dist_b)
w_code_a, w_code_b = public_code_gauss_weights(dist_a), public_code_gauss_weights(dist_b)

assert torch.equal(window_a, dist_a[11]), "the window is row 11 of the batch"
assert window_a[0] == 0 and bool(torch.isnan(dist_a[:, 0] / window_a[0]).all()), "column 0 is 0/0"
assert not bool(torch.isnan(w_code_a).any()), "the NaN is hidden by overwriting the self weight"
# anchor 0 has the same distances in both batches, yet gets different weights
assert torch.equal(dist_a[0], dist_b[0]) and not torch.allclose(w_code_a[0], w_code_b[0])
row_sums_code = w_code_a.sum(dim=1)
# anchor 11 is divided by its own distances: each neighbour gets exp(-1), the self column J exp(-1)
torch.testing.assert_close(row_sums_code[11], torch.tensor(2 * J * np.exp(-1.0), dtype=torch.float32), rtol=1e-5, atol=0)
assert float((row_sums_code - 1).abs().max()) > 0.5, "rows are not normalised"
print(f"window (row 11), first entries: {window_a[:4].numpy().round(2)}")
print(f"row sums of the public-code weights: min {row_sums_code.min():.2f}, max {row_sums_code.max():.2f} (paper: 1)")

# %% [markdown]
# The left panel shows the weights the code gives anchor 0 in the two batches (they differ
# only in which sample sits at position 11), next to the paper's normalised local-scaling
# weights. The right panel shows that the code's row sums are far from one; column 0 (the
# self weight) is included, as the code uses it.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(ranks, w_code_a[0, 1:].numpy(), marker="o", ms=3, label=f"public code, sample {batch_a[11]} at position 11")
axes[0].plot(ranks, w_code_b[0, 1:].numpy(), marker="s", ms=3, label=f"public code, sample {batch_b[11]} at position 11")
axes[0].plot(ranks, kernels["Gaussian, local scaling (k = 7)"].weights[batch_a[0]].numpy(),
             marker="^", ms=3, label="paper §5, local scaling (row sums to 1)")
axes[0].set_xlabel("neighbour rank j"), axes[0].set_ylabel("weight of anchor 0")
axes[0].legend(fontsize=7)
axes[1].hist(row_sums_code.numpy(), bins=20, color="tab:gray")
axes[1].axvline(1.0, color="tab:red", ls="--", label="1 (a normalised row)")
axes[1].set_xlabel("row sum of public-code weights (self column included)"), axes[1].set_ylabel("anchors")
axes[1].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# None of this affects the published MNIST numbers, because those runs use uniform weights and
# never enter the Gaussian branch. Anyone switching the branch on would get weights that depend
# on batch order and rows that do not sum to one, so the $\ln p(x_i)$ terms would no longer cancel.
# Local scaling (above) is a per-sample window that keeps the paper's normalisation.

# %% [markdown]
# ## 3. The Siamese network, eq. (19)
#
# The paper finds neighbours in the embedding $e_i$ of a Siamese network rather than in pixel
# space. Each sample is paired with its $N_t$ nearest pixel-space neighbours (positives,
# $N_t = 2$ for MNIST) and with as many random samples (negatives). With
# $d = \lVert e_i - e_j \rVert$ and margin $c = 3$, the paper's contrastive loss is
#
# $$\ell = \begin{cases} d^2 & \text{positive pair} \\ \max(c - d, 0)^2 & \text{negative pair} \end{cases} \qquad (19)$$
#
# The public code hinges on the squared distance instead: $\max(c + y\,d^2, 0)$ with $y = +1$
# for a positive and $y = -1$ for a negative pair. For positives this is $d^2$ plus a constant,
# so the gradient is the same; negatives stop being pushed apart at $d = \sqrt{3} \approx 1.73$
# rather than at $d = 3$.

# %%
distances = np.linspace(0.0, 4.0, 161)


def pair_cost(d, positive, variant):
    """Cost of one pair at embedding distance d, from dggbook's contrastive_loss (eq. (19))."""
    emb_a, emb_b = torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), d, dtype=torch.float64)
    return contrastive_loss(emb_a, emb_b, torch.tensor([positive]), margin=3.0, variant=variant).item()


costs = {(v, p): np.array([pair_cost(d, p, v) for d in distances])
         for v in ("paper", "public_code") for p in (True, False)}
# both sides: the library against the formulas written above
np.testing.assert_allclose(costs["paper", True], distances**2, atol=1e-12)
np.testing.assert_allclose(costs["paper", False], np.maximum(3.0 - distances, 0.0) ** 2, atol=1e-12)
np.testing.assert_allclose(costs["public_code", True], 3.0 + distances**2, atol=1e-12)
np.testing.assert_allclose(costs["public_code", False], np.maximum(3.0 - distances**2, 0.0), atol=1e-12)

fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
for ax, positive in zip(axes, (True, False)):
    ax.plot(distances, costs["paper", positive], label="paper (19)")
    ax.plot(distances, costs["public_code", positive], ls="--", label="public code")
    ax.set_title("positive pair" if positive else "negative pair", fontsize=9)
    ax.set_xlabel("embedding distance d")
axes[1].axvline(np.sqrt(3), color="0.6", lw=0.8), axes[1].axvline(3.0, color="0.6", lw=0.8)
axes[0].set_ylabel("cost of the pair"), axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Now train the network with the paper's loss, $N_t = 2$, Adam with lr $5\cdot 10^{-4}$ and
# weight decay $10^{-4}$. Here the network starts from random weights; the public code starts
# it from the pretrained encoder, which is what the `DGG` estimator does with `use_siamese=True`
# (and `graph_space="input"`).
# The pairs are drawn once, from the pixel-space neighbours.

# %%
start = time.perf_counter()
net = train_siamese(X, n_positive=2, variant="paper", lr=5e-4, weight_decay=1e-4, device=settings.device,
                    random_state=settings.seed, progress=False, **siamese_kw)
siamese_seconds = time.perf_counter() - start
history = np.array(net.history)
print(f"trained {len(history)} epochs in {siamese_seconds:.1f} s; loss {history[0]:.3f} -> {history[-1]:.3f}")
assert np.isfinite(history).all() and history[-1] < history[0], "the contrastive loss should go down"

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, len(history) + 1), history, marker="o", ms=3)
ax.set_xlabel("epoch"), ax.set_ylabel("mean contrastive loss (19)")
ax.set_yscale("log")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Neighbour purity: nearest 20 or 20 random of the top 100? (open question 4)
#
# The public code takes the 100 nearest samples in the Siamese embedding and keeps 20 of them at
# random; the blog asks why not simply the nearest 20. One way to compare is **purity**: the
# share of (sample, neighbour) pairs with the same label. Labels are used only to measure, never
# to build the graph. Random selection is repeated with five seeds (mean ± standard deviation).
#
# Since the 20 are drawn uniformly from the pool, their expected purity equals the purity of the
# whole top-100 pool; the table shows that column too, and the check below uses it.

# %%
start = time.perf_counter()
emb = embed(net, X)
emb_idx, emb_dist = nearest_neighbors(emb, POOL, device=settings.device)
print(f"embedding {emb.shape} and its {POOL}-NN search: {time.perf_counter() - start:.1f} s")

# %%
# BOOK_CHECK_OUTPUT  (make book-check: this output must match the committed one)
SEEDS = range(5)
purity = {}
for space, (idx, dist) in {"pixels (Euclidean)": (pool_idx, pool_dist), "Siamese embedding": (emb_idx, emb_dist)}.items():
    random_top = [graph_from_neighbors(idx, dist, J, selection="random_top", pool_size=POOL, random_state=s).purity(y)
                  for s in SEEDS]
    purity[space] = {
        "nearest": graph_from_neighbors(idx, dist, J, selection="nearest").purity(y),
        "random_top": float(np.mean(random_top)),
        "random_top_sd": float(np.std(random_top)),
        "pool": graph_from_neighbors(idx, dist, POOL, selection="nearest").purity(y),
    }

print(f"{'space':<20} {'nearest ' + str(J):>11} {f'{J} random of top {POOL}':>24} {f'all top {POOL}':>12}")
for space, p in purity.items():
    print(f"{space:<20} {p['nearest']:>11.4f} {p['random_top']:>15.4f} ± {p['random_top_sd']:.4f} {p['pool']:>12.4f}")

# %% [markdown]
# Checks on what was measured:
#
# * every purity lies in $[0, 1]$;
# * in pixel space the nearest 20 are purer than 20 random of the top 100, by at least 0.02
#   (the gap is about 0.05 on all of MNIST and larger on digits);
# * in the Siamese embedding the nearest 20 are no less pure than the pool, allowing 0.01;
# * the random selection's purity matches the pool's within 0.01 (they are equal in
#   expectation, and each estimate averages $N \times 20 \times 5$ pairs);
# * outside quick mode, where the network is trained long enough to mean something, the
#   Siamese embedding makes the random-of-top-100 graph purer than it is in pixel space.

# %%
for space, p in purity.items():
    assert all(0.0 <= p[key] <= 1.0 for key in ("nearest", "random_top", "pool")), space
    assert abs(p["random_top"] - p["pool"]) < 0.01, f"{space}: random-of-pool purity should match the pool's"
px, sia = purity["pixels (Euclidean)"], purity["Siamese embedding"]
assert px["nearest"] >= px["random_top"] + 0.02, "in pixel space the nearest J should be purer"
assert sia["nearest"] >= sia["pool"] - 0.01, "in the embedding the nearest J should not be less pure"
if not settings.quick:
    assert sia["random_top"] > px["random_top"], "the Siamese embedding should purify the random-of-top-100 graph"

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
spaces = list(purity)
x = np.arange(len(spaces))
ax.bar(x - 0.2, [purity[s]["nearest"] for s in spaces], width=0.4, label=f"nearest {J}")
ax.bar(x + 0.2, [purity[s]["random_top"] for s in spaces], width=0.4,
       yerr=[purity[s]["random_top_sd"] for s in spaces], capsize=3, label=f"{J} random of top {POOL}")
for xi, s in zip(x, spaces):
    ax.text(xi - 0.2, purity[s]["nearest"] + 0.01, f"{purity[s]['nearest']:.3f}", ha="center", fontsize=8)
    ax.text(xi + 0.2, purity[s]["random_top"] + 0.01, f"{purity[s]['random_top']:.3f}", ha="center", fontsize=8)
ax.set_xticks(x, spaces)
ax.set_ylim(0, 1.2)
ax.set_ylabel("neighbour purity")
ax.legend(fontsize=8, loc="upper center", ncol=2)
ax.set_title(f"share of neighbours with the anchor's label (N = {N})", fontsize=9)
plt.tight_layout()
savefig(fig, "neighbor_purity")
plt.show()

# %% [markdown]
# ### What the measurement says
#
# * Picking 20 at random from the top 100 costs purity: on average it reaches exactly as deep as
#   the 100th neighbour, so its purity is that of the whole pool, while the nearest 20 stay
#   close to the anchor. In pixel space the gap is clear.
# * The Siamese embedding is trained to pull near neighbours together and push random pairs
#   apart, so a class fills more of each sample's top 100. That raises the purity of the random
#   selection most, and it is the combination the public code relies on. (In quick mode the
#   tiny network trained for three epochs is not good enough for this; its numbers mean little.)
# * Purity is only one side of the trade. A random pick reaches further and spreads the graph,
#   which may help the mixture tie a class together; whether that pays off in clustering accuracy
#   is a question for the full DGG runs, not for this notebook. On purity alone, the nearest 20
#   are at least as good in both spaces.
