"""``dggbook train`` (dggbook.train_cli): one line of scores, metrics JSON, checkpoint, figures."""
import argparse
import json

import pytest

from dggbook.cli import main
from dggbook.model.dgg import DGG
from dggbook.train_cli import add_train_arguments, run_train


def parse(argv):
    return add_train_arguments(argparse.ArgumentParser()).parse_args(argv)


def test_train_writes_metrics_checkpoint_and_figures(tmp_path, capsys):
    out = tmp_path / "run"
    args = parse(["--dataset", "blobs", "--seed", "1", "--device", "cpu", "--quick", "--no-cache",
                  "--out", str(out), "--json", str(tmp_path / "m.json"), "--epochs", "3", "--init", "gmm"])
    assert run_train(args) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "ACC" in line and "NMI" in line and "ARI" in line and "time" in line
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"acc", "nmi", "ari", "seconds", "stage_seconds", "start_acc", "f2_agreement", "versions"} <= set(metrics)
    assert {"python", "torch", "numpy", "scipy", "scikit-learn", "cpu_math"} <= set(metrics["versions"])
    assert metrics["torch_threads"] == 1  # the default, applied by the CLI itself
    assert set(metrics["stage_seconds"]) == {"pretrain", "graph", "dgg"} and 0.5 < metrics["f2_agreement"] <= 1
    assert 0.5 < metrics["graph_purity"] <= 1 and 0 < metrics["lowest_acc"] <= 1
    # the quick preset sets every number itself; "auto" hand-over means none for its k-means start
    assert metrics["auto_settings"] == {"handover_epochs": 0}
    assert (metrics["start_source"], metrics["start_cuts"], metrics["graph_space"]) == ("gmm", {}, "input")
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert {p.name for p in out.iterdir()} >= {"metrics.json", "model.pt", "latent.png", "history.png"}
    assert len(DGG.load(out / "model.pt").history_) == 3
    assert DGG.load(out / "model.pt").init == "gmm"


@pytest.mark.parametrize("argv, option", [
    (["--dataset", "nope"], "--dataset"),
    (["--dataset", "digits", "--device", "gpu"], "--device"),
    (["--dataset", "digits", "--epochs", "-1"], "--epochs"),
    (["--dataset", "digits", "--epochs", "2.5"], "--epochs"),
    (["--dataset", "digits", "--seed", "-1"], "--seed"),
    (["--dataset", "digits", "--threads", "0"], "--threads"),
    (["--dataset", "digits", "--init", "spectral"], "--init"),
])
def test_bad_options_exit_2_with_one_line_naming_the_option(argv, option, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["train", *argv, "--out", str(tmp_path / "run")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"argument {option}" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_missing_data_file_exits_2_with_one_line(capsys, tmp_path):
    assert main(["train", "--dataset", "reuters10k", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "reuters10k" in err and str(tmp_path) in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("under", [False, True])
def test_an_out_that_cannot_be_a_folder_exits_2_before_the_fit(under, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(DGG, "fit", lambda *a, **k: pytest.fail("the fit started"))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "run" if under else blocker
    assert main(["train", "--dataset", "blobs", "--quick", "--no-cache", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--out" in err and "Traceback" not in err


def test_a_failed_fit_leaves_no_partial_outputs(monkeypatch, tmp_path):
    def broken_fit(self, X, y=None):
        raise FloatingPointError("DGG loss became NaN")

    monkeypatch.setattr(DGG, "fit", broken_fit)
    with pytest.raises(FloatingPointError):
        run_train(parse(["--dataset", "blobs", "--quick", "--no-cache", "--out", str(tmp_path / "run"),
                         "--json", str(tmp_path / "m.json")]))
    assert not (tmp_path / "run").exists() and not (tmp_path / "m.json").exists()


def test_help_is_plain_text_and_names_every_dataset(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for name in ("digits", "blobs", "mnist", "reuters10k", "hhar", "stl10", "--data-dir"):
        assert name in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "``" not in capsys.readouterr().out
