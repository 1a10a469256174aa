"""Chapter 1's experiments: meta-train the L2L LSTM, evaluate it against the tuned baselines.

Trained nets are the expensive part (minutes to tens of minutes on 2 cores), so
:func:`meta_trained` keeps each one as a small file shipped inside the package
(``optbook/checkpoints/``, see :mod:`optbook.learned.checkpoints`), with the meta-training
history and a fingerprint of everything that defines it (task, net, meta-training config).
A checkpoint whose fingerprint does not match is retrained, never silently reused.
Evaluations are cheap enough for the result cache (:mod:`optbook.cache`).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import io
import json
import sys
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from optbook import baselines, cache, scales
from optbook.comparison import PairedComparison, compare_paired
from optbook.learned import lstm_layer, meta, nets, unroll
from optbook.learned.evaluate import evaluate
from optbook.learned.checkpoints import class_name, find_checkpoints, load_net, save_dir, save_net
from optbook.learned.nets import CoordinatewiseLSTM
from optbook.tasks import base, ensemble, mlp, quadratic

__all__ = [
    "AT_STEP", "NetSpec", "TRAJECTORY", "TrainedOptimizer", "architecture_figure", "architecture_sweep",
    "architecture_table", "baseline_runs", "chapter_net", "chapter_net_spec", "comparison", "comparison_table",
    "evaluate_learned", "find_trained", "fingerprint", "judge", "learned_and_baseline_runs", "longest_lead",
    "loss_figure", "meta_trained", "meta_training_figure", "per_problem", "sensitivity_figure",
    "sensitivity_for_page", "sensitivity_table", "throughput_table", "toy_acceptance_test", "trained_net",
    "trajectory_means",
]

LEARNED = "LSTM"
# The learned optimizer's results depend on the engine and the optimizees; a change there must
# not be served from the cache (optbook.learned.__init__ re-exports the function evaluate,
# which hides the module of the same name from attribute access).
EVALUATION_CODE = (sys.modules["optbook.learned.evaluate"], unroll, nets, lstm_layer, base, ensemble, mlp, quadratic)


@dataclass
class TrainedOptimizer:
    """A meta-trained net with how it got there.

    ``history``: one row per training problem (mean meta-loss of its unrolls, the loss at its
    last step, the largest meta-gradient norm); ``validation``: the validation table of
    :func:`optbook.learned.meta.train`; ``info``: timings and the selected problem count.
    ``loaded``: whether it came from a committed checkpoint rather than training just now.
    """

    name: str
    net: torch.nn.Module
    history: pd.DataFrame
    validation: pd.DataFrame
    info: dict
    loaded: bool

    @property
    def state_hash(self) -> str:
        """A short hash of φ: the cache key of everything evaluated with this net."""
        buffer = io.BytesIO()
        for key, value in sorted(self.net.state_dict().items()):
            buffer.write(key.encode())
            buffer.write(value.detach().cpu().contiguous().numpy().tobytes())
        return hashlib.sha256(buffer.getvalue()).hexdigest()[:16]


def fingerprint(task, net_config: dict, meta_config: meta.MetaTrainConfig, init_seed: int,
                net_class: type = CoordinatewiseLSTM) -> str:
    """What defines a trained net: task, net class and config, meta-training protocol and the seed
    of φ's init. The class enters the hash only when it is not the LSTM, so the LSTM's
    fingerprints (and chapter 1's shipped checkpoints) are those from before other nets existed."""
    payload = {
        "task": task.config(), "net": net_config, "meta": meta_config.to_dict(), "init_seed": init_seed,
        "checkpoint_format": meta.CHECKPOINT_FORMAT,
    }
    if net_class is not CoordinatewiseLSTM:
        payload["net_class"] = class_name(net_class)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _history(result: meta.MetaTrainResult) -> pd.DataFrame:
    unrolls = result.unrolls
    if unrolls.empty:
        return pd.DataFrame(columns=["problem", "meta_loss", "final_loss", "max_meta_grad_norm"])
    grouped = unrolls.groupby("problem")
    return pd.DataFrame(
        {
            "problem": grouped.size().index + 1,
            "meta_loss": grouped["meta_loss"].mean().to_numpy(),
            "final_loss": grouped["final_loss"].last().to_numpy(),
            "max_meta_grad_norm": grouped["meta_grad_norm"].max().to_numpy(),
        }
    )


def _json_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-able dicts; pandas writes NaN and ±inf (a diverged unroll) as null."""
    return json.loads(frame.to_json(orient="records"))


def meta_trained(
    name: str,
    task,
    net_config: dict,
    meta_config: meta.MetaTrainConfig,
    init_seed: int = 0,
    device="cpu",
    progress: bool = True,
    net_class: type = CoordinatewiseLSTM,
) -> TrainedOptimizer:
    """The net ``name`` (a ``net_class(**net_config)``, by default the LSTM) meta-trained on
    ``task``: the first ``<name>.pt`` of :func:`~optbook.learned.checkpoints.find_checkpoints`
    whose fingerprint matches, otherwise trained (φ initialised from ``init_seed``) and saved in
    :func:`~optbook.learned.checkpoints.save_dir`."""
    key = fingerprint(task, net_config, meta_config, init_seed, net_class)
    found = find_trained(name, key, device)
    if found is not None:
        return found
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        net = net_class(**net_config)
    result = meta.train(task, net, meta_config, device=device, progress=progress)
    info = {
        "train_seconds": result.train_seconds,
        "train_steps": result.train_steps,
        "runs_per_problem": result.runs,
        "steps_per_second": result.steps_per_second,
        "run_steps_per_second": result.run_steps_per_second,
        "coordinates_per_run": sum(p.numel() for p in task.build([0]).parameters()),
        "best_problems": result.best_problems,
        "best_score": result.best_score,
        "torch": str(torch.__version__),
        "threads": torch.get_num_threads(),
        "trained_on": datetime.date.today().isoformat(),
    }
    history, validation = _history(result), result.validation
    metadata = {
        "fingerprint": key, "task": task.config(), "meta_config": meta_config.to_dict(), "init_seed": init_seed,
        "history": _json_records(history), "validation": _json_records(validation), "info": info,
    }
    save_net(save_dir() / f"{name}.pt", net, metadata=metadata)
    return TrainedOptimizer(name, net, history, validation, info, loaded=False)


def find_trained(name: str, key: str, device="cpu") -> TrainedOptimizer | None:
    """The saved net ``name`` whose fingerprint is ``key``, or None. A file that cannot be
    loaded (damaged, or refused as untrusted) is skipped with a warning naming it."""
    for path in find_checkpoints(name):
        try:
            net, metadata = load_net(path, device=device, with_metadata=True)
        except ValueError as err:
            warnings.warn(f"skipping the trained optimizer {path}: {err}", stacklevel=2)
            continue
        if metadata.get("fingerprint") == key:
            return TrainedOptimizer(
                name, net, pd.DataFrame(metadata["history"], dtype=float), pd.DataFrame(metadata["validation"]),
                metadata["info"], loaded=True,
            )
    return None


def evaluate_learned(task, trained: TrainedOptimizer, n_seeds: int, steps: int, device="cpu",
                     output_scale: float | None = None, method: str = LEARNED, first_seed: int = 0) -> pd.DataFrame:
    """The frozen net on the evaluation problems (seeds ``first_seed`` .. ``first_seed + n_seeds - 1``,
    as the baselines'), cached.
    ``output_scale`` replaces the scale the net was trained with (e.g. to test an evaluation at
    a larger step than training used); None keeps it."""
    net = trained.net
    config = {"task": task.config(), "net": trained.state_hash, "n_seeds": n_seeds, "steps": steps}
    if first_seed:
        config["first_seed"] = first_seed  # seed 0's keys stay as they were
    code = EVALUATION_CODE
    if not isinstance(net, CoordinatewiseLSTM):
        # Other nets are keyed by class, config and source too (the LSTM's keys stay as they were,
        # so chapter 1's cached evaluations are still found).
        config["net_class"], config["net_config"] = class_name(type(net)), net.config()
        code = EVALUATION_CODE + (sys.modules[type(net).__module__],)
    if output_scale is not None:
        if not output_scale > 0:
            raise ValueError(f"output_scale={output_scale!r} must be positive (or None for the trained scale)")
        net = copy.deepcopy(trained.net)
        net.output_scale = float(output_scale)
        config["output_scale"] = float(output_scale)

    def compute() -> pd.DataFrame:
        return evaluate(task, net, range(first_seed, first_seed + n_seeds), steps, device=device, method=LEARNED)

    return cache.cached("l2l-evaluation", config, compute, code=code).assign(method=method)


def baseline_runs(task_key: str, task, scale: str, n_seeds: int, steps: int, dataset="auto", device="cpu",
                  progress: bool = True, first_seed: int = 0) -> pd.DataFrame:
    """The baselines at the rates chapter 0 tuned for ``task_key`` (the paper's final-loss
    criterion), on the same evaluation problems as the learned optimizer."""
    protocol = scales.tuning_protocol(scale, task_key)
    rates = baselines.tuned_learning_rates(task_key, protocol, dataset=dataset, device=device, progress=progress)
    return baselines.evaluation_runs(task, rates, n_seeds, steps, device=device, progress=progress,
                                     first_seed=first_seed)


def learned_and_baseline_runs(task_key: str, task, trained: TrainedOptimizer, steps: int, *, scale: str,
                              n_seeds: int, dataset="auto", device="cpu", first_seed: int = 0) -> pd.DataFrame:
    """The trained net and chapter 0's tuned baselines on the same ``n_seeds`` evaluation
    problems of ``task``, one tidy frame: what every comparison of the chapter pairs."""
    baseline = baseline_runs(task_key, task, scale, n_seeds, steps, dataset, device, first_seed=first_seed)
    learned = evaluate_learned(task, trained, n_seeds, steps, device, first_seed=first_seed)
    return pd.concat([baseline, learned], ignore_index=True)


def kind_and_baseline_runs(task_key: str, task, runs, steps: int, *, scale: str, n_seeds: int, dataset="auto",
                           device="cpu", first_seed: int = 0) -> pd.DataFrame:
    """Every trained net of a kind (:class:`~optbook.studies.net_kinds.KindRuns`, method
    :data:`LEARNED`, a ``net`` column numbering them) and chapter 0's tuned baselines, on the
    same ``n_seeds`` held-out problems from ``first_seed``: what chapter 1's claims pair."""
    from optbook.studies import net_kinds

    return pd.concat([
        baseline_runs(task_key, task, scale, n_seeds, steps, dataset, device, first_seed=first_seed),
        net_kinds.evaluate_runs(runs, task, n_seeds, steps, device, first_seed, method=LEARNED),
    ], ignore_index=True)


TRAJECTORY, AT_STEP = "mean loss over steps 0..step", "loss at step"
MEASURES = (AT_STEP, TRAJECTORY)
# From least to most favourable to the claim; a claim against several baselines takes the least
# favourable verdict ("beats all of them") or the most favourable ("some baseline beats it").
VERDICT_ORDER = ("not reproduced", "mixed", "inconclusive", "reproduced")


def per_problem(frame: pd.DataFrame, step: int, measure: str = AT_STEP) -> pd.DataFrame:
    """One value per problem (rows: seeds) and method (columns) for a claim at ``step``: the loss
    at that step, or the mean loss over steps 0 .. step. A diverged run is +inf."""
    if measure not in MEASURES:
        raise ValueError(f"measure={measure!r} must be one of {MEASURES}")
    at = trajectory_means(frame, step) if measure == TRAJECTORY else frame[frame["step"] == step]
    values = at["loss"].where(np.isfinite(at["loss"]) & ~at["diverged"].astype(bool), np.inf)
    return at.assign(loss=values).pivot_table(index="seed", columns="method", values="loss", aggfunc="first")


def judge(values: pd.DataFrame, learned: str = LEARNED, learned_should_be_lower: bool = True) -> PairedComparison:
    """The book's rule (:func:`optbook.claims.compare_paired`) for "the learned optimizer beats
    the tuned baselines" (or, with ``learned_should_be_lower=False``, "a baseline beats it"),
    from per-problem values (:func:`per_problem`).

    The learned optimizer is compared with every baseline on the same problems. "Beats the
    baselines" must hold against each of them, so the least favourable comparison decides;
    "a baseline beats it" needs one, so the most favourable does. Among equal verdicts, the
    baseline with the lowest median decides (the strongest on the typical problem).
    """
    others = [m for m in values.columns if m != learned]
    if learned not in values.columns or not others:
        raise ValueError(f"values must hold {learned!r} and at least one baseline; got columns {list(values.columns)}")
    if learned_should_be_lower:
        results = [compare_paired(values[learned], values[b], learned, b) for b in others]
        pick = min
    else:
        results = [compare_paired(values[b], values[learned], b, learned) for b in others]
        pick = max
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    chosen = pick(rank[r.verdict] for r in results)
    tied = [r for r in results if rank[r.verdict] == chosen]
    return min(tied, key=lambda r: float(values[r.b if learned_should_be_lower else r.a].median()))


def has_nets(frame: pd.DataFrame, learned: str = LEARNED) -> bool:
    """Whether ``learned`` is a kind of net in ``frame``: its rows carry a ``net`` column naming
    several trained nets (:func:`optbook.studies.net_kinds.evaluate_runs`)."""
    if "net" not in frame.columns:
        return False
    return frame.loc[frame["method"] == learned, "net"].nunique() > 1


def comparison(frame: pd.DataFrame, steps: Sequence[int], learned: str = LEARNED,
               learned_should_be_lower: bool = True) -> dict:
    """Both measures a claim is judged on, keyed by (measure, step): the loss at each step and
    the mean loss over steps 0 .. step, each judged by :func:`judge`, or, where ``learned`` is a
    kind of net with several trained nets, across them
    (:func:`optbook.studies.kind_findings.judge_kind`)."""
    if has_nets(frame, learned):
        from optbook.studies.kind_findings import judge_kind, task_values

        return {(measure, step): judge_kind(task_values(frame, step, measure), learned,
                                            learned_should_be_lower=learned_should_be_lower)
                for measure in MEASURES for step in steps}
    return {(measure, step): judge(per_problem(frame, step, measure), learned, learned_should_be_lower)
            for measure in MEASURES for step in steps}


def comparison_table(judged: dict, group=None) -> pd.DataFrame:
    """The judged comparisons as a narrow table for the page: one column per (measure, step),
    one row per number, rounded to 3 significant digits.

    With ``group``, only the comparisons whose key starts with it: a measure (:data:`AT_STEP` or
    :data:`TRAJECTORY`), or the first part of longer keys (a task's title), which then names the
    table in its corner instead of every column. Two columns fit the page; split wider tables."""
    def g(x: float) -> str:
        return f"{x:.3g}"

    if group is not None:
        judged = {(key[1:] if len(key) > 2 else key): r for key, r in judged.items() if key[0] == group}
    columns = {}
    for key, r in judged.items():
        measure, step = key[-2:]
        name = (f"{' · '.join(map(str, key[:-2]))} · " if len(key) > 2 else "") + (
            f"step {step}" if measure == AT_STEP else f"mean over 0..{step}")
        columns[name] = {
            "compared": f"{r.a} vs {r.b}",
            "mean": f"{g(r.mean_a)} vs {g(r.mean_b)}",
            "paired difference of means [95%]": f"{r.mean_difference:+.3g} [{g(r.mean_lo)}, {g(r.mean_hi)}]",
            "median": f"{g(r.median_a)} vs {g(r.median_b)}",
            "median paired difference [95%]": f"{r.median_difference:+.3g} [{g(r.median_lo)}, {g(r.median_hi)}]",
            "problems where the first is lower": f"{r.fraction_better:.0%}",
            "verdict": r.verdict,
        }
    table = pd.DataFrame(columns)
    if group is not None and group not in MEASURES:
        table.columns.name = group
    return table


def longest_lead(frame: pd.DataFrame, learned: str = LEARNED, statistic: str = "mean") -> tuple[int, int] | None:
    """The first and last step of the longest run of consecutive steps at which the learned
    optimizer's ``statistic`` ("mean" or "median" over problems) of the loss is below every
    baseline's (None if it never leads). A diverged run is an infinite loss."""
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic={statistic!r} must be 'mean' or 'median'")
    if statistic == "mean":
        means = frame[np.isfinite(frame["loss"])].groupby(["step", "method"])["loss"].mean().unstack()
    else:
        values = frame["loss"].where(np.isfinite(frame["loss"]), np.inf)
        means = values.groupby([frame["step"], frame["method"]]).median().unstack()
    leads = means[learned] < means.drop(columns=learned).min(axis=1)
    best, current = None, None
    for step, ahead in leads.items():
        if ahead:
            current = (current[0], int(step)) if current else (int(step), int(step))
            if best is None or current[1] - current[0] > best[1] - best[0]:
                best = current
        else:
            current = None
    return best


def trajectory_means(frame: pd.DataFrame, last_step: int) -> pd.DataFrame:
    """Per method and problem, the mean loss over steps 0 .. ``last_step`` (the area under the
    curve the paper's figures show, and the reproductions' selection score), as a frame with
    ``step`` = ``last_step``. A run that diverged scores inf."""
    window = frame[frame["step"] <= last_step]
    means = window.groupby(["method", "seed"], sort=False)["loss"].mean().reset_index()
    diverged = window.groupby(["method", "seed"], sort=False)["diverged"].any().to_numpy()
    means.loc[diverged, "loss"] = np.inf
    return means.assign(step=last_step, diverged=diverged)


def sensitivity_table(evaluations: dict[tuple, pd.DataFrame], baselines_frame: pd.DataFrame, step: int) -> pd.DataFrame:
    """Every meta-training variant (keys: (meta_lr, seed)) judged by the book's rule against the
    tuned baselines on the same problems, at ``step`` and over steps 0 .. ``step``."""
    rows = []
    for (meta_lr, seed), frame in evaluations.items():
        both = pd.concat([baselines_frame, frame], ignore_index=True)
        at_step = judge(per_problem(both, step, AT_STEP))
        over = judge(per_problem(both, step, TRAJECTORY))
        rows.append({"meta_lr": meta_lr, "meta-training seed": seed,
                     f"mean loss at step {step}": at_step.mean_a, f"median loss at step {step}": at_step.median_a,
                     "lower than": at_step.b, "on problems": f"{at_step.fraction_better:.0%}",
                     f"verdict at step {step}": at_step.verdict, "verdict over the trajectory": over.verdict})
    return pd.DataFrame(rows)


def sensitivity_for_page(sensitivity: pd.DataFrame, step: int) -> pd.DataFrame:
    """:func:`sensitivity_table` narrow enough for the page: per variant the median loss at
    ``step``, on how many problems the LSTM is lower than the baseline that decides, and the
    verdicts at ``step`` and over steps 0 .. ``step``."""
    return pd.DataFrame({
        "meta-lr": sensitivity["meta_lr"],
        "seed": sensitivity["meta-training seed"],
        "median loss": sensitivity[f"median loss at step {step}"],
        "LSTM lower on": sensitivity["on problems"] + " vs " + sensitivity["lower than"],
        f"verdict at step {step}": sensitivity[f"verdict at step {step}"],
        f"over 0..{step}": sensitivity["verdict over the trajectory"],
    })


def toy_acceptance_test() -> dict[str, float]:
    """The official code's unit test (``meta_test.py``): f(x) = x², x₀ = 1, a zero-initialised
    bare Linear(1, 1) as the update net, unroll 5, Adam(lr 0.01), two unrolls with one meta-step
    between them. Expected: final x 0.8559, final loss 0.7325327."""
    from optbook.learned.nets import LinearUpdate
    from optbook.tasks.toy import ScalarSquareTask

    net = LinearUpdate()
    config = meta.MetaTrainConfig(unroll=5, horizon=10, problems=1, runs=1, meta_lr=0.01, validate_every=None)
    result = meta.train(ScalarSquareTask(), net, config, progress=False)
    return {"final x": float(result.final_params["x"][0]), "final loss": float(result.unrolls["final_loss"].iloc[-1])}


@dataclass(frozen=True)
class NetSpec:
    """Everything that defines one of the chapter's trained nets (and its file name)."""

    name: str
    task: object
    net_config: dict
    meta_config: meta.MetaTrainConfig
    init_seed: int
    net_class: type = CoordinatewiseLSTM

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.task, self.net_config, self.meta_config, self.init_seed, self.net_class)


def chapter_net_spec(
    problem: str, config, scale: str, dataset: str = "auto",
    meta_lr: float | None = None, init_seed: int = 0, problems: int | None = None,
) -> NetSpec:
    """The chapter's LSTM for ``problem`` ("quadratic" | "mnist") at ``scale``, from its config
    table (``<problem>_net``, ``<problem>_meta``); ``meta_lr``, ``init_seed`` and ``problems``
    override the table for the sensitivity study. Named ``l2l-<problem>[-variant]-<scale>``."""
    from optbook.session import check_choice
    from optbook.tasks import book_task

    check_choice("problem", problem, ("quadratic", "mnist"))
    task = book_task("quadratic" if problem == "quadratic" else "mnist-sigmoid", dataset=dataset)
    settings = dict(config[f"{problem}_meta"])
    variant = ""
    if meta_lr is not None or problems is not None or init_seed:
        settings["meta_lr"] = meta_lr if meta_lr is not None else settings["meta_lr"]
        settings["problems"] = problems if problems is not None else settings["problems"]
        variant = f"-lr{settings['meta_lr']:g}-seed{init_seed}-p{settings['problems']}"
    return NetSpec(f"l2l-{problem}{variant}-{scale}", task, dict(config[f"{problem}_net"]),
                   meta.MetaTrainConfig(**settings), init_seed)


def chapter_net(
    problem: str, config, scale: str, dataset: str = "auto", device="cpu", progress: bool = True,
    meta_lr: float | None = None, init_seed: int = 0, problems: int | None = None,
) -> TrainedOptimizer:
    """The net of :func:`chapter_net_spec`: a shipped or saved one whose fingerprint matches, else trained now."""
    spec = chapter_net_spec(problem, config, scale, dataset, meta_lr=meta_lr, init_seed=init_seed, problems=problems)
    return trained_net(spec, device, progress)


def trained_net(spec: NetSpec, device="cpu", progress: bool = True) -> TrainedOptimizer:
    """The net ``spec`` defines: a shipped or saved one whose fingerprint matches, else trained now."""
    return meta_trained(spec.name, spec.task, spec.net_config, spec.meta_config, init_seed=spec.init_seed,
                        device=device, progress=progress, net_class=spec.net_class)


def architecture_sweep(trained, hidden_sizes: Sequence[int], layer_counts: Sequence[int],
                       n_seeds: int, steps: int, scale: str, dataset: str = "auto", device="cpu",
                       first_seed: int = 0) -> pd.DataFrame:
    """The paper's Fig. 6 by evaluation only: the MNIST-trained net (a ``TrainedOptimizer``, or a
    kind's :class:`~optbook.studies.net_kinds.KindRuns`, every net of it), unchanged, on sigmoid
    MLPs with every number of hidden units and layers, against the baselines at the rates tuned
    for the base MLP (chapter 0; tuning every architecture is beyond the CPU budget). One row per
    architecture and method: mean and median loss at ``steps`` (pooled over a kind's nets), and
    the verdict of the book's rule for "the LSTM beats the baselines" there (across the nets)."""
    from optbook.studies import net_kinds
    from optbook.studies.kind_findings import task_values
    from optbook.tasks import MNISTMLPTask

    protocol = scales.tuning_protocol(scale, "mnist-sigmoid")
    rates = baselines.tuned_learning_rates("mnist-sigmoid", protocol, dataset=dataset, device=device, progress=False)
    rows = []
    for layers in layer_counts:
        for hidden in hidden_sizes:
            task = MNISTMLPTask(hidden=(hidden,) * layers, dataset=dataset)
            learned = (net_kinds.evaluate_runs(trained, task, n_seeds, steps, device, first_seed, method=LEARNED)
                       if isinstance(trained, net_kinds.KindRuns)
                       else evaluate_learned(task, trained, n_seeds, steps, device, first_seed=first_seed))
            frame = pd.concat([
                baselines.evaluation_runs(task, rates, n_seeds, steps, device=device, progress=False,
                                          first_seed=first_seed), learned], ignore_index=True)
            verdict = comparison(frame, [steps])[(AT_STEP, steps)]
            for method, values in task_values(frame, steps).items():
                cells = np.asarray(values, dtype=float).reshape(-1)
                rows.append({"layers": layers, "hidden units": hidden, "method": method,
                             "mean loss": float(np.nanmean(np.where(np.isinf(cells), np.nan, cells))),
                             "median loss": float(np.median(cells)),
                             "verdict (LSTM beats the baselines)": verdict.verdict,
                             "nets holding": getattr(verdict, "held", None)})
    return pd.DataFrame(rows)


def architecture_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """:func:`architecture_sweep` for the page: the median loss per architecture (rows) and
    method (columns, in the book's order), rounded, and the verdict for "the LSTM beats the
    baselines" on that architecture."""
    from optbook import plots

    index = ["layers", "hidden units"]
    table = sweep.pivot_table(index=index, columns="method", values="median loss")
    table = table[plots.ordered(table.columns)].round(3)
    verdicts = sweep.groupby(index)["verdict (LSTM beats the baselines)"].first()
    return table.join(verdicts.rename("verdict"))


def architecture_figure(sweep: pd.DataFrame, trained_hidden: int, steps: int, title: str):
    """Fig. 6's layout: median final loss against hidden units, one panel per number of layers,
    the LSTM solid, the baselines dashed; the dotted line marks the architecture it was trained on."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker

    from optbook import plots

    layer_counts = sorted(sweep["layers"].unique())
    fig, axes = plt.subplots(1, len(layer_counts), figsize=(5.0 * len(layer_counts), 3.8), squeeze=False, sharey=True)
    colors = plots.method_colors(list(sweep["method"].unique()))
    for ax, layers in zip(axes[0], layer_counts):
        panel = sweep[sweep["layers"] == layers]
        for method in plots.ordered(panel["method"]):
            line = panel[panel["method"] == method].sort_values("hidden units")
            ax.plot(line["hidden units"], line["median loss"], marker="o", ms=4, color=colors[method],
                    linestyle="-" if method == LEARNED else "--", label=method)
        if layers == 1:
            ax.axvline(trained_hidden, color="0.4", ls=":", lw=1)
        hidden_layers = f"{layers} hidden layer" + ("s" if layers > 1 else "")
        ax.set(xscale="log", yscale="log", xlabel="hidden units per layer", title=hidden_layers)
        ax.set_xticks(sorted(panel["hidden units"].unique()), [str(h) for h in sorted(panel["hidden units"].unique())])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        plots.plain_log_ticks(ax)
    axes[0][0].set_ylabel(f"median loss at step {steps}")
    fig.suptitle(title, fontsize="large")
    fig.tight_layout()
    plots.figure_legend(fig, ncol=3)
    return fig


# --- presentation: the chapter's figures and tables -------------------------------------------


def throughput_table(nets: dict[str, TrainedOptimizer]) -> pd.DataFrame:
    """How each net was meta-trained and how fast, one column per net, rounded for the page."""
    return pd.DataFrame({
        name: {
            "problems trained": f"{len(trained.history)}",
            "best at problem": f"{trained.info['best_problems']}",
            "coordinates per run": f"{trained.info['coordinates_per_run']:,}",
            "runs per problem": f"{trained.info['runs_per_problem']}",
            "meta-training time (min)": f"{trained.info['train_seconds'] / 60:.1f}",
            "optimizee steps / s": f"{trained.info['steps_per_second']:.1f}",
            "coordinate-steps / s": f"{trained.info['run_steps_per_second'] * trained.info['coordinates_per_run']:.3g}",
            "torch threads": f"{trained.info['threads']}",
            "source": "checkpoint" if trained.loaded else "trained now",
        }
        for name, trained in nets.items()
    })


def meta_training_figure(runs: dict[str, TrainedOptimizer], title: str, scale: str):
    """Meta-loss per training problem (with a running mean) and the validation score, per net."""
    import matplotlib.pyplot as plt

    from optbook import plots

    fig, axes = plt.subplots(1, len(runs), figsize=(6.4 * len(runs), 4.2), squeeze=False)
    for ax, (name, trained) in zip(axes[0], runs.items()):
        history = trained.history
        ax.plot(history["problem"], history["meta_loss"], color="0.75", lw=0.8, label="per problem")
        window = max(1, len(history) // 20)
        ax.plot(history["problem"], history["meta_loss"].rolling(window, min_periods=1).mean(),
                color="C0", label="running mean (over 5 % of the problems)")
        validation = trained.validation
        twin = ax.twinx()
        twin.plot(validation["problems"], validation["mean_loss"], "o-", color="C3", ms=3, label="validation")
        best = validation[validation["best"]]
        twin.plot(best["problems"].iloc[-1:], best["mean_loss"].iloc[-1:], "*", color="C3", ms=12, label="kept")
        for axis in (ax, twin):
            axis.set_yscale("log")
            plots.plain_log_ticks(axis)
        ax.set_xlabel("training problems")
        ax.set_ylabel("meta-loss per unroll")
        twin.set_ylabel("validation loss", color="C3")
        twin.grid(False)
        ax.set_title(name)
    plots.suptitle(fig, title, scale)
    fig.tight_layout()
    # The twin axes' lines join the one legend below the panels.
    plots.figure_legend(fig, ncol=3)
    return fig


def loss_figure(frames: dict[str, pd.DataFrame], title: str, scale: str, data: str | None = None,
                steps: tuple[int, int] | None = None, learned: Sequence[str] = (LEARNED,)):
    """Each task twice, side by side: the mean over problems with its 95% CI (what the paper
    draws) and the typical problem, the median with the 25-75% band. The learned optimizers
    (methods named with a prefix in ``learned``) solid, the baselines dashed, as in the paper;
    ``steps`` zooms on a window of steps."""
    import matplotlib.pyplot as plt

    from optbook import plots

    fig, axes = plt.subplots(len(frames), 2, figsize=(10.8, 3.9 * len(frames)), squeeze=False)
    for row, (name, frame) in zip(axes, frames.items()):
        if steps is not None:
            frame = frame[frame["step"].between(*steps)]
        methods = list(frame["method"].unique())
        is_learned = [m for m in methods if str(m).startswith(tuple(learned))]
        styles = {m: "--" for m in methods if m not in is_learned}
        # Variants of a learned optimizer share its colour; line styles tell them apart.
        for prefix in learned:
            variants = sorted(m for m in is_learned if str(m).split(" (")[0] == prefix)
            styles.update({m: ("-", ":", "-.")[i % 3] for i, m in enumerate(variants)})
        styles.update({m: "-" for m in is_learned if m not in styles})
        plots.curves_with_bands(frame, "loss", ax=row[0], log=True, title=f"{name}: mean ± 95% CI", styles=styles,
                                legend=False)
        plots.median_quantile_curves(frame, "loss", ax=row[1], log=True, title=f"{name}: median, 25–75%",
                                     styles=styles, ylabel="loss (median, 25–75 %)", legend=False)
        row[0].set_ylabel("loss (mean)")
    plots.suptitle(fig, title, scale, data)
    fig.tight_layout()
    plots.figure_legend(fig)
    return fig


def sensitivity_figure(sensitivity: pd.DataFrame, column: str, references: dict[str, float], title: str):
    """``column`` of every meta-training variant, grouped by meta-learning rate, with horizontal
    reference lines (e.g. the best tuned baseline, dashed, and the main LSTM, dotted)."""
    import matplotlib.pyplot as plt

    from optbook import plots

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    rates = sorted(sensitivity["meta_lr"].unique())
    for i, meta_lr in enumerate(rates):
        group = sensitivity[sensitivity["meta_lr"] == meta_lr]
        ax.scatter(np.full(len(group), i) + np.linspace(-0.1, 0.1, len(group)), group[column], color=f"C{i}", zorder=3)
    ax.set_xticks(range(len(rates)), [f"{lr:g}" for lr in rates])
    lstm_color = plots.method_colors([LEARNED])[LEARNED]
    for (label, value), (color, style) in zip(references.items(), [("0.3", "--"), (lstm_color, ":")]):
        ax.axhline(value, color=color, ls=style, label=label)
    ax.set_yscale("log")
    plots.plain_log_ticks(ax)
    ax.set_xlabel("meta-learning rate (one point per initialisation of φ)")
    ax.set_ylabel(column)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig
