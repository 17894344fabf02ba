# %%
from dggbook.book import setup_book; settings = setup_book(seed=0)

# %% [markdown]
# # 04 — The per-sample prior $\pi_i$ and its update (31)
#
# The networks and the GMM parameters of DGG are trained by gradient steps. The
# per-sample priors $\pi_i$ are not: after every step each $\pi_i$ in the batch is
# replaced by a closed-form maximiser, the paper's (31). This notebook derives (31)
# with a Lagrange multiplier, checks it against a numeric optimiser, and measures
# the two discrepancies around it. The blog prints a formula whose rows do not sum
# to one, and the public code uses a different-looking update, which turns out to
# be the same closed form. At the end it answers question Q6 of notebook 08: why
# does the code's GMM posterior ignore the mixing weights?
#
# Library: `dggbook.derivation.pi_update`.
#
# **Learning objectives.** After this notebook you can:
# - derive the update (31) of the per-sample prior $\pi_i$ from its Lagrangian $\Phi_i(\pi_i, \lambda_i)$;
# - implement (31) for weights whose rows do not sum to one, and check it against a numeric optimiser;
# - explain what row normalisation of $w$ does, and why the public code's weights (0.5 on the anchor, 0.025 on
#   each of 20 neighbours) give exactly (31);
# - show that the formula as the blog prints it is not a distribution, and compute it for a confident agreeing pair;
# - explain why leaving the mixing weights out of a GMM posterior is exact only for balanced clusters.
#
# **Prerequisites.** The per-sample prior $\pi_{ik}$ and $f_2$'s posterior $\gamma_{ik}$
# ([01](01_from_gmm_vae_to_dgg.ipynb)); the objective $\tfrac12\sum_j w_{ij}[L(x_i) + L(x_i, x_j)]$
# ([02](02_the_bound.ipynb)); term 3 of the ELBO and of the cross ELBO ([03](03_elbo_terms.ipynb)). Lagrange
# multipliers for one equality constraint.
#
# **Time.** About 25 minutes to read and run, plus about 40 minutes for the exercises. (The code runs in
# about 25 s on a 2-core CPU.)
#
# **References.** [DGG paper](https://openaccess.thecvf.com/content_ICCV_2019/html/Yang_Deep_Clustering_by_Gaussian_Mixture_Variational_Autoencoders_With_Graph_Embedding_ICCV_2019_paper.html)
# eq. (31) (the update of $\pi_i$) and Algorithm 1 (when it is applied);
# [supplement](https://openaccess.thecvf.com/content_ICCV_2019/supplemental/Yang_Deep_Clustering_by_ICCV_2019_supplemental.pdf)
# (the derivation); [VaDE](https://arxiv.org/abs/1611.05148) (Jiang et al., IJCAI 2017), whose posterior
# $\gamma$ keeps a global $\pi$ (question 6); [public code](https://github.com/ngoc-nguyen-0/DGG) (its
# update of $\pi$ and its stored weights 0.5 and 0.025).
#
# **Notation.** Symbols as in the [notation glossary](notation.md); the course order is in the
# [roadmap](00_roadmap.ipynb).

# %%
import dataclasses

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import log_softmax

from dggbook.book import savefig
from dggbook.derivation.checks import tractable_setup
from dggbook.derivation.elbo import dgg_objective
from dggbook.derivation.gaussian import log_normal_diag
from dggbook.model.networks import Classifier
from dggbook.derivation.pi_update import pi_objective_weights, pi_update_numeric, update_pi
from dggbook.derivation.reproductions import blog_printed_pi, public_code_pi

matplotlib.rcParams["figure.dpi"] = 72
torch.set_default_dtype(torch.float64)

B, J, K = (10, 20, 10) if settings.quick else (200, 20, 10)     # anchors, neighbours, clusters (MNIST-sized J, K)
N_Q6 = 12_000 if settings.quick else 40_000                      # samples for open question 6
N_F2_TRAIN = 2_000 if settings.quick else 5_000                  # of which f2 trains on the first ones
F2_STEPS = 150 if settings.quick else 300                        # full-batch Adam steps for the f2-like classifier
print(f"{B=} {J=} {K=} {N_Q6=} {N_F2_TRAIN=} {F2_STEPS=}")

# %% [markdown]
# ## The derivation
#
# $\pi_i$ enters the objective $\tfrac12 \sum_j w_{ij}[L(x_i) + L(x_i, x_j)]$ only through
# term 3. That term is $\sum_k \gamma_{ik} \ln(\pi_{ik}/\gamma_{ik})$ in $L(x_i)$ and
# $\sum_k \gamma_{jk} \ln(\pi_{ik}/\gamma_{jk})$ in the cross ELBO (5). Collecting the
# $\ln\pi_{ik}$ parts, sample $i$ contributes
#
# $$F_i(\pi_i) = \sum_k a_{ik} \ln \pi_{ik},\qquad a_{ik} = \tfrac12 \sum_j w_{ij}\,(\gamma_{ik} + \gamma_{jk}),
# \qquad\text{subject to}\ \sum_k \pi_{ik} = 1. \tag{31.1}$$
#
# The Lagrangian of sample $i$, with multiplier $\lambda_i$, is
#
# $$\Phi_i(\pi_i, \lambda_i) = \sum_k a_{ik} \ln\pi_{ik} + \lambda_i\Big(1 - \sum_k \pi_{ik}\Big)$$
#
# (written $\Phi_i$, not $L$: $L$ is kept for the ELBO). Stationarity in $\pi_{ik}$ gives
#
# $$\frac{\partial \Phi_i}{\partial \pi_{ik}} = \frac{a_{ik}}{\pi_{ik}} - \lambda_i = 0
# \quad\Longrightarrow\quad \pi_{ik} = \frac{a_{ik}}{\lambda_i}. \tag{31.2}$$
#
# Summing over $k$ and using the constraint, $\lambda_i = \sum_k a_{ik} = \tfrac12\sum_j w_{ij}\sum_k(\gamma_{ik} + \gamma_{jk}) = \sum_j w_{ij}$,
# because every row of $\gamma$ sums to one. Hence
#
# $$\pi_{ik} = \frac{\sum_j w_{ij}\,(\gamma_{ik} + \gamma_{jk})}{2 \sum_j w_{ij}}
# \ \overset{\sum_j w_{ij} = 1}{=}\ \tfrac12\Big(\gamma_{ik} + \sum_j w_{ij}\,\gamma_{jk}\Big). \tag{31}$$
#
# $F_i$ is concave (a positive combination of logarithms) and the constraint is
# linear, so this stationary point is the maximum. The new prior averages the
# sample's own cluster posterior with the weighted posteriors of its neighbours.

# %% [markdown]
# ## Check 1: the closed form against a numeric optimiser
#
# `pi_update_numeric` never uses the Lagrangian. It writes $\pi_i = \operatorname{softmax}(\theta_i)$,
# so the constraint holds by construction, and maximises (31.1) over $\theta_i$ with
# BFGS. The weights below are deliberately **not** row-normalised (their row sums,
# printed below, are far from 1), to show that (31) does not need normalised rows.
# Tolerance $10^{-8}$.

# %%
rng = np.random.default_rng(settings.seed)
gamma_self = torch.softmax(torch.as_tensor(rng.normal(scale=2.0, size=(B, K))), -1)
gamma_nbrs = torch.softmax(torch.as_tensor(rng.normal(scale=2.0, size=(B, J, K))), -1)
w = torch.as_tensor(rng.uniform(0.1, 1.0, size=(B, J)) * 3.0)  # rows not normalised
pi_closed = update_pi(gamma_self, gamma_nbrs, w)
pi_numeric = pi_update_numeric(gamma_self, gamma_nbrs, w)
err = float(np.abs(pi_closed.numpy() - pi_numeric).max())
print(f"row sums of w: {float(w.sum(1).min()):.2f} … {float(w.sum(1).max()):.2f}")
print(f"max |closed form − numeric optimiser| = {err:.1e}")
assert err <= 1e-8

# %% [markdown]
# ## Check 2: on the simplex, stationary, and a maximum
#
# * Every row of $\pi$ is non-negative and sums to 1 ($10^{-12}$).
# * At (31) the gradient $\partial F_i/\partial\pi_{ik} = a_{ik}/\pi_{ik}$, taken by autograd,
#   is the same for every $k$ and equals $\lambda_i = \sum_j w_{ij}$, as (31.2) says
#   (relative tolerance $10^{-12}$).
# * No other point of the simplex does better: 2,000 random Dirichlet points per row
#   all have a lower $F_i$.

# %%
a = pi_objective_weights(gamma_self, gamma_nbrs, w)            # a_ik of (31.1)
pi_var = pi_closed.clone().requires_grad_()
(grad,) = torch.autograd.grad((a * torch.log(pi_var)).sum(), pi_var)
lam = w.sum(1, keepdim=True)
stationarity = float(((grad - lam) / lam).abs().max())
simplex = float((pi_closed.sum(1) - 1).abs().max())
F_star = (a * torch.log(pi_closed)).sum(1)
others = torch.as_tensor(rng.dirichlet(np.ones(K), size=(2_000, B)))  # (2000, B, K)
F_others = (a * torch.log(others)).sum(-1)
print(f"row sums − 1: {simplex:.1e};  min entry {float(pi_closed.min()):.3g};  stationarity error {stationarity:.1e}")
print(f"best random point falls short of F(π*) by at least {float((F_star - F_others.max(0).values).min()):.3g}")
assert simplex < 1e-12 and float(pi_closed.min()) >= 0.0
assert stationarity < 1e-12
assert bool((F_others < F_star).all())

# %% [markdown]
# For $K = 3$ the simplex can be drawn. The contours show $F_i$ for one anchor over
# $(\pi_{i1}, \pi_{i2})$, with $\pi_{i3} = 1 - \pi_{i1} - \pi_{i2}$. The closed form and the
# numeric optimiser mark the same point.

# %%
g3_self = torch.softmax(torch.as_tensor(rng.normal(size=(1, 3))), -1)
g3_nbrs = torch.softmax(torch.as_tensor(rng.normal(size=(1, 5, 3))), -1)
w3 = torch.as_tensor(rng.uniform(0.1, 1.0, size=(1, 5)))
a3 = pi_objective_weights(g3_self, g3_nbrs, w3)[0].numpy()
p1, p2 = np.meshgrid(np.linspace(1e-3, 1, 300), np.linspace(1e-3, 1, 300))
p3 = 1 - p1 - p2
F_grid = np.where(p3 > 1e-3, a3[0] * np.log(p1) + a3[1] * np.log(p2) + a3[2] * np.log(np.clip(p3, 1e-3, None)), np.nan)
star, numeric3 = update_pi(g3_self, g3_nbrs, w3)[0].numpy(), pi_update_numeric(g3_self, g3_nbrs, w3)[0]
fig, ax = plt.subplots(figsize=(4.8, 4.2))
cs = ax.contourf(p1, p2, F_grid, levels=30, cmap="viridis")
fig.colorbar(cs, ax=ax, label="$F_i(\\pi_i)$")
ax.plot(*star[:2], "r*", ms=16, label="closed form (31)")
ax.plot(*numeric3[:2], "kx", ms=10, mew=2, label="numeric optimiser")
ax.set(xlabel="$\\pi_{i1}$", ylabel="$\\pi_{i2}$", title="(31.1) on the simplex, K = 3", aspect="equal")
ax.legend(loc="upper right", fontsize=8)
print("saved", savefig(fig, "pi_objective_simplex").name)
plt.show()
assert np.abs(star - numeric3).max() < 1e-8

# %% [markdown]
# ## The formula as the blog prints it
#
# The blog gives $\pi_{ik} = \sum_j w_{ij}\gamma_{jk} \big/ \sum_j w_{ij}(\gamma_{ik} + \gamma_{jk})$. The
# denominator depends on $k$, so the rows are not normalised. Each entry lies
# between 0 and 1, and it is ½ when $\gamma_{ik}$ equals the neighbours' weighted
# average, so a row sums to something of order $K/2$, not 1. (The denominator
# looks like the $\lambda_i$ of (31.2) written before the sum over $k$ was taken.)
# We measure the row
# sums for the same $\gamma$'s and $w$. Normalising the rows of $w$ cannot help: the
# formula is a ratio of two sums with the same weights, so it does not change when a
# row of $w$ is rescaled (checked to $10^{-12}$).

# %%
blog = blog_printed_pi(gamma_self, gamma_nbrs, w)
blog_norm = blog_printed_pi(gamma_self, gamma_nbrs, w / w.sum(1, keepdim=True))
sums = blog.sum(1).numpy()
rescale_err = float((blog - blog_norm).abs().max())
print(f"blog's row sums: {sums.min():.3f} … {sums.max():.3f};  change when w is row-normalised: {rescale_err:.1e}")
assert np.abs(sums - 1).min() > 0.5          # no row is anywhere near the simplex
assert rescale_err < 1e-12                    # and normalising w does not fix it

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.hist(sums, bins=20, color="tab:red", alpha=0.7, label="blog's printed formula")
ax.axvline(1.0, color="tab:green", lw=3, label="(31): every row sums to 1")
ax.set(xlabel="Σ_k π_ik", ylabel="anchors", title=f"row sums of π, K = {K}")
ax.legend()
print("saved", savefig(fig, "pi_blog_row_sums").name)
plt.show()

# %% [markdown]
# ## The public code's update
#
# The public code sets $\pi_i = \tfrac12 f_2(\tilde\mu_i) + \sum_{j \in N(i)} \frac{1}{2J} f_2(\tilde\mu_j)$ for
# every mini-batch, detached from the graph. With $\gamma = f_2(\tilde\mu)$ this is
# (31) with uniform neighbour weights $w_{ij} = 1/J$. (31) depends on $w$ only through
# $w_{ij} / \sum_l w_{il}$, so any constant row gives the same $\pi$. That includes the
# code's stored weights, 0.025 for each of 20 neighbours. The code therefore
# implements the corrected derivation; it only disagrees with the misprint.
# Tolerance $10^{-12}$.
#
# **The code's weights 0.5 and 0.025.** For each anchor the public code stores $1 + J = 21$
# weights: **0.5 for the anchor itself** and **0.025 for each of its $J = 20$ neighbours**, so the
# neighbour weights sum to $20 \times 0.025 = 0.5$ and all 21 sum to 1. These are not the $w_{ij}$
# of the paper but the coefficients of step (3) with uniform, row-normalised $w_{ij} = 1/J$:
#
# $$\tfrac12 \sum_j w_{ij}\,[L(x_i) + L(x_i, x_j)] = \tfrac12\, L(x_i) + \sum_j \tfrac{1}{2J}\, L(x_i, x_j),
# \qquad \tfrac{1}{2J} = 0.025 \text{ for } J = 20.$$
#
# The same split, ½ for the anchor and $1/(2J)$ for each neighbour, is the public code's
# $\pi_i = \tfrac12\gamma_i + \sum_j \tfrac1{2J}\gamma_j$. The second cell below checks both with the library's
# `dgg_objective` and `update_pi` ($10^{-12}$).

# %%
uniform = torch.full((B, J), 1.0 / J)
code = public_code_pi(gamma_self, gamma_nbrs)
err_uniform = float((code - update_pi(gamma_self, gamma_nbrs, uniform)).abs().max())
err_stored = float((code - update_pi(gamma_self, gamma_nbrs, torch.full((B, J), 0.025))).abs().max())
print(f"public code vs (31) with w = 1/J: {err_uniform:.1e};  with w = 0.025: {err_stored:.1e}")
assert err_uniform < 1e-12 and err_stored < 1e-12

# %%
ANCHOR_WEIGHT, NEIGHBOUR_WEIGHT = 0.5, 0.025          # the public code's stored weights, J = 20
elbo_self = torch.as_tensor(rng.normal(size=B))       # stand-ins for L(x_i) and L(x_i, x_j)
elbo_cross = torch.as_tensor(rng.normal(size=(B, J)))
objective_31 = dgg_objective(elbo_self, elbo_cross, uniform)  # ½ Σ_j w_ij [L(x_i) + L(x_i, x_j)], w = 1/J
objective_code = ANCHOR_WEIGHT * elbo_self + NEIGHBOUR_WEIGHT * elbo_cross.sum(1)
pi_code_weights = ANCHOR_WEIGHT * gamma_self + NEIGHBOUR_WEIGHT * gamma_nbrs.sum(1)
print(f"J = {J}: anchor {ANCHOR_WEIGHT} + {J} × {NEIGHBOUR_WEIGHT} = {ANCHOR_WEIGHT + J * NEIGHBOUR_WEIGHT:g};"
      f"  1/(2J) = {1 / (2 * J):g}")
err_objective = float((objective_31 - objective_code).abs().max())
err_pi_weights = float((pi_code_weights - update_pi(gamma_self, gamma_nbrs, uniform)).abs().max())
print(f"step (3) with w = 1/J vs the code's weights: {err_objective:.1e};  π from the code's weights vs (31): "
      f"{err_pi_weights:.1e}")
assert J == 20 and abs(J * NEIGHBOUR_WEIGHT - 0.5) < 1e-15 and abs(NEIGHBOUR_WEIGHT - 1 / (2 * J)) < 1e-15
assert err_objective < 1e-12 and err_pi_weights < 1e-12

# %% [markdown]
# ## Open question 6: why does the code's GMM posterior ignore $\pi_k$?
#
# The code's GMM computes $\gamma_{ik} \propto \mathcal N(z_i; \mu_k, \sigma_k^2)$, without the
# mixing weight that a textbook GMM (and VaDE) puts in front. On the tractable model
# we compare three estimates of $p(c \mid z)$ on held-out samples $(z, c)$:
#
# * **Bayes with $\pi$**: $p(c = k \mid z) \propto \pi_k\,\mathcal N(z; \mu_k, \Sigma_k)$, the best possible;
# * **Bayes without $\pi$**: the same with uniform weights, as in the code;
# * **an $f_2$-like classifier**: `dggbook.model.networks.Classifier` (one hidden layer)
#   trained by cross-entropy on labelled samples, as $f_2$ is pretrained on k-means labels.
#
# The Bayes posteriors come from the library: $\ln p(x, z, c) = \ln p(x \mid z) + \ln p(z \mid c) + \ln \pi_c$,
# and the first part does not depend on $c$. So a softmax over $c$ of `log_joint` at
# any fixed $x$ is $p(c \mid z)$. We use two mixing vectors, the model's mildly
# unequal $\pi$ and a strongly imbalanced one.

# %%
base, *_ = tractable_setup(seed=0)
x_any = base.offset  # any x: ln p(x|z) cancels in the softmax over c


def posterior_c_given_z(model_, z):
    """ln p(c | z) for every c (rows), from the library's log joint."""
    return log_softmax(model_.log_joint(x_any, z), axis=1)


def train_f2(z, c):
    """A small f2 trained by cross-entropy on (z, c); returns ln q(c | z) on request."""
    torch.manual_seed(settings.seed)
    f2 = Classifier(2, 3, hidden_dims=(16,)).double().standardize_inputs(torch.as_tensor(z))
    opt = torch.optim.Adam(f2.parameters(), lr=0.03)
    zt, ct = torch.as_tensor(z), torch.as_tensor(c)
    for _ in range(F2_STEPS):
        opt.zero_grad()
        F.cross_entropy(f2(zt), ct).backward()
        opt.step()
    return lambda z_new: torch.log_softmax(f2(torch.as_tensor(z_new)), -1).detach().numpy()


q6 = {}
for label, weights in (("mild π", base.weights), ("imbalanced π", np.array([0.8, 0.15, 0.05]))):
    model = dataclasses.replace(base, weights=weights)
    _, z, c = model.sample(N_Q6, seed=settings.seed + 7)
    z_test, c_test = z[N_F2_TRAIN:], c[N_F2_TRAIN:]  # held out from f2's training
    logp = {"Bayes with π": posterior_c_given_z(model, z_test),
            "Bayes without π": posterior_c_given_z(dataclasses.replace(model, weights=np.ones(3) / 3), z_test),
            "f2-like classifier": train_f2(z[:N_F2_TRAIN], c[:N_F2_TRAIN])(z_test)}
    rows = {}
    for name, lp in logp.items():
        rows[name] = dict(acc=float((lp.argmax(1) == c_test).mean()),
                          nll=float(-lp[np.arange(len(c_test)), c_test].mean()),
                          kl=float((np.exp(logp["Bayes with π"]) * (logp["Bayes with π"] - lp)).sum(1).mean()))
    gain = logp["Bayes with π"][np.arange(len(c_test)), c_test] - logp["Bayes without π"][np.arange(len(c_test)), c_test]
    q6[label] = dict(rows=rows, gain=float(gain.mean()), gain_se=float(gain.std(ddof=1) / np.sqrt(len(gain))),
                     disagree=float((logp["Bayes with π"].argmax(1) != logp["Bayes without π"].argmax(1)).mean()))
    print(f"{label}: π = {np.round(weights, 3)}")
    for name, r in rows.items():
        print(f"   {name:19s} accuracy {r['acc']:.4f}   log loss {r['nll']:.4f}   KL(Bayes with π ‖ ·) {r['kl']:.4f}")
    print(f"   with vs without π: argmax differs on {q6[label]['disagree']:.1%};"
          f" log-loss gain {q6[label]['gain']:.4f} ± {q6[label]['gain_se']:.4f}")

# %% [markdown]
# What we assert:
#
# * The code's formula, a softmax over $k$ of $\ln\mathcal N(z; \mu_k, \sigma_k^2)$, is exactly the
#   Bayes posterior for uniform $\pi$ ($10^{-12}$). Leaving $\pi$ out is therefore exact
#   only when the clusters are equally likely.
# * Otherwise, keeping $\pi$ lowers the held-out log loss by more than 5 standard
#   errors (a paired comparison on the same samples). The gain is larger for the
#   imbalanced $\pi$.
# * The trained classifier is much closer to Bayes *with* $\pi$ than Bayes *without*
#   $\pi$ is: its mean KL from the best posterior is less than half as large. It
#   learns the cluster frequencies through its biases.

# %%
uniform_model = dataclasses.replace(base, weights=np.ones(3) / 3)
z_probe = base.sample(200, seed=1)[1]
code_gmm = torch.log_softmax(log_normal_diag(torch.as_tensor(z_probe)[:, None], torch.as_tensor(base.means),
                                             torch.as_tensor(np.log([np.diag(cv) for cv in base.covs]))), -1)
same = np.abs(posterior_c_given_z(uniform_model, z_probe) - code_gmm.numpy()).max()
print(f"code-style γ ∝ N(z; μ_k, σ_k²) vs Bayes with uniform π: max difference {same:.1e}")
assert same < 1e-12
for label, r in q6.items():
    assert r["gain"] > 5 * r["gain_se"], label
    assert r["rows"]["f2-like classifier"]["kl"] < 0.5 * r["rows"]["Bayes without π"]["kl"], label
assert q6["imbalanced π"]["gain"] > q6["mild π"]["gain"]

# %% [markdown]
# **Why the code can afford to leave $\pi$ out.** In DGG the cluster posterior used
# for training and prediction is $f_2$'s output, not the GMM's. A learned classifier
# absorbs the class frequencies into its biases, as the table shows. The GMM class
# has no global $\pi$ to put in, because DGG's prior is per sample. A Bayes posterior
# "with $\pi_i$" would use $\pi_i$, which (31) builds from the same $\gamma$'s, so it
# would count them twice. Whatever the GMM posterior without $\pi$ is used for, it
# is exact only for balanced clusters. On MNIST (ten nearly equal classes) the loss is
# small. On imbalanced data it costs accuracy and log loss, as measured above.

# %% [markdown]
# ## Further reading
#
# - Bishop, *Pattern Recognition and Machine Learning*, Springer 2006, appendix E (Lagrange multipliers) and ch. 9 (the M-step for the mixing weights of a
#   Gaussian mixture, whose form (31) generalises).
# - Jiang, Zheng, Tan, Tang and Zhou, *Variational Deep Embedding: An Unsupervised and Generative Approach to Clustering*, IJCAI 2017: one global $\pi$, learnt by gradient; compare with the closed-form per-sample update.
# - Yang, Cheung, Li and Fang, *Deep Clustering by Gaussian Mixture Variational Autoencoders with Graph Embedding*, ICCV 2019, eq. (31) and Algorithm 1.

# %% [markdown]
# ## Questions to think about
#
# 1. Eq. (31) averages $\gamma_i$ and the neighbours' $\gamma_j$. What does $\pi_i$ become when the
#    graph has no edges, and what does term 3 then contribute?
# 2. The update is exact for fixed $\gamma$, but $\gamma$ changes at every step of training. Does
#    alternating the closed-form update with gradient steps still increase the objective?
# 3. Exercise 4.1 adds a Dirichlet prior with $\alpha_k \ge 1$ to (31.1). What goes wrong with the
#    same formula when some $\alpha_k < 1$, and what does the maximiser look like then?

# %% [markdown] tags=["answer"]
# **Answers to the questions.**
#
# 1. If literally every weight of row $i$ is zero, sample $i$ drops out of the objective: its row of
#    $\tfrac12 \sum_j w_{ij}[L(x_i) + L(x_i, x_j)]$ is zero, every $a_{ik}$ is zero, every $\pi_i$ is equally good, and
#    (31) reads 0/0 (the library's `update_pi` refuses such a row with a `ValueError`). The meaningful case is a graph of
#    self-loops, each sample its own only neighbour with $w_{ii} = 1$: no edges between samples, and rows that still sum
#    to one. Then (31) gives $\pi_i = \tfrac12(\gamma_i + \gamma_i) = \gamma_i$, and term 3,
#    $\sum_k \gamma_{ik} \ln(\pi_{ik}/\gamma_{ik})$, is zero at the update. Until the next update it is
#    $-\mathrm{KL}(\gamma_i \,\|\, \pi_i)$ with $\pi_i$ the $\gamma_i$ of the sample's previous visit, so it only resists
#    changes of $\gamma_i$ and then resets; exercise 4.3 reaches the same zero, a Jensen–Shannon divergence of $\gamma_i$
#    with itself. Term 3 then carries no information about the clusters, neither their proportions nor the neighbours'
#    opinion. Of the cluster side of the ELBO only term 2 is left, which is linear in $\gamma_i$ and favours putting all
#    of it on the cluster whose Gaussian best explains $z_i$.
#
# 2. For the exact objective and small enough steps, yes; step by step in training, not necessarily. Algorithm 1 is
#    block coordinate ascent: the update (31) maximises the objective over $\pi$ with everything else fixed, so it never
#    lowers it, and at the new $\pi$ the derivative along the simplex is zero, which is why $\pi_i$ can be detached from
#    the gradient step without losing a term. A gradient step with $\pi$ fixed raises the exact objective if it is small
#    enough, and the objective is bounded above (by (O), hence by $\sum_i \ln p(x_i)$, for a Bernoulli decoder or a fixed
#    $\sigma_x^2$), so the alternation would converge in value. Training departs from this in three ways. Each step sees a
#    stochastic estimate (a mini-batch, one draw of $z$, a sample of the neighbours), and Adam's steps are not guaranteed
#    to go uphill. The library computes the new $\pi_i$ from the $\gamma$'s of the same forward pass, so it is the exact
#    maximiser for the $\gamma$'s just before the gradient step, not after it. And only the anchors of the batch are
#    updated, while every other $\pi_i$ keeps older $\gamma$'s. With a small learning rate one should expect an objective
#    that rises overall, as a noisy curve, not one that rises at every step.
#
# 3. The coefficient of $\ln \pi_{ik}$ becomes $c_{ik} = a_{ik} + \alpha_k - 1$. As long as every $c_{ik} \ge 0$ the steps
#    of (31.2) go through unchanged. With $\alpha_k < 1$, though, $c_{ik}$ is negative whenever $a_{ik} < 1 - \alpha_k$,
#    that is, whenever the sample and its neighbours give cluster $k$ little posterior mass, which for a confident
#    sample is most clusters. The formula $c_{ik}/\sum_l c_{il}$ then gives negative entries, or a denominator that is zero
#    or negative: not a distribution. The cause is that the objective has lost its maximum: $c_{ik} \ln \pi_{ik}$ with
#    $c_{ik} < 0$ is convex and tends to $+\infty$ as $\pi_{ik} \to 0$, so a stationary point, where one lies in the
#    simplex at all, is not a maximum, and the supremum is infinite. It is approached by sending every $\pi_{ik}$ with
#    $c_{ik} < 0$ to zero and sharing the mass among the clusters with $c_{ik} > 0$ in proportion to $c_{ik}$: a sparse
#    prior on a face of the simplex, a maximiser only in the limit. This is how a Dirichlet density with a parameter below
#    one behaves at the faces; indeed $e^{F_i^{\alpha}}$ is, up to a constant, the density of a Dirichlet with parameters
#    $a_{ik} + \alpha_k$, so a well-defined alternative is its mean, $(a_{ik} + \alpha_k)/\sum_l (a_{il} + \alpha_l)$,
#    which exists for every $\alpha_k > 0$.

# %% [markdown]
# ## What you should now be able to do
#
# - Derive (31) from the Lagrangian $\Phi_i(\pi_i, \lambda_i)$, including the value $\lambda_i = \sum_j w_{ij}$ of the
#   multiplier.
# - Implement (31) for any non-negative weights and check it against a numeric optimiser.
# - Explain row normalisation, and read the public code's 0.5 and 0.025 as step (3) with $w_{ij} = 1/J$.
# - Show that the blog's printed formula gives rows that do not sum to one, even for a confident agreeing pair.
# - Say when a GMM posterior without $\pi_k$ is exact (balanced clusters) and why $f_2$ does not need it.
#
# | objective | exercises |
# |---|---|
# | (31) from the Lagrangian, and the multiplier | 4.1 |
# | (31) for any weights, against a numeric optimiser | 4.1, 4.3 |
# | row normalisation and the code's 0.5 and 0.025 | 4.2 |
# | the blog's printed formula is not a distribution | 4.2 |
# | the GMM posterior without $\pi_k$ | none (the section on open question 6) |

# %% [markdown]
# ## Exercises
#
# Each exercise asks for one function. The cells tagged `check` below it call your function and compare its
# answer with an independent computation (a numeric optimiser, an entropy computed another way) or with the
# library; they fail until your answer is right. While a check runs your function, the library functions
# that would do the exercise for you, `update_pi` and the numeric optimiser among them, are blocked:
# calling one raises `LibraryCalled`. The header of each exercise gives its kind, a time to plan for and its
# difficulty (★ to ★★★); marks are weighted by the stars. `make course` makes student copies of the
# notebooks in which the solution blocks are replaced by stubs. All three take torch tensors:
# `gamma_self` $(B, K)$, `gamma_nbrs` $(B, J, K)$, `w` $(B, J)$.

# %% [markdown]
# ### Exercise 4.1 — The update (31) under a Dirichlet prior (derivation, 15 min, ★★)
#
# Suppose each $\pi_i$ also has a Dirichlet prior with parameters $\alpha_1, \dots, \alpha_K \ge 1$, and $\pi_i$ is set
# to the maximiser of (31.1) plus the log prior density (a MAP estimate):
#
# $$F_i^{\alpha}(\pi_i) = \sum_k a_{ik} \ln\pi_{ik} + \sum_k (\alpha_k - 1)\ln\pi_{ik},\qquad \sum_k \pi_{ik} = 1,
# \qquad a_{ik} = \tfrac12 \sum_j w_{ij}\,(\gamma_{ik} + \gamma_{jk}).$$
#
# Derive the maximiser on paper with a Lagrange multiplier, as in (31.2): what is $\lambda_i$ now? Then write
# `my_pi_update_dirichlet(gamma_self, gamma_nbrs, w, alpha)` returning it, shape $(B, K)$; `alpha` is a
# tensor $(K,)$. The rows of `w` are non-negative but need **not** sum to one.
#
# Hints: the objective has the form $\sum_k c_{ik} \ln \pi_{ik}$ with $c_{ik} \ge 0$, so the steps of (31.2) go
# through; only the sum $\sum_k c_{ik}$ changes. With $\alpha_k = 1$ for all $k$ you must get (31) back. The
# first check maximises $F_i^{\alpha}$ with BFGS on a softmax parametrisation (no Lagrangian) before your
# function runs, for the weights of Check 1 (row sums far from 1).

# %%
def my_pi_update_dirichlet(gamma_self, gamma_nbrs, w, alpha):
    """argmax over the simplex of Σ_k (a_ik + α_k − 1) ln π_ik, with a_ik = ½ Σ_j w_ij (γ_ik + γ_jk)."""
    ### BEGIN SOLUTION
    a_coef = 0.5 * (w.sum(dim=1, keepdim=True) * gamma_self + torch.einsum("bj,bjk->bk", w, gamma_nbrs))
    counts = a_coef + (alpha - 1.0)[None, :]                     # c_ik = a_ik + α_k − 1 ≥ 0
    multiplier = counts.sum(dim=1, keepdim=True)                 # λ_i = Σ_j w_ij + Σ_k α_k − K
    return counts / multiplier
    ### END SOLUTION


# %% tags=["check"]
from scipy.optimize import minimize
from scipy.special import logsumexp as log_sum_exp

from dggbook.book.exercises import check_close, library_blocked

alpha = torch.linspace(1.0, 4.0, K)                              # α_k from 1 to 4
n_rows = min(B, 8)


def map_by_optimiser(c_row):
    """argmax of Σ_k c_k ln softmax(θ)_k over θ by BFGS (no constraint, no multiplier)."""
    def negative(theta):
        log_pi = theta - log_sum_exp(theta)
        return -(c_row @ log_pi), -(c_row - c_row.sum() * np.exp(log_pi))
    theta = minimize(negative, np.zeros(c_row.size), jac=True, method="BFGS", options={"gtol": 1e-12}).x
    return np.exp(theta - log_sum_exp(theta))


a_rows = pi_objective_weights(gamma_self, gamma_nbrs, w)[:n_rows].numpy()
expected = np.stack([map_by_optimiser(a_row + alpha.numpy() - 1.0) for a_row in a_rows])
with library_blocked("4.1", "dggbook.derivation.pi_update.update_pi", "dggbook.derivation.pi_update.pi_update_numeric",
                     "dggbook.derivation.pi_update.pi_objective_weights",
                     "dggbook.derivation.reproductions.public_code_pi", "scipy.optimize.minimize"):
    received = my_pi_update_dirichlet(gamma_self[:n_rows], gamma_nbrs[:n_rows], w[:n_rows], alpha)
check_close("4.1", received, expected, what=f"the MAP π for {n_rows} anchors (vs BFGS)", rtol=1e-6, atol=1e-9)

# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

# α = 1 is a flat prior: the update must be (31) itself, for every anchor, with rows on the simplex.
expected = update_pi(gamma_self, gamma_nbrs, w)
with library_blocked("4.1", "dggbook.derivation.pi_update.update_pi", "dggbook.derivation.pi_update.pi_update_numeric",
                     "dggbook.derivation.pi_update.pi_objective_weights"):
    flat = my_pi_update_dirichlet(gamma_self, gamma_nbrs, w, torch.ones(K))
    peaked = my_pi_update_dirichlet(gamma_self, gamma_nbrs, w, alpha)
check_close("4.1", flat, expected, what="π with α = 1 (vs (31), update_pi)", rtol=1e-10)
check_close("4.1", peaked.sum(1), torch.ones(B), what="the row sums of the MAP π", rtol=1e-12)

# %% [markdown]
# ### Exercise 4.2 — Row normalisation and the short form (implementation, 10 min, ★)
#
# With rows that sum to one, (31) shortens to $\tfrac12(\gamma_{ik} + \sum_j w_{ij}\gamma_{jk})$; this is the form the
# public code uses. Write `my_pi_short_form(gamma_self, gamma_nbrs, w)` that first normalises each row of `w`
# (divide it by its sum) and then applies the short form.
#
# Hints: the check feeds the weights of Check 1, whose rows sum to far more than 1. Applied to such rows without
# normalising, the short form gives rows of $\pi$ that sum to $\tfrac12(1 + \sum_j w_{ij})$, not 1: work out why
# before you run it. The check compares with `update_pi` (which takes raw weights and is blocked while your
# function runs), with the row sums, and with the public code's update, which is your function with
# $w_{ij} = 0.025$.
#
# Then ask yourself: for one anchor and one neighbour ($J = 1$, $w = 1$) that agree confidently,
# $\gamma_i = \gamma_j = (0.98, 0.01, 0.01)$, your function returns $\gamma$ itself. What does the blog's printed
# formula return for this pair, and what is its row sum?

# %%
def my_pi_short_form(gamma_self, gamma_nbrs, w):
    """½(γ_i + Σ_j ŵ_ij γ_j) with ŵ = w divided by its row sums."""
    ### BEGIN SOLUTION
    w_hat = w / w.sum(dim=1, keepdim=True)
    return 0.5 * (gamma_self + (w_hat[:, :, None] * gamma_nbrs).sum(dim=1))
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

expected = update_pi(gamma_self, gamma_nbrs, w)
expected_code = public_code_pi(gamma_self, gamma_nbrs)
with library_blocked("4.2", "dggbook.derivation.pi_update.update_pi", "dggbook.derivation.pi_update.pi_update_numeric",
                     "dggbook.derivation.reproductions.public_code_pi", "dggbook.derivation.affinity.normalize_rows"):
    received = my_pi_short_form(gamma_self, gamma_nbrs, w)
    received_code = my_pi_short_form(gamma_self, gamma_nbrs, torch.full((B, J), NEIGHBOUR_WEIGHT))
check_close("4.2", received.sum(1), torch.ones(B), what="the row sums of π (raw w)", rtol=1e-12)
check_close("4.2", received, expected, what="π (vs update_pi on the raw w)", rtol=1e-10)
check_close("4.2", received_code, expected_code, what="π with the code's weights (vs public_code_pi)", rtol=1e-10)

# %% [markdown] tags=["answer"]
# **Answer.** Without normalisation the short form's row sum is $\tfrac12\big(\sum_k \gamma_{ik} + \sum_j w_{ij} \sum_k \gamma_{jk}\big)
# = \tfrac12(1 + \sum_j w_{ij})$, because every $\gamma$ row sums to one. For the confident agreeing pair the
# printed formula gives $\pi_k = \gamma_{jk} / (\gamma_{ik} + \gamma_{jk}) = \tfrac12$ for every $k$, whatever the
# confidence: $(0.5, 0.5, 0.5)$, with row sum $1.5 = K/2$. It is not a distribution, and it throws away the
# agreement that (31) keeps.

# %% [markdown]
# ### Exercise 4.3 — Term 3 after the update is a Jensen–Shannon divergence (derivation, 15 min, ★★★)
#
# Term 3 enters the anchor's part of the objective, $\tfrac12\sum_j w_{ij}[L(x_i) + L(x_i, x_j)]$, as
#
# $$T_i(\pi_i) = \tfrac12 \sum_j w_{ij}\Big[\sum_k \gamma_{ik}\ln\frac{\pi_{ik}}{\gamma_{ik}} + \sum_k \gamma_{jk}\ln\frac{\pi_{ik}}{\gamma_{jk}}\Big].$$
#
# Show on paper that at the update (31), with $s_i = \sum_j w_{ij}$ and the entropy $H(p) = -\sum_k p_k \ln p_k$,
#
# $$T_i(\pi_i^\ast) = -s_i\Big[H(\pi_i^\ast) - \tfrac12 H(\gamma_i) - \tfrac12 \sum_j \frac{w_{ij}}{s_i} H(\gamma_j)\Big],$$
#
# where the bracket is a Jensen–Shannon divergence: the entropy of the mixture $\pi_i^\ast$ of the posteriors
# minus the mixture of their entropies, with weights ½ for $\gamma_i$ and $w_{ij}/2s_i$ for each $\gamma_j$. Then
# write `my_term3_at_update(gamma_self, gamma_nbrs, w)` returning $T_i(\pi_i^\ast)$ for every anchor, shape $(B,)$,
# from this formula.
#
# Hints: split $T_i$ into $\sum_k a_{ik} \ln\pi_{ik}$ and a part without $\pi_i$; at $\pi_i^\ast = a_i / s_i$ the first part is
# $s_i \sum_k \pi^\ast_{ik} \ln \pi^\ast_{ik}$. The first check evaluates $T_i$ with the library's term 3 at the
# numeric optimiser of Check 1; the second uses one neighbour with $w = 1$, where the bracket is the
# ordinary $\mathrm{JS}(\gamma_i, \gamma_j)$ of notebook 02, computed with SciPy.
#
# Then ask yourself: what does this say that term 3 does in training, and what is left of it when every
# sample is its own only neighbour?

# %%
def my_term3_at_update(gamma_self, gamma_nbrs, w):
    """Term 3 of ½ Σ_j w_ij [L(x_i) + L(x_i, x_j)] at the update (31): minus s_i times a Jensen–Shannon divergence."""
    ### BEGIN SOLUTION
    def entropy(p):
        return -torch.special.xlogy(p, p).sum(-1)

    row_sum = w.sum(dim=1)                                                    # s_i
    mixture = 0.5 * gamma_self + 0.5 * torch.einsum("bj,bjk->bk", w / row_sum[:, None], gamma_nbrs)  # π_i*
    mean_entropy = 0.5 * entropy(gamma_self) + 0.5 * ((w / row_sum[:, None]) * entropy(gamma_nbrs)).sum(-1)
    return -row_sum * (entropy(mixture) - mean_entropy)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked
from dggbook.derivation.elbo import elbo_terms


def term3_of_pairs(pi_rows):
    """T_i(π_i) from the library's term 3 of (4) and (5), for every anchor (terms 1, 2 and 4 are fed zeros)."""
    rows = B * (J + 1)
    gammas = torch.cat([gamma_self[:, None, :], gamma_nbrs], dim=1).reshape(rows, K)  # anchor first, then neighbours
    priors = pi_rows[:, None, :].expand(B, J + 1, K).reshape(rows, K)
    t3 = elbo_terms(torch.zeros(rows), torch.zeros(rows, 1), torch.zeros(rows, 1), gammas, priors,
                    torch.zeros(K, 1), torch.zeros(K, 1)).prior_c.reshape(B, J + 1)
    return 0.5 * (w.sum(1) * t3[:, 0] + (w * t3[:, 1:]).sum(1))


expected = term3_of_pairs(torch.as_tensor(pi_numeric))                   # at the numeric optimiser of Check 1
with library_blocked("4.3", "dggbook.derivation.pi_update.update_pi", "dggbook.derivation.pi_update.pi_update_numeric",
                     "dggbook.derivation.pi_update.pi_objective_weights", "dggbook.derivation.elbo.elbo_terms",
                     "scipy.stats.entropy", "scipy.spatial.distance.jensenshannon"):
    received = my_term3_at_update(gamma_self, gamma_nbrs, w)
check_close("4.3", received, expected, what="term 3 at the update, every anchor (vs the optimiser's π)",
            rtol=1e-9, atol=1e-10)

# %% tags=["check"]
from scipy.spatial.distance import jensenshannon

from dggbook.book.exercises import check_close, library_blocked

# One neighbour with w = 1: the bracket is JS(γ_i, γ_j). SciPy returns its square root (natural log by default).
pair_self, pair_nbr = gamma_self[:5], gamma_nbrs[:5, 0]
expected = -torch.as_tensor([jensenshannon(a, b) ** 2 for a, b in zip(pair_self.numpy(), pair_nbr.numpy())])
with library_blocked("4.3", "dggbook.derivation.pi_update.update_pi", "dggbook.derivation.pi_update.pi_objective_weights",
                     "dggbook.derivation.elbo.elbo_terms", "scipy.stats.entropy", "scipy.spatial.distance.jensenshannon",
                     "dggbook.derivation.joint.js_joint"):
    received = my_term3_at_update(pair_self, pair_nbr[:, None, :], torch.ones(5, 1))
check_close("4.3", received, expected, what="term 3 at the update with one neighbour (vs −JS by SciPy)",
            rtol=1e-9, atol=1e-12)

# %% [markdown] tags=["answer"]
# **Answer.** With $\pi_i$ fixed at the update, the gradient of term 3 with respect to the posteriors is the gradient of
# $T_i(\pi_i^\ast)$ itself (the derivative through $\pi_i^\ast$ vanishes because $\pi_i^\ast$ maximises $T_i$). So
# after each update, term 3 pulls the anchor's $\gamma_i$ and its neighbours' $\gamma_j$ towards each other, with
# the force of a Jensen–Shannon divergence between them, and it is largest (zero) when they all agree. It is a
# second graph penalty, on the cluster posteriors, next to the JS term of (O). When every sample is its own only
# neighbour, $\pi_i^\ast = \gamma_i$, the divergence is that of $\gamma_i$ with itself, and term 3 is 0: no prior over
# clusters is left.
