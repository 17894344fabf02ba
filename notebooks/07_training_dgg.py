# %% [markdown]
# # 07 — Training DGG end to end
#
# The earlier notebooks took DGG apart: the bound and its four terms (eq. (4), (5)), the
# closed-form prior update (31), the graph and the Siamese embedding (eq. (19)). Here the
# parts run together, through the one estimator `dggbook.model.dgg.DGG`:
#
# 1. **initialisation** (VaDE's, as the public code runs it): a stacked denoising autoencoder trained layer by layer,
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
# two baselines. Every number comes from a library call. The capstone, exercise 7.5, then opens the call: you
# write one epoch of Algorithm 1 from the ELBO terms and match the library's epoch to float precision.
#
# **Learning objectives.** After this notebook you can:
# - run the three stages of DGG (initialisation, graph, Algorithm 1) with one estimator call and say what each
#   stage costs;
# - read the training curves: explain why term 1 of (4) can be positive and what moves ACC by a few samples per epoch;
# - compute the Hungarian-matched clustering accuracy and read a matched confusion matrix for merged and split classes;
# - build the model by hand: the cross ELBO (5) with a Gaussian decoder, the Bayes posterior of the GMM, and one epoch of
#   Algorithm 1 (neighbours, the objective (3) from the ELBO terms, an Adam step, π by (31));
# - compare a single run with the benchmarks and with the paper's Table 1, like for like.
#
# **Prerequisites.** The bound and its four terms (notebooks 02 and 03), the per-sample prior and its
# update (31) (notebook 04), the neighbour graph (notebook 06); a Gaussian mixture and its posterior.
#
# **Time.** About 40 minutes to read and run, plus about 90 minutes for the exercises. (The code runs in about
# 200 s on a laptop-class CPU: 185 to 209 s measured with `make book`'s runner on this project's 2-core machine.)
#
# **References.** [DGG paper](https://openaccess.thecvf.com/content_ICCV_2019/html/Yang_Deep_Clustering_by_Gaussian_Mixture_Variational_Autoencoders_With_Graph_Embedding_ICCV_2019_paper.html)
# Algorithm 1, eq. (21) (the terms of the bound), (31) (the π update) and Table 1 (eq. (3)–(5) here number the
# derivation's steps, as in the glossary);
# [supplement](https://openaccess.thecvf.com/content_ICCV_2019/supplemental/Yang_Deep_Clustering_by_ICCV_2019_supplemental.pdf)
# (term 2 with its ½); [VaDE](https://arxiv.org/abs/1611.05148) (Jiang et al., IJCAI 2017) for the pretraining and
# the Bayes posterior γ of the GMM; [public code](https://github.com/ngoc-nguyen-0/DGG) for the MNIST settings.
#
# **Notation.** Symbols as in the [notation glossary](notation.md); the course order is in the
# [roadmap](00_roadmap.ipynb).

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
from dggbook.book.plots import (
    decode_gmm_means,
    history_table,
    match_clusters,
    plot_image_grid,
    plot_latent_2d,
    plot_latent_3d,
    plot_training_curves,
)
from dggbook.model.data import load_dataset
from dggbook.model.dgg import DGG
from dggbook.model.metrics import clustering_scores
from dggbook.model.presets import book_dataset, settings_for
from dggbook.model.vade import VaDE

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 110})

# %% [markdown]
# ## Scale
#
# The settings come from the library's presets, `settings_for(dataset, device)`, never from
# this notebook:
#
# | mode | data | networks | start, $f_2$ | graph | Algorithm 1 |
# |---|---|---|---|---|---|
# | CUDA | MNIST, all 70,000 images | 784-500-500-2000-10 (the paper's) | UMAP → GMM, one hidden layer of 128 | nearest 20 in pixel space, all 20 per anchor | 20 epochs, lr 2e-3, compiled step |
# | CPU | scikit-learn digits, 1,797 images of 8×8 | 64-256-256-512-10 | UMAP → GMM, one hidden layer of 128 | nearest 20 in pixel space | 60 epochs, lr 2e-3 |
# | quick (CI) | digits | 64-64-64-128-10 | k-means, linear | nearest 10 in pixel space | 10 epochs |
#
# On digits (CPU and quick mode) the preset also swaps the Bernoulli likelihood for a Gaussian one,
# $p(x|z) = \mathcal N(x; g(z), \sigma_x^2 I)$ with the small variance $\sigma_x^2 = 0.05$, and every CPU
# preset draws one neighbour per anchor and step in proportion to $w_{ij}$ (an unbiased estimate of
# the sum over $j$ in (3), at two network passes per anchor instead of $J + 1$). On CUDA the preset is the
# CPU MNIST preset's recipe with the sum over all $J$ neighbours and Algorithm 1's step compiled
# (`step="compiled"`: torch.compile with CUDA graphs, the same values as the eager step); the paper's own
# settings (Siamese graph, k-means start, 300 epochs) are `benchmarks/bench_paper.py`, not this notebook.
# The cell prints exactly what was chosen, the decoder's variance included.

# %%
dataset_name = book_dataset(settings.device, settings.quick)  # MNIST-70k on CUDA at full settings, else digits
data = load_dataset(dataset_name)
X, y, K = data.X, data.y, data.n_clusters
params = settings_for(dataset_name, settings.device)
print(data)
shown = ("likelihood", "hidden_dims", "latent_dim", "init", "classifier_hidden_dims", "n_neighbors",
         "neighbor_selection", "weights", "graph_space", "use_siamese", "n_neighbor_samples", "layerwise_epochs", "autoencoder_epochs",
         "vae_epochs", "classifier_epochs", "epochs", "batch_size", "lr", "step")
for key in shown:
    print(f"  {key:<22} {params.get(key, DGG().get_params()[key])}")
likelihood = params.get("likelihood", DGG().get_params()["likelihood"])
if likelihood == "gaussian":
    sigma_x2 = params.get("noise_var", DGG().get_params()["noise_var"])  # the library calls it noise_var
    print(f"  decoder p(x|z)         Gaussian N(x; g(z), σ_x² I), σ_x² = {sigma_x2}")
else:
    sigma_x2 = None
    print("  decoder p(x|z)         Bernoulli(g(z)): pixels in [0, 1], no variance σ_x²")
committed_run = dataset_name == "digits" and not settings.quick  # the run whose bands the text states
if committed_run:
    assert data.n_samples == 1797 and likelihood == "gaussian" and sigma_x2 == 0.05

# %% [markdown]
# **What has been run, and what has not.**
#
# - *CPU, full settings (digits)*: this notebook, executed by `make book` on a 2-core CPU, seed 0.
#   Every output below comes from that run (its threads, kernels and cache: the appendix at the end).
# - *CPU, the MNIST-70k preset* (`settings_for("mnist", "cpu")`: the paper's networks and
#   Bernoulli likelihood, the UMAP start, 20 epochs): measured outside this notebook by
#   `benchmarks/bench_start.py`, three seeds with the UMAP start and one with the paper's k-means
#   start (README, "MNIST-70k on this CPU"). This notebook does not rerun it (about half an hour of
#   CPU per seed).
# - *CUDA, MNIST-70k* (the first row of the table, `settings_for("mnist", "cuda")`): **not run: no GPU
#   was lent**. Every cell below takes that branch on a CUDA machine (the same figures, at MNIST scale),
#   and `make gpu-check` (`benchmarks/bench_gpu.py --notebook`) executes this notebook there into
#   `build/gpu-check/`, recording its wall time and its training time. By issue 22's per-epoch targets
#   on an H200 the training (pretraining and Algorithm 1) fits in 2 minutes, most of it UMAP on the CPU
#   (the arithmetic is in `cuda_mnist_settings`' docstring); that is arithmetic, not a measurement. The
#   first row of the table is therefore a plan, not a result.
# - *CUDA, the paper's settings* (`paper_settings()`: Siamese graph, k-means start, 300 epochs):
#   `benchmarks/bench_paper.py`, **not run: no GPU was lent**.

# %% [markdown]
# ## 1. Fit
#
# One call runs all three stages. The labels `y` go to `fit` only so that the estimator can
# record ACC and NMI after every epoch; no stage reads them. The estimator reports the wall time
# of each stage (`stage_seconds_`). `cache_dir=True` keeps the finished work, so running this cell
# again loads it instead of repeating it (the appendix says what is kept and when it is reused).

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
# - term 3, $\mathbb{E}\ln p(c)/q(c|z)$: $-\mathrm{KL}(\gamma_i \,\|\, \pi_i)$, which penalises a cluster
#   posterior far from the prior $\pi_i$;
# - term 4, $-\mathbb{E}\ln q(z|x)$: the entropy of the encoder's posterior.
#
# The last panel shows ACC and NMI of $\arg\max_k \gamma_{ik}$ per epoch, with the ACC of the
# starting partition (the labels that trained $f_2$) as a dashed line.

# %%
init_scores = clustering_scores(y, model.start_labels_)
start_name = {"kmeans": "k-means on μ̃", "gmm": "GMM on μ̃", "umap": "UMAP of μ̃ → GMM"}[model.init]
fig = plot_training_curves(model.history_, reference={f"{start_name} (start)": init_scores["acc"]},
                           title=f"DGG on {dataset_name}: Algorithm 1, seed {settings.seed}")
panel_units = ["term 1 (nats)", "term 2 (nats)", "term 3 (nats)", "term 4 (nats)", "objective (3) (nats)",
               "ACC, NMI"]
visible_panels = [ax for ax in fig.axes if ax.get_visible()]
assert len(visible_panels) == len(panel_units)
for ax, unit in zip(visible_panels, panel_units):
    ax.set_ylabel(unit)  # each term is a weighted mean over the anchors of one epoch, in nats per anchor
fig.tight_layout()
savefig(fig, "training_curves")
plt.show()
first, last = model.history_[0], model.history_[-1]
print(f"objective (3): epoch 1 {first['total']:.2f} -> epoch {last['epoch']} {last['total']:.2f}")
print(f"ACC: initialisation {init_scores['acc']:.4f}, epoch 1 {first['acc']:.4f}, last epoch {last['acc']:.4f}")
assert last["total"] > first["total"], "Algorithm 1 should raise its objective"

# %% [markdown]
# ### Why term 1 is positive
#
# Term 1 is a log-*density*, not the log of a probability, so nothing keeps it below 0. With the
# Gaussian decoder,
#
# $$\ln \mathcal N(x; g(z), \sigma_x^2 I) = -\frac{\lVert x - g(z)\rVert^2}{2\sigma_x^2}
#   - \frac D2 \ln(2\pi\sigma_x^2).$$
#
# When $2\pi\sigma_x^2 < 1$ the second part is positive: with $D = 64$ pixels and $\sigma_x^2 = 0.05$
# it is $-32 \ln(0.1\pi) \approx +37.05$, the value of term 1 at a perfect reconstruction. The
# curve ends below it, at 22.79 in this run (the cell asserts the band 21.5 to 24.5, README, "Reproducibility").
#
# That end value is not the error of one reconstruction. Like every curve here it is a term of (3): half of
# it is the self term of $L(x_i)$, which scores $x_i$ against its own $g(z_i)$, and half the cross terms of
# $L(x_i, x_j)$, which score $x_i$ against a neighbour's $g(z_j)$. Read as a single squared error,
# $2\sigma_x^2 (37.05 - \text{term 1})$ gives 1.43 over 64 pixels, a mean of the two kinds. The cell
# measures them apart on the trained model: $x_i$ misses its own $g(z_i)$ by 1.09, and its
# neighbours' $g(z_j)$ by 1.76 (weighted by $w_{ij}$). The reconstructions themselves are closer than the
# curve suggests. A Bernoulli decoder gives a log-probability, which is never above 0.
#
# <!-- quotes: term1 -->

# %% tags=["quoted-term1"]
if sigma_x2 is not None:
    D = data.n_features
    ceiling = -0.5 * D * np.log(2 * np.pi * sigma_x2)  # term 1 when g(z) = x exactly
    squared_error = 2 * sigma_x2 * (ceiling - last["reconstruction"])  # ||x - g(z)||^2 that term 1 implies
    print(f"term 1 at a perfect reconstruction: {ceiling:.2f} nats; at epoch {last['epoch']}: "
          f"{last['reconstruction']:.2f}, so ||x - g(z)||² ≈ {squared_error:.2f} "
          f"({squared_error / D:.4f} per pixel)")
    assert last["reconstruction"] < ceiling
    X_all = torch.as_tensor(X, device=model.device_)
    with torch.no_grad():  # z_i drawn from q(z|x_i), as in training, from a generator of its own
        mu_all, logvar_all = model.networks_.encoder(X_all)
        noise = torch.randn(mu_all.shape, generator=torch.Generator().manual_seed(0)).to(mu_all)
        g_all = model.networks_.decoder(mu_all + torch.exp(0.5 * logvar_all) * noise)
        self_miss = ((X_all - g_all) ** 2).sum(dim=1).mean().item()  # ||x_i - g(z_i)||²
        graph_indices, graph_weights = model.graph_.indices.to(X_all.device), model.graph_.weights.to(X_all.device)
        cross = ((X_all[:, None, :] - g_all[graph_indices]) ** 2).sum(dim=2)  # ||x_i - g(z_j)||², (N, J)
        cross_miss = (graph_weights * cross).sum(dim=1).mean().item()
    print(f"measured: ||x_i - g(z_i)||² = {self_miss:.2f} (self), sum_j w_ij ||x_i - g(z_j)||² = {cross_miss:.2f} "
          f"(cross), their mean {(self_miss + cross_miss) / 2:.2f}")
    if committed_run:  # a band that holds on any CPU, not one machine's digits (README, "Reproducibility")
        print("asserted: term 1 in the band 21.5 to 24.5, and the self error below the cross error")
        assert self_miss < cross_miss
        assert np.isclose(ceiling, 37.05, atol=0.005)  # a formula: the same everywhere
        # the band of a trained decoder: the pretrained one, untrained by Algorithm 1, gives 20.8;
        # training without the graph, 29.4 (its anchors need not reconstruct their neighbours)
        assert 21.5 <= last["reconstruction"] <= 24.5, "term 1 left the band of a decoder trained with the graph"
else:
    print("Bernoulli decoder: term 1 is a log-probability, at most 0")

# %% [markdown]
# ### What happens after epoch 1
#
# ACC hardly moves. Counted in samples out of 1,797, no epoch moves the count by more than about
# 1% (20 samples; epoch 1, the hand-over to Algorithm 1, moves it most), and the last epoch ends
# within 2% of the data (36 samples) of the start, a few samples above or below it. The score panel, drawn from 0 to 1,
# hides this; the cell below prints the counts of this run and asserts those bands. The digits
# themselves depend on the CPU and its kernels (README, "Reproducibility"), so the cell prints them
# rather than the text quoting them.
#
# The first two epochs move the networks more than any others: between epoch 1 and epoch 2 term 1
# rises by 2.70 nats in this run (from 17.10 to 19.80) and term 4 from 2.32 to 3.14, more than either
# moves between any two later epochs, and term 1 then gains only 2.99 more in the 58 epochs after (the
# cell asserts bands for these that hold on any CPU). The encoder's means $\tilde\mu$, which are $f_2$'s input, move with it. Our hypothesis:
# the samples whose $\gamma_i$ sits near a boundary between two clusters flip, in both directions,
# and the net change is a few samples. To check it we fit epochs 1 and 2 again from the same cached
# pretraining, confirm that they reproduce the history (on one machine the same seed gives the same
# labels), and compare the labels. Between epoch 1 and 2 a few dozen samples at most change
# cluster (29 in this run), some from right to wrong and some from wrong to right;
# the matching of clusters to classes does not change. At epoch 1 the changed samples had a median
# margin (largest minus second largest $\gamma_{ik}$) below 0.9 (this run: 0.78), against 1.00
# for all samples: they are among the least certain.
#
# <!-- quotes: epochs, replay -->

# %% tags=["quoted-epochs"]
n_right = np.rint(table["acc"] * data.n_samples).astype(int)  # correctly matched samples after each epoch
start_right = round(init_scores["acc"] * data.n_samples)
print(f"correctly matched samples: start {start_right}, epochs 1-10 {n_right[:10].tolist()}, "
      f"last {n_right[-1]} (of {data.n_samples})")
rise_1 = table["reconstruction"][1] - table["reconstruction"][0]
print(f"term 1: epoch 1 {table['reconstruction'][0]:.2f}, epoch 2 {table['reconstruction'][1]:.2f} (+{rise_1:.2f}), "
      f"last {table['reconstruction'][-1]:.2f} (+{table['reconstruction'][-1] - table['reconstruction'][1]:.2f} "
      f"after epoch 2); term 4: {table['entropy_z'][0]:.2f} -> {table['entropy_z'][1]:.2f}")
if committed_run:  # bands that hold on any CPU (README, "Reproducibility"), not one machine's digits
    assert abs(n_right[0] - start_right) <= 20 and np.abs(np.diff(n_right)).max() <= 20
    assert abs(n_right[-1] - start_right) <= 0.02 * data.n_samples  # section 5's bound, in samples
    assert 2.0 <= rise_1 <= 4.5 and 2.0 <= table["reconstruction"][-1] - table["reconstruction"][1] <= 5.0
    for term in ("reconstruction", "entropy_z"):  # their largest change from one epoch to the next: 1 -> 2
        assert np.argmax(np.abs(np.diff(table[term]))) == 0

# %% tags=["quoted-replay"]
import shutil
import tempfile
from pathlib import Path

from dggbook.model.cache import resolve_cache_dir

# Epochs 1 and 2 again, from a copy of the fit's cached pretraining (autoencoder, start, f2) in a fresh folder:
# a fit of 2 epochs, then one of 1 epoch (a checkpoint after epoch 2 is not resumed by a 1-epoch fit). The
# replays run on the fit's thread count (n_threads, 1 by default): the cache key holds it, and so does the path.
replay_dir = Path(tempfile.mkdtemp(prefix="dggbook-07-"))
for cached in resolve_cache_dir(True).glob(f"pretrain-{dataset_name}-*.pt"):
    shutil.copy(cached, replay_dir)
replay = {}
for n_epochs in (2, 1):
    replay[n_epochs] = DGG(K, **dict(params, epochs=n_epochs), cache_dir=replay_dir, random_state=settings.seed,
                           n_threads=model.n_threads).fit(X, y)
    assert replay[n_epochs].pretrain_from_cache_ and replay[n_epochs].resumed_from_epoch_ == 0
    replayed_acc, fitted_acc = replay[n_epochs].history_[-1]["acc"], model.history_[n_epochs - 1]["acc"]
    if settings.device.type == "cpu":  # the same seed and thread count give the same path, to the bit
        assert replayed_acc == fitted_acc, (
            "the replay left the fit's path: did the fit above run Algorithm 1 on another number of threads?")
    else:  # CUDA's backward of a gather adds in no fixed order: a band (unmeasured), not the same bits
        assert abs(replayed_acc - fitted_acc) <= 0.01, f"replay ACC {replayed_acc:.4f}, fit {fitted_acc:.4f}"
shutil.rmtree(replay_dir)

labels_1, labels_2 = replay[1].labels_, replay[2].labels_
mapping_1, mapping_2 = match_clusters(y, labels_1, K), match_clusters(y, labels_2, K)
right_1, right_2 = mapping_1[labels_1] == y, mapping_2[labels_2] == y
changed = labels_1 != labels_2
gamma_1 = np.sort(replay[1].predict_proba(X), axis=1)
margin_1 = gamma_1[:, -1] - gamma_1[:, -2]  # largest minus second largest gamma_ik after epoch 1
print(f"epoch 1 -> 2: {changed.sum()} samples change cluster; right -> wrong {np.sum(right_1 & ~right_2)}, "
      f"wrong -> right {np.sum(~right_1 & right_2)}; same matching: {np.array_equal(mapping_1, mapping_2)}")
print(f"  true classes of the changed samples (0-9): {np.bincount(y[changed], minlength=K).tolist()}")
print(f"  median margin after epoch 1: changed {np.median(margin_1[changed]):.2f}, all {np.median(margin_1):.2f}")
if committed_run:  # bands that hold on any CPU, not one machine's digits
    assert 5 <= changed.sum() <= 50 and np.sum(right_1 & ~right_2) >= 1 and np.sum(~right_1 & right_2) >= 1
    assert np.array_equal(mapping_1, mapping_2)
    assert np.median(margin_1[changed]) < 0.9 and np.median(margin_1) > 0.995
    print("asserted: 5 to 50 samples change, some each way, the same matching; median margin of the changed "
          "below 0.9, of all above 0.995")

# %% [markdown]
# ## 3. The latent clusters
#
# The encoder's means $\tilde\mu(x)$ live in $M = 10$ dimensions, and so do the GMM means
# $\mu_k$. A PCA fitted on $\tilde\mu$ projects both with the same linear map, so a star sits
# where its component's centre falls in the picture. Left: points coloured by predicted cluster.
# Right: by true label. Each cluster takes the colour of the class it is matched to by the
# Hungarian assignment that defines ACC, so where the two panels agree the colours agree; the key on
# the right names the classes. A star is labelled $\mu_k$ with its component's index $k$, which is arbitrary
# ($\mu_2$ need not sit on the 2s); the star's colour is the class its cluster is matched to.

# %%
Z = model.transform(X)  # mu~(x), (N, M)
means = model.networks_.gmm.means.detach().cpu().numpy()  # mu_k, (K, M)
labels = model.labels_
fig = plot_latent_2d(Z, labels, y, means, title=f"latent means μ̃ of {dataset_name} (PCA to 2-D)")
savefig(fig, "latent_clusters")
plt.show()
assert Z.shape == (data.n_samples, model.latent_dim_) and np.isfinite(means).all()

# %% [markdown]
# Two components keep only part of the spread of a 10-D latent space, and clusters that look
# merged above may sit apart along a third axis. The interactive view below projects to three
# components (drag to rotate; hover for the label). Each diamond is a GMM mean, named by its cluster and
# the class that cluster is matched to ("μ of cluster k ↦ class c"), and coloured like that class. At most
# 3,000 random points are drawn, so that the stored figure stays small.

# %%
plot_latent_3d(Z, labels, y, means, max_points=3000, random_state=settings.seed,
               title="latent means μ̃ (PCA to 3-D): predicted cluster vs true label").show()

# %% [markdown]
# ## 4. What each component draws
#
# The decoder $g$ maps a latent point to the mean of $p(x|z)$. Applied to a GMM mean it gives
# the image that component stands for, $\mathbb{E}[x \mid z = \mu_k]$. The top row shows
# $g(\mu_k)$; the bottom row, for comparison, the pixel-wise average of the images assigned to
# cluster $k$. Cluster indices are arbitrary: cluster 3 is not the digit 3. Each title therefore
# names the cluster and the digit most of its images show, with that digit's share of the cluster.
# Columns are sorted by the class the Hungarian matching (the map behind ACC) gives each cluster.
# The two can differ: with seed 0 the cluster matched to 9 holds no 9s at all (the 9s share a
# cluster with the 3s, section 6), and its images are 1s (the cell prints the counts and asserts it).

# %%
decoded = decode_gmm_means(model)  # (K, D)
mapping = match_clusters(y, labels, K)
order = np.argsort(mapping, kind="stable")
cluster_average = np.stack([X[labels == k].mean(axis=0) if np.any(labels == k) else np.zeros(X.shape[1])
                            for k in order])
contingency = np.array([np.bincount(y[labels == k], minlength=K) for k in range(K)])  # (cluster k, class c)
majority = contingency.argmax(axis=1)  # the digit most of cluster k's images show
share = contingency.max(axis=1) / np.maximum(contingency.sum(axis=1), 1)
titles = ([f"g(μ{k}): cluster {k}\nmostly {majority[k]}s ({share[k]:.0%})" for k in order]
          + [f"average image\nof cluster {k}" for k in order])
fig = plot_image_grid(np.vstack([decoded[order], cluster_average]), data.image_shape, titles=titles, ncols=K,
                      title="top: decoder at each GMM mean; bottom: average image of the cluster "
                            "(columns in the order of the matched classes 0-9)")
fig.set_size_inches(fig.get_size_inches()[0], 4.0)  # room for the two-line titles
fig.tight_layout()
savefig(fig, "decoded_means")
plt.show()
assert decoded.shape == (K, data.n_features) and np.isfinite(decoded).all()
print(f"decoded pixel range: [{decoded.min():.2f}, {decoded.max():.2f}]"
      + (" (the Gaussian likelihood does not clip to [0, 1])" if sigma_x2 is not None else ""))
for k in order:
    print(f"cluster {k}: matched to class {mapping[k]}, mostly {majority[k]}s ({contingency[k, majority[k]]} of "
          f"{contingency[k].sum()})")
if committed_run:
    nines = int(np.flatnonzero(mapping == 9)[0])  # the cluster the matching gives to class 9
    assert contingency[nines, 9] == 0 and majority[nines] == 1

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
#   posterior, on the same networks and pretraining. Both run on MNIST too (on CUDA): each loads
#   the cached pretraining and trains only its own epochs;
# - **DGG**, fitted above.
#
# These are single runs with one seed. `benchmarks/bench_clustering.py` repeats them over five
# seeds and reports mean ± std, which is the number to quote.
#
# The times are compared like for like: each method's **whole fit**, pretraining included. A fit
# that loaded its pretraining from the cache (the same stacked autoencoder, start and $f_2$ as DGG's)
# is charged the seconds DGG's fit took to compute it, and the table says so.

# %%
results, fit_parts = {}, {}  # fit_parts[name] = (pretraining seconds, seconds of the rest, pretraining from cache?)
start = time.perf_counter()
kmeans_labels = KMeans(K, n_init=10, random_state=settings.seed).fit_predict(X)
results["k-means (pixels)"] = clustering_scores(y, kmeans_labels)
fit_parts["k-means (pixels)"] = (0.0, time.perf_counter() - start, False)
pretrain_seconds = stages["pretrain"]  # DGG's own pretraining (computed, unless this cell runs a second time)


def parts_of(fitted) -> tuple[float, float, bool]:
    """(pretraining, the rest, from cache?) of a fit; a cached pretraining is charged at DGG's measured cost."""
    rest = fitted.fit_seconds_ - fitted.stage_seconds_["pretrain"]
    if fitted.pretrain_from_cache_:
        return pretrain_seconds, rest, True
    return fitted.stage_seconds_["pretrain"], rest, False


# on every device and data set: both load DGG's cached pretraining, so they start where DGG started
no_graph = DGG(K, **dict(params, use_graph=False), cache_dir=True, random_state=settings.seed).fit(X, y)
results["DGG without graph"] = clustering_scores(y, no_graph.labels_)
fit_parts["DGG without graph"] = parts_of(no_graph)
vade_params = {k: v for k, v in params.items() if k in VaDE().get_params()}
vade = VaDE(K, **vade_params, cache_dir=True, random_state=settings.seed).fit(X, y)
results["VaDE"] = clustering_scores(y, vade.labels_)
fit_parts["VaDE"] = parts_of(vade)
results["DGG"] = clustering_scores(y, labels)
fit_parts["DGG"] = (pretrain_seconds, model.fit_seconds_ - pretrain_seconds, model.pretrain_from_cache_)
print(f"{'method':<18} {'pretraining (s)':>22} {'graph + training (s)':>21} {'whole fit (s)':>14}")
for name, (pre, rest, cached) in fit_parts.items():
    shown_pre = f"{pre:.1f} (DGG's, cached)" if cached and name != "DGG" else f"{pre:.1f}"
    print(f"{name:<18} {shown_pre:>22} {rest:>21.1f} {pre + rest:>14.1f}")

# %%
# BOOK_CHECK_PROMISE  (make book-check: the same rows; the asserts are the bounds that hold on any CPU)
print(f"{dataset_name}, N = {data.n_samples}, seed {settings.seed}, device {settings.device.type}, "
      f"torch threads {torch.get_num_threads()}")
print(f"| {'method':<17} |  ACC   |  NMI   |  ARI   |")
print(f"|{'-' * 19}|--------|--------|--------|")
for name, r in results.items():
    print(f"| {name:<17} | {r['acc']:.4f} | {r['nmi']:.4f} | {r['ari']:.4f} |")
for name, r in results.items():
    assert all(0.0 <= r[key] <= 1.0 for key in ("acc", "nmi")) and -1.0 <= r["ari"] <= 1.0, name
if not settings.quick:  # bounds from benchmarks/bench_clustering.py, 5 seeds (section 5's text, below)
    assert results["DGG"]["acc"] >= init_scores["acc"] - 0.02, "Algorithm 1 lost more than the benchmark allows"
    assert results["DGG"]["acc"] >= 0.78, "DGG's ACC fell below the lowest bound the benchmark supports"

# %% [markdown]
# ### Next to the paper's Table 1
#
# The paper scores MNIST, all 70,000 images. This notebook fits the 8×8 digits, which are smaller
# images and 40 times fewer, so its numbers do not belong in that table. What does belong there
# is this library's MNIST-70k run, measured by `benchmarks/bench_start.py` with the CPU MNIST preset
# (README, "MNIST-70k on this CPU"; the numbers are copied from there, not recomputed here: the cell below
# prints each copied number with its source, and checks that the README still says it). ACC in %:
#
# | method | MNIST-70k ACC (%) | source | time of one whole fit |
# |---|---|---|---|
# | AE+GMM | 82.18 | paper, Table 1 | not reported |
# | DEC | 84.3 | paper, Table 1 | not reported |
# | LTVAE | 86.30 | paper, Table 1 | not reported |
# | VaDE | 94.46 | paper, Table 1 | not reported |
# | SpectralNet | 97.1 ± 0.1 | paper, Table 1 | not reported |
# | IMSAT | 98.4 ± 0.4 | paper, Table 1 | not reported |
# | **DGG (paper)** | **97.58 ± 0.1** | paper, Table 1 | not reported |
# | DGG, this library, CUDA MNIST preset (this notebook on CUDA) | not run: no GPU was lent | README, "The GPU path" | not measured |
# | DGG, this library, paper settings on CUDA (`bench_paper.py`) | not run: no GPU was lent | README, "The GPU path" | not measured |
# | DGG, this library, CPU MNIST preset, UMAP start | 96.7 ± 0.1 (3 seeds) | README, `bench_start.py` | 31.9 CPU min |
# | DGG, this library, CPU MNIST preset, k-means start | 82.5 (seed 0) | README, `bench_start.py` | 30.5 CPU min |
#
# Each time in the last column is a whole fit on one core (pretraining, start, graph and 20 epochs of
# Algorithm 1), in CPU time, user plus system, because the wall clock ran longer on a shared machine.
# "k-means start" is the paper's initialisation. Table 1 gives accuracies only, so there is no time
# of the paper's to set them against. The digits times printed above are whole fits too, and
# `bench_clustering.py` measured 50 ± 8 s per whole DGG fit on digits over five seeds, on a loaded
# machine (README, "Digits: DGG and its baselines"). Two caveats, from a search of public reimplementations
# made while writing this book (not reproduced here): VaDE's ACC on MNIST moves a lot with its
# initialisation (public ports report from about 75% to 94%), and no public report of a rerun reaching
# DGG's 97.58% was found. The UMAP start alone already scores 97.4 ± 0.1; the k-means start, 74.5 (seed 0).
#
# Two numbers are also in a results file, `benchmarks/results/questions.csv` (the rows of arm
# `preset` written by `bench_questions.py`):
# digits, seed 0, was this notebook's run on the machine that wrote the file, before issue 19 gave
# each stage of the fit a seed of its own (the current code draws other streams for seed 0), and a fixed 10,000-image
# MNIST sample with the CPU MNIST preset gives 0.882 ± 0.018 over 3 seeds. The cell below reads both
# from the file. On another CPU the same seed lands elsewhere (README, "Reproducibility"), so the
# cell checks that this run's ACC lies within the spread of the file's ten digits seeds (0.804 to
# 0.890), widened by 0.02, not that it equals seed 0's digits.
#
# The checks below hold in every mode. Outside quick mode the score table above also asserts
# two bounds, both read off `benchmarks/bench_clustering.py` on digits with this CPU preset,
# seeds 0 to 4 (README, "Measured results"):
#
# - DGG ends no more than 0.02 below its own start: over the five seeds the change ran from
#   −0.001 to +0.009, so Algorithm 1 keeps the UMAP start and adds little to it;
# - DGG's ACC is at least 0.78: the lowest of the five seeds was 0.809.
#
# Whether DGG beats the baselines is printed but not asserted. Paired by seed, DGG minus
# DGG without graph ran from −0.002 to +0.008, and DGG minus VaDE from −0.014 to +0.035
# (DGG 0.858 ± 0.031, VaDE 0.843 ± 0.036, k-means on pixels 0.793 ± 0.002). That is from the UMAP
# start, which leaves the graph little to fix: from the paper's weaker k-means start the graph adds about
# three points on every seed (notebook 08, "Where the graph helps").
#
# One more reason to distrust a single run: the same seed lands elsewhere on another CPU (appendix).
#
# <!-- quotes: sources, files -->

# %% tags=["quoted-sources"]
# The numbers the text above copies from the paper and the README, each with its source. Every README quote is
# checked against the README (whitespace aside), so the text cannot drift from it unnoticed.
from dggbook.paths import project_root

readme = " ".join((project_root() / "README.md").read_text(encoding="utf-8").split())
print("paper, Table 1 (MNIST-70k, ACC %): AE+GMM 82.18, DEC 84.3, LTVAE 86.30, VaDE 94.46, SpectralNet 97.1 ± 0.1, "
      "IMSAT 98.4 ± 0.4, DGG 97.58 ± 0.1")
copied = {
    'README, "MNIST-70k on this CPU"': ["0.967 ± 0.001", "31.9 min", "0.8246", "30.5 min", "0.974 ± 0.001", "0.7450"],
    'README, "Digits: DGG and its baselines"': ["0.858 ± 0.031", "0.843 ± 0.036", "0.793 ± 0.002", "50 ± 8",
                                                "DGG 0.809, 0.890, 0.839, 0.889, 0.866 (from starts 0.800, 0.888, "
                                                "0.839, 0.885, 0.867)",
                                                "DGG minus VaDE is +0.035, +0.013, −0.014, +0.035 and +0.009",
                                                "DGG minus DGG without graph is +0.008, −0.002, +0.007, +0.003 and "
                                                "+0.002"],
    'README, "Where the accuracy goes"': ["0.966 ± 0.003", "0.832 ± 0.057", "0.929 ± 0.040", "0.986 ± 0.005",
                                          "0.985 ± 0.004", "0.784 ± 0.007", "0.831 ± 0.004", "0.931 to 0.941"],
}
for source, texts in copied.items():
    missing = [text for text in texts if text not in readme]
    assert not missing, f"{source} no longer says {missing}: update the text of this notebook"
    print(f"{source}: " + "; ".join(texts))
print("MNIST-70k in %: UMAP start then DGG 96.7 ± 0.1, k-means start then DGG 82.5; the starts alone 97.4 ± 0.1 and "
      "74.5")
dgg_5 = np.array([0.809, 0.890, 0.839, 0.889, 0.866])
start_5 = np.array([0.800, 0.888, 0.839, 0.885, 0.867])
print(f"digits, 5 seeds: DGG minus its start from {(dgg_5 - start_5).min():+.3f} to {(dgg_5 - start_5).max():+.3f}, "
      f"lowest DGG {dgg_5.min():.3f}; the score table asserts ACC >= start - 0.02 and ACC >= 0.78")

# %% tags=["quoted-files"]
proba = model.predict_proba(X)
assert proba.shape == (data.n_samples, K)
np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
assert np.array_equal(model.predict(X), labels)
assert np.isfinite(means).all() and np.isfinite(model.networks_.gmm.logvars.detach().cpu().numpy()).all()

import csv

from dggbook.paths import project_root

with open(project_root() / "benchmarks" / "results" / "questions.csv", newline="") as handle:
    preset_rows = [row for row in csv.DictReader(handle) if row["arm"] == "preset"]
mnist10k = np.array([float(row["acc"]) for row in preset_rows if row["dataset"] == "mnist10k"])
digits_seed0 = [float(row["acc"]) for row in preset_rows if row["dataset"] == "digits" and row["seed"] == "0"]
digits_seeds = np.array([float(row["acc"]) for row in preset_rows if row["dataset"] == "digits"])
print(f"questions.csv, preset: digits seed 0 ACC {digits_seed0[0]:.4f}; "
      f"MNIST-10k {mnist10k.mean():.3f} ± {mnist10k.std():.3f} over {mnist10k.size} seeds")
assert mnist10k.size == 3 and np.isclose(mnist10k.mean(), 0.882, atol=5e-4) and np.isclose(mnist10k.std(), 0.018,
                                                                                             atol=5e-4)
print(f"questions.csv, preset, digits: ACC from {digits_seeds.min():.3f} to {digits_seeds.max():.3f} over "
      f"{digits_seeds.size} seeds; this run {results['DGG']['acc']:.4f}")
if committed_run:  # the same recipe on any CPU lands within the spread of the benchmark's seeds, widened by 0.02
    assert digits_seeds.size == 10 and digits_seeds.min() - 0.02 <= results["DGG"]["acc"] <= digits_seeds.max() + 0.02
for baseline in ("DGG without graph", "VaDE"):
    if baseline in results:
        print(f"DGG - {baseline}, ACC: {results['DGG']['acc'] - results[baseline]['acc']:+.4f} (one seed)")

# %% [markdown]
# ## 6. Where the remaining error lives
#
# A confusion matrix says which mistakes make up the missing accuracy. Rows are true classes;
# column $y$ collects the cluster matched to class $y$ (`match_clusters`, the map behind ACC),
# so a perfect clustering is diagonal. Left: the starting partition of $\tilde\mu$ that
# initialises the GMM (section 1). Right: DGG after Algorithm 1.
#
# On digits with the CPU preset and seed 0, the 9s have no cluster of their own: about 145 of
# the 180 share a cluster with the 3s, and about 30 sit with the 1s. The 1s (182) split three
# ways: about 60 on the diagonal, about 95 in the cluster matched to 8 and 27 in the cluster
# matched to 9, which holds no 9s. Both mistakes are already in the UMAP start (about 140 9s
# with the 3s; about 92 and 27 of the 1s). Algorithm 1 moves only a few samples elsewhere: the 3s
# and the 2s on the diagonal change by a handful either way, within the bands of section 2. The other eight
# classes end at 0.9 or more. (The counts move by a few samples from one CPU to another; the
# cell prints this run's and asserts the pattern.) Gradient steps on
# (4)/(5) move points between neighbouring components; they do not pull a new component out of
# a merged one. This is why the start sets the result (section 7): on seeds whose start keeps
# the 9s apart, DGG ends near 0.89 (README, "Digits: DGG and its baselines"). Quick mode trains too briefly
# to show the pattern.
#
# <!-- quotes: confusion, sources -->

# %% tags=["quoted-confusion"]
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

from sklearn.metrics import confusion_matrix

confusion = {name: confusion_matrix(y, match_clusters(y, assigned, K)[assigned], labels=np.arange(K))
             for name, assigned in (("start", model.start_labels_), ("DGG", labels))}
recall = np.diag(confusion["DGG"]) / confusion["DGG"].sum(axis=1)
print("DGG, share of each class on the diagonal:", np.round(recall, 3).tolist())
start_cm, dgg_cm = confusion["start"], confusion["DGG"]
if K == 10:
    print(f"9s: {dgg_cm[9, 9]} on the diagonal, {dgg_cm[9, 3]} with the 3s, {dgg_cm[9, 1]} with the 1s "
          f"(start: {start_cm[9, 3]} with the 3s); 1s: {dgg_cm[1, 1]} on the diagonal, {dgg_cm[1, 8]} matched to 8, "
          f"{dgg_cm[1, 9]} matched to 9 (start: {start_cm[1, 8]}, {start_cm[1, 9]}); 3s on the diagonal "
          f"{start_cm[3, 3]} -> {dgg_cm[3, 3]}, 2s {start_cm[2, 2]} -> {dgg_cm[2, 2]}")
if committed_run:  # the pattern the text describes, in bands that hold on any CPU (the counts move by a few)
    assert dgg_cm[9, 9] <= 5 and dgg_cm[9, 3] >= 0.7 * dgg_cm[9].sum() and dgg_cm[9, 1] >= 15
    assert dgg_cm[1, 1] < 0.5 * dgg_cm[1].sum() and dgg_cm[1, 8] > dgg_cm[1, 1] and dgg_cm[1, 9] >= 15
    assert start_cm[9, 3] >= 0.7 * start_cm[9].sum() and start_cm[1, 8] > start_cm[1, 1]  # already in the start
    assert abs(dgg_cm[3, 3] - start_cm[3, 3]) <= 20 and abs(dgg_cm[2, 2] - start_cm[2, 2]) <= 20  # a handful move
    assert np.delete(recall, [1, 9]).min() >= 0.9

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
# accuracy goes"), and the preset's choices come from it. Its "earlier recipe" rows were measured with an
# earlier version of the code, so this notebook's single run of that recipe (the last row printed below)
# lands elsewhere; both are quoted here. From the true classes, the earlier recipe lost points twice. Its
# linear $f_2$ (the paper's) reproduced only 0.966 ± 0.003 of the classes (this run: 0.9649), and at
# lr 5e-3 the first epochs fell to 0.832 ± 0.057 (this run: 0.9082); the runs ended at 0.929 ± 0.040
# (this run: 0.9521). An $f_2$ with one hidden layer of 128 units reproduces every label
# (agreement 1.0000 here too), and lr 2e-3 moves less. With both, the preset ends at 0.986 ± 0.005
# (this run: 0.9844).
#
# What is still lost has a measurable cause. A GMM set from the true classes, diagonal
# Gaussians in $\tilde\mu$, gives the true class by its Bayes posterior for only 0.931 to 0.941 of
# the digits: its components overlap where the classes touch. Algorithm 1 fits $f_2$ and the
# GMM to one another, so it pulls the partition a little towards what the GMM can represent.
# A lower lr (1e-3) slows that pull: over the five seeds it ends at 0.985 ± 0.004.
#
# From the UMAP start the final ACC stays within a point of the start on every seed, and the
# paper's k-means start gains about five points (0.784 ± 0.007 → 0.831 ± 0.004) but stays behind. The start
# now sets the result: to go further, improve the start.
#
# <!-- quotes: sources, start -->

# %% tags=["quoted-start"]
old_recipe = {"classifier_hidden_dims": (), "lr": 5e-3}  # a linear f2 (the paper's) and the earlier lr of 5e-3
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

# %% [markdown]
# ## Further reading
#
# - Jiang, Zheng, Tan, Tang and Zhou, *Variational Deep Embedding*, IJCAI 2017: VaDE, the model DGG extends
#   and the baseline of section 5; its Bayes posterior is exercise 7.2.
# - Xie, Girshick and Farhadi, *Unsupervised Deep Embedding for Clustering Analysis* (DEC), ICML 2016: the
#   same two stages, an autoencoder and then a clustering of its latent codes started by k-means.
# - McConville, Santos-Rodriguez, Piechocki and Craddock, *N2D: (Not Too) Deep Clustering via Clustering
#   the Local Manifold of an Autoencoded Embedding*, ICPR 2020: UMAP of the latent codes, then a Gaussian
#   mixture, the start this notebook uses.
# - Dilokthanakul et al., *Deep Unsupervised Clustering with Gaussian Mixture Variational Autoencoders*,
#   2016: another mixture prior in a VAE, and the over-regularisation that empties its components
#   (notebook 09 produces that failure here).
# - Van Gansbeke et al., *SCAN: Learning to Classify Images without Labels*, ECCV 2020: neighbours mined in
#   a self-supervised embedding and a loss that makes neighbours agree, a graph term strong enough to move
#   clusters (compare notebook 08, "Where the graph helps").

# %% [markdown]
# ## Questions to think about
#
# 1. Section 7 shows the start within a point of the final model. Which stage would you improve first to
#    raise the final ACC, and how would you show that the gain came from that stage and not from another?
#    (Notebook 08's paired design is one answer.)
# 2. Section 6 names the classes that share a cluster. Would more components than classes help, and how
#    would you score a clustering with more clusters than classes fairly?
# 3. From its start, Algorithm 1 sometimes loses a few tenths of a point while its own objective rises. Is
#    that the optimiser's fault or the objective's? Which measurement of notebook 09 tells them apart?
# 4. The graph of section 1 is searched in pixel space. What would you expect from a graph searched in
#    the latent space after training, and what could go wrong if the graph were rebuilt every epoch?

# %% [markdown] tags=["answer"]
# **Answers to the questions.**
#
# 1. The start. Section 7 measures that from the UMAP start the final ACC stays within a point of the start on
#    every seed. Section 6 shows that the error that remains (the 9s merged with the 3s, the 1s split) is
#    already in the start, and that Algorithm 1 moves samples between neighbouring components but does not
#    pull a new component out of a merged one. On MNIST-70k, changing only the start moves DGG's final ACC
#    from about 82% (the paper's k-means start) to about 97% (UMAP). To show that a gain came from the start,
#    change only the start and pair by seed: the same seed, the same pretrained networks loaded from the
#    cache, only `init` different. For each seed record the start's ACC, the final ACC and their difference.
#    If the final ACC rises with the start's ACC while final minus start stays near zero in both arms, the
#    gain is the start's; a "DGG without graph" run on each start would show, in the same way, whether the
#    graph's share changed.
# 2. More components could help the failure of section 6. There one component holds both the 3s and the 9s,
#    and another is spent on part of the 1s, which are split three ways. With spare components the mixture
#    could give the 9s their own, and a class with several styles could keep two, although nothing forces the
#    extra components onto the merged classes rather than onto further splits. Hungarian ACC assumes one
#    cluster per class, so it does not apply as it stands. The usual alternative maps each cluster to its
#    majority class. That score can only rise with the number of clusters (one cluster per sample gives 100%),
#    so compare it only at equal numbers of clusters, or fix the map on one half of the labelled data and
#    score on the other half. Scores that need no map, ARI above all, since it is adjusted for chance and
#    falls when a class is spread over several clusters, should be reported with the number of clusters.
# 3. If the objective rises while ACC falls, the optimiser is doing its job: it climbs the function it was
#    given, and that function prefers a partition slightly different from the labels. Section 7 names one
#    reason: a GMM of diagonal Gaussians set from the true classes gives the right class for only 93 to 94% of
#    the digits, and Algorithm 1 pulls the partition towards what that GMM can represent. The optimiser would
#    be at fault if it failed to climb: if its steps jumped past good solutions, the objective would fall or
#    oscillate. Notebook 09's `first_step_shift` separates the two, because it measures how far one Adam step
#    moves $\tilde\mu$ in units of the spread of $\tilde\mu$. When a step moves the means by a small fraction
#    of their spread (the auto sizes) and the objective still rises, the lost accuracy is the objective's.
#    When one step moves them by several spreads (the paper's sizes on iris), the optimiser is jumping, and no
#    objective could keep the start. Notebook 09, section 4, makes the same point from the other side: the
#    seed with the best `score` (the ELBO) is often not the seed with the best ACC.
# 4. After training, the encoder has pulled apart the classes it separates, so neighbours searched in
#    $\tilde\mu$ (or in UMAP of it) would likely be purer than pixel neighbours for those classes: a learnt
#    embedding, like the Siamese one of notebook 06. The estimator's default graph already searches UMAP of
#    $\tilde\mu$, but once, after pretraining. The latent space also carries the model's mistakes. Where the
#    9s sit with the 3s, a 9's latent neighbours are 3s, and the graph would confirm the merge instead of
#    correcting it. Rebuilt every epoch, the graph would feed back on itself: the objective pulls neighbours'
#    posteriors together, the next search finds neighbours among the samples already pulled together, and the
#    graph ratifies whatever partition is forming, errors included; it could also shrink clusters towards the
#    emptied ones of notebook 09. Each epoch would change the objective (3) itself, so its values would no
#    longer be comparable between epochs, no convergence would be guaranteed, and every epoch would pay for a
#    neighbour search over all $N$ samples (70,000 images on MNIST). Safer variants rebuild rarely, mix the
#    new graph with the fixed one, or keep only the edges found in both spaces.

# %% [markdown]
# ## What you should now be able to do
#
# - Fit DGG with one estimator call and say what its three stages cost and which settings (device,
#   data, likelihood, $\sigma_x^2$) a run used, and which have not been run.
# - Read the training curves: term 1 is a log-density and can exceed 0 when $2\pi\sigma_x^2 < 1$, and an
#   ACC change of a few samples per epoch comes from uncertain samples near a boundary.
# - Compute the Hungarian-matched ACC and read a matched confusion matrix: which class lost its
#   cluster, and which cluster took it.
# - Compute the four terms of the cross ELBO (5) for a Gaussian decoder and the Bayes posterior $\gamma$ of the
#   GMM by hand, and write one epoch of Algorithm 1 that matches the library's.
# - Put a single run next to the benchmarks and the paper's Table 1, with whole-fit times on both sides.
#
# | objective | exercises |
# |---|---|
# | the three stages of a fit, and what each costs | Exercise 7.5 (one epoch of what `fit` runs) |
# | reading the training curves: term 1 as a log-density | Exercise 7.1 |
# | Hungarian-matched ACC and the matched confusion matrix | Exercise 7.3, Exercise 7.4 |
# | the model by hand: the cross ELBO, γ, one epoch of Algorithm 1 | Exercise 7.1, Exercise 7.2, Exercise 7.5 |
# | a single run against the benchmarks and Table 1 | none (section 5 does it) |

# %% [markdown]
# ## Appendix: reproducibility
#
# What makes a run of this notebook repeat, kept here so that it does not interrupt the model. The README's
# "Reproducibility" and "Threads" sections hold the measurements.
#
# **Versions.** The first cell prints the Python, torch, numpy, scipy and scikit-learn versions, the device,
# the number of torch threads and the CPU math kernels. `requirements-lock.txt` pins every package.
#
# **Kernels.** On x86-64, torch's matrix products go through MKL, and MKL and torch each pick a code path
# for the processor they find. Different paths round differently, and training turns a last-bit rounding
# difference into another clustering: the README lists the same seed landing several points apart under
# different kernels, and after code changes that should not matter (the order of equally distant
# neighbours, the random generator of the initial weights). The book's entry points therefore ask for the
# AVX2 paths (`MKL_CBWR=AVX2`, `ATEN_CPU_CAPABILITY=avx2`, set by `dggbook.pin_cpu_math()` before torch is
# imported), which every x86-64 CPU of the last decade has. Pinning makes two CPUs agree more often, not
# always; that is why the cells above assert bands, orderings and signs, never this machine's digits.
#
# **Threads.** The number of threads changes the order of floating-point sums, and so the results.
# `setup_book()` and the estimator use one torch thread (`DGG(n_threads=1)`, the fastest setting on a shared
# machine); while fitting, the estimator also bounds the BLAS and OpenMP pools of k-means and the Gaussian
# mixtures. UMAP (the start) compiles with numba; seeded, it runs on one numba thread so that runs repeat, and
# the first UMAP of a process would otherwise change the OpenMP thread count torch reads, so the estimator
# restores it. The replay of epochs 1 and 2 in section 2 runs on the fit's thread count for the same reason.
#
# **Cache.** `cache_dir=True` keeps the pretrained networks, the start and $f_2$, the Siamese embedding and a
# checkpoint after each epoch under `build/cache/` (or `$DGGBOOK_CACHE`). The key holds the data, the settings,
# the seed, the thread count, the library versions and the kernels, so a run on other settings never loads
# another's work. `pretrain_from_cache_` says whether the initialisation was loaded, `resumed_from_epoch_`
# after how many epochs a checkpoint was resumed; the history keeps each epoch's time, so the times of
# section 1 survive a resume. `make clean-cache` empties the cache. The next cell prints this run's settings.

# %%
import os

from dggbook.environment import cpu_math

print(f"torch threads {torch.get_num_threads()}, the estimator's n_threads {model.n_threads}, kernels {cpu_math()}, "
      f"ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', 'unset')}")
cache_folder = resolve_cache_dir(True)
print(f"cache: {cache_folder.name}/ holds {len(list(cache_folder.glob('*')))} files; this fit loaded its "
      f"initialisation from it: {model.pretrain_from_cache_}; resumed after epoch {model.resumed_from_epoch_ or 0}")
assert model.n_threads == 1 and torch.get_num_threads() == 1  # setup_book's and the estimator's one thread

# %% [markdown]
# ## Exercises
#
# Each exercise asks for a function (exercise 7.5, the capstone, for two); the cells tagged `check` below
# it call your code on this notebook's own model and data, or on a small problem, and compare the answer
# with the library's function or with an independent computation, failing with what was expected and what
# was received. `make course` builds
# the student copies, in which each solution block is replaced by a stub that raises `NotImplementedError`.

# %% [markdown]
# ### Exercise 7.1 — The cross ELBO $L(x_i, x_j)$ in torch (implementation, 25 min, ★★)
#
# Write `my_cross_elbo(networks, x_i, x_j, pi_i, noise_var, noise)`: for batches `x_i`, `x_j` (B, D), the
# anchors' priors `pi_i` (B, K) and one standard normal draw `noise` (B, M), return the four terms of the
# cross ELBO (5) as a tuple of four (B,) tensors, with the Gaussian decoder $p(x|z) = \mathcal N(g(z),
# \sigma_x^2 I)$, $\sigma_x^2$ = `noise_var`. The posterior is $x_j$'s and the prior is $x_i$'s:
#
# 1. encode $x_j$: `mu, logvar = networks.encoder(x_j)` ($\tilde\mu_j$, $\ln\tilde\sigma_j^2$), draw
#    $z = \tilde\mu_j + \tilde\sigma_j \odot$ `noise` (eq. (28)), and take $\gamma = f_2(\tilde\mu_j)$,
#    `networks.classifier.proba(mu)`;
# 2. term 1 scores $x_i$ against $g(z)$ = `networks.decoder(z)`: $\ln \mathcal N(x_i; g(z), \sigma_x^2 I)$, with its
#    normalising constant (the term that is positive in section 2);
# 3. terms 2 to 4 in closed form, from the GMM's `networks.gmm.means` $\mu_k$ and `networks.gmm.logvars`
#    $\ln\sigma_k^2$, both (K, M): $\mathbb E_q \ln p(z|c)$ with the ½ of the supplement, $\mathbb E_q \ln
#    \pi_i(c)/q(c|x_j)$ $= \sum_k \gamma_k \ln(\pi_{ik}/\gamma_k)$, and the entropy $-\mathbb E_q \ln q(z|x_j)$
#    of a diagonal Gaussian.
#
# Hints: notebook 03 derives terms 2 and 4; keep every $\ln 2\pi$. `elbo_terms`, `gaussian_log_likelihood`,
# `reconstruction_log_likelihood`, `elbo_of_pairs`, `graph_objective` and `dgg_objective` are switched off while
# your function runs. The checks run it on this notebook's trained networks (in float64), on pairs of a sample
# and its first graph neighbour, against the library's terms; then they estimate terms 2 and 4 by Monte Carlo
# over many draws of $z$, so a closed form that only copies a slip of the library's would fail too.

# %%
def my_cross_elbo(networks, x_i, x_j, pi_i, noise_var, noise):
    """(term 1, term 2, term 3, term 4) of the cross ELBO L(x_i, x_j), eq. (5), each (B,): x_j is encoded, x_i
    scored under g(z) with a Gaussian decoder of variance noise_var, and the anchors' priors pi_i are used."""
    ### BEGIN SOLUTION
    mu, logvar = networks.encoder(x_j)
    z = mu + torch.exp(0.5 * logvar) * noise  # eq. (28)
    gamma = networks.classifier.proba(mu)  # f2(μ̃_j), (B, K)
    n_pixels, n_latent = x_i.shape[1], mu.shape[1]
    log_2pi = float(np.log(2.0 * np.pi))
    term_1 = -((x_i - networks.decoder(z)) ** 2).sum(dim=1) / (2.0 * noise_var) \
        - 0.5 * n_pixels * (log_2pi + float(np.log(noise_var)))
    means, logvars = networks.gmm.means, networks.gmm.logvars  # (K, M)
    per_component = (log_2pi + logvars[None] + logvar.exp()[:, None, :] / logvars.exp()[None]
                     + (mu[:, None, :] - means[None]) ** 2 / logvars.exp()[None]).sum(dim=2)  # (B, K)
    term_2 = -0.5 * (gamma * per_component).sum(dim=1)
    term_3 = (gamma * (torch.log(pi_i) - torch.log(gamma))).sum(dim=1)
    term_4 = 0.5 * (log_2pi + 1.0 + logvar).sum(dim=1)
    return term_1, term_2, term_3, term_4
    ### END SOLUTION


# %% tags=["check"]
import copy

from dggbook.book.exercises import check_close, library_blocked
from dggbook.derivation.elbo import elbo_terms, gaussian_log_likelihood
from dggbook.model.algorithm1 import elbo_of_pairs

networks_64 = copy.deepcopy(model.networks_).double().cpu().eval()
pair_rows = np.arange(0, data.n_samples, max(1, data.n_samples // 64))[:64]  # 64 anchors spread over the data
x_anchor_64 = torch.as_tensor(X[pair_rows], dtype=torch.float64)
x_neighbour_64 = torch.as_tensor(X[model.graph_.indices[pair_rows, 0].cpu().numpy()], dtype=torch.float64)
pi_anchor_64 = torch.as_tensor(model.pi_[pair_rows], dtype=torch.float64).clamp_min(1e-12)
pi_anchor_64 = pi_anchor_64 / pi_anchor_64.sum(dim=1, keepdim=True)
noise_64 = torch.randn(len(pair_rows), model.latent_dim_, generator=torch.Generator().manual_seed(0),
                       dtype=torch.float64)
CROSS_VARIANCE = 0.05  # the digits preset's σ_x²
with torch.no_grad():  # the library's terms, before the block: by hand from its parts, and without a draw
    mu_64, logvar_64 = networks_64.encoder(x_neighbour_64)
    decoded_64 = networks_64.decoder(mu_64 + torch.exp(0.5 * logvar_64) * noise_64)
    want_terms = elbo_terms(gaussian_log_likelihood(x_anchor_64, decoded_64, CROSS_VARIANCE), mu_64, logvar_64,
                            networks_64.classifier.proba(mu_64), pi_anchor_64, networks_64.gmm.means,
                            networks_64.gmm.logvars)
    want_at_mean = elbo_of_pairs(networks_64, x_anchor_64, x_neighbour_64, pi_anchor_64, likelihood="gaussian",
                                 noise_var=CROSS_VARIANCE, sample=False)
CROSS_ELBO_PARTS = ("dggbook.derivation.elbo.elbo_terms", "dggbook.derivation.elbo.gaussian_log_likelihood",
                    "dggbook.model.likelihoods.reconstruction_log_likelihood",
                    "dggbook.model.algorithm1.elbo_of_pairs", "dggbook.model.algorithm1.graph_objective",
                    "dggbook.derivation.elbo.dgg_objective")
with torch.no_grad(), library_blocked("7.1", *CROSS_ELBO_PARTS):
    got_terms = my_cross_elbo(networks_64, x_anchor_64, x_neighbour_64, pi_anchor_64, CROSS_VARIANCE, noise_64)
    got_at_mean = my_cross_elbo(networks_64, x_anchor_64, x_neighbour_64, pi_anchor_64, CROSS_VARIANCE,
                                torch.zeros_like(noise_64))
for term_number, (name, got, want) in enumerate(zip(want_terms._fields, got_terms, want_terms), start=1):
    check_close("7.1", got, want, what=f"term {term_number} ({name})", rtol=1e-9, atol=1e-8)
check_close("7.1", sum(got_at_mean), want_at_mean.terms.total, what="L(x_i, x_j) at z = μ̃_j (elbo_of_pairs, sample=False)",
            rtol=1e-9, atol=1e-8)

# %% tags=["check"]
from dggbook.book.exercises import check_true

# Terms 2 and 4 by Monte Carlo: E_q[Σ_k γ_k ln N(z; μ_k, σ_k²)] and −E_q[ln q(z|x_j)], z ~ q(z|x_j), 2,000 draws.
with torch.no_grad():
    rows_mc = slice(0, 16)
    mu_mc, logvar_mc = mu_64[rows_mc], logvar_64[rows_mc]
    draws_mc = mu_mc + torch.exp(0.5 * logvar_mc) * torch.randn(
        2000, *mu_mc.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)  # (S, B, M)
    posterior_mc = torch.distributions.Normal(mu_mc, torch.exp(0.5 * logvar_mc))
    gmm_mc = torch.distributions.Normal(networks_64.gmm.means, torch.exp(0.5 * networks_64.gmm.logvars))
    log_p_z_given_c = gmm_mc.log_prob(draws_mc[:, :, None, :]).sum(dim=3)  # (S, B, K)
    gamma_mc = networks_64.classifier.proba(mu_mc)
    samples = {"term 2": (gamma_mc * log_p_z_given_c).sum(dim=2), "term 4": -posterior_mc.log_prob(draws_mc).sum(dim=2)}
for position, name in ((1, "term 2"), (3, "term 4")):
    estimate, spread = samples[name].mean(dim=0), samples[name].std(dim=0) / np.sqrt(samples[name].shape[0])
    worst = float(((got_terms[position][rows_mc] - estimate).abs() / spread.clamp_min(1e-12)).max())
    check_true("7.1", worst < 5.0, f"your {name} is {worst:.1f} Monte Carlo standard errors from E_q over 2,000 "
                                   f"draws of z (allowed: 5)")

# %% [markdown]
# ### Exercise 7.2 — The Bayes posterior of the GMM on latent codes (implementation, 15 min, ★★)
#
# VaDE assigns clusters by Bayes' rule in the latent space; DGG learns $\gamma$ with $f_2$ instead (notebook
# 01, and question 6 of notebook 08). Write `my_bayes_posterior(z, log_pi, means, logvars)` returning
#
# $$\gamma_{ik} = \frac{\pi_{ik}\,\mathcal N(z_i; \mu_k, \operatorname{diag}\sigma_k^2)}
#   {\sum_{l} \pi_{il}\,\mathcal N(z_i; \mu_l, \operatorname{diag}\sigma_l^2)}$$
#
# for codes `z` (B, M), log-priors `log_pi` (B, K), GMM means `means` (K, M) and log-variances
# `logvars` (K, M) (the GMM stores $\ln\sigma_k^2$). Return a (B, K) tensor whose rows sum to 1.
#
# Hints: work with logarithms; broadcast `z[:, None, :]` against `means[None]`; every term of the log
# density that depends on $k$ must stay, including the one from the normaliser of each component;
# `torch.softmax` or `torch.logsumexp` does the division without overflow. `bayes_posterior` is switched off
# while your function runs.

# %%
def my_bayes_posterior(z, log_pi, means, logvars):
    """gamma (B, K) at z (B, M): the diagonal GMM's posterior; means, logvars (K, M), log-priors log_pi (B, K)."""
    ### BEGIN SOLUTION
    offsets = z[:, None, :] - means[None, :, :]
    log_component = -0.5 * (np.log(2.0 * np.pi) + logvars[None] + offsets ** 2 / logvars.exp()[None]).sum(dim=-1)
    return torch.softmax(log_pi + log_component, dim=1)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked
from dggbook.model.vade import bayes_posterior

gmm = model.networks_.gmm
with torch.no_grad():
    z_batch = torch.as_tensor(Z[:300], device=model.device_)  # this notebook's latent means mu~
    log_pi_batch = torch.log(torch.as_tensor(model.pi_[:300], device=model.device_))  # DGG's per-sample priors
    expected_gamma = bayes_posterior(z_batch, log_pi_batch, model.networks_)  # before the block
    with library_blocked("7.2", "dggbook.model.vade.bayes_posterior"):
        received_gamma = my_bayes_posterior(z_batch, log_pi_batch, gmm.means, gmm.logvars)
check_close("7.2", received_gamma, expected_gamma, what="γ, the GMM's Bayes posterior", rtol=1e-4, atol=1e-5)

# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

# A case where every term counts: two components with the same mean and different variances, unequal priors.
toy_means = torch.zeros(2, 2)
toy_logvars = torch.log(torch.tensor([[0.25, 0.25], [4.0, 4.0]]))
toy_z = torch.tensor([[0.0, 0.0], [1.0, -1.0], [3.0, 0.5]])
toy_log_pi = torch.log(torch.tensor([[0.5, 0.5], [0.3, 0.7], [0.9, 0.1]]))
toy_log_joint = toy_log_pi + torch.stack([
    torch.distributions.MultivariateNormal(toy_means[k], torch.diag(toy_logvars[k].exp())).log_prob(toy_z)
    for k in range(2)], dim=1)
with library_blocked("7.2", "dggbook.model.vade.bayes_posterior"):
    toy_gamma = my_bayes_posterior(toy_z, toy_log_pi, toy_means, toy_logvars)
check_close("7.2", toy_gamma, torch.softmax(toy_log_joint, dim=1), what="γ on the two-component example",
            rtol=1e-5, atol=1e-7)

# %% [markdown]
# ### Exercise 7.3 — Hungarian-matched clustering accuracy (implementation, 10 min, ★★)
#
# Cluster ids are arbitrary, so ACC first matches clusters to classes one to one, choosing the
# matching that maximises the number of agreements, and then counts them:
#
# $$\mathrm{ACC} = \max_{\phi} \frac1N \sum_i \mathbf 1[y_i = \phi(c_i)],$$
#
# over one-to-one maps $\phi$ from clusters to classes. Write `my_cluster_accuracy(y_true, y_pred)` for
# integer arrays (classes and clusters both numbered from 0; their numbers may differ). Return a float.
#
# Hints: build the table of counts (cluster, class); `scipy.optimize.linear_sum_assignment` finds the
# best one-to-one matching of a table (read its `maximize` argument). Giving each cluster the class
# most of its samples have is *not* the same thing: two clusters could then claim one class. `cluster_accuracy`,
# `match_clusters` and `clustering_scores` are switched off while your function runs.

# %%
def my_cluster_accuracy(y_true, y_pred):
    """Share of samples whose cluster is matched, one to one and optimally, to their class."""
    ### BEGIN SOLUTION
    from scipy.optimize import linear_sum_assignment as hungarian

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    table_counts = np.zeros((y_pred.max() + 1, y_true.max() + 1), dtype=np.int64)
    np.add.at(table_counts, (y_pred, y_true), 1)
    matched_rows, matched_cols = hungarian(table_counts, maximize=True)
    return float(table_counts[matched_rows, matched_cols].sum() / y_true.size)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked
from dggbook.model.metrics import cluster_accuracy

ACC_FUNCTIONS = ("dggbook.model.metrics.cluster_accuracy", "dggbook.model.metrics.match_clusters",
                 "dggbook.model.metrics.clustering_scores")
assigned_sets = {"DGG": labels, "the start": model.start_labels_, "k-means on pixels": kmeans_labels}
expected_acc = {name: cluster_accuracy(y, assigned) for name, assigned in assigned_sets.items()}  # before the block
with library_blocked("7.3", *ACC_FUNCTIONS):
    received_acc = {name: my_cluster_accuracy(y, assigned) for name, assigned in assigned_sets.items()}
    # Five 0s and one 1; clusters {0, 0, 0} and {0, 0, 1}: both clusters hold mostly 0s, but only one can be
    # matched to class 0, so ACC = (3 + 1) / 6, not 5 / 6.
    shared_majority = my_cluster_accuracy(np.array([0, 0, 0, 0, 0, 1]), np.array([0, 0, 0, 1, 1, 1]))
    relabelled = my_cluster_accuracy(np.array([0, 1, 2, 2]), np.array([3, 0, 1, 1]))
for name in assigned_sets:
    check_close("7.3", received_acc[name], expected_acc[name], what=f"ACC of {name}")
check_close("7.3", shared_majority, 4 / 6, what="ACC when two clusters hold mostly the same class")
check_close("7.3", relabelled, 1.0, what="ACC of a relabelled perfect clustering with more cluster ids than classes")

# %% [markdown]
# ### Exercise 7.4 — Reading the confusion matrix: which class lost its cluster? (implementation, 10 min, ★★)
#
# Write `my_lost_class(counts)`. Its input is the table `counts[y, k]`, the number of samples of class
# $y$ in cluster $k$ (rows are classes, columns clusters, as `sklearn.metrics.cluster.contingency_matrix(y,
# labels)` gives it, with as many clusters as classes). Return a pair of ints `(lost, taker)`:
#
# - `lost`: the class with the smallest share of its samples in the cluster matched to it (the matching of
#   ACC, exercise 7.3). A share, not a count: classes have different sizes;
# - `taker`: the class matched to the cluster, other than `lost`'s own, that holds the most samples of `lost`.
#
# With seed 0 the answer names the merge section 6 describes. Hints: reorder the columns so that
# column $y$ is the cluster matched to class $y$; then the shares are on the diagonal. Break ties by the
# smallest index (`np.argmin` and `np.argmax` do). `match_clusters` and `cluster_accuracy` are switched off while
# your function runs (SciPy's `linear_sum_assignment` is allowed).

# %%
def my_lost_class(counts):
    """(lost, taker): the class worst kept by the matched clustering, and the class whose cluster took most of it."""
    ### BEGIN SOLUTION
    from scipy.optimize import linear_sum_assignment as hungarian

    counts = np.asarray(counts)
    class_rows, cluster_cols = hungarian(counts, maximize=True)
    by_class = counts[:, cluster_cols[np.argsort(class_rows)]]  # column c: the cluster matched to class c
    kept_share = np.diag(by_class) / by_class.sum(axis=1)
    lost = int(np.argmin(kept_share))
    elsewhere = by_class[lost].astype(float)
    elsewhere[lost] = -1.0
    return lost, int(np.argmax(elsewhere))
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_equal, library_blocked

MATCHING_FUNCTIONS = ("dggbook.model.metrics.match_clusters", "dggbook.model.metrics.cluster_accuracy")
# Independent route: the matched confusion matrix of section 6 (match_clusters, then sklearn's confusion_matrix).
for name, assigned in (("DGG", labels), ("the start", model.start_labels_)):
    matched_cm = confusion_matrix(y, match_clusters(y, assigned, K)[assigned], labels=np.arange(K))
    expected_lost = int(np.argmin(np.diag(matched_cm) / matched_cm.sum(axis=1)))
    row = matched_cm[expected_lost].astype(float)
    row[expected_lost] = -1.0
    counts_table = confusion_matrix(y, assigned, labels=np.arange(K))  # counts[y, k], empty clusters kept
    with library_blocked("7.4", *MATCHING_FUNCTIONS):
        received_pair = my_lost_class(counts_table)
    check_equal("7.4", received_pair, (expected_lost, int(np.argmax(row))), what=f"(lost, taker) for {name}")

# %% tags=["check"]
from dggbook.book.exercises import check_equal, library_blocked

# 160 samples, clusters listed in the order C, A, B: A is matched to class 0, B to 1, C to 2. Class 1 has the
# smallest diagonal count (7) but class 2 the smallest share (24 of 50); of the 2s outside C, most sit in A.
toy_counts = np.array([[5, 90, 5],
                       [0, 3, 7],
                       [24, 20, 6]])
with library_blocked("7.4", *MATCHING_FUNCTIONS):
    received_pair = my_lost_class(toy_counts)
check_equal("7.4", received_pair, (2, 0), what="(lost, taker) on the 3-class example")

# %% [markdown]
# ### Exercise 7.5 — Algorithm 1 from scratch: one epoch (implementation, 30 min, ★★★)
#
# Everything above came out of one call, `DGG.fit`. This capstone opens it: write one epoch of Algorithm 1
# yourself, from the ELBO terms that notebooks 02 and 03 check, and meet the library's epoch to float
# precision. Two functions, about 60 lines in all:
#
# 1. `my_batch_objective(networks, X, anchors, neighbors, neighbor_weights, pi_anchor, noise_var)` returns
#    `(loss, gamma_anchor, gamma_neighbors)`: the loss is minus the mean over the $B$ anchors of (3),
#    $\tfrac12 \sum_j w_{ij} [L(x_i) + L(x_i, x_j)]$, for the anchors' rows `anchors` (B,) of `X`, their
#    neighbours `neighbors` (B, S) with weights `neighbor_weights` (B, S) and priors `pi_anchor` (B, K);
#    the two γ, (B, K) and (B, S, K), are the posteriors $f_2(\tilde\mu)$ of the anchors and of their
#    neighbours, detached. $L(x_i, x_j)$ (5) encodes $x_j$, scores $x_i$ against $g(z_j)$ and keeps the
#    anchor's $\pi_i$. Take the four terms from `elbo_terms`, term 1 from `gaussian_log_likelihood` with
#    $\sigma_x^2$ = `noise_var` (exercise 7.1), and $\gamma = $ `networks.classifier.proba(mu)`.
# 2. `my_epoch(networks, X, indices, weights, pi, optimizer, *, batch_size, n_samples, noise_var)`: shuffle
#    the anchors and walk through them in batches of `batch_size`. For each batch, draw `n_samples` neighbours
#    per anchor from the graph (`indices`, `weights`, both (N, J)) with `sample_neighbors`, take one Adam step
#    on your loss, and set the batch's rows of `pi` by (31) (`update_pi`) from the γ of that forward pass.
#    Return the epoch's mean of (3) per anchor.
#
# *Same seed, same numbers.* Draw random numbers in the library's order: `torch.randperm(N)` once per
# epoch; per batch, `sample_neighbors`, then a single `torch.randn_like(mu)` for all $B(S+1)$ encoded rows,
# stacked as the $B$ anchors first, then the $S$ neighbours of the first anchor, of the second, and so on.
#
# The checks run your code on 40 digits with small float64 networks, next to the library's
# `graph_objective` (one Adam step) and `run_epoch` (one epoch) on the same seed. While your code runs,
# `graph_objective`, `elbo_of_pairs`, `dgg_objective`, `run_epoch`, `train_dgg` and `DGG.fit` raise.

# %%
from dggbook.model import algorithm1
from dggbook.model.graph import build_graph
from dggbook.model.networks import DGGNetworks
from dggbook.model.settings import TrainSettings

ALGORITHM_1 = ("dggbook.model.algorithm1.graph_objective", "dggbook.model.algorithm1.elbo_of_pairs",
               "dggbook.model.algorithm1.run_epoch", "dggbook.model.algorithm1.train_dgg",
               "dggbook.derivation.elbo.dgg_objective", "dggbook.model.dgg.DGG.fit")


def tiny_problem():
    """40 digits, their 5-NN graph, uniform π, float64 networks 64-16-16-32-4 with random weights (seed 0)."""
    torch.manual_seed(0)
    networks = DGGNetworks(X.shape[1], K, latent_dim=4, hidden_dims=(16, 16, 32)).double()
    with torch.no_grad():
        networks.gmm.means.normal_()  # K distinct components
    X_tiny = torch.as_tensor(X[:40], dtype=torch.float64)
    graph = build_graph(X_tiny, 5, weights="gaussian")
    pi = torch.full((40, K), 1.0 / K, dtype=torch.float64)
    return networks, X_tiny, graph.indices, graph.weights.to(torch.float64), pi


tiny_settings = TrainSettings(likelihood="gaussian", noise_var=0.05, batch_size=16, n_neighbor_samples=2, lr=1e-3)


def flat_parameters(networks):
    return torch.cat([parameter.detach().reshape(-1) for parameter in networks.parameters()])


# %%
from dggbook.derivation.elbo import elbo_terms, gaussian_log_likelihood


def my_batch_objective(networks, X, anchors, neighbors, neighbor_weights, pi_anchor, noise_var):
    """(loss, γ of the anchors (B, K), γ of their neighbours (B, S, K)): the loss is minus the batch mean of (3)."""
    ### BEGIN SOLUTION
    B, S = neighbors.shape
    x_anchor = X[anchors]
    # Rows 0..B-1 are the pairs (x_i, x_i) of L(x_i); then, anchor by anchor, the S pairs (x_i, x_j) of (5).
    x_scored = torch.cat([x_anchor, x_anchor.repeat_interleave(S, dim=0)])  # scored under g(z)
    x_encoded = torch.cat([x_anchor, X[neighbors.reshape(-1)]])  # whose posterior q(z, c | x) is used
    pi = torch.cat([pi_anchor, pi_anchor.repeat_interleave(S, dim=0)])  # every pair keeps the anchor's π_i
    mu, logvar = networks.encoder(x_encoded)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # eq. (23) for x_i, eq. (28) for x_j
    gamma = networks.classifier.proba(mu)  # f2(μ̃)
    recon = gaussian_log_likelihood(x_scored, networks.decoder(z), noise_var)  # term 1
    elbo_value = elbo_terms(recon, mu, logvar, gamma, pi, networks.gmm.means, networks.gmm.logvars).total
    elbo_self, elbo_cross = elbo_value[:B], elbo_value[B:].reshape(B, S)
    objective = 0.5 * (neighbor_weights.sum(dim=1) * elbo_self + (neighbor_weights * elbo_cross).sum(dim=1))
    gamma = gamma.detach()
    return -objective.mean(), gamma[:B], gamma[B:].reshape(B, S, -1)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

step = {}  # "library" / "yours" -> (loss, parameters after one Adam step)
for who in ("library", "yours"):
    networks, X_tiny, tiny_indices, tiny_weights, tiny_pi = tiny_problem()
    optimizer = torch.optim.Adam(networks.parameters(), lr=1e-3, weight_decay=1e-4)
    torch.manual_seed(1)
    anchors = torch.arange(16)
    neighbors, neighbor_weights = algorithm1.sample_neighbors(tiny_indices[anchors], tiny_weights[anchors], 2)
    if who == "library":
        loss = algorithm1.graph_objective(networks, X_tiny, anchors, neighbors, neighbor_weights,
                                          tiny_pi[anchors], tiny_settings).loss
    else:
        with library_blocked("7.5", *ALGORITHM_1):
            loss = my_batch_objective(networks, X_tiny, anchors, neighbors, neighbor_weights, tiny_pi[anchors],
                                      tiny_settings.noise_var)[0]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    step[who] = (loss.item(), flat_parameters(networks))
check_close("7.5", step["yours"][0], step["library"][0], what="the loss of one batch", rtol=1e-10)
check_close("7.5", step["yours"][1], step["library"][1], what="every parameter after one Adam step",
            rtol=1e-8, atol=1e-10)

# %%
from dggbook.derivation.pi_update import update_pi
from dggbook.model.algorithm1 import sample_neighbors


def my_epoch(networks, X, indices, weights, pi, optimizer, *, batch_size, n_samples, noise_var):
    """One epoch of Algorithm 1: an Adam step per batch, then π_i <- (31) in place; returns the mean of (3)."""
    ### BEGIN SOLUTION
    N = X.shape[0]
    order = torch.randperm(N)  # the anchors, shuffled
    objective_sum = 0.0
    for start in range(0, N, batch_size):
        anchors = order[start:start + batch_size]
        neighbors, neighbor_weights = sample_neighbors(indices[anchors], weights[anchors], n_samples)
        loss, gamma_anchor, gamma_neighbors = my_batch_objective(
            networks, X, anchors, neighbors, neighbor_weights, pi[anchors], noise_var)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        pi[anchors] = update_pi(gamma_anchor, gamma_neighbors, neighbor_weights)  # eq. (31)
        objective_sum -= loss.item() * len(anchors)
    return objective_sum / N
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

epoch = {}  # "library" / "yours" -> (mean of (3), parameters, π) after one epoch of three batches
for who in ("library", "yours"):
    networks, X_tiny, tiny_indices, tiny_weights, tiny_pi = tiny_problem()
    optimizer = torch.optim.Adam(networks.parameters(), lr=1e-3, weight_decay=1e-4)
    torch.manual_seed(2)
    if who == "library":
        objective = algorithm1.run_epoch(networks, X_tiny, tiny_indices, tiny_weights, tiny_pi, optimizer,
                                         tiny_settings)[-1].item()  # its epoch sums are float32
    else:
        with library_blocked("7.5", *ALGORITHM_1):
            objective = my_epoch(networks, X_tiny, tiny_indices, tiny_weights, tiny_pi, optimizer,
                                 batch_size=16, n_samples=2, noise_var=tiny_settings.noise_var)
    epoch[who] = (objective, flat_parameters(networks), tiny_pi)
check_close("7.5", epoch["yours"][0], epoch["library"][0], what="the epoch's mean of (3)", rtol=1e-6)
check_close("7.5", epoch["yours"][1], epoch["library"][1], what="every parameter after one epoch",
            rtol=1e-8, atol=1e-10)
check_close("7.5", epoch["yours"][2], epoch["library"][2], what="π after one epoch", rtol=1e-8, atol=1e-12)

# %% [markdown]
# **The concise version.** `DGG.fit` (section 1) runs this epoch, as `dggbook.model.algorithm1.run_epoch`,
# for `epochs` epochs after the initialisation and the graph, adding a learning-rate schedule, checkpoints and
# per-epoch monitoring: read `train_dgg` in `dggbook/model/algorithm1.py` next to your `my_epoch`.
