"""scikit-learn's own estimator checks, run on DGG and VaDE at tiny settings (a few seconds each).

Expected failures, each with its reason, are listed below and in the README
("The estimator follows scikit-learn's conventions"). ``xfail_strict`` makes a listed check that starts
passing fail the suite, so the list cannot go stale.
"""
import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from dggbook.model.dgg import DGG
from dggbook.model.vade import VaDE

TINY = dict(likelihood="gaussian", noise_var=0.05, latent_dim=2, hidden_dims=(16, 16, 32), n_neighbors=3,
            neighbor_selection="nearest", n_neighbor_samples=1, layerwise_epochs=2, autoencoder_epochs=20,
            vae_epochs=2, classifier_epochs=20, pretrain_batch_size=32, epochs=5, batch_size=32, init="kmeans",
            classifier_hidden_dims=(), graph_space="input", device="cpu")

EXPECTED_FAILURES: dict = {}
# Failures that depend on the seed and the CPU's kernels (which component wins no sample): the check may pass,
# and it is an xfail only when it fails for the reason stated (_failed_for_the_stated_reason).
SEED_DEPENDENT_FAILURES = {
    "check_clustering": (
        "labels are argmax_k q(c=k|x), so a GMM component that wins no sample leaves its label unused; scikit-learn "
        "expects labels 0..max with none missing. Renumbering would break the link between label k and the GMM "
        "mean mu_k (decoded images, latent plots). Everything else in this check passes: ARI > 0.4 on blobs, "
        "the same labels from fit and fit_predict, integer labels."
    ),
}


VADE_TINY = {k: v for k, v in TINY.items() if k in VaDE().get_params()}


def expected_failures(estimator) -> dict:
    return EXPECTED_FAILURES if isinstance(estimator, DGG) else VADE_EXPECTED_FAILURES


VADE_EXPECTED_FAILURES: dict = {}


@parametrize_with_checks([DGG(3, **TINY, random_state=0), VaDE(3, **VADE_TINY, random_state=0)],
                         expected_failed_checks=expected_failures, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check):
    name = getattr(check, "func", check).__name__
    if name not in SEED_DEPENDENT_FAILURES:
        check(estimator)
        return
    try:
        check(estimator)
    except AssertionError as error:
        if not _failed_for_the_stated_reason(name, error):
            raise
        pytest.xfail(SEED_DEPENDENT_FAILURES[name])


def _failed_for_the_stated_reason(name: str, error: AssertionError) -> bool:
    """True when check_clustering failed on its last labels: the sorted labels of its fit are not 0..max
    with none missing (read from the check's own frame). Any other failure of the check stays a failure."""
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == name and "labels_sorted" in frame.f_locals:
            labels = frame.f_locals["labels_sorted"]
            return not np.array_equal(labels, np.arange(labels[0], labels[-1] + 1))
        tb = tb.tb_next
    return False
