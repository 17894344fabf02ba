"""The book layer: what the notebooks call and nothing else does.

- ``setup``: the first cell of every notebook (:func:`setup_book`), and :func:`savefig`;
- ``runner``: ``make book`` and ``make book-check``;
- ``plots``: pictures of a fitted estimator;
- ``js_explorer``: the JS-between-rotated-Gaussians explorer of notebook 05;
- ``study_plots``: the paired-difference plots of notebook 08;
- ``exercises``: the autochecks of the exercises; ``course``: ``make course`` (student copies, nbgrader).

It may import the derivation, the model and the study layer; none of them imports it. Its names load on
first use, so ``python -m dggbook.book.runner`` pins the CPU kernels before anything loads torch.
"""
from __future__ import annotations

__all__ = ["BookSettings", "savefig", "seed_everything", "setup_book"]


def __getattr__(name: str):
    if name in __all__:
        from . import setup

        return getattr(setup, name)
    raise AttributeError(f"module 'dggbook.book' has no attribute {name!r}")
