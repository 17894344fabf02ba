"""The study layer: experiments about the model, above it.

- ``questions``: the ablation study of the seven questions (notebook 08, ``benchmarks/bench_questions.py``):
  each arm is the recommended preset with one step of the derivation changed;
- ``paired``: paired differences between arms, with their intervals and tests.

It may import the derivation and the model layer; the model never imports it. The book may.
"""
from __future__ import annotations
