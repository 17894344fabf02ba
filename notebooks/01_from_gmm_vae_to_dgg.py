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
# (`dggbook.derivation.tractable.LinearGaussianMixture`, reference notes §8). With a linear
# decoder $\ln p(x)$ and the true posterior are available in closed form, so every
# claim below can be checked numerically.

# %%
import dataclasses
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

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
# \qquad\text{or}\qquad \mathcal N\big(x;\ g(z),\ \lambda I\big)\ \text{ for real } x. \tag{M3}$$
#
# The cluster means $\mu_k$ and variances $\sigma_k^2$ are shared by all samples and
# $g$ is the decoder network. The prior over clusters in (M1) is **not** one global
# mixing vector: every sample $x_i$ has its own $\pi_i$. DGG re-estimates $\pi_i$
# from the cluster posteriors of $x_i$ and its graph neighbours (eq. (31), notebook
# 04). A global $\pi$, as in VaDE, is the special case $\pi_i = \pi$ for all $i$.
#
# The tractable stand-in uses (M1)–(M3) with the Gaussian branch of (M3) and a
# linear decoder $g(z) = Wz + b$. Here $M = 2$ (so we can look at the latent space),
# $D = 4$ and $K = 3$, and every sample shares the prior $\pi$ until section 2.

# %%
model, x_i, x_j, q_i, q_j = tractable_setup(seed=0)  # the fixed set-up every derivation check uses
print("pi      =", np.round(model.weights, 4))
print("mu_k    =", np.round(model.means, 3).tolist())
print("sigma_k² =", np.round([np.diag(c) for c in model.covs], 3).tolist())
print(f"W is {model.loading.shape}, lambda = {model.noise_var}")

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
# noise $\lambda I$ blurs them.

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
# Below, $x$ is the image $W\,\tfrac12(\mu_1 + \mu_2) + b$ of the midpoint between
# clusters 1 and 2. We sweep $\pi_i$ from "cluster 1 likely" to "cluster 2 likely"
# (cluster 0 keeps 2 %). Each $\pi_i$ is a copy of the model with only its weights
# replaced.

# %%
x_mid = model.loading @ (0.5 * (model.means[1] + model.means[2])) + model.offset
shares = np.linspace(0.02, 0.98, 9 if settings.quick else 49)
posteriors, likelihood_ratio = [], []
for s in shares:
    pi_i = np.array([0.02, 0.98 * (1 - s), 0.98 * s])
    post = np.exp(dataclasses.replace(model, weights=pi_i).posterior(x_mid).log_weights)
    posteriors.append(post)
    likelihood_ratio.append(math.log(post[2] / post[1]) - math.log(pi_i[2] / pi_i[1]))  # (M4) rearranged
posteriors, likelihood_ratio = np.array(posteriors), np.array(likelihood_ratio)
spread = likelihood_ratio.max() - likelihood_ratio.min()
print(f"ln p(x|2)/p(x|1) = {likelihood_ratio.mean():.6f}; spread over the sweep {spread:.2e}")
assert spread < 1e-12  # (M4): the prior shifts the log-odds, the likelihood ratio stays put

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
for k in range(model.n_clusters):
    ax.plot(shares, posteriors[:, k], color=colors[k], lw=2, label=f"p(c={k} | x)")
ax.set(xlabel="share of $\\pi_i$ given to cluster 2 (vs cluster 1)", ylabel="posterior",
       title="the same x, different per-sample priors")
ax.legend()
print("saved", savefig(fig, "per_sample_prior_posterior").name)
plt.show()

# %% [markdown]
# ## 3. The inference model and the three networks
#
# DGG factorises its approximate posterior as
#
# $$q(z, c \mid x) = q(z \mid x)\, q(c \mid z), \tag{Q1}$$
#
# $$q(z \mid x) = \mathcal N\big(z;\ \tilde\mu(x),\ \operatorname{diag}\tilde\sigma^2(x)\big),\quad
# [\tilde\mu, \ln\tilde\sigma^2] = f_1(x),\qquad
# q(c \mid z) = \operatorname{Categorical}\big(f_2(z)\big),\quad \gamma_{ik} = q(c = k \mid z_i). \tag{Q2}$$
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
# $x$ should have sample mean $\tilde\mu$ (standard error $\tilde\sigma/\sqrt S$) and
# sample variance $\tilde\sigma^2$ (standard error about $\tilde\sigma^2\sqrt{2/(S-1)}$).
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
# = \mathrm{JS}(q_i, q_j) + \mathrm{KL}(m \,\|\, p_i) \ \ge\ \mathrm{JS}(q_i, q_j), \tag{1}$$
#
# where $q_i = q(z, c \mid x_i)$, $p_i = p(z, c \mid x_i)$ is the true posterior and
# $m = \tfrac12(q_i + q_j)$. Step (2.3) rewrites $\ln p(x_i) - G$ as
# $\tfrac12[L(x_i) + L(x_i, x_j)]$, the average of the ELBO $L(x_i)$ and the "cross
# ELBO" $L(x_i, x_j)$, in which $x_i$ is scored under its neighbour's posterior $q_j$.
# Step (3) uses $\sum_j w_{ij} = 1$ to drop every $\ln p(x_i)$ and leaves
#
# $$\max\ \tfrac12 \sum_i \sum_j w_{ij}\,\big[L(x_i) + L(x_i, x_j)\big]. \tag{3}$$
#
# On the tractable model every piece can be computed: $\ln p(x_i)$ in closed form,
# and JS, G and both ELBOs by Gauss–Hermite quadrature. The two posteriors
# $q_i, q_j$ come from `tractable_setup`: Gaussians in $z$ times a softmax
# classifier in $c$ (the shape of (Q1)). They are arbitrary, not fitted.

# %% [markdown]
# **Check: the exact $\ln p(x_i)$ against Monte Carlo.** Since
# $p(x_i) = \mathbb E_{p(z, c)}[p(x_i \mid z)]$, the average of $p(x_i \mid z_s)$ over prior
# draws $z_s$ estimates $p(x_i)$ without bias, with standard error
# $\mathrm{sd}/\sqrt S$. We require agreement within 5 standard errors, on the scale
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
# gap between $\ln p - \mathrm{JS}$ and $\ln p - G$ is $\mathrm{KL}(m \,\|\, p_i)$. It
# is large here because $q_i$ and $q_j$ were not fitted. Training shrinks it by
# moving $q$ towards the true posterior.
