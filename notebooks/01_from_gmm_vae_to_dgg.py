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
# - state VaDE's generative model and ELBO, and compute its $\gamma$ as the Bayes posterior of the mixture at $z$;
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
from scipy.special import logsumexp

from dggbook.book import savefig
from dggbook.derivation.checks import tractable_setup
from dggbook.derivation.joint import elbo_joint, g_bound, js_joint
from dggbook.derivation.quadrature import LN2
from dggbook.model.networks import DGGNetworks, reparameterize
from dggbook.model.vade import bayes_posterior

matplotlib.rcParams["figure.dpi"] = 72  # modest inline PNGs keep the .ipynb small

N_SAMPLES = 2_000 if settings.quick else 20_000    # draws from the generative model
N_MC = 20_000 if settings.quick else 200_000       # prior draws for the Monte Carlo estimate of p(x)
N_REPARAM = 5_000 if settings.quick else 50_000    # reparameterised draws of z for one x
print(f"{N_SAMPLES=} {N_MC=} {N_REPARAM=}")

# %% [markdown]
# ## 1. VaDE, the model DGG starts from
#
# VaDE (Jiang, Zheng, Tan, Tang and Zhou, IJCAI 2017, §3) is a variational autoencoder whose latent
# code comes from a Gaussian mixture instead of one standard normal. Its generative model has
# three steps, with one mixing vector $\pi$ for the whole data set:
#
# $$c \sim \operatorname{Cat}(\pi),\qquad z \mid c \sim \mathcal N\big(\mu_c,\ \operatorname{diag}\sigma_c^2\big),\qquad
# x \mid z \sim \operatorname{Bernoulli}\big(g(z)\big)\ \text{ or }\ \mathcal N\big(g(z),\ \sigma_x^2 I\big),$$
#
# where $g$ is the decoder network. $\pi$, the $\mu_c$ and the $\sigma_c^2$ are learnt by gradient
# ascent together with the networks.
#
# **Its ELBO.** The approximate posterior factorises as $q(z, c \mid x) = q(z \mid x)\, q(c \mid x)$,
# with an encoder giving $q(z \mid x) = \mathcal N(\tilde\mu(x), \operatorname{diag}\tilde\sigma^2(x))$. The bound on
# $\ln p(x)$ is the usual expectation of $\ln p(x, z, c) - \ln q(z, c \mid x)$, five pieces:
#
# $$L_{\text{VaDE}}(x) = \mathbb E_q[\ln p(x \mid z)] + \mathbb E_q[\ln p(z \mid c)] + \mathbb E_q[\ln \pi_c]
# - \mathbb E_q[\ln q(z \mid x)] - \mathbb E_q[\ln q(c \mid x)].$$
#
# **Its $\gamma$.** VaDE has no network for $q(c \mid x)$. Write $\ln p(z \mid c) + \ln \pi_c = \ln p(z) + \ln p(c \mid z)$,
# with $p(z) = \sum_l \pi_l\,\mathcal N(z; \mu_l, \operatorname{diag}\sigma_l^2)$. The bound becomes
#
# $$L_{\text{VaDE}}(x) = \mathbb E_{q(z \mid x)}\Big[\ln \frac{p(x \mid z)\, p(z)}{q(z \mid x)}\Big]
# - \mathbb E_{q(z \mid x)}\Big[\mathrm{KL}\big(q(c \mid x) \,\|\, p(c \mid z)\big)\Big],$$
#
# and $q(c \mid x)$ appears only in the KL. The KL vanishes when $q(c \mid x)$ is the mixture's own posterior at
# $z$, so VaDE sets, at the $z$ drawn for $x$,
#
# $$\gamma_c = q(c \mid x) = p(c \mid z) = \frac{\pi_c\, \mathcal N(z; \mu_c, \operatorname{diag}\sigma_c^2)}
# {\sum_l \pi_l\, \mathcal N(z; \mu_l, \operatorname{diag}\sigma_l^2)}. \tag{V}$$
#
# Substituting $\gamma$ for $q(c \mid x)$ turns the five pieces into the four terms that notebook 03 writes
# in closed form: term 3 there, $\sum_k \gamma_k \ln(\pi_k/\gamma_k)$, is the third and fifth pieces together.
# The $\gamma$ of notebook 03 is (V) in VaDE.
#
# **What DGG changes.** Three things, each introduced below: every sample gets its own prior $\pi_i$
# (section 2, updated by eq. (31) of notebook 04); $\gamma$ comes from a separately trained classifier
# $f_2$ instead of (V) (section 4); and a graph term makes neighbours agree (section 5).
#
# **Check: (V) in the library, and what it maximises.** `dggbook.model.vade.bayes_posterior` computes (V)
# from a network's mixture parameters. We give it the mixture of this notebook's test model (set up in
# section 2) and compare with Bayes' rule applied to the model's own log joint density (the
# $\ln p(x \mid z)$ part does not depend on $c$, so any $x$ will do). Then at one $z$ we take the part of
# the bound that involves $q(c \mid x)$, $\sum_c q_c\,[\ln \pi_c + \ln p(z \mid c) - \ln q_c]$. It
# equals $\ln p(z) - \mathrm{KL}(q \,\|\, p(c \mid z))$, so (V) must reach $\ln p(z)$ and 2,000 random
# points of the simplex must all fall below it.

# %%
vade_model, *_ = tractable_setup(seed=0)
vade_nets = DGGNetworks(input_dim=4, n_clusters=3, latent_dim=2, hidden_dims=(16,)).double()
vade_nets.gmm.set_(torch.as_tensor(vade_model.means), torch.as_tensor(np.stack([np.diag(c) for c in vade_model.covs])))
z_probe = vade_model.sample(6, seed=settings.seed + 9)[1]
with torch.no_grad():
    gamma_vade = bayes_posterior(torch.as_tensor(z_probe), torch.log(torch.as_tensor(vade_model.weights)),
                                 vade_nets).numpy()
log_pz_c = vade_model.log_joint(vade_model.offset, z_probe) - vade_model.log_likelihood(vade_model.offset, z_probe)[:, None]
gamma_by_bayes = np.exp(log_pz_c - logsumexp(log_pz_c, axis=1, keepdims=True))  # ln π_c + ln p(z | c), normalised
print("gamma (V) at the first z:", np.round(gamma_vade[0], 4),
      f"  max |bayes_posterior − Bayes' rule| = {np.abs(gamma_vade - gamma_by_bayes).max():.1e}")
assert np.abs(gamma_vade - gamma_by_bayes).max() < 1e-12


def c_part(q, log_joint_zc):
    """Σ_c q_c [ln π_c + ln p(z | c) − ln q_c] for probability vectors q (rows) at one z."""
    return (q * (log_joint_zc - np.log(q))).sum(-1)


random_q = np.random.default_rng(settings.seed + 9).dirichlet(np.ones(3), size=2_000)
best_random, at_gamma = c_part(random_q, log_pz_c[0]).max(), c_part(gamma_vade[0], log_pz_c[0])
print(f"c-part at (V) {at_gamma:.6f} = ln p(z) {logsumexp(log_pz_c[0]):.6f};  best of 2,000 random q {best_random:.6f}")
assert abs(at_gamma - logsumexp(log_pz_c[0])) < 1e-12 and best_random < at_gamma

# %% [markdown]
# ## 2. The generative model
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
# $D = 4$ and $K = 3$, and every sample shares the prior $\pi$ until section 3.
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
# ## 3. Why a per-sample prior matters
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
# ## 4. The inference model and the three networks
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
# ## 5. The objective
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

# %% [markdown]
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

# %% [markdown] tags=["answer"]
# **Answers to the questions.**
#
# 1. Fitted by maximum likelihood, $\pi_i$ would maximise $\ln p(x_i) = \ln \sum_k \pi_{ik}\, p(x_i \mid k)$, and the sum
#    inside the logarithm is linear in $\pi_i$. A linear function on the simplex is largest at a corner, so $\pi_i$ would
#    put all its mass on the cluster with the largest likelihood $p(x_i \mid k)$, and by (M4) the posterior
#    $p(c \mid x_i)$ would become the same one-hot vector. The prior would then repeat the likelihood's verdict with
#    certainty instead of adding information: $x_a$ of section 3 would go to cluster 2 with probability one, although its
#    likelihood favours cluster 2 only by odds of about five to one. With the ELBO in place of $\ln p(x_i)$ the same
#    happens in a softer form: the best $\pi_i$ is the sample's own posterior $\gamma_i$ (eq. (31) when the sample is its
#    own only neighbour, notebook 04), term 3 is then zero, and nothing constrains the cluster posterior any more. Each
#    sample would own $K - 1$ free parameters, fitted to that one sample alone; the graph is what gives $\pi_i$ information
#    that $x_i$ alone does not have.
#
# 2. Everything that involves only the mixture or the encoder stays exact, because the decoder does not enter it: the
#    check of (V) against Bayes' rule in $z$, the ancestral-sampling check of (M1)–(M2) and the check of the
#    reparameterised draw (23). Lost is everything that needs $p(x_i \mid k) = \int p(x_i \mid z)\, p(z \mid k)\, dz$ or
#    the exact posterior $p_i$: the closed-form $\ln p(x_i)$, the exact cluster posterior of section 3 with its tipping
#    share, and $G$ with its gap $\mathrm{KL}(\bar q \,\|\, p_i)$, since $\ln p_i = \ln p(x_i, z, c) - \ln p(x_i)$. (M4)
#    itself is algebra and still holds, but its likelihood ratio could only be estimated. Monte Carlo brings part of it
#    back: the ELBO and the cross ELBO need only densities that the networks give (exercise 1.3), JS needs only $q_i$ and
#    $q_j$, and $p(x_i)$ has the unbiased prior-sampling estimate of section 5 or an importance-sampling estimate from a
#    $q$. Those estimates have limits, though. Few prior draws land near $x_i$ when $x$ has many dimensions, and the
#    logarithm of an unbiased estimate of $p(x_i)$ is biased low (Jensen's inequality), so "every ELBO lies below
#    $\ln p(x_i)$" and the identity (2.3) can be checked only within an error bar, no longer to $10^{-10}$.
#
# 3. In the generative model the cluster reaches $x$ only through $z$: (M3) is $p(x \mid z)$, with no $c$ in it. By
#    Bayes' rule $p(c \mid z, x) \propto \pi_{ic}\, p(z \mid c)\, p(x \mid z)$, and the last factor does not depend on $c$,
#    so $p(c \mid z, x) = p(c \mid z)$: once $z$ is known, $x$ says nothing more about the cluster. The exact posterior
#    therefore factorises as $p(z \mid x)\, p(c \mid z)$, and (I1) copies that shape; it is also the shape of VaDE's
#    $\gamma$ (V), and it lets $f_2$ be a small network on the $M$-dimensional code. If $q(c \mid x)$ took $x$ instead of
#    $z$, the ELBO would still be a lower bound (any $q$ gives one), but $z$ and $c$ would be independent under $q$.
#    Terms 2 and 3 of the ELBO would then be exact sums over $c$ weighted by $q(c \mid x)$, with no sampled $z$ inside
#    $\gamma$: the mean-field case whose closed forms notebook 03 writes down. What is lost is the coupling of $z$ and $c$
#    that the exact posterior has, a different Gaussian in $z$ for each cluster. A classifier of $z$ may ignore $z$, so
#    the family (I1) contains the factorised one, and its best bound is at least as high.
#
# 4. With $w_{ii} = 1$ and every other weight zero, the penalty is $\mathrm{JS}(q_i, q_i) = 0$, and (O) becomes
#    $\sum_i \ln p(x_i)$: plain maximum likelihood for a Gaussian-mixture VAE, with no graph. The rows still sum to one,
#    so the bound (3) holds, and it reduces to the ordinary ELBO: the cross ELBO $L(x_i, x_i)$ is $L(x_i)$ itself, and
#    $G(x_i, x_i) = \mathrm{KL}(q_i \,\|\, p_i)$ is the usual gap. The per-sample prior adds nothing either: (31) gives
#    $\pi_i = \tfrac12(\gamma_i + \gamma_i) = \gamma_i$, the sample's own posterior, and term 3,
#    $\sum_k \gamma_{ik} \ln(\pi_{ik}/\gamma_{ik})$, is zero at the update. What is left differs from VaDE only in
#    that $\gamma$ comes from $f_2$ and that there is no shared $\pi$. The neighbours are DGG's only way of using the
#    other samples.

# %% [markdown]
# ## What you should now be able to do
#
# - State VaDE's model and ELBO, and compute its $\gamma$ as the Bayes posterior (V) of the mixture at $z$.
# - Write down (M1)–(M3), say which parameters are shared and which ($\pi_i$) belong to one sample, and
#   draw samples from the model.
# - Compute $p(c \mid x_i)$ by Bayes' rule, and read off from (M4) how far a per-sample prior moves it.
# - Draw $z$ from $q(z \mid x)$ by reparameterisation (23) and name the outputs of $f_1$, $g$ and $f_2$.
# - Estimate an ELBO and a cross ELBO, and explain how (O) becomes the bound (3).
#
# | objective | exercises |
# |---|---|
# | VaDE's model, its ELBO and its $\gamma$ (V) | 1.1, 1.2 |
# | the generative model (M1)–(M3) and what it implies for $x$ | 1.2 |
# | $p(c \mid x_i)$ by Bayes' rule, and how $\pi_i$ moves it (M4) | 1.1, 1.4 |
# | the reparameterised draw (23) | 1.3 |
# | the ELBO and the cross ELBO, and the bound (3) | 1.3 |

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell in which you write a function `my_...` and, below it, one or more check cells
# that call your function and compare its answer with an independent computation (quadrature, a root
# finder, Monte Carlo) or with the library. While a check runs your function, the library functions that
# would do the exercise for you are blocked: calling one raises `LibraryCalled`. A passing check prints one
# line; a failing one raises an `AssertionError` that says what it expected and what it received. The
# header of each exercise gives its kind, a time to plan for and its difficulty (★ to ★★★); marks are
# weighted by the stars. `make course` writes student copies of the notebooks in which every solution
# block is replaced by a stub that raises `NotImplementedError`.

# %% [markdown]
# ### Exercise 1.1 — The cluster posterior by log-sum-exp (implementation, 10 min, ★)
#
# Write `my_cluster_posterior(log_prior, log_lik)`. Both arguments are arrays of length $K$: the log prior
# $\ln \pi_{ik}$ and the log-likelihoods $\ln p(x_i \mid c = k)$. Return the posterior probabilities
# $p(c = k \mid x_i)$ of Bayes' rule (section 3). With `log_lik` $= \ln \mathcal N(z; \mu_k, \operatorname{diag}\sigma_k^2)$
# the same function gives VaDE's $\gamma$ (V).
#
# With a neural decoder and $D = 784$ pixels, $\ln p(x_i \mid k)$ is often around $-1000$, and
# $e^{-1000}$ is 0 in floating point. Work in logs: add the two arrays, then normalise with the
# log-sum-exp trick $\ln \sum_k e^{u_k} = u^\ast + \ln \sum_k e^{u_k - u^\ast}$, where $u^\ast = \max_k u_k$.
# Use NumPy only: SciPy's and torch's `softmax`, `log_softmax` and `logsumexp` are blocked in the checks.

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
from dggbook.book.exercises import check_close, library_blocked

# Against the tractable model's exact posterior, for three points and three per-sample priors.
cases, expected = [], []
for x_test in (x_i, x_j, x_a):
    log_lik_test = model.log_evidence_per_cluster(x_test) - np.log(model.weights)  # ln p(x | k)
    for share in (0.1, 0.5, 0.9):
        pi_test = prior_with_share(share)
        cases.append((np.log(pi_test), log_lik_test))
        expected.append(np.exp(dataclasses.replace(model, weights=pi_test).posterior(x_test).log_weights))
with library_blocked("1.1", "scipy.special.softmax", "scipy.special.log_softmax",
                      "scipy.special.logsumexp", "torch.softmax", "torch.log_softmax", "torch.logsumexp",
                      "dggbook.model.vade.bayes_posterior"):
    received = [my_cluster_posterior(log_prior, log_lik) for log_prior, log_lik in cases]
check_close("1.1", np.array(received), np.array(expected), what="p(c | x) for 3 points × 3 priors",
            rtol=1e-9, atol=1e-12)

# %% tags=["check"]
from scipy.special import softmax

from dggbook.book.exercises import check_close, library_blocked

# Log-likelihoods of the size a 784-pixel image gives: exponentiating them directly underflows to 0.
log_lik_big = np.array([-1000.0, -1003.0, -1010.0])
log_prior_big = np.log([0.2, 0.5, 0.3])
expected_big = softmax(log_prior_big + log_lik_big)
with library_blocked("1.1", "scipy.special.softmax", "scipy.special.log_softmax",
                      "scipy.special.logsumexp", "torch.softmax", "torch.log_softmax", "torch.logsumexp",
                      "dggbook.model.vade.bayes_posterior"):
    received_big = my_cluster_posterior(log_prior_big, log_lik_big)
check_close("1.1", received_big, expected_big, what="p(c | x) with ln p(x | k) near −1000", rtol=1e-9, atol=1e-12)

# %% [markdown]
# ### Exercise 1.2 — The evidence of one cluster, on paper (derivation, 15 min, ★★)
#
# Given $c = k$, the tractable model draws $z \sim \mathcal N(\mu_k, \Sigma_k)$ and then
# $x = Wz + b + \varepsilon$ with noise $\varepsilon \sim \mathcal N(0, \sigma_x^2 I)$ independent of $z$. The book
# has used $p(x \mid c = k)$ since section 3 without saying what it is. Derive it on paper: explain why $x$
# given $c = k$ is Gaussian, and find its mean and its $D \times D$ covariance. Then write
# `my_log_evidence_given_cluster(x, W, b, noise_var, mean_k, cov_k)` returning $\ln p(x \mid c = k)$ as a float.
# Shapes: `x`, `b` $(D,)$; `W` $(D, M)$; `mean_k` $(M,)$; `cov_k` $(M, M)$.
#
# Hints: a linear map of a Gaussian is Gaussian, and so is a sum of independent Gaussians. Compute
# $\mathbb E[x]$ and $\operatorname{Cov}[x] = \mathbb E[(x - \mathbb E x)(x - \mathbb E x)^\top]$ term by term. For
# the log-density of $\mathcal N(x; m, C)$ use `np.linalg.slogdet` and `np.linalg.solve`. The check integrates
# $p(x \mid z)\,p(z \mid c = k)$ over $z$ by Gauss–Hermite quadrature (100 nodes per axis), for every cluster
# and three points; the model's own `log_evidence_per_cluster`, `log_evidence` and `posterior` are blocked.
#
# Then ask yourself: with a neural decoder $g$ in place of $Wz + b$, which step of your derivation fails,
# and what does that mean for VaDE's and DGG's $\ln p(x)$?

# %%
def my_log_evidence_given_cluster(x, W, b, noise_var, mean_k, cov_k):
    """ln p(x | c = k) when z ~ N(mean_k, cov_k) and x = W z + b + N(0, noise_var I) noise."""
    ### BEGIN SOLUTION
    x, W, b = np.asarray(x, dtype=float), np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    mean_x = W @ mean_k + b                                       # E[x | c = k]
    cov_x = W @ cov_k @ W.T + noise_var * np.eye(x.size)          # Cov[Wz | k] + Cov[noise]
    residual = x - mean_x
    _, log_det = np.linalg.slogdet(cov_x)
    mahalanobis = residual @ np.linalg.solve(cov_x, residual)
    return float(-0.5 * (x.size * np.log(2 * np.pi) + log_det + mahalanobis))
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked
from dggbook.derivation.quadrature import gaussian_expectation

# ∫ p(x | z) p(z | k) dz: a Gauss–Hermite rule under p(z | k) applied to the likelihood p(x | z).
cases, expected = [], []
for x_test in (x_i, x_j, x_a):
    for k in range(model.n_clusters):
        cases.append((x_test, k))
        expected.append(math.log(gaussian_expectation(lambda z_nodes: np.exp(model.log_likelihood(x_test, z_nodes)),
                                                      model.means[k], model.covs[k], 100)))
with library_blocked("1.2", "dggbook.derivation.tractable.LinearGaussianMixture.log_evidence_per_cluster",
                     "dggbook.derivation.tractable.LinearGaussianMixture.log_evidence",
                     "dggbook.derivation.tractable.LinearGaussianMixture.posterior",
                     "dggbook.derivation.quadrature.gaussian_expectation"):
    received = [my_log_evidence_given_cluster(x_test, model.loading, model.offset, model.noise_var,
                                              model.means[k], model.covs[k]) for x_test, k in cases]
check_close("1.2", received, expected, what="ln p(x | c = k) for 3 points × 3 clusters (vs quadrature over z)",
            rtol=0.0, atol=1e-9)

# %% [markdown] tags=["answer"]
# **Answer.** Given $c = k$, $x = Wz + b + \varepsilon$ is an affine function of the Gaussian vector
# $(z, \varepsilon)$, so it is Gaussian, with mean $W\mu_k + b$ and covariance $W\Sigma_k W^\top + \sigma_x^2 I$
# (the cross terms vanish because $z$ and $\varepsilon$ are independent). The step that fails with a neural
# decoder is the first: $g(z)$ of a Gaussian $z$ is not Gaussian, and $\int p(x \mid z)\, p(z \mid k)\, dz$ has no
# closed form. Neither VaDE nor DGG can compute $\ln p(x)$ then; both maximise a lower bound on it (section 5
# and notebook 02), and only a test bed like this one lets us compare the bound with the exact value.

# %% [markdown]
# ### Exercise 1.3 — The ELBO and the cross ELBO by Monte Carlo (implementation, 10 min, ★★)
#
# Section 5 computed $L(x_i)$ and $L(x_i, x_j)$ by quadrature. A neural network has no quadrature, so DGG
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
# rather than sampling it. The quadrature behind section 5 (`elbo_joint`, `q.expect`) is blocked in the
# check, which uses 200,000 draws and allows 0.25 nats, about 6 standard errors.

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
from dggbook.book.exercises import check_close, library_blocked

for label, q_test in (("L(x_i)", q_i), ("L(x_i, x_j)", q_j)):
    with library_blocked("1.3", "dggbook.derivation.joint.elbo_joint", "dggbook.derivation.joint.kl_joint",
                         "dggbook.derivation.joint.GaussianSoftmaxJoint.expect",
                         "dggbook.derivation.quadrature.gaussian_nodes",
                         "dggbook.derivation.quadrature.gaussian_expectation"):
        received = my_elbo_mc(q_test, log_joint_i, 200_000, seed=11)
    check_close("1.3", received, pieces[label],
                what=f"the Monte Carlo {label} (quadrature value {pieces[label]:.3f})", rtol=0.0, atol=0.25)

# %% [markdown]
# ### Exercise 1.4 — How much prior does it take? (derivation, 10 min, ★★)
#
# In section 3 the per-sample prior was
# $\pi_i = \big(\pi_{i0},\ (1 - \pi_{i0})(1 - s),\ (1 - \pi_{i0})\,s\big)$, with $\pi_{i0} = 0.02$ on
# cluster 0 and the share $s$ for cluster 2; section 3 found its tipping share with a root finder. Solve on
# paper instead: write `my_share_for_posterior(log_lik, r, floor)` that returns the share $s$ at which
# $p(c = 2 \mid x) = r$, given the three log-likelihoods $\ln p(x \mid k)$, $k = 0, 1, 2$, and `floor` $= \pi_{i0}$.
#
# Hints: write $p(c = 2 \mid x) = r$ with Bayes' rule and multiply out the denominator; the equation is
# linear in $s$. Do not forget cluster 0. Only ratios of likelihoods enter, so you may subtract
# $\max_k \ln p(x \mid k)$ before exponentiating. SciPy's root finders are blocked in the checks. The first
# check compares your $s$ at $r = \tfrac12$ with a root found numerically; it is close to, but not equal to,
# the tipping share of section 3, where $p(c = 1 \mid x_a) = p(c = 2 \mid x_a)$ (cluster 0 keeps a little of
# the posterior).

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
from dggbook.book.exercises import check_close, library_blocked

log_lik_a = model.log_evidence_per_cluster(x_a) - np.log(model.weights)  # ln p(x_a | k)
s_half = brentq(lambda s: posterior_at(s)[2] - 0.5, 1e-6, 1 - 1e-6, xtol=1e-14)  # by root finding
with library_blocked("1.4", "scipy.optimize.brentq", "scipy.optimize.brenth", "scipy.optimize.bisect",
                     "scipy.optimize.ridder", "scipy.optimize.newton", "scipy.optimize.root_scalar",
                     "scipy.optimize.fsolve", "scipy.optimize.minimize_scalar",
                     "dggbook.derivation.tractable.LinearGaussianMixture.posterior"):
    received = my_share_for_posterior(log_lik_a, 0.5)
check_close("1.4", received, s_half, what="the share at which p(c=2 | x_a) = 1/2", rtol=1e-8, atol=1e-10)

# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

# Plug the share back into the model and read off p(c = 2 | x); x_b sits where cluster 0 matters.
x_b = model.loading @ (0.5 * (model.means[0] + model.means[2])) + model.offset
cases = [(x_test, r_test, floor_test, model.log_evidence_per_cluster(x_test) - np.log(model.weights))
         for x_test, r_test, floor_test in ((x_a, 0.9, 0.02), (x_a, 0.2, 0.02), (x_b, 0.5, 0.3), (x_b, 0.3, 0.1))]
with library_blocked("1.4", "scipy.optimize.brentq", "scipy.optimize.brenth", "scipy.optimize.bisect",
                     "scipy.optimize.ridder", "scipy.optimize.newton", "scipy.optimize.root_scalar",
                     "scipy.optimize.fsolve", "scipy.optimize.minimize_scalar",
                     "dggbook.derivation.tractable.LinearGaussianMixture.posterior"):
    shares = [my_share_for_posterior(log_lik_test, r_test, floor_test) for _, r_test, floor_test, log_lik_test in cases]
received = []
for (x_test, r_test, floor_test, _), share in zip(cases, shares):
    pi_test = np.array([floor_test, (1 - floor_test) * (1 - share), (1 - floor_test) * share])
    received.append(np.exp(dataclasses.replace(model, weights=pi_test).posterior(x_test).log_weights[2]))
check_close("1.4", np.array(received), np.array([case[1] for case in cases]),
            what="p(c=2 | x) at the returned shares", rtol=1e-8, atol=1e-10)
