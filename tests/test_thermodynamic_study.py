"""Chapter 4's experiments: the reconstructed trigonometric data, the study's training and analysis."""

from __future__ import annotations

import colorsys

import math

import numpy as np
import pandas as pd
import pytest
import torch

from optbook import plots
from optbook.optim.langevin import PartitionedLangevin
from optbook.studies import thermodynamic as thermo
from optbook.tasks import PlanarClassifier, SpiralTask, TrigTask, trigonometric


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path))


TINY = SpiralTask(hidden=4, turns=1, n_train=20, batch_size=5)


# --------------------------------------------------------------------------- trigonometric data


def test_trigonometric_labels_follow_the_rule_without_noise():
    x, y = trigonometric(400, a=6, b=2, c=0.0, generator=torch.Generator().manual_seed(0))
    assert x.shape == (400, 2) and y.shape == (400,)
    assert x.abs().max() <= 2.0
    assert torch.equal(y, (torch.sin(6 * x[:, 0]) * torch.cos(2 * x[:, 1]) > 0).float())
    assert 0.3 < y.mean() < 0.7  # both classes, roughly balanced


def test_trigonometric_noise_moves_points_not_labels():
    clean = trigonometric(300, c=0.0, generator=torch.Generator().manual_seed(1))
    noisy = trigonometric(300, c=0.1, generator=torch.Generator().manual_seed(1))
    assert torch.equal(clean[1], noisy[1])
    shift = (noisy[0] - clean[0]).std()
    assert 0.07 < shift < 0.13


def test_larger_a_means_more_class_changes_along_x1():
    line = torch.stack([torch.linspace(-2, 2, 2001), torch.full((2001,), 0.3)], 1)

    def changes(a):
        y = torch.sin(a * line[:, 0]) * torch.cos(2 * line[:, 1]) > 0
        return int((y[1:] != y[:-1]).sum())

    assert changes(3) < changes(6) < changes(10)


@pytest.mark.parametrize("kwargs, name", [({"n": 0}, "n"), ({"a": 0.0}, "a"), ({"b": -1.0}, "b"),
                                          ({"c": -0.1}, "c"), ({"extent": 0.0}, "extent")])
def test_trigonometric_bad_arguments(kwargs, name):
    args = {"n": 10, **kwargs}
    with pytest.raises(ValueError, match=f"^{name}="):
        trigonometric(**args)


def test_trig_task_builds_per_run_data_and_run_r_is_seed_r():
    task = TrigTask(a=6, hidden=5, n_train=40, batch_size=10)
    model = task.build([3, 7])
    assert isinstance(model, PlanarClassifier)
    assert model.train_x.shape == (2, 40, 2) and model.test_x.shape == (2, 1000, 2)
    assert set(model.train_y.unique().tolist()) == {0.0, 1.0}
    single = task.build([7])
    assert torch.equal(model.train_x[1], single.train_x[0]) and torch.equal(model.hidden.weight[1], single.hidden.weight[0])
    assert not torch.equal(model.train_x[0], model.train_x[1])
    assert task.config()["task"] == "trigonometric" and "a=6" in task.title
    with pytest.raises(ValueError, match="batch_size"):
        TrigTask(n_train=40, batch_size=15).build([0])


# --------------------------------------------------------------------------- settings and optimizers


def test_make_optimizer_maps_methods():
    params = list(TINY.build([0, 1]).parameters())
    assert type(thermo.make_optimizer(thermo.SGD, [0, 1])(params)) is torch.optim.SGD
    assert type(thermo.make_optimizer(thermo.ADAM, [0, 1])(params)) is torch.optim.Adam
    adlala = thermo.make_optimizer(thermo.FIG8[3], [0, 1])(params)
    assert isinstance(adlala, PartitionedLangevin) and adlala.ensemble_dim == 0
    assert [g["method"] for g in adlala.param_groups] == ["adaptive", "langevin"]
    assert [len(g["params"]) for g in adlala.param_groups] == [2, 2]  # W1, b1 | W2, b2
    assert adlala.param_groups[1]["gamma"] == 0.5 and adlala.param_groups[0]["eps"] == 0.1
    lol = thermo.make_optimizer(thermo.TRIG[6][3], [0, 1])(params)
    assert [g["method"] for g in lol.param_groups] == ["langevin", "overdamped"]
    sgld = thermo.make_optimizer(thermo.FIG8[2], [0, 1])(params)
    assert math.isclose(sgld.param_groups[0]["tau"], 0.1 ** 2 / 2)
    with pytest.raises(ValueError, match="method='RMSprop'"):
        thermo.Setting("x", "RMSprop")
    changed = thermo.FIG15_ADLALA.replace(tau1=1e-3)
    assert changed.hyper["tau1"] == 1e-3 and changed.hyper["lr"] == 0.1 and "tau1" not in thermo.FIG15_ADLALA.hyper


# --------------------------------------------------------------------------- training


def test_train_keeps_evaluation_rows_and_snapshots():
    result = thermo.train(TINY, thermo.FIG8[3], [0, 1], steps=12, eval_every=4, snapshots=(4, 50))
    frame = result["frame"]
    assert sorted(frame["step"].unique()) == [0, 4, 8, 12]
    assert frame["test_accuracy"].notna().all() and set(frame["method"]) == {"AdLaLa (γ=0.5)"}
    assert sorted(result["snapshots"]) == [4, 12]  # 50 is beyond the run; the last step is always kept
    assert result["snapshots"][12]["W1"].shape == (2, 2, 4) and result["snapshots"][12]["b2"].shape == (2, 1)
    # The snapshot after 4 updates is the end of a 4-step run.
    short = thermo.train(TINY, thermo.FIG8[3], [0, 1], steps=4, eval_every=4)
    for name in thermo.PARAMETER_NAMES:
        np.testing.assert_array_equal(result["snapshots"][4][name], short["snapshots"][4][name])


@pytest.mark.parametrize("setting", [thermo.FIG8[3], thermo.FIG8[2], thermo.FIG8[5]], ids=lambda s: s.method)
def test_run_r_of_an_ensemble_is_the_single_run_with_seed_r(setting):
    both = thermo.train(TINY, setting, [0, 5], steps=10, eval_every=5)
    alone = thermo.train(TINY, setting, [5], steps=10, eval_every=5)
    for name in thermo.PARAMETER_NAMES:
        np.testing.assert_allclose(both["snapshots"][10][name][1], alone["snapshots"][10][name][0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(both["snapshots"][10]["W1"][0], both["snapshots"][10]["W1"][1])


def test_train_is_cached():
    first = thermo.train(TINY, thermo.SGD, [0], steps=3, eval_every=3)
    again = thermo.train(TINY, thermo.SGD, [0], steps=3, eval_every=3)
    assert again["wall_time_s"] == first["wall_time_s"]  # served from the cache, not re-timed
    pd.testing.assert_frame_equal(first["frame"], again["frame"])


def test_compare_and_sensitivity_shapes():
    result = thermo.compare(TINY, (thermo.SGD, thermo.ADAM), [0, 1], steps=6, eval_every=3, progress=False)
    assert set(result["frame"]["method"]) == {"SGD", "Adam"} and set(result["snapshots"]) == {"SGD", "Adam"}
    grid = thermo.sensitivity(TINY, thermo.FIG15_ADLALA, {"tau1": [1e-5, 1e-3], "sigma_A": [0.01]}, [0, 1], steps=4,
                              progress=False)
    assert grid[["tau1", "sigma_A"]].values.tolist() == [[1e-5, 0.01], [1e-3, 0.01]]
    assert grid["mean"].between(0, 1).all() and (grid["min"] <= grid["mean"]).all()


# --------------------------------------------------------------------------- analysis, by hand


def _frame():
    rows = []
    for method, curves in {"A": {0: [0.5, 0.7, 0.9], 1: [0.5, 0.6, 0.8]}, "B": {0: [0.5, 0.8, 0.85], 1: [0.5, 0.55, 0.6]}}.items():
        for seed, values in curves.items():
            rows += [{"method": method, "seed": seed, "step": 10 * i, "test_accuracy": v, "diverged": False}
                     for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_final_accuracy_and_spread_by_hand():
    final = thermo.final_accuracy(_frame())
    assert math.isclose(final.loc["A", "mean"], 0.85) and math.isclose(final.loc["B", "mean"], 0.725)
    assert math.isclose(final.loc["A", "var"], np.var([0.9, 0.8], ddof=1))
    assert final.loc["B", "min"] == 0.6 and final.loc["A", "max"] == 0.9 and final.loc["A", "n"] == 2
    assert math.isclose(thermo.final_accuracy(_frame(), step=10).loc["B", "mean"], 0.675)
    with pytest.raises(ValueError, match="step=5"):
        thermo.final_accuracy(_frame(), step=5)
    spread = thermo.spread_over_training(_frame()).set_index(["method", "step"])
    assert math.isclose(spread.loc[("B", 20), "var"], np.var([0.85, 0.6], ddof=1))


def test_steps_to_level_and_speed_by_hand():
    # Final means A 0.85, B 0.725: the level is 90 % of the way from chance to 0.725.
    level = 0.5 + 0.9 * (0.725 - 0.5)
    assert thermo.steps_to_level(_frame(), "A", level).tolist() == [20.0, 20.0]
    assert thermo.steps_to_level(_frame(), "B", level).tolist() == [10.0, np.inf]  # seed 1 never gets there
    fast = thermo.speed(_frame(), "A", "B")
    assert math.isclose(fast["level"], level) and fast["comparison"].a == "A" and fast["comparison"].n == 2
    assert fast["comparison"].diverged_b == 1  # "never" counts against B like a diverged run
    flat = _frame()
    flat.loc[flat["method"] == "B", "test_accuracy"] = 0.51  # B learns nothing: no common level
    assert thermo.speed(flat, "A", "B")["comparison"] is None
    with pytest.raises(ValueError, match="'C'"):
        thermo.steps_to_level(_frame(), "C", 0.6)


def test_paired_verdict_helpers():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.6, 0.8, 30)
    values = pd.DataFrame({"A": base + 0.1, "B": base, "C": base + 0.1 + rng.normal(0, 0.01, 30)})
    results = thermo.beats(values, "A", ["B", "C"])
    assert [r.verdict for r in results][0] == "reproduced"
    assert thermo.least_favourable(results).b == "C"  # A does not beat C: that comparison decides
    assert thermo.verdict_counts(results).startswith("1 reproduced")
    steady = pd.DataFrame({"A": 0.9 + rng.normal(0, 0.001, 40), "B": rng.choice([0.5, 0.9], 40)})
    assert thermo.spread_difference(steady, "A", "B")["says"] == "lower"
    same = thermo.spread_difference(pd.DataFrame({"A": base, "B": base}), "A", "B")
    assert same["difference"] == 0 and same["says"] == "unclear"


def test_against_paper_and_order_by_hand():
    final = pd.DataFrame({"mean": [0.8, 0.9], "std": [0.05, 0.05], "n": [100, 100]}, index=["X", "Y"])
    table = thermo.against_paper(final, {"X": 0.79, "Y": 0.85}, paper_runs=100)
    from scipy import stats
    half = stats.t.ppf(0.975, 99) * 0.05 * math.sqrt(2 / 100)
    assert math.isclose(table.loc["X", "half-width"], half)
    assert table["beyond"].tolist() == [False, True] and math.isclose(table.loc["Y", "difference"], 0.05)
    agreement, swapped = thermo.order_agreement({"a": 3, "b": 2, "c": 1}, {"a": 3, "b": 1, "c": 2})
    assert math.isclose(agreement, 2 / 3) and swapped == [("c", "b")]


def test_noise_temperature_and_thermostat_friction():
    assert math.isclose(thermo.noise_temperature(2.0, h=0.4, gamma=10.0), 0.16 * 2.0 / (1 - math.exp(-8.0)))
    # γh ≪ 1: the familiar hσ²/(2γ)
    assert math.isclose(thermo.noise_temperature(1.0, h=1e-3, gamma=0.1), 1e-3 / 0.2, rel_tol=1e-3)
    assert math.isclose(thermo.thermostat_friction(0.0, h=0.25, sigma_A=0.01, tau=1e-4), 0.5)


def test_gradient_noise_vanishes_with_full_batches():
    snapshot = thermo.train(TINY, thermo.SGD, [0, 1], steps=3, eval_every=3)["snapshots"][3]
    noisy = thermo.gradient_noise(TINY, snapshot, [0, 1])
    assert set(noisy["part"]) == {"layer 1", "layer 2", "W1", "b1", "W2", "b2"} and len(noisy) == 12
    assert (noisy["sigma_g2"] > 0).all()
    by = noisy.groupby("part")["sigma_g2"].mean()  # a layer's value is the entry-weighted mean of its tensors
    assert math.isclose(by["layer 2"], (4 * by["W2"] + 1 * by["b2"]) / 5, rel_tol=1e-6)
    full = SpiralTask(hidden=4, turns=1, n_train=20, batch_size=20)
    assert np.allclose(thermo.gradient_noise(full, snapshot, [0, 1])["sigma_g2"], 0.0, atol=1e-12)


def test_combine_parts():
    assert thermo.combine_parts(["reproduced", "reproduced"]) == "reproduced"
    assert thermo.combine_parts(["reproduced", "inconclusive"]) == "partly reproduced"
    assert thermo.combine_parts(["inconclusive", "not reproduced"]) == "not reproduced"


def test_probes_record_kinetic_temperature_and_xi():
    baoab = thermo.Setting("BAOAB", "BAOAB", {"lr": 0.1, "gamma": 1.0, "tau": 1e-3})
    probes = thermo.train(TINY, baoab, [0, 1], steps=6, eval_every=3, probe_every=2)["probes"]
    assert probes["step"].unique().tolist() == [2, 4, 6] and len(probes) == 6
    assert (probes[["T layer 1", "T layer 2"]] > 0).all().all() and not any(c.startswith("ξ") for c in probes)
    adlala = thermo.train(TINY, thermo.FIG8[3], [0, 1], steps=4, eval_every=4, probe_every=4)["probes"]
    assert {"ξ W1", "ξ b1"} <= set(adlala.columns) and "ξ W2" not in adlala.columns
    assert thermo.train(TINY, thermo.SGD, [0], steps=4, eval_every=4, probe_every=2)["probes"].empty


def test_gaussian_init_redraws_weights_only():
    from optbook.tasks.initialisation import GaussianInit

    task = SpiralTask(hidden=200, turns=2, n_train=20, batch_size=5)
    default, gauss = task.build([0, 1]), GaussianInit(task, 0.5).build([0, 1])
    assert torch.equal(default.train_x, gauss.train_x) and torch.equal(default.hidden.bias, gauss.hidden.bias)
    assert abs(gauss.hidden.weight.std().item() - 0.5) < 0.05 and not torch.equal(gauss.hidden.weight[0], gauss.hidden.weight[1])
    assert GaussianInit(task, 0.01).config()["init"] == {"weights": "gaussian", "std": 0.01}
    with pytest.raises(ValueError, match="std"):
        GaussianInit(task, 0.0)


def test_sgld_per_step_setting_builds():
    opt = thermo.make_optimizer(thermo.FIG8_SGLD_PER_STEP, [0, 1])(TINY.build([0, 1]).parameters())
    assert math.isclose(opt.param_groups[0]["tau"], 0.1 ** 2 / (2 * 0.1))


def test_decision_map_and_parameter_values_by_hand():
    # One hidden unit relu(x1), output 10·h − 5: P(class 1) > 0.5 exactly where x1 > 0.5.
    parameters = {"W1": np.array([[[1.0], [0.0]]]), "b1": np.array([[0.0]]),
                  "W2": np.array([[[10.0]]]), "b2": np.array([[-5.0]])}
    axis1, axis2, probability = thermo.decision_map(parameters, 0, extent=2.0, resolution=41)
    assert probability.shape == (41, 41) and axis1[0] == -2.0 and axis2[-1] == 2.0
    expected = 1 / (1 + np.exp(-(10 * np.maximum(axis1, 0) - 5)))
    np.testing.assert_allclose(probability, np.tile(expected, (41, 1)))
    values = thermo.parameter_values({"A": {5: parameters}}, 5, "W1")
    assert values["value"].tolist() == [1.0, 0.0] and set(values["method"]) == {"A"}
    with pytest.raises(ValueError, match="no snapshot"):
        thermo.parameter_values({"A": {5: parameters}}, 6)


def test_ensemble_speedups_row_per_problem_and_setting():
    table = thermo.ensemble_speedups({"tiny": TINY}, (thermo.ADAM, thermo.FIG8[3]), runs=3, steps=3, loop_runs=1)
    assert table["optimizer"].tolist() == ["Adam", "AdLaLa (γ=0.5)"] and (table["problem"] == "tiny").all()
    assert (table["max_final_loss_diff"] < 1e-5).all()  # the ensemble trains the same runs as the loop


def test_every_method_and_setting_of_a_figure_has_its_own_colour():
    colors = plots.method_colors(["AdLaLa (γ=10)", "AdLaLa (γ=0.5)", "SGLD", "Adam", "SGD", "LOL", "SGD-HD"])
    assert len(set(colors.values())) == len(colors)
    # A setting is a shade of its method's colour: the same hue, another lightness.
    hue = lambda c: round(colorsys.rgb_to_hls(*c)[0], 3)  # noqa: E731
    assert hue(colors["AdLaLa (γ=10)"]) == hue(colors["AdLaLa (γ=0.5)"]) == hue(plots.method_colors(["AdLaLa"])["AdLaLa"])
    # Fixed across the book: a method's colour does not depend on what else is drawn.
    assert plots.method_colors(["Adam"])["Adam"] == plots.method_colors(["SGD", "Adam", "LSTM"])["Adam"]
    assert plots.ordered(["AdLaLa (γ=10)", "Adam", "AdLaLa"]) == ["Adam", "AdLaLa", "AdLaLa (γ=10)"]
