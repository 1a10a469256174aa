"""The appendix "What it costs": every measurement comes from :mod:`optbook.bench` (the code
``optbook bench`` runs), with the floors of :mod:`optbook.floors`. Timings are taken when the
page executes and are never cached: a cached timing would describe another machine."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from optbook import bench, plots
from optbook.findings import Finding, numbers
from optbook.learned import CoordinatewiseLSTM

__all__ = [
    "ensemble_caption", "ensemble_costs", "ensemble_figure", "ensemble_table", "findings", "meta_caption",
    "meta_costs", "meta_table", "passes_table", "step_caption", "step_cost_figure", "step_costs", "step_table",
    "summary_table",
]

#: The L2L LSTM of chapter 1's MNIST problem, fresh (meta-training speed does not depend on φ).
MNIST_LSTM = {"hidden": 20, "layers": 2, "preprocess_p": 10.0, "output_scale": 0.1}


def step_costs(config: Mapping, device) -> pd.DataFrame:
    """:func:`optbook.bench.book_step_costs` on the config's MLP."""
    factory = bench.mlp_factory(config["mlp"], config["batch"], device=device)
    return bench.book_step_costs(factory, repeats=config["repeats"], steps_per_round=config["steps_per_round"],
                                 device=device)


def step_table(costs: pd.DataFrame) -> pd.DataFrame:
    return costs[["optimizer", "median_ms", "vs_sgd", "vs_adam", "floor_ms", "over_floor", "floor"]].rename(columns={
        "median_ms": "step (ms)", "vs_sgd": "× SGD", "vs_adam": "× Adam", "floor_ms": "floor (ms)",
        "over_floor": "× floor", "floor": "the floor counts"})


def step_caption(costs: pd.DataFrame) -> str:
    return (f"optimizer.step() on the MLP of {costs.attrs['parameters']:,} parameters; one pass "
            f"{costs.attrs['pass_ms']:.3g} ms, one Gaussian draw per coordinate {costs.attrs['draw_ms']:.3g} ms")


def passes_table() -> pd.DataFrame:
    """What the pass count of each elementwise optimizer's floor is made of."""
    from optbook.floors import PASSES

    return pd.DataFrame([{"optimizer": name, "passes": passes, "Gaussian draws": draws, "made of": why}
                         for name, (passes, draws, why) in PASSES.items()])


def step_cost_figure(costs: pd.DataFrame, scale: str, parameters: int) -> plt.Figure:
    """Step time relative to SGD per optimizer (bars, log axis), its floor marked on each bar."""
    colors = plots.method_colors(list(costs["optimizer"]))
    sgd = costs.loc[costs["optimizer"] == "SGD", "median_ms"].iloc[0]
    fig, ax = plt.subplots(figsize=(plots.PAGE_WIDTH, 0.42 * len(costs) + 1.6))
    y = np.arange(len(costs))[::-1]
    ax.barh(y, costs["median_ms"] / sgd, color=[colors[name] for name in costs["optimizer"]], height=0.7)
    ax.scatter(costs["floor_ms"] / sgd, y, marker="|", s=260, color="black", zorder=3, label="its floor")
    ax.set(yticks=y, yticklabels=costs["optimizer"], xscale="log",
           xlabel="time of one optimizer.step() relative to torch's foreach SGD")
    ax.axvline(1.0, color="0.5", lw=0.8)
    plots.plain_log_ticks(ax, "x")
    ax.legend(loc="upper right")  # beside the short bars of the elementwise optimizers
    plots.suptitle(fig, f"One step on an MLP of {parameters:,} parameters", scale)
    fig.tight_layout()
    return fig


def ensemble_costs(config: Mapping, device) -> pd.DataFrame:
    """:func:`optbook.bench.ensemble_scaling` for AdLaLa and Adam on the config's spirals."""
    from optbook.tasks import SpiralTask

    task = SpiralTask(**config["spirals"])
    frames = [
        bench.ensemble_scaling(task, make, config["runs"], config["steps"], loop_runs=config["loop_runs"], name=name,
                               device=device)
        for name, make in bench.default_ensemble_optimizers().items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs["task"] = task.title
    return frame


def ensemble_table(costs: pd.DataFrame) -> pd.DataFrame:
    return costs[["optimizer", "runs", "batched_ms_per_run", "loop_ms_per_run", "speedup", "floor_ms_per_run",
                  "batched_over_floor"]].rename(columns={
        "runs": "runs R", "batched_ms_per_run": "ensemble (ms per run)", "loop_ms_per_run": "loop (ms per run)",
        "speedup": "speed-up", "floor_ms_per_run": "floor (ms per run)", "batched_over_floor": "× floor"})


def ensemble_caption(costs: pd.DataFrame, loop_runs: int) -> str:
    return (f"{costs.attrs['task']}: cost per run of {int(costs['steps'].iloc[0])} training steps; the loop is "
            f"timed on up to {loop_runs} single runs")


def ensemble_figure(costs: pd.DataFrame, scale: str) -> plt.Figure:
    """Cost per run against the number of runs R, log–log: batched, looped and the floor."""
    colors = plots.method_colors(list(costs["optimizer"].unique()))
    fig, ax = plt.subplots(figsize=(plots.PAGE_WIDTH, 4.2))
    for name, group in costs.groupby("optimizer", sort=False):
        ax.plot(group["runs"], group["batched_ms_per_run"], "o-", color=colors[name], label=f"{name}, one ensemble")
        ax.plot(group["runs"], group["loop_ms_per_run"], "s--", color=colors[name], alpha=0.6,
                label=f"{name}, a loop of single runs")
    floor = costs.groupby("runs")["floor_ms_per_run"].min()
    ax.plot(floor.index, floor.to_numpy(), ":", color="black", label="floor: forward, backward, evaluations")
    ax.set(xscale="log", yscale="log", xlabel="runs R", ylabel="milliseconds per run")
    plots.plain_log_ticks(ax, "x")
    plots.plain_log_ticks(ax, "y")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    steps = int(costs["steps"].iloc[0])
    plots.suptitle(fig, f"{costs.attrs.get('task', 'spirals')}, {steps} steps per run", scale)
    fig.tight_layout()
    return fig


def meta_costs(config: Mapping, dataset: str, device) -> pd.DataFrame:
    """:func:`optbook.bench.meta_training_throughput` of chapter 1's LSTM on the config's task."""
    from optbook.tasks import book_task

    net = dict(MNIST_LSTM, **config.get("net", {}))
    return bench.meta_training_throughput(
        book_task(config["task"], dataset=dataset), lambda: CoordinatewiseLSTM(**net), problems=config["problems"],
        evaluation_runs=config["evaluation_runs"], evaluation_steps=config["evaluation_steps"],
        name=f"LSTM {net['layers']}×{net['hidden']}", device=device)


def meta_caption(meta: pd.DataFrame) -> str:
    return (f"Coordinate-steps per second, {meta['task'].iloc[0]} "
            f"({int(meta['coordinates_per_run'].iloc[0]):,} coordinates per run)")


def meta_table(meta: pd.DataFrame) -> pd.DataFrame:
    """Meta-training and frozen evaluation against the nn.LSTMCell reference and the floor."""
    row = meta.iloc[0]
    return pd.DataFrame([
        {"work": "meta-training (forward and backward)", "ours": row["train_coordinate_steps_per_s"],
         "nn.LSTMCell reference": row["reference_coordinate_steps_per_s"],
         "multiply-add floor": row["train_floor_coordinate_steps_per_s"], "× reference": row["train_vs_reference"]},
        {"work": "frozen evaluation (forward only)", "ours": row["evaluation_coordinate_steps_per_s"],
         "nn.LSTMCell reference": row["reference_forward_coordinate_steps_per_s"],
         "multiply-add floor": row["evaluation_floor_coordinate_steps_per_s"],
         "× reference": row["evaluation_coordinate_steps_per_s"] / row["reference_forward_coordinate_steps_per_s"]},
    ])


def summary_table(steps: pd.DataFrame, ensembles: pd.DataFrame, meta: pd.DataFrame, device) -> pd.DataFrame:
    """The headline ratios in a column for the device this page ran on; the other column says
    "not measured" until the page is executed there (the GPU workflow fills the GPU column)."""
    by_name = steps.set_index("optimizer")
    at_100 = ensembles[ensembles["runs"] == ensembles["runs"].max()].set_index("optimizer")
    row = meta.iloc[0]
    values = {
        "Adam-HD step / Adam step": by_name.loc["Adam-HD", "vs_adam"],
        "SGD-HD step / SGD step": by_name.loc["SGD-HD", "vs_sgd"],
        "AdLaLa step / SGD step": by_name.loc["AdLaLa", "vs_sgd"],
        "LSTM step / Adam step": by_name.loc["LSTM", "vs_adam"],
        f"AdLaLa ensemble of {int(at_100['runs'].iloc[0]):,} runs / loop": at_100.loc["AdLaLa", "speedup"],
        "meta-training / nn.LSTMCell reference": row["train_vs_reference"],
        "frozen evaluation / nn.LSTMCell reference": row["evaluation_vs_reference"],
    }
    on_gpu = torch.device(device).type == "cuda"
    measured = [f"{value:.3g}×" for value in values.values()]
    return pd.DataFrame({
        "ratio": list(values),
        "CPU": ["not measured"] * len(values) if on_gpu else measured,
        "GPU": measured if on_gpu else ["not measured"] * len(values),
    })


def findings(steps: pd.DataFrame, ensembles: pd.DataFrame, meta: pd.DataFrame) -> list[Finding]:
    """The numbers the page's prose cites (measurements, so answers, not verdicts)."""
    by_name = steps.set_index("optimizer")
    largest = ensembles[ensembles["runs"] == ensembles["runs"].max()].set_index("optimizer")
    single = ensembles[ensembles["runs"] == ensembles["runs"].min()].set_index("optimizer")
    row = meta.iloc[0]

    def times(value: float) -> str:
        return f"{value:.2g}×" if value < 10 else f"{value:,.0f}×"

    learned = ["LSTM", "HNN", "port-Hamiltonian"]
    return [
        numbers("steps",
                parameters=f"{steps.attrs['parameters']:,}",
                adam_hd=times(by_name.loc["Adam-HD", "vs_adam"]),
                sgd_hd=times(by_name.loc["SGD-HD", "vs_sgd"]),
                sgd_hd_floor=times(by_name.loc["SGD-HD", "over_floor"]),
                adlala=times(by_name.loc["AdLaLa", "vs_sgd"]),
                baoab=times(by_name.loc["BAOAB", "vs_sgd"]),
                langevin_floor=times(by_name.loc[["SGLD", "BAOAB", "AdLaLa", "LOL"], "over_floor"].max()),
                lstm=times(by_name.loc["LSTM", "vs_adam"]),
                learned_range=", ".join(f"{name} {times(by_name.loc[name, 'vs_adam'])}" for name in learned),
                lstm_floor=times(by_name.loc["LSTM", "over_floor"])),
        numbers("ensembles",
                largest=f"{int(largest['runs'].iloc[0]):,}",
                adlala_speedup=times(largest.loc["AdLaLa", "speedup"]),
                adam_speedup=times(largest.loc["Adam", "speedup"]),
                adlala_floor=times(largest.loc["AdLaLa", "batched_over_floor"]),
                adam_floor=times(largest.loc["Adam", "batched_over_floor"]),
                best_possible=times(largest["loop_ms_per_run"].min() / largest["floor_ms_per_run"].min()),
                single_floor=times(single.loc["AdLaLa", "batched_over_floor"])),
        numbers("meta",
                train=f"{row['train_steps_per_s']:.3g}",
                train_vs_reference=times(row["train_vs_reference"]),
                evaluation_vs_reference=times(row["evaluation_vs_reference"]),
                train_vs_floor=f"{100 * row['train_coordinate_steps_per_s'] / row['train_floor_coordinate_steps_per_s']:.0f} %",
                multiply_adds=f"{row['forward_multiply_adds_per_coordinate']:,.0f}"),
    ]
