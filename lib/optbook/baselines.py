"""The hand-designed baselines and their learning-rate tuning, as Andrychowicz et al. 2016 did it.

Each baseline's learning rate is chosen per task from a grid, on held-out problems (seeds that
no evaluation uses), over the task's horizon; the other hyperparameters are Torch7's defaults
(momentum 0.9, Adam (0.9, 0.999, 1e-8), RMSprop alpha 0.99). The paper keeps the rate with the
best *final* loss; the PyTorch reproductions kept the best loss summed over the trajectory. We
compute both from the same runs; chapters use the paper's. The loss is the minibatch loss the
optimizer sees (what the paper's curves and the reproductions' numbers show), the same quantity
chapter 1 compares. No chosen rate may sit at the edge of the rates tried: while the best rate of
a method (by either criterion) is its largest or smallest, :func:`tuning_runs` extends that
method's grid one step further along the 1-3-10 ladder.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from optbook import cache, experiment
from optbook import tasks as tasks_module
from optbook.progress import progress_bar
from optbook.tasks import base, ensemble

LR_GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5, 1e-5)
# How far past the grid a method's rates may be extended to bring its best rate inside them.
MAX_EXTENSIONS = 4
TUNING_SEED_OFFSET = 10_000  # tuning problems are seeds 10000, 10001, ...; evaluation uses 0, 1, ...

BASELINES: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "SGD": lambda params, lr: torch.optim.SGD(params, lr=lr, foreach=True),
    "Momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, foreach=True),
    "NAG": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, foreach=True),
    "RMSprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8, foreach=True),
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=True),
}

# Learning rates chosen by the PyTorch reproduction of L2L (chenwydj, trajectory-sum criterion);
# the HNN-optimizer project reused them. "Momentum" is their "SGD". See specs/learned-optimizers.md 1.6.
REFERENCE_LRS = {
    "quadratic": {"Adam": 0.1, "RMSprop": 0.03, "Momentum": 0.01, "NAG": 0.01},
    "mnist-sigmoid": {"Adam": 0.03, "RMSprop": 0.01, "Momentum": 1.0, "NAG": 1.0},
    "mnist-2layer": {"Adam": 0.01, "RMSprop": 0.003, "Momentum": 0.03, "NAG": 1.0},
    "mnist-40": {"Adam": 0.03, "RMSprop": 0.01, "Momentum": 1.0, "NAG": 1.0},
    "mnist-relu": {"Adam": 0.03, "RMSprop": 0.003, "Momentum": 0.3, "NAG": 0.3},
}
# Loss at step 100, mean of 100 runs, of the baselines at those rates (full MNIST), from the
# HNN-optimizer project's stored notebook outputs (specs/learned-optimizers.md 2.7).
REFERENCE_FINAL_LOSS = {
    "quadratic": {"Adam": 0.41, "RMSprop": 0.76, "Momentum": 0.33, "NAG": 0.45},
    "mnist-sigmoid": {"Adam": 0.35, "RMSprop": 0.38, "Momentum": 0.36, "NAG": 0.33},
    "mnist-relu": {"Adam": 0.34, "RMSprop": 0.38, "Momentum": 0.45, "NAG": 0.61},
}

# What every baseline result depends on; the task's own module is added per task
# (tuning_code), so changing the spirals does not re-tune the MNIST baselines.
TUNING_CODE = (base, ensemble, experiment)


def tuning_code(task) -> tuple:
    """The modules a cached baseline run on ``task`` depends on."""
    return (*TUNING_CODE, sys.modules[type(task).__module__])


@dataclass(frozen=True)
class TuningProtocol:
    """How learning rates are tuned: the grid, how many held-out problems, the horizon."""

    steps: int
    n_seeds: int
    lr_grid: tuple[float, ...] = LR_GRID
    methods: tuple[str, ...] = tuple(BASELINES)

    def __post_init__(self):
        unknown = set(self.methods) - set(BASELINES)
        if unknown:
            raise ValueError(f"methods {sorted(unknown)} are not baselines; choose from {list(BASELINES)}")
        if self.steps < 1 or self.n_seeds < 1:
            raise ValueError(f"steps={self.steps} and n_seeds={self.n_seeds} must be positive")

    @property
    def seeds(self) -> list[int]:
        return list(range(TUNING_SEED_OFFSET, TUNING_SEED_OFFSET + self.n_seeds))


def ladder_neighbour(lr: float, up: bool, grid: Sequence[float] = LR_GRID) -> float:
    """The next rate past ``lr`` on the grid's ladder: 1, 3, 10, 30 ... on a 1-3 grid (the L2L
    reproductions'), otherwise the grid's own ratio between neighbours."""
    if lr <= 0:
        raise ValueError(f"lr={lr!r} must be positive")
    exponent = math.floor(math.log10(lr) + 1e-9)
    mantissa = lr / 10**exponent
    rungs = sorted({round(g / 10 ** math.floor(math.log10(g) + 1e-9), 6) for g in grid})
    if rungs == [1.0, 3.0] and any(math.isclose(mantissa, r, rel_tol=1e-6) for r in rungs):
        if math.isclose(mantissa, 1.0, rel_tol=1e-6):
            neighbour = 3 * 10.0**exponent if up else 3 * 10.0 ** (exponent - 1)
        else:
            neighbour = 10.0 ** (exponent + 1) if up else 10.0**exponent
        return float(f"{neighbour:.6g}")
    ordered = sorted(grid)
    ratio = ordered[1] / ordered[0] if len(ordered) > 1 else 10.0
    return float(f"{lr * ratio:.6g}") if up else float(f"{lr / ratio:.6g}")


def _edge_extensions(runs: pd.DataFrame, grid: Sequence[float]) -> list[tuple[str, float]]:
    """(method, rate) to try next: past the largest (smallest) rate tried when it is the best
    by either criterion."""
    scores = learning_rate_scores(runs)
    wanted = []
    for method, group in scores.groupby("method", sort=False):
        tried = sorted(group["lr"])
        for criterion in ("final", "trajectory"):
            if np.isinf(group[criterion]).all():
                continue  # every rate diverged: no best to bracket
            best = float(group.loc[group[criterion].idxmin(), "lr"])
            for up, edge in ((True, tried[-1]), (False, tried[0])):
                if math.isclose(best, edge):
                    candidate = (method, ladder_neighbour(edge, up, grid))
                    if candidate not in wanted:
                        wanted.append(candidate)
    return wanted


def tuning_runs(task, protocol: TuningProtocol, device="cpu", progress: bool = True) -> pd.DataFrame:
    """Every baseline at every grid rate on the held-out problems, plus the rates past the grid's
    edge that a method needs for its best rate to be interior (each run cached)."""
    config = {"task": task.config(), **asdict(protocol)}

    def compute() -> pd.DataFrame:
        methods = {name: BASELINES[name] for name in protocol.methods}
        return experiment.run_grid(task, methods, {"lr": list(protocol.lr_grid)}, protocol.seeds, protocol.steps,
                                   device=device, progress=progress, description=f"tuning {task.name}")

    runs = cache.cached("tuning", config, compute, code=tuning_code(task))
    for _ in range(MAX_EXTENSIONS):
        wanted = _edge_extensions(runs, protocol.lr_grid)
        if not wanted:
            break
        extra = [_extension_run(task, protocol, method, lr, device) for method, lr in wanted]
        runs = pd.concat([runs, *extra], ignore_index=True)
    return runs


def _extension_run(task, protocol: TuningProtocol, method: str, lr: float, device) -> pd.DataFrame:
    config = {"task": task.config(), "steps": protocol.steps, "n_seeds": protocol.n_seeds, "method": method, "lr": lr}

    def compute() -> pd.DataFrame:
        return experiment.run_grid(task, {method: BASELINES[method]}, {"lr": [lr]}, protocol.seeds, protocol.steps,
                                   device=device, progress=False)

    return cache.cached("tuning-extension", config, compute, code=tuning_code(task))


def learning_rate_scores(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method and rate: the final minibatch loss and the mean loss over the trajectory, each
    averaged over the held-out problems; a rate at which any problem diverged scores +inf."""
    last = runs["step"].max()
    per_run = runs.groupby(["method", "lr", "seed"]).agg(
        trajectory=("loss", "mean"), diverged=("diverged", "any")
    ).join(runs[runs["step"] == last].set_index(["method", "lr", "seed"])["loss"].rename("final"))
    per_run.loc[per_run["diverged"], ["final", "trajectory"]] = np.inf
    scores = per_run.groupby(["method", "lr"]).agg(
        final=("final", "mean"), trajectory=("trajectory", "mean"), n_diverged=("diverged", "sum")
    )
    return scores.reset_index()


def select_learning_rates(runs: pd.DataFrame, criterion: str = "final") -> pd.DataFrame:
    """The best rate per method by ``criterion`` ("final": the paper; "trajectory": the ports).
    ``at_grid_edge``: the best rate is the largest or smallest this method was run at."""
    if criterion not in ("final", "trajectory"):
        raise ValueError(f"criterion={criterion!r} must be 'final' (the paper) or 'trajectory' (the ports)")
    scores = learning_rate_scores(runs)
    rows = []
    for method, group in scores.groupby("method", sort=False):
        best = group.loc[group[criterion].idxmin()]
        rows.append({
            "method": method,
            "lr": float(best["lr"]),
            "score": float(best[criterion]),
            "at_grid_edge": bool(math.isclose(best["lr"], group["lr"].min()) or math.isclose(best["lr"], group["lr"].max())),
            "all_diverged": bool(np.isinf(group[criterion]).all()),
        })
    order = [m for m in BASELINES if m in set(scores["method"])]
    return pd.DataFrame(rows).set_index("method").loc[order].reset_index()


def grid_distance(lr_a: float, lr_b: float) -> int:
    """How many steps of the 1-3-10 ladder two rates are apart (0 = the same rate; 1 ≈ a factor 3)."""
    if lr_a <= 0 or lr_b <= 0:
        raise ValueError(f"rates must be positive; got lr_a={lr_a!r}, lr_b={lr_b!r}")
    return int(round(2 * abs(math.log10(lr_a / lr_b))))


def tuned_learning_rates(task_key: str, protocol: TuningProtocol, dataset: str = "auto", device="cpu",
                         progress: bool = True) -> dict[str, float]:
    """The paper-criterion rates of the baselines on one of the book's tasks (tuned once, cached)."""
    task = tasks_module.book_task(task_key, dataset=dataset)
    runs = tuning_runs(task, protocol, device=device, progress=progress)
    table = select_learning_rates(runs, "final")
    return dict(zip(table["method"], table["lr"]))


def evaluation_runs(task, rates: dict[str, float], n_seeds: int, steps: int, device="cpu",
                    eval_every: int | None = None, progress: bool = True, first_seed: int = 0) -> pd.DataFrame:
    """Each baseline at its tuned rate on the evaluation problems (seeds ``first_seed`` ..
    ``first_seed + n_seeds - 1``; see :meth:`optbook.session.Session.first_held_out_problem`), cached."""
    config = {"task": task.config(), "rates": rates, "n_seeds": n_seeds, "steps": steps, "eval_every": eval_every}
    if first_seed:
        config["first_seed"] = first_seed  # seed 0's keys stay as they were
    seeds = range(first_seed, first_seed + n_seeds)

    def compute() -> pd.DataFrame:
        frames = []
        for method in progress_bar(rates, desc=f"evaluating {task.name}", disable=not progress):
            frames.append(experiment.run_ensemble(
                task, lambda params: BASELINES[method](params, lr=rates[method]), seeds, steps,
                device=device, eval_every=eval_every, labels={"method": method, "lr": rates[method]},
            ))
        return pd.concat(frames, ignore_index=True)

    return cache.cached("evaluation", config, compute, code=tuning_code(task))
