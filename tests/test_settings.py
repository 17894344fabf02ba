"""One source of defaults: dggbook.model.settings; the estimator and the presets only read it."""
import dataclasses
import inspect

import pytest

from dggbook.model.dgg import DGG
from dggbook.model.presets import paper_settings, settings_for
import numpy as np

from dggbook.model.networks import PAPER_HIDDEN_DIMS
from dggbook.model.settings import (AUTO, AUTO_EPOCHS, DataFacts, ModelSettings, auto_network_sizes, PretrainSettings, TrainSettings, auto_epochs,
                                    constraints_of)

RECORDS = (PretrainSettings, TrainSettings)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_every_setting_is_an_estimator_parameter_with_the_same_default(record):
    params = inspect.signature(DGG).parameters
    for field in dataclasses.fields(record):
        assert field.name in params, f"{record.__name__}.{field.name} cannot be reached from DGG"
        assert params[field.name].default == field.default, field.name


def test_every_setting_has_its_allowed_values_and_the_estimator_uses_them():
    for record in RECORDS:
        assert set(constraints_of(record)) == {f.name for f in dataclasses.fields(record)}
    for name, allowed in constraints_of(*RECORDS).items():
        assert DGG._parameter_constraints[name] is allowed


def test_the_estimator_passes_each_parameter_to_its_setting():
    changed = dict(likelihood="gaussian", noise_var=0.3, f2_input="sample", latent_dim=4, hidden_dims=[8, 8],
                   classifier_hidden_dims=(5,), layerwise_epochs=1, autoencoder_epochs=2, vae_epochs=3,
                   classifier_epochs=4, pretrain_batch_size=17, pretrain_lr=0.02, classifier_lr=0.03, corruption=0.1,
                   init="gmm", start_n_init=3, umap_components=3, umap_neighbors=5, gmm_variance="means", handover_epochs=2,
                   handover_lr=0.01, epochs=5, batch_size=19, lr=0.04, weight_decay=0.0,
                   lr_decay=0.5, lr_decay_every=7, n_neighbor_samples=2, prior_z_coefficient=1.0, elbo_constants=False,
                   pi_update="blog_printed", batch_weights="public_code_row11", step="compiled", precision="bf16")
    est = DGG(3, **changed)
    built = {**dataclasses.asdict(est.pretrain_settings()), **dataclasses.asdict(est.train_settings())}
    assert built == {**changed, "hidden_dims": (8, 8)}


@pytest.mark.parametrize("quick", [True, False])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("dataset", ["digits", "mnist", "blobs"])
def test_presets_only_set_estimator_parameters(dataset, device, quick):
    preset = settings_for(dataset, device, quick=quick)
    assert set(preset) <= set(DGG().get_params())
    DGG(**preset).train_settings(), DGG(**preset).pretrain_settings()  # and their values are allowed


@pytest.mark.parametrize("record, field, value", [
    (PretrainSettings, "corruption", 1.0), (PretrainSettings, "gmm_variance", "median"),
    (PretrainSettings, "start_n_init", 0), (PretrainSettings, "init", "spectral"),
    (PretrainSettings, "umap_neighbors", 1), (PretrainSettings, "hidden_dims", (16, 0)),
    (PretrainSettings, "hidden_dims", ()), (PretrainSettings, "autoencoder_epochs", 2.5),
    (PretrainSettings, "vae_epochs", "many"), (TrainSettings, "epochs", "Auto"),
    (TrainSettings, "lr_decay", 0.0), (TrainSettings, "lr_decay_every", 0), (TrainSettings, "n_neighbor_samples", 0),
    (ModelSettings, "likelihood", "poisson"), (TrainSettings, "noise_var", 0.0), (TrainSettings, "f2_input", "z"),
])
def test_a_bad_setting_fails_at_once_naming_the_field(record, field, value):
    with pytest.raises(ValueError, match=field):
        record(**{field: value})


@pytest.mark.parametrize("dataset, n_samples", [("digits", 1797), ("mnist", 70_000)])
def test_auto_epochs_give_each_measured_cpu_preset_at_its_size(dataset, n_samples):
    preset = settings_for(dataset, "cpu", quick=False)
    assert {field: auto_epochs(field, n_samples) for field in AUTO_EPOCHS} == {f: preset[f] for f in AUTO_EPOCHS}


def test_auto_epochs_fall_with_the_data_size_between_their_bounds():
    for field, (_, fewest, most) in AUTO_EPOCHS.items():
        epochs = [auto_epochs(field, n) for n in (10, 1797, 3000, 10_000, 10**6)]
        assert epochs == sorted(epochs, reverse=True) and epochs[0] == most and epochs[-1] == fewest, field
    with pytest.raises(ValueError, match="n_samples"):
        auto_epochs("epochs", 0)


def test_resolved_replaces_every_auto_by_size_and_device():
    train = TrainSettings()
    assert train.epochs == AUTO and train.n_neighbor_samples == AUTO
    pixels = DataFacts(3000, 784, unit_interval=True)
    on_cpu, on_cuda = train.resolved(pixels, "cpu"), train.resolved(pixels, "cuda")
    assert (on_cpu.epochs, on_cpu.n_neighbor_samples) == (auto_epochs("epochs", 3000), 1)
    assert (on_cuda.epochs, on_cuda.n_neighbor_samples) == (auto_epochs("epochs", 3000), None)
    assert train.auto_values(pixels, "cpu") == {"epochs": on_cpu.epochs, "n_neighbor_samples": 1,
                                                "likelihood": "bernoulli"}
    fixed = TrainSettings(epochs=7, n_neighbor_samples=3, likelihood="gaussian", noise_var=0.5)
    assert fixed.resolved(3000, "cpu") == fixed and fixed.auto_values(3000, "cpu") == {}
    pre = PretrainSettings().resolved(pixels, "cpu")
    # every "auto" resolved but the two that wait for the start (init, and the hand-over's epochs: pretrain)
    assert [k for k, v in dataclasses.asdict(pre).items() if v == AUTO] == ["init", "handover_epochs"]
    # a start found in mu~ gets no hand-over; "input" waits for pretraining (init_labels, if given, get none)
    assert PretrainSettings(init="umap").resolved(pixels, "cpu").handover_epochs == 0
    assert PretrainSettings(init="input").resolved(pixels, "cpu").handover_epochs == AUTO


def test_auto_network_sizes_follow_the_features_and_give_mnist_the_papers():
    assert auto_network_sizes(784, 70_000) == (10, PAPER_HIDDEN_DIMS)
    assert auto_network_sizes(4, 150) == (4, (32, 32, 128))
    assert auto_network_sizes(784, 100) == (10, (32, 32, 128))  # few samples: narrow layers
    previous = 0
    for D in (1, 2, 4, 10, 13, 30, 64, 200, 784, 5000):
        latent_dim, hidden = auto_network_sizes(D, 10_000)
        assert 1 <= latent_dim <= min(D, 10) and hidden[0] == hidden[1] and hidden[2] == 4 * hidden[0]
        assert hidden[0] >= previous
        previous = hidden[0]
    pre = PretrainSettings().resolved(DataFacts(150, 4, unit_interval=True), "cpu")
    assert (pre.latent_dim, pre.hidden_dims) == (4, (32, 32, 128))


def test_auto_likelihood_is_bernoulli_in_the_unit_interval_else_a_gaussian_measured_later():
    unit, wide = DataFacts(100, 5, unit_interval=True), DataFacts(100, 5, unit_interval=False)
    assert DataFacts.of(np.array([[0.0, 1.0]])) == DataFacts(1, 2, True)
    assert DataFacts.of(np.array([[-0.5, 1.0]])).unit_interval is False
    bernoulli, gaussian = ModelSettings().resolved(unit, "cpu"), ModelSettings().resolved(wide, "cpu")
    assert (bernoulli.likelihood, bernoulli.noise_var) == ("bernoulli", 1.0)
    assert (gaussian.likelihood, gaussian.noise_var) == ("gaussian", AUTO)  # pretraining measures it
    assert ModelSettings().auto_values(unit, "cpu") == {"likelihood": "bernoulli"}
    with pytest.raises(ValueError, match="likelihood='auto'.*DataFacts"):
        ModelSettings().resolved(100, "cpu")
    with pytest.raises(ValueError, match="latent_dim='auto'"):
        PretrainSettings(likelihood="bernoulli").resolved(100, "cpu")


def test_the_paper_preset_sets_every_number_the_defaults_leave_to_auto():
    paper = paper_settings()
    assert set(paper) <= set(DGG().get_params())
    est = DGG(10, **paper)
    assert est.pretrain_settings().auto_values(70_000, "cpu") == {"handover_epochs": 0}  # none for its k-means start
    assert est.train_settings().auto_values(70_000, "cpu") == {}
    assert (paper["init"], paper["classifier_hidden_dims"], paper["epochs"]) == ("kmeans", (), 300)
