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
from optbook.floors import PASSES
from optbook.optim.noise import noise_generators  # noqa: F401  (re-exported: the benchmarks' per-run noise)
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
    book = book_step_optimizers()
    # The book's factories under names that say which are torch's foreach optimizers.
    names = {"SGD (foreach)": "SGD", "SGD-HD": "SGD-HD", "SGDN (foreach)": "NAG", "SGDN-HD": "SGDN-HD",
             "Adam (foreach)": "Adam", "Adam-HD": "Adam-HD", "SGD momentum (foreach)": "Momentum", "BAOAB": "BAOAB"}
    optimizers = {shown: book[name] for shown, name in names.items()}
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


#: The learned optimizers (chapters 1 and 2) the step table times: the first shipped net of each
#: kind trained on the MNIST MLP (a step's cost depends on the architecture the search chose,
#: e.g. the port-Hamiltonian net's latent size, not on the weights).
LEARNED_KINDS = {"LSTM": "lstm", "HNN": "hnn", "port-Hamiltonian": "port-hamiltonian"}


def book_step_optimizers() -> dict[str, StepOptimizerFactory]:
    """Every optimizer of the book, by the names the chapters use, at settings that keep a long
    benchmark finite (a step's cost does not depend on them); the learned ones run the shipped
    MNIST nets. SGD and Adam are torch's foreach optimizers, the references of the cost table."""
    from optbook.learned import LearnedOptimizer
    from optbook.optim import LOL, SGLD

    def noise() -> torch.Generator:
        # A small h keeps a run finite for any number of steps; a seeded generator keeps the
        # global RNG untouched. Neither changes the arithmetic of a step.
        return torch.Generator().manual_seed(0)

    def learned(kind: str) -> StepOptimizerFactory:
        def make(params):
            from optbook.studies.net_kinds import kind_runs

            runs = kind_runs("mnist", kind, "cpu", dataset="mnist-5k", progress=False, shipped_only=True)
            return LearnedOptimizer(params, net=runs.nets[0].net)

        return make

    return {
        "SGD": lambda p: torch.optim.SGD(p, lr=0.01, foreach=True),
        "Momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, foreach=True),
        "NAG": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, foreach=True),
        "RMSprop": lambda p: torch.optim.RMSprop(p, lr=1e-3, foreach=True),
        "Adam": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
        "SGD-HD": lambda p: SGDHD(p, lr=0.01),
        "SGDN-HD": lambda p: SGDHD(p, lr=0.01, momentum=0.9, nesterov=True),
        "Adam-HD": lambda p: AdamHD(p, lr=1e-3),
        "SGLD": lambda p: SGLD(p, lr=0.01, generator=noise()),
        "BAOAB": lambda p: BAOAB(p, lr=0.01, generator=noise()),
        "AdLaLa": lambda p: AdLaLa(list(p), lr=0.01, generator=noise()),
        "LOL": lambda p: LOL(list(p), lr=0.01, generator=noise()),
        **{name: learned(kind) for name, kind in LEARNED_KINDS.items()},
    }


def book_step_costs(
    model_factory: ModelFactory, optimizers: Mapping[str, StepOptimizerFactory] | None = None,
    repeats: int = 3, steps_per_round: int = 5, device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Step time of every optimizer (default :func:`book_step_optimizers`) against torch's
    foreach SGD and Adam on the same model, each beside its floor; one row per optimizer.

    Floors (:mod:`optbook.floors`): passes over the parameters times the measured time of one
    pass, plus one Gaussian draw per coordinate for the Langevin family (:data:`~optbook.floors.PASSES`
    says what each counts); for a learned optimizer the larger of its net's multiply-adds at the
    measured matrix-product rate and the passes its per-coordinate state needs (read and written
    once, with the gradient and θ). ``over_floor`` is the median step over its floor.
    """
    from optbook import floors

    optimizers = dict(book_step_optimizers() if optimizers is None else optimizers)
    missing = {"SGD", "Adam"} - set(optimizers)
    if missing:
        raise ValueError(f"optimizers must include the references SGD and Adam; missing {sorted(missing)}")
    times = optimizer_step_times(model_factory, optimizers, {}, repeats=repeats, steps_per_round=steps_per_round,
                                 device=device)
    numel = times.attrs["parameters"]
    one_pass, one_draw = floors.pass_seconds(numel, device=device), floors.gaussian_draw_seconds(numel, device=device)
    rate = None
    medians = times.set_index("optimizer")["median_ms"]
    rows = []
    for name, make in optimizers.items():
        if name in floors.PASSES:
            passes, draws, why = floors.PASSES[name]
            floor_ms = 1e3 * (passes * one_pass + draws * one_draw)
            floor = f"{passes} passes" + (f" + {draws} Gaussian draw" if draws else "")
        else:  # a learned optimizer: its net's matrix products, or its state's memory traffic
            model, _ = model_factory()
            net = make(model.parameters()).net
            rate = rate or floors.matmul_rate(device=device)
            multiply_adds = floors.multiply_adds(net, numel, device)
            state = sum(t.numel() for t in net.initial_state(1, device))
            passes = 2 * state + 3  # read and write the state; read g; read and write θ
            floor_ms = 1e3 * max(multiply_adds / rate, passes * one_pass)
            floor = f"{passes} passes or {multiply_adds / numel:,.0f} multiply-adds, the larger"
        rows.append({
            "optimizer": name, "median_ms": medians[name], "vs_sgd": medians[name] / medians["SGD"],
            "vs_adam": medians[name] / medians["Adam"], "floor_ms": floor_ms,
            "over_floor": medians[name] / floor_ms, "floor": floor,
        })
    frame = pd.DataFrame(rows)
    frame.attrs.update(parameters=numel, pass_ms=1e3 * one_pass, draw_ms=1e3 * one_draw)
    return frame


#: The cost targets ``optbook bench`` checks: (what, how it compares, the target).
TARGETS = (
    ("meta-training / nn.LSTMCell reference", ">=", 1.5),
    ("frozen evaluation / nn.LSTMCell reference", ">=", 3.0),
    ("AdLaLa ensemble speed-up over the loop", ">=", 50.0),
    ("Adam ensemble speed-up over the loop", ">=", 50.0),
    ("AdLaLa ensemble / its floor", "<=", 2.0),
    ("Adam ensemble / its floor", "<=", 2.0),
    ("Adam-HD / Adam", "<=", 1.10),
    ("SGD-HD / its 7/3-pass floor", "<=", 1.10),
)


def target_checks(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Each target of :data:`TARGETS` that ``tables`` (``optbook bench``'s "steps", "ensemble",
    "meta") measure: the measured ratio and whether it meets the target."""
    measured: dict[str, float] = {}
    if "meta" in tables and "train_vs_reference" in tables["meta"]:
        row = tables["meta"].iloc[0]
        measured[TARGETS[0][0]] = row["train_vs_reference"]
        measured[TARGETS[1][0]] = row["evaluation_vs_reference"]
    if "ensemble" in tables:
        for row in tables["ensemble"].itertuples():
            measured[f"{row.optimizer} ensemble speed-up over the loop"] = row.speedup
            measured[f"{row.optimizer} ensemble / its floor"] = row.batched_over_floor
    if "steps" in tables:
        medians = tables["steps"].set_index("optimizer")["median_ms"]
        if {"Adam-HD", "Adam (foreach)"} <= set(medians.index):
            measured["Adam-HD / Adam"] = medians["Adam-HD"] / medians["Adam (foreach)"]
        if {"SGD-HD", "SGD (foreach)"} <= set(medians.index):
            passes = PASSES["SGD-HD"][0] / PASSES["SGD"][0]
            measured["SGD-HD / its 7/3-pass floor"] = medians["SGD-HD"] / (passes * medians["SGD (foreach)"])
    rows = []
    for what, relation, target in TARGETS:
        if what in measured:
            value = float(measured[what])
            met = value >= target if relation == ">=" else value <= target
            rows.append({"target": what, "measured": value, "wanted": f"{relation} {target:g}", "met": met})
    return pd.DataFrame(rows, columns=["target", "measured", "wanted", "met"])


# --------------------------------------------------------------------------- ensemble speed-up


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

    ``floor_ms_per_run`` is the same batched run with an optimizer that does not update
    (:class:`NoUpdate`): building the runs, their forward and backward passes and evaluations, the
    part of the cost no optimizer can remove; ``batched_over_floor`` is the batched run over it.
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
    floor_s = _floor_seconds(task, seeds, steps, device)
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
                "floor_ms_per_run": 1e3 * floor_s / runs,
                "batched_over_floor": batched_s / floor_s,
                "max_final_loss_diff": float(np.max(np.abs(batched_final[:loop_runs] - looped_final))),
            }
        ]
    )
    # The per-run final losses, for checks that both sides trained the same runs.
    # (Tuples, not arrays: pandas compares attrs when it concatenates frames.)
    frame.attrs["final_loss"] = {"batched": tuple(batched_final.tolist()), "looped": tuple(looped_final.tolist())}
    return frame


class NoUpdate(torch.optim.Optimizer):
    """An optimizer that evaluates the closure (forward and backward) and leaves the parameters
    alone: a run with it costs everything but the optimizer, the floor of any optimizer's run."""

    def __init__(self, params: Iterable[nn.Parameter]):
        super().__init__(params, {})

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()


def _floor_seconds(task, seeds: list[int], steps: int, device: torch.device) -> float:
    _synchronize(device)
    started = time.perf_counter()
    experiment.run_ensemble(task, NoUpdate, seeds, steps, device=device)
    _synchronize(device)
    return time.perf_counter() - started


def ensemble_scaling(
    task, make_optimizer: EnsembleOptimizerFactory, runs: Sequence[int] = (1, 10, 100, 1000), steps: int = 200,
    loop_runs: int = 10, name: str | None = None, device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Cost per run of a batched ensemble of R runs, for every R in ``runs``, against a loop of
    single runs and the ensemble's floor; one row per R (:func:`ensemble_speedup` at each R, the
    loop timed on ``min(loop_runs, R)`` runs)."""
    if not runs or min(runs) < 1:
        raise ValueError(f"runs={list(runs)} must be positive numbers of runs")
    return pd.concat(
        [ensemble_speedup(task, make_optimizer, r, steps, loop_runs=min(loop_runs, r), name=name, device=device)
         for r in runs],
        ignore_index=True,
    )


def meta_training_throughput(
    task, net_factory: Callable[[], nn.Module], problems: int = 3, evaluation_runs: int = 20,
    evaluation_steps: int = 20, name: str | None = None, device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Optimizee steps per second of meta-training a fresh update net on ``task``, and of running
    it frozen, beside the same LSTM built from ``nn.LSTMCell`` and the multiply-add floor; one row.

    Meta-training: one untimed problem, then ``problems`` problems of the task's 100-step horizon
    in unrolls of 20 (one meta-step per unroll, no validation), each timed alone; the fastest
    counts, as for the reference (:func:`optbook.floors.lstm_cell_reference`, forward and
    backward through a 20-step unroll on as many coordinates). Frozen evaluation: the net on
    ``evaluation_runs`` problems at once for ``evaluation_steps`` steps, without a graph.

    A coordinate-step is one coordinate of one run updated once: the measure that compares
    problems of different sizes. ``train_vs_reference`` and ``evaluation_vs_reference`` divide
    coordinate-steps per second by the reference's forward-and-backward rate; the floors are the
    net's multiply-adds (forward; training three times that) at the measured matrix-product rate.
    """
    from optbook import floors
    from optbook.learned import MetaTrainConfig, train
    from optbook.learned.evaluate import rollout_losses

    if problems < 1 or evaluation_runs < 1 or evaluation_steps < 1:
        raise ValueError(f"need problems, evaluation_runs, evaluation_steps >= 1; got "
                         f"{problems}, {evaluation_runs}, {evaluation_steps}")
    device = torch.device(device)
    # A seeded net: the speed depends on the weights (saturated gates make denormal floats, which
    # the CPU computes several times slower), so an unseeded net would time differently each run.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = net_factory()
    config = MetaTrainConfig(problems=1, runs=1, meta_lr=1e-3, clip_grad_norm=1.0, validate_every=None)
    train(task, net, config, device=device, progress=False)  # untimed: allocator and kernel warm-up
    train_steps_per_s = max(train(task, net, config, device=device, progress=False).steps_per_second
                            for _ in range(problems))
    coordinates = sum(p.numel() for p in task.build([0], device=device).parameters())
    model = task.build(range(evaluation_runs), device=device)
    rollout_losses(model, net, 2, metrics=False)  # untimed warm-up at the evaluation's size
    _synchronize(device)
    started = time.perf_counter()
    rollout_losses(model, net, evaluation_steps, metrics=False)
    _synchronize(device)
    evaluation_run_steps = evaluation_runs * evaluation_steps / (time.perf_counter() - started)
    row = {
        "task": task.name,
        "net": name or type(net).__name__,
        "coordinates_per_run": coordinates,
        "train_steps_per_s": train_steps_per_s,
        "train_coordinate_steps_per_s": train_steps_per_s * coordinates,
        "evaluation_runs": evaluation_runs,
        "evaluation_coordinate_steps_per_s": evaluation_run_steps * coordinates,
    }
    config = net.config() if hasattr(net, "config") else {}
    if {"hidden", "layers"} <= set(config):
        inputs = 1 if config.get("preprocess_p") is None else 2
        reference = floors.lstm_cell_reference(config["hidden"], config["layers"], inputs, coordinates, device=device)
        reference_rate = coordinates / reference["train"]
        row.update(
            reference_coordinate_steps_per_s=reference_rate,
            reference_forward_coordinate_steps_per_s=coordinates / reference["forward"],
            train_vs_reference=row["train_coordinate_steps_per_s"] / reference_rate,
            evaluation_vs_reference=row["evaluation_coordinate_steps_per_s"] / reference_rate,
        )
    forward_multiply_adds = floors.multiply_adds(net, coordinates, device) / coordinates
    rate = floors.matmul_rate(device=device)
    row.update(
        forward_multiply_adds_per_coordinate=forward_multiply_adds,
        matmul_multiply_adds_per_s=rate,
        train_floor_coordinate_steps_per_s=rate / (3 * forward_multiply_adds),
        evaluation_floor_coordinate_steps_per_s=rate / forward_multiply_adds,
    )
    return pd.DataFrame([row])
