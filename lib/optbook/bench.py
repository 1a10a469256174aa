"""How fast the book's optimizers are: step times against torch's own, and batched ensembles against loops.

Every function returns a tidy DataFrame (one row per optimizer); ``optbook bench`` prints them.

* :func:`optimizer_step_times` times ``optimizer.step()`` alone, on real gradients, with each
  candidate and its reference (e.g. SGD-HD and ``torch.optim.SGD(foreach=True)``) interleaved
  over rounds, so a change of machine load hits both.
* :func:`ensemble_speedup` times one batched ensemble of R runs against R single runs, the
  same training (same seeds, same steps, same code path :func:`optbook.experiment.run_ensemble`).
* :func:`environment` is the one line that says where the numbers were measured.

Timings are wall-clock (``time.perf_counter``); on a GPU every timed region is bracketed by
``torch.cuda.synchronize`` so that it measures the kernels and not their launch.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from optbook import experiment
from optbook.optim import BAOAB, SGDHD, AdamHD, AdLaLa

#: The MLP of the hypergradient paper's MNIST experiments (Baydin et al. 2018, §4.2).
HD_PAPER_MLP = (784, 1000, 1000, 10)

StepOptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
#: ``make_optimizer(params, seeds)``: the seeds let a stochastic optimizer give every run its own noise.
EnsembleOptimizerFactory = Callable[[Iterable[nn.Parameter], Sequence[int]], torch.optim.Optimizer]
#: ``model_factory()`` returns a model and a function computing its loss on a fixed batch.
ModelFactory = Callable[[], tuple[nn.Module, Callable[[], Tensor]]]


# --------------------------------------------------------------------------- environment


def environment(device: torch.device | str = "cpu") -> str:
    """torch version, threads, CPU model and device, on one line."""
    cores = os.cpu_count()
    parts = [
        f"torch {torch.__version__}",
        f"{torch.get_num_threads()} thread(s) of {cores if cores else '?'} core(s)",
        f"CPU {_cpu_model()}",
        f"device {torch.device(device)}",
    ]
    if torch.device(device).type == "cuda":
        parts[-1] += f" ({torch.cuda.get_device_name(device)})"
    return ", ".join(parts)


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip() or "?"
    return platform.processor() or platform.machine() or "?"


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: leave as is), then restore the old number."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _synchronize(device: torch.device) -> None:
    # CUDA kernels run asynchronously: without this, a timer measures the launch, not the work.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- optimizer step times


def mlp_factory(
    widths: Sequence[int] = HD_PAPER_MLP, batch_size: int = 128, seed: int = 0, device: torch.device | str = "cpu"
) -> ModelFactory:
    """A plain ``nn.Sequential`` MLP (Linear/ReLU) with cross-entropy on one fixed batch of random data.

    Every call of the returned factory gives the same initial weights and the same batch, so all
    optimizers start from the same point. Random data is enough: a step's cost does not depend on
    the values it updates.
    """
    widths = tuple(int(width) for width in widths)
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths={widths} must be at least two positive layer widths (input, ..., output)")

    def make() -> tuple[nn.Module, Callable[[], Tensor]]:
        # nn.Linear initialises from the global RNG; fork it so a benchmark leaves it untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers: list[nn.Module] = []
            for fan_in, fan_out in zip(widths[:-1], widths[1:]):
                layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
            model = nn.Sequential(*layers[:-1]).to(device)  # no ReLU after the output layer
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(batch_size, widths[0], generator=generator).to(device)
        y = torch.randint(widths[-1], (batch_size,), generator=generator).to(device)
        return model, lambda: F.cross_entropy(model(x), y)

    return make


def default_step_optimizers() -> tuple[dict[str, StepOptimizerFactory], dict[str, str]]:
    """The book's optimizers and the torch optimizer each is compared with (``reference``).

    Each reference does the same job minus the method's extra: SGD-HD vs SGD, SGDN-HD vs SGD with
    Nesterov momentum, Adam-HD vs Adam, BAOAB (momentum plus noise) vs SGD with heavy-ball momentum.
    All torch references use the ``foreach`` (multi-tensor) path, their fastest on the CPU.
    """
    optimizers: dict[str, StepOptimizerFactory] = {
        "SGD (foreach)": lambda p: torch.optim.SGD(p, lr=0.01, foreach=True),
        "SGD-HD": lambda p: SGDHD(p, lr=0.01),
        "SGDN (foreach)": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, foreach=True),
        "SGDN-HD": lambda p: SGDHD(p, lr=0.01, momentum=0.9, nesterov=True),
        "Adam (foreach)": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
        "Adam-HD": lambda p: AdamHD(p, lr=1e-3),
        "SGD momentum (foreach)": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, foreach=True),
        # A small h keeps the run finite for any number of steps; a seeded generator keeps the
        # global RNG untouched. Neither changes the arithmetic of a step.
        "BAOAB": lambda p: BAOAB(p, lr=0.01, generator=torch.Generator().manual_seed(0)),
    }
    reference = {
        "SGD-HD": "SGD (foreach)",
        "SGDN-HD": "SGDN (foreach)",
        "Adam-HD": "Adam (foreach)",
        "BAOAB": "SGD momentum (foreach)",
    }
    return optimizers, reference


def optimizer_step_times(
    model_factory: ModelFactory,
    optimizers: Mapping[str, StepOptimizerFactory],
    reference: Mapping[str, str],
    repeats: int = 5,
    steps_per_round: int = 10,
    warmup: int = 2,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Milliseconds per ``optimizer.step()``, alone, for every optimizer; ratios to each one's reference.

    Every optimizer gets its own copy of the model (``model_factory()``, same initial weights).
    Before every step, untimed, the model's gradient is recomputed at its current parameters
    (``zero_grad(set_to_none=True)``, forward, backward), as in training: the step is timed on
    real gradients and after a backward pass, not in a warm loop of steps alone.

    Only the step is timed. Every optimizer gets ``step(closure)`` with a closure that does no
    work: it returns the cached loss of the untimed forward and leaves ``.grad`` as the backward
    left it. Optimizers that require a closure (the Langevin family evaluates the gradient inside
    the step) therefore run their own arithmetic in full but skip the gradient evaluation, which
    every optimizer needs once per step and which is not part of what is compared.

    The ``warmup`` untimed steps create the optimizers' state (buffers are allocated lazily on the
    first step). Then ``repeats`` rounds each time ``steps_per_round`` steps of every optimizer;
    the order reverses every round, so that a candidate and its reference share any drift of the
    machine's load. Rows: one per optimizer with ``median_ms``, ``min_ms`` over all timed steps,
    and ``ratio`` = median / the reference's median (NaN for optimizers without a reference).
    """
    if repeats < 1 or steps_per_round < 1 or warmup < 0:
        raise ValueError(f"repeats={repeats} and steps_per_round={steps_per_round} must be >= 1, warmup={warmup} >= 0")
    unknown = {name: ref for name, ref in reference.items() if name not in optimizers or ref not in optimizers}
    if unknown:
        raise ValueError(f"reference={unknown} names optimizers that are not among {list(optimizers)}")
    device = torch.device(device)
    contestants = {}
    for name, make_optimizer in optimizers.items():
        model, loss_fn = model_factory()
        contestants[name] = (model, loss_fn, make_optimizer(model.parameters()))

    def timed_step(name: str) -> float:
        model, loss_fn, optimizer = contestants[name]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        cached = loss.detach()
        _synchronize(device)
        started = time.perf_counter()
        optimizer.step(lambda: cached)
        _synchronize(device)
        return time.perf_counter() - started

    for name in contestants:
        for _ in range(warmup):
            timed_step(name)
    seconds: dict[str, list[float]] = {name: [] for name in contestants}
    order = list(contestants)
    for _ in range(repeats):
        for name in order:
            seconds[name] += [timed_step(name) for _ in range(steps_per_round)]
        order.reverse()

    medians = {name: 1e3 * statistics.median(times) for name, times in seconds.items()}
    frame = pd.DataFrame(
        [
            {
                "optimizer": name,
                "reference": reference.get(name, ""),
                "median_ms": medians[name],
                "min_ms": 1e3 * min(times),
                "timed_steps": len(times),
                "ratio": medians[name] / medians[reference[name]] if name in reference else np.nan,
            }
            for name, times in seconds.items()
        ]
    )
    model = next(iter(contestants.values()))[0]
    frame.attrs["parameters"] = sum(p.numel() for p in model.parameters())  # for the caption of the table
    return frame


# --------------------------------------------------------------------------- ensemble speed-up


def noise_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One generator per run for an optimizer's noise, seeded from the run's seed alone.

    So run r of a batched ensemble draws the same noise as the single run with that seed. The
    stream key differs from the tasks' streams (init, data, batches, problem: 0-3), so the
    optimizer's noise is independent of the run's initial weights and minibatches.
    """
    return [
        torch.Generator().manual_seed(int(np.random.SeedSequence([int(seed), 100]).generate_state(1)[0]))
        for seed in seeds
    ]


def default_ensemble_optimizers() -> dict[str, EnsembleOptimizerFactory]:
    """AdLaLa with the paper's spiral hyperparameters (per-run noise) and Adam (elementwise, so ensemble-safe)."""
    return {
        # ensemble_dim=0: thermostat variables ξ and noise per run, so the runs stay independent.
        "AdLaLa": lambda params, seeds: AdLaLa(params, ensemble_dim=0, generators=noise_generators(seeds)),
        "Adam": lambda params, seeds: torch.optim.Adam(params, lr=0.005, foreach=True),
    }


def ensemble_speedup(
    task,
    make_optimizer: EnsembleOptimizerFactory,
    runs: int = 100,
    steps: int = 200,
    loop_runs: int | None = None,
    name: str | None = None,
    first_seed: int = 0,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Wall time of one batched ensemble of ``runs`` runs against a loop of single runs; one row.

    Both sides are the same training: :func:`optbook.experiment.run_ensemble` with the same seeds
    and steps, the batched side with all seeds at once, the loop with one seed per call (each its
    own ``task.build([seed])``). Times include building the model (per-run data and weights), the
    training steps and the evaluations ``run_ensemble`` does at the first and last step.

    ``loop_runs`` (default: all) times only the first ``loop_runs`` single runs; the loop's total
    for all ``runs`` (``loop_s_extrapolated``) is then their time scaled linearly, fair because
    every single run does the same work. ``max_final_loss_diff`` is the largest difference of the
    final minibatch loss between a looped run and the same seed in the ensemble: ~0 (rounding)
    when the optimizer treats the runs independently, which is what makes the times comparable.
    """
    loop_runs = runs if loop_runs is None else loop_runs
    if runs < 1 or steps < 1 or not 1 <= loop_runs <= runs:
        raise ValueError(f"need runs >= 1, steps >= 1 and 1 <= loop_runs <= runs; got {runs}, {steps}, {loop_runs}")
    device = torch.device(device)
    seeds = list(range(first_seed, first_seed + runs))

    def train(run_seeds: list[int]) -> tuple[float, np.ndarray]:
        _synchronize(device)
        started = time.perf_counter()
        frame = experiment.run_ensemble(
            task, lambda params: make_optimizer(params, run_seeds), run_seeds, steps, device=device
        )
        _synchronize(device)
        seconds = time.perf_counter() - started  # before the look-up below, which is not part of a run
        final = frame[frame["step"] == frame["step"].max()].sort_values("seed")["loss"].to_numpy()
        return seconds, final

    train(seeds[:1])  # untimed: the first call in a process pays one-off costs (kernel setup, allocator)
    looped = [train([seed]) for seed in seeds[:loop_runs]]
    loop_s = sum(seconds for seconds, _ in looped)
    batched_s, batched_final = train(seeds)
    looped_final = np.concatenate([final for _, final in looped])
    loop_ms_per_run = 1e3 * loop_s / loop_runs
    batched_ms_per_run = 1e3 * batched_s / runs
    frame = pd.DataFrame(
        [
            {
                "task": task.name,
                "optimizer": name or "optimizer",
                "runs": runs,
                "steps": steps,
                "batched_s": batched_s,
                "batched_ms_per_run": batched_ms_per_run,
                "loop_runs_timed": loop_runs,
                "loop_ms_per_run": loop_ms_per_run,
                "loop_s_extrapolated": loop_ms_per_run * runs / 1e3,
                "speedup": loop_ms_per_run / batched_ms_per_run,
                "max_final_loss_diff": float(np.max(np.abs(batched_final[:loop_runs] - looped_final))),
            }
        ]
    )
    # The per-run final losses, for checks that both sides trained the same runs.
    # (Tuples, not arrays: pandas compares attrs when it concatenates frames.)
    frame.attrs["final_loss"] = {"batched": tuple(batched_final.tolist()), "looped": tuple(looped_final.tolist())}
    return frame


def meta_training_throughput(
    task, net_factory: Callable[[], nn.Module], problems: int = 3, runs: int = 1, evaluation_runs: int = 20,
    evaluation_steps: int = 20, name: str | None = None, device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Optimizee steps per second of meta-training a fresh update net on ``task`` (``problems``
    problems of the task's 100-step horizon in unrolls of 20, one meta-step per unroll, no
    validation), and of running it frozen on ``evaluation_runs`` problems at once; one row.

    A coordinate-step is one coordinate of one run updated once: the measure that compares
    problems of different sizes.
    """
    from optbook.learned import MetaTrainConfig, train
    from optbook.learned.evaluate import rollout_losses

    if problems < 1 or runs < 1 or evaluation_runs < 1 or evaluation_steps < 1:
        raise ValueError(f"need problems, runs, evaluation_runs, evaluation_steps >= 1; got "
                         f"{problems}, {runs}, {evaluation_runs}, {evaluation_steps}")
    net = net_factory()
    config = MetaTrainConfig(problems=problems, runs=runs, meta_lr=1e-3, clip_grad_norm=1.0, validate_every=None)
    result = train(task, net, config, device=device, progress=False)
    coordinates = sum(p.numel() for p in task.build([0], device=device).parameters())
    model = task.build(range(evaluation_runs), device=device)
    _synchronize(torch.device(device))
    started = time.perf_counter()
    rollout_losses(model, net, evaluation_steps, metrics=False)
    _synchronize(torch.device(device))
    evaluation_run_steps = evaluation_runs * evaluation_steps / (time.perf_counter() - started)
    return pd.DataFrame([{
        "task": task.name,
        "net": name or type(net).__name__,
        "coordinates_per_run": coordinates,
        "train_runs_per_problem": runs,
        "train_steps_per_s": result.steps_per_second,
        "train_coordinate_steps_per_s": result.run_steps_per_second * coordinates,
        "evaluation_runs": evaluation_runs,
        "evaluation_run_steps_per_s": evaluation_run_steps,
        "evaluation_coordinate_steps_per_s": evaluation_run_steps * coordinates,
    }])
