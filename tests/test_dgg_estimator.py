"""The scikit-learn style ``DGG`` estimator: fit/predict, validation, determinism, save/load, resume."""
import random

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import dggbook.model.algorithm1 as algorithm1_module
import dggbook.model.dgg as dgg_module
from dggbook.model.data import make_blobs_data
from dggbook.model.dgg import DGG
from dggbook.model.metrics import clustering_scores
from dggbook.model.presets import paper_settings, settings_for
from dggbook.model.settings import AUTO_EPOCHS, auto_epochs

FAST = dict(likelihood="gaussian", noise_var=0.01, latent_dim=4, hidden_dims=(32, 32, 64), n_neighbors=5,
            neighbor_selection="nearest", n_neighbor_samples=1, layerwise_epochs=3, autoencoder_epochs=30,
            vae_epochs=5, classifier_epochs=50, pretrain_batch_size=32, epochs=5, batch_size=64,
            init="kmeans", classifier_hidden_dims=(), graph_space="input", device="cpu", cache_dir=False)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs_data(600, 4, 10, random_state=0)


@pytest.fixture(scope="module")
def fitted(blobs):
    return DGG(4, **FAST, random_state=0).fit(blobs.X, blobs.y)


def test_fits_blobs_near_perfectly(fitted, blobs):
    assert clustering_scores(blobs.y, fitted.labels_)["acc"] >= 0.95
    assert len(fitted.history_) == FAST["epochs"] and "acc" in fitted.history_[-1]


def test_the_defaults_fit_blobs_with_auto_epochs_and_record_them(blobs):
    """Everything at its default but the network size: UMAP start, f2 with a hidden layer, "auto" epochs and S."""
    model = DGG(4, likelihood="gaussian", noise_var=0.01, latent_dim=4, hidden_dims=(32, 32, 64), device="cpu",
                random_state=0).fit(blobs.X, blobs.y)
    n = blobs.X.shape[0]
    # blobs (D = 10): init="auto" compares the UMAP start with the input's mixture and keeps the lower cut (a tie,
    # as when both find the blobs, goes to UMAP's); only a start from the input gets the hand-over and a graph in X
    cuts = model.start_cuts_
    assert set(cuts) == {"umap", "input"}
    assert model.start_source_ == ("input" if cuts["input"] < cuts["umap"] else "umap")
    from_input = model.start_source_ == "input"
    assert model.auto_settings_ == {**{field: auto_epochs(field, n) for field in AUTO_EPOCHS},
                                    "n_neighbor_samples": 1, "init": model.start_source_,
                                    "handover_epochs": auto_epochs("epochs", n) if from_input else 0,
                                    "graph_space": "input" if from_input else "umap"}
    assert len(model.history_) == auto_epochs("epochs", n)
    assert clustering_scores(blobs.y, model.labels_)["acc"] >= 0.95


def test_predict_proba_predict_transform(fitted, blobs):
    proba = fitted.predict_proba(blobs.X)
    assert proba.shape == (600, 4)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(fitted.predict(blobs.X), proba.argmax(1))
    np.testing.assert_array_equal(fitted.predict(blobs.X), fitted.labels_)
    assert fitted.transform(blobs.X).shape == (600, 4)
    assert fitted.pi_.shape == (600, 4)


def test_same_seed_same_labels(blobs):
    X = blobs.X[:200]
    a = DGG(4, **FAST, random_state=3).fit_predict(X)
    b = DGG(4, **FAST, random_state=3).fit_predict(X)
    np.testing.assert_array_equal(a, b)


def test_rng_use_outside_dggbook_does_not_change_the_result(blobs):
    """Every stage reseeds from random_state, so draws from the global generators in between change nothing."""
    X = blobs.X[:200]
    a = DGG(4, **FAST, random_state=3).fit(X)
    np.random.rand(1000), torch.rand(1000), __import__("random").random()  # a user's own cells in between
    b = DGG(4, **FAST, random_state=3).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.start_labels_, b.start_labels_)
    assert a.history_[-1]["total"] == b.history_[-1]["total"]


def test_fit_uses_n_threads_and_restores_the_callers_count(blobs, monkeypatch):
    seen = []
    original = dgg_module.train_dgg

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr("dggbook.model.dgg.train_dgg", spy)
    torch.set_num_threads(2)
    DGG(4, **dict(FAST, epochs=1), random_state=0).fit(blobs.X[:100])  # default n_threads
    DGG(4, **dict(FAST, epochs=1), n_threads=None, random_state=0).fit(blobs.X[:100])
    assert seen == [1, 2] and torch.get_num_threads() == 2


def test_bad_n_threads_fails_before_any_training(blobs, monkeypatch):
    monkeypatch.setattr("dggbook.model.dgg.pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match="n_threads"):
        DGG(4, **FAST, n_threads=0).fit(blobs.X)


def test_save_load_round_trip(fitted, blobs, tmp_path):
    path = fitted.save(tmp_path / "model.pt")
    loaded = DGG.load(path)
    np.testing.assert_array_equal(loaded.predict(blobs.X), fitted.predict(blobs.X))
    np.testing.assert_allclose(loaded.predict_proba(blobs.X), fitted.predict_proba(blobs.X))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_


def test_scikit_learn_conventions(fitted):
    est = DGG(3, epochs=7)
    assert not [k for k in vars(est) if k.endswith("_")]  # __init__ stores parameters only
    assert est.get_params()["epochs"] == 7
    assert est.set_params(epochs=9).epochs == 9
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "labels_")
    with pytest.raises(NotFittedError):
        DGG(3).predict(np.zeros((2, 4)))


def test_vade_baseline_is_the_same_code_without_graph(blobs):
    est = DGG(4, **{**FAST, "epochs": 2}, use_graph=False, random_state=0).fit(blobs.X[:200])
    assert est.graph_.n_neighbors == 1
    assert (est.graph_.indices[:, 0] == torch.arange(200)).all()


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((10, 3), np.nan), "contains NaN"),
        (np.array([[0.1, np.inf]] * 10), "contains infinity"),
        (np.zeros(10), "Expected 2D array"),
        (np.zeros((2, 5, 3)), "dim 3"),
        (np.zeros((0, 4)), "0 sample"),
        (np.zeros((1, 4)), "1 sample"),
        (np.zeros((10, 0)), "0 feature"),
        (np.full((10, 3), "a"), "could not convert string to float"),
        (np.ones((10, 3)) + 1j, "Complex data not supported"),
    ],
)
def test_bad_inputs_raise_scikit_learn_s_messages(X, match, monkeypatch):
    monkeypatch.setattr("dggbook.model.dgg.pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match=match):
        DGG(2, **FAST).fit(X)


def test_sparse_input_is_refused():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="Sparse data"):
        DGG(2, **FAST).fit(scipy_sparse.random(10, 3, density=0.5, format="csr"))


@pytest.mark.parametrize("name, value", [
    ("weights", "foo"), ("random_state", -1), ("device", "gpu"), ("epochs", 2.5), ("likelihood", "poisson"),
    ("n_neighbors", 0), ("lr", 0.0), ("n_threads", 0), ("use_graph", "yes"), ("hidden_dims", (64, 0)),
    ("hidden_dims", ()), ("n_neighbor_samples", -1), ("cache_dir", 3),
])
def test_every_bad_parameter_fails_at_once_naming_it(name, value, blobs, monkeypatch):
    monkeypatch.setattr("dggbook.model.dgg.pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match=name):
        DGG(4, **{**FAST, name: value}).fit(blobs.X)


def test_feature_names_are_checked_on_predict(fitted, blobs):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(blobs.X, columns=[f"f{i}" for i in range(blobs.X.shape[1])])
    model = DGG(4, **{**FAST, "epochs": 1}, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[frame.columns[::-1]])


def test_fit_leaves_the_callers_generators_alone(blobs, tmp_path):
    """Also when a fit resumes from a checkpoint, which restores the generator state it saved."""
    X = blobs.X[:100]
    params = {**FAST, "epochs": 1, "cache_dir": tmp_path}

    def seed_all():
        torch.manual_seed(123)
        np.random.seed(123)
        random.seed(123)

    seed_all()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    for epochs in (1, 2):  # the second fit resumes the first one's checkpoint
        seed_all()
        model = DGG(4, **{**params, "epochs": epochs}, random_state=5).fit(X)
        torch.testing.assert_close(torch.rand(3), expected[0])
        np.testing.assert_array_equal(np.random.rand(3), expected[1])
        assert random.random() == expected[2]
    assert model.resumed_from_epoch_ == 1


def test_feature_names_out_needs_a_fitted_estimator(fitted):
    with pytest.raises(NotFittedError):
        DGG(4, **FAST).get_feature_names_out()
    assert list(fitted.get_feature_names_out()) == [f"dgg{i}" for i in range(FAST["latent_dim"])]


def test_load_restores_every_fitted_attribute(fitted, tmp_path):
    loaded = DGG.load(fitted.save(tmp_path / "m.pt"))
    set_by_fit = {k for k in vars(fitted) if k.endswith("_") and not k.startswith("_")}
    assert set_by_fit <= set(vars(loaded)), f"load misses {set_by_fit - set(vars(loaded))}"
    for name in DGG.FITTED:
        a, b = getattr(fitted, name), getattr(loaded, name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, name
    assert isinstance(loaded.pi_, np.ndarray)
    torch.testing.assert_close(loaded.graph_.indices, fitted.graph_.indices)


def test_bernoulli_needs_unit_interval_but_gaussian_does_not():
    X = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        DGG(2, **{**FAST, "likelihood": "bernoulli"}).fit(X)
    DGG(2, **{**FAST, "epochs": 1, "autoencoder_epochs": 1, "classifier_epochs": 1}, random_state=0).fit(X)


def test_bad_sizes_raise():
    X = np.random.default_rng(0).random((6, 3))
    with pytest.raises(ValueError, match="n_clusters=7 exceeds"):
        DGG(7, **FAST).fit(X)
    with pytest.warns(UserWarning, match="n_neighbors=6 is not smaller than the number of samples"):
        assert DGG(2, **{**FAST, "n_neighbors": 6, "epochs": 1}, random_state=0).fit(X).n_neighbors_ == 5
    with pytest.raises(ValueError, match="n_clusters"):
        DGG(0, **FAST).fit(X)


def test_a_siamese_graph_takes_the_input_space_under_auto(blobs):
    model = DGG(4, **{**FAST, "epochs": 1, "use_siamese": True, "siamese_epochs": 1, "graph_space": "auto"},
                random_state=0).fit(blobs.X[:120])
    assert model.graph_space_ == "input" and model.start_source_ == "kmeans"


def test_a_siamese_graph_outside_the_input_space_fails_before_training(blobs, monkeypatch):
    monkeypatch.setattr(dgg_module, "pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match="graph_space='latent'"):
        DGG(4, **{**FAST, "use_siamese": True, "graph_space": "latent"}).fit(blobs.X)


@pytest.mark.parametrize("space, width, init", [("input", 10, "kmeans"), ("latent", 4, "kmeans"), ("umap", 3, "kmeans"),
                                               ("auto", 10, "input"), ("auto", 3, "umap"), ("auto", 3, "kmeans")])
def test_the_graph_is_searched_in_the_chosen_space(blobs, monkeypatch, space, width, init):
    """"auto": the input for a start from the input, else UMAP of mu~."""
    seen = {}
    real_build_graph = dgg_module.build_graph

    def spy(features, *args, **kwargs):
        seen["features"] = np.asarray(features)
        return real_build_graph(features, *args, **kwargs)

    monkeypatch.setattr(dgg_module, "build_graph", spy)
    X = blobs.X[:200]
    model = DGG(4, **{**FAST, "epochs": 1, "graph_space": space, "umap_components": 3, "umap_neighbors": 10,
                      "init": init, "handover_epochs": 0}, random_state=0).fit(X)
    assert seen["features"].shape == (200, width)
    assert model.graph_space_ == (space if space != "auto" else ("input" if init == "input" else "umap"))
    assert model.start_source_ == init
    if width == 10:
        np.testing.assert_array_equal(seen["features"], X)
    assert model.graph_.indices.shape == (200, FAST["n_neighbors"])


def test_predict_checks_the_number_of_features(fitted):
    with pytest.raises(ValueError, match="10"):
        fitted.predict(np.zeros((3, 5)))


def test_nan_loss_stops_fit_with_a_clear_error(blobs, monkeypatch):
    original = algorithm1_module.reconstruction_log_likelihood

    def poisoned(*args, **kwargs):
        return original(*args, **kwargs) * float("nan")

    monkeypatch.setattr(algorithm1_module, "reconstruction_log_likelihood", poisoned)
    est = DGG(4, **FAST, random_state=0)
    with pytest.raises(FloatingPointError, match="epoch 1, batch 1"):
        est.fit(blobs.X[:200])
    assert not hasattr(est, "labels_")  # never garbage labels


def test_interrupted_fit_continues_from_its_checkpoint(blobs, tmp_path):
    X = blobs.X[:200]
    params = {**FAST, "cache_dir": tmp_path / "a", "dataset_name": "blobs"}
    straight = DGG(4, **{**params, "epochs": 4}, random_state=0).fit(X)
    assert list((tmp_path / "a").glob("dgg-blobs-*.pt")) and list((tmp_path / "a").glob("pretrain-blobs-*.pt"))

    params["cache_dir"] = tmp_path / "b"
    first = DGG(4, **{**params, "epochs": 2}, random_state=0).fit(X)  # stands in for an interrupted run
    assert len(first.history_) == 2
    assert not first.pretrain_from_cache_ and first.resumed_from_epoch_ == 0
    continued = first.set_params(epochs=4).fit(X)
    assert len(continued.history_) == 4
    assert continued.pretrain_from_cache_ and continued.resumed_from_epoch_ == 2
    assert set(continued.stage_seconds_) == {"pretrain", "graph", "dgg"}
    assert sum(continued.stage_seconds_.values()) <= continued.fit_seconds_
    np.testing.assert_array_equal(continued.labels_, straight.labels_)
    assert [r["total"] for r in continued.history_] == pytest.approx([r["total"] for r in straight.history_])


def test_presets():
    quick = settings_for("digits", "cpu", quick=True)
    cpu = settings_for("digits", "cpu", quick=False)
    paper = paper_settings()  # bench_paper.py's; CUDA + MNIST: tests/test_presets_cuda.py
    assert quick["epochs"] < cpu["epochs"] < paper["epochs"] == 300
    assert paper["hidden_dims"] == (500, 500, 2000) and paper["lr"] == 2e-3 and paper["batch_size"] == 100
    assert paper["n_neighbors"] == 20 and paper["neighbor_selection"] == "random_top" and paper["use_siamese"]
    mnist_cpu = settings_for("mnist", "cpu", quick=False)
    assert mnist_cpu["hidden_dims"] == (500, 500, 2000) and mnist_cpu["likelihood"] == "bernoulli"
    assert mnist_cpu["n_neighbor_samples"] == 1 and mnist_cpu["epochs"] < paper["epochs"]
    for preset in (quick, cpu, paper, mnist_cpu):
        DGG(10, **preset)  # every key is a parameter


def test_a_checkpoint_is_not_resumed_on_top_of_a_different_start(blobs, tmp_path, monkeypatch):
    """After the pretraining changes (new code, say), Algorithm 1 starts afresh instead of resuming old epochs."""
    X = blobs.X[:200]
    params = {**FAST, "epochs": 2, "cache_dir": tmp_path, "dataset_name": "blobs"}
    DGG(4, **params, random_state=0).fit(X)
    real_pretrain = dgg_module.pretrain

    def other_pretraining(*args, **kwargs):
        result = real_pretrain(*args, **kwargs)
        with torch.no_grad():
            result.networks.gmm.means.add_(0.5)  # stands in for a change to the pretraining code
        return result

    monkeypatch.setattr(dgg_module, "pretrain", other_pretraining)
    again = DGG(4, **params, random_state=0).fit(X)
    assert again.pretrain_from_cache_ and again.resumed_from_epoch_ == 0
