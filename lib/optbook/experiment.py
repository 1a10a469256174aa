"""Run methods over seeds and configs as batched ensembles; return tidy DataFrames.

One row per run x step: ``method``, the config columns (e.g. ``lr``), ``step``, ``run`` (the
position in the ensemble), ``seed``,
``loss`` (the minibatch loss at θ_step, before the update of that step; the last row is at the
final parameters), any evaluation metrics (NaN between evaluations) and ``diverged`` (the run
has produced a non-finite loss at or before this step). A diverged run is kept and marked; it
never stops the others, since the runs of an ensemble are independent.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from optbook.progress import progress_bar

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def _closure(optimizer: torch.optim.Optimizer, model, batch) -> Callable[[], torch.Tensor]:
    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        losses = model(batch)
        # The sum's gradient for run r is run r's own gradient; a diverged run's NaNs stay in its
        # own coordinates because ensemble-aware optimizers reduce per run.
        losses.sum().backward()
        return losses.detach()

    return closure


def run_ensemble(
    task,
    make_optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer],
    seeds: Sequence[int],
    steps: int,
    device: torch.device | str = "cpu",
    eval_every: int | None = None,
    labels: Mapping[str, object] | None = None,
    track: Callable[[torch.optim.Optimizer], Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    """Train ``len(seeds)`` independent runs of ``task`` as one batched model for ``steps`` updates.

    ``make_optimizer(params)`` gets the ensemble's parameters. Each step calls
    ``optimizer.step(closure)``: one gradient evaluation, and integrators that need a fresh
    gradient inside the step get it from the closure. Metrics of ``model.evaluate()`` are
    recorded at step 0, every ``eval_every`` steps and at the end. ``track(optimizer)`` is read
    after every update, e.g. ``{"lr": ...}`` (a number, or one value per run), and lands in the
    row of that update's step.
    """
    if steps < 1:
        raise ValueError(f"steps={steps} must be at least 1")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every={eval_every} must be a positive number of steps or None")
    model = task.build(seeds, device=device)
    optimizer = make_optimizer(model.parameters())
    losses = torch.full((steps + 1, model.runs), float("nan"))
    evaluations: dict[int, dict[str, torch.Tensor]] = {}
    tracked: dict[str, torch.Tensor] = {}
    eval_steps = set(range(0, steps + 1, eval_every)) | {steps} if eval_every else {steps}
    alive = torch.ones(model.runs, dtype=torch.bool)  # runs whose losses have all been finite
    started = time.perf_counter()
    for step in range(steps + 1):
        if step in eval_steps:
            evaluations[step] = {k: v.detach().cpu() for k, v in model.evaluate().items()}
        batch = model.sample_batch()
        if step == steps:
            with torch.no_grad():
                losses[step] = model(batch).cpu()
            break
        losses[step] = optimizer.step(_closure(optimizer, model, batch)).cpu()
        for name, value in (track(optimizer) if track else {}).items():
            column = tracked.setdefault(name, torch.full((steps + 1, model.runs), float("nan"), dtype=torch.float64))
            column[step] = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
        alive &= torch.isfinite(losses[step])
        if not alive.any():
            break  # every run has diverged: nothing left to learn from this config
    frame = _tidy(losses, evaluations, model.seeds, labels or {})
    for name, column in tracked.items():
        if name in frame:
            raise ValueError(f"tracked quantity {name!r} collides with a column of the tidy frame")
        frame[name] = column.numpy().reshape(-1)
    frame.attrs["wall_time_s"] = time.perf_counter() - started
    return frame


def _tidy(losses: torch.Tensor, evaluations, seeds, labels) -> pd.DataFrame:
    n_steps, runs = losses.shape
    values = losses.numpy()
    diverged = np.logical_or.accumulate(~np.isfinite(values), axis=0)
    frame = pd.DataFrame(
        {
            "step": np.repeat(np.arange(n_steps), runs),
            "run": np.tile(np.arange(runs), n_steps),  # position in the ensemble: seeds may repeat
            "seed": np.tile(np.asarray(seeds), n_steps),
            "loss": values.reshape(-1),
            "diverged": diverged.reshape(-1),
        }
    )
    for name in sorted({name for metrics in evaluations.values() for name in metrics}):
        if name in frame or name in labels:
            raise ValueError(f"evaluation metric {name!r} collides with a column of the tidy frame")
        column = np.full((n_steps, runs), np.nan, dtype=np.float32)
        for step, metrics in evaluations.items():
            if name in metrics:
                column[step] = metrics[name].numpy()
        frame[name] = column.reshape(-1)
    for key, value in reversed(list(labels.items())):
        frame.insert(0, key, value)
    return frame


def run_grid(
    task,
    methods: Mapping[str, OptimizerFactory],
    grid: Mapping[str, Sequence],
    seeds: Sequence[int],
    steps: int,
    device: torch.device | str = "cpu",
    eval_every: int | None = None,
    progress: bool = True,
    description: str | None = None,
) -> pd.DataFrame:
    """Every method at every point of ``grid`` (a product of named values), one ensemble each.

    ``methods[name](params, **point)`` builds the optimizer, e.g. ``{"lr": [0.1, 0.01]}``.
    """
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    jobs = [(name, point) for name in methods for point in points]
    frames = []
    bar = progress_bar(jobs, desc=description or task.name, disable=not progress)
    for name, point in bar:
        bar.set_postfix_str(f"{name} {point}")
        frames.append(
            run_ensemble(
                task,
                lambda params: methods[name](params, **point),
                seeds,
                steps,
                device=device,
                eval_every=eval_every,
                labels={"method": name, **point},
            )
        )
    return pd.concat(frames, ignore_index=True)


def mean_ci(frame: pd.DataFrame, by: Sequence[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` over seeds with a normal-approximation confidence interval, per ``by`` group.

    Non-finite values (diverged runs) are excluded and counted in ``n_diverged``.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    finite = frame[np.isfinite(frame[value])]
    grouped = finite.groupby(list(by), sort=True)[value]
    summary = grouped.agg(mean="mean", std="std", n="count").reset_index()
    half = z * summary["std"].fillna(0.0) / np.sqrt(summary["n"])
    summary["lo"] = summary["mean"] - half
    summary["hi"] = summary["mean"] + half
    totals = frame.groupby(list(by), sort=True)[value].size().rename("n_total").reset_index()
    summary = summary.merge(totals, on=list(by), how="right")
    summary["n_diverged"] = summary["n_total"] - summary["n"].fillna(0).astype(int)
    return summary.drop(columns="n_total")
