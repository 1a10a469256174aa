"""The benchmarks (optbook.bench) and `optbook bench`, at tiny sizes: tables, arithmetic, like-for-like runs."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
import torch

from optbook import bench
from optbook.pipeline.cli import main
from optbook.optim import BAOAB
from optbook.tasks import SpiralTask

TINY_MLP = (20, 20)
TINY_SPIRALS = SpiralTask(hidden=4, n_train=40, batch_size=10)
STEP_COLUMNS = ["optimizer", "reference", "median_ms", "min_ms", "timed_steps", "ratio"]
ENSEMBLE_COLUMNS = [
    "task", "optimizer", "runs", "steps", "batched_s", "batched_ms_per_run", "loop_runs_timed",
    "loop_ms_per_run", "loop_s_extrapolated", "speedup", "floor_ms_per_run", "batched_over_floor",
    "max_final_loss_diff",
]


def invoke(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def step_table() -> pd.DataFrame:
    optimizers, reference = bench.default_step_optimizers()
    return bench.optimizer_step_times(bench.mlp_factory(TINY_MLP, batch_size=8), optimizers, reference,
                                      repeats=2, steps_per_round=2, warmup=1)


def test_step_table_has_one_row_per_optimizer_with_positive_times(step_table):
    optimizers, reference = bench.default_step_optimizers()
    assert list(step_table.columns) == STEP_COLUMNS
    assert list(step_table["optimizer"]) == list(optimizers)
    assert (step_table["timed_steps"] == 2 * 2).all()
    assert (step_table["min_ms"] > 0).all() and (step_table["min_ms"] <= step_table["median_ms"]).all()
    assert step_table.attrs["parameters"] == 20 * 20 + 20


def test_ratio_is_the_candidates_median_over_its_references(step_table):
    _, reference = bench.default_step_optimizers()
    medians = step_table.set_index("optimizer")["median_ms"]
    for row in step_table.itertuples():
        if row.optimizer in reference:
            assert row.reference == reference[row.optimizer]
            assert row.ratio == pytest.approx(medians[row.optimizer] / medians[row.reference])
        else:  # a reference itself
            assert row.reference == "" and np.isnan(row.ratio)


def test_step_benchmark_leaves_the_global_rng_alone_and_checks_references():
    state = torch.random.get_rng_state()
    optimizers = {
        "SGD": lambda p: torch.optim.SGD(p, lr=0.1),
        "BAOAB": lambda p: BAOAB(p, lr=0.01, generator=torch.Generator().manual_seed(1)),  # needs step(closure)
    }
    frame = bench.optimizer_step_times(bench.mlp_factory(TINY_MLP), optimizers, {"BAOAB": "SGD"}, repeats=1,
                                       steps_per_round=1)
    assert len(frame) == 2 and torch.equal(state, torch.random.get_rng_state())
    with pytest.raises(ValueError, match="Adam"):
        bench.optimizer_step_times(bench.mlp_factory(TINY_MLP), optimizers, {"BAOAB": "Adam"}, repeats=1)


def test_ensemble_benchmark_batched_and_looped_runs_are_the_same_runs():
    make_adam = bench.default_ensemble_optimizers()["Adam"]
    frame = bench.ensemble_speedup(TINY_SPIRALS, make_adam, runs=3, steps=5, loop_runs=2, name="Adam")
    assert list(frame.columns) == ENSEMBLE_COLUMNS and len(frame) == 1
    row = frame.iloc[0]
    assert (row["task"], row["optimizer"], row["runs"], row["steps"], row["loop_runs_timed"]) == (
        TINY_SPIRALS.name, "Adam", 3, 5, 2)
    assert row["batched_s"] > 0 and row["loop_ms_per_run"] > 0
    assert row["batched_ms_per_run"] == pytest.approx(1e3 * row["batched_s"] / 3)
    assert row["loop_s_extrapolated"] == pytest.approx(row["loop_ms_per_run"] * 3 / 1e3)
    assert row["speedup"] == pytest.approx(row["loop_ms_per_run"] / row["batched_ms_per_run"])
    assert row["floor_ms_per_run"] > 0
    assert row["batched_over_floor"] == pytest.approx(row["batched_ms_per_run"] / row["floor_ms_per_run"])
    # Adam is elementwise, so run r of the ensemble is the single run of its seed: same final losses.
    batched, looped = (np.array(frame.attrs["final_loss"][side]) for side in ("batched", "looped"))
    assert len(batched) == 3 and len(looped) == 2
    np.testing.assert_allclose(looped, batched[:2], rtol=1e-5, atol=1e-6)
    assert row["max_final_loss_diff"] < 1e-5
    assert batched[0] != batched[1]  # distinct seeds train distinct runs: the match is not trivial


def test_ensemble_benchmark_gives_adlala_per_run_noise():
    make_adlala = bench.default_ensemble_optimizers()["AdLaLa"]
    frame = bench.ensemble_speedup(TINY_SPIRALS, make_adlala, runs=2, steps=4, name="AdLaLa")
    batched, looped = (np.array(frame.attrs["final_loss"][side]) for side in ("batched", "looped"))
    np.testing.assert_allclose(looped, batched, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="loop_runs"):
        bench.ensemble_speedup(TINY_SPIRALS, make_adlala, runs=2, steps=4, loop_runs=3)


def test_environment_is_one_line_naming_torch_threads_and_device():
    line = bench.environment()
    assert "\n" not in line and f"torch {torch.__version__}" in line
    assert "thread" in line and "device cpu" in line


def test_cli_bench_steps_runs_outside_a_book_and_restores_threads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no book here: bench must not need one
    threads = torch.get_num_threads()
    code, out, err = invoke("bench", "--only", "steps", "--repeats", "1", "--widths", "20-20", "--batch", "8")
    assert code == 0, err
    assert "median_ms" in out and "SGD-HD" in out and "BAOAB" in out and "environment: torch" in out
    assert "speedup" not in out  # --only steps
    assert torch.get_num_threads() == threads


def test_cli_bench_ensemble_writes_a_csv(tmp_path):
    csv = tmp_path / "bench.csv"
    code, out, err = invoke("bench", "--only", "ensemble", "--runs", "2", "--steps", "3", "--loop-runs", "1",
                            "--output", csv)
    assert code == 0, err
    assert "speedup" in out and "AdLaLa" in out
    written = pd.read_csv(csv)
    assert list(written["benchmark"]) == ["ensemble", "ensemble"] and list(written["optimizer"]) == ["AdLaLa", "Adam"]
    assert written["environment"].str.startswith("torch").all()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "everything"], "'steps', 'ensemble'"),
        (["--repeats", "0"], "--repeats 0"),
        (["--loop-runs", "0"], "--loop-runs 0"),
        (["--widths", "784"], "--widths '784'"),
    ],
)
def test_cli_bench_rejects_bad_arguments(argv, message):
    code, out, err = invoke("bench", *argv)
    assert code == 2 and message in err and out == ""


def test_meta_training_throughput_counts_steps_and_coordinates_against_the_reference():
    from optbook.learned import CoordinatewiseLSTM
    from optbook.tasks import QuadraticTask

    row = bench.meta_training_throughput(QuadraticTask(), lambda: CoordinatewiseLSTM(hidden=4, layers=1),
                                         problems=1, evaluation_runs=3, evaluation_steps=5).iloc[0]
    assert row["coordinates_per_run"] == 10
    assert row["train_steps_per_s"] > 0 and row["evaluation_coordinate_steps_per_s"] > 0
    assert row["train_coordinate_steps_per_s"] == pytest.approx(row["train_steps_per_s"] * 10)
    assert row["train_vs_reference"] == pytest.approx(
        row["train_coordinate_steps_per_s"] / row["reference_coordinate_steps_per_s"])
    assert row["evaluation_vs_reference"] == pytest.approx(
        row["evaluation_coordinate_steps_per_s"] / row["reference_coordinate_steps_per_s"])
    # one layer of 4 units on the two preprocessed inputs: 4 gates x 4 units x (2 + 4 recurrent), head 4
    assert row["forward_multiply_adds_per_coordinate"] == 16 * 6 + 4
    assert row["train_floor_coordinate_steps_per_s"] == pytest.approx(
        row["matmul_multiply_adds_per_s"] / (3 * row["forward_multiply_adds_per_coordinate"]))
    with pytest.raises(ValueError, match="problems"):
        bench.meta_training_throughput(QuadraticTask(), lambda: CoordinatewiseLSTM(), problems=0)


def test_lstm_cell_reference_times_both_modes_and_refuses_empty_sizes():
    from optbook import floors

    times = floors.lstm_cell_reference(hidden=3, layers=2, inputs=2, coordinates=5, unroll=2, repeats=1)
    assert set(times) == {"train", "forward"} and times["train"] > 0 and times["forward"] > 0
    with pytest.raises(ValueError, match="positive"):
        floors.lstm_cell_reference(hidden=0, layers=2, inputs=2, coordinates=5)


def test_multiply_adds_of_the_two_layer_lstm():
    from optbook import floors
    from optbook.learned import CoordinatewiseLSTM

    net = CoordinatewiseLSTM(hidden=20, layers=2, preprocess_p=10.0)
    # layer 1: 80 gates x (2 inputs + 20 recurrent); layer 2: 80 x (20 + 20); head 20
    assert floors.multiply_adds(net, 7) == 7 * (80 * 22 + 80 * 40 + 20)


def test_no_update_optimizer_evaluates_the_closure_and_leaves_parameters():
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = bench.NoUpdate([weight])
    loss = optimizer.step(lambda: (weight ** 2).sum())
    assert loss.item() == 3.0 and torch.equal(weight.detach(), torch.ones(3)) and weight.grad is None
    assert optimizer.step() is None


def test_book_step_costs_rows_ratios_and_floors():
    optimizers = {name: make for name, make in bench.book_step_optimizers().items()
                  if name in ("SGD", "Adam", "SGD-HD", "BAOAB", "LSTM")}
    frame = bench.book_step_costs(bench.mlp_factory(TINY_MLP, batch_size=8), optimizers, repeats=1, steps_per_round=1)
    assert list(frame["optimizer"]) == list(optimizers)
    rows = frame.set_index("optimizer")
    assert rows.loc["SGD", "vs_sgd"] == 1.0 and rows.loc["Adam", "vs_adam"] == 1.0
    assert rows.loc["SGD-HD", "vs_adam"] == pytest.approx(rows.loc["SGD-HD", "median_ms"] / rows.loc["Adam", "median_ms"])
    # elementwise floors are passes (plus draws): SGD-HD's 7 passes are 7/3 of SGD's floor
    assert rows.loc["SGD-HD", "floor_ms"] == pytest.approx(7 / 3 * rows.loc["SGD", "floor_ms"])
    assert rows.loc["BAOAB", "floor_ms"] > 11 / 3 * rows.loc["SGD", "floor_ms"]  # a Gaussian draw on top
    assert "multiply-adds" in rows.loc["LSTM", "floor"] and rows.loc["LSTM", "floor_ms"] > 0
    with pytest.raises(ValueError, match="SGD and Adam"):
        bench.book_step_costs(bench.mlp_factory(TINY_MLP), {"SGD": optimizers["SGD"]})


def test_target_checks_compare_each_measured_ratio_with_its_target():
    steps = pd.DataFrame({"optimizer": ["SGD (foreach)", "SGD-HD", "Adam (foreach)", "Adam-HD"],
                          "median_ms": [3.0, 7.0, 10.0, 11.5]})
    ensemble = pd.DataFrame({"optimizer": ["Adam"], "speedup": [60.0], "batched_over_floor": [2.5]})
    checks = bench.target_checks({"steps": steps, "ensemble": ensemble}).set_index("target")
    assert checks.loc["SGD-HD / its 7/3-pass floor", "measured"] == pytest.approx(1.0)
    assert checks.loc["SGD-HD / its 7/3-pass floor", "met"]
    assert not checks.loc["Adam-HD / Adam", "met"]  # 1.15 > 1.10
    assert checks.loc["Adam ensemble speed-up over the loop", "met"]
    assert not checks.loc["Adam ensemble / its floor", "met"]
    assert "AdLaLa ensemble speed-up over the loop" not in checks.index  # not measured: not listed
