"""The book layer: what the notebooks call and nothing else does.

- ``setup``: the first cell of every notebook (:func:`setup_book`), and :func:`savefig`;
- ``runner``: ``make book`` and ``make book-check``;
- ``plots``: pictures of a fitted estimator;
- ``js_explorer``: the JS-between-rotated-Gaussians explorer of notebook 05;
- ``study_plots``: the paired-difference plots of notebook 08;
- ``exercises``: the autochecks of the exercises; ``course``: ``make course`` (student copies, nbgrader).

It may import the derivation and the model layer; neither imports it.
"""
from __future__ import annotations

from .setup import BookSettings, savefig, seed_everything, setup_book

__all__ = ["BookSettings", "savefig", "seed_everything", "setup_book"]
