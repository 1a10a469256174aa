"""Optimizee families: formulas, batched ensembles equal to single runs, data generators."""

from __future__ import annotations

import math

import pytest
import torch

from optbook import tasks
from optbook.tasks import MLPClassifier, QuadraticTask, SpiralTask, two_spirals


def _train(model, steps=5, lr=0.1):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        batch = model.sample_batch()
        opt.zero_grad()
        loss = model(batch)
        loss.sum().backward()
        opt.step()
        losses.append(loss.detach())
    return torch.stack(losses)


def test_quadratic_loss_is_the_squared_residual():
    model = QuadraticTask(dim=3).build([7])
    with torch.no_grad():
        model.theta.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
    expected = ((model.W[0] @ model.theta[0] - model.y[0]) ** 2).sum()
    assert torch.allclose(model(None), expected.unsqueeze(0))
    assert torch.equal(QuadraticTask(dim=3).build([7]).theta, torch.zeros(1, 3))


def _small_mnist_like(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 12, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize(
    "build",
    [
        lambda seeds: QuadraticTask().build(seeds),
        lambda seeds: MLPClassifier(seeds, *_small_mnist_like(), hidden=(5, 4), activation="relu", batch_size=8),
        lambda seeds: SpiralTask(hidden=6, n_train=40, batch_size=10).build(seeds),
    ],
    ids=["quadratic", "mlp", "spirals"],
)
def test_run_r_of_an_ensemble_is_the_single_run_with_seed_r(build):
    seeds = [3, 11, 5]
    batched = _train(build(seeds), steps=7)
    for r, seed in enumerate(seeds):
        single = _train(build([seed]), steps=7)
        assert torch.allclose(batched[:, r], single[:, 0], rtol=1e-5, atol=1e-6)


def test_different_seeds_are_different_problems_and_a_repeated_seed_the_same():
    model = QuadraticTask().build([0, 1, 0])
    assert not torch.allclose(model.W[0], model.W[1])
    assert torch.equal(model.W[0], model.W[2])


def test_mlp_loss_is_mean_cross_entropy_of_its_batch():
    x, y = _small_mnist_like()
    model = MLPClassifier([0, 1], x, y, hidden=(5,), activation="sigmoid", batch_size=8)
    batch = model.sample_batch()
    run = 1
    h = torch.sigmoid(x[batch[run]] @ model.layers[0].weight[run] + model.layers[0].bias[run])
    logits = h @ model.layers[1].weight[run] + model.layers[1].bias[run]
    expected = torch.nn.functional.cross_entropy(logits, y[batch[run]])
    assert torch.allclose(model(batch)[run], expected, atol=1e-6)


def test_mlp_full_data_evaluation_matches_a_loop_over_examples():
    x, y = _small_mnist_like(n=30)
    model = MLPClassifier([0, 4], x, y, hidden=(5,), batch_size=8, eval_x=x[:10], eval_y=y[:10])
    metrics = model.evaluate()
    logits = model.logits(x)  # [R, n, classes]
    for run in range(2):
        loss = torch.nn.functional.cross_entropy(logits[run], y)
        assert math.isclose(metrics["train_loss"][run].item(), loss.item(), rel_tol=1e-5)
        accuracy = (logits[run].argmax(-1) == y).float().mean()
        assert math.isclose(metrics["train_accuracy"][run].item(), accuracy.item(), rel_tol=1e-6)
    assert set(metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}


def test_ensemble_linear_has_pytorch_default_init_range():
    layer = tasks.EnsembleLinear(400, 50, tasks.run_generators([1, 2], "init"))
    bound = 1 / math.sqrt(400)
    assert layer.weight.shape == (2, 400, 50) and layer.bias.shape == (2, 50)
    assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.95 * bound
    assert abs(layer.weight.std().item() - bound / math.sqrt(3)) < 0.05 * bound


def test_two_spirals_follow_eq_16():
    g = torch.Generator().manual_seed(0)
    x, y = two_spirals(200, turns=2, noise=0.0, generator=g)
    assert x.shape == (200, 2) and y.tolist() == [0.0] * 100 + [1.0] * 100
    assert torch.allclose(x[100:], -x[:100])  # class 1 is the point reflection of class 0
    radius = x[:100].norm(dim=1)  # a t^p with a = 2
    t_p = radius / 2
    angle = torch.atan2(x[:100, 1], x[:100, 0])
    expected = torch.atan2(torch.sin(2 * math.pi * 2 * t_p), torch.cos(2 * math.pi * 2 * t_p))
    assert torch.allclose(angle, expected, atol=1e-4)
    assert radius.max() <= 2.0


def test_spirals_walk_through_whole_epochs():
    model = SpiralTask(hidden=4, n_train=40, batch_size=10).build([0])
    seen = torch.cat([model.sample_batch()[0] for _ in range(4)])
    assert sorted(seen.tolist()) == list(range(40))


def test_bad_task_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="task='nope'"):
        tasks.book_task("nope")
    with pytest.raises(ValueError, match="batch_size=7"):
        SpiralTask(n_train=40, batch_size=7).build([0])
    with pytest.raises(ValueError, match="activation='gelu'"):
        MLPClassifier([0], *_small_mnist_like(), activation="gelu")
    with pytest.raises(ValueError, match="at least one run"):
        QuadraticTask().build([])
    with pytest.raises(ValueError, match="even"):
        two_spirals(7)
