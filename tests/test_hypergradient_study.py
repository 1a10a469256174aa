"""The hypergradient chapter's experiments: method table, epoch averages, grid, α₀ sweeps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from optbook import experiment
from optbook.optim import AdamHD, SGDHD
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


def test_alpha0_sweep_labels_each_run_with_its_alpha0_and_spread():
    task = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset="mnist-5k")
    sweep = hd.alpha0_sweep(task, ["SGD"], [0.1, 1e-4], epochs=1, progress=False)
    first = sweep[sweep.step == 1].set_index("alpha0")["lr"]
    assert first.to_dict() == {0.1: 0.1, 1e-4: 1e-4}
    spread = hd.spread_of_final_loss(sweep)
    last = sweep[sweep.step == sweep.step.max()]
    assert math.isclose(spread["SGD"], np.log10(last["train_loss"]).std(), rel_tol=1e-9)


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
