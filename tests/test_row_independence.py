"""A row's ``transform`` and ``predict_proba`` do not depend on the rows passed with it (issue 19, section 1).

In a float32 pass they did, in the last bit: the matrix product's kernel takes another code path for the
rows of its last, partial tile and for a block of one row. On the AMD EPYC of the README a block of one
row differs; under ``MKL_CBWR=COMPATIBLE`` (tiles of 4 rows) the rows of 21 do; on an Intel Xeon scikit-learn's
``check_methods_sample_order_invariance`` failed for 20 rows. The estimators now evaluate a float64 copy
of the networks and round to float32 (:func:`dggbook.model.runtime.float64_copy`), so each row's answer
is its own, bit for bit, on any of these kernels: ``make test-other-cpu`` runs this file under
``ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE``.
"""
import os
import platform
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from dggbook.model.data import make_blobs_data
from dggbook.model.dgg import DGG
from dggbook.model.vade import VaDE

TINY = dict(likelihood="gaussian", noise_var=0.05, latent_dim=3, hidden_dims=(16, 16, 32), layerwise_epochs=2,
            autoencoder_epochs=10, vae_epochs=2, pretrain_batch_size=32, epochs=3, batch_size=32, init="kmeans",
            device="cpu", cache_dir=False)
DGG_ONLY = dict(n_neighbors=3, neighbor_selection="nearest", n_neighbor_samples=1, classifier_epochs=10,
                classifier_hidden_dims=(), graph_space="input")
N_ROWS = 1030  # more than one 1024-row block of map_in_batches, and not a multiple of any tile size
METHODS = ("transform", "predict_proba")


@pytest.fixture(scope="module")
def data():
    return make_blobs_data(N_ROWS, 3, 16, random_state=3).X


@pytest.fixture(scope="module", params=["DGG", "VaDE"])
def model(request, data):
    if request.param == "DGG":
        return DGG(3, **TINY, **DGG_ONLY, random_state=0).fit(data)
    return VaDE(3, **TINY, random_state=0).fit(data)


@pytest.mark.parametrize("method", METHODS)
def test_a_row_gets_the_same_answer_in_any_order_and_any_company(model, data, method):
    """Bit for bit: permutations, single rows, and subsets whose size is not a multiple of any tile."""
    compute = getattr(model, method)
    full = compute(data)
    assert full.dtype == np.float32
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(N_ROWS)
        np.testing.assert_array_equal(compute(data[order]), full[order], err_msg=f"{method}: permuted rows")
    for size in (21, 7, 5, 3):
        rows = rng.choice(N_ROWS, size, replace=False)
        np.testing.assert_array_equal(compute(data[rows]), full[rows], err_msg=f"{method}: {size} of the rows")
    for i in (0, 17, N_ROWS - 1):
        np.testing.assert_array_equal(compute(data[i : i + 1]), full[i : i + 1], err_msg=f"{method}: row {i} alone")


def test_predicting_leaves_the_fitted_networks_as_they_were(model, data):
    """The float64 pass runs on a copy: the estimator keeps its float32 weights, unchanged; and fit's labels_
    are what predict gives (both come from the same pass)."""
    before = {k: v.clone() for k, v in model.networks_.state_dict().items()}
    model.predict_proba(data[:5]), model.transform(data[:5])
    after = model.networks_.state_dict()
    assert all(after[k].dtype == torch.float32 and torch.equal(after[k], v) for k, v in before.items())
    np.testing.assert_array_equal(model.predict(data), model.labels_)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 kernel settings")
def test_a_saved_model_predicts_the_same_bits_on_other_kernels(model, data, tmp_path):
    """The same fitted model, loaded by a process on other CPU kernels (standing in for another CPU),
    gives bit for bit the same transform and predict_proba."""
    path = model.save(tmp_path / "model.pt")
    np.save(tmp_path / "X.npy", data)
    here = {m: getattr(model, m)(data) for m in METHODS}
    current = (os.environ.get("ATEN_CPU_CAPABILITY"), os.environ.get("MKL_CBWR"))
    other = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"} if current == ("default", "COMPATIBLE") else \
        {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
    script = textwrap.dedent(f"""
        import numpy as np, torch
        from dggbook.model.{'dgg' if isinstance(model, DGG) else 'vade'} import {type(model).__name__} as Model
        open({str(tmp_path / 'kernels.txt')!r}, "w").write(torch.backends.cpu.get_cpu_capability())
        torch.set_num_threads(1)
        m = Model.load({str(path)!r})
        X = np.load({str(tmp_path / 'X.npy')!r})
        for name in {METHODS!r}:
            np.save({str(tmp_path)!r} + "/" + name + ".npy", getattr(m, name)(X))
        """)
    env = {**os.environ, **other, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    if (tmp_path / "kernels.txt").read_text() == torch.backends.cpu.get_cpu_capability():
        pytest.skip(f"this CPU offers torch no kernels other than {torch.backends.cpu.get_cpu_capability()}")
    for name in METHODS:
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), here[name],
                                      err_msg=f"{name} under {other} differs from {current}")


def test_ci_runs_the_estimator_tests_on_other_kernels():
    """`make test-other-cpu` runs this file and the conformance checks under the stand-in kernels, and CI runs it."""
    root = Path(__file__).resolve().parent.parent
    makefile = (root / "Makefile").read_text()
    assert re.search(r"^OTHER_CPU_ENV := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE ", makefile, flags=re.M)
    tests = makefile.split("OTHER_CPU_TESTS :=", 1)[1].split("\ntest-other-cpu:", 1)[0]
    assert "tests/test_sklearn_conformance.py" in tests and f"tests/{Path(__file__).name}" in tests
    assert re.search(r"^make test-other-cpu$", (root / ".ci" / "run").read_text(), flags=re.M)
