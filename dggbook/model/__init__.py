"""The model layer: data, the graph, the networks, pretraining, Algorithm 1 and the ``DGG`` estimator.

Researchers build on this layer. It may use :mod:`dggbook.derivation` (the
training loss is made of the functions the derivation checks) and never the
book layer.

- ``data``, ``metrics``: offline data sets; ACC, NMI, ARI;
- ``graph``, ``siamese``: the neighbour graph (§5) and the Siamese embedding (eq. (19));
- ``networks``, ``likelihoods``: f1, g, f2, the GMM; p(x|z) by name;
- ``settings``: every default of pretraining and Algorithm 1, in one place;
- ``pretrain``, ``algorithm1``: the initialisation (§7) and Algorithm 1;
- ``departures``: the blog's and the public code's versions of a step, for Algorithm 1 by name;
- ``base``, ``dgg``, ``vade``, ``presets``: the shared estimator base class, the ``DGG`` and ``VaDE``
  scikit-learn estimators, and their settings per data set;
- ``start``: the starting partition of mu~ (UMAP, GMM or k-means);
- ``cache``, ``runtime``: cached weights; device, mini-batches, the epoch loop.
"""
from __future__ import annotations
