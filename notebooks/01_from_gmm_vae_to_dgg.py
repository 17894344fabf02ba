# %%
from dggbook.book import setup_book; settings = setup_book(seed=0)

# %% [markdown]
# # 01 — From a Gaussian-mixture VAE to DGG
#
# DGG (Yang, Cheung, Li, Fang, ICCV 2019) is a VAE whose latent prior is a
# Gaussian mixture, trained with an extra term that asks neighbouring samples to
# have similar posteriors. This notebook sets up the pieces that the rest of the
# book works with:
#
# 1. the generative model, with its unusual **per-sample** prior $\pi_i$;
# 2. the inference model $q(z, c \mid x) = q(z \mid x)\,q(c \mid z)$ and its three networks $f_1, g, f_2$;
# 3. the objective: log-likelihood minus a graph penalty built from JS divergences.
#
# To have something we can check exactly, the decoder is linear here
# (`dggbook.derivation.tractable.LinearGaussianMixture`, a test bed of this book's own: neither the
# paper nor its supplement uses it). With a linear
# decoder $\ln p(x)$ and the true posterior are available in closed form, so every
# claim below can be checked numerically.
#
# **Learning objectives.** After this notebook you can:
# - write down DGG's generative model (M1)–(M3) with its per-sample prior $\pi_i$, and sample from it;
# - compute the cluster posterior $p(c \mid x_i)$ by Bayes' rule and explain with (M4) how $\pi_i$ moves it;
# - implement the reparameterised draw (23) and say what each of the networks $f_1$, $g$, $f_2$ outputs;
# - estimate an ELBO and a cross ELBO, and state the objective (O) and the bound (3) built from them.
#
# **Prerequisites.** Variational autoencoders and the ELBO; Gaussian mixtures and Bayes' rule; the KL
# divergence; NumPy and a little PyTorch. This is the first technical notebook: read the roadmap first.
#
# **Time.** About 30 minutes to read and run, plus about 45 minutes for the exercises. (The code runs in
# about 20 s on a 2-core CPU.)
#
# **References.** [DGG paper](https://openaccess.thecvf.com/content_ICCV_2019/html/Yang_Deep_Clustering_by_Gaussian_Mixture_Variational_Autoencoders_With_Graph_Embedding_ICCV_2019_paper.html)
# (the model, the inference networks and the objective; reparameterisation eqs. (23) and (28));
# [VaDE](https://arxiv.org/abs/1611.05148) (Jiang et al., IJCAI 2017), the Gaussian-mixture VAE that DGG
# extends (a global $\pi$, and $\gamma$ as the Bayes posterior);
# [public code](https://github.com/ngoc-nguyen-0/DGG) (the three networks).
#
# **Notation.** Symbols as in the [notation glossary](notation.md); the course order is in the
# [roadmap](00_roadmap.ipynb).

# %%
import dataclasses
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.optimize import brentq

from dggbook.book import savefig
from dggbook.derivation.checks import tractable_setup
from dggbook.derivation.joint import elbo_joint, g_bound, js_joint
from dggbook.derivation.quadrature import LN2
from dggbook.model.networks import DGGNetworks, reparameterize

matplotlib.rcParams["figure.dpi"] = 72  # modest inline PNGs keep the .ipynb small

N_SAMPLES = 2_000 if settings.quick else 20_000    # draws from the generative model
N_MC = 20_000 if settings.quick else 200_000       # prior draws for the Monte Carlo estimate of p(x)
N_REPARAM = 5_000 if settings.quick else 50_000    # reparameterised draws of z for one x
print(f"{N_SAMPLES=} {N_MC=} {N_REPARAM=}")

# %% [markdown]
# ## 1. The generative model
#
# Data $x_i \in \mathbb R^D$ ($i = 1..N$), latent codes $z \in \mathbb R^M$, clusters
# $k = 1..K$. DGG draws each sample in three steps:
#
# $$p(c_i = k) = \pi_{ik}, \tag{M1}$$
#
# $$p(z \mid c = k) = \mathcal N\big(z;\ \mu_k,\ \operatorname{diag}\sigma_k^2\big), \tag{M2}$$
#
# $$p(x \mid z) = \operatorname{Bernoulli}\big(g(z)\big)\ \text{ for } x \in [0,1]^D,
# \qquad\text{or}\qquad \mathcal N\big(x;\ g(z),\ \sigma_x^2 I\big)\ \text{ for real } x. \tag{M3}$$
#
# The cluster means $\mu_k$ and variances $\sigma_k^2$ are shared by all samples and
# $g$ is the decoder network; $\sigma_x^2$ is the noise variance of the Gaussian decoder.
# The prior over clusters in (M1) is **not** one global
# mixing vector: every sample $x_i$ has its own $\pi_i$. DGG re-estimates $\pi_i$
# from the cluster posteriors of $x_i$ and its graph neighbours (eq. (31), notebook
# 04). A global $\pi$, as in VaDE, is the special case $\pi_i = \pi$ for all $i$.
#
# The tractable stand-in uses (M1)–(M3) with the Gaussian branch of (M3) and a
# linear decoder $g(z) = Wz + b$. Here $M = 2$ (so we can look at the latent space),
# $D = 4$ and $K = 3$, and every sample shares the prior $\pi$ until section 2.
# The library calls $\sigma_x^2$ `noise_var`.

# %%
model, x_i, x_j, q_i, q_j = tractable_setup(seed=0)  # the fixed set-up every derivation check uses
print("pi      =", np.round(model.weights, 4))
print("mu_k    =", np.round(model.means, 3).tolist())
print("sigma_k² =", np.round([np.diag(c) for c in model.covs], 3).tolist())
print(f"W is {model.loading.shape}, sigma_x² = {model.noise_var}")
assert (model.loading.shape, model.n_clusters) == ((4, 2), 3)  # D = 4, M = 2, K = 3

# %% [markdown]
# **Check: ancestral sampling follows (M1) and (M2).** `sample` draws $c$ from $\pi$,
# then $z$ from (M2), then $x$ from (M3). Each cluster count is binomial, so its
# frequency has standard error $\sqrt{\pi_k(1-\pi_k)/N}$. Given $c = k$, the mean of
# the $z$'s has standard error $\sigma_{km}/\sqrt{N_k}$ in each coordinate. We require
# every frequency and every mean to be within 5 standard errors.

# %%
x, z, c = model.sample(N_SAMPLES, seed=settings.seed + 1)
freq = np.bincount(c, minlength=model.n_clusters) / N_SAMPLES
freq_se = np.sqrt(model.weights * (1 - model.weights) / N_SAMPLES)
print("frequency  ", np.round(freq, 4), "\npi         ", np.round(model.weights, 4))
print("error / SE ", np.round((freq - model.weights) / freq_se, 2))
assert np.all(np.abs(freq - model.weights) < 5 * freq_se)
for k in range(model.n_clusters):
    zk = z[c == k]
    se = np.sqrt(np.diag(model.covs[k]) / len(zk))
    print(f"cluster {k}: mean of z {np.round(zk.mean(0), 3)}  vs mu_k {np.round(model.means[k], 3)}"
          f"  (error/SE {np.round((zk.mean(0) - model.means[k]) / se, 2)})")
    assert np.all(np.abs(zk.mean(0) - model.means[k]) < 5 * se)

# %% [markdown]
# Left: the latent codes, coloured by cluster, with each $\mu_k$ and its 2σ
# ellipse. Right: the same samples in data space, projected onto the two leading
# principal axes of $x$. The linear decoder keeps the clusters apart, and the
# noise $\sigma_x^2 I$ blurs them.

# %%
colors = plt.cm.tab10(np.arange(model.n_clusters))
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
show = slice(0, min(N_SAMPLES, 3_000))
axes[0].scatter(*z[show].T, c=colors[c[show]], s=5, alpha=0.5)
angle = np.linspace(0, 2 * np.pi, 100)
for k in range(model.n_clusters):
    sd = np.sqrt(np.diag(model.covs[k]))
    axes[0].plot(model.means[k, 0] + 2 * sd[0] * np.cos(angle), model.means[k, 1] + 2 * sd[1] * np.sin(angle),
                 color=colors[k], lw=2, label=f"k={k}, π={model.weights[k]:.2f}")
    axes[0].plot(*model.means[k], "k+", ms=12, mew=2)
axes[0].set(title="latent z ~ p(z | c)  (2σ ellipses)", xlabel="$z_1$", ylabel="$z_2$", aspect="equal")
axes[0].legend(fontsize=8, loc="lower right")
xc = x - x.mean(0)
principal = np.linalg.svd(xc, full_matrices=False)[2][:2]
axes[1].scatter(*(xc[show] @ principal.T).T, c=colors[c[show]], s=5, alpha=0.5)
axes[1].set(title="data x = Wz + b + noise (first two principal axes)", xlabel="PC 1", ylabel="PC 2")
fig.tight_layout()
print("saved", savefig(fig, "gmm_vae_generative_samples").name)
plt.show()

# %% [markdown]
# ## 2. Why a per-sample prior matters
#
# By Bayes' rule the cluster posterior of a sample is
#
# $$p(c = k \mid x_i) = \frac{\pi_{ik}\, p(x_i \mid k)}{\sum_l \pi_{il}\, p(x_i \mid l)},
# \qquad\text{so}\qquad
# \ln\frac{p(c = a \mid x_i)}{p(c = b \mid x_i)} = \ln\frac{\pi_{ia}}{\pi_{ib}} + \ln\frac{p(x_i \mid a)}{p(x_i \mid b)}. \tag{M4}$$
#
# The prior moves the log-odds by exactly $\ln(\pi_{ia}/\pi_{ib})$; the likelihood
# ratio does not change. For a sample half-way between two clusters, its own
# $\pi_i$ decides the assignment. In DGG $\pi_i$ comes from the sample's
# neighbourhood, so the graph can tip ambiguous samples towards the clusters of
# their neighbours.
#
# We take a sample that the likelihood assigns, but not overwhelmingly. Its latent
# point $z_a = 0.2\,\mu_1 + 0.8\,\mu_2$ lies four fifths of the way from cluster 1's
# mean to cluster 2's, and $x_a = W z_a + b$ is its noise-free image. We sweep $\pi_i$
# from "cluster 1 likely" to "cluster 2 likely" (cluster 0 keeps 2 %). Each $\pi_i$ is
# a copy of the model with only its weights replaced.

# %%
z_a = 0.2 * model.means[1] + 0.8 * model.means[2]
x_a = model.loading @ z_a + model.offset
shares = np.linspace(0.02, 0.98, 9 if settings.quick else 49)


def prior_with_share(s):
    """π_i: 2 % on cluster 0; the rest split between clusters 1 and 2, with the share s going to cluster 2."""
    return np.array([0.02, 0.98 * (1 - s), 0.98 * s])


def posterior_at(s):
    """p(c | x_a) under the per-sample prior with share s."""
    return np.exp(dataclasses.replace(model, weights=prior_with_share(s)).posterior(x_a).log_weights)


posteriors = np.array([posterior_at(s) for s in shares])
prior_log_odds = np.log(shares / (1 - shares))                            # ln π_i2/π_i1
posterior_log_odds = np.log(posteriors[:, 2] / posteriors[:, 1])         # ln p(2|x)/p(1|x)
likelihood_ratio = posterior_log_odds - prior_log_odds                   # (M4) rearranged
spread = likelihood_ratio.max() - likelihood_ratio.min()
log_ratio = likelihood_ratio.mean()
print(f"ln p(x_a|2)/p(x_a|1) = {log_ratio:.4f}  (odds {math.exp(log_ratio):.2f} to 1); "
      f"spread over the sweep {spread:.1e}")
assert spread < 1e-12        # (M4): the prior shifts the log-odds, the likelihood ratio stays put
assert abs(log_ratio - 1.6494) < 1e-3 and 1 < log_ratio < 3

# The share at which clusters 1 and 2 are equally probable, found by root finding on the model itself.
s_tip = brentq(lambda s: posterior_at(s)[2] - posterior_at(s)[1], 1e-6, 1 - 1e-6, xtol=1e-14)
p_neutral = posterior_at(0.5)
print(f"neutral prior (share 0.5): p(c | x_a) = {np.round(p_neutral, 4)}")
print(f"p(c=1 | x_a) = p(c=2 | x_a) at share {s_tip:.4f}")
assert abs(p_neutral[2] - 0.8387) < 1e-4 and posteriors[:, 0].max() < 1e-3
assert abs(math.exp(log_ratio) - 5.2) < 0.01  # odds of about 5.2 to 1
assert abs(s_tip - 0.1612) < 1e-4

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for k in range(model.n_clusters):
    axes[0].plot(shares, posteriors[:, k], color=colors[k], lw=2, label=f"p(c={k} | $x_a$)")
axes[0].axvline(0.5, color="grey", ls=":", lw=1, label="neutral prior")
axes[0].axvline(s_tip, color="k", ls="--", lw=1, label=f"tipping share {s_tip:.2f}")
axes[0].set(xlabel="share of $\\pi_i$ given to cluster 2 (vs cluster 1)", ylabel="posterior",
            title="the same $x_a$, different per-sample priors")
axes[0].legend(fontsize=8)
axes[1].plot(prior_log_odds, posterior_log_odds, "k-", lw=2, label="posterior log-odds")
axes[1].plot(prior_log_odds, prior_log_odds, color="grey", ls=":", lw=1.5, label="prior log-odds")
axes[1].axhline(0, color="grey", lw=0.5)
axes[1].annotate("", xy=(0, log_ratio), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "tab:red"})
axes[1].text(0.15, 0.5 * log_ratio, f"$\\ln p(x_a|2)/p(x_a|1)$ = {log_ratio:.2f}", color="tab:red", va="center")
axes[1].set(xlabel="$\\ln \\pi_{i2} / \\pi_{i1}$", ylabel="$\\ln p(c=2 | x_a) / p(c=1 | x_a)$",
            title="(M4): a shift by the likelihood ratio")
axes[1].legend(fontsize=8, loc="lower right")
fig.tight_layout()
print("saved", savefig(fig, "per_sample_prior_posterior").name)
plt.show()

# %% [markdown]
# The likelihood favours cluster 2 by $\ln p(x_a \mid 2)/p(x_a \mid 1) = 1.65$, odds
# of about 5.2 to 1. With a neutral prior (share 0.5) the sample goes to cluster 2 with
# probability 0.84. Left: the posterior of cluster 2 is a bent curve, not the straight
# line of the prior share: it rises steeply at small shares and slowly at large ones.
# The two clusters are equally probable at share 0.16, where the prior
# favours cluster 1 by the same odds that the likelihood favours cluster 2. Cluster 0 is
# too far away to matter (posterior below $10^{-3}$ over the whole sweep). Right: the same
# sweep as log-odds is a straight line of slope 1, lifted by the likelihood ratio:
# that is (M4). A neighbourhood that gives cluster 1 more than 84 % of the prior weight on
# clusters 1 and 2 (share below 0.16) moves $x_a$ to cluster 1.

# %% [markdown]
# ## 3. The inference model and the three networks
#
# DGG factorises its approximate posterior as
#
# $$q(z, c \mid x) = q(z \mid x)\, q(c \mid z), \tag{I1}$$
#
# $$q(z \mid x) = \mathcal N\big(z;\ \tilde\mu(x),\ \operatorname{diag}\tilde\sigma^2(x)\big),\quad
# [\tilde\mu, \ln\tilde\sigma^2] = f_1(x),\qquad
# q(c \mid z) = \operatorname{Categorical}\big(f_2(z)\big),\quad \gamma_{ik} = q(c = k \mid z_i). \tag{I2}$$
#
# A sample of $z$ is drawn by reparameterisation (the paper's (23) for $x_i$ and (28)
# for a neighbour $x_j$):
#
# $$z = \tilde\mu + \tilde\sigma \odot \varepsilon,\qquad \varepsilon \sim \mathcal N(0, I). \tag{23}$$
#
# There are three networks: the encoder $f_1$, the decoder $g$ and the classifier
# $f_2$. In VaDE, $\gamma$ is the Bayes posterior of the mixture. In DGG it is the
# output of the separately trained $f_2$ (notebook 04 compares the two). Below,
# `DGGNetworks` holds untrained, tiny versions of all three, sized for this toy model.

# %%
nets = DGGNetworks(input_dim=4, n_clusters=3, latent_dim=2, hidden_dims=(16,))
xb = torch.as_tensor(x[:5], dtype=torch.float32)
mu, logvar = nets.encoder(xb)                 # f1: (mu~, ln sigma~²)
zb = reparameterize(mu, logvar)               # (23)
gamma = nets.classifier.proba(zb)             # f2: gamma_ik = q(c=k | z_i)
g_of_z = nets.decoder(zb)                     # g: the mean (or logits) of p(x|z)
for name, t in [("x", xb), ("mu~", mu), ("ln sigma~²", logvar), ("z", zb), ("gamma", gamma), ("g(z)", g_of_z)]:
    print(f"{name:11s} {tuple(t.shape)}")
assert torch.allclose(gamma.sum(-1), torch.ones(5), atol=1e-6)  # each row of gamma is a distribution

# %% [markdown]
# **Check: (23) samples from $q(z \mid x)$.** Many reparameterised draws for one
# $x$ should have sample mean $\tilde\mu$ (standard error $\tilde\sigma/\sqrt n$ for $n$ draws) and
# sample variance $\tilde\sigma^2$ (standard error about $\tilde\sigma^2\sqrt{2/(n-1)}$).
# Tolerance: 5 standard errors.

# %%
with torch.no_grad():
    m1, lv1 = mu[:1].double(), logvar[:1].double()
    draws = reparameterize(m1.expand(N_REPARAM, -1), lv1.expand(N_REPARAM, -1))
var1 = lv1.exp()[0]
mean_err = (draws.mean(0) - m1[0]) / (var1.sqrt() / math.sqrt(N_REPARAM))
var_err = (draws.var(0) - var1) / (var1 * math.sqrt(2 / (N_REPARAM - 1)))
print("mean error / SE", mean_err.numpy().round(2), "  variance error / SE", var_err.numpy().round(2))
assert mean_err.abs().max() < 5 and var_err.abs().max() < 5

# %% [markdown]
# ## 4. The objective
#
# DGG keeps the maximum-likelihood goal and subtracts a penalty for neighbours whose
# posteriors disagree. With affinities $w_{ij} \ge 0$:
#
# $$\max\ \sum_i \Big[\ln p(x_i) - \sum_j w_{ij}\,\mathrm{JS}\big(q(z, c \mid x_i),\ q(z, c \mid x_j)\big)\Big]. \tag{O}$$
#
# Neither term is computable for a neural decoder. Notebook 02 derives a
# computable lower bound in three steps. Step (1) replaces JS by the larger
#
# $$G(x_i, x_j) = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_i)
# = \mathrm{JS}(q_i, q_j) + \mathrm{KL}(\bar q \,\|\, p_i) \ \ge\ \mathrm{JS}(q_i, q_j), \tag{1}$$
#
# where $q_i = q(z, c \mid x_i)$, $p_i = p(z, c \mid x_i)$ is the true posterior and
# $\bar q = \tfrac12(q_i + q_j)$. Step (2.3) rewrites $\ln p(x_i) - G$ as
# $\tfrac12[L(x_i) + L(x_i, x_j)]$, the average of the ELBO $L(x_i)$ and the "cross
# ELBO" $L(x_i, x_j)$, in which $x_i$ is scored under its neighbour's posterior $q_j$.
# Step (3) uses $\sum_j w_{ij} = 1$ to drop every $\ln p(x_i)$ and leaves
#
# $$\max\ \tfrac12 \sum_i \sum_j w_{ij}\,\big[L(x_i) + L(x_i, x_j)\big]. \tag{3}$$
#
# On the tractable model every piece can be computed: $\ln p(x_i)$ in closed form,
# and JS, G and both ELBOs by Gauss–Hermite quadrature. The two posteriors
# $q_i, q_j$ come from `tractable_setup`: Gaussians in $z$ times a softmax
# classifier in $c$ (the shape of (I1)). They are arbitrary, not fitted.

# %% [markdown]
# **Check: the exact $\ln p(x_i)$ against Monte Carlo.** Since
# $p(x_i) = \mathbb E_{p(z, c)}[p(x_i \mid z)]$, the average of $p(x_i \mid z_s)$ over prior
# draws $z_s$ estimates $p(x_i)$ without bias, with standard error
# $\mathrm{sd}/\sqrt n$ for $n$ draws. We require agreement within 5 standard errors, on the scale
# of $p(x_i)$ itself, where the estimator is unbiased.

# %%
# BOOK_CHECK_OUTPUT  (make book-check: this output must match the committed one)
log_px = model.log_evidence(x_i)
_, z_prior, _ = model.sample(N_MC, seed=settings.seed + 2)
lik = np.exp(model.log_likelihood(x_i, z_prior))
p_hat, p_se = lik.mean(), lik.std(ddof=1) / math.sqrt(N_MC)
print(f"ln p(x_i): exact {log_px:.5f}   Monte Carlo {math.log(p_hat):.5f} ± {p_se / p_hat:.5f}"
      f"   ({(p_hat - math.exp(log_px)) / p_se:+.2f} SE on the p scale)")
assert abs(p_hat - math.exp(log_px)) < 5 * p_se

# %% [markdown]
# The pieces of (O) and of its bound for the pair $(x_i, x_j)$, with $w_{ij} = 1$:

# %%
log_joint_i = lambda z: model.log_joint(x_i, z)  # noqa: E731  ln p(x_i, z, c) for every c
pieces = {
    "ln p(x_i)": log_px,
    "JS(q_i, q_j)": js_joint(q_i, q_j),
    "G(x_i, x_j)": g_bound(q_i, q_j, model.posterior(x_i)),
    "L(x_i)": elbo_joint(q_i, log_joint_i),
    "L(x_i, x_j)": elbo_joint(q_j, log_joint_i),
}
for name, value in pieces.items():
    print(f"{name:14s} {value:10.4f}")
target = pieces["ln p(x_i)"] - pieces["JS(q_i, q_j)"]
bound = 0.5 * (pieces["L(x_i)"] + pieces["L(x_i, x_j)"])
print(f"\nper-pair target ln p − JS = {target:.4f}   >=   bound ½[L(x_i) + L(x_i, x_j)] = {bound:.4f}")
assert 0.0 <= pieces["JS(q_i, q_j)"] <= LN2                     # JS is bounded by ln 2
assert pieces["JS(q_i, q_j)"] <= pieces["G(x_i, x_j)"]          # (1)
assert max(pieces["L(x_i)"], pieces["L(x_i, x_j)"]) <= log_px   # every ELBO is below ln p(x_i)
assert bound <= target
assert abs(bound - (log_px - pieces["G(x_i, x_j)"])) < 1e-10  # the dashed line below: identity (2.3)

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
names = ["ln p(x_i)", "ln p − JS", "ln p − G", "L(x_i)", "L(x_i, x_j)"]
values = [log_px, target, log_px - pieces["G(x_i, x_j)"], pieces["L(x_i)"], pieces["L(x_i, x_j)"]]
ax.bar(names, values, color=["k", "tab:blue", "tab:orange", "tab:green", "tab:red"])
ax.axhline(bound, color="tab:orange", ls="--", lw=1, label="½[L(x_i) + L(x_i, x_j)]")
ax.set(ylabel="nats", title="(O) for one pair, and the computable bound")
ax.legend(loc="lower left")
print("saved", savefig(fig, "objective_pieces").name)
plt.show()

# %% [markdown]
# The dashed line, $\tfrac12[L(x_i) + L(x_i, x_j)]$, lies exactly on top of the
# $\ln p - G$ bar. That is identity (2.3), proved and checked in notebook 02. The
# gap between $\ln p - \mathrm{JS}$ and $\ln p - G$ is $\mathrm{KL}(\bar q \,\|\, p_i)$. It
# is large here because $q_i$ and $q_j$ were not fitted. Training shrinks it by
# moving $q$ towards the true posterior.

# %% [markdown]
# ## Further reading
#
# - Bishop, *Pattern Recognition and Machine Learning*, Springer 2006, ch. 9: the Gaussian mixture, its posterior over clusters ("responsibilities") and EM, the
#   model this notebook puts a neural decoder under.
# - Kingma and Welling, *Auto-Encoding Variational Bayes*, ICLR 2014: the variational autoencoder, the reparameterised draw (23) and the ELBO that DGG inherits.
# - Jiang, Zheng, Tan, Tang and Zhou, *Variational Deep Embedding: An Unsupervised and Generative Approach to Clustering*, IJCAI 2017: the Gaussian-mixture VAE with one global $\pi$ and $\gamma$ from Bayes' rule; DGG changes
#   exactly those two pieces and adds the graph.
# - Yang, Cheung, Li and Fang, *Deep Clustering by Gaussian Mixture Variational Autoencoders with Graph Embedding*, ICCV 2019: the model (M1)–(M4), the inference networks and the objective (O).
#
# ## Questions to think about
#
# 1. In (M1) every sample has its own prior $\pi_i$. What would go wrong if $\pi_i$ were a free
#    parameter of each sample, fitted by maximum likelihood with no graph at all?
# 2. The tractable model has a linear decoder so that $\ln p(x)$ is exact. Which claims of this
#    notebook would you lose with a neural decoder, and which could you still check by Monte Carlo?
# 3. Why does the inference model (I1) let $q(c \mid z)$ depend on $z$ only and not on $x$ directly?
#    What would change in the ELBO if it depended on $x$?
# 4. The objective (O) subtracts $\sum_j w_{ij} \mathrm{JS}(q_i, q_j)$. What happens to it when every
#    sample is its own only neighbour?

# %% [markdown]
# ## What you should now be able to do
#
# - Write down (M1)–(M3), say which parameters are shared and which ($\pi_i$) belong to one sample, and
#   draw samples from the model.
# - Compute $p(c \mid x_i)$ by Bayes' rule, and read off from (M4) how far a per-sample prior moves it.
# - Draw $z$ from $q(z \mid x)$ by reparameterisation (23) and name the outputs of $f_1$, $g$ and $f_2$.
# - Estimate an ELBO and a cross ELBO, and explain how (O) becomes the bound (3).

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell in which you write a function `my_...` and, below it, one or more check cells
# that call your function and compare its answer with the library or with an independent computation.
# A passing check prints one line; a failing one raises an `AssertionError` that says what it expected
# and what it received. `make course` writes student copies of the notebooks in which every solution
# block is replaced by a stub that raises `NotImplementedError`.

# %% [markdown]
# ### Exercise 1.1 — The cluster posterior by log-sum-exp
#
# Write `my_cluster_posterior(log_prior, log_lik)`. Both arguments are arrays of length $K$: the log prior
# $\ln \pi_{ik}$ and the log-likelihoods $\ln p(x_i \mid c = k)$. Return the posterior probabilities
# $p(c = k \mid x_i)$ of Bayes' rule (section 2).
#
# With a neural decoder and $D = 784$ pixels, $\ln p(x_i \mid k)$ is often around $-1000$, and
# $e^{-1000}$ is 0 in floating point. Work in logs: add the two arrays, then normalise with the
# log-sum-exp trick $\ln \sum_k e^{u_k} = u^\ast + \ln \sum_k e^{u_k - u^\ast}$, where $u^\ast = \max_k u_k$.
# Use NumPy only (no `scipy.special`).

# %%
def my_cluster_posterior(log_prior, log_lik):
    """p(c = k | x) for every k, from ln π_k (K,) and ln p(x | k) (K,), computed stably in logs."""
    ### BEGIN SOLUTION
    log_unnorm = np.asarray(log_prior, dtype=float) + np.asarray(log_lik, dtype=float)
    top = log_unnorm.max()
    log_norm = top + np.log(np.exp(log_unnorm - top).sum())
    return np.exp(log_unnorm - log_norm)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close

# Against the tractable model's exact posterior, for three points and three per-sample priors.
received, expected = [], []
for x_test in (x_i, x_j, x_a):
    log_lik_test = model.log_evidence_per_cluster(x_test) - np.log(model.weights)  # ln p(x | k)
    for share in (0.1, 0.5, 0.9):
        pi_test = prior_with_share(share)
        received.append(my_cluster_posterior(np.log(pi_test), log_lik_test))
        expected.append(np.exp(dataclasses.replace(model, weights=pi_test).posterior(x_test).log_weights))
check_close("1.1", np.array(received), np.array(expected), what="p(c | x) for 3 points × 3 priors",
            rtol=1e-9, atol=1e-12)

# %% tags=["check"]
from scipy.special import softmax

from dggbook.book.exercises import check_close

# Log-likelihoods of the size a 784-pixel image gives: exponentiating them directly underflows to 0.
log_lik_big = np.array([-1000.0, -1003.0, -1010.0])
log_prior_big = np.log([0.2, 0.5, 0.3])
check_close("1.1", my_cluster_posterior(log_prior_big, log_lik_big), softmax(log_prior_big + log_lik_big),
            what="p(c | x) with ln p(x | k) near −1000", rtol=1e-9, atol=1e-12)

# %% [markdown]
# ### Exercise 1.2 — The reparameterised sample (23)
#
# Write `my_reparameterize(mu, logvar, eps)` for torch tensors of the same shape: the encoder's mean
# $\tilde\mu$, its log-variance $\ln\tilde\sigma^2$ and standard normal noise $\varepsilon$. Return
# $z = \tilde\mu + \tilde\sigma \odot \varepsilon$, eq. (23). The encoder outputs the **log-variance**, so
# first turn it into a standard deviation. The first check compares your $z$ with the library's
# `reparameterize` under the same noise; the second uses a variance of 4 and a variance of ¼.

# %%
def my_reparameterize(mu, logvar, eps):
    """z = mu~ + sigma~ * eps (eq. (23)), with sigma~ obtained from the log-variance logvar."""
    ### BEGIN SOLUTION
    sigma_tilde = torch.exp(0.5 * logvar)
    return mu + sigma_tilde * eps
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close

# reparameterize draws its own noise with torch.randn_like; the same seed gives the same noise.
torch.manual_seed(7)
eps_check = torch.randn_like(mu)
torch.manual_seed(7)
z_library = reparameterize(mu, logvar)
check_close("1.2", my_reparameterize(mu, logvar, eps_check), z_library, what="z for the five encoded x",
            rtol=1e-6, atol=1e-6)

# %% tags=["check"]
from dggbook.book.exercises import check_close

# Variance 4 means standard deviation 2; variance 1/4 means standard deviation 1/2.
z_hand = my_reparameterize(torch.tensor([[0.0, 1.0]]), torch.log(torch.tensor([[4.0, 0.25]])),
                           torch.tensor([[1.0, -2.0]]))
check_close("1.2", z_hand, [[2.0, 0.0]], what="z for mu~ = (0, 1), sigma~² = (4, 1/4), eps = (1, −2)",
            rtol=1e-6, atol=1e-6)

# %% [markdown]
# ### Exercise 1.3 — The ELBO and the cross ELBO by Monte Carlo
#
# Section 4 computed $L(x_i)$ and $L(x_i, x_j)$ by quadrature. A neural network has no quadrature, so DGG
# estimates them by sampling. Write `my_elbo_mc(q, log_joint, n_draws, seed)` that estimates
#
# $$\mathbb E_{q(z, c)}\big[\ln p(x_i, z, c) - \ln q(z, c)\big]
# = \mathbb E_{q(z)}\Big[\sum_c q(c \mid z)\,\big(\ln p(x_i, z, c) - \ln q(z, c)\big)\Big].$$
#
# With `q = q_i` this is $L(x_i)$; with `q = q_j` and the same `log_joint` it is the cross ELBO
# $L(x_i, x_j)$. What you can use:
#
# - `q.mean` (M,) and `q.cov` (M, M): the Gaussian $q(z)$;
# - `q.classifier_log_probs(z)` and `q.log_prob(z)`: $\ln q(c \mid z)$ and $\ln q(z, c)$, both (P, K) for
#   P points `z` of shape (P, M);
# - `log_joint(z)`: $\ln p(x_i, z, c)$, also (P, K).
#
# Hints: draw `n_draws` points from $q(z)$ with `np.random.default_rng(seed)`; a Cholesky factor of `q.cov`
# turns standard normal draws into such points (the full-covariance form of (23)). Sum over $c$ exactly
# rather than sampling it. The check uses 200,000 draws and allows 0.25 nats, about 6 standard errors.

# %%
def my_elbo_mc(q, log_joint, n_draws, seed):
    """A Monte Carlo estimate of E_q[ln p(x, z, c) − ln q(z, c)] from n_draws draws of z (sum over c exact)."""
    ### BEGIN SOLUTION
    rng_mc = np.random.default_rng(seed)
    chol = np.linalg.cholesky(q.cov)
    z_mc = q.mean + rng_mc.standard_normal((n_draws, q.mean.size)) @ chol.T
    resp = np.exp(q.classifier_log_probs(z_mc))
    per_draw = (resp * (log_joint(z_mc) - q.log_prob(z_mc))).sum(axis=1)
    return float(per_draw.mean())
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close

for label, q_test in (("L(x_i)", q_i), ("L(x_i, x_j)", q_j)):
    check_close("1.3", my_elbo_mc(q_test, log_joint_i, 200_000, seed=11), pieces[label],
                what=f"the Monte Carlo {label} (quadrature value {pieces[label]:.3f})", rtol=0.0, atol=0.25)

# %% [markdown]
# ### Exercise 1.4 — How much prior does it take?
#
# In section 2 the per-sample prior was
# $\pi_i = \big(\pi_{i0},\ (1 - \pi_{i0})(1 - s),\ (1 - \pi_{i0})\,s\big)$, with $\pi_{i0} = 0.02$ on
# cluster 0 and the share $s$ for cluster 2. Write `my_share_for_posterior(log_lik, r, floor)` that returns
# the share $s$ at which $p(c = 2 \mid x) = r$, given the three log-likelihoods $\ln p(x \mid k)$,
# $k = 0, 1, 2$, and `floor` $= \pi_{i0}$.
#
# Hints: write $p(c = 2 \mid x) = r$ with Bayes' rule and multiply out the denominator; the equation is
# linear in $s$. Do not forget cluster 0. Only ratios of likelihoods enter, so you may subtract
# $\max_k \ln p(x \mid k)$ before exponentiating. The first check compares your $s$ at $r = \tfrac12$
# with a root found numerically; it is close to, but not equal to, the tipping share of section 2, where
# $p(c = 1 \mid x_a) = p(c = 2 \mid x_a)$ (cluster 0 keeps a little of the posterior).

# %%
def my_share_for_posterior(log_lik, r, floor=0.02):
    """The share s of π_i = (floor, (1 − floor)(1 − s), (1 − floor) s) at which p(c = 2 | x) = r."""
    ### BEGIN SOLUTION
    lik_rel = np.exp(np.asarray(log_lik, dtype=float) - np.max(log_lik))
    kept = 1.0 - floor
    top_part = r * (floor * lik_rel[0] + kept * lik_rel[1])
    bottom_part = kept * ((1.0 - r) * lik_rel[2] + r * lik_rel[1])
    return float(top_part / bottom_part)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close

log_lik_a = model.log_evidence_per_cluster(x_a) - np.log(model.weights)  # ln p(x_a | k)
s_half = brentq(lambda s: posterior_at(s)[2] - 0.5, 1e-6, 1 - 1e-6, xtol=1e-14)  # by root finding
check_close("1.4", my_share_for_posterior(log_lik_a, 0.5), s_half,
            what="the share at which p(c=2 | x_a) = 1/2", rtol=1e-8, atol=1e-10)

# %% tags=["check"]
from dggbook.book.exercises import check_close

# Plug the share back into the model and read off p(c = 2 | x); x_b sits where cluster 0 matters.
x_b = model.loading @ (0.5 * (model.means[0] + model.means[2])) + model.offset
received, expected = [], []
for x_test, r_test, floor_test in ((x_a, 0.9, 0.02), (x_a, 0.2, 0.02), (x_b, 0.5, 0.3), (x_b, 0.3, 0.1)):
    log_lik_test = model.log_evidence_per_cluster(x_test) - np.log(model.weights)
    share = my_share_for_posterior(log_lik_test, r_test, floor_test)
    pi_test = np.array([floor_test, (1 - floor_test) * (1 - share), (1 - floor_test) * share])
    received.append(np.exp(dataclasses.replace(model, weights=pi_test).posterior(x_test).log_weights[2]))
    expected.append(r_test)
check_close("1.4", np.array(received), np.array(expected), what="p(c=2 | x) at the returned shares",
            rtol=1e-8, atol=1e-10)
