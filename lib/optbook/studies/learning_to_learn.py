"""Chapter 1's experiments: meta-train the L2L LSTM, evaluate it against the tuned baselines.

Trained nets are the expensive part (minutes to tens of minutes on 2 cores), so
:func:`meta_trained` keeps each one as a small file shipped inside the package
(``optbook/checkpoints/``, see :mod:`optbook.learned.checkpoints`), with the meta-training
history and a fingerprint of everything that defines it (task, net, meta-training config).
A checkpoint whose fingerprint does not match is retrained, never silently reused.
Evaluations are cheap enough for the result cache (:mod:`optbook.cache`).
"""

from __future__ import annotations

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

from optbook import baselines, cache, experiment, scales
from optbook.learned import meta, nets, unroll
from optbook.learned.evaluate import evaluate
from optbook.learned.checkpoints import find_checkpoints, load_net, save_dir, save_net
from optbook.learned.nets import CoordinatewiseLSTM
from optbook.tasks import base, ensemble, mlp, quadratic

__all__ = [
    "AT_STEP", "NetSpec", "TRAJECTORY", "TrainedOptimizer", "baseline_runs", "chapter_net", "chapter_net_spec",
    "compare_at_steps", "comparison",
    "evaluate_learned", "find_trained", "fingerprint", "longest_lead", "meta_trained", "sensitivity_table", "toy_acceptance_test",
    "trajectory_means", "verdict",
]

LEARNED = "LSTM"
# The learned optimizer's results depend on the engine and the optimizees; a change there must
# not be served from the cache (optbook.learned.__init__ re-exports the function evaluate,
# which hides the module of the same name from attribute access).
EVALUATION_CODE = (sys.modules["optbook.learned.evaluate"], unroll, nets, base, ensemble, mlp, quadratic)


@dataclass
class TrainedOptimizer:
    """A meta-trained net with how it got there.

    ``history``: one row per training problem (mean meta-loss of its unrolls, the loss at its
    last step, the largest meta-gradient norm); ``validation``: the validation table of
    :func:`optbook.learned.meta.train`; ``info``: timings and the selected problem count.
    ``loaded``: whether it came from a committed checkpoint rather than training just now.
    """

    name: str
    net: CoordinatewiseLSTM
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


def fingerprint(task, net_config: dict, meta_config: meta.MetaTrainConfig, init_seed: int) -> str:
    """What defines a trained net: task, net, meta-training protocol and the seed of φ's init."""
    payload = {
        "task": task.config(), "net": net_config, "meta": meta_config.to_dict(), "init_seed": init_seed,
        "checkpoint_format": meta.CHECKPOINT_FORMAT,
    }
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
) -> TrainedOptimizer:
    """The net ``name`` meta-trained on ``task``: the first ``<name>.pt`` of
    :func:`~optbook.learned.checkpoints.find_checkpoints` whose fingerprint matches, otherwise
    trained (φ initialised from ``init_seed``) and saved in :func:`~optbook.learned.checkpoints.save_dir`."""
    key = fingerprint(task, net_config, meta_config, init_seed)
    found = find_trained(name, key, device)
    if found is not None:
        return found
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        net = CoordinatewiseLSTM(**net_config)
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


def evaluate_learned(task, trained: TrainedOptimizer, n_seeds: int, steps: int, device="cpu") -> pd.DataFrame:
    """The frozen net on the evaluation problems (seeds 0 .. n_seeds-1, as the baselines'), cached."""
    config = {"task": task.config(), "net": trained.state_hash, "n_seeds": n_seeds, "steps": steps}

    def compute() -> pd.DataFrame:
        return evaluate(task, trained.net, range(n_seeds), steps, device=device, method=LEARNED)

    return cache.cached("l2l-evaluation", config, compute, code=EVALUATION_CODE)


def baseline_runs(task_key: str, task, scale: str, n_seeds: int, steps: int, dataset="auto", device="cpu",
                  progress: bool = True) -> pd.DataFrame:
    """The baselines at the rates chapter 0 tuned for ``task_key`` (the paper's final-loss
    criterion), on the same evaluation problems as the learned optimizer."""
    protocol = scales.tuning_protocol(scale, task_key)
    rates = baselines.tuned_learning_rates(task_key, protocol, dataset=dataset, device=device, progress=progress)
    return baselines.evaluation_runs(task, rates, n_seeds, steps, device=device, progress=progress)


def compare_at_steps(frame: pd.DataFrame, steps: Sequence[int], learned: str = LEARNED) -> pd.DataFrame:
    """Mean loss (± 95% CI over problems) of every method at each of ``steps``, and whether the
    learned optimizer's mean is below the best baseline's."""
    rows = []
    for step in steps:
        at_step = frame[frame["step"] == step]
        summary = experiment.mean_ci(at_step, ["method"], "loss").set_index("method")
        best_baseline = summary.drop(index=learned)["mean"].idxmin()
        rows.append({
            "step": step,
            **summary["mean"].to_dict(),
            "best baseline": best_baseline,
            f"{learned} 95% CI": f"[{summary.at[learned, 'lo']:.3g}, {summary.at[learned, 'hi']:.3g}]",
            "best baseline 95% CI": f"[{summary.at[best_baseline, 'lo']:.3g}, {summary.at[best_baseline, 'hi']:.3g}]",
            f"{learned} beats best": bool(summary.at[learned, "mean"] < summary.at[best_baseline, "mean"]),
            f"problems where {learned} < best": _paired_fraction(at_step, learned, best_baseline),
            **_paired_difference(at_step, learned, best_baseline),
            "diverged runs": int(summary["n_diverged"].sum()),
        })
    return pd.DataFrame(rows).set_index("step")


def longest_lead(frame: pd.DataFrame, learned: str = LEARNED) -> tuple[int, int] | None:
    """The first and last step of the longest run of consecutive steps at which the learned
    optimizer's mean loss is below every baseline's mean (None if it never leads)."""
    means = frame[np.isfinite(frame["loss"])].groupby(["step", "method"])["loss"].mean().unstack()
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
    curve the paper's figures show, and the reproductions' selection score), as a frame that
    :func:`compare_at_steps` reads at step ``last_step``. A run that diverged scores inf."""
    window = frame[frame["step"] <= last_step]
    means = window.groupby(["method", "seed"], sort=False)["loss"].mean().reset_index()
    diverged = window.groupby(["method", "seed"], sort=False)["diverged"].any().to_numpy()
    means.loc[diverged, "loss"] = np.inf
    return means.assign(step=last_step, diverged=diverged)


TRAJECTORY, AT_STEP = "mean loss over steps 0..step", "loss at step"


def comparison(frame: pd.DataFrame, steps: Sequence[int], learned: str = LEARNED) -> pd.DataFrame:
    """Both measures a claim is judged on, indexed by (measure, step): the loss at each step, and
    the mean loss over steps 0 .. step (see :func:`compare_at_steps`)."""
    at_steps = compare_at_steps(frame, steps, learned)
    over = pd.concat([compare_at_steps(trajectory_means(frame, step), [step], learned) for step in steps])
    return pd.concat({AT_STEP: at_steps, TRAJECTORY: over}, names=["measure"])


def _paired(at_step: pd.DataFrame, learned: str, other: str) -> pd.DataFrame:
    return at_step.pivot_table(index="seed", columns="method", values="loss", dropna=False)[[learned, other]]


def _paired_fraction(at_step: pd.DataFrame, learned: str, other: str) -> float:
    pivot = _paired(at_step, learned, other)
    return float((pivot[learned] < pivot[other]).mean())


def _paired_difference(at_step: pd.DataFrame, learned: str, other: str, level: float = 0.95) -> dict[str, float]:
    """Mean over problems of (learned − other) on the same problem, with a normal-approximation
    CI; a problem on which either diverged counts against whichever diverged."""
    from statistics import NormalDist

    pivot = _paired(at_step, learned, other).replace([np.inf, -np.inf], np.nan)
    worst = np.nanmax(pivot.to_numpy()) if np.isfinite(pivot.to_numpy()).any() else 0.0
    difference = (pivot[learned].fillna(10 * worst + 1) - pivot[other].fillna(10 * worst + 1)).to_numpy()
    half = NormalDist().inv_cdf(0.5 + level / 2) * difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else np.nan
    mean = float(difference.mean())
    return {"paired difference": mean, "difference lo": mean - half, "difference hi": mean + half}


def verdict(row, learned_should_be_lower: bool = True) -> str:
    """The claim's verdict from the paired difference at one step: its whole CI on the side the
    paper says → reproduced; on the other side → not reproduced; straddling zero → inconclusive."""
    lo, hi = row["difference lo"], row["difference hi"]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive"
    if hi < 0:
        return "reproduced" if learned_should_be_lower else "not reproduced"
    if lo > 0:
        return "not reproduced" if learned_should_be_lower else "reproduced"
    return "inconclusive"


def sensitivity_table(evaluations: dict[tuple, pd.DataFrame], step: int, best_baseline_loss: float) -> pd.DataFrame:
    """Held-out loss at ``step`` of each meta-training variant (keys: (meta_lr, seed))."""
    rows = []
    for (meta_lr, seed), frame in evaluations.items():
        at_step = frame[frame["step"] == step]
        summary = experiment.mean_ci(at_step, ["method"], "loss").iloc[0]
        rows.append({"meta_lr": meta_lr, "meta-training seed": seed, "loss": summary["mean"],
                     "95% CI": f"[{summary['lo']:.3g}, {summary['hi']:.3g}]", "diverged runs": int(summary["n_diverged"]),
                     "beats best baseline": bool(summary["mean"] < best_baseline_loss)})
    return pd.DataFrame(rows)


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

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.task, self.net_config, self.meta_config, self.init_seed)


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
    return meta_trained(spec.name, spec.task, spec.net_config, spec.meta_config,
                        init_seed=spec.init_seed, device=device, progress=progress)
