# %% [markdown]
# # 00 — Roadmap: the course in one page
#
# This course takes one paper apart: **DGG**, *Deep Clustering by Gaussian Mixture Variational
# Autoencoders with Graph Embedding* (Yang, Cheung, Li, Fang, ICCV 2019). Every step of its
# derivation is restated, checked numerically by a test that can fail, and then used to train the
# model. Where the paper, its supplement, the blog that first worked through it and the public code
# disagree, the notebooks say which is right, and notebook 08 measures whether it matters.
#
# **Who it is for.** Students who want to see a deep generative clustering model derived line by
# line; lecturers who want a unit on variational clustering with exercises that grade themselves;
# researchers who want a small, tested re-implementation to build on.
#
# **Learning objectives.** After the course you can:
# - derive DGG's objective from "likelihood minus graph-weighted JS" to the trainable lower bound,
#   and say which steps are identities and which are inequalities;
# - write each ELBO term in closed form and the per-sample prior update (31) from its Lagrangian;
# - build the affinity graph, train the full model (pretraining, then Algorithm 1) and read its
#   clustering;
# - decide, by a paired experiment, whether a difference between two versions of a method matters.
#
# **Prerequisites.** Probability with multivariate Gaussians; the Gaussian mixture model and EM;
# variational inference, the ELBO and the variational autoencoder (the reparameterisation trick);
# VaDE, the model DGG extends. Python with NumPy and a little PyTorch. Good refreshers: Bishop,
# *Pattern Recognition and Machine Learning*, ch. 9 (mixtures and EM) and ch. 10 (variational
# inference); Kingma & Welling, [Auto-Encoding Variational Bayes](https://arxiv.org/abs/1312.6114);
# Jiang et al., [VaDE](https://arxiv.org/abs/1611.05148).
#
# **Time.** About 13 hours in all: 300 minutes to read and run notebooks 01–09, and 465 minutes for
# their 29 exercises (the table below).
#
# **References.** The
# [DGG paper](https://openaccess.thecvf.com/content_ICCV_2019/html/Yang_Deep_Clustering_by_Gaussian_Mixture_Variational_Autoencoders_With_Graph_Embedding_ICCV_2019_paper.html)
# and its
# [supplement](https://openaccess.thecvf.com/content_ICCV_2019/supplemental/Yang_Deep_Clustering_by_ICCV_2019_supplemental.pdf)
# (the derivation of the bound and the rotated-Gaussian figure);
# [VaDE](https://arxiv.org/abs/1611.05148) (Jiang et al., IJCAI 2017), whose pretrained networks the
# public code starts from; the [public code](https://github.com/ngoc-nguyen-0/DGG).
#
# **Notation.** One symbol, one meaning: the [notation glossary](notation.md) lists them all.

# %% [markdown]
# ## The notebooks, in order
#
# Open the `.ipynb` files (the `.py` next to each is the same notebook as a script, for review and
# diffs). Times are a reader's: reading and running the notebook, then its exercises (the code
# itself runs in seconds to a few minutes on a 2-core CPU).
#
# | notebook | what it proves or does | time: read and run + exercises | exercises |
# |---|---|---|---|
# | [01 — From GMM and VAE to DGG](01_from_gmm_vae_to_dgg.ipynb) | the generative and inference models; the per-sample prior; the objective's pieces on a model where $\ln p(x)$ is exact | 30 + 45 min | 4 |
# | [02 — The bound](02_the_bound.ipynb) | steps (1)–(3): $G = \mathrm{JS} + \mathrm{KL}(\bar q \Vert p_i) \ge \mathrm{JS}$, the cross ELBO, and why $w$'s rows must sum to 1 | 35 + 40 min | 3 |
# | [03 — The ELBO terms](03_elbo_terms.ipynb) | the closed forms (4), (5); the ½ of (21) and what the printed 1 does; the $\ln 2\pi$ constants cancel | 35 + 45 min | 4 |
# | [04 — The π update](04_pi_update.ipynb) | (31) from its Lagrangian, against a numeric optimiser; the blog's printed form is not a distribution | 25 + 40 min | 3 |
# | [05 — JS between rotated Gaussians](05_js_rotated_gaussians.ipynb) | the supplement's figure: how JS depends on orientation, and where its caption holds | 30 + 70 min | 3 |
# | [06 — The graph and the Siamese network](06_graph_and_siamese.ipynb) | the affinity graph, neighbour purity, the public code's `dist_temp[11]`, the Siamese embedding (19) | 35 + 70 min | 3 |
# | [07 — Training DGG](07_training_dgg.ipynb) | the whole model: pretraining, Algorithm 1, the clusters it finds, and its scores | 40 + 90 min | 5 |
# | [08 — The seven questions](08_the_seven_questions.ipynb) | a paired ablation study answering the blog's seven open questions | 40 + 45 min | 2 |
# | [09 — Failure modes](09_failure_modes.ipynb) | an appendix: emptied clusters, posterior collapse, one Adam step too far, seeds, a good start found in the wrong space; each produced and measured | 30 + 20 min | 2 |
#
# Notebooks 01–04 are the derivation and need no data; 05 stands alone. 06 and 07 use
# scikit-learn's 8×8 digits on a CPU and in quick mode; they load MNIST (all 70,000 images, which
# `make mnist` downloads) only when the book runs on a CUDA GPU in full mode. 08 reads the committed
# results of two studies (digits and a 10,000-image MNIST subset) and trains only one small model, on
# two moons.

# %% [markdown]
# ## How to work through it
#
# 1. `make lab` opens JupyterLab on `notebooks/`, with a kernel named *Python 3 (dggbook)*.
# 2. Run the cell below once: it checks your installation and runs the library's derivation checks.
# 3. Open the notebooks in order. Each starts with its objectives and ends with "What you should now
#    be able to do" and its exercises. Every exercise asks for one function; the cells tagged
#    `check` below it run your function and say what they expected and what they received.
# 4. In the notebooks under `notebooks/` the solutions are filled in. To try the exercises
#    yourself, run `make course` and open the copies in `course/student/`, where every solution is
#    replaced by `raise NotImplementedError`.

# %%
from dggbook.book import setup_book

settings = setup_book(seed=0)

# %%
from dggbook.derivation.checks import run_checks

results = run_checks()
failed = [result.name for result in results if not result.passed]
print(f"{len(results) - len(failed)} of {len(results)} derivation checks pass")
assert not failed, f"these derivation checks fail on this installation: {failed}"
