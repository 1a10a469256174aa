"""A chapter's configuration checked without training: what a run at ``scale="paper"`` would build.

Nothing on the CPU machine that builds the book can execute ``scale="paper"``, and a GPU day lost
to a slip in a config table is the costliest bug the book can have. The dry run checks a chapter's
config table at any scale, on the CPU, in seconds:

* **shape**: the table has the keys of the published table (``scale="cpu"``), so every key the
  chapter reads exists;
* **consistency**: what the chapter compares is what it runs (a step it reads is a step it
  evaluates, a subset of runs is no larger than its set, held-out problems are not training ones);
* **construction**: every optimizee at its configured size and every optimizer in every
  configured setting is built for one run (the number of runs changes no shape; a grid that
  holds one setting per run is built with all its runs) and takes one step on one minibatch,
  which must give a finite loss and move the parameters.

Data that is not on the machine is said, not faked: a problem whose data set is absent is
reported as skipped (VGG-16 is built on random CIFAR-shaped images, since its data only decides
the values, not the shapes).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import pandas as pd
import torch

from optbook import baselines, scales
from optbook.data import DatasetUnavailable
from optbook.learned.optimizer import LearnedOptimizer
from optbook.progress import progress_bar

PUBLISHED_SCALE = "cpu"


@dataclass(frozen=True)
class Case:
    """One optimizer on one optimizee, as the chapter would run it."""

    problem: str
    optimizer: str
    task: object  # anything with ``build(seeds, device)``
    factory: Callable[[list], torch.optim.Optimizer]
    runs: int = 1


def config_differences(config: Mapping, reference: Mapping, path: str = "") -> list[str]:
    """Keys in one table and not the other, as ``path.key`` (nested tables are compared key by key)."""
    problems = [f"{path}{key}: missing" for key in reference if key not in config]
    problems += [f"{path}{key}: not in the {PUBLISHED_SCALE!r} table" for key in config if key not in reference]
    for key in config.keys() & reference.keys():
        if isinstance(config[key], Mapping) and isinstance(reference[key], Mapping):
            problems += config_differences(config[key], reference[key], f"{path}{key}.")
    return problems


def _evaluated(step: int, section: Mapping, name: str) -> list[str]:
    """``step`` must be a step at which ``section`` (with ``steps`` and ``eval_every``) evaluates."""
    if 0 < step <= section["steps"] and step % section["eval_every"] == 0:
        return []
    return [f"{name}={step} is not a step that is evaluated (every {section['eval_every']} up to {section['steps']})"]


def _at_most(value: int, limit: int, name: str, limit_name: str) -> list[str]:
    return [] if value <= limit else [f"{name}={value} exceeds {limit_name}={limit}"]


# --------------------------------------------------------------------------- consistency per chapter


def _consistency_00(config: Mapping, scale: str) -> list[str]:
    from optbook.tasks import BOOK_TASKS

    unknown = [key for key in config["tasks"] if key not in BOOK_TASKS]
    return [f"tasks: {unknown} are not among {BOOK_TASKS}"] if unknown else []


def _consistency_01(config: Mapping, scale: str) -> list[str]:
    from optbook.tasks import BOOK_TASKS

    problems = [f"mnist_claim_steps: {step} is beyond mnist_steps={config['mnist_steps']}"
                for step in config["mnist_claim_steps"] if not 0 < step <= config["mnist_steps"]]
    problems += [f"transfer_tasks: {key!r} is not among {BOOK_TASKS}"
                 for key in config["transfer_tasks"] if key not in BOOK_TASKS]
    held_out = set(range(config["evaluation_seeds"]))
    for problem in ("quadratic", "mnist"):
        leaked = held_out & set(config[f"{problem}_meta"]["validation_seeds"])
        if leaked:
            problems.append(f"{problem}_meta.validation_seeds: {sorted(leaked)[:5]} are held-out evaluation problems")
    return problems


def _consistency_02(config: Mapping, scale: str) -> list[str]:
    chapter1 = scales.chapter_config("01", scale)
    reused = min(chapter1["quadratic_steps"], chapter1["mnist_steps"], chapter1["transfer_steps"])
    return (_at_most(config["steps"], reused, "steps", "the shortest of chapter 1's runs it reuses")
            + _at_most(config["evaluation_seeds"], chapter1["evaluation_seeds"], "evaluation_seeds",
                       "chapter 1's evaluation_seeds"))


def _consistency_03(config: Mapping, scale: str) -> list[str]:
    problems = []
    if config["parity_steps"] % config["parity_window"]:
        problems.append(f"parity_steps={config['parity_steps']} is not a multiple of parity_window={config['parity_window']}")
    positive = ("grid_alphas", "grid_betas", "sweep_alphas", "variant_alphas", "transition_taus")
    problems += [f"{key}: {value!r} must be positive" for key in positive for value in config[key] if not value > 0]
    return problems


def _consistency_04(config: Mapping, scale: str) -> list[str]:
    from optbook.studies import thermodynamic as thermo

    two, four, init = config["two_turn"], config["four_turn"], config["initialisation"]
    problems = []
    for name in ("two_turn", "four_turn", "trig"):
        section = config[name]
        if section["steps"] % section["eval_every"]:
            problems.append(f"{name}.steps={section['steps']} is not a multiple of eval_every={section['eval_every']}")
    problems += [f"two_turn.snapshots: {step} is beyond steps={two['steps']}"
                 for step in two["snapshots"] if not 0 < step <= two["steps"]]
    if two["eval_every"] // 5 < 1:  # the 2-turn run probes its temperatures every eval_every // 5 steps
        problems.append(f"two_turn.eval_every={two['eval_every']} leaves no probe interval (eval_every // 5 = 0)")
    problems += _evaluated(config["sweep"]["steps"], four, "sweep.steps")
    problems += _evaluated(init["four_turn_steps"], four, "initialisation.four_turn_steps")
    problems += _at_most(config["sweep"]["runs"], four["runs"], "sweep.runs", "four_turn.runs")
    problems += _at_most(init["four_turn_runs"], four["runs"], "initialisation.four_turn_runs", "four_turn.runs")
    labels = [setting.label for setting in thermo.FIG8]
    problems += [f"initialisation.two_turn_methods: {m!r} is not one of {labels}"
                 for m in init["two_turn_methods"] if m not in labels]
    temperatures = config["temperatures"]
    if temperatures["steps"] % temperatures["probe_every"]:
        problems.append(f"temperatures.steps={temperatures['steps']} is not a multiple of "
                        f"probe_every={temperatures['probe_every']}")
    return problems


# --------------------------------------------------------------------------- what each chapter builds


def _learned(net) -> Callable:
    return lambda params: LearnedOptimizer(params, net, ensemble_dim=0)


def _untrained(spec, **changes) -> Callable:
    """The optimizer of a spec's net as it is built before meta-training (``changes`` to its config)."""
    return _learned(spec.net_class(**{**spec.net_config, **changes}))


def _cases_00(config: Mapping, scale: str, dataset: str) -> Iterator[Case]:
    from optbook.tasks import book_task

    for key in config["tasks"]:
        task = book_task(key, dataset=dataset)
        grid = scales.tuning_protocol(scale, key).lr_grid
        for method, rate in itertools.product(baselines.BASELINES, (max(grid), min(grid))):
            yield Case(key, f"{method} (lr={rate:g})", task,
                       lambda params, make=baselines.BASELINES[method], rate=rate: make(params, rate))


def _cases_01(config: Mapping, scale: str, dataset: str) -> Iterator[Case]:
    from optbook.studies import learning_to_learn as l2l
    from optbook.studies import net_kinds
    from optbook.tasks import MNISTMLPTask, book_task

    lstms = [spec for spec in net_kinds.dry_run_specs(scale, dataset) if spec.net_class is l2l.CoordinatewiseLSTM]
    specs = lstms + [l2l.chapter_net_spec("quadratic", config, scale, dataset, meta_lr=meta_lr, init_seed=seed,
                                          problems=config["sensitivity_problems"])
                     for meta_lr in config["sensitivity_meta_lrs"] for seed in config["sensitivity_seeds"]]
    for spec in specs:
        yield Case(spec.task.name, spec.name, spec.task, _untrained(spec))
    (mnist,) = [spec for spec in lstms if "-mnist-" in spec.name]  # the MNIST LSTM, which chapter 1 transfers
    for key in config["transfer_tasks"]:
        yield Case(key, f"{mnist.name} (transfer)", book_task(key, dataset=dataset), _untrained(mnist))
    for output_scale in config["relu_output_scales"]:
        yield Case("mnist-relu", f"LSTM (scale {output_scale:g})", book_task("mnist-relu", dataset=dataset),
                   _untrained(mnist, output_scale=output_scale))
    for layers, hidden in itertools.product(config["architecture_layers"], config["architecture_hidden"]):
        task = MNISTMLPTask(hidden=(hidden,) * layers, dataset=dataset)
        yield Case(task.name, f"{mnist.name} (transfer)", task, _untrained(mnist))


def _cases_02(config: Mapping, scale: str, dataset: str) -> Iterator[Case]:
    from optbook.studies import net_kinds
    from optbook.tasks import book_task

    specs = net_kinds.dry_run_specs(scale, dataset)
    for spec in specs:
        yield Case(spec.task.name, spec.name, spec.task, _untrained(spec))
    relu = book_task("mnist-relu", dataset=dataset)
    for spec in specs:
        if "-mnist-" in spec.name:
            yield Case(relu.name, f"{spec.name} (transfer)", relu, _untrained(spec))


class _RandomCIFAR:
    """VGG-16's optimizee on 128 random CIFAR-shaped images: the shapes of the real thing, no data."""

    name = "vgg16bn-random-cifar-shaped"

    def build(self, seeds, device="cpu"):
        from optbook.tasks.vgg import VGGClassifier

        generator = torch.Generator().manual_seed(0)
        images = torch.rand(128, 3, 32, 32, generator=generator).to(device)
        labels = torch.randint(10, (128,), generator=generator).to(device)
        return VGGClassifier(seeds, images, labels)


def _cases_03(config: Mapping, scale: str, dataset: str) -> Iterator[Case]:
    from optbook.optim.hypergradient import LRTransition
    from optbook.studies import hypergradient as hd

    logreg, mlp = hd.logistic_regression(dataset), hd.multilayer_perceptron(config["mlp_hidden"], dataset)
    logreg_methods = (*hd.PAPER_METHODS, *hd.VARIANT_PAIRS, "Adam-HD (code order)", "SGD-HDM", "Adam-HDM")
    for method in logreg_methods:
        yield Case(logreg.name, method, logreg, hd.make_optimizer(method))
    for method in (*hd.PAPER_METHODS, *(hd.VARIANT_PAIRS if config["mlp_variant_seeds"] else ())):
        yield Case(mlp.name, method, mlp, hd.make_optimizer(method))
    for method in hd.PAPER_METHODS:  # Fig. 4's grid: one (α₀, β) per run of one ensemble
        hd_method = hd.METHODS[method][1] is not None
        points = list(itertools.product(config["grid_alphas"], config["grid_betas"] if hd_method else [None]))
        factory = hd.make_optimizer(method, lr=[a for a, _ in points],
                                    hypergrad_lr=[b for _, b in points] if hd_method else None)
        yield Case(logreg.name, f"{method}, α₀ × β grid", logreg, factory, runs=len(points))
    alpha_inf = hd.rate_below_bound(hd.logistic_smoothness(logreg))
    for tau in config["transition_taus"]:
        transition = LRTransition(alpha_inf, tau)
        yield Case(logreg.name, f"SGD-HD, §5 transition (τ={tau:g})", logreg,
                   hd.make_optimizer("SGD-HD", transition=transition))
    if config["vgg_epochs"]:
        for method in hd.PAPER_METHODS:
            betas = {"hypergrad_lr": hd.VGG_BETA[method]} if method in hd.VGG_BETA else {}
            yield Case("VGG-16 (random CIFAR-shaped images)", method, _RandomCIFAR(),
                       hd.make_optimizer(method, ensemble=False, **betas))


def _cases_04(config: Mapping, scale: str, dataset: str) -> Iterator[Case]:
    from optbook.studies import thermodynamic as thermo
    from optbook.tasks.initialisation import GaussianInit

    problems = thermo.problems(config)
    plan = {
        "two_turn": thermo.TWO_TURN,
        "four_turn": (thermo.ADAM, thermo.FIG10_ADLALA, *thermo.sweep_settings(config["sweep"])),
        **{f"trig a={a}": thermo.TRIG[a] for a in config["trig"]["a"]},
        "temperatures": thermo.temperature_settings(config["temperatures"]),
        "sensitivity": (thermo.ADAM, *thermo.sensitivity_settings(config["sensitivity"])),
    }
    for problem, settings in plan.items():
        for setting in settings:
            yield Case(problem, setting.label, problems[problem], thermo.make_optimizer(setting, [0]))
    two_init = [s for s in thermo.FIG8 if s.label in config["initialisation"]["two_turn_methods"]]
    for std in thermo.GAUSSIAN_STDS:
        for problem, settings in (("two_turn", two_init), ("four_turn", (thermo.ADAM, thermo.FIG10_ADLALA))):
            for setting in settings:
                yield Case(f"{problem}, N(0, {std:g}²)", setting.label, GaussianInit(problems[problem], std),
                           thermo.make_optimizer(setting, [0]))


def _consistency_90(config: Mapping, scale: str) -> list[str]:
    steps, ensembles, meta = config["steps"], config["ensembles"], config["meta"]
    problems = []
    if len(steps["mlp"]) < 2 or min(steps["mlp"]) < 1:
        problems.append(f"steps.mlp={steps['mlp']!r} must be at least two positive widths")
    problems += [f"steps.{key}={steps[key]!r} must be at least 1" for key in ("batch", "repeats", "steps_per_round")
                 if steps[key] < 1]
    runs = list(ensembles["runs"])
    if not runs or min(runs) < 1 or runs != sorted(set(runs)):
        problems.append(f"ensembles.runs={runs!r} must be increasing positive numbers of runs")
    problems += [f"{name}={value!r} must be at least 1" for name, value in
                 (("ensembles.steps", ensembles["steps"]), ("ensembles.loop_runs", ensembles["loop_runs"]),
                  ("meta.problems", meta["problems"]), ("meta.evaluation_runs", meta["evaluation_runs"]),
                  ("meta.evaluation_steps", meta["evaluation_steps"])) if value < 1]
    return problems


@dataclass(frozen=True)
class _BenchMLP:
    """The step benchmark's MLP and batch (:func:`optbook.bench.mlp_factory`) as a one-run task."""

    widths: tuple[int, ...]
    batch: int

    def build(self, seeds, device="cpu") -> torch.nn.Module:
        from optbook import bench

        model, loss = bench.mlp_factory(self.widths, self.batch, device=device)()
        return _FixedBatch(model, loss)


class _FixedBatch(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, loss: Callable[[], torch.Tensor]):
        super().__init__()
        self.model, self._loss = model, loss

    def sample_batch(self) -> None:
        return None

    def forward(self, batch) -> torch.Tensor:
        return self._loss().reshape(1)


def _cases_90(config: Mapping, scale: str, dataset: str) -> Iterator[Case]:
    """The ensembles at their largest R and the meta-training task with a fresh LSTM (the step
    table times the same optimizers the chapters' plans build)."""
    from optbook import bench
    from optbook.learned import CoordinatewiseLSTM
    from optbook.studies.costs import MNIST_LSTM
    from optbook.tasks import SpiralTask, book_task

    mlp = _BenchMLP(tuple(config["steps"]["mlp"]), config["steps"]["batch"])
    for name, make in bench.book_step_optimizers().items():
        yield Case("step MLP", name, mlp, make)
    ensembles = config["ensembles"]
    task, runs = SpiralTask(**ensembles["spirals"]), max(ensembles["runs"])
    for name, make in bench.default_ensemble_optimizers().items():
        yield Case("ensembles", name, task, lambda params, make=make: make(params, list(range(runs))), runs=runs)
    meta = config["meta"]
    net = CoordinatewiseLSTM(**dict(MNIST_LSTM, **meta.get("net", {})))
    yield Case(meta["task"], "LSTM (fresh)", book_task(meta["task"], dataset=dataset), _learned(net),
               runs=meta["evaluation_runs"])


CASES = {"00": _cases_00, "01": _cases_01, "02": _cases_02, "03": _cases_03, "04": _cases_04, "90": _cases_90}
CONSISTENCY = {"00": _consistency_00, "01": _consistency_01, "02": _consistency_02, "03": _consistency_03,
               "04": _consistency_04, "90": _consistency_90}


# --------------------------------------------------------------------------- running the checks


def step_once(case: Case, device="cpu") -> dict:
    """Build ``case`` and take one optimizer step; the row the dry run reports for it."""
    row = {"problem": case.problem, "optimizer": case.optimizer, "runs": case.runs}
    try:
        model = case.task.build(list(range(case.runs)), device=device)
    except DatasetUnavailable as missing:
        return {**row, "status": "skipped", "detail": f"data absent: {str(missing).splitlines()[0]}"}
    params = list(model.parameters())
    optimizer = case.factory(params)
    before = [p.detach().clone() for p in params]
    batch = model.sample_batch()

    def closure():
        optimizer.zero_grad()
        loss = model(batch).sum()
        loss.backward()
        return loss

    loss = float(optimizer.step(closure).detach()) / case.runs
    moved = any(not torch.equal(old, new.detach()) for old, new in zip(before, params))
    status = "ok" if math.isfinite(loss) and moved else "failed"
    detail = "" if status == "ok" else ("the loss is not finite" if not math.isfinite(loss) else "no parameter moved")
    return {**row, "parameters per run": sum(p.numel() for p in params) // case.runs, "loss": loss,
            "status": status, "detail": detail}


def dry_run(chapter: str, scale: str = "paper", dataset: str = "auto", device="cpu",
            progress: bool = True) -> pd.DataFrame:
    """Every check of ``chapter``'s table at ``scale``: one row per problem found in the table
    ("config") and one per optimizer on an optimizee, with ``status`` ok | failed | skipped."""
    config = scales.chapter_config(chapter, scale)
    rows = [{"problem": "config", "optimizer": "", "status": "failed", "detail": problem}
            for problem in config_differences(config, scales.chapter_config(chapter, PUBLISHED_SCALE))]
    if rows:  # a table without the chapter's keys cannot be read further
        return pd.DataFrame(rows).assign(chapter=chapter, scale=scale)
    problems = CONSISTENCY[chapter](config, scale)
    rows += [{"problem": "config", "optimizer": "", "status": "failed", "detail": problem} for problem in problems]
    if not problems:
        rows.append({"problem": "config", "optimizer": "", "status": "ok", "detail": "keys and consistency"})
    with torch.random.fork_rng():  # a dry run leaves the caller's random state as it was
        try:
            cases = list(CASES[chapter](config, scale, dataset))
        except Exception as error:  # a setting the constructors refuse (e.g. a meta-training config)
            rows.append({"problem": "plan", "optimizer": "", "status": "failed", "detail": f"{type(error).__name__}: {error}"})
            cases = []
        for case in progress_bar(cases, desc=f"dry run {chapter} at {scale}", disable=not progress):
            try:
                rows.append(step_once(case, device))
            except Exception as error:  # every construction is reported, not only the first to fail
                rows.append({"problem": case.problem, "optimizer": case.optimizer, "runs": case.runs,
                             "status": "failed", "detail": f"{type(error).__name__}: {error}"})
    checks = pd.DataFrame(rows).assign(chapter=chapter, scale=scale)
    counts = [column for column in ("runs", "parameters per run") if column in checks]
    return checks.astype({column: "Int64" for column in counts})  # config rows have none: not floats
