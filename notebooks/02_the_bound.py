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

# %% [markdown]
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

# %% [markdown] tags=["answer"]
# **Answers to the questions.**
#
# 1. The gap $\mathrm{KL}(\bar q \,\|\, p_i)$ is zero exactly when the mixture $\bar q = \tfrac12(q_i + q_j)$ equals the true
#    posterior $p_i$. If the pair also appears in row $j$, its gap there is $\mathrm{KL}(\bar q \,\|\, p_j)$, so both vanish
#    only when $p_i = p_j = \bar q$: the two samples must have the same true posterior, and the mixture of their two
#    approximations must reproduce it. A trained model cannot reach that in general. Each $q$ is one Gaussian in $z$
#    times a classifier, while $p_i$ has a different Gaussian in $z$ for each cluster, so even $q_i = q_j$ only comes
#    close: path (b) above ends at $\mathrm{KL}(q^\star \,\|\, p_i)$, small but positive. Path (a) shows the second
#    obstacle: while the neighbour's $q_j$ stays far from $p_i$, the gap stays large (more than ten nats here), however
#    well $q_i$ fits. Training narrows the gap from both sides, because the decoder and the mixture are trained as
#    well and move $p_i$ towards what $q$ can represent. A small gap is reachable for neighbours with near-identical
#    posteriors; an exact zero is not.
#
# 2. Summing step (1) over the graph gives $\sum_{i,j} w_{ij}\, G(x_i, x_j) = \sum_{i,j} w_{ij}\, \mathrm{JS}(q_i, q_j) +
#    \sum_{i,j} w_{ij}\, \mathrm{KL}(\bar q_{ij} \,\|\, p_i)$, with $\bar q_{ij} = \tfrac12(q_i + q_j)$. The first sum
#    is what (O) subtracts. The second is the total slack, and an edge that appears in both rows contributes
#    $w_{ij}\, \mathrm{KL}(\bar q_{ij} \,\|\, p_i) + w_{ji}\, \mathrm{KL}(\bar q_{ij} \,\|\, p_j)$: two non-negative terms
#    that do not cancel. So the asymmetry does not break the bound, since every ordered pair bounds its own JS term from
#    its own side, but it does not average away either. It also decides where the gradients pull. Since
#    $L(x_i, x_j) = \ln p(x_i) - \mathrm{KL}(q_j \,\|\, p_i)$, the cross ELBO pulls $q_j$ towards the anchor's posterior
#    $p_i$, so in the sum each posterior is pulled towards its own true posterior and towards those of the samples that
#    list it as a neighbour. A nearest-neighbour graph with normalised rows is usually not symmetric: $j$ may be a
#    neighbour of $i$ while $i$ is not one of $j$'s, and then the pair is bounded from one side only. For the pair of
#    this notebook, $G$ is about 28 nats from one side and about 7 from the other, around a JS of about a third of a nat.
#
# 3. With every row summing to 2, the left-over term of step (3) is $\sum_i (1 - 2) \ln p(x_i) = -\sum_i \ln p(x_i)$. The
#    right side of (3), which Algorithm 1 maximises, then equals $\sum_i \big[2 \ln p(x_i) - \sum_j w_{ij}\, G_{ij}\big]
#    = 2 \sum_i \big[\ln p(x_i) - \sum_j \tfrac12 w_{ij}\, G_{ij}\big]$. That is twice the bound for the halved weights
#    $\tfrac12 w_{ij}$, not a bound for the stated $w$. The objective therefore rewards each sample's likelihood twice as
#    much, against the graph penalty, as the weights say: fitting a sample on its own is worth more than agreeing with
#    its neighbours. A trained model takes that trade: it spends its capacity on the fit of each sample and lets
#    neighbouring posteriors disagree more than the graph asks. The number it reports also differs from the intended
#    bound by $\sum_i \ln p(x_i)$, a term that changes as the model trains. When the row sums $s_i = \sum_j w_{ij}$ differ
#    between samples, as in the public code's Gaussian-weight branch (notebook 06), the objective weights each
#    $\ln p(x_i)$ by $s_i$: samples in dense neighbourhoods count several times over, and the model is rewarded for
#    fitting them at the cost of isolated ones.
#
# 4. Identity (2.1) holds for any distribution $q_j$ over $(z, c)$: at every point
#    $\ln p(x_i) = \ln p(x_i, z, c) - \ln p_i(z, c)$, so the average under $q_j$ is still $\ln p(x_i)$, and it splits into
#    $\mathrm{KL}(q_j \,\|\, p_i) + L(x_i, x_j)$. The KL is never negative, so $L(x_i, x_j) \le \ln p(x_i)$, whatever
#    $q_j$ is. Nothing in the derivation asks $q_j$ to have anything to do with $x_i$: a poor fit only makes the KL large
#    and the bound loose, by about 36 nats for this notebook's $q_j$. Two things are needed all the same: $q_j$ must be a
#    normalised distribution, and the joint $p(x_i, z, c)$ must use the anchor's prior $\pi_i$ (notebook 03), or the bound
#    is on the evidence of another model. When the cross ELBO is estimated by Monte Carlo, as in training, the inequality
#    holds for its expectation, not for every draw.

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
#
# | objective | exercises |
# |---|---|
# | step (1): $G = \mathrm{JS} + \mathrm{KL}(\bar q \,\|\, p_i) \ge \mathrm{JS}$ | 2.2 |
# | the cross-ELBO identity (2.1) and $L(x_i, x_j)$ | 2.3 |
# | (2.3), the anchor $p_i$ and the asymmetry of $G$ | 2.2 |
# | step (3) and normalised rows | none (the section on step (3), and question 3 above) |
# | KL, JS and $G$ for categoricals | 2.1 |

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell in which you write a function `my_...` and, below it, one or more check cells
# that call your function and compare its answer with an independent computation (quadrature, Monte Carlo)
# or with the library. While a check runs your function, the library functions that would do the exercise
# for you are blocked: calling one raises `LibraryCalled`. A passing check prints one line; a failing one
# raises an `AssertionError` that says what it expected and what it received. The header of each exercise
# gives its kind, a time to plan for and its difficulty (★ to ★★★); marks are weighted by the stars.
# `make course` writes student copies of the notebooks in which every solution block is replaced by a stub
# that raises `NotImplementedError`.
#
# Exercise 2.1 works with categorical distributions over the $K$ clusters. They are the $c$-part of
# $q(z, c)$: when two joints share the same Gaussian in $z$ and their classifiers ignore $z$, KL, JS and $G$
# between the joints equal those between their categorical parts. The check uses exactly that to compare
# your answer with `dggbook.derivation.joint`. Exercise 2.2 does the opposite: one cluster, and all the
# work in $z$.

# %% [markdown]
# ### Exercise 2.1 — JS between two categoricals (implementation, 10 min, ★)
#
# Write `my_js_categorical(p, q)` for two probability vectors of length $K$. Return
#
# $$\mathrm{JS}(p, q) = \tfrac12\,\mathrm{KL}(p \,\|\, \bar q) + \tfrac12\,\mathrm{KL}(q \,\|\, \bar q),\qquad
# \bar q = \tfrac12(p + q),\qquad \mathrm{KL}(u \,\|\, v) = \sum_k u_k \ln\frac{u_k}{v_k}.$$
#
# Hints: a term with $u_k = 0$ contributes 0 (the limit of $u \ln u$), so skip those entries rather than
# take $\ln 0$. Wherever $u_k > 0$, $\bar q_k > 0$ as well. JS is symmetric and never exceeds $\ln 2$; the
# second check uses two vectors with no common support, where it equals $\ln 2$. Use NumPy only: SciPy's
# `jensenshannon`, `entropy`, `rel_entr` and `kl_div` are blocked in the checks.

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
from dggbook.book.exercises import check_close, library_blocked


def joint_with_classes(probs):
    """q(z, c) = N(z; 0, I) · probs_c: a joint whose classifier ignores z."""
    probs = np.asarray(probs, dtype=float)
    return GaussianSoftmaxJoint(np.zeros(2), np.eye(2), np.zeros((probs.size, 2)), np.log(probs))


pairs = [([0.2, 0.5, 0.3], [0.6, 0.1, 0.3]), ([0.98, 0.01, 0.01], [0.01, 0.01, 0.98]),
         ([0.5, 0.3, 0.2], [0.5, 0.3, 0.2])]
expected = [js_joint(joint_with_classes(a), joint_with_classes(b)) for a, b in pairs]
with library_blocked("2.1", "dggbook.derivation.joint.js_joint", "dggbook.derivation.joint.kl_joint",
                     "scipy.spatial.distance.jensenshannon", "scipy.stats.entropy", "scipy.special.rel_entr",
                     "scipy.special.kl_div"):
    received = [my_js_categorical(a, b) for a, b in pairs]
check_close("2.1", received, expected, what="JS for three pairs (library: js_joint)", rtol=1e-9, atol=1e-12)

# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

# No common support: q̄ is half of each, so each KL is ln 2. Identical inputs: JS = 0. Swapped inputs: same JS.
with library_blocked("2.1", "dggbook.derivation.joint.js_joint", "scipy.spatial.distance.jensenshannon",
                     "scipy.stats.entropy", "scipy.special.rel_entr", "scipy.special.kl_div"):
    received = [my_js_categorical([0.5, 0.5, 0.0], [0.0, 0.0, 1.0]), my_js_categorical([0.0, 1.0], [0.0, 1.0]),
                my_js_categorical([0.6, 0.1, 0.3], [0.2, 0.5, 0.3])]
    swapped = my_js_categorical([0.2, 0.5, 0.3], [0.6, 0.1, 0.3])
check_close("2.1", received, [math.log(2), 0.0, swapped], what="JS with disjoint, identical and swapped inputs",
            rtol=1e-12, atol=1e-12)

# %% [markdown]
# ### Exercise 2.2 — $G$ between Gaussians, in closed form (derivation, 15 min, ★★)
#
# The text computed every KL by quadrature. When $q_i$, $q_j$ and the anchor's posterior $p_i$ are single
# Gaussians in $z$ (one cluster, full covariances), $G = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_i)$
# has a closed form. Derive on paper, for $M$-dimensional Gaussians,
#
# $$\mathrm{KL}\big(\mathcal N(m_0, S_0) \,\|\, \mathcal N(m_1, S_1)\big) = \ ?$$
#
# Then write `my_g_gaussians(mean_i, cov_i, mean_j, cov_j, mean_p, cov_p)` returning $G$ as a float. Shapes:
# means $(M,)$, covariances $(M, M)$.
#
# Hints: write $\ln \mathcal N(z; m, S) = -\tfrac12[M \ln 2\pi + \ln\det S + (z - m)^\top S^{-1}(z - m)]$ and take
# expectations under $\mathcal N(m_0, S_0)$ with $\mathbb E[(z - m)^\top A (z - m)] = \operatorname{tr}(A S_0) + (m_0 - m)^\top A (m_0 - m)$,
# which you should prove too (write $z - m = (z - m_0) + (m_0 - m)$). The checks compare with quadrature
# in $M = 2$ and $M = 3$, and with `scipy.integrate.quad` in $M = 1$; the library's KL, JS, $G$ and
# quadrature functions, and torch's `kl_divergence`, are blocked.
#
# Then ask yourself: for fixed $q_i$ and $q_j$, which distribution $p_i$ makes $G$ smallest, and can a
# Gaussian $p_i$ make $G$ equal to $\mathrm{JS}(q_i, q_j)$?

# %%
def my_g_gaussians(mean_i, cov_i, mean_j, cov_j, mean_p, cov_p):
    """G = ½ KL(N_i ‖ N_p) + ½ KL(N_j ‖ N_p) for Gaussians with full covariances (DGG step (1))."""
    ### BEGIN SOLUTION
    def kl_gauss(m0, s0, m1, s1):
        m0, s0, m1, s1 = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (m0, s0, m1, s1))
        s0, s1 = np.atleast_2d(s0), np.atleast_2d(s1)
        gap = m1 - m0
        trace_term = np.trace(np.linalg.solve(s1, s0))
        mahalanobis = gap @ np.linalg.solve(s1, gap)
        log_det_ratio = np.linalg.slogdet(s1)[1] - np.linalg.slogdet(s0)[1]
        return 0.5 * (trace_term + mahalanobis - gap.size + log_det_ratio)

    return float(0.5 * kl_gauss(mean_i, cov_i, mean_p, cov_p) + 0.5 * kl_gauss(mean_j, cov_j, mean_p, cov_p))
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked


def random_gaussian(rng_g, dim):
    """A mean and a well-conditioned full covariance in `dim` dimensions."""
    factor = rng_g.normal(size=(dim, dim))
    return rng_g.normal(size=dim), factor @ factor.T / dim + 0.3 * np.eye(dim)


def one_cluster(mean, cov):
    """The joint q(z, c) = N(z; mean, cov) with a single cluster."""
    return GaussianSoftmaxJoint(mean, cov, np.zeros((1, mean.size)), [0.0])


rng_g = np.random.default_rng(22)
triples = [[random_gaussian(rng_g, dim) for _ in range(3)] for dim in (2, 2, 3)]
expected = [g_bound(one_cluster(*gi), one_cluster(*gj), GaussianMixtureJoint([0.0], gp[0][None], gp[1][None]))
            for gi, gj, gp in triples]  # quadrature over z
with library_blocked("2.2", "dggbook.derivation.joint.g_bound", "dggbook.derivation.joint.kl_joint",
                     "dggbook.derivation.joint.js_joint", "dggbook.derivation.joint.kl_mixture",
                     "dggbook.derivation.joint.GaussianSoftmaxJoint.expect",
                     "dggbook.derivation.joint.GaussianMixtureJoint.expect",
                     "dggbook.derivation.quadrature.gaussian_expectation", "dggbook.derivation.gaussian.kl_normal_diag",
                     "torch.distributions.kl.kl_divergence"):
    received = [my_g_gaussians(*gi, *gj, *gp) for gi, gj, gp in triples]
check_close("2.2", received, expected, what="G for three Gaussian triples, M = 2, 2, 3 (vs quadrature)",
            rtol=1e-9, atol=1e-10)

# %% tags=["check"]
from scipy.integrate import quad
from scipy.stats import norm

from dggbook.book.exercises import check_close, library_blocked

# M = 1, by adaptive integration of q ln(q / p) on the real line.
(m_i, v_i), (m_j, v_j), (m_p, v_p) = (0.3, 0.5), (-1.2, 2.0), (0.8, 1.3)
kl_1d = [quad(lambda t, m=m, v=v: norm.pdf(t, m, math.sqrt(v)) * (norm.logpdf(t, m, math.sqrt(v))
                                                                 - norm.logpdf(t, m_p, math.sqrt(v_p))),
              -40, 40, epsabs=1e-13, epsrel=1e-13, limit=200)[0] for m, v in ((m_i, v_i), (m_j, v_j))]
with library_blocked("2.2", "dggbook.derivation.joint.g_bound", "dggbook.derivation.joint.kl_joint",
                     "dggbook.derivation.gaussian.kl_normal_diag", "torch.distributions.kl.kl_divergence"):
    received = my_g_gaussians(np.array([m_i]), np.array([[v_i]]), np.array([m_j]), np.array([[v_j]]),
                              np.array([m_p]), np.array([[v_p]]))
check_close("2.2", received, 0.5 * sum(kl_1d), what="G in one dimension (vs scipy.integrate.quad)",
            rtol=1e-9, atol=1e-10)

# %% [markdown] tags=["answer"]
# **Answer.** $\mathrm{KL}(\mathcal N(m_0, S_0) \,\|\, \mathcal N(m_1, S_1)) = \tfrac12\big[\operatorname{tr}(S_1^{-1} S_0)
# + (m_1 - m_0)^\top S_1^{-1} (m_1 - m_0) - M + \ln\det S_1 - \ln\det S_0\big]$: the $\ln 2\pi$ cancel, the
# quadratic form under $\mathcal N(m_0, S_0)$ gives the trace and the squared distance, and
# $\mathbb E[(z - m_0)^\top S_0^{-1}(z - m_0)] = M$. By step (1), $G = \mathrm{JS}(q_i, q_j) + \mathrm{KL}(\bar q \,\|\, p_i)$,
# so $G$ is smallest, and equal to JS, exactly when $p_i = \bar q = \tfrac12(q_i + q_j)$. That is a mixture of
# two Gaussians, which no Gaussian equals unless $q_i = q_j$. So with distinct Gaussian posteriors the bound
# always leaves a gap, however $p_i$ is chosen; the gap is what the anchor's posterior cannot share with
# both $q$'s at once.

# %% [markdown]
# ### Exercise 2.3 — $\ln p(x_i)$ from a neighbour's posterior (implementation, 15 min, ★★)
#
# Identity (2.1) says that the cross ELBO misses $\ln p(x_i)$ by $\mathrm{KL}(q_j \,\|\, p_i)$, here 36 nats. The same
# $q_j$ can still estimate $\ln p(x_i)$ itself, by importance sampling. First show on paper that for
# $q(z, c) = q(z)\,q(c \mid z)$,
#
# $$p(x_i) = \mathbb E_{q(z, c)}\Big[\frac{p(x_i, z, c)}{q(z, c)}\Big] = \mathbb E_{q(z)}\Big[\frac{\sum_c p(x_i, z, c)}{q(z)}\Big]:$$
#
# the classifier $q(c \mid z)$ cancels. Then write `my_log_evidence_is(q, log_joint, n_draws, seed)` that draws
# $z_1, \dots, z_n$ from $q(z)$ (as in exercise 1.3: `q.mean`, `q.cov`, a Cholesky factor,
# `np.random.default_rng(seed)`) and returns $\ln \tfrac1n \sum_s \sum_c p(x_i, z_s, c)/q(z_s)$, computed in logs.
# `log_joint(z)` gives $\ln p(x_i, z, c)$, (P, K); $\ln q(z)$ is `log_mvn(z, q.mean, q.cov)` from
# `dggbook.derivation.quadrature`, or `q.log_prob(z) - q.classifier_log_probs(z)` for any column.
#
# Hints: the weights are around $e^{-40}$ for a poor $q$; use the log-sum-exp trick of exercise 1.1 twice
# (over $c$, then over the draws). The model's exact `log_evidence`, `log_evidence_per_cluster` and
# `posterior`, and the quadrature functions, are blocked in the checks, which use 200,000 draws.
#
# Then ask yourself: why is your estimate above the cross ELBO for *every* set of draws, not only on
# average, and which way is it biased as an estimate of $\ln p(x_i)$?

# %%
def my_log_evidence_is(q, log_joint, n_draws, seed):
    """ln of the importance-sampling estimate (1/n) Σ_s Σ_c p(x, z_s, c) / q(z_s), with z_s ~ q(z)."""
    ### BEGIN SOLUTION
    from dggbook.derivation.quadrature import log_mvn

    rng_is = np.random.default_rng(seed)
    z_is = q.mean + rng_is.standard_normal((n_draws, q.mean.size)) @ np.linalg.cholesky(q.cov).T
    joint = log_joint(z_is)                                        # (n, K)
    top_c = joint.max(axis=1, keepdims=True)
    log_sum_c = top_c[:, 0] + np.log(np.exp(joint - top_c).sum(axis=1))   # ln Σ_c p(x, z_s, c)
    log_weights = log_sum_c - log_mvn(z_is, q.mean, q.cov)
    top = log_weights.max()
    return float(top + np.log(np.mean(np.exp(log_weights - top))))
    ### END SOLUTION


# %% tags=["check"]
from dggbook.book.exercises import check_close, library_blocked

# With the proposal q* of step (1) (KL(q*‖p_i) < 0.01) the estimate is almost exact.
EVIDENCE_FUNCTIONS = (  # what computes ln p(x_i) or an ELBO for you: blocked while your estimator runs
    "dggbook.derivation.tractable.LinearGaussianMixture.log_evidence",
    "dggbook.derivation.tractable.LinearGaussianMixture.log_evidence_per_cluster",
    "dggbook.derivation.tractable.LinearGaussianMixture.posterior",
    "dggbook.derivation.joint.elbo_joint", "dggbook.derivation.joint.kl_joint",
    "dggbook.derivation.joint.GaussianSoftmaxJoint.expect",
    "dggbook.derivation.quadrature.gaussian_expectation",
)
with library_blocked("2.3", *EVIDENCE_FUNCTIONS):
    received = my_log_evidence_is(candidates["q*"], log_joint_i, 200_000, seed=5)
check_close("2.3", received, log_px, what="ln p(x_i) from q* (vs the exact value)", rtol=0.0, atol=0.005)

# %% tags=["check"]
from dggbook.book.exercises import check_close, check_true, library_blocked

# With q_i and q_j, whose ELBOs miss ln p(x_i) by 20 and 36 nats, the estimate still lands within a nat.
with library_blocked("2.3", *EVIDENCE_FUNCTIONS):
    received = [my_log_evidence_is(q_test, log_joint_i, 200_000, seed=5) for q_test in (q_i, q_j)]
check_true("2.3", all(r is not None for r in received) and received[0] > L_self + 10 and received[1] > L_cross + 10,
           f"the estimates from q_i and q_j should lie far above their ELBOs {L_self:.2f} and {L_cross:.2f}; "
           f"received {received!r}.")
check_close("2.3", received, [log_px, log_px], what="ln p(x_i) from q_i and from q_j (vs the exact value)",
            rtol=0.0, atol=1.0)

# %% [markdown] tags=["answer"]
# **Answer.** For any draws, $\ln \tfrac1n \sum_s w_s \ge \tfrac1n \sum_s \ln w_s$ (Jensen: $\ln$ is concave), and
# $\ln w_s = \ln \sum_c p(x_i, z_s, c) - \ln q(z_s) \ge \sum_c q(c \mid z_s)\,[\ln p(x_i, z_s, c) - \ln q(z_s, c)]$
# (Jensen again, over $c$). The right-hand side, averaged over the draws, is the Monte Carlo cross ELBO of
# exercise 1.3. So the estimate lies above it draw by draw. As an estimate of $\ln p(x_i)$ it is biased
# *downwards*: its expectation is at most $\ln \mathbb E[\tfrac1n\sum_s w_s] = \ln p(x_i)$, and the bias shrinks
# as $n$ grows (this is the importance-weighted bound of Burda, Grosse and Salakhutdinov, ICLR 2016). With
# $n = 1$ its expectation is $\mathbb E_{q(z)}[\ln p(x_i, z) - \ln q(z)]$, the bound of $q(z)$ alone, which is
# already at or above the cross ELBO.
