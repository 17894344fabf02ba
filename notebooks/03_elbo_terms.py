# %%
from dggbook.book import setup_book; settings = setup_book(seed=0)

# %% [markdown]
# # 03 — The ELBO terms in closed form: (4), (5) and the paper's (21)
#
# Step (3) of notebook 02 left DGG with $\tfrac12 \sum_{ij} w_{ij}[L(x_i) + L(x_i, x_j)]$.
# To train on it, each ELBO is written as four terms with closed forms. This notebook
# checks every term three ways, on the tractable model of reference notes §8:
#
# * against **exact quadrature** (Gauss–Hermite under $q(z \mid x)$, plus an exact sum over $c$);
# * against **Monte Carlo** with its standard error, requiring agreement within 5 SE;
# * against the **printed** versions. The paper's (21) has a coefficient 1 where ½
#   belongs, the blog drops or keeps $\ln 2\pi$ constants, and the blog gives the
#   Gaussian likelihood a $+$ sign.
#
# The library code is `dggbook.derivation.elbo` and `dggbook.derivation.gaussian`. The training loop in
# `dggbook.model.algorithm1` calls the same `elbo_terms`.

# %%
import dataclasses
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.integrate import quad

from dggbook.book import savefig
from dggbook.derivation.checks import closed_form_elbo, tractable_setup
from dggbook.derivation.elbo import (
    CORRECT_COEFFICIENT, constant_shift, elbo_terms, gaussian_log_likelihood,
)
from dggbook.derivation.gaussian import entropy_normal_diag, expected_log_gaussian, log_normal_diag
from dggbook.derivation.joint import GaussianSoftmaxJoint, elbo_joint
from dggbook.model.networks import reparameterize
from dggbook.derivation.quadrature import gaussian_expectation
from dggbook.derivation.reproductions import PRINTED_COEFFICIENT

matplotlib.rcParams["figure.dpi"] = 72
torch.set_default_dtype(torch.float64)

N_MC = 20_000 if settings.quick else 400_000  # draws z ~ q(z|x) for every Monte Carlo check
print(f"{N_MC=}")

# %% [markdown]
# ## The ELBO and its four terms
#
# With $q(z, c \mid x_i) = q(z \mid x_i)\,q(c \mid z)$ and $p(x, z, c) = p(x \mid z)\,p(z \mid c)\,p(c)$:
#
# $$L(x_i) = \underbrace{\mathbb E_q[\ln p(x_i \mid z)]}_{T_1}
# + \underbrace{\mathbb E_q[\ln p(z \mid c)]}_{T_2}
# + \underbrace{\mathbb E_q\Big[\ln\frac{p(c)}{q(c \mid z)}\Big]}_{T_3}
# \underbrace{- \,\mathbb E_q[\ln q(z \mid x_i)]}_{T_4}.$$
#
# DGG evaluates $q(c \mid z)$ once, at the sampled $z_i$, giving $\gamma_i$. This is a
# mean-field step: afterwards $c$ and $z$ are independent under $q$. Then
#
# $$\begin{aligned}
# T_1 &\approx \ln p(x_i \mid z_i) && \text{one sample } z_i = \tilde\mu_i + \tilde\sigma_i \odot \varepsilon,\\
# T_2 &= -\tfrac12 \sum_k \gamma_{ik} \sum_m \Big[\ln 2\pi + \ln\sigma^2_{km} + \frac{\tilde\sigma^2_{im}}{\sigma^2_{km}} + \frac{(\tilde\mu_{im} - \mu_{km})^2}{\sigma^2_{km}}\Big], \\
# T_3 &= \sum_k \gamma_{ik} \ln\frac{\pi_{ik}}{\gamma_{ik}}, \\
# T_4 &= \tfrac12 \sum_m \big(\ln 2\pi + \ln\tilde\sigma^2_{im} + 1\big).
# \end{aligned} \tag{4}$$
#
# On the tractable model $T_1$ is also available exactly:
# $\mathbb E[\ln \mathcal N(x; Wz + b, \lambda I)]$ has a closed form
# (`LinearGaussianMixture.expected_log_likelihood`). `closed_form_elbo` uses it, so the
# sum (4) is the exact ELBO of the mean-field $q$, with no sampling anywhere.
#
# The set-up: the model and the two points of `tractable_setup`, and a mean-field
# posterior $(\tilde\mu, \tilde\sigma^2, \gamma)$ for each point, drawn at random.

# %%
model, x_i, x_j, _, _ = tractable_setup(seed=0)
rng = np.random.default_rng(settings.seed + 5)
post_i, post_j = [(rng.normal(size=2), rng.uniform(0.2, 1.0, 2), rng.dirichlet(np.ones(3))) for _ in range(2)]
M = model.latent_dim
gmm_means = torch.as_tensor(model.means)
gmm_logvars = torch.log(torch.as_tensor(np.stack([np.diag(c) for c in model.covs])))
for name, (m_, v_, g_) in (("q(.|x_i)", post_i), ("q(.|x_j)", post_j)):
    print(f"{name}: mu~ {np.round(m_, 3)}  sigma~² {np.round(v_, 3)}  gamma {np.round(g_, 3)}")

# %% [markdown]
# ## Check 1: the closed forms against exact quadrature
#
# `elbo_joint` computes $\mathbb E_q[\ln p(x_i, z, c) - \ln q(z, c)]$ directly, by
# quadrature over $z$ and a sum over $c$, for the mean-field
# $q(z, c) = \mathcal N(z; \tilde\mu, \operatorname{diag}\tilde\sigma^2)\,\gamma_c$. Term 2
# is also checked alone, and so is its building block `expected_log_gaussian`,
# $\mathbb E_q[\ln \mathcal N(z; \mu_k, \sigma_k^2)]$ for each $k$ separately. These integrands
# are quadratics in $z$, so a 4-point rule is already exact. Tolerances: $10^{-10}$ for
# the ELBO, $10^{-12}$ for term 2 and for each $k$.

# %%
mu_i, var_i, gamma_i = post_i
terms = closed_form_elbo(model, x_i, post_i)
q_mf_i = GaussianSoftmaxJoint.mean_field(mu_i, var_i, gamma_i)
L_quad = elbo_joint(q_mf_i, lambda z: model.log_joint(x_i, z))
t2_quad = gaussian_expectation(
    lambda z: (log_normal_diag(torch.as_tensor(z)[:, None], gmm_means, gmm_logvars).numpy() * gamma_i).sum(1),
    mu_i, np.diag(var_i), 4)
per_k_closed = expected_log_gaussian(torch.as_tensor(mu_i[None]), torch.as_tensor(np.log(var_i)[None]),
                                     gmm_means, gmm_logvars)[0].numpy()
per_k_quad = gaussian_expectation(lambda z: log_normal_diag(torch.as_tensor(z)[:, None], gmm_means, gmm_logvars).numpy(),
                                  mu_i, np.diag(var_i), 4)
for name, value in terms._asdict().items():
    print(f"{name:15s} {float(value[0]):10.6f}")
print(f"{'total':15s} {float(terms.total[0]):10.6f}   quadrature {L_quad:.6f}")
print("E_q[ln N(z; mu_k, sigma_k²)]:", np.round(per_k_closed, 6), f"  max |closed − quadrature| {np.abs(per_k_closed - per_k_quad).max():.1e}")
assert abs(float(terms.total[0]) - L_quad) < 1e-10
assert abs(float(terms.prior_z[0]) - t2_quad) < 1e-12
assert np.abs(per_k_closed - per_k_quad).max() < 1e-12

# %% [markdown]
# ## Check 2: the closed forms against Monte Carlo
#
# We draw $z_s = \tilde\mu + \tilde\sigma \odot \varepsilon_s$ by the reparameterisation
# (23) and average each term's integrand. $T_3$ does not depend on $z$ once $\gamma$ is
# fixed, so it has no Monte Carlo error and is left out. A one-sample $T_1$, as DGG
# uses it, is an unbiased estimate of the exact $T_1$: the average of many of them
# must land within 5 SE.

# %%
def monte_carlo(values):
    """Mean and standard error of a 1-D array of i.i.d. draws."""
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


torch.manual_seed(settings.seed)
z_i = reparameterize(torch.as_tensor(mu_i).expand(N_MC, -1), torch.as_tensor(np.log(var_i)).expand(N_MC, -1))
log_p_zc = log_normal_diag(z_i[:, None], gmm_means, gmm_logvars)  # (S, K): ln p(z_s | c = k)
integrands = {
    "reconstruction": torch.as_tensor(model.log_likelihood(x_i, z_i.numpy())),
    "prior_z": (log_p_zc * torch.as_tensor(gamma_i)).sum(1),
    "entropy_z": -log_normal_diag(z_i, torch.as_tensor(mu_i), torch.as_tensor(np.log(var_i))),
    "total": torch.as_tensor((gamma_i * (model.log_joint(x_i, z_i.numpy()) - q_mf_i.log_prob(z_i.numpy()))).sum(1)),
}
for name, draws in integrands.items():
    mc, se = monte_carlo(draws.numpy())
    closed = float(getattr(terms, name)[0])
    print(f"{name:15s} closed {closed:10.5f}   Monte Carlo {mc:10.5f} ± {se:.5f}   ({(mc - closed) / se:+.2f} SE)")
    assert abs(mc - closed) < 5 * se, name

# %% [markdown]
# ## The coefficient of term 2: ½, not 1 — paper eq. (21)
#
# The paper prints term 2 as
#
# $$-\sum_k \gamma_{ik} \sum_m \Big[\ln\sigma^2_{km} + \frac{\tilde\sigma^2_{im}}{\sigma^2_{km}} + \frac{(\tilde\mu_{im} - \mu_{km})^2}{\sigma^2_{km}}\Big], \tag{21}$$
#
# with coefficient 1 and without the $\ln 2\pi$. The derivation, the supplement and the
# blog all give ½. With the constant left out on both sides, the quantity it should
# equal is $\mathbb E_q[\ln p(z \mid c)] + \tfrac M2 \ln 2\pi$, which `log_normal_diag(...,
# constants=False)` estimates by Monte Carlo. `elbo_terms` takes the coefficient as an
# argument, so both versions come from the same code.

# %%
# BOOK_CHECK_OUTPUT  (make book-check: this output must match the committed one)
t2 = {
    coef: float(elbo_terms(torch.zeros(1), torch.as_tensor(mu_i[None]), torch.as_tensor(np.log(var_i)[None]),
                           torch.as_tensor(gamma_i[None]), torch.as_tensor(model.weights[None]),
                           gmm_means, gmm_logvars, coefficient=coef, constants=False).prior_z[0])
    for coef in (CORRECT_COEFFICIENT, PRINTED_COEFFICIENT)
}
draws_nc = (log_normal_diag(z_i[:, None], gmm_means, gmm_logvars, constants=False) * torch.as_tensor(gamma_i)).sum(1)
mc_nc, se_nc = monte_carlo(draws_nc.numpy())
z_half, z_one = (t2[0.5] - mc_nc) / se_nc, (t2[1.0] - mc_nc) / se_nc
print(f"Monte Carlo            {mc_nc:9.5f} ± {se_nc:.5f}")
print(f"coefficient ½ (right)  {t2[0.5]:9.5f}   ({z_half:+.2f} SE)")
print(f"coefficient 1 (printed){t2[1.0]:9.5f}   ({z_one:+.0f} SE)")
assert abs(z_half) < 5      # ½ agrees with Monte Carlo
assert abs(z_one) > 100     # the printed 1 is hundreds of standard errors away

# %%
idx = np.unique(np.geomspace(1, N_MC, 300).astype(int)) - 1  # a log-spaced subset keeps the plot light
running = (np.cumsum(draws_nc.numpy()) / np.arange(1, N_MC + 1))[idx]
n = idx + 1
sd = float(draws_nc.std())
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.plot(n, running, color="k", lw=1, label="Monte Carlo running mean")
ax.fill_between(n, running - 2 * sd / np.sqrt(n), running + 2 * sd / np.sqrt(n), color="0.8", label="±2 SE")
ax.axhline(t2[0.5], color="tab:green", lw=2, label="closed form, coefficient ½")
ax.axhline(t2[1.0], color="tab:red", lw=2, label="as printed in (21), coefficient 1")
ax.set(xscale="log", xlabel="number of samples", ylabel="term 2 (without ln 2π)",
       title="term 2 of (21): Monte Carlo settles on ½, not on 1")
ax.legend(loc="center right", fontsize=9)
print("saved", savefig(fig, "term2_half_vs_printed").name)
plt.show()

# %% [markdown]
# ## The $\ln 2\pi$ constants
#
# Term 2 carries $-\tfrac12\sum_k \gamma_{ik}\, M \ln 2\pi = -\tfrac M2 \ln 2\pi$ (the $\gamma$'s sum
# to one). Term 4 carries $+\tfrac M2 \ln 2\pi$. They cancel exactly, so:
#
# * dropping **both** changes nothing;
# * dropping **one** shifts $L$ by $\tfrac M2 \ln 2\pi$ (`constant_shift`), a constant.
#   Gradients are unchanged, so training is unaffected, but the printed value of
#   $L$ is then no longer an ELBO.
#
# The gradient check uses autograd with respect to $\tilde\mu, \ln\tilde\sigma^2$ and the
# GMM parameters. For term 1 it uses the decoder output at the mean, a deterministic
# stand-in that still depends on $\tilde\mu$. All tolerances are $10^{-12}$.

# %%
x_t, W_t, b_t = (torch.as_tensor(a) for a in (x_i, model.loading, model.offset))


def elbo_and_grads(variant):
    """L for one of three treatments of the constants, and its gradient w.r.t. (mu~, ln σ~², μ_k, ln σ_k²)."""
    params = [torch.tensor(mu_i[None], requires_grad=True), torch.tensor(np.log(var_i)[None], requires_grad=True),
              gmm_means.clone().requires_grad_(), gmm_logvars.clone().requires_grad_()]
    mu_t, lv_t, means_t, lvs_t = params
    recon = gaussian_log_likelihood(x_t[None], mu_t @ W_t.T + b_t, model.noise_var)
    tt = elbo_terms(recon, mu_t, lv_t, torch.as_tensor(gamma_i[None]), torch.as_tensor(model.weights[None]),
                    means_t, lvs_t, constants=(variant != "both dropped"))
    if variant == "one dropped":  # keep term 2's constant, drop term 4's
        tt = tt._replace(entropy_z=entropy_normal_diag(lv_t, constants=False))
    total = tt.total.sum()
    return float(total.detach()), [g.detach() for g in torch.autograd.grad(total, params)]


results = {v: elbo_and_grads(v) for v in ("kept", "both dropped", "one dropped")}
L_kept, g_kept = results["kept"]
for v, (L, grads) in results.items():
    grad_diff = max(float((a - b).abs().max()) for a, b in zip(grads, g_kept))
    print(f"{v:13s} L = {L:.12f}   L − L_kept = {L - L_kept:+.12f}   max |Δ gradient| = {grad_diff:.1e}")
    assert grad_diff < 1e-12
shift = L_kept - results["one dropped"][0]
print(f"(M/2) ln 2π = {constant_shift(M):.12f}")
assert abs(results["both dropped"][0] - L_kept) < 1e-12
assert abs(shift - constant_shift(M)) < 1e-12

# %% [markdown]
# ## The sign of the Gaussian likelihood
#
# For real-valued data, $p(x \mid z) = \mathcal N(x; g(z), \lambda I)$ and
#
# $$\ln p(x \mid z) = -\frac{1}{2\lambda}\,\lVert x - g(z)\rVert^2 - \frac D2 \ln(2\pi\lambda). \tag{4, term 1}$$
#
# The blog writes $+\frac{1}{2\lambda}\lVert x - g(z)\rVert^2$. That is not a log-density,
# and maximising it would push $g(z)$ *away* from $x$. Three checks:
#
# 1. `gaussian_log_likelihood` equals `torch.distributions.Normal(...).log_prob` summed over
#    dimensions ($10^{-12}$);
# 2. in one dimension $\int \exp(\ln p(x \mid z))\,dx = 1$ ($10^{-8}$);
# 3. the blog's expression exponentiates to $e^{+(x - g)^2/2\lambda}$, whose integral over
#    $[g - R, g + R]$ grows without bound as $R$ grows.

# %%
lam = 0.7
xs, means_x = torch.as_tensor(rng.normal(size=(5, 6))), torch.as_tensor(rng.normal(size=(5, 6)))
ours = gaussian_log_likelihood(xs, means_x, lam)
reference = torch.distributions.Normal(means_x, math.sqrt(lam)).log_prob(xs).sum(-1)
print("max |ours − torch Normal.log_prob| =", f"{float((ours - reference).abs().max()):.1e}")
assert float((ours - reference).abs().max()) < 1e-12

g0 = 0.3
log_density = lambda v: float(gaussian_log_likelihood(torch.tensor([[v]]), torch.tensor([[g0]]), lam)[0])  # noqa: E731
blog_term = lambda v: -float(gaussian_log_likelihood(torch.tensor([[v]]), torch.tensor([[g0]]), lam,  # noqa: E731
                                                     constants=False)[0])  # the blog's +(x − g)²/2λ
mass = quad(lambda v: math.exp(log_density(v)), -math.inf, math.inf)[0]
radii = np.arange(1, 7)
mass_blog = np.array([quad(lambda v: math.exp(blog_term(v)), g0 - r, g0 + r)[0] for r in radii])
print(f"∫ exp(ln N(x; g, λ)) dx = {mass:.12f}")
print("∫ over [g − R, g + R] of exp(+(x − g)²/2λ):", ", ".join(f"R={r}: {m:.3g}" for r, m in zip(radii, mass_blog)))
assert abs(mass - 1.0) < 1e-8
assert np.all(np.diff(mass_blog) > 0) and mass_blog[-1] > 1e10

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
grid = np.linspace(g0 - 3, g0 + 3, 301)
axes[0].plot(grid, [log_density(v) for v in grid], color="tab:green", lw=2, label="−(x−g)²/2λ − ½ln 2πλ  (log-density)")
axes[0].plot(grid, [blog_term(v) for v in grid], color="tab:red", lw=2, label="+(x−g)²/2λ  (as printed)")
axes[0].axvline(g0, color="k", lw=0.8, ls=":")
axes[0].set(xlabel="x", ylabel="value", title="term 1 for one coordinate, g = 0.3, λ = 0.7")
axes[0].legend(fontsize=8, loc="lower center")
axes[1].semilogy(radii, mass_blog, "o-", color="tab:red", label="exp of the printed term")
axes[1].semilogy(radii, [quad(lambda v: math.exp(log_density(v)), g0 - r, g0 + r)[0] for r in radii],
                 "o-", color="tab:green", label="exp of the log-density")
axes[1].set(xlabel="R", ylabel="∫ over [g − R, g + R]", title="only the correct sign integrates to 1")
axes[1].legend(fontsize=8)
fig.tight_layout()
print("saved", savefig(fig, "gaussian_likelihood_sign").name)
plt.show()

# %% [markdown]
# ## The cross ELBO (5)
#
# $L(x_i, x_j)$ is the same four terms, built from the **neighbour's** posterior and the
# **anchor's** prior:
#
# $$L(x_i, x_j) \approx \ln p(x_i \mid z_j)
# - \tfrac12 \sum_k \gamma_{jk} \sum_m \Big[\ln 2\pi + \ln\sigma^2_{km} + \frac{\tilde\sigma^2_{jm}}{\sigma^2_{km}} + \frac{(\tilde\mu_{jm} - \mu_{km})^2}{\sigma^2_{km}}\Big]
# + \sum_k \gamma_{jk} \ln\frac{\pi_{ik}}{\gamma_{jk}}
# + \tfrac12 \sum_m \big(\ln 2\pi + \ln\tilde\sigma^2_{jm} + 1\big), \tag{5}$$
#
# with $z_j \sim q(z \mid x_j)$ (the paper's (28)). Term 1 scores $x_i$ against the
# decoding of $z_j$; terms 2 and 4 use $\tilde\mu_j, \tilde\sigma_j, \gamma_j$; term 3
# compares $\gamma_j$ with the prior $\pi_i$ of the anchor. In the library this is not a
# second function: `elbo_terms` is called with the neighbour's posterior and the
# anchor's $\pi_i$ (as `dggbook.model.algorithm1.elbo_of_pairs` does). We check it against
# quadrature ($10^{-10}$) and against Monte Carlo draws $z_j$ (5 SE).

# %%
mu_j, var_j, gamma_j = post_j
cross = closed_form_elbo(model, x_i, post_j)  # x_i scored, q(.|x_j) encodes, pi of the anchor
q_mf_j = GaussianSoftmaxJoint.mean_field(mu_j, var_j, gamma_j)
cross_quad = elbo_joint(q_mf_j, lambda z: model.log_joint(x_i, z))
z_j = reparameterize(torch.as_tensor(mu_j).expand(N_MC, -1), torch.as_tensor(np.log(var_j)).expand(N_MC, -1)).numpy()
cross_mc, cross_se = monte_carlo((gamma_j * (model.log_joint(x_i, z_j) - q_mf_j.log_prob(z_j))).sum(1))
print(f"L(x_i, x_j): closed {float(cross.total[0]):.6f}   quadrature {cross_quad:.6f}"
      f"   Monte Carlo {cross_mc:.6f} ± {cross_se:.6f}")
assert abs(float(cross.total[0]) - cross_quad) < 1e-10
assert abs(cross_mc - float(cross.total[0])) < 5 * cross_se

# %% [markdown]
# **Whose prior?** Give the two samples different per-sample priors $\pi_i \ne \pi_j$
# (two copies of the model that differ only in their weights). The cross ELBO must
# use $\pi_i$. We check two things. With $\pi_i$ the closed form still equals the
# quadrature of $\mathbb E_{q_j}[\ln p_{\pi_i}(x_i, z, c) - \ln q_j]$ ($10^{-10}$). Using
# $\pi_j$ by mistake moves it by exactly $\sum_k \gamma_{jk} \ln(\pi_{ik}/\pi_{jk})$, which
# here is far from zero ($10^{-12}$).

# %%
pi_i, pi_j = np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.3, 0.6])
model_i, model_j = (dataclasses.replace(model, weights=p) for p in (pi_i, pi_j))
cross_right = float(closed_form_elbo(model_i, x_i, post_j).total[0])
cross_wrong = float(closed_form_elbo(model_j, x_i, post_j).total[0])
cross_right_quad = elbo_joint(q_mf_j, lambda z: model_i.log_joint(x_i, z))
expected_shift = float(gamma_j @ np.log(pi_i / pi_j))
print(f"with pi_i {cross_right:.6f} (quadrature {cross_right_quad:.6f});  with pi_j {cross_wrong:.6f};"
      f"  difference {cross_right - cross_wrong:.6f} = Σ_k γ_jk ln(π_ik/π_jk) = {expected_shift:.6f}")
assert abs(cross_right - cross_right_quad) < 1e-10
assert abs((cross_right - cross_wrong) - expected_shift) < 1e-12 and abs(expected_shift) > 0.1
