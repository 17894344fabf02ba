"""The opt-in fast step of issue 22: Algorithm 1's step (and the pretraining loop's) through torch.compile, and the
TF32 / bfloat16 precisions. Each compiled run is compared with the eager run of the same seeded start: the same
draws, the same values to float rounding. The default eager float32 step is checked against the loop it replaced."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from tiny_model import data, tiny_networks

from dggbook.model import algorithm1
from dggbook.model.algorithm1 import (TrainSettings, closed_form_pi, graph_objective, initial_pi, make_optimizer,
                                      run_epoch, sample_neighbors)
from dggbook.model.departures import batch_neighbor_weights
from dggbook.model.dgg import DGG
from dggbook.model.graph import build_graph
from dggbook.model.runtime import matmul_precision, minibatch_indices, run_epochs

BASE = TrainSettings(epochs=1, batch_size=8, likelihood="bernoulli", n_neighbor_samples=2)


def problem(N=40, J=4):
    X = data(N=N)
    return X, build_graph(X.numpy(), J)


def train(settings, epochs=2, backend="inductor", seed=0):
    """``epochs`` epochs of Algorithm 1 from one seeded start: (epoch means of each epoch, pi, parameters)."""
    X, graph = problem()
    net = tiny_networks()
    optimizer, _ = make_optimizer(net, settings)
    pi = initial_pi(net.eval(), X, graph.indices, graph.weights)
    torch.manual_seed(seed)
    means = [run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings, epoch=e, compile_backend=backend)
             for e in range(epochs)]
    return torch.stack(means), pi, [p.detach().clone() for p in net.parameters()]


def assert_same_training(got, want, **tol):
    for g, w in zip(got[:2], want[:2]):
        torch.testing.assert_close(g, w, **tol)
    for g, w in zip(got[2], want[2]):
        torch.testing.assert_close(g, w, **tol)


def reference_epoch(networks, X, indices, weights, pi, optimizer, settings):
    """The eager loop as it was before the fast step existed (issue 22): the default must compute exactly this."""
    networks.train()
    sums = torch.zeros(5)
    for anchors in minibatch_indices(X.shape[0], settings.batch_size, X.device):
        batch_weights = batch_neighbor_weights(settings.batch_weights, weights[anchors], None)
        nb_idx, nb_w = sample_neighbors(indices[anchors], batch_weights, settings.n_neighbor_samples)
        out = graph_objective(networks, X, anchors, nb_idx, nb_w, pi[anchors], settings)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        pi[anchors] = closed_form_pi(out.gamma_anchor, out.gamma_neighbors, out.neighbor_weights, settings.pi_update)
        sums += out.term_means * anchors.numel()
    return sums / X.shape[0]


@pytest.mark.parametrize("samples", [1, None])
def test_the_default_step_computes_exactly_what_the_loop_before_it_computed(samples):
    settings = dataclasses.replace(BASE, n_neighbor_samples=samples)
    got = train(settings)
    X, graph = problem()
    net = tiny_networks()
    optimizer, _ = make_optimizer(net, settings)
    pi = initial_pi(net.eval(), X, graph.indices, graph.weights)
    torch.manual_seed(0)
    means = [reference_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings) for _ in range(2)]
    assert_same_training(got, (torch.stack(means), pi, [p.detach() for p in net.parameters()]), atol=0, rtol=0)


def test_the_traced_step_gives_the_eager_steps_losses_pi_and_weights():
    """aot_eager: the step traced by torch.compile (forward and backward graphs), run on aten's kernels."""
    eager = train(BASE)
    compiled = train(dataclasses.replace(BASE, step="compiled"), backend="aot_eager")
    assert_same_training(compiled, eager, atol=1e-5, rtol=1e-4)
    other_seed = train(BASE, seed=1)  # the comparison can tell two trainings apart
    assert not torch.allclose(other_seed[0], eager[0], atol=1e-5, rtol=1e-4)


def test_the_inductor_compiled_step_gives_the_eager_steps_losses_pi_and_weights():
    """inductor (fused C++ kernels here, Triton and CUDA graphs on CUDA): other kernels, the same draws."""
    eager = train(BASE)
    compiled = train(dataclasses.replace(BASE, step="compiled"))
    assert_same_training(compiled, eager, atol=1e-5, rtol=1e-4)


def test_the_compiled_epoch_reads_from_the_device_once(monkeypatch):
    """No host synchronisation inside an epoch: the one read is the check for a non-finite loss after it."""
    settings = dataclasses.replace(BASE, step="compiled")
    X, graph = problem()
    net = tiny_networks()
    optimizer, _ = make_optimizer(net, settings)
    pi = initial_pi(net.eval(), X, graph.indices, graph.weights)
    run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings, compile_backend="aot_eager")  # compiles
    # Adam's step counters live on the host (on CUDA too, unless fused): reading them is no device sync.
    counters = {id(state["step"]) for state in optimizer.state.values()}
    reads = []
    for name in ("item", "tolist", "__bool__", "__int__", "__float__", "numpy", "cpu"):
        real = getattr(torch.Tensor, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            if id(self) not in counters:
                reads.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings, epoch=1, compile_backend="aot_eager")
    monkeypatch.undo()
    assert reads == ["__int__"], reads


def test_a_non_finite_loss_in_the_compiled_step_names_its_batch_after_the_epoch():
    settings = dataclasses.replace(BASE, step="compiled")
    X, graph = problem()
    X[17, 0] = float("nan")  # anchor 17 poisons the batch it falls in, and every step after it
    net = tiny_networks()
    optimizer, _ = make_optimizer(net, settings)
    pi = initial_pi(net.eval(), X.nan_to_num(), graph.indices, graph.weights)
    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d"):
        run_epoch(net, X, graph.indices, graph.weights, pi, optimizer, settings, compile_backend="aot_eager")


def test_bf16_moves_the_objective_a_little_and_keeps_the_elbo_in_float32():
    fp32 = train(BASE, epochs=1)
    bf16 = train(dataclasses.replace(BASE, precision="bf16"), epochs=1)
    assert bf16[0].dtype == bf16[1].dtype == torch.float32
    assert all(torch.isfinite(t).all() for t in (bf16[0], bf16[1], *bf16[2]))
    torch.testing.assert_close(bf16[0], fp32[0], atol=0.05, rtol=0.02)  # a bf16 product keeps 8 bits
    assert not torch.equal(bf16[0], fp32[0]), "bf16 changed nothing: the networks did not run under autocast"
    tf32 = train(dataclasses.replace(BASE, precision="tf32"), epochs=1)  # TF32 acts on CUDA only
    assert_same_training(tf32, fp32, atol=0, rtol=0)


def test_tf32_is_switched_on_for_the_block_and_restored_after():
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with matmul_precision("tf32", torch.device("cuda")):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    with matmul_precision("tf32", torch.device("cpu")):  # no TF32 on a CPU: nothing to change
        assert torch.backends.cuda.matmul.allow_tf32 == before[0]


@pytest.mark.parametrize("call", [
    lambda: TrainSettings(precision="fp16"),
    lambda: TrainSettings(step="graphed"),
    lambda: DGG(precision="half").fit(data(N=30).numpy()),
    lambda: run_epochs("x", None, None, 4, 2, 1, device=torch.device("cpu"), precision="fp16"),
    lambda: run_epochs("x", None, None, 4, 2, 1, device=torch.device("cpu"), step="jit"),
])
def test_an_unknown_step_or_precision_is_a_value_error_naming_it(call):
    with pytest.raises(ValueError, match="precision|step"):
        call()


def test_the_compiled_pretraining_loop_gives_the_eager_loops_losses_and_weights():
    """run_epochs (pretraining and the Siamese net) compiled: dropout's masks are the eager loop's draws."""
    X = data(N=30)

    def fit(step):
        torch.manual_seed(0)
        layer = torch.nn.Linear(6, 6)
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-2)

        def loss(idx):
            x = X[idx]
            return F.mse_loss(layer(F.dropout(x, 0.2, training=True)), x)

        losses = run_epochs("t", optimizer, loss, 30, 8, 2, device=X.device, step=step,
                            generator=torch.Generator().manual_seed(0))
        return torch.tensor(losses), [p.detach().clone() for p in layer.parameters()]

    eager, compiled = fit("eager"), fit("compiled")
    torch.testing.assert_close(compiled[0], eager[0], atol=1e-6, rtol=1e-5)
    for c, e in zip(compiled[1], eager[1]):
        torch.testing.assert_close(c, e, atol=1e-6, rtol=1e-5)


def test_a_checkpoint_resumes_under_the_other_step():
    """``step`` changes how a step runs, not what it computes: it is not part of the resume key; precision is."""
    eager, compiled = BASE.resume_key(), dataclasses.replace(BASE, step="compiled").resume_key()
    assert eager == compiled
    assert dataclasses.replace(BASE, precision="bf16").resume_key() != eager
    assert algorithm1.CHECKPOINT_VERSION == 1  # keys of fp32 checkpoints are those written before issue 22


def test_the_estimator_with_the_compiled_step_fits_what_the_eager_one_fits():
    """``DGG(step="compiled")`` reaches Algorithm 1's compiled step and ends where the eager fit ends."""
    from tiny_model import TINY_DGG

    from dggbook.model.data import make_blobs_data

    blobs = make_blobs_data(150, 3, 6, random_state=0)
    eager = DGG(3, **TINY_DGG, random_state=0).fit(blobs.X)
    algorithm1._COMPILED_STEPS.clear()
    compiled = DGG(3, **TINY_DGG, step="compiled", random_state=0).fit(blobs.X)
    assert ("cpu", "inductor") in algorithm1._COMPILED_STEPS, "the fit did not run the compiled step"
    assert compiled.train_settings().step == "compiled"
    assert (compiled.labels_ == eager.labels_).all()
    torch.testing.assert_close(torch.as_tensor(compiled.pi_), torch.as_tensor(eager.pi_), atol=1e-5, rtol=1e-4)
    assert [r["total"] for r in compiled.history_] == pytest.approx([r["total"] for r in eager.history_], rel=1e-5)


def test_the_siamese_network_trains_the_same_compiled(monkeypatch):
    from dggbook.model import runtime
    from dggbook.model.siamese import train_siamese

    X = data(N=30).numpy()
    kwargs = dict(n_positive=2, epochs=2, batch_size=16, hidden_dims=(8,), embedding_dim=2, random_state=0,
                  progress=False)
    eager = train_siamese(X, **kwargs)
    compiled_calls = []
    real = runtime.compile_step
    monkeypatch.setattr(runtime, "compile_step", lambda *a, **k: compiled_calls.append(a) or real(*a, **k))
    compiled = train_siamese(X, **kwargs, step="compiled")
    assert len(compiled_calls) == 1, "train_siamese(step='compiled') did not compile its step"
    assert compiled.history == pytest.approx(eager.history, rel=1e-5)
    for c, e in zip(compiled.parameters(), eager.parameters()):
        torch.testing.assert_close(c, e, atol=1e-6, rtol=1e-5)
