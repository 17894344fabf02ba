"""The seven questions (notebook 08) as a paired ablation study: one arm per version of a step.

Every arm is the recommended preset (:func:`dggbook.model.presets.settings_for`) with
one change, written as :class:`dggbook.model.dgg.DGG` parameters, so an arm
is exactly what ``DGG(**preset, **arm.overrides)`` computes. Within a seed all arms
load the same pretrained networks from one cache (an arm that changes pretraining,
f2 on a sample z or VaDE without f2, recomputes it from the same seed: the
autoencoder and the start are the same, :func:`dggbook.model.pretrain.pretrain`),
so the paired difference arm − preset comes from the change alone.

- Q1 ``coefficient_1``: term 2 of eq. (21) with the printed 1 instead of ½;
- Q2 ``constants_dropped``: the ln 2π of terms 2 and 4 dropped; also measures the
  largest gradient difference on one batch (:func:`constants_gradient_difference`);
- Q3 ``f2_on_sample``: f2 sees a sample z (the paper) instead of μ̃ (public MNIST code);
- Q4 ``random_20_of_top_100``: J random of the 100 nearest instead of the J nearest;
- Q5 ``pi_blog_printed``, ``pi_public_code``: the π update of the blog (renormalised)
  and of the public code instead of eq. (31);
- Q6 ``posterior_bayes_with_pi``, ``posterior_bayes_without_pi``: the preset's trained
  model, predicting with the GMM's Bayes posterior at μ̃ (with the learnt π_i, or
  uniform) instead of γ = f2(μ̃); no training of their own;
- Q7 ``weights_row11``, ``weights_uniform``: the public code's ``sigma = dist_temp[11]``
  kernel per batch, or uniform 1/J, instead of local scaling;
- extras: ``siamese_graph`` (neighbours in a Siamese embedding, eq. (19)),
  ``all_J_neighbours`` (S = J instead of S = 1 per anchor), ``vade`` (the true VaDE
  baseline, :class:`dggbook.model.vade.VaDE`).

:func:`dggbook.study.paired.paired_differences` summarises the rows.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..derivation.gaussian import LOG_2PI
from ..environment import torch_threads
from ..model.algorithm1 import graph_objective
from ..model.data import load_dataset
from ..model.dgg import DGG
from ..model.metrics import clustering_scores
from ..model.presets import settings_for
from ..model.pretrain import pretrain
from ..model.settings import DataFacts
from ..model.vade import VaDE, bayes_posterior

__all__ = ["ARMS", "QUESTIONS", "REFERENCE", "STUDY_DATASETS", "Arm", "CSV_COLUMNS", "arm_named", "study_data",
           "run_seed", "constants_gradient_difference", "read_rows", "write_rows"]

REFERENCE = "preset"


@dataclass(frozen=True)
class Arm:
    """One version of one step: its name, the question it answers and how it differs from the preset."""

    name: str
    question: str  # "Q1".."Q7", "extra", or "reference"
    description: str
    overrides: dict = field(default_factory=dict)  # DGG parameters that change
    labels_from: str = "fit"  # "fit": the arm's own fitted model; "bayes_with_pi" / "bayes_without_pi": the preset's
    estimator: str = "dgg"  # "dgg" or "vade"

    @property
    def trains(self) -> bool:
        """False for the arms that only re-read the preset's trained model (Q6)."""
        return self.labels_from == "fit"


ARMS = (
    Arm(REFERENCE, "reference", "the recommended preset: ½, constants kept, f2 on μ̃, nearest J, eq. (31), "
        "γ from f2, local-scaling weights, S = 1"),
    Arm("coefficient_1", "Q1", "term 2 of eq. (21) with the printed coefficient 1", {"prior_z_coefficient": 1.0}),
    Arm("constants_dropped", "Q2", "the ln 2π of terms 2 and 4 dropped", {"elbo_constants": False}),
    Arm("f2_on_sample", "Q3", "f2 on a sample z (the paper), in pretraining and in Algorithm 1",
        {"f2_input": "sample"}),
    Arm("random_20_of_top_100", "Q4", "J random of the 100 nearest (the public code)",
        {"neighbor_selection": "random_top", "pool_size": 100}),
    Arm("pi_blog_printed", "Q5", "the blog's printed π update, rows renormalised", {"pi_update": "blog_printed"}),
    Arm("pi_public_code", "Q5", "the public code's π update, ½ γ_i + Σ_j γ_j / (2J)", {"pi_update": "public_code"}),
    Arm("posterior_bayes_with_pi", "Q6", "the preset's model, labels from π_ik N(μ̃; μ_k, σ_k²)",
        labels_from="bayes_with_pi"),
    Arm("posterior_bayes_without_pi", "Q6", "the preset's model, labels from N(μ̃; μ_k, σ_k²) alone",
        labels_from="bayes_without_pi"),
    Arm("weights_row11", "Q7", "the public code's kernel, sigma = dist_temp[11] of each batch",
        {"batch_weights": "public_code_row11"}),
    Arm("weights_uniform", "Q7", "uniform weights 1/J (the public code's runs)", {"weights": "uniform"}),
    Arm("siamese_graph", "extra", "neighbours in a Siamese embedding (eq. (19)) instead of the input",
        {"use_siamese": True, "graph_space": "input"}),
    Arm("all_J_neighbours", "extra", "all J neighbours per anchor (S = J, the paper) instead of S = 1",
        {"n_neighbor_samples": None}),
    Arm("vade", "extra", "VaDE: one global π, the Bayes posterior in the loss, no graph", estimator="vade"),
)

QUESTIONS = {  # the blog's question, one line each (notebook 08)
    "Q1": "Is the ½ in front of term 2 of eq. (21) right, or the printed 1?",
    "Q2": "Do the ln 2π constants matter?",
    "Q3": "Should f2 see μ̃ (the MNIST code) or a sample z (the paper)?",
    "Q4": "The nearest J neighbours, or J random among the top 100?",
    "Q5": "Why does the code's π update differ from the printed formula?",
    "Q6": "Why does the GMM posterior ignore π_k? Does predicting with it differ from f2?",
    "Q7": "What does sigma = dist_temp[11] do?",
    "extra": "Siamese vs Euclidean graph; S = 1 vs S = J; DGG vs the true VaDE.",
}

CSV_COLUMNS = ("dataset", "n_samples", "seed", "question", "arm", "acc", "nmi", "ari", "same_labels_as_preset",
               "start_acc", "train_seconds", "max_grad_difference", "max_grad")


STUDY_DATASETS = ("digits", "mnist10k", "digits-quick")
MNIST_SUBSET_SIZE = 10_000


def study_data(name: str):
    """``(X, y, n_clusters, preset)`` of a data set of the study, ``preset`` being DGG parameters.

    - ``"digits"``: the 1,797 digits and the CPU digits preset;
    - ``"mnist10k"``: 10,000 MNIST images drawn once with ``numpy.random.default_rng(0)`` and the
      CPU MNIST preset (needs ``make mnist``);
    - ``"digits-quick"``: the digits and the quick preset (tiny networks, 10 epochs), with a
      Siamese stage of 2 epochs: every arm in seconds, for CI.
    """
    if name in ("digits", "digits-quick"):
        data = load_dataset("digits")
        quick = name == "digits-quick"
        preset = dict(settings_for("digits", "cpu", quick=quick), dataset_name=name)
        return data.X, data.y, data.n_clusters, dict(preset, siamese_epochs=2) if quick else preset
    if name != "mnist10k":
        raise ValueError(f"dataset must be one of {STUDY_DATASETS}, got {name!r}.")
    data = load_dataset("mnist")
    rows = np.random.default_rng(0).choice(data.n_samples, MNIST_SUBSET_SIZE, replace=False)
    return data.X[rows], data.y[rows], data.n_clusters, dict(settings_for("mnist", "cpu", quick=False),
                                                             dataset_name=name)


def arm_named(name: str) -> Arm:
    """The arm of :data:`ARMS` called ``name``; a ValueError lists them otherwise."""
    for arm in ARMS:
        if arm.name == name:
            return arm
    raise ValueError(f"arm must be one of {[a.name for a in ARMS]}, got {name!r}.")


def _vade_parameters(preset: dict) -> dict:
    """The preset's parameters that :class:`VaDE` has (it has no f2 and no graph)."""
    allowed = set(VaDE().get_params())
    return {k: v for k, v in preset.items() if k in allowed}


def _fit_arm(arm: Arm, X, n_clusters: int, preset: dict, seed: int, cache_dir):
    """The fitted estimator of one training arm, and its wall time."""
    started = time.perf_counter()
    if arm.estimator == "vade":
        model = VaDE(n_clusters, **_vade_parameters(preset), random_state=seed, cache_dir=cache_dir)
    else:
        model = DGG(n_clusters, **{**preset, **arm.overrides}, random_state=seed, cache_dir=cache_dir)
    return model.fit(X), time.perf_counter() - started


@torch.no_grad()
def _bayes_labels(model: DGG, X, *, with_pi: bool) -> np.ndarray:
    """argmax_k of the GMM's posterior at μ̃, with the learnt π_i (N, K) or with uniform π (Q6)."""
    mu = torch.as_tensor(model.transform(X))
    pi = torch.as_tensor(model.pi_) if with_pi else torch.full_like(torch.as_tensor(model.pi_), 1.0)
    log_pi = torch.log(pi.clamp_min(torch.finfo(pi.dtype).tiny))
    return bayes_posterior(mu, log_pi, model.networks_.cpu()).argmax(dim=1).numpy()


def constants_gradient_difference(model: DGG, X, seed: int, cache_dir, n_anchors: int = 100) -> tuple[float, float]:
    """Q2 on one batch: the largest |gradient with constants − without| over all parameters, and the largest |gradient|.

    Starts from the pretrained networks ``model`` was trained from (loaded from ``cache_dir``,
    which must hold them), uses its graph, the first ``n_anchors`` rows and the same draws of z
    in both passes (from a forked generator: the caller's is left as it was). Raises
    RuntimeError unless term 2 moved by (M/2) ln 2π between the passes, i.e. unless the
    setting reached the objective.
    """
    if cache_dir is None:
        raise ValueError("cache_dir must hold the pretrained networks of model's fit; pass the folder fit used.")
    facts = DataFacts.of(np.asarray(X, dtype=np.float32))
    settings = model.pretrain_settings().resolved(facts, "cpu")
    train = dataclasses.replace(model.train_settings().resolved(facts, "cpu"), noise_var=model.noise_var_)
    with torch_threads(model.n_threads):  # the thread count is part of the cache key: the fit's own
        start = pretrain(X, model.n_clusters, settings, random_state=seed, device="cpu", cache_dir=cache_dir,
                         dataset_name=model.dataset_name).networks
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    anchors = torch.arange(min(n_anchors, X.shape[0]))
    graph = model.graph_
    pi = torch.full((len(anchors), model.n_clusters), 1.0 / model.n_clusters)
    grads, prior_z = [], []
    for constants in (True, False):
        networks = copy.deepcopy(start).train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = graph_objective(networks, Xt, anchors, graph.indices[anchors], graph.weights[anchors], pi,
                                  dataclasses.replace(train, elbo_constants=constants))
        out.loss.backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in networks.parameters() if p.grad is not None]))
        prior_z.append(float(out.term_means[1]))
    shift = 0.5 * networks.gmm.means.shape[1] * LOG_2PI
    if abs((prior_z[1] - prior_z[0]) - shift) > 1e-3 * max(1.0, abs(prior_z[0])):
        raise RuntimeError(f"elbo_constants=False moved term 2 by {prior_z[1] - prior_z[0]:.6g}, not by "
                           f"(M/2) ln 2pi = {shift:.6g}: the setting did not reach the objective.")
    return float((grads[0] - grads[1]).abs().max()), float(grads[0].abs().max())


def run_seed(X, y, n_clusters: int, preset: dict, seed: int, *, arms=ARMS, dataset: str = "",
             cache_dir=None, log=print) -> list[dict]:
    """Every arm of ``arms`` for one seed: one row each, with :data:`CSV_COLUMNS`.

    The preset is always fitted first (every other arm is compared with it). ``cache_dir``
    holds the shared pretraining; None uses a temporary folder removed afterwards.
    """
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="dggbook-questions-") as tmp:
            return run_seed(X, y, n_clusters, preset, seed, arms=arms, dataset=dataset, cache_dir=tmp, log=log)
    arms = [arm_named(REFERENCE)] + [a for a in arms if a.name != REFERENCE]
    reference = None
    rows = []
    for arm in arms:
        row = {"dataset": dataset, "n_samples": int(X.shape[0]), "seed": seed, "question": arm.question,
               "arm": arm.name, "max_grad_difference": "", "max_grad": ""}
        if arm.trains:
            model, seconds = _fit_arm(arm, X, n_clusters, preset, seed, cache_dir)
            labels = model.labels_
            row.update(start_acc=clustering_scores(y, model.start_labels_)["acc"],
                       train_seconds=model.stage_seconds_.get("dgg", model.stage_seconds_.get("vade")))
        else:
            model, seconds = reference, 0.0
            labels = _bayes_labels(reference, X, with_pi=arm.labels_from == "bayes_with_pi")
            row.update(start_acc=clustering_scores(y, reference.start_labels_)["acc"], train_seconds=0.0)
        if arm.name == REFERENCE:
            reference, reference_labels = model, labels
        if arm.name == "constants_dropped":
            row["max_grad_difference"], row["max_grad"] = constants_gradient_difference(reference, X, seed, cache_dir)
        row.update(clustering_scores(y, labels))
        row["same_labels_as_preset"] = float(np.mean(labels == reference_labels))
        rows.append(row)
        log(f"{dataset} seed {seed} {arm.name:28s} ACC {row['acc']:.4f}  NMI {row['nmi']:.4f}  "
            f"same as preset {row['same_labels_as_preset']:.4f}  ({seconds:.0f} s)")
    return rows


SCIENTIFIC_COLUMNS = ("max_grad_difference", "max_grad")  # tiny numbers: 4 significant digits, not 6 decimals


def write_rows(path, rows: list[dict]) -> None:
    """Write study rows as CSV with :data:`CSV_COLUMNS`: floats with 6 decimals, the gradient columns as 1.234e-07."""

    def text(key, value):
        if not isinstance(value, float):
            return value
        return f"{value:.3e}" if key in SCIENTIFIC_COLUMNS else f"{value:.6f}"

    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: text(k, row.get(k, "")) for k in CSV_COLUMNS})


def read_rows(path) -> list[dict]:
    """The rows of a CSV written by :func:`write_rows`, numbers parsed (an empty cell stays ``None``)."""
    numeric = {"n_samples": int, "seed": int}
    rows = []
    with open(path, newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {}
            for key, value in raw.items():
                if key in ("dataset", "question", "arm"):
                    row[key] = value
                elif value == "":
                    row[key] = None
                else:
                    row[key] = numeric.get(key, float)(value)
            rows.append(row)
    return rows
