"""``make book`` / ``make book-check`` (dggbook.book.runner) on tiny notebooks: progress, failures kept, outputs compared."""
from __future__ import annotations

import os
import time

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
    assert "all 1 exact cells print what the committed notebooks show" in out


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
    assert "all 1 exact figures equal the committed ones byte for byte" in capsys.readouterr().out
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


# ---- what --check promises across CPUs: exact cells, promise cells, trained figures (README, "Reproducibility")

def notebook_with_output(source, text):
    """A one-cell notebook whose code cell ``source`` showed ``text`` on stdout (no kernel needed)."""
    cell = new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return new_notebook(cells=[cell])


PROMISE = "# BOOK_CHECK_PROMISE\nacc = 0.81\nprint(f'| DGG | {acc:.4f} |')\nassert acc >= 0.78"


def test_exact_cells_stay_exact():
    source = "# BOOK_CHECK_OUTPUT\nprint(0.5)"
    assert book_runner.compare_marked_outputs(notebook_with_output(source, "0.50000\n"),
                                              notebook_with_output(source, "0.50000\n"), "nb") == []
    problems = book_runner.compare_marked_outputs(notebook_with_output(source, "0.50000\n"),
                                                  notebook_with_output(source, "0.50001\n"), "nb")
    assert len(problems) == 1 and "+0.50001" in problems[0]


def test_promise_cells_compare_text_with_numbers_masked():
    committed = notebook_with_output(PROMISE, "| DGG | 0.8091 |\n| VaDE    | 0.7741 |\n")
    other_cpu = notebook_with_output(PROMISE, "| DGG | 0.8237 |\n| VaDE | 0.80 |\n")  # other digits, same rows
    assert book_runner.compare_marked_outputs(committed, other_cpu, "07") == []
    renamed = notebook_with_output(PROMISE, "| DGG | 0.8237 |\n| VaDE (global pi) | 0.80 |\n")
    problems = book_runner.compare_marked_outputs(committed, renamed, "07")
    assert len(problems) == 1 and "promise cell 1 printed other text" in problems[0]
    assert "+| VaDE (global pi) | # |" in problems[0]
    missing_row = notebook_with_output(PROMISE, "| DGG | 0.8237 |\n")
    assert len(book_runner.compare_marked_outputs(committed, missing_row, "07")) == 1


def test_promise_band_bounds_every_number():
    source = PROMISE.replace("PROMISE", "PROMISE atol=0.03")
    committed = notebook_with_output(source, "seed 0: ACC 0.8091, NMI 0.8638\n")
    within = notebook_with_output(source, "seed 0: ACC 0.8287, NMI 0.8500\n")
    assert book_runner.compare_marked_outputs(committed, within, "07") == []
    outside = notebook_with_output(source, "seed 0: ACC 0.8500, NMI 0.8638\n")
    problems = book_runner.compare_marked_outputs(committed, outside, "07")
    assert len(problems) == 1 and "0.8091 -> 0.85" in problems[0] and "atol=0.03" in problems[0]
    relative = PROMISE.replace("PROMISE", "PROMISE rtol=0.1")  # 10 % of 22.8 is 2.28
    assert book_runner.compare_marked_outputs(notebook_with_output(relative, "term 1 22.8\n"),
                                              notebook_with_output(relative, "term 1 24.9\n"), "07") == []
    assert len(book_runner.compare_marked_outputs(notebook_with_output(relative, "term 1 22.8\n"),
                                                  notebook_with_output(relative, "term 1 25.2\n"), "07")) == 1


def test_a_promise_cell_must_assert_its_promise():
    source = "# BOOK_CHECK_PROMISE\nprint('ACC', 0.81)"
    problems = book_runner.compare_marked_outputs(notebook_with_output(source, "ACC 0.81\n"),
                                                  notebook_with_output(source, "ACC 0.81\n"), "07")
    assert len(problems) == 1 and "asserts nothing" in problems[0]


@pytest.mark.parametrize("line, message", [("# BOOK_CHECK_PROMISE atol=-1", "atol must be"),
                                           ("# BOOK_CHECK_PROMISE rtol=1..2", "rtol='1..2' is not a number")])
def test_a_bad_band_is_a_value_error_naming_it(line, message):
    with pytest.raises(ValueError, match=message):
        book_runner.promise_band(line + "\nassert True")


def write_png(path, size, colour=(255, 255, 255)):
    from PIL import Image

    Image.new("RGB", size, colour).save(path)
    return path


def test_trained_figures_need_a_valid_png_of_the_committed_size(tmp_path):
    committed, written = tmp_path / "figures", tmp_path / "written"
    committed.mkdir(), written.mkdir()
    write_png(committed / "curves.png", (400, 300))
    write_png(committed / "exact.png", (400, 300))
    trained = {"curves.png": "07"}
    ok = [write_png(written / "curves.png", (410, 295), (250, 0, 0)),  # other pixels, similar size
          write_png(written / "exact.png", (400, 300))]
    assert book_runner.compare_figures(ok, committed, trained) == []
    write_png(written / "exact.png", (400, 300), (250, 0, 0))  # an exact figure must stay byte for byte
    assert book_runner.compare_figures([written / "exact.png"], committed, trained) == [
        f"figure exact.png differs from the committed {committed / 'exact.png'}"]
    write_png(written / "curves.png", (400, 200))
    problems = book_runner.compare_figures([written / "curves.png"], committed, trained)
    assert len(problems) == 1 and "400x200 pixels" in problems[0]
    (written / "curves.png").write_bytes((committed / "curves.png").read_bytes()[:60])  # truncated
    problems = book_runner.compare_figures([written / "curves.png"], committed, trained)
    assert len(problems) == 1 and "not a valid PNG" in problems[0]


def test_the_trained_figure_list_names_committed_figures_that_notebooks_write():
    from dggbook.paths import committed_figures_dir, project_root

    sources = "".join(p.read_text() for p in (project_root() / "notebooks").glob("*.py"))
    for name in book_runner.TRAINED_FIGURES:
        assert (committed_figures_dir() / name).is_file(), name
        assert f'"{name.removesuffix(".png")}"' in sources, f"no notebook saves {name}"


def test_every_promise_cell_in_the_book_asserts_its_promise():
    import jupytext

    from dggbook.paths import project_root

    promised = 0
    for path in sorted((project_root() / "notebooks").glob("*.py")):
        for cell in jupytext.read(path).cells:
            if cell.cell_type == "code" and book_runner.PROMISE_MARKER in cell.source:
                promised += 1
                assert book_runner.asserts_something(cell.source), f"{path.name}: a promise cell asserts nothing"
                book_runner.promise_band(cell.source)  # a readable band, if any
    assert promised >= 2  # at least notebook 06's purity table and notebook 07's scores


# ---- a cell that never replies (issue 19, section 3): stopped within seconds here, named, kept, reported
SILENT_CELL = "import time\ntime.sleep(10**6)  # never returns, prints nothing, uses no CPU"


def test_a_silent_cell_is_stopped_named_and_kept(tmp_path, build, capsys):
    source = write_notebook(tmp_path / "06_silent.ipynb", "print('before')", SILENT_CELL, "print('never')")
    original = source.read_bytes()
    start = time.monotonic()
    assert book_runner.main(["--silent-timeout", "3", "--cell-timeout", "40", str(source)]) == 1
    assert time.monotonic() - start < 35  # the watchdog, not the 40-s cell limit, stopped it
    kept = build / "failed" / "06_silent.ipynb"
    nb = nbformat.read(kept, as_version=4)
    assert book_runner.cell_text(nb.cells[0]) == "before\n" and nb.cells[2].get("outputs", []) == []
    assert source.read_bytes() == original
    captured = capsys.readouterr()
    assert "06_silent.ipynb: FAILED" in captured.out
    assert "cell 1 ('import time') silent for 3 s" in captured.err
    assert str(kept) in captured.err and "rerun this notebook alone" in captured.err


def test_a_cell_that_computes_without_output_is_not_silent(tmp_path, build):
    busy = "import time\nend = time.process_time() + 6\nwhile time.process_time() < end:\n    pass\nprint('done')"
    source = write_notebook(tmp_path / "07_busy.ipynb", busy)
    assert book_runner.main(["--silent-timeout", "3", "--cell-timeout", "120", str(source)]) == 0
    assert book_runner.cell_text(nbformat.read(source, as_version=4).cells[0]) == "done\n"


def test_a_reply_the_poll_misses_is_read_within_a_slice():
    """The lost wakeup: the reply sits in the socket, but the channel's poll wakes only at its timeout. The
    sliced waits of WatchedClient end each poll after POLL_SLICE_S and so read it within about a second."""
    import asyncio
    from types import SimpleNamespace

    from dggbook.book.execution import POLL_SLICE_S, WatchedClient

    waiting = {"msg_type": "execute_reply"}

    async def poll_that_wakes_only_at_its_timeout(timeout=None):
        await asyncio.sleep(min(timeout if timeout is not None else 10.0, 10.0))
        return waiting

    client = WatchedClient(nbformat.v4.new_notebook(), silent_timeout=60)
    client.kc = SimpleNamespace(shell_channel=SimpleNamespace(get_msg=poll_that_wakes_only_at_its_timeout),
                                iopub_channel=SimpleNamespace(get_msg=poll_that_wakes_only_at_its_timeout))
    client._slice_waits()
    start = time.monotonic()
    assert asyncio.run(client.kc.shell_channel.get_msg(timeout=3600)) is waiting
    assert asyncio.run(client.kc.iopub_channel.get_msg(timeout=None)) is waiting
    assert time.monotonic() - start < 4 * POLL_SLICE_S
