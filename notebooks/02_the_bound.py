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
# both sides on the tractable model of reference notes §8 and asserts that they
# agree. Throughout, $p_i = p(z, c \mid x_i)$ is the **exact** posterior, a Gaussian
# mixture over $(z, c)$. The $q$'s are Gaussians in $z$ times a softmax classifier
# in $c$, the shape of DGG's inference model. Every expectation is a sum over $c$
# and a Gauss–Hermite quadrature over $z$ (`dggbook.derivation.joint`).

# %%
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from dggbook.book import savefig
from dggbook.derivation.checks import step3_sides, tractable_setup
from dggbook.derivation.joint import GaussianSoftmaxJoint, elbo_joint, g_bound, js_joint, kl_joint, kl_mixture

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
print(f"ln p(x_i) = {log_px:.6f}   Bayes-rule error {bayes_err:.1e}   |ΔG| {dg:.1e}   |ΔJS| {djs:.1e}  (40 vs 120 nodes)")
assert bayes_err < 1e-10 and dg < 1e-8 and djs < 1e-6

# %% [markdown]
# ## Step (1): G is JS plus a KL
#
# Let $m = \tfrac12(q_i + q_j)$ and define
# $G(x_i, x_j) = \tfrac12\,\mathrm{KL}(q_i \,\|\, p_i) + \tfrac12\,\mathrm{KL}(q_j \,\|\, p_i)$.
# Inside each KL, write $\ln\frac{q}{p_i} = \ln\frac{q}{m} + \ln\frac{m}{p_i}$:
#
# $$G = \underbrace{\tfrac12\,\mathbb E_{q_i}\!\Big[\ln\tfrac{q_i}{m}\Big] + \tfrac12\,\mathbb E_{q_j}\!\Big[\ln\tfrac{q_j}{m}\Big]}_{\mathrm{JS}(q_i,\,q_j)}
# \;+\; \underbrace{\mathbb E_{\frac12(q_i + q_j)}\!\Big[\ln\tfrac{m}{p_i}\Big]}_{\mathrm{KL}(m\,\|\,p_i)}
# = \mathrm{JS}(q_i, q_j) + \mathrm{KL}(m \,\|\, p_i) \ \ge\ \mathrm{JS}(q_i, q_j). \tag{1}$$
#
# (Expectations over $(z, c)$: a sum over $c$ and an integral over $z$.) The last
# expectation runs under $\tfrac12(q_i + q_j) = m$, so it is a KL divergence and
# cannot be negative. Since $w_{ij} \ge 0$, replacing every JS in (O) by $G$ can only
# lower the objective: we get a lower bound.

# %%
G = g_bound(q_i, q_j, p_i)
JS = js_joint(q_i, q_j)
KLm = kl_mixture(q_i, q_j, p_i)
print(f"G = {G:.10f}\nJS + KL(m‖p_i) = {JS + KLm:.10f}   (JS = {JS:.6f}, KL(m‖p_i) = {KLm:.6f})")
print(f"|G − JS − KL(m‖p_i)| = {abs(G - JS - KLm):.1e}")
assert abs(G - (JS + KLm)) < 1e-10
assert G - JS >= 0.0

# %% [markdown]
# ### The gap as $q$ approaches the posterior
#
# The bound is tight only when $m$ equals the true posterior $p_i$. To watch the gap
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
# At every point we assert $G - \mathrm{JS} \ge 0$ and $G - \mathrm{JS} = \mathrm{KL}(m \,\|\, p_i)$
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
    paths[label] = np.array(rows)  # columns: G, JS, KL(m‖p_i)
for label, r in paths.items():
    gap = r[:, 0] - r[:, 1]
    print(f"{label}: min gap {gap.min():.4g}, max |gap − KL(m‖p_i)| {np.abs(gap - r[:, 2]).max():.1e}")
    assert gap.min() >= 0.0
    assert np.abs(gap - r[:, 2]).max() < 1e-9
kl_star = kl_joint(towards_target(q_i, 1.0), p_i)
print(f"at t = 1 in (b): JS = {paths['(b) q_i and q_j move'][-1, 1]:.1e}, G = KL(q*‖p_i) = {kl_star:.6f}")
assert abs(paths["(b) q_i and q_j move"][-1, 0] - kl_star) < 1e-10  # q_i = q_j = q*: G is KL(q*‖p_i)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (label, r) in zip(axes, paths.items()):
    ax.plot(ts, r[:, 0], "k-", lw=2, label="G")
    ax.plot(ts, r[:, 1], "tab:blue", lw=2, label="JS(q_i, q_j)")
    ax.plot(ts, r[:, 0] - r[:, 1], "tab:orange", lw=4, alpha=0.5, label="G − JS")
    ax.plot(ts, r[:, 2], "k:", lw=1.5, label="KL(m ‖ p_i)")
    ax.set(yscale="log", xlabel="t  (0: random q, 1: q*)", ylabel="nats", title=label)
axes[1].set_ylim(bottom=1e-3)  # JS falls to 0 at t = 1, off the log axis
axes[0].legend()
fig.suptitle("step (1): the gap G − JS is KL(m ‖ p_i), never negative")
fig.tight_layout()
print("saved", savefig(fig, "bound_gap_interpolation").name)
plt.show()

# %% [markdown]
# In (a), $G$ falls by about a third, yet the gap stays large: $q_j$ is still far
# from $p_i$, so $m$ is too. JS grows, because $q_i$ moves away from $q_j$. In (b)
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
