"""Tiny networks and data shared by the Algorithm 1 tests (test_dgg.py, test_training_effects.py)."""
import numpy as np
import torch

from dggbook.model.networks import DGGNetworks


def tiny_networks(D=6, K=3, M=2, seed=0):
    torch.manual_seed(seed)
    net = DGGNetworks(D, K, latent_dim=M, hidden_dims=(8,))
    with torch.no_grad():
        net.gmm.means.normal_()
    return net


def deterministic_posterior(net):
    """sigma~ -> 0, so z = mu~ and every ELBO is a deterministic function of the inputs."""
    with torch.no_grad():
        net.encoder.logvar_head.weight.zero_()
        net.encoder.logvar_head.bias.fill_(-40.0)
    return net


def data(N=12, D=6, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).random((N, D)), dtype=torch.float32)


# A DGG estimator that fits 150 blobs in about a second (tests only; not a measurement).
TINY_DGG = dict(likelihood="gaussian", noise_var=0.01, latent_dim=3, hidden_dims=(16, 16, 32), n_neighbors=5,
                neighbor_selection="nearest", n_neighbor_samples=1, layerwise_epochs=2, autoencoder_epochs=20,
                vae_epochs=3, classifier_epochs=60, pretrain_batch_size=32, epochs=3, batch_size=50,
                init="kmeans", classifier_hidden_dims=(), graph_space="input", device="cpu", cache_dir=False)
