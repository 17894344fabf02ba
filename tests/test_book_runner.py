"""``make book`` / ``make book-check`` (dggbook.book.runner) on tiny notebooks: progress, failures kept, outputs compared."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from dggbook.book import runner as book_runner


def write_notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def build(tmp_path, monkeypatch):
    folder = tmp_path / "build"
    monkeypatch.setattr(book_runner, "build_dir", lambda: folder)
    monkeypatch.setattr(book_runner, "committed_figures_dir", lambda: tmp_path / "figures")
    monkeypatch.delenv("DGGBOOK_FIGURES", raising=False)
    return folder


def test_check_mode_writes_copies_only_and_accepts_equal_marked_outputs(tmp_path, build, capsys):
    source = write_notebook(tmp_path / "01_ok.ipynb", "# BOOK_CHECK_OUTPUT\nprint(6 * 7)", "import os\nprint(os.environ['DGGBOOK_FIGURES'])")
    book_runner.main([str(source)])  # make book: executes in place, so the committed notebook holds "42"
    committed = source.read_bytes()
    assert book_runner.main(["--check", str(source)]) == 0
    assert source.read_bytes() == committed  # tracked file untouched
    executed = nbformat.read(build / "book-check" / "01_ok.ipynb", as_version=4)
    assert book_runner.cell_text(executed.cells[0]) == "42\n"
    assert all("execution" not in c.metadata for c in executed.cells)  # no timestamps in committed notebooks
    assert book_runner.cell_text(executed.cells[1]).strip() == str(build / "book-check" / "figures")
    out = capsys.readouterr().out
    assert "[1/1] 01_ok.ipynb: started" in out and "[1/1] 01_ok.ipynb: finished in" in out
    assert "all 1 marked cells print what the committed notebooks show" in out


def test_check_mode_fails_when_a_marked_output_changed(tmp_path, build, capsys):
    source = write_notebook(tmp_path / "02_drift.ipynb", "# BOOK_CHECK_OUTPUT\nprint(6 * 7)")
    book_runner.main([str(source)])
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].outputs[0]["text"] = "41\n"  # what an older run committed
    nbformat.write(nb, source)
    assert book_runner.main(["--check", str(source)]) == 1
    err = capsys.readouterr().err
    assert "-41" in err and "+42" in err and "1 difference(s)" in err


FIGURE_CELL = "import os, pathlib\npathlib.Path(os.environ['DGGBOOK_FIGURES'], 'f.png').write_bytes(b'png-1')"


def test_check_mode_compares_figures_byte_for_byte(tmp_path, build, capsys):
    source = write_notebook(tmp_path / "05_fig.ipynb", FIGURE_CELL)
    assert book_runner.main([str(source)]) == 0  # make book: writes figures/f.png
    assert (tmp_path / "figures" / "f.png").read_bytes() == b"png-1"
    assert book_runner.main(["--check", str(source)]) == 0
    assert "all 1 figures equal the committed ones" in capsys.readouterr().out
    (tmp_path / "figures" / "f.png").write_bytes(b"png-0")  # a stale committed figure
    assert book_runner.main(["--check", str(source)]) == 1
    assert "figure f.png differs" in capsys.readouterr().err
    (tmp_path / "figures" / "f.png").unlink()
    assert book_runner.main(["--check", str(source)]) == 1
    assert "f.png is not committed" in capsys.readouterr().err


def test_book_mode_executes_in_place_with_quick_mode_off(tmp_path, build, monkeypatch):
    monkeypatch.setenv("DGGBOOK_QUICK", "1")
    monkeypatch.delenv("DGGBOOK_CACHE", raising=False)
    source = write_notebook(tmp_path / "03_mode.ipynb", "import os\nprint(os.environ.get('DGGBOOK_QUICK'))")
    assert book_runner.main([str(source)]) == 0
    executed = nbformat.read(source, as_version=4)
    assert book_runner.cell_text(executed.cells[0]) == "None\n"
    assert executed.metadata["kernelspec"] == book_runner.KERNELSPEC  # the venv's kernel, named in the file
    # ... and only there: the caller's environment comes back as it was
    assert os.environ.get("DGGBOOK_QUICK") == "1"
    assert "DGGBOOK_FIGURES" not in os.environ and "DGGBOOK_CACHE" not in os.environ


def test_a_failing_notebook_is_kept_with_its_outputs_and_named(tmp_path, build, capsys):
    source = write_notebook(tmp_path / "04_fails.ipynb", "print('before')", "assert 1 == 2, 'the bound broke'",
                            "print('never')")
    original = source.read_bytes()
    assert book_runner.main([str(source)]) == 1
    kept = build / "failed" / "04_fails.ipynb"
    nb = nbformat.read(kept, as_version=4)
    assert book_runner.cell_text(nb.cells[0]) == "before\n"
    assert "the bound broke" in book_runner.cell_text(nb.cells[1])
    assert nb.cells[2].get("outputs", []) == []
    assert source.read_bytes() == original  # the committed notebook is not overwritten
    captured = capsys.readouterr()
    assert str(kept) in captured.err and "04_fails.ipynb: FAILED" in captured.out


def test_missing_notebook_is_a_one_line_error(tmp_path, build, capsys):
    assert book_runner.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "nope.ipynb" in capsys.readouterr().err
