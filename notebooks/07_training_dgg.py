# %% [markdown]
# # 07 — Training DGG end to end
#
# The earlier notebooks took DGG apart: the bound and its four terms (eq. (4), (5)), the
# closed-form prior update (31), the graph and the Siamese embedding (eq. (19)). Here the
# parts run together, through the one estimator `dggbook.model.estimator.DGG`:
#
# 1. **initialisation** (notes §7): a stacked denoising autoencoder trained layer by layer,
#    fine-tuned end to end and then as a VAE; a starting partition of the latent means
#    $\tilde\mu$ sets the GMM means $\mu_k$ and variances $\sigma_k^2$, and its labels train the
#    classifier $f_2$. The paper takes k-means on $\tilde\mu$; the CPU presets take UMAP of
#    $\tilde\mu$ followed by a Gaussian mixture, which section 7 shows is the better start;
# 2. **the graph**: $J$ neighbours per sample, found in pixel space (the presets used here),
#    in the Siamese embedding of eq. (19) (the paper), or in UMAP of $\tilde\mu$ (the
#    estimator's default, `graph_space`), with weights $w_{ij}$ that sum to one over each row;
# 3. **Algorithm 1**: mini-batches of anchors, a gradient step on
#
#    $$\tfrac12 \textstyle\sum_{j \in N(i)} w_{ij}\,\big[\,L(x_i) + L(x_i, x_j)\,\big] \tag{3}$$
#
#    for the networks and $\{\mu_k, \sigma_k\}$, then the per-sample priors $\pi_i$ replaced by (31).
#
# Then we look at what came out: the loss terms and the scores per epoch, the latent space with
# the GMM means in it, the images the decoder draws at each $\mu_k$, and final scores against
# two baselines. Every number comes from a library call; this notebook only calls, draws and checks.

# %%
from dggbook.book import setup_book

settings = setup_book(seed=0)

# %%
import plotly.io as pio

pio.renderers.default = "plotly_mimetype"  # store only the figure's JSON, not plotly's JavaScript

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.cluster import KMeans

from dggbook.book import savefig
from dggbook.model.data import load_dataset
from dggbook.model.estimator import DGG
from dggbook.model.vade import VaDE
from dggbook.model.presets import settings_for
from dggbook.model.metrics import clustering_scores
from dggbook.book.plots import (decode_gmm_means, history_table, match_clusters, plot_image_grid, plot_latent_2d,
                           plot_latent_3d, plot_training_curves)

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 110})

# %% [markdown]
# ## Scale
#
# The settings come from the library's presets, `settings_for(dataset, device)`, never from
# this notebook:
#
# | mode | data | networks | start, $f_2$ | graph | Algorithm 1 |
# |---|---|---|---|---|---|
# | CUDA | MNIST, all 70,000 images | 784-500-500-2000-10 (the paper's) | k-means, linear (the paper's) | 20 of the top 100 in a Siamese embedding | 300 epochs, lr 2e-3 |
# | CPU | scikit-learn digits, 1,797 images of 8×8 | 64-256-256-512-10 | UMAP → GMM, one hidden layer of 128 | nearest 20 in pixel space | 60 epochs, lr 2e-3 |
# | quick (CI) | digits | 64-64-64-128-10 | k-means, linear | nearest 10 in pixel space | 10 epochs |
#
# On CPU and in quick mode the preset also swaps the Bernoulli likelihood for a Gaussian one
# with a small variance and draws one neighbour per anchor and step in proportion to $w_{ij}$
# (an unbiased estimate of the sum over $j$ in (3), at two network passes per anchor instead
# of $J + 1$). The cell prints exactly what was chosen.

# %%
dataset_name = "mnist" if (settings.device.type == "cuda" and not settings.quick) else "digits"
data = load_dataset(dataset_name)
X, y, K = data.X, data.y, data.n_clusters
params = settings_for(dataset_name, settings.device)
print(data)
shown = ("likelihood", "hidden_dims", "latent_dim", "init", "classifier_hidden_dims", "n_neighbors",
         "neighbor_selection", "weights", "use_siamese", "n_neighbor_samples", "layerwise_epochs", "autoencoder_epochs",
         "vae_epochs", "classifier_epochs", "epochs", "batch_size", "lr")
for key in shown:
    print(f"  {key:<20} {params.get(key, DGG().get_params()[key])}")

# %% [markdown]
# ## 1. Fit
#
# One call runs all three stages. The labels `y` go to `fit` only so that the estimator can
# record ACC and NMI after every epoch; no stage reads them. With `cache_dir=True` (the
# estimator's cache is opt-in), pretrained weights, the Siamese embedding and per-epoch
# checkpoints are cached under `build/cache/` (keyed by data, settings and seed), so running
# this cell again loads the finished work instead of repeating it.
#
# The estimator reports the wall time of each stage of this call (`stage_seconds_`), whether
# the initialisation was loaded from the cache (`pretrain_from_cache_`), and after how many
# epochs a checkpoint was resumed (`resumed_from_epoch_`). The history keeps each epoch's time.

# %%
model = DGG(K, **params, cache_dir=True, random_state=settings.seed)
model.fit(X, y)

table = history_table(model.history_)
stages = model.stage_seconds_
print(f"fit: {model.fit_seconds_:.1f} s in total")
print(f"  initialisation:               {stages['pretrain']:6.1f} s"
      + (" (loaded from the cache)" if model.pretrain_from_cache_ else ""))
print(f"  graph:                        {stages['graph']:6.1f} s")
epoch_seconds = float(table["seconds"].sum())  # recorded when each epoch ran, so it survives a resume
print(f"  Algorithm 1, {len(table['epoch']):>3} epochs:      {epoch_seconds:6.1f} s "
      f"({epoch_seconds / len(table['epoch']):.2f} s per epoch, ACC/NMI monitoring included)")
if model.resumed_from_epoch_:
    print(f"  (this call resumed after epoch {model.resumed_from_epoch_} of a checkpoint: {stages['dgg']:.1f} s)")

assert len(model.history_) == params["epochs"]
assert np.isfinite(table["loss"]).all()
assert model.labels_.shape == (data.n_samples,)

# %% [markdown]
# ## 2. Training curves
#
# Each epoch records the weighted mean over anchors of the four terms of (4)/(5) and of their
# sum, the objective (3) that Algorithm 1 maximises (so higher is better in every panel):
#
# - term 1, $\mathbb{E}\ln p(x|z)$: how well the decoder reconstructs;
# - term 2, $\mathbb{E}\ln p(z|c)$: how well the samples fit their mixture component;
# - term 3, $\mathbb{E}\ln p(c)/q(c|z)$: $-\mathrm{KL}(\gamma_i \,\|\, \pi_i)$, which penalises a cluster posterior far from the prior $\pi_i$;
# - term 4, $-\mathbb{E}\ln q(z|x)$: the entropy of the encoder's posterior.
#
# The last panel shows ACC and NMI of $\arg\max_k \gamma_{ik}$ per epoch, with the ACC of the
# starting partition (the labels that trained $f_2$) as a dashed line.

# %%
init_scores = clustering_scores(y, model.start_labels_)
start_name = {"kmeans": "k-means on μ̃", "gmm": "GMM on μ̃", "umap": "UMAP of μ̃ → GMM"}[model.init]
fig = plot_training_curves(model.history_, reference={f"{start_name} (start)": init_scores["acc"]},
                           title=f"DGG on {dataset_name}: Algorithm 1, seed {settings.seed}")
savefig(fig, "training_curves")
plt.show()
first, last = model.history_[0], model.history_[-1]
print(f"objective (3): epoch 1 {first['total']:.2f} -> epoch {last['epoch']} {last['total']:.2f}")
print(f"ACC: initialisation {init_scores['acc']:.4f}, epoch 1 {first['acc']:.4f}, last epoch {last['acc']:.4f}")
assert last["total"] > first["total"], "Algorithm 1 should raise its objective"

# %% [markdown]
# ## 3. The latent clusters
#
# The encoder's means $\tilde\mu(x)$ live in $M = 10$ dimensions, and so do the GMM means
# $\mu_k$. A PCA fitted on $\tilde\mu$ projects both with the same linear map, so a star sits
# where its component's centre falls in the picture. Left: points coloured by predicted cluster.
# Right: by true label. Each cluster takes the colour of the class it is matched to by the
# Hungarian assignment that defines ACC, so where the two panels agree the colours agree.
# The number next to a star is its cluster index $k$.

# %%
Z = model.transform(X)  # mu~(x), (N, M)
means = model.networks_.gmm.means.detach().cpu().numpy()  # mu_k, (K, M)
labels = model.labels_
fig = plot_latent_2d(Z, labels, y, means, title=f"latent means μ̃ of {dataset_name} (PCA to 2-D)")
savefig(fig, "latent_clusters")
plt.show()
assert Z.shape == (data.n_samples, model.latent_dim) and np.isfinite(means).all()

# %% [markdown]
# Two components keep only part of the spread of a 10-D latent space, and clusters that look
# merged above may sit apart along a third axis. The interactive view below projects to three
# components (drag to rotate; hover for the label). At most 3,000 random points are drawn, so
# that the stored figure stays small.

# %%
plot_latent_3d(Z, labels, y, means, max_points=3000, random_state=settings.seed,
               title="latent means μ̃ (PCA to 3-D): predicted cluster vs true label").show()

# %% [markdown]
# ## 4. What each component draws
#
# The decoder $g$ maps a latent point to the mean of $p(x|z)$. Applied to a GMM mean it gives
# the image that component stands for, $\mathbb{E}[x \mid z = \mu_k]$. The top row shows
# $g(\mu_k)$; the bottom row, for comparison, the pixel-wise average of the images assigned to
# cluster $k$. Columns are sorted by matched class, and each title says $k \to$ class.

# %%
decoded = decode_gmm_means(model)  # (K, D)
mapping = match_clusters(y, labels, K)
order = np.argsort(mapping, kind="stable")
cluster_average = np.stack([X[labels == k].mean(axis=0) if np.any(labels == k) else np.zeros(X.shape[1])
                            for k in order])
titles = [f"g(μ{k}) → {mapping[k]}" for k in order] + [f"avg of {k}" for k in order]
fig = plot_image_grid(np.vstack([decoded[order], cluster_average]), data.image_shape, titles=titles, ncols=K,
                      title="top: decoder at each GMM mean; bottom: average image of the cluster")
savefig(fig, "decoded_means")
plt.show()
assert decoded.shape == (K, data.n_features) and np.isfinite(decoded).all()
print(f"decoded pixel range: [{decoded.min():.2f}, {decoded.max():.2f}] (the Gaussian likelihood does not clip to [0, 1])")

# %% [markdown]
# ## 5. Final scores and baselines
#
# Three clusterings of the same data, each scored by `clustering_scores` (ACC after Hungarian
# matching, NMI, ARI):
#
# - **k-means on pixels** (scikit-learn, 10 restarts);
# - **DGG without graph**: the same estimator with `use_graph=False`, which gives every sample
#   itself as its only neighbour, so (3) reduces to the ELBO (4) alone. With the same seed it
#   loads DGG's initialisation from the cache, so the graph is the only difference (and its
#   time below counts Algorithm 1 alone). This is *not* VaDE: f2 still gives γ, and with
#   N(i) = {i} the update (31) sets π_i = γ_i, so term 3 of (4) is about 0 and no cluster prior
#   is left;
# - **VaDE** (`dggbook.VaDE`), as published: one global π, learnt, and γ from the GMM's Bayes
#   posterior, on the same networks and pretraining. Both are skipped on MNIST, where each
#   would cost a second long run;
# - **DGG**, fitted above.
#
# These are single runs with one seed. `benchmarks/bench_clustering.py` repeats them over five
# seeds and reports mean ± std, which is the number to quote.

# %%
results, seconds = {}, {}
start = time.perf_counter()
kmeans_labels = KMeans(K, n_init=10, random_state=settings.seed).fit_predict(X)
results["k-means (pixels)"] = clustering_scores(y, kmeans_labels)
seconds["k-means (pixels)"] = time.perf_counter() - start
if dataset_name != "mnist":
    no_graph = DGG(K, **dict(params, use_graph=False), cache_dir=True, random_state=settings.seed).fit(X, y)
    results["DGG without graph"] = clustering_scores(y, no_graph.labels_)
    seconds["DGG without graph"] = no_graph.fit_seconds_  # Algorithm 1 only: the initialisation came from the cache
    vade_params = {k: v for k, v in params.items() if k in VaDE().get_params()}
    vade = VaDE(K, **vade_params, cache_dir=True, random_state=settings.seed).fit(X, y)
    results["VaDE"] = clustering_scores(y, vade.labels_)
    seconds["VaDE"] = vade.fit_seconds_
results["DGG"] = clustering_scores(y, labels)
seconds["DGG"] = model.fit_seconds_
print("wall time:", ", ".join(f"{name} {s:.2f} s" for name, s in seconds.items()))

# %%
# BOOK_CHECK_OUTPUT  (make book-check: this output must match the committed one)
print(f"{dataset_name}, N = {data.n_samples}, seed {settings.seed}, device {settings.device.type}, "
      f"torch threads {torch.get_num_threads()}")
print(f"| {'method':<17} |  ACC   |  NMI   |  ARI   |")
print(f"|{'-' * 19}|--------|--------|--------|")
for name, r in results.items():
    print(f"| {name:<17} | {r['acc']:.4f} | {r['nmi']:.4f} | {r['ari']:.4f} |")

# %% [markdown]
# For reference, the paper's Table 1 on MNIST (all 70,000 images, ACC in %, as the blog
# quotes it): AE+GMM 82.18, DEC 84.3, IMSAT 98.4 ± 0.4, VaDE 94.46, SpectralNet 97.1 ± 0.1,
# LTVAE 86.30, **DGG 97.58 ± 0.1**. Two caveats from the notes (§10): VaDE's ACC on MNIST moves
# a lot with its initialisation (public ports report from about 75% to 94%), and no public
# report of a rerun reaching DGG's 97.58% was found. On the 8×8 digits the numbers above are
# not comparable to that table: the images are smaller, the set is 40 times smaller, and the
# CPU preset trains for minutes, not hours. On all 70,000 MNIST images, this library's CPU
# preset (UMAP start, about half an hour of one core) reaches 0.967 ± 0.001 over three seeds,
# from a start of 0.974; the paper's k-means start gives 0.825 (README, "MNIST-70k on this CPU").
#
# The checks below hold in every mode. Outside quick mode the notebook also asserts two
# bounds, both read off `benchmarks/bench_clustering.py` on digits with this CPU preset,
# seeds 0 to 4 (README, "Measured results"):
#
# - DGG ends no more than 0.02 below its own start: over the five seeds the change ran from
#   −0.001 to +0.009, so Algorithm 1 keeps the UMAP start and adds little to it;
# - DGG's ACC is at least 0.78: the lowest of the five seeds was 0.809.
#
# Whether DGG beats the baselines is printed but not asserted. Paired by seed, DGG minus
# DGG without graph ran from −0.002 to +0.008, and DGG minus VaDE from −0.014 to +0.035
# (DGG 0.858 ± 0.031, VaDE 0.843 ± 0.036, k-means on pixels 0.793 ± 0.002).
#
# One more reason to distrust a single run: the CPU's math kernels and the number of torch
# threads change the order and rounding of floating-point sums, and small differences grow
# over training. With seed 0 and the earlier k-means preset, DGG reached ACC 0.853 with MKL's
# own kernels on this machine and 0.805 with the AVX2 kernels that dggbook now asks for
# (README, "Reproducibility"). Two later
# changes that should not matter moved it again. The CPU neighbour search moved to scikit-learn,
# which orders equally distant neighbours differently (0.837). The initial weights got a random
# generator of their own, so that f2's size cannot change the pretraining (0.832).

# %%
proba = model.predict_proba(X)
assert proba.shape == (data.n_samples, K)
np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
assert np.array_equal(model.predict(X), labels)
assert np.isfinite(means).all() and np.isfinite(model.networks_.gmm.logvars.detach().cpu().numpy()).all()
for name, r in results.items():
    assert all(0.0 <= r[key] <= 1.0 for key in ("acc", "nmi")) and -1.0 <= r["ari"] <= 1.0, name
if not settings.quick:  # bounds from benchmarks/bench_clustering.py, 5 seeds (see the text above)
    assert results["DGG"]["acc"] >= init_scores["acc"] - 0.02, "Algorithm 1 lost more than the benchmark allows"
    assert results["DGG"]["acc"] >= 0.78, "DGG's ACC fell below the lowest bound the benchmark supports"
for baseline in ("DGG without graph", "VaDE"):
    if baseline in results:
        print(f"DGG - {baseline}, ACC: {results['DGG']['acc'] - results[baseline]['acc']:+.4f} (one seed)")

# %% [markdown]
# ## 6. Where the remaining error lives
#
# A confusion matrix says which mistakes make up the missing accuracy. Rows are true classes;
# column $c$ collects the cluster matched to class $c$ (`match_clusters`, the map behind ACC),
# so a perfect clustering is diagonal. Left: the starting partition of $\tilde\mu$ that
# initialises the GMM (notes §7). Right: DGG after Algorithm 1.
#
# On digits with the CPU preset and seed 0 (the committed run), the 9s have no cluster of
# their own: 146 of the 180 share a cluster with the 3s, and 31 sit with the 1s. The 1s split
# three ways: 59 on the diagonal, 96 in the cluster matched to 8 and 27 in the cluster matched
# to 9. Both mistakes are already in the UMAP start (143 9s with the 3s; 94 and 27 of the 1s).
# Algorithm 1 repairs smaller ones: the 3s go from 168 to 182 of 183 on the diagonal, the 2s
# from 161 to 166 of 177. The other eight classes end at 0.92 or more. Gradient steps on
# (4)/(5) move points between neighbouring components; they do not pull a new component out of
# a merged one. This is why the start sets the result (section 7): on seeds whose start keeps
# the 9s apart, DGG ends near 0.89. Quick mode trains too briefly to show the pattern.

# %%
from sklearn.metrics import ConfusionMatrixDisplay

fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
matched_acc = {}
for ax, (name, assigned) in zip(axes, [(f"{start_name} (start)", model.start_labels_), ("DGG", labels)]):
    matched = match_clusters(y, assigned, K)[assigned]  # cluster id -> its matched class
    matched_acc[name] = np.mean(matched == y)
    ConfusionMatrixDisplay.from_predictions(y, matched, ax=ax, colorbar=False, include_values=K <= 10)
    ax.set(title=f"{name}: ACC {matched_acc[name]:.3f}", xlabel="matched cluster", ylabel="true class")
savefig(fig, "confusion")
plt.show()
assert np.isclose(matched_acc["DGG"], results["DGG"]["acc"])  # the same matching as ACC

# %% [markdown]
# ## 7. The start, the hand-over and the training
#
# Two questions follow from section 6. Does Algorithm 1 keep a correct partition if it is
# given one? And does a better start give a better result? `fit(X, init_labels=y)` answers
# the first: it starts from the true classes (a diagnostic only, never a way to cluster).
# `init` answers the second. It chooses the starting partition of $\tilde\mu$: `"umap"`
# (UMAP to 10 dimensions, then a Gaussian mixture, the N2D recipe; the preset, used above),
# `"gmm"` (a full-covariance Gaussian mixture) or `"kmeans"` (the paper's). For each run we
# print four numbers:
#
# - the ACC of the start;
# - how often $f_2$ agrees with the start before Algorithm 1 (the hand-over);
# - the lowest ACC after any epoch;
# - the final ACC.
#
# `benchmarks/bench_start.py` measured the same over five seeds on digits (README, "Where the
# accuracy goes"), and the preset's choices come from it. From the true classes, the earlier
# recipe lost points twice. Its linear $f_2$ (the paper's) reproduced only 0.966 of the
# classes, and at lr 5e-3 the first epochs fell to 0.832 ± 0.057; the run ended at
# 0.929 ± 0.040. An $f_2$ with one hidden layer of 128 units reproduces every label
# (agreement 1.000), and lr 2e-3 moves less. With both, the preset ends at 0.986 ± 0.005.
#
# What is still lost has a measurable cause. A GMM set from the true classes, diagonal
# Gaussians in $\tilde\mu$, gives the true class by its Bayes posterior for only 0.93–0.94 of
# the digits: its components overlap where the classes touch. Algorithm 1 fits $f_2$ and the
# GMM to one another, so it pulls the partition a little towards what the GMM can represent.
# A lower lr (1e-3) slows that pull: every seed then ends at 0.98 or above (0.985 ± 0.004).
#
# From the UMAP start the final ACC stays within 0.01 of the start on every seed, and the
# paper's k-means start gains about 0.05 (0.784 → 0.831) but stays behind. The start now
# sets the result: to go further, improve the start.

# %%
old_recipe = dict(classifier_hidden_dims=(), lr=5e-3)  # a linear f2 (the paper's) and the earlier lr of 5e-3
runs = {
    "preset start (above)": model,
    "k-means start": DGG(K, **dict(params, init="kmeans"), cache_dir=True, random_state=settings.seed).fit(X, y),
    "true classes, preset": DGG(K, **params, cache_dir=True, random_state=settings.seed).fit(X, y, init_labels=y),
    "true classes, old recipe": DGG(K, **dict(params, **old_recipe), cache_dir=True, random_state=settings.seed)
    .fit(X, y, init_labels=y),
}
for name, fitted in runs.items():
    curve = [record["acc"] for record in fitted.history_]
    print(f"{name:<25} start {clustering_scores(y, fitted.start_labels_)['acc']:.4f}  "
          f"f2 agrees {fitted.f2_agreement_:.4f}  lowest {min(curve):.4f}  "
          f"final {clustering_scores(y, fitted.labels_)['acc']:.4f}")
assert all(len(fitted.history_) == params["epochs"] for fitted in runs.values())
if not settings.quick:  # bench_start.py, 5 seeds: f2 agreement 1.000 with the hidden layer, 0.966 ± 0.003 without
    assert runs["true classes, preset"].f2_agreement_ > runs["true classes, old recipe"].f2_agreement_
