# %%
from dggbook.book import setup_book; settings = setup_book(seed=0)

# %% [markdown]
# # 02 — The lower bound, step by step
#
# Notebook 01 stated DGG's objective
#
# $$\max\ \sum_i \Big[\ln p(x_i) - \sum_j w_{ij}\,\mathrm{JS}(q_i, q_j)\Big], \tag{O}$$
#
# with $q_i = q(z, c \mid x_i)$. Here we derive its computable lower bound in the
# blog's steps (1), (2.1), (2.2)–(2.3) and (3). After each step a cell computes
# both sides on the tractable model of notebook 01 (`LinearGaussianMixture`, the book's own test
# bed, where $\ln p(x)$ and the posterior are exact) and asserts that they
# agree. Throughout, $p_i = p(z, c \mid x_i)$ is the **exact** posterior, a Gaussian
# mixture over $(z, c)$. The $q$'s are Gaussians in $z$ times a softmax classifier
# in $c$, the shape of DGG's inference model. Every expectation is a sum over $c$
# and a Gauss–Hermite quadrature over $z$ (`dggbook.derivation.joint`).
#
# **Learning objectives.** After this notebook you can:
# - derive step (1), $G = \mathrm{JS} + \mathrm{KL}(\bar q \,\|\, p_i)$, and explain why it gives a lower bound;
# - derive the cross-ELBO identity (2.1) and compute $L(x_i, x_j)$ on the tractable model;
# - derive (2.3), and explain why both KLs in $G$ use the anchor's posterior $p_i$ and why $G$ is not
#   symmetric while JS is;
# - explain why step (3) needs every row of $w$ to sum to one;
# - compute KL, JS and $G$ for categorical distributions.
#
# **Prerequisites.** Notebook 01 (the model, $q(z, c \mid x)$ and the objective (O)); the KL divergence and
# the ELBO identity $\ln p(x) = \mathrm{KL}(q \,\|\, p(z \mid x)) + L$ for a VAE; Jensen–Shannon divergence.
#
# **Time.** About 35 minutes to read and run, plus about 40 minutes for the exercises. (The code runs in
# about 7 s on a 2-core CPU.)
#
# **References.** [DGG paper](https://openaccess.thecvf.com/content_ICCV_2019/html/Yang_Deep_Clustering_by_Gaussian_Mixture_Variational_Autoencoders_With_Graph_Embedding_ICCV_2019_paper.html)
# (the objective and its lower bound: the JS graph term, the bound with $G$ and the cross ELBO);
# [VaDE](https://arxiv.org/abs/1611.05148) (Jiang et al., IJCAI 2017) for the ELBO $L(x_i)$ of a
# Gaussian-mixture VAE that (2.1) generalises.
#
# **Notation.** Symbols as in the [notation glossary](notation.md); the course order is in the
# [roadmap](00_roadmap.ipynb).

# %%
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from dggbook.book import savefig
from dggbook.derivation.checks import step3_sides, tractable_setup
from dggbook.derivation.joint import (
    GaussianMixtureJoint,
    GaussianSoftmaxJoint,
    elbo_joint,
    g_bound,
    js_joint,
    kl_joint,
    kl_mixture,
)

matplotlib.rcParams["figure.dpi"] = 72

N_INTERP = 6 if settings.quick else 26   # points on the path from q to the posterior
N_RANDOM_Q = 3 if settings.quick else 8  # extra random q's for step (2.1)
print(f"{N_INTERP=} {N_RANDOM_Q=}")

# %% [markdown]
# ## The set-up
#
# `tractable_setup` returns the model, two data points $x_i, x_j$ and two posteriors
# $q_i, q_j$ whose parameters were drawn at random. Two sanity checks come first.
#
# * The exact posterior obeys Bayes' rule, $\ln p_i(z, c) = \ln p(x_i, z, c) - \ln p(x_i)$
#   (tolerance $10^{-10}$ at random points $z$).
# * The quadrature has converged. The default rule has 40 nodes per axis; with 120
#   nodes, $G$ moves by less than $10^{-8}$ and JS by less than $10^{-6}$. The
#   identities below hold to about $10^{-14}$ at any order, because they hold node
#   by node. The convergence check is what says that the numbers themselves are
#   right.

# %%
model, x_i, x_j, q_i, q_j = tractable_setup(seed=0)
p_i = model.posterior(x_i)
log_px = model.log_evidence(x_i)
z_test = np.random.default_rng(settings.seed).normal(size=(50, 2))
bayes_err = np.abs(p_i.log_prob(z_test) - (model.log_joint(x_i, z_test) - log_px)).max()
dg = abs(g_bound(q_i, q_j, p_i, 40) - g_bound(q_i, q_j, p_i, 120))
djs = abs(js_joint(q_i, q_j, 40) - js_joint(q_i, q_j, 120))
print(f"ln p(x_i) = {log_px:.6f}   Bayes-rule error {bayes_err:.1e}   |ΔG| {dg:.1e}   |ΔJS| {djs:.1e}"
      "  (40 vs 120 nodes)")
assert bayes_err < 1e-10 and dg < 1e-8 and djs < 1e-6

# %% [markdown]
# ## Step (1): G is JS plus a KL
#
# Let $\bar q = \tfrac12(q_i + q_j)$ and define
# $G(x_i, x_j) = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_i)$.
# Inside each KL, write $\ln\frac{q}{p_i} = \ln\frac{q}{\bar q} + \ln\frac{\bar q}{p_i}$:
#
# $$G = \underbrace{\tfrac12\,\mathbb E_{q_i}\!\Big[\ln\tfrac{q_i}{\bar q}\Big] + \tfrac12\,\mathbb E_{q_j}\!\Big[\ln\tfrac{q_j}{\bar q}\Big]}_{\mathrm{JS}(q_i,\,q_j)}
# \;+\; \underbrace{\mathbb E_{\frac12(q_i + q_j)}\!\Big[\ln\tfrac{\bar q}{p_i}\Big]}_{\mathrm{KL}(\bar q\,\|\,p_i)}
# = \mathrm{JS}(q_i, q_j) + \mathrm{KL}(\bar q \,\|\, p_i) \ \ge\ \mathrm{JS}(q_i, q_j). \tag{1}$$
#
# (Expectations over $(z, c)$: a sum over $c$ and an integral over $z$.) The last
# expectation runs under $\tfrac12(q_i + q_j) = \bar q$, so it is a KL divergence and
# cannot be negative. Since $w_{ij} \ge 0$, replacing every JS in (O) by $G$ can only
# lower the objective: we get a lower bound.

# %%
G = g_bound(q_i, q_j, p_i)
JS = js_joint(q_i, q_j)
KLm = kl_mixture(q_i, q_j, p_i)
print(f"G = {G:.10f}\nJS + KL(q̄‖p_i) = {JS + KLm:.10f}   (JS = {JS:.6f}, KL(q̄‖p_i) = {KLm:.6f})")
print(f"|G − JS − KL(q̄‖p_i)| = {abs(G - JS - KLm):.1e}")
assert abs(G - (JS + KLm)) < 1e-10
assert G - JS >= 0.0

# %% [markdown]
# ### The gap as $q$ approaches the posterior
#
# The bound is tight only when $\bar q$ equals the true posterior $p_i$. To watch the gap
# close, we move the posteriors along a straight path in parameter space,
# $\theta(t) = (1 - t)\,\theta_{\text{start}} + t\,\theta_{\text{target}}$. The target
# $q^\star$ is the Gaussian of $p_i$'s dominant component (its mean and covariance),
# with a classifier that ignores $z$ and outputs the exact $p(c \mid x_i)$ (weights 0,
# biases $\ln p(c \mid x_i)$). $q^\star$ cannot equal $p_i$, which is a mixture of three
# Gaussians, so $\mathrm{KL}(q^\star \,\|\, p_i)$ stays slightly positive.
#
# * (a) Only $q_i$ moves; the neighbour's $q_j$ stays put.
# * (b) Both move towards $q^\star$, as they would if $x_j$ were a near-duplicate of $x_i$.
#
# At every point we assert $G - \mathrm{JS} \ge 0$ and $G - \mathrm{JS} = \mathrm{KL}(\bar q \,\|\, p_i)$
# to $10^{-9}$.

# %%
k_star = int(np.argmax(p_i.log_weights))
target = dict(mean=p_i.means[k_star], cov=p_i.covs[k_star], weight=np.zeros_like(q_i.weight), bias=p_i.log_weights)


def towards_target(q, t):
    """The point at fraction t on the straight path from q's parameters to q*'s."""
    mix = lambda a, b: (1 - t) * a + t * b  # noqa: E731
    return GaussianSoftmaxJoint(mix(q.mean, target["mean"]), mix(q.cov, target["cov"]),
                                mix(q.weight, target["weight"]), mix(q.bias, target["bias"]))


ts = np.linspace(0.0, 1.0, N_INTERP)
paths = {}
for label, move_j in (("(a) q_i moves", False), ("(b) q_i and q_j move", True)):
    rows = []
    for t in ts:
        a = towards_target(q_i, t)
        b = towards_target(q_j, t) if move_j else q_j
        rows.append((g_bound(a, b, p_i), js_joint(a, b), kl_mixture(a, b, p_i)))
    paths[label] = np.array(rows)  # columns: G, JS, KL(q̄‖p_i)
for label, r in paths.items():
    gap = r[:, 0] - r[:, 1]
    print(f"{label}: min gap {gap.min():.4g}, max |gap − KL(q̄‖p_i)| {np.abs(gap - r[:, 2]).max():.1e}")
    assert gap.min() >= 0.0
    assert np.abs(gap - r[:, 2]).max() < 1e-9
kl_star = kl_joint(towards_target(q_i, 1.0), p_i)
print(f"at t = 1 in (b): JS = {paths['(b) q_i and q_j move'][-1, 1]:.1e}, G = KL(q*‖p_i) = {kl_star:.6f}")
assert abs(paths["(b) q_i and q_j move"][-1, 0] - kl_star) < 1e-10  # q_i = q_j = q*: G is KL(q*‖p_i)
# The numbers the text below quotes.
path_a, path_b = paths["(a) q_i moves"], paths["(b) q_i and q_j move"]
g_drop_a = 1 - path_a[-1, 0] / path_a[0, 0]
print(f"(a): G falls by {g_drop_a:.0%}, the gap ends at {path_a[-1, 0] - path_a[-1, 1]:.2f}, "
      f"JS goes {path_a[0, 1]:.3f} -> {path_a[-1, 1]:.3f}")
assert abs(g_drop_a - 1 / 3) < 0.05                     # "falls by about a third"
assert path_a[-1, 0] - path_a[-1, 1] > 10               # the gap stays large
assert path_a[-1, 1] > path_a[0, 1]                     # JS grows
assert path_b[-1, 1] < 1e-12 and 0 < kl_star < 0.01     # JS reaches 0; KL(q*‖p_i) stays slightly positive

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (label, r) in zip(axes, paths.items()):
    ax.plot(ts, r[:, 0], "k-", lw=2, label="G")
    ax.plot(ts, r[:, 1], "tab:blue", lw=2, label="JS(q_i, q_j)")
    ax.plot(ts, r[:, 0] - r[:, 1], "tab:orange", lw=4, alpha=0.5, label="G − JS")
    ax.plot(ts, r[:, 2], "k:", lw=1.5, label="KL(q̄ ‖ p_i)")
    ax.set(yscale="log", xlabel="t  (0: random q, 1: q*)", ylabel="nats", title=label)
axes[1].set_ylim(bottom=1e-3)  # JS falls to 0 at t = 1, off the log axis
axes[0].legend()
fig.suptitle("step (1): the gap G − JS is KL(q̄ ‖ p_i), never negative")
fig.tight_layout()
print("saved", savefig(fig, "bound_gap_interpolation").name)
plt.show()

# %% [markdown]
# In (a), $G$ falls by about a third, yet the gap stays large: $q_j$ is still far
# from $p_i$, so $\bar q$ is too. JS grows, because $q_i$ moves away from $q_j$. In (b)
# both move and the gap closes to $\mathrm{KL}(q^\star \,\|\, p_i)$, the part of
# $p_i$ that one Gaussian cannot represent. JS reaches 0 at $t = 1$, where the
# two $q$'s coincide; the log axis cuts that last point off.

# %% [markdown]
# ## Step (2.1): the cross ELBO
#
# For **any** distribution $q_j$ over $(z, c)$, since $p(x_i) = p(x_i, z, c) / p_i(z, c)$
# for every $(z, c)$:
#
# $$\ln p(x_i) = \mathbb E_{q_j}\big[\ln p(x_i)\big]
# = \mathbb E_{q_j}\Big[\ln\frac{q_j}{p_i}\Big] + \mathbb E_{q_j}\Big[\ln\frac{p(x_i, z, c)}{q_j}\Big]
# = \mathrm{KL}(q_j \,\|\, p_i) + L(x_i, x_j). \tag{2.1}$$
#
# With $q_j = q_i$ this is the usual ELBO identity, with $L(x_i) = L(x_i, x_i)$. With the
# neighbour's posterior it defines the **cross ELBO** $L(x_i, x_j)$: $x_i$ scored under
# the posterior of $x_j$. We check (2.1) for $q_i$, $q_j$, $q^\star$ and some random
# $q$'s (tolerance $10^{-10}$).

# %%
rng = np.random.default_rng(settings.seed + 3)
candidates = {"q_i": q_i, "q_j": q_j, "q*": towards_target(q_i, 1.0)}
for r in range(N_RANDOM_Q):
    candidates[f"rand {r}"] = GaussianSoftmaxJoint(rng.normal(size=2), np.diag(rng.uniform(0.2, 1.0, 2)),
                                                   rng.normal(size=(3, 2)), rng.normal(size=3))
log_joint_i = lambda z: model.log_joint(x_i, z)  # noqa: E731
elbos = {name: elbo_joint(q, log_joint_i) for name, q in candidates.items()}
kls = {name: kl_joint(q, p_i) for name, q in candidates.items()}
errors = {name: abs(log_px - (kls[name] + elbos[name])) for name in candidates}
for name in candidates:
    print(f"{name:7s} L = {elbos[name]:10.4f}   KL = {kls[name]:9.4f}   |ln p − KL − L| = {errors[name]:.1e}")
assert max(errors.values()) < 1e-10

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
names = list(candidates)
for n, name in enumerate(names):
    ax.bar(n, kls[name], bottom=elbos[name], color="tab:orange", alpha=0.7, label="KL(q ‖ p_i)" if n == 0 else None)
    ax.plot([n - 0.4, n + 0.4], [elbos[name]] * 2, color="tab:green", lw=3, label="L(x_i, q)" if n == 0 else None)
ax.axhline(log_px, color="k", ls="--", lw=1, label="ln p(x_i)")
ax.set_xticks(range(len(names)), names)
ax.set(ylabel="nats", title="(2.1): for every q, the ELBO plus the KL is ln p(x_i)")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
print("saved", savefig(fig, "elbo_plus_kl").name)
plt.show()

# %% [markdown]
# ## Steps (2.2)–(2.3): average the two identities
#
# Write (2.1) once with $q_i$ and once with $q_j$, add, and halve:
#
# $$\ln p(x_i) = \tfrac12\big[\mathrm{KL}(q_i \,\|\, p_i) + \mathrm{KL}(q_j \,\|\, p_i)\big]
# + \tfrac12\big[L(x_i) + L(x_i, x_j)\big] \tag{2.2}$$
#
# $$\phantom{\ln p(x_i)} = G(x_i, x_j) + \tfrac12\big[L(x_i) + L(x_i, x_j)\big]. \tag{2.3}$$
#
# So $\ln p(x_i) - G(x_i, x_j) = \tfrac12[L(x_i) + L(x_i, x_j)]$: the bound of step (1) is
# an average of two ELBOs.

# %%
# BOOK_CHECK_OUTPUT  (make book-check: this output must match the committed one)
L_self, L_cross = elbos["q_i"], elbos["q_j"]
rhs_22 = 0.5 * (kls["q_i"] + kls["q_j"]) + 0.5 * (L_self + L_cross)
rhs_23 = G + 0.5 * (L_self + L_cross)
print(f"ln p(x_i) = {log_px:.10f}\n(2.2) rhs = {rhs_22:.10f}\n(2.3) rhs = {rhs_23:.10f}")
assert abs(log_px - rhs_22) < 1e-10
assert abs(log_px - rhs_23) < 1e-10

# %% [markdown]
# ## Why both KLs in $G$ use $p_i$, and why $G$ is not symmetric
#
# $G(x_i, x_j)$ is built for one row of (O), the row of sample $x_i$:
# $\ln p(x_i) - \sum_j w_{ij}\,\mathrm{JS}(q_i, q_j)$. The quantity to get rid of is $\ln p(x_i)$, which no
# network can compute. Identity (2.1) does that, but only for the posterior of $x_i$: for any $q$,
# $\mathrm{KL}(q \,\|\, p_i) = \ln p(x_i) - L(x_i, \cdot)$. Measuring **both** $q_i$ and $q_j$ against
# $p_i$ lets both KLs be traded for ELBOs of the same $x_i$, and their two copies of $\ln p(x_i)$ combine
# into the one in (2.2). So $x_i$ is the anchor of the pair; $x_j$ only lends its posterior $q_j$.
#
# Hence $G$ depends on which sample is the anchor.
# $G(x_i, x_j) = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_i)$ and
# $G(x_j, x_i) = \tfrac12\,\mathrm{KL}(q_j \,\|\, p_j) + \tfrac12\,\mathrm{KL}(q_i \,\|\, p_j)$ measure against
# different posteriors, so they are different numbers. JS compares $q_i$ and $q_j$ with their mixture
# $\bar q = \tfrac12(q_i + q_j)$, which is the same from either side, so JS is symmetric. Step (1) says what
# the asymmetry is: $G(x_i, x_j) - \mathrm{JS} = \mathrm{KL}(\bar q \,\|\, p_i)$ and
# $G(x_j, x_i) - \mathrm{JS} = \mathrm{KL}(\bar q \,\|\, p_j)$. In (O) a pair enters row $i$ through
# $w_{ij}\,G(x_i, x_j)$ and row $j$ through $w_{ji}\,G(x_j, x_i)$: each bounds the same JS from its own side.

# %%
p_j = model.posterior(x_j)
G_ij, G_ji = g_bound(q_i, q_j, p_i), g_bound(q_j, q_i, p_j)
JS_ij, JS_ji = js_joint(q_i, q_j), js_joint(q_j, q_i)
KLm_i, KLm_j = kl_mixture(q_i, q_j, p_i), kl_mixture(q_i, q_j, p_j)
print(f"G(x_i, x_j) = {G_ij:.4f}   G(x_j, x_i) = {G_ji:.4f}")
print(f"JS(q_i, q_j) = {JS_ij:.6f}   JS(q_j, q_i) = {JS_ji:.6f}")
print(f"G(x_i, x_j) − JS − KL(q̄‖p_i) = {G_ij - JS_ij - KLm_i:.1e}   G(x_j, x_i) − JS − KL(q̄‖p_j) = "
      f"{G_ji - JS_ij - KLm_j:.1e}")
assert abs(JS_ij - JS_ji) < 1e-12                          # JS is symmetric
assert abs(G_ij - 28.221) < 1e-3 and abs(G_ji - 6.597) < 1e-3 and abs(JS_ij - 0.3502) < 1e-4
assert abs(G_ij - JS_ij - KLm_i) < 1e-10 and abs(G_ji - JS_ij - KLm_j) < 1e-10

# %% [markdown]
# The two anchors give $G = 28.22$ and $G = 6.60$ for the same pair, whose JS is 0.350 either way.
# On average, $q_i$ and $q_j$ are much closer (in KL) to $p_j$ than to $p_i$.
#
# ### Negative control: $q_j$ measured against its own posterior
#
# A tempting variant measures each posterior against its own true posterior:
# $\tilde G(x_i, x_j) = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_j)$. Apply
# (2.1) to each KL. The second one now trades for $\ln p(x_j) - L(x_j)$, so
#
# $$\ln p(x_i) - \tilde G(x_i, x_j) = \tfrac12\big[L(x_i) + L(x_j)\big] + \tfrac12\big[\ln p(x_i) - \ln p(x_j)\big].$$
#
# $\ln p(x_j)$ does not cancel, and (2.3) misses by exactly
# $\tfrac12\big[\mathrm{KL}(q_j \,\|\, p_i) - \mathrm{KL}(q_j \,\|\, p_j)\big]$. Step (1) fails as well:
# $\tilde G - \mathrm{JS}$ is no longer a KL, so it can be negative. With perfect inference, $q_i = p_i$
# and $q_j = p_j$, $\tilde G = 0$ while $\mathrm{JS}(p_i, p_j) > 0$; replacing JS by $\tilde G$ would
# raise the objective, so the result would not be a lower bound.

# %%
G_tilde = 0.5 * kls["q_i"] + 0.5 * kl_joint(q_j, p_j)
miss = (log_px - G_tilde) - 0.5 * (L_self + L_cross)
predicted_miss = 0.5 * (kls["q_j"] - kl_joint(q_j, p_j))
miss_g = log_px - G - 0.5 * (L_self + L_cross)
print(f"(2.3) with G:        ln p(x_i) − G − ½[L(x_i) + L(x_i, x_j)] = {miss_g:.1e}")
print(f"(2.3) with G-tilde:  ln p(x_i) − G~ − ½[L(x_i) + L(x_i, x_j)] = {miss:.4f}   "
      f"(½[KL(q_j‖p_i) − KL(q_j‖p_j)] = {predicted_miss:.4f})")
assert abs(miss) > 1.0                          # the identity fails, by many nats ...
assert abs(miss - predicted_miss) < 1e-10       # ... by exactly the predicted amount
assert abs(miss - 14.893) < 1e-3

G_tilde_exact = 0.5 * kl_joint(p_i, p_i) + 0.5 * kl_joint(p_j, p_j)  # q_i = p_i, q_j = p_j
JS_exact = js_joint(p_i, p_j)
print(f"perfect inference:   G~ = {G_tilde_exact:.1e}   JS(p_i, p_j) = {JS_exact:.4f}   (ln 2 = {math.log(2):.4f})")
assert abs(G_tilde_exact) < 1e-12 and abs(JS_exact - 0.693) < 1e-3  # G~ < JS: not an upper bound on JS

# %% [markdown]
# Here $\tilde G$ misses (2.3) by 14.89 nats. With perfect inference $\tilde G = 0$ while
# $\mathrm{JS}(p_i, p_j) = 0.693$, almost $\ln 2$: the two exact posteriors barely overlap. Anchoring both
# KLs at $p_i$ is what makes the derivation work.

# %% [markdown]
# ## Step (3): normalised rows make $\ln p(x_i)$ cancel
#
# Put (2.3) into the bound for every pair:
#
# $$\sum_i \Big[\ln p(x_i) - \sum_j w_{ij}\, G_{ij}\Big]
# = \sum_i \Big(1 - \sum_j w_{ij}\Big) \ln p(x_i) \;+\; \tfrac12 \sum_i \sum_j w_{ij}\big[L(x_i) + L(x_i, x_j)\big].$$
#
# If every row of $w$ sums to one, the first sum vanishes and
#
# $$\sum_i \Big[\ln p(x_i) - \sum_j w_{ij}\, G_{ij}\Big] = \tfrac12 \sum_i \sum_j w_{ij}\big[L(x_i) + L(x_i, x_j)\big], \tag{3}$$
#
# which is what Algorithm 1 maximises. `step3_sides` evaluates both sides and the
# residual $\sum_i (1 - \sum_j w_{ij}) \ln p(x_i)$ for four samples, with all 16 pairs
# and random weights. We run it with rows normalised and with rows that are not.

# %%
lhs_n, rhs_n, res_n = step3_sides(normalised=True)
lhs_u, rhs_u, res_u = step3_sides(normalised=False)
print(f"normalised rows:   lhs {lhs_n:.10f}   rhs {rhs_n:.10f}   residual {res_n:.1e}")
print(f"unnormalised rows: lhs {lhs_u:.6f}   rhs {rhs_u:.6f}   lhs − rhs {lhs_u - rhs_u:.6f}"
      f"   Σ_i(1 − Σ_j w_ij) ln p(x_i) {res_u:.6f}")
assert abs(lhs_n - rhs_n) < 1e-9                  # (3) holds
assert abs((lhs_u - rhs_u) - res_u) < 1e-9        # without normalisation exactly this is left over ...
assert abs(lhs_u - rhs_u) > 1.0                   # ... and it is far from zero

# %% [markdown]
# Without row normalisation (3) is off by $\sum_i (1 - \sum_j w_{ij}) \ln p(x_i)$, a term
# that still depends on the model parameters. Maximising the right side of (3) alone
# then no longer maximises the bound. Notebook 06 shows that the public code's
# Gaussian-weight branch does not normalise its rows.

# %% [markdown]
# ## Further reading
#
# - Lin, *Divergence Measures Based on the Shannon Entropy*, IEEE Transactions on Information Theory 37(1), 1991: the Jensen–Shannon divergence, its bound by $\ln 2$ and its relation to KL, used in step (1).
# - Bishop, *Pattern Recognition and Machine Learning*, Springer 2006, ch. 10: the decomposition $\ln p(x) = L(q) + \mathrm{KL}(q \,\|\, p)$ that (2.1) applies
#   to a neighbour's posterior.
# - Kingma and Welling, *Auto-Encoding Variational Bayes*, ICLR 2014: the ELBO $L(x_i)$ as a training objective for a VAE.
# - Yang, Cheung, Li and Fang, *Deep Clustering by Gaussian Mixture Variational Autoencoders with Graph Embedding*, ICCV 2019, and its supplement: the bound with $G$ and the cross ELBO that this notebook re-derives.
#
# ## Questions to think about
#
# 1. Step (1) replaces JS by $G \ge \mathrm{JS}$. When is the gap $\mathrm{KL}(\bar q \,\|\, p_i)$ zero,
#    and is that case reachable by a trained model?
# 2. $G$ is not symmetric in $i$ and $j$ while JS is. Does that matter once the sum over all pairs
#    $(i, j)$ of the graph is taken?
# 3. Step (3) needs every row of $w$ to sum to one. Suppose the rows summed to 2: what would the
#    objective reward, and how would a trained model exploit it?
# 4. The cross ELBO $L(x_i, x_j)$ scores $x_i$ under $q_j$. Why is it still a lower bound on
#    $\ln p(x_i)$, however poorly $q_j$ fits $x_i$?

# %% [markdown]
# ## What you should now be able to do
#
# - Derive step (1) by splitting $\ln\frac{q}{p_i} = \ln\frac{q}{\bar q} + \ln\frac{\bar q}{p_i}$, and say why
#   $G \ge \mathrm{JS}$ turns (O) into a lower bound.
# - Derive the cross-ELBO identity (2.1) for any $q$ and compute $L(x_i, x_j)$.
# - Derive (2.3), and explain why both KLs in $G$ are taken against the anchor's $p_i$ and why this makes
#   $G$ asymmetric while JS is symmetric.
# - Explain why step (3) needs normalised rows of $w$.
# - Compute KL, JS and $G$ for categorical distributions.

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell in which you write a function `my_...` and, below it, one or more check cells
# that call your function and compare its answer with the library or with an independent computation.
# A passing check prints one line; a failing one raises an `AssertionError` that says what it expected
# and what it received. `make course` writes student copies of the notebooks in which every solution
# block is replaced by a stub that raises `NotImplementedError`.
#
# Exercises 2.1 and 2.2 work with categorical distributions over the $K$ clusters. They are the
# $c$-part of $q(z, c)$: when two joints share the same Gaussian in $z$ and their classifiers ignore
# $z$, KL, JS and $G$ between the joints equal those between their categorical parts. The checks use
# exactly that to compare your answers with `dggbook.derivation.joint`.

# %% [markdown]
# ### Exercise 2.1 — JS between two categoricals
#
# Write `my_js_categorical(p, q)` for two probability vectors of length $K$. Return
#
# $$\mathrm{JS}(p, q) = \tfrac12\,\mathrm{KL}(p \,\|\, \bar q) + \tfrac12\,\mathrm{KL}(q \,\|\, \bar q),\qquad
# \bar q = \tfrac12(p + q),\qquad \mathrm{KL}(u \,\|\, v) = \sum_k u_k \ln\frac{u_k}{v_k}.$$
#
# Hints: a term with $u_k = 0$ contributes 0 (the limit of $u \ln u$), so skip those entries rather than
# take $\ln 0$. Wherever $u_k > 0$, $\bar q_k > 0$ as well. JS is symmetric and never exceeds $\ln 2$; the
# second check uses two vectors with no common support, where it equals $\ln 2$.

# %%
def my_js_categorical(p, q):
    """JS(p, q) = ½ KL(p ‖ q̄) + ½ KL(q ‖ q̄) with q̄ = ½(p + q), for probability vectors (zeros allowed)."""
    ### BEGIN SOLUTION
    p_vec, q_vec = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    halfway = 0.5 * (p_vec + q_vec)

    def kl_to_halfway(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / halfway[nz])))

    return 0.5 * kl_to_halfway(p_vec) + 0.5 * kl_to_halfway(q_vec)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close


def joint_with_classes(probs):
    """q(z, c) = N(z; 0, I) · probs_c: a joint whose classifier ignores z."""
    probs = np.asarray(probs, dtype=float)
    return GaussianSoftmaxJoint(np.zeros(2), np.eye(2), np.zeros((probs.size, 2)), np.log(probs))


pairs = [([0.2, 0.5, 0.3], [0.6, 0.1, 0.3]), ([0.98, 0.01, 0.01], [0.01, 0.01, 0.98]),
         ([0.5, 0.3, 0.2], [0.5, 0.3, 0.2])]
received = [my_js_categorical(a, b) for a, b in pairs]
expected = [js_joint(joint_with_classes(a), joint_with_classes(b)) for a, b in pairs]
check_close("2.1", received, expected, what="JS for three pairs (library: js_joint)", rtol=1e-9, atol=1e-12)

# %% tags=["check"]
from dggbook.book.exercises import check_close

# No common support: q̄ is half of each, so each KL is ln 2. Identical inputs: JS = 0. Swapped inputs: same JS.
# (The swapped pair is compared with your own function: a property test, on top of the library check above.)
check_close("2.1", [my_js_categorical([0.5, 0.5, 0.0], [0.0, 0.0, 1.0]), my_js_categorical([0.0, 1.0], [0.0, 1.0]),
                    my_js_categorical([0.6, 0.1, 0.3], [0.2, 0.5, 0.3])],
            [math.log(2), 0.0, my_js_categorical([0.2, 0.5, 0.3], [0.6, 0.1, 0.3])],
            what="JS with disjoint, identical and swapped inputs", rtol=1e-12, atol=1e-12)

# %% [markdown]
# ### Exercise 2.2 — $G$ and step (1) for categoricals
#
# Write `my_g_categorical(q_i, q_j, p_i)` for three positive probability vectors of length $K$: the two
# posteriors and the anchor's true posterior. Return
#
# $$G = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_i).$$
#
# Mind the direction of each KL: the $q$'s come first. The first check compares with the library's
# `g_bound`; the second checks step (1), $G - \mathrm{JS}(q_i, q_j) = \mathrm{KL}(\bar q \,\|\, p_i)$, for your $G$;
# the third checks that $G$ changes when the anchor changes, while JS would not.

# %%
def my_g_categorical(q_i, q_j, p_i):
    """G = ½ KL(q_i ‖ p_i) + ½ KL(q_j ‖ p_i) for positive probability vectors (DGG step (1))."""
    ### BEGIN SOLUTION
    anchor = np.asarray(p_i, dtype=float)
    kl_self = float(np.sum(np.asarray(q_i) * np.log(np.asarray(q_i) / anchor)))
    kl_neighbour = float(np.sum(np.asarray(q_j) * np.log(np.asarray(q_j) / anchor)))
    return 0.5 * kl_self + 0.5 * kl_neighbour
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close


def posterior_with_classes(probs):
    """p(z, c) = probs_c N(z; 0, I): a 'posterior' whose Gaussian is the same for every c."""
    probs = np.asarray(probs, dtype=float)
    return GaussianMixtureJoint(np.log(probs), np.zeros((probs.size, 2)), np.stack([np.eye(2)] * probs.size))


def joint_with_classes(probs):
    """q(z, c) = N(z; 0, I) · probs_c: a joint whose classifier ignores z."""
    probs = np.asarray(probs, dtype=float)
    return GaussianSoftmaxJoint(np.zeros(2), np.eye(2), np.zeros((probs.size, 2)), np.log(probs))


triples = [([0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]), ([0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.4, 0.4, 0.2])]
received = [my_g_categorical(a, b, c) for a, b, c in triples]
expected = [g_bound(joint_with_classes(a), joint_with_classes(b), posterior_with_classes(c)) for a, b, c in triples]
check_close("2.2", received, expected, what="G for two triples (library: g_bound)", rtol=1e-9, atol=1e-12)

# %% tags=["check"]
from dggbook.book.exercises import check_close

# The same construction as above: one Gaussian for every c, classifiers that ignore z.
qa = GaussianSoftmaxJoint(np.zeros(2), np.eye(2), np.zeros((3, 2)), np.log([0.2, 0.5, 0.3]))
qb = GaussianSoftmaxJoint(np.zeros(2), np.eye(2), np.zeros((3, 2)), np.log([0.6, 0.1, 0.3]))
pa = GaussianMixtureJoint(np.log([0.1, 0.1, 0.8]), np.zeros((3, 2)), np.stack([np.eye(2)] * 3))
check_close("2.2", my_g_categorical([0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]) - js_joint(qa, qb),
            kl_mixture(qa, qb, pa), what="G − JS against KL(q̄ ‖ p_i) (step (1))", rtol=1e-9, atol=1e-12)

# %% tags=["check"]
from dggbook.book.exercises import check_true

# Swap the anchor: the pair (q_i, q_j) is the same, the posterior it is measured against is not.
q_one, q_two, p_one, p_two = [0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8], [0.5, 0.3, 0.2]
g_one, g_two = my_g_categorical(q_one, q_two, p_one), my_g_categorical(q_two, q_one, p_two)
check_true("2.2", g_one is not None and abs(g_one - g_two) > 0.1,
           f"G with anchor posterior p_one and with p_two should differ; received {g_one!r} and {g_two!r}.")

# %% [markdown]
# ### Exercise 2.3 — The cross ELBO and identity (2.1)
#
# Write `my_cross_elbo(q, model, x)` that returns
#
# $$L = \mathbb E_{q(z, c)}\big[\ln p(x, z, c) - \ln q(z, c)\big]$$
#
# for a joint `q` (a `GaussianSoftmaxJoint`), the tractable `model` and a data point `x`. With `q = q_j`
# and `x = x_i` it is the cross ELBO $L(x_i, x_j)$. Use two tools:
#
# - `model.log_joint(x, z)` returns $\ln p(x, z, c)$ as an array (P, K) for P points `z` (P, M);
# - `q.expect(f)` returns $\sum_c \mathbb E_{q(z)}\big[q(c \mid z)\, f(z)_{[:, c]}\big]$ for a function `f` that
#   maps `z` (P, M) to an array (P, K), by Gauss–Hermite quadrature. `q.log_prob(z)` gives $\ln q(z, c)$, (P, K).
#
# Do not use `elbo_joint`. The checks compare with it, and then test identity (2.1),
# $L(x_i, x_j) + \mathrm{KL}(q_j \,\|\, p_i) = \ln p(x_i)$, for every $q$ of step (2.1) and for both data points.

# %%
def my_cross_elbo(q, model, x):
    """E_q[ln p(x, z, c) − ln q(z, c)] by quadrature: L(x_i) for q = q_i, the cross ELBO L(x_i, x_j) for q = q_j."""
    ### BEGIN SOLUTION
    def integrand(z_nodes):
        return model.log_joint(x, z_nodes) - q.log_prob(z_nodes)

    return q.expect(integrand)
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close

check_close("2.3", [my_cross_elbo(q_i, model, x_i), my_cross_elbo(q_j, model, x_i)], [L_self, L_cross],
            what="[L(x_i), L(x_i, x_j)] (library: elbo_joint)", rtol=1e-10, atol=1e-10)

# %% tags=["check"]
from dggbook.book.exercises import check_close

# (2.1): for every q and both data points, ELBO + KL(q ‖ posterior) = ln p(x).
received, expected = [], []
for x_test in (x_i, x_j):
    posterior_test = model.posterior(x_test)
    for q_test in candidates.values():
        received.append(my_cross_elbo(q_test, model, x_test) + kl_joint(q_test, posterior_test))
        expected.append(model.log_evidence(x_test))
check_close("2.3", received, expected, what=f"L + KL for {len(received)} (q, x) pairs against ln p(x)",
            rtol=0.0, atol=1e-9)
