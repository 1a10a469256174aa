"""The experiments of Leimkuhler, Matthews, Vlaar 2019, "Partitioned integrators for thermodynamic
parameterization of neural networks", on the book's batched ensembles.

Hyperparameters are the paper's figure captions (seed page, tagged [B] in
specs/hypergradient-and-thermodynamic.md: read from the captions, not verified against the full
text). Every stochastic optimizer draws its noise per run from a generator seeded by the run's
seed (:func:`optbook.bench.noise_generators`), so run r of an ensemble is the single run with
seed r, and two methods given the same seeds start from the same weights and data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from optbook import bench, cache, experiment
from optbook.optim import langevin, partitioned
from optbook.progress import progress_bar
from optbook.tasks import ensemble, spirals, trigonometric

METHODS = ("SGD", "Adam", "SGLD", "BAOAB", "AdLaLa", "LOL")
# The cache key covers the source of what a result depends on: data, model, runner, the integrators
# and the per-run noise seeding (bench.noise_generators); the settings are in the key's config.
STUDY_CODE = (ensemble, spirals, trigonometric, experiment, langevin, partitioned, bench)
# Bump when what train() stores changes (its thinning, its snapshots): this module's own source is
# not in the key, so that editing the analysis below does not discard hours of training.
RESULT_FORMAT = 1
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")  # the perceptron's tensors, in registration order


def _threads(device) -> int | None:
    """Intra-op threads for training: one on the CPU, where these perceptrons (at most 100 runs ×
    500 hidden units × 50 points) are too small to split, and a second thread only waits on the
    first whenever anything else runs on the machine (measured: 5-10× slower per step with two
    threads next to one other busy process on two cores); None (unchanged) on a GPU."""
    return 1 if torch.device(device).type == "cpu" else None


@dataclass(frozen=True)
class Setting:
    """A method with its hyperparameters, shown under ``label`` (e.g. "AdLaLa (γ=10)")."""

    label: str
    method: str
    hyper: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} is not one of {METHODS}")

    def config(self) -> dict:
        return {"label": self.label, "method": self.method, "hyper": dict(self.hyper)}

    def replace(self, label: str | None = None, **hyper) -> "Setting":
        """The same method with some hyperparameters changed."""
        return Setting(label or self.label, self.method, {**self.hyper, **hyper})


def make_optimizer(setting: Setting, seeds: Sequence[int]):
    """A factory ``params -> optimizer`` for an ensemble of ``seeds``.

    SGD and Adam act elementwise, so torch's own optimizers treat the runs independently. The
    Langevin-type methods reduce per run (``ensemble_dim=0``) and draw each run's noise from its
    own generator. AdLaLa and LOL split the parameters W1, b1 | W2, b2 (first layer | the rest).
    """
    hyper = dict(setting.hyper)
    method = setting.method
    if method == "SGD":
        return lambda params: torch.optim.SGD(params, foreach=True, **hyper)
    if method == "Adam":
        return lambda params: torch.optim.Adam(params, foreach=True, **hyper)
    constructors = {"SGLD": langevin.SGLD, "BAOAB": langevin.BAOAB, "AdLaLa": partitioned.AdLaLa,
                    "LOL": partitioned.LOL}

    def build(params):
        generators = bench.noise_generators(seeds)
        return constructors[method](list(params), ensemble_dim=0, generators=generators, **hyper)

    return build


# --------------------------------------------------------------------------- the papers' settings

SGD = Setting("SGD", "SGD", {"lr": 0.1})
ADAM = Setting("Adam", "Adam", {"lr": 0.005})
# Fig. 8 (2-turn spirals, 20 nodes, 100 runs, 10K steps).
FIG8 = (
    SGD,
    ADAM,
    Setting("SGLD", "SGLD", {"lr": 0.1, "sigma": 0.1}),
    Setting("AdLaLa (γ=0.5)", "AdLaLa", {"lr": 0.25, "tau1": 1e-4, "tau2": 1e-4, "sigma_A": 0.01, "eps": 0.1, "gamma": 0.5}),
    Setting("AdLaLa (γ=10)", "AdLaLa", {"lr": 0.25, "tau1": 1e-4, "tau2": 1e-4, "sigma_A": 0.01, "eps": 0.1, "gamma": 10.0}),
    # Fig. 14's LOL on the same problem (its τ₂ is not given: τ₂ = τ₁, see optbook.optim.LOL).
    Setting("LOL", "LOL", {"lr": 0.25, "gamma1": 0.01, "tau1": 1e-3}),
)
FIG8_PAPER_ACCURACY = {"SGD": 0.79, "Adam": 0.837, "SGLD": 0.78, "AdLaLa (γ=0.5)": 0.934, "AdLaLa (γ=10)": 0.855}
# Fig. 10 (4-turn spirals, 100 nodes): AdLaLa fixed at the notebooks' defaults; SGLD over σ, Adam over h.
FIG10_ADLALA = Setting("AdLaLa", "AdLaLa", {"lr": 0.25, "tau1": 1e-4, "tau2": 1e-4, "gamma": 0.1, "sigma_A": 0.01, "eps": 0.05})
# Figs. 11 (a = 6) and 12 (a = 10), trigonometric data: LOL and AdLaLa as captioned, SGLD from Fig. 12;
# SGD and Adam take the step sizes the paper uses everywhere else.
TRIG = {
    6: (SGD, ADAM, Setting("SGLD", "SGLD", {"lr": 0.1, "sigma": 0.01}),
        Setting("LOL", "LOL", {"lr": 0.1, "gamma1": 0.01, "tau1": 1e-3}),
        Setting("AdLaLa", "AdLaLa", {"lr": 0.2, "tau1": 1e-4, "tau2": 1e-4, "gamma": 10.0, "sigma_A": 0.001, "eps": 0.1})),
    10: (SGD, ADAM, Setting("SGLD", "SGLD", {"lr": 0.1, "sigma": 0.01}),
         Setting("LOL", "LOL", {"lr": 0.1, "gamma1": 0.01, "tau1": 1e-3}),
         Setting("AdLaLa", "AdLaLa", {"lr": 0.1, "tau1": 1e-4, "tau2": 1e-4, "gamma": 5.0, "sigma_A": 0.001, "eps": 0.1})),
}
# Fig. 1: BAOAB at h = 0.4, γ = 10 and several temperatures.
FIG1_BAOAB = Setting("BAOAB", "BAOAB", {"lr": 0.4, "gamma": 10.0})
# Fig. 15: AdLaLa on 4-turn spirals with γ₂ = 0.03, ε = 0.1, τ₂ = 1e-8, h = 0.1; τ₁ and σ_A vary.
FIG15_ADLALA = Setting("AdLaLa", "AdLaLa", {"lr": 0.1, "gamma": 0.03, "eps": 0.1, "tau2": 1e-8})


# --------------------------------------------------------------------------- training


def _snapshot_tracker(snapshots: Sequence[int], store: dict):
    """A ``track`` callback that copies the parameters after the updates numbered in ``snapshots``.

    ``run_ensemble`` calls it after every update, so its k-th call sees the parameters after k
    updates. It returns no columns.
    """
    wanted = set(snapshots)
    calls = [0]

    def track(optimizer) -> dict:
        calls[0] += 1
        if calls[0] in wanted:
            tensors = [p for group in optimizer.param_groups for p in group["params"]]
            store[calls[0]] = {name: t.detach().cpu().numpy().copy() for name, t in zip(PARAMETER_NAMES, tensors)}
        return {}

    return track


def train(task, setting: Setting, seeds: Sequence[int], steps: int, eval_every: int,
          snapshots: Sequence[int] = (), device="cpu") -> dict:
    """One ensemble of ``setting`` on ``task`` over ``seeds`` (cached).

    Returns ``frame`` (the tidy rows of the evaluation steps only: full-data train/test loss and
    accuracy per run), ``snapshots`` ({step: {"W1": [R, 2, H], "b1": [R, H], "W2": [R, H, 1],
    "b2": [R, 1]}} for each step of ``snapshots`` within ``steps``; the last step is always kept)
    and ``wall_time_s`` of the training when it was computed.
    """
    keep = sorted({s for s in snapshots if 0 < s <= steps} | {steps})
    config = {"task": task.config(), "setting": setting.config(), "seeds": list(seeds), "steps": steps,
              "eval_every": eval_every, "snapshots": keep, "format": RESULT_FORMAT}

    def compute() -> dict:
        store: dict[int, dict] = {}
        with bench.torch_threads(_threads(device)):
            frame = experiment.run_ensemble(task, make_optimizer(setting, seeds), seeds, steps, device=device,
                                            eval_every=eval_every, labels={"method": setting.label},
                                            track=_snapshot_tracker(keep, store))
        evaluated = frame[frame["test_accuracy"].notna()].reset_index(drop=True)
        return {"frame": evaluated, "snapshots": store, "wall_time_s": frame.attrs["wall_time_s"]}

    return cache.cached("thermo-train", config, compute, code=STUDY_CODE)


def compare(task, settings: Sequence[Setting], seeds: Sequence[int], steps: int, eval_every: int,
            snapshots: Sequence[int] = (), device="cpu", progress: bool = True) -> dict:
    """:func:`train` for each setting on the same seeds: ``frame`` (all settings, column ``method``),
    ``snapshots`` {label: {step: parameters}} and ``wall_time_s`` {label: seconds}."""
    results = {}
    for setting in progress_bar(settings, desc=task.name, disable=not progress):
        results[setting.label] = train(task, setting, seeds, steps, eval_every, snapshots, device)
    return {
        "frame": pd.concat([r["frame"] for r in results.values()], ignore_index=True),
        "snapshots": {label: r["snapshots"] for label, r in results.items()},
        "wall_time_s": {label: r["wall_time_s"] for label, r in results.items()},
    }


def sensitivity(task, setting: Setting, grid: Mapping[str, Sequence[float]], seeds: Sequence[int], steps: int,
                device="cpu", progress: bool = True) -> pd.DataFrame:
    """Final test accuracy of ``setting`` at every point of a grid of its hyperparameters (Fig. 15).

    Each cell is one batched ensemble over ``seeds`` (the same seeds in every cell). Returns one row
    per cell: the grid values, ``mean``, ``std`` and ``min`` of the final test accuracy.
    """
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    rows = []
    for point in progress_bar(points, desc=f"sensitivity {task.name}", disable=not progress):
        frame = train(task, setting.replace(**point), seeds, steps, eval_every=steps, device=device)["frame"]
        final = frame[frame["step"] == steps]["test_accuracy"]
        rows.append({**point, "mean": final.mean(), "std": final.std(ddof=1) if len(final) > 1 else 0.0,
                     "min": final.min()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- analysis


def final_accuracy(frame: pd.DataFrame, value: str = "test_accuracy", step: int | None = None) -> pd.DataFrame:
    """Per method: mean, standard deviation, variance, min, max of ``value`` over runs at ``step``
    (default: the last), with a 95 % confidence interval of the mean and the number of runs."""
    step = int(frame["step"].max()) if step is None else step
    at = frame[frame["step"] == step]
    missing = sorted(set(frame["method"]) - set(at["method"]))
    if missing:
        raise ValueError(f"step={step} was not evaluated for {missing}")
    summary = experiment.mean_ci(at, ["method"], value).set_index("method")
    values = at.groupby("method")[value]
    summary["var"] = values.var(ddof=1)
    summary["min"] = values.min()
    summary["max"] = values.max()
    return summary


def spread_over_training(frame: pd.DataFrame, value: str = "test_accuracy") -> pd.DataFrame:
    """Per method and evaluation step: the mean and the variance of ``value`` over runs (Fig. 14)."""
    grouped = frame.groupby(["method", "step"])[value]
    return grouped.agg(mean="mean", var=lambda v: v.var(ddof=1)).reset_index()


def steps_to_match(frame: pd.DataFrame, method: str, rival: str, value: str = "test_accuracy") -> dict:
    """Is ``method`` faster than ``rival``? The first evaluated step at which each method's mean
    ``value`` over runs reaches the rival's final mean (the rival's own step is when it got there).

    Returns ``level`` (the rival's final mean), ``method_steps`` and ``rival_steps`` (NaN: never) and
    ``faster`` (``method`` reached the level at an earlier step than the rival).
    """
    curves = frame[frame["method"].isin([method, rival])].groupby(["method", "step"])[value].mean()
    if method not in curves.index.get_level_values(0) or rival not in curves.index.get_level_values(0):
        raise ValueError(f"frame needs rows of both {method!r} and {rival!r}")
    level = curves[rival].iloc[-1]

    def first(name: str) -> float:
        reached = curves[name][curves[name] >= level]
        return float(reached.index[0]) if len(reached) else float("nan")

    method_steps, rival_steps = first(method), first(rival)
    return {"level": float(level), "method_steps": method_steps, "rival_steps": rival_steps,
            "faster": bool(method_steps < rival_steps)}


def paired_wins(frame: pd.DataFrame, method: str, other: str, value: str = "test_accuracy") -> float:
    """Fraction of seeds on which ``method`` ends with a higher ``value`` than ``other`` (same seeds)."""
    last = frame[frame["step"] == frame["step"].max()].pivot_table(index="seed", columns="method", values=value)
    pair = last[[method, other]].dropna()
    if pair.empty:
        raise ValueError(f"{method!r} and {other!r} share no seed at the last step")
    return float((pair[method] > pair[other]).mean())


def parameter_values(snapshots: Mapping[str, Mapping[int, dict]], step: int, name: str = "W1") -> pd.DataFrame:
    """Every entry of tensor ``name`` over all runs after ``step`` updates, per method (Figs. 6-8):
    columns ``method``, ``value``."""
    frames = []
    for label, by_step in snapshots.items():
        if step not in by_step:
            raise ValueError(f"no snapshot of {label!r} at step {step}; have {sorted(by_step)}")
        frames.append(pd.DataFrame({"method": label, "value": by_step[step][name].reshape(-1)}))
    return pd.concat(frames, ignore_index=True)


def decision_map(parameters: Mapping[str, np.ndarray], run: int, extent: float = 2.5,
                 resolution: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The classifier of run ``run``: P(class 1) on a ``resolution``² grid over [−extent, extent]².

    Returns (x1, x2, probability) with probability[i, j] at (x1[j], x2[i]), for ``pcolormesh``.
    """
    axis = np.linspace(-extent, extent, resolution)
    x1, x2 = np.meshgrid(axis, axis)
    points = np.stack([x1.ravel(), x2.ravel()], 1)
    hidden = np.maximum(points @ parameters["W1"][run] + parameters["b1"][run], 0.0)
    logits = (hidden @ parameters["W2"][run] + parameters["b2"][run])[:, 0]
    return axis, axis, (1.0 / (1.0 + np.exp(-logits))).reshape(resolution, resolution)


def ensemble_speedups(tasks: Mapping[str, object], settings: Sequence[Setting], runs: int, steps: int,
                      loop_runs: int, device="cpu") -> pd.DataFrame:
    """One batched ensemble of ``runs`` runs against a loop of single runs (measured now, not cached),
    per task and setting: :func:`optbook.bench.ensemble_speedup` with this chapter's optimizers, on
    the threads :func:`train` uses (column ``threads``)."""
    rows = []
    for task_label, task in tasks.items():
        for setting in settings:
            with bench.torch_threads(_threads(device)):
                row = bench.ensemble_speedup(task, lambda params, seeds, s=setting: make_optimizer(s, seeds)(params),
                                             runs=runs, steps=steps, loop_runs=loop_runs, name=setting.label,
                                             device=device)
                rows.append(row.assign(problem=task_label, threads=torch.get_num_threads()))
    return pd.concat(rows, ignore_index=True)
