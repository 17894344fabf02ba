"""Estimator robustness (issue 19, §4 n_threads and §5): every legal setting fits, data checks come first,
safe save / load, honest cache keys, independent seeds, one UMAP per fit, init_labels in fit_predict, thread pools."""
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import check_estimators_nan_inf, check_fit2d_1feature
from tiny_model import TINY_DGG

import dggbook.model.dgg as dgg_module
from dggbook.environment import torch_threads
from dggbook.model import cache
from dggbook.model.data import make_blobs_data
from dggbook.model.dgg import DGG
from dggbook.model.vade import VaDE

TINY = {**TINY_DGG, "epochs": 1}
TINY_VADE = {k: v for k, v in TINY.items() if k in VaDE().get_params()}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def blobs():
    return make_blobs_data(90, 3, 6, random_state=0)


# ------------------------------------------------------------------ 1. every legal combination fits
def test_gaussian_weights_fit_with_the_median_window(blobs):
    model = DGG(3, **{**TINY, "weights": "gaussian"}, random_state=0).fit(blobs.X)
    w = model.graph_.weights
    torch.testing.assert_close(w.sum(dim=1), torch.ones(w.shape[0]))
    assert not torch.allclose(w, torch.full_like(w, 1 / w.shape[1]))  # not uniform: the distances count


# ------------------------------------------------------------------ 2. data first, then clipping
@pytest.mark.parametrize("check", [check_fit2d_1feature, check_estimators_nan_inf])
def test_scikit_learn_small_data_checks_pass_with_the_default_graph_size(check):
    """Both checks fit on 10 samples; the default J = 20 must not fail them."""
    params = {**TINY, "n_neighbors": 20, "pool_size": 100}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(type(DGG()).__name__, DGG(3, **params, random_state=0))


def test_too_many_neighbours_are_clipped_with_a_warning(blobs):
    X = blobs.X[:12]
    with pytest.warns(UserWarning, match="n_neighbors=20"):
        model = DGG(2, **{**TINY, "n_neighbors": 20}, random_state=0).fit(X)
    assert model.n_neighbors_ == 11 and model.graph_.n_neighbors == 11
    assert model.n_neighbors == 20  # the parameter is kept as given
    with pytest.warns(UserWarning, match="pool_size=100"):
        model = DGG(2, **{**TINY, "n_neighbors": 5, "neighbor_selection": "random_top"}, random_state=0).fit(X)
    assert model.pool_size_ == 11 and model.n_neighbors_ == 5


def test_nan_is_reported_before_the_graph_size(monkeypatch):
    monkeypatch.setattr(dgg_module, "pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match="NaN"):
        DGG(2, **{**TINY, "n_neighbors": 50}).fit(np.full((10, 3), np.nan))


def test_more_clusters_than_samples_stays_an_error(monkeypatch):
    monkeypatch.setattr(dgg_module, "pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match="n_clusters=7 exceeds"):
        DGG(7, **TINY).fit(np.random.default_rng(0).random((6, 3)))


def test_pool_smaller_than_j_fails_before_any_work(blobs, monkeypatch):
    monkeypatch.setattr(dgg_module, "pretrain", lambda *a, **k: pytest.fail("pretraining started"))
    with pytest.raises(ValueError, match="pool_size=3 must be at least n_neighbors=5"):
        DGG(3, **{**TINY, "neighbor_selection": "random_top", "pool_size": 3}).fit(blobs.X)


# ------------------------------------------------------------------ 3. save / load
RAN = []


def _record(message):
    RAN.append(message)


class _Trap:
    """Unpickles by calling ``_record``: what a malicious file would do (run code on load)."""

    def __reduce__(self):
        return (_record, ("code ran",))


def test_a_saved_model_loads_with_weights_only(blobs, tmp_path):
    model = DGG(3, **TINY, random_state=0).fit(blobs.X)
    path = model.save(tmp_path / "m.pt")
    state = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors and containers only
    assert state["estimator"] == "DGG"


def test_load_runs_no_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"version": 0, "payload": _Trap()}, path)
    RAN.clear()
    with pytest.raises(Exception):
        DGG.load(path)
    assert RAN == []


def test_a_model_fitted_on_cuda_loads_and_predicts_on_a_cpu(blobs, tmp_path, monkeypatch):
    """Tensors tagged "cuda:0" in the file (as torch.save writes them from a GPU) and device="cuda" in the params."""
    model = DGG(3, **TINY, random_state=0).fit(blobs.X)
    expected = model.predict_proba(blobs.X)
    model.device = "cuda"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        path = model.save(tmp_path / "gpu.pt")
    model.device = "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):  # the file really holds CUDA tensors
            torch.load(path, weights_only=True)
        with pytest.warns(UserWarning, match="CUDA is not available"):
            loaded = DGG.load(path)
        assert loaded.device_.type == "cpu"
    else:
        loaded = DGG.load(path)
    np.testing.assert_allclose(loaded.predict_proba(blobs.X), expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ 4. cache keys and corrupt files
def test_the_cache_key_changes_with_threads_versions_and_kernels(monkeypatch):
    with torch_threads(1):
        one = cache.cache_key("part")
        assert cache.cache_key("part") == one
    with torch_threads(2):
        assert cache.cache_key("part") != one
    with torch_threads(1):
        for package in ("torch", "numpy", "scikit-learn", "umap-learn"):
            with monkeypatch.context() as patch:
                real = cache.metadata.version
                patch.setattr(cache.metadata, "version", lambda name, p=package: "0.0" if name == p else real(name))
                assert cache.cache_key("part") != one, package
        other = "AVX2, MKL_CBWR=AVX2" if cache.cpu_math().startswith("DEFAULT") else "DEFAULT, MKL_CBWR=COMPATIBLE"
        monkeypatch.setattr(cache, "cpu_math", lambda: other)  # kernels other than this run's (it may run on either)
        assert cache.cache_key("part") != one


def test_a_truncated_cache_file_is_a_miss_with_a_warning(tmp_path):
    path = tmp_path / "x.pt"
    cache.save_atomic({"a": torch.ones(3)}, path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.warns(UserWarning, match="ignored"):
        assert cache.load_cached(path) is None
    path.write_bytes(b"")
    with pytest.warns(UserWarning, match="ignored"):
        assert cache.load_cached(path) is None


def test_other_cache_errors_are_raised(tmp_path):
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(OSError):
        cache.load_cached(tmp_path / "folder.pt")


# ------------------------------------------------------------------ 5. seeds
def test_neighbouring_seeds_share_no_stage_seed():
    from dggbook.model.pretrain import STAGES, stage_seeds

    for s in (0, 1, 41):
        assert set(stage_seeds(s).values()).isdisjoint(stage_seeds(s + 1).values())
        assert len(set(stage_seeds(s).values())) == len(STAGES)
    assert stage_seeds(7) == stage_seeds(7)


def test_random_state_takes_what_scikit_learn_takes(blobs, tmp_path):
    params = {**TINY, "cache_dir": tmp_path}
    a = DGG(3, **params, random_state=np.random.RandomState(4)).fit(blobs.X)
    b = DGG(3, **params, random_state=np.random.RandomState(4)).fit(blobs.X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert not list(tmp_path.iterdir())  # no cache without an int seed
    DGG(3, **TINY, random_state=None).fit(blobs.X)
    VaDE(3, **TINY_VADE, random_state=np.random.RandomState(4)).fit(blobs.X)


def test_the_same_int_seed_reproduces_the_labels_exactly(blobs):
    a = DGG(3, **TINY, random_state=11).fit(blobs.X)
    b = DGG(3, **TINY, random_state=11).fit(blobs.X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.history_[-1]["total"] == b.history_[-1]["total"]


# ------------------------------------------------------------------ 6. one UMAP per fit
def test_umap_runs_once_for_the_start_and_the_graph(blobs, monkeypatch):
    import umap

    calls = []
    real = umap.UMAP.fit_transform
    monkeypatch.setattr(umap.UMAP, "fit_transform", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    params = {**TINY, "init": "umap", "graph_space": "umap", "umap_components": 2, "umap_neighbors": 10}
    model = DGG(3, **params, random_state=0).fit(blobs.X)
    assert len(calls) == 1
    assert model.graph_.n_neighbors == TINY["n_neighbors"]


def test_a_cached_start_brings_its_umap_embedding(blobs, tmp_path, monkeypatch):
    import umap

    params = {**TINY, "init": "umap", "graph_space": "umap", "umap_components": 2, "umap_neighbors": 10,
              "cache_dir": tmp_path}
    first = DGG(3, **params, random_state=0).fit(blobs.X)
    monkeypatch.setattr(umap.UMAP, "fit_transform", lambda *a, **k: pytest.fail("UMAP ran again"))
    again = DGG(3, **params, random_state=0).fit(blobs.X)
    assert again.pretrain_from_cache_
    torch.testing.assert_close(again.graph_.indices, first.graph_.indices)


# ------------------------------------------------------------------ 7. fit_predict passes init_labels
@pytest.mark.parametrize("estimator", [DGG(3, **TINY, random_state=0), VaDE(3, **TINY_VADE, random_state=0)])
def test_fit_predict_passes_init_labels(estimator, blobs):
    start = np.asarray(blobs.y, dtype=np.int64)[::-1].copy()
    labels = estimator.fit_predict(blobs.X, init_labels=start)
    np.testing.assert_array_equal(estimator.start_labels_, start)
    np.testing.assert_array_equal(labels, estimator.labels_)


# ------------------------------------------------------------------ 8. n_threads governs every pool
def test_kmeans_runs_under_the_thread_limit(blobs, monkeypatch):
    from threadpoolctl import threadpool_info

    import dggbook.model.start as start_module

    seen = []
    real = start_module.KMeans

    class Spy(real):
        def fit(self, *args, **kwargs):
            seen.append({pool["user_api"]: pool["num_threads"] for pool in threadpool_info()})
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(start_module, "KMeans", Spy)
    DGG(3, **TINY, n_threads=2, random_state=0).fit(blobs.X)
    assert seen and all(set(pools.values()) == {2} for pools in seen), seen


def test_the_first_fit_of_a_process_trains_on_n_threads():
    """The first UMAP of a process starts numba's pool, which reset torch's thread count (to numba's)."""
    script = textwrap.dedent("""
        import dggbook, torch, numpy as np, sys
        sys.path.insert(0, "tests")
        from tiny_model import TINY_DGG
        import dggbook.model.dgg as m
        seen = []
        real = m.train_dgg
        m.train_dgg = lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k)
        X = np.random.default_rng(0).random((60, 5)).astype(np.float32)
        params = {**TINY_DGG, "epochs": 1, "init": "umap", "umap_components": 2, "umap_neighbors": 5}
        m.DGG(3, **params, n_threads=1, random_state=0).fit(X)
        m.DGG(3, **params, n_threads=1, random_state=0).fit(X)
        print("THREADS", seen)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["NUMBA_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "THREADS [1, 1]" in out.stdout, out.stdout


# ------------------------------------------------------------------ float64 default dtype
@pytest.mark.parametrize("estimator", [DGG(3, **TINY, random_state=0), VaDE(3, **TINY_VADE, random_state=0)])
def test_fit_works_under_a_float64_default_dtype(estimator, blobs):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        estimator.fit(blobs.X)
        assert torch.get_default_dtype() == torch.float64
        assert estimator.predict(blobs.X).shape == (blobs.X.shape[0],)
        assert next(estimator.networks_.parameters()).dtype == torch.float32
    finally:
        torch.set_default_dtype(previous)
