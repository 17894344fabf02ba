"""``dggbook train`` (dggbook.train_cli): one line of scores, metrics JSON, checkpoint, figures."""
import argparse
import json

import pytest

from dggbook.estimator import DGG
from dggbook.train_cli import add_train_arguments, run_train



def parse(argv):
    return add_train_arguments(argparse.ArgumentParser()).parse_args(argv)


def test_train_writes_metrics_checkpoint_and_figures(tmp_path, capsys):
    out = tmp_path / "run"
    args = parse(["--dataset", "blobs", "--seed", "1", "--device", "cpu", "--quick", "--no-cache",
                  "--out", str(out), "--json", str(tmp_path / "m.json"), "--epochs", "3"])
    assert run_train(args) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "ACC" in line and "NMI" in line and "ARI" in line and "time" in line
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"acc", "nmi", "ari", "seconds", "stage_seconds", "kmeans_start_acc", "versions"} <= set(metrics)
    assert {"python", "torch", "numpy", "scipy", "scikit-learn", "cpu_math"} <= set(metrics["versions"])
    assert metrics["torch_threads"] == 1  # the default, applied by the CLI itself
    assert set(metrics["stage_seconds"]) == {"pretrain", "graph", "dgg"} and 0 <= metrics["kmeans_start_acc"] <= 1
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert {p.name for p in out.iterdir()} >= {"metrics.json", "model.pt", "latent.png", "history.png"}
    assert len(DGG.load(out / "model.pt").history_) == 3


def test_unknown_dataset_is_a_clean_error(tmp_path, capsys):
    assert run_train(parse(["--dataset", "nope", "--out", str(tmp_path)])) == 2
    captured = capsys.readouterr()
    assert "nope" in captured.err and len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize("threads", ["0", "-2"])
def test_bad_thread_count_is_a_clean_error_before_any_work(tmp_path, capsys, threads):
    assert run_train(parse(["--dataset", "blobs", "--threads", threads, "--out", str(tmp_path / "run")])) == 2
    assert "n_threads" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
