"""Tests for dggbook.model.siamese: DGG eq. (19) and the Siamese embedding of notebook 06."""
import numpy as np
import pytest
import torch
from torch import nn

from dggbook.model.data import make_blobs_data
from dggbook.model.graph import build_graph
from dggbook.model.siamese import SiameseNet, contrastive_loss, embed, make_pairs, train_siamese

TINY = dict(hidden_dims=(32,), embedding_dim=1, batch_size=128, progress=False)


def _pairs_at_distances(distances):
    """Embeddings whose pair distances are exactly ``distances`` (1-D embeddings)."""
    d = torch.tensor(distances, dtype=torch.float64)
    return torch.zeros(len(distances), 1, dtype=torch.float64), d[:, None]


# --- contrastive_loss --------------------------------------------------------

def test_paper_loss_is_d2_for_positives_and_squared_hinge_on_d_for_negatives():
    a, b = _pairs_at_distances([2.0, 1.0, 4.0, 2.0])
    positive = torch.tensor([True, False, False, False])
    # costs: 2^2, (3-1)^2, 0, (3-2)^2
    loss = contrastive_loss(a, b, positive, margin=3.0, variant="paper")
    assert float(loss) == pytest.approx((4 + 4 + 0 + 1) / 4)


def test_public_code_loss_hinges_on_the_squared_distance():
    a, b = _pairs_at_distances([2.0, 1.0, 4.0, 2.0])
    positive = torch.tensor([1, 0, 0, 0])
    # costs: 3 + 4, max(3 - 1, 0), max(3 - 16, 0), max(3 - 4, 0)
    loss = contrastive_loss(a, b, positive, margin=3.0, variant="public_code")
    assert float(loss) == pytest.approx((7 + 2 + 0 + 0) / 4)


def test_variants_differ_on_a_negative_between_sqrt3_and_3():
    a, b = _pairs_at_distances([2.0])
    negative = torch.tensor([False])
    assert float(contrastive_loss(a, b, negative, variant="paper")) == pytest.approx(1.0)
    assert float(contrastive_loss(a, b, negative, variant="public_code")) == 0.0


def test_paper_loss_gradient_is_finite_for_identical_negative_pair():
    a = torch.ones(2, 3, requires_grad=True)
    b = torch.ones(2, 3)
    loss = contrastive_loss(a, b, torch.tensor([False, True]))
    loss.backward()
    assert loss.item() == pytest.approx(9 / 2)
    assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize(
    "emb_a, emb_b, is_positive, kwargs, argument",
    [
        (torch.zeros(3, 2), torch.zeros(3, 3), torch.ones(3), {}, "emb_b"),
        (torch.zeros(3), torch.zeros(3), torch.ones(3), {}, "emb_a"),
        (torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(2), {}, "is_positive"),
        (torch.zeros(3, 2), torch.zeros(3, 2), torch.tensor([0, 1, 2]), {}, "is_positive"),
        (torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(3), {"variant": "triplet"}, "variant"),
        (torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(3), {"margin": 0.0}, "margin"),
    ],
)
def test_contrastive_loss_rejects_bad_input(emb_a, emb_b, is_positive, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        contrastive_loss(emb_a, emb_b, is_positive, **kwargs)


# --- make_pairs ----------------------------------------------------------------

def test_make_pairs_takes_nearest_as_positives_and_random_others_as_negatives():
    nbrs = torch.tensor([[1, 2, 3], [0, 2, 3], [3, 1, 0], [2, 1, 0], [3, 2, 1]])
    anchors, partners, positive = make_pairs(nbrs, 2, random_state=0)
    assert anchors.shape == partners.shape == positive.shape == (2 * 5 * 2,)
    assert int(positive.sum()) == 10
    pos = sorted(zip(anchors[positive].tolist(), partners[positive].tolist()))
    assert pos == sorted((i, int(j)) for i in range(5) for j in nbrs[i, :2])
    neg_a, neg_p = anchors[~positive], partners[~positive]
    assert (neg_a != neg_p).all()
    assert sorted(neg_a.tolist()) == sorted(list(range(5)) * 2)


def test_make_pairs_negatives_are_reproducible_and_seed_dependent():
    nbrs = np.tile(np.arange(1, 4), (50, 1))
    first = make_pairs(nbrs, 1, random_state=7)
    again = make_pairs(nbrs, 1, random_state=7)
    other = make_pairs(nbrs, 1, random_state=8)
    torch.testing.assert_close(first[1], again[1])
    assert not torch.equal(first[1], other[1])


@pytest.mark.parametrize(
    "nbrs, n_positive, argument",
    [
        (np.zeros((4, 2), dtype=int), 3, "n_positive"),
        (np.zeros((4, 2), dtype=int), 0, "n_positive"),
        (np.array([[1], [9], [0], [1]]), 1, "neighbor_indices"),
        (np.zeros(4, dtype=int), 1, "neighbor_indices"),
    ],
)
def test_make_pairs_rejects_bad_input(nbrs, n_positive, argument):
    with pytest.raises(ValueError, match=argument):
        make_pairs(nbrs, n_positive, random_state=0)


# --- SiameseNet ----------------------------------------------------------------

def test_siamese_net_has_the_encoder_shape():
    net = SiameseNet(784)
    sizes = [(layer.in_features, layer.out_features) for layer in net.linear_layers()]
    assert sizes == [(784, 500), (500, 500), (500, 2000), (2000, 10)]
    assert sum(isinstance(m, nn.ReLU) for m in net.layers) == 3
    assert net(torch.zeros(2, 784)).shape == (2, 10)


def test_copy_linear_layers_copies_in_order_and_checks_shapes():
    net = SiameseNet(5, (4,), 3)
    sources = [nn.Linear(5, 4), nn.Linear(4, 3)]
    net.copy_linear_layers(sources)
    x = torch.randn(6, 5)
    torch.testing.assert_close(net(x), sources[1](torch.relu(sources[0](x))))
    with pytest.raises(ValueError, match="sources"):
        net.copy_linear_layers([nn.Linear(5, 4), nn.Linear(4, 2)])


def test_siamese_net_rejects_bad_sizes():
    with pytest.raises(ValueError, match="hidden_dims"):
        SiameseNet(5, (0,), 3)


# --- train_siamese / embed -------------------------------------------------------

@pytest.fixture(scope="module")
def blobs():
    return make_blobs_data(300, 6, 10, random_state=0)


def test_training_raises_neighbour_purity_over_random_init(blobs):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        untrained = SiameseNet(10, TINY["hidden_dims"], TINY["embedding_dim"])  # train_siamese's start
    trained = train_siamese(blobs.X, epochs=10, lr=1e-2, lr_step=7, random_state=0, **TINY)
    before = build_graph(embed(untrained, blobs.X), 10).purity(blobs.y)
    after = build_graph(embed(trained, blobs.X), 10).purity(blobs.y)
    assert after > before + 0.1, (before, after)
    assert len(trained.history) == 10
    assert trained.history[-1] < trained.history[0]


@pytest.mark.parametrize("variant", ["paper", "public_code"])
def test_training_is_deterministic_for_a_seed(blobs, variant):
    runs = [train_siamese(blobs.X, epochs=2, random_state=s, variant=variant, **TINY) for s in (3, 3, 4)]
    for key, value in runs[0].state_dict().items():
        torch.testing.assert_close(value, runs[1].state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(runs[0].layers[0].weight, runs[2].layers[0].weight)


def test_training_starts_from_init_state_dict(blobs):
    start = SiameseNet(10, TINY["hidden_dims"], TINY["embedding_dim"])
    net = train_siamese(blobs.X, epochs=1, lr=1e-12, init_state_dict=start.state_dict(), random_state=0, **TINY)
    torch.testing.assert_close(net.layers[0].weight, start.layers[0].weight, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(n_positive=300), "n_positive"),
        (dict(epochs=0), "epochs"),
        (dict(lr=-1.0), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(variant="triplet"), "variant"),
    ],
)
def test_train_siamese_rejects_bad_arguments(blobs, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        train_siamese(blobs.X, progress=False, **kwargs)


def test_train_siamese_rejects_nan_data():
    X = np.zeros((10, 2), dtype=np.float32)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        train_siamese(X, epochs=1, progress=False)


def test_embed_keeps_the_input_kind_and_ignores_batch_size(blobs):
    net = SiameseNet(10, (8,), 3)
    out = embed(net, blobs.X, batch_size=1000)
    assert isinstance(out, np.ndarray) and out.shape == (300, 3)
    np.testing.assert_allclose(embed(net, blobs.X, batch_size=7), out, rtol=1e-5, atol=1e-6)
    as_tensor = embed(net, torch.from_numpy(blobs.X))
    assert isinstance(as_tensor, torch.Tensor)
    np.testing.assert_allclose(as_tensor.numpy(), out, rtol=1e-5, atol=1e-6)
