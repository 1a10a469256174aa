"""Learned optimizers (Andrychowicz et al. 2016): the official code's toy acceptance test,
the gradient preprocessing by hand, meta-training that learns, LearnedOptimizer against the
functional engine, conformance (state_dict, arguments), saving, and resumable meta-training."""

from __future__ import annotations

import copy
import io
import math
from dataclasses import replace

import pandas as pd
import pytest
import torch
from torch import nn

from optbook.experiment import run_ensemble
from optbook.learned import (
    CoordinatewiseLSTM,
    LearnedOptimizer,
    LinearUpdate,
    MetaTrainConfig,
    before_update,
    evaluate,
    load_net,
    log_sign_preprocess,
    save_net,
    train,
)
from optbook.learned.meta import load_checkpoint, save_checkpoint
from optbook.learned.lstm_layer import LSTMLayer, lstm_layer
from optbook.learned.nets import sigmoid_form_weights
from optbook.tasks import MLPClassifier, book_task
from optbook.tasks.toy import ScalarSquareTask


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: intra-op threads only add contention on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- the x² toy


SquareTask = ScalarSquareTask  # f(x) = x², x₀ = 1: the official code's problems.simple


TOY = MetaTrainConfig(unroll=5, horizon=10, problems=1, meta_lr=0.01, validate_every=None)


@pytest.mark.parametrize("runs", [1, 3])
def test_official_toy_acceptance(runs):
    """``meta_test.py::testResults``: Linear(1→1) zero-init, unroll 5, Adam 0.01, two unrolls with
    a meta-step between them: final x = 0.8559, final loss = 0.7325327 (runs are independent
    copies, so a batch of identical runs must give the same numbers)."""
    net = LinearUpdate()
    result = train(SquareTask(), net, replace(TOY, runs=runs), progress=False)
    final_x = result.final_params["x"]
    final_loss = result.unrolls["final_loss"].iloc[-1]
    assert final_x.shape == (runs,)
    assert torch.all((final_x - 0.8559).abs() < 5e-5)
    assert final_loss == pytest.approx(0.7325327, abs=1e-6)
    # The official K + 1-term meta-loss: the first unroll sits at x = 1 for all 6 points.
    assert result.unrolls["meta_loss"].tolist() == pytest.approx([6.0, 5.170183], abs=1e-5)


def test_toy_meta_gradient_drops_second_derivatives():
    """The second unroll's meta-gradient by hand, with ∂∇_t/∂φ = 0 (∇_t = 2x_t a constant)."""
    result = train(SquareTask(), LinearUpdate(), TOY, progress=False)
    w = b = -0.01  # after Adam's first step: lr · sign(g)
    x, dx_dw, dx_db, grad_w, grad_b = 1.0, 0.0, 0.0, 0.0, 0.0
    for _ in range(5):
        grad = 2 * x  # the optimizee gradient, treated as an input
        x, dx_dw, dx_db = x + w * grad + b, dx_dw + grad, dx_db + 1.0
        grad_w, grad_b = grad_w + 2 * x * dx_dw, grad_b + 2 * x * dx_db
    assert result.unrolls["meta_grad_norm"].iloc[1] == pytest.approx(math.hypot(grad_w, grad_b), rel=1e-5)


# ----------------------------------------------------------------------------- preprocessing

E10, E5 = math.exp(10), math.exp(5)


@pytest.mark.parametrize(
    "p, grad, expected",
    [
        (10, 100.0, (math.log(100) / 10, 1.0)),  # large
        (10, -0.5, (math.log(0.5) / 10, -1.0)),  # negative
        (10, 1e-6, (-1.0, 1e-6 * E10)),  # tiny: below e^-10
        (10, -1e-6, (-1.0, -1e-6 * E10)),
        (10, 0.0, (-1.0, 0.0)),  # zero
        (10, 1e-4, (math.log(1e-4) / 10, 1.0)),  # just above e^-10 = 4.5e-5
        (5, 1e-3, (-1.0, 1e-3 * E5)),  # below e^-5 = 6.7e-3 ...
        (5, -1e-3, (-1.0, -1e-3 * E5)),
        (5, 0.01, (math.log(0.01) / 5, 1.0)),  # ... but large for p = 10
        (5, -3.0, (math.log(3.0) / 5, -1.0)),
        (5, 0.0, (-1.0, 0.0)),
    ],
)
def test_log_sign_preprocessing_by_hand(p, grad, expected):
    out = log_sign_preprocess(torch.tensor([grad], dtype=torch.float64), p=p)
    assert out.shape == (1, 2)
    assert out[0].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_preprocessing_is_continuous_and_eps_is_the_official_variant():
    g = torch.tensor([math.exp(-10) * (1 + 1e-9), math.exp(-10) * (1 - 1e-9)], dtype=torch.float64)
    out = log_sign_preprocess(g, p=10)
    assert torch.allclose(out, torch.tensor([[-1.0, 1.0], [-1.0, 1.0]], dtype=torch.float64), atol=1e-8)
    eps = torch.finfo(torch.float32).eps
    shifted = log_sign_preprocess(torch.tensor([0.01], dtype=torch.float64), p=5, eps=eps)
    assert shifted[0, 0].item() == pytest.approx(math.log(0.01 + eps) / 5, rel=1e-12)
    assert shifted[0, 0].item() != log_sign_preprocess(torch.tensor([0.01], dtype=torch.float64), p=5)[0, 0].item()
    # No NaN from the unselected log branch when differentiating through a zero gradient.
    z = torch.zeros(2, requires_grad=True)
    log_sign_preprocess(z, p=10).sum().backward()
    assert torch.isfinite(z.grad).all()


def test_lstm_matches_the_ports_parameter_counts_and_forget_bias():
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(CoordinatewiseLSTM(preprocess_p=None)) == 5221
    assert count(CoordinatewiseLSTM(preprocess_p=10)) == 5301
    torch.manual_seed(0)
    plain = CoordinatewiseLSTM()
    torch.manual_seed(0)
    sonnet = CoordinatewiseLSTM(forget_bias=1.0)
    diff = sonnet.cells[0].bias_ih - plain.cells[0].bias_ih
    assert torch.allclose(diff, torch.cat([torch.zeros(20), torch.ones(20), torch.zeros(40)]), atol=1e-6)


def _cell_and_inputs(inputs=2, hidden=5, n=7, dtype=torch.float32):
    torch.manual_seed(0)
    cell = nn.LSTMCell(inputs, hidden).to(dtype)
    x, h, c = (torch.randn(n, size, dtype=dtype) for size in (inputs, hidden, hidden))
    return cell, x, h, c


@pytest.mark.parametrize("block", [None, 1, 3])
def test_lstm_layer_is_torchs_lstm_cell_values_and_gradients(block):
    """The column-major layer with its hand-written backward against nn.LSTMCell and autograd."""
    cell, x, h, c = _cell_and_inputs()
    for t in (x, h, c):
        t.requires_grad_()
    h_ref, c_ref = cell(x, (h, c))
    weights = sigmoid_form_weights(cell)
    h_new, c_new = LSTMLayer.apply(*weights, x.t(), h.t().contiguous(), c.t().contiguous(), block)
    torch.testing.assert_close(h_new.t(), h_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(c_new.t(), c_ref, atol=1e-6, rtol=1e-5)
    # A loss that weighs both outputs differently per coordinate, so every term of the backward counts.
    weight_h, weight_c = torch.randn(7, 5), torch.randn(7, 5)
    inputs = [x, h, c, *cell.parameters()]
    ref = torch.autograd.grad((h_ref * weight_h + c_ref * weight_c).sum(), inputs)
    ours = torch.autograd.grad((h_new.t() * weight_h + c_new.t() * weight_c).sum(), inputs)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # Only h' used (c' gets no gradient), as at the last step of an unroll.
    h_new, _ = LSTMLayer.apply(*sigmoid_form_weights(cell), x.t(), h.t().contiguous(), c.t().contiguous(), block)
    ours = torch.autograd.grad(h_new.sum(), inputs)
    ref = torch.autograd.grad(cell(x, (h, c))[0].sum(), inputs)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_lstm_layer_backward_passes_gradcheck():
    cell, x, h, c = _cell_and_inputs(inputs=3, hidden=2, n=4, dtype=torch.float64)
    weights = [w.detach().requires_grad_() for w in sigmoid_form_weights(cell)]
    columns = [t.t().contiguous().requires_grad_() for t in (x, h, c)]
    assert torch.autograd.gradcheck(lambda *args: LSTMLayer.apply(*args, 3), (*weights, *columns))


def test_lstm_layer_without_graph_equals_the_autograd_function():
    cell, x, h, c = _cell_and_inputs()
    weights = sigmoid_form_weights(cell)
    with torch.no_grad():
        plain = lstm_layer(weights, x.t(), h.t().contiguous(), c.t().contiguous(), block=2)
        function = LSTMLayer.apply(*weights, x.t(), h.t().contiguous(), c.t().contiguous(), None)
    for a, b in zip(plain, function):
        torch.testing.assert_close(a, b)


def test_coordinatewise_lstm_is_a_stack_of_torch_lstm_cells():
    """The whole net, over three steps with state carried, against the same net written with
    nn.LSTMCell and nn.Linear (preprocessing, forget bias and output scale included)."""
    torch.manual_seed(0)
    net = CoordinatewiseLSTM(hidden=6, preprocess_p=5.0, output_scale=0.1, forget_bias=1.0, chunk_size=4)
    grads = [torch.randn(11) * 10.0 ** torch.randint(-5, 1, (11,)) for _ in range(3)]
    state, ref_state = net.initial_state(11), [torch.zeros(11, 6) for _ in range(4)]
    total, ref_total = 0.0, 0.0
    for grad in grads:
        update, state = net(grad, state)
        x = net.preprocess(grad)
        h1, c1 = net.cells[0](x, (ref_state[0], ref_state[1]))
        h2, c2 = net.cells[1](h1, (ref_state[2], ref_state[3]))
        ref_state = [h1, c1, h2, c2]
        ref_update = net.head(h2).squeeze(-1) * 0.1
        torch.testing.assert_close(update, ref_update, atol=1e-7, rtol=1e-5)
        for ours, ref in zip(state, ref_state):
            assert ours.shape == ref.shape == (11, 6)
            torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5)
        total, ref_total = total + (update ** 2).sum(), ref_total + (ref_update ** 2).sum()
    ours = torch.autograd.grad(total, list(net.parameters()))
    ref = torch.autograd.grad(ref_total, list(net.parameters()))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_lstm_is_coordinatewise():
    """Each coordinate's update depends on its own gradient and state only."""
    torch.manual_seed(0)
    net = CoordinatewiseLSTM(preprocess_p=5, output_scale=0.1)
    grads = torch.randn(6, dtype=torch.float32)
    state = net.initial_state(6)
    assert all(s.shape == (6, 20) and not s.any() for s in state) and len(state) == 4
    together, _ = net(grads, state)
    alone = torch.cat([net(grads[i : i + 1], net.initial_state(1))[0] for i in range(6)])
    assert torch.allclose(together, alone, atol=1e-7)


# ----------------------------------------------------------------------------- meta-training learns

QUADRATIC = book_task("quadratic")
HELD_OUT = list(range(40, 56))


def _quadratic_config(problems: int, **overrides) -> MetaTrainConfig:
    config = MetaTrainConfig(
        unroll=5, horizon=20, problems=problems, runs=4, meta_lr=0.01, clip_grad_norm=10.0,
        validation_seeds=tuple(range(10**6, 10**6 + 8)), validate_every=10,
    )
    return replace(config, **overrides)


def _mean_loss(net, seeds=HELD_OUT, steps=20) -> float:
    return evaluate(QUADRATIC, net, seeds, steps)["loss"].mean()


def test_meta_training_lowers_held_out_quadratic_loss():
    torch.manual_seed(0)
    net = CoordinatewiseLSTM(preprocess_p=None)
    untrained = _mean_loss(net)
    result = train(QUADRATIC, net, _quadratic_config(40), progress=False)
    frame = evaluate(QUADRATIC, net, HELD_OUT, 20)  # restore_best loaded the best validated φ
    assert frame["loss"].mean() < 0.5 * untrained
    # ... and it optimizes: the final loss is far below the start (‖y‖² ≈ 10), not just less divergent.
    start, end = (frame.loc[frame["step"] == s, "loss"].mean() for s in (0, 20))
    assert end < 0.2 * start
    assert result.best_problems > 0 and result.best_score < result.validation["score"].iloc[0]
    assert len(result.unrolls) == 40 * 4 and result.unrolls["stepped"].all()
    assert result.steps_per_second > 0 and result.train_steps == 40 * 20


def test_a_run_that_ends_between_validations_still_validates_its_final_net():
    # Fewer problems than validate_every: without a final validation the only candidate would be
    # the untrained net of problem 0, and restore_best would hand it back.
    torch.manual_seed(0)
    net = CoordinatewiseLSTM(preprocess_p=None)
    untrained = copy.deepcopy(net.state_dict())
    result = train(QUADRATIC, net, _quadratic_config(12, validate_every=50), progress=False)
    assert result.validation["problems"].tolist() == [0, 12]
    assert result.best_problems == 12
    assert any(not torch.equal(net.state_dict()[k], untrained[k]) for k in untrained)


# ----------------------------------------------------------------------------- LearnedOptimizer


def _trained_like_lstm(preprocess_p=5.0, output_scale=0.1, seed=0):
    """An LSTM with random weights, standing in for a trained one (any φ must agree)."""
    torch.manual_seed(seed)
    return CoordinatewiseLSTM(preprocess_p=preprocess_p, output_scale=output_scale, forget_bias=1.0)


class TinyMLPTask:
    """A small MLP with minibatches (several tensors, sampling), on random MNIST-like data."""

    name = "tiny-mlp"

    def build(self, seeds, device="cpu"):
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(64, 12, generator=g), torch.randint(0, 10, (64,), generator=g)
        return MLPClassifier(seeds, x, y, hidden=(5,), activation="sigmoid", batch_size=8)


@pytest.mark.parametrize("task, net", [(QUADRATIC, "raw"), (TinyMLPTask(), "preprocessed")])
def test_learned_optimizer_reproduces_the_functional_engine_exactly(task, net):
    net = _trained_like_lstm(None, 1.0) if net == "raw" else _trained_like_lstm()
    seeds, steps = [3, 8, 1], 12
    functional = evaluate(task, net, seeds, steps, method="L2L")
    make = lambda p: LearnedOptimizer(p, net, ensemble_dim=0)  # noqa: E731
    modular = run_ensemble(task, make, seeds, steps, labels={"method": "L2L"})
    assert list(functional.columns) == list(modular.columns)
    # Same frame, bit for bit: losses at every step and the final full-data metrics.
    pd.testing.assert_frame_equal(functional, modular, check_exact=True)
    assert functional["loss"].nunique() > len(seeds)  # the net did move the parameters


def _sequential_problem(init_seed=0):
    """A plain nn.Sequential regression on fixed random data; ``init_seed`` draws its weights."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)
    torch.manual_seed(init_seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    return model, lambda: nn.functional.mse_loss(model(x), y)


def _steps(optimizer, loss_fn, n):
    losses = []
    for _ in range(n):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_state_dict_round_trip_mid_run_continues_identically():
    net = _trained_like_lstm()
    model, loss_fn = _sequential_problem()
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
    optimizer = LearnedOptimizer(groups, net)
    _steps(optimizer, loss_fn, 5)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    reference = _steps(optimizer, loss_fn, 5)

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    model2, loss_fn2 = _sequential_problem(init_seed=1)  # different weights, overwritten below
    model2.load_state_dict(saved["model"])
    optimizer2 = LearnedOptimizer([{"params": model2[0].parameters()}, {"params": model2[2].parameters()}], net)
    optimizer2.load_state_dict(saved["optimizer"])
    state = optimizer2.state[model2[0].weight]["net_state"]
    assert len(state) == 4 and state[0].shape == (model2[0].weight.numel(), 20)
    assert _steps(optimizer2, loss_fn2, 5) == reference
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))


def test_learned_optimizer_closure_no_grad_and_frozen_net():
    net = _trained_like_lstm()
    before = copy.deepcopy(net.state_dict())
    model, loss_fn = _sequential_problem()
    optimizer = LearnedOptimizer(model.parameters(), net)

    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    first = optimizer.step(closure)
    assert isinstance(first, torch.Tensor)
    model[0].bias.grad = None  # a parameter without gradient is skipped, its state untouched
    frozen = model[0].bias.detach().clone()
    model[0].weight.grad = torch.ones_like(model[0].weight)
    optimizer.step()
    assert torch.equal(model[0].bias, frozen)
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"net": None}, "net"),
        ({"net": nn.Linear(1, 1)}, "net"),
        ({"net": LinearUpdate(), "ensemble_dim": -1}, "ensemble_dim"),
        ({"net": LinearUpdate(), "ensemble_dim": "0"}, "ensemble_dim"),
    ],
)
def test_learned_optimizer_rejects_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        LearnedOptimizer([nn.Parameter(torch.zeros(2))], **kwargs)


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"unroll": 0}, "unroll"), ({"meta_lr": 0.0}, "meta_lr"), ({"select_by": "best"}, "select_by"),
     ({"clip_grad_norm": -1.0}, "clip_grad_norm"), ({"validate_every": 0}, "validate_every")],
)
def test_meta_config_rejects_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        MetaTrainConfig(**kwargs)


def test_save_and_load_net_round_trip(tmp_path):
    net = _trained_like_lstm()
    path = save_net(tmp_path / "lstm.pt", net, metadata={"task": "quadratic"})
    loaded, metadata = load_net(path, with_metadata=True)
    assert isinstance(loaded, CoordinatewiseLSTM) and loaded.config() == net.config()
    assert metadata == {"task": "quadratic"}
    grads = torch.randn(7)
    assert torch.equal(net(grads, net.initial_state(7))[0], loaded(grads, loaded.initial_state(7))[0])


# ----------------------------------------------------------------------------- resuming


def _assert_same_training(a, b):
    assert a.unrolls.equals(b.unrolls)
    assert a.validation.equals(b.validation)
    assert a.best_problems == b.best_problems and a.best_score == b.best_score
    for x, y in ((a.final_state_dict, b.final_state_dict), (a.best_state_dict, b.best_state_dict)):
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    assert all(torch.equal(a.final_params[k], b.final_params[k]) for k in a.final_params)


def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path):
    config = _quadratic_config(4, horizon=10, validate_every=2, validation_seeds=(10**6, 10**6 + 1))
    torch.manual_seed(0)
    uninterrupted = train(QUADRATIC, CoordinatewiseLSTM(preprocess_p=None), config, progress=False)

    torch.manual_seed(0)
    first_half = train(
        QUADRATIC, CoordinatewiseLSTM(preprocess_p=None), replace(config, problems=2),
        progress=False, checkpoint_path=tmp_path / "run.pt",
    )
    # A net initialised differently: the checkpoint must restore φ, Adam and the histories.
    torch.manual_seed(123)
    resumed = train(
        QUADRATIC, CoordinatewiseLSTM(preprocess_p=None), config, resume_from=tmp_path / "run.pt", progress=False
    )
    _assert_same_training(uninterrupted, resumed)
    assert first_half.checkpoint["progress"]["problems_done"] == 2

    torch.manual_seed(7)
    ckpt = load_checkpoint(save_checkpoint(first_half.checkpoint, tmp_path / "again.pt"))
    from_dict = train(QUADRATIC, CoordinatewiseLSTM(preprocess_p=None), config, resume_from=ckpt, progress=False)
    _assert_same_training(uninterrupted, from_dict)

    with pytest.raises(ValueError, match="meta_lr"):
        train(QUADRATIC, CoordinatewiseLSTM(preprocess_p=None), replace(config, meta_lr=0.1),
              resume_from=first_half.checkpoint, progress=False)


def test_loss_weights_change_the_meta_loss_not_the_trajectory_at_fixed_phi():
    """The ports' convention drops the end point of each unroll from the meta-loss."""
    official = train(SquareTask(), LinearUpdate(), TOY, progress=False)
    ports = train(SquareTask(), LinearUpdate(), replace(TOY, loss_weights=before_update), progress=False)
    assert official.unrolls["meta_loss"].iloc[0] == 6.0 and ports.unrolls["meta_loss"].iloc[0] == 5.0
    # Adam's first step is lr · sign(g), so both conventions move φ identically here.
    assert official.unrolls["final_loss"].tolist() == ports.unrolls["final_loss"].tolist()


# ----------------------------------------------------------------------------- divergence


def _exploding_net():
    net = LinearUpdate()
    with torch.no_grad():
        net.linear.weight.fill_(1e30)  # gradient *ascent* with a huge step: x overflows at once
    return net


def test_diverged_runs_are_marked_not_fatal():
    frame = evaluate(SquareTask(), _exploding_net(), [0, 1], steps=5)
    assert len(frame) == 2 * 6 and frame["diverged"].iloc[-1]
    assert not frame.loc[frame["step"] == 0, "diverged"].any()


def test_a_diverged_problem_does_not_corrupt_the_net():
    net = _exploding_net()
    before = copy.deepcopy(net.state_dict())
    result = train(SquareTask(), net, replace(TOY, problems=2), progress=False)
    assert not result.unrolls["stepped"].any()
    assert result.unrolls["problem"].tolist() == [0, 1]  # each problem abandoned after one unroll
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


def test_concat_states_joins_split_pieces_without_a_copy_and_copies_otherwise():
    from optbook.learned.protocol import concat_states, split_state

    torch.manual_seed(0)
    columns = torch.randn(3, 10)  # the LSTM's layout: [hidden, N], seen as [N, hidden]
    rows = torch.randn(10, 2)
    state = (columns.t(), rows)
    pieces = split_state(state, [4, 6])
    joined = concat_states(pieces)
    for original, back in zip(state, joined):
        assert torch.equal(original, back) and back.data_ptr() == original.data_ptr()  # a view, no copy
    # pieces from different tensors (e.g. a tensor whose state was just created) are copied,
    # the column layout kept
    fresh = (torch.randn(3, 5).t(), torch.randn(5, 2))
    mixed = concat_states([pieces[0], fresh])
    assert torch.equal(mixed[0], torch.cat([pieces[0][0], fresh[0]])) and mixed[0].t().is_contiguous()
    assert torch.equal(mixed[1], torch.cat([pieces[0][1], fresh[1]]))
    # out of order pieces are not adjacent: copied in the order given
    swapped = concat_states([pieces[1], pieces[0]])
    assert torch.equal(swapped[1], torch.cat([rows[4:], rows[:4]]))
