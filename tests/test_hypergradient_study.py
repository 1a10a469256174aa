"""The hypergradient chapter's experiments: method table, epoch averages, grid, α₀ sweeps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from optbook import experiment
from optbook.optim import SGDHD, AdamHD, LRTransition
from optbook.studies import hypergradient as hd
from optbook.tasks import MNISTMLPTask, QuadraticTask


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path))


def _params():
    return [torch.nn.Parameter(torch.zeros(3, 2))]


def test_methods_map_to_the_papers_optimizers():
    sgd = hd.make_optimizer("SGD")(_params())
    assert type(sgd) is torch.optim.SGD and sgd.defaults["weight_decay"] == hd.WEIGHT_DECAY
    sgdn = hd.make_optimizer("SGDN")(_params())
    assert sgdn.defaults["nesterov"] and sgdn.defaults["momentum"] == 0.9
    assert type(hd.make_optimizer("Adam")(_params())) is torch.optim.Adam
    sgd_hd = hd.make_optimizer("SGD-HD")(_params())
    assert isinstance(sgd_hd, SGDHD) and sgd_hd.defaults["hypergrad_lr"] == 1e-3
    adam_hd = hd.make_optimizer("Adam-HD")(_params())
    assert isinstance(adam_hd, AdamHD) and adam_hd.defaults["hypergrad_lr"] == 1e-7
    assert hd.make_optimizer("Adamop-Adamlop")(_params()).defaults["lr_optimizer"] == "adam"
    assert hd.make_optimizer("SGDNop-SGDNlop")(_params()).defaults["lr_optimizer"] == "sgdn"
    assert hd.make_optimizer("Adam-HD (code order)")(_params()).defaults["per_tensor_lr_update"]
    with pytest.raises(ValueError, match="method='RMSprop-HD'"):
        hd.make_optimizer("RMSprop-HD")


def test_a_per_run_baseline_is_hd_with_beta_zero_and_equals_torch():
    grid = experiment.run_ensemble(QuadraticTask(), hd.make_optimizer("SGDN", lr=[0.01, 0.003]), [4, 4], 5)
    for run, lr in enumerate([0.01, 0.003]):
        single = experiment.run_ensemble(QuadraticTask(), hd.make_optimizer("SGDN", lr=lr), [4], 5)
        assert np.allclose(grid[grid.run == run]["loss"], single["loss"], rtol=1e-5)


def test_per_epoch_averages_by_hand():
    frame = pd.DataFrame({
        "method": "m", "seed": 0, "step": [0, 1, 2, 3, 4],
        "loss": [4.0, 2.0, 1.0, 3.0, 0.5], "lr": [0.1, 0.3, 0.2, 0.4, np.nan],
        "test_loss": [9.0, np.nan, 5.0, np.nan, 7.0], "test_accuracy": [0.1, np.nan, 0.5, np.nan, 0.7],
        "diverged": [False, False, True, True, True],
    })
    table = hd.per_epoch(frame, steps_per_epoch=2).set_index("epoch")
    assert table["diverged"].tolist() == [False, False, True]  # epoch 0 (the start), 1, 2
    assert hd.peak_alpha(table.reset_index()).item() == 0.4
    assert table.loc[1, "train_loss"] == 3.0 and table.loc[2, "train_loss"] == 2.0
    assert math.isclose(table.loc[1, "alpha"], 0.2) and table.loc[2, "alpha_max"] == 0.4
    assert table.loc[0, "valid_loss"] == 9.0 and table.loc[1, "valid_loss"] == 5.0 and table.loc[2, "valid_loss"] == 7.0


def test_first_step_below_threshold():
    losses = np.array([[3.0, 3.0, 3.0], [1.0, 2.0, 3.0], [0.5, 0.2, 3.0]])
    assert hd._first_step_below(losses, 1.0, cap=10).tolist() == [1, 2, 10]


def test_grid_is_one_ensemble_per_method_and_matches_single_runs():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    grid = hd.iterations_to_threshold(task, ["SGD", "SGD-HD"], [0.1, 0.01], [1e-3, 1e-5], threshold=1.0,
                                      cap=15, progress=False)
    assert len(grid[grid.method == "SGD"]) == 2 and grid[grid.method == "SGD"]["beta"].isna().all()
    assert len(grid[grid.method == "SGD-HD"]) == 4
    assert (grid["iterations"] <= 15).all() and (grid["reached"] == (grid["iterations"] < 15)).all()
    single = experiment.run_ensemble(task, lambda p: SGDHD(p, lr=0.1, hypergrad_lr=1e-3, weight_decay=1e-4), [0], 15)
    losses = single["loss"].to_numpy()[:15, None]
    expected = hd._first_step_below(losses, 1.0, 15)[0]
    cell = grid[(grid.method == "SGD-HD") & (grid.alpha0 == 0.1) & (grid.beta == 1e-3)]["iterations"].item()
    assert cell == expected


def test_alpha0_sweep_labels_each_run_with_its_alpha0_and_seed():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    sweep = hd.alpha0_sweep(task, ["SGD"], [0.1, 1e-4], epochs=1, seeds=[0, 3], progress=False)
    first = sweep[sweep.step == 1].set_index(["seed", "alpha0"])["lr"]
    assert first.to_dict() == {(0, 0.1): 0.1, (0, 1e-4): 1e-4, (3, 0.1): 0.1, (3, 1e-4): 1e-4}
    single = experiment.run_ensemble(task, hd.make_optimizer("SGD", lr=1e-4), [3], 5)
    run = sweep[(sweep.seed == 3) & (sweep.alpha0 == 1e-4)].set_index("step")["loss"].iloc[:6]
    assert np.allclose(run.to_numpy(), single["loss"].to_numpy(), rtol=1e-5)


def _sweep_frame(losses: dict) -> pd.DataFrame:
    """A finished α₀ sweep: {(method, alpha0, seed): final training loss} at the last step 5."""
    rows = [{"method": m, "alpha0": a, "seed": s, "step": 5, "train_loss": v, "diverged": not np.isfinite(v)}
            for (m, a, s), v in losses.items()]
    return pd.DataFrame(rows)


def test_untuned_cost_is_measured_from_the_tuned_baseline_and_punishes_collapse():
    # The baseline's best over α₀ is 0.1 (seed 0); HD collapses to 1.0 from every α₀: a spread of
    # zero, but a cost of one decade everywhere.
    sweep = _sweep_frame({("B", 1e-1, 0): 0.1, ("B", 1e-3, 0): 10.0, ("H", 1e-1, 0): 1.0, ("H", 1e-3, 0): 1.0})
    cost = hd.untuned_cost(sweep, {"H": "B"})
    assert math.isclose(cost.loc["H", "mean cost"], 1.0) and math.isclose(cost.loc["H", "worst cost"], 1.0)
    assert math.isclose(cost.loc["B", "mean cost"], 1.0) and math.isclose(cost.loc["B", "worst cost"], 2.0)
    diverged = _sweep_frame({("B", 1e-1, 0): 0.1, ("B", 1e-3, 0): 0.2, ("H", 1e-1, 0): np.nan, ("H", 1e-3, 0): 0.1})
    assert hd.untuned_cost(diverged, {"H": "B"}).loc["H", "diverged"] == 1


def test_judge_sweep_pairs_runs_by_alpha0_and_seed():
    alphas, seeds = [1e-1, 1e-2, 1e-3], [0, 1, 2]
    losses = {("B", a, s): 1.0 + a + s for a in alphas for s in seeds}
    losses |= {("H", a, s): 0.5 * (1.0 + a + s) for a in alphas for s in seeds}
    judged = hd.judge_sweep(_sweep_frame(losses), {"H": "B"})["H"]
    assert judged.n == 9 and judged.verdict == "reproduced"
    assert math.isclose(judged.median_difference, np.log10(0.5))


def test_combined_verdict_of_parts():
    assert hd.combined_verdict(["reproduced"] * 3) == "reproduced"
    assert hd.combined_verdict(["reproduced", "reproduced", "mixed"]) == "partly reproduced"
    assert hd.combined_verdict(["reproduced", "not reproduced", "not reproduced"]) == "not reproduced"
    assert hd.combined_verdict(["inconclusive", "inconclusive"]) == "inconclusive"
    assert hd.combined_verdict(["inconclusive", "mixed"]) == "mixed"
    assert hd.combined_verdict(["mixed", "not reproduced", "inconclusive"]) == "not reproduced"


def test_judge_pairs_counts_a_diverged_run_against_its_method():
    seeds = range(8)
    table = pd.DataFrame([{"method": m, "seed": s, "epoch": 2, "train_loss": v, "diverged": d}
                          for s in seeds for m, v, d in [("B", 1.0 + s, False), ("H", 0.5 + s, False)]])
    assert hd.judge_pairs(table, {"H": "B"})["H"].verdict == "reproduced"
    table.loc[(table.method == "H") & (table.seed == 0), ["train_loss", "diverged"]] = [np.nan, True]
    judged = hd.judge_pairs(table, {"H": "B"})["H"]
    assert judged.diverged_a == 1 and judged.typical_says == "unclear"


def test_adam_lr_bound_holds_for_the_optimizer_and_is_reached_by_one_signed_hypergradients():
    beta, steps = 1e-3, 60
    bound = hd.adam_lr_movement_bound(beta, steps)
    assert math.isclose(bound["one sign"], beta * steps)
    torch.manual_seed(0)
    for scale_growth in (1.0, 1.3):  # steady hypergradients, and ones growing geometrically
        theta = torch.nn.Parameter(torch.zeros(4))
        opt = SGDHD([theta], lr=0.0, hypergrad_lr=beta, lr_optimizer="adam")
        direction = torch.randn(4)
        moved = 0.0
        for t in range(steps):
            opt.zero_grad()
            # gradients alternately along ±direction scaled up: h keeps a sign, |h| grows
            theta.grad = direction * scale_growth**t * (1 if t % 2 else -1)
            opt.step()
            moved = max(moved, abs(opt.param_groups[0]["lr"]))
        assert moved <= bound["worst case"] * (1 + 1e-9)
    assert bound["worst case"] > bound["one sign"]


def test_transition_schedule():
    paper = LRTransition(0.1).delta
    assert paper(1) == 1.0 and math.isclose(paper(4), 1 / 16)
    slow = LRTransition(0.1, tau=30).delta
    assert slow(1) == 1.0 and math.isclose(slow(31), 0.25)
    assert slow(10**6) * 10**6 < slow(10**4) * 10**4 < 0.1  # t δ(t) → 0, as Theorem 5.1 asks


def test_paired_curves_match_separate_runs_and_share_seeds():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    frame = hd.paired_curves(task, 12, [1, 2], eval_every=6, pairs={"SGDN-HD": "SGDN"}, progress=False)
    assert set(frame["method"]) == {"SGDN", "SGDN-HD"} and sorted(frame["seed"].unique()) == [1, 2]
    for method in ("SGDN", "SGDN-HD"):
        alone = experiment.run_ensemble(task, hd.make_optimizer(method), [2], 12)
        ours = frame[(frame.method == method) & (frame.seed == 2)]["loss"].to_numpy()
        assert np.allclose(ours, alone["loss"].to_numpy(), rtol=1e-4)
    assert (frame[frame.method == "SGDN"]["lr"].dropna() == hd.ALPHA0).all()


def test_transition_hands_over_to_alpha_inf():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    frame = hd.transition_curves(task, "SGD-HD", 0.004, [1, 5], 30, [0, 1], eval_every=15, progress=False)
    assert {"SGD-HD (τ=1)", "SGD-HD (τ=5)", "SGD-HD", "SGD (α=0.004)"} == set(frame["method"])
    paper = frame[(frame.method == "SGD-HD (τ=1)") & (frame.step == 1)]
    alpha, gamma = paper["lr"].to_numpy(), paper["gamma"].to_numpy()
    assert np.allclose(gamma, alpha / 4 + 0.75 * 0.004)  # δ(2) = 1/4
    handover = hd.handover_iteration(frame, [1, 5], 0.004)
    assert handover[1] <= handover[5]
    assert (frame[frame.method == "SGD (α=0.004)"]["gamma"] == 0.004).all()


def test_the_fixed_rate_is_cut_to_one_figure_under_the_bound():
    assert hd.rate_below_bound(125.2) == 0.007  # 0.9/L = 0.00719, the chapter's α∞
    assert hd.rate_below_bound(600.0) == 0.001  # 0.9/L = 0.0015: rounding to nearest (0.002) would pass 1/L
    assert hd.rate_below_bound(9.0) == 0.1
    assert all(hd.rate_below_bound(L) < 1 / L for L in (1.3, 7.7, 42.0, 125.2, 600.0, 5e4))


def test_logistic_smoothness_bounds_the_curvature():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    bound = hd.logistic_smoothness(task)
    model = task.build([0])
    x = torch.cat([model.x, torch.ones(len(model.x), 1)], dim=1)
    # the curvature of the full-batch loss along a random direction never exceeds the bound
    w = torch.randn(1, 785, 10) * 0.01
    v = torch.randn(1, 785, 10)
    v /= v.norm()

    def loss(weights):
        return torch.nn.functional.cross_entropy(x @ weights[0], model.y)

    _, hvp = torch.autograd.functional.hvp(loss, w, v)
    assert 0 < float((hvp * v).sum()) <= bound


def test_final_epoch_and_peak_alpha_before_divergence():
    table = pd.DataFrame({
        "method": ["m", "m", "m", "m"], "seed": [0, 0, 1, 1], "epoch": [1, 2, 1, 2],
        "train_loss": [2.0, 1.0, 4.0, np.nan], "valid_loss": [3.0, 2.0, 5.0, np.nan],
        "alpha": [0.1, 0.2, 0.3, np.nan], "alpha_max": [0.2, 0.5, 0.4, np.nan], "diverged": [False, False, False, True],
    })
    last = hd.final_epoch(table).loc["m"]
    assert last["train_loss"] == 1.0 and bool(last["diverged"])
    assert math.isclose(last["peak_alpha"], (0.5 + 0.4) / 2)
    assert hd.final_epoch(table, epoch=1).loc["m", "train_loss"] == 3.0
    frame = pd.DataFrame({"method": "m", "lr": [0.1, -2.0, 50.0], "diverged": [False, False, True]})
    assert hd.peak_alpha_before_divergence(frame, "m") == 2.0


def test_image_task_standardises_fashion_mnist_by_its_own_statistics(tmp_path, monkeypatch):
    import gzip

    from optbook import data
    from optbook.tasks.image_mlp import FASHION_MEAN, FASHION_STD, ImageMLPTask

    folder = tmp_path / "fashion"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (9, 28, 28), dtype=np.uint8), rng.integers(0, 10, 9, dtype=np.uint8),
              rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4, dtype=np.uint8))
    for stem, array in zip(data.IDX_FILES, arrays):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        (folder / f"{stem}.gz").write_bytes(gzip.compress(header + array.tobytes()))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", folder)
    task = ImageMLPTask(hidden=(), standardize=True, dataset="fashion-mnist", eval_train=False)
    model = task.build([0, 1])
    expected = (torch.from_numpy(arrays[0].reshape(9, -1)).float() / 255 - FASHION_MEAN) / FASHION_STD
    assert torch.allclose(model.x, expected, atol=1e-6)
    assert set(model.evaluate()) == {"test_loss", "test_accuracy"}
    assert task.name == "fashion-mnist-logreg" and task.config()["dataset"] == "fashion-mnist"
    both = ImageMLPTask(hidden=(), dataset="fashion-mnist").build([0]).evaluate()
    assert {"train_loss", "test_loss"} <= set(both)
    with pytest.raises(ValueError, match="dataset='cifar10'"):
        ImageMLPTask(dataset="cifar10")


def test_two_ensembles_at_once_give_the_same_runs():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    alone = hd.training_curves(task, ["SGD-HD", "Adam"], 1, [0, 1], progress=False)
    both = hd._map(lambda m: experiment.run_ensemble(task, hd.make_optimizer(m), [0, 1], task.steps_per_epoch,
                                                     eval_every=task.steps_per_epoch, labels={"method": m},
                                                     track=hd.learning_rate), ["SGD-HD", "Adam"], workers=2)
    together = pd.concat(both, ignore_index=True)
    assert torch.get_num_threads() >= 1 and len(together) == len(alone)
    assert np.allclose(together["loss"], alone["loss"], rtol=1e-4) and np.allclose(together["lr"], alone["lr"], rtol=1e-6, equal_nan=True)
