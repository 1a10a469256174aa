r"""Meta-training an update net by truncated backpropagation through the optimizee's trajectory.

Andrychowicz et al. 2016, Sec. 2: the optimizer's weights φ minimise the expected weighted
loss along the optimizee trajectory it produces,

.. math::  \mathcal L(\phi) = \mathbb E_f \Bigl[\sum_t w_t\, f(\theta_t)\Bigr], \qquad
           \theta_{t+1} = \theta_t + g_t, \quad [g_t; h_{t+1}] = m(\nabla_t, h_t; \phi),

with ∂∇_t/∂φ = 0 (no second derivatives; :mod:`optbook.learned.unroll`). A problem runs for
T = ``horizon`` steps, cut into unrolls of K = ``unroll`` steps (T = 100, K = 20 in the paper).
Per unroll, as in the official code (``meta.py``), the meta-loss has **K + 1 terms**,

.. math::  L_j(\phi) = \sum_{t = jK}^{(j+1)K} w_t \,\overline{f}(\theta_t),

the start and end points of the unroll included; :math:`\overline f` is the mean over the
problem's runs (each run is an independent problem whose coordinates are just more rows for
the coordinatewise net). The start term does not depend on φ (θ_{jK} was detached), so it
changes the reported value, not the gradient; the end term is the one the PyTorch ports
drop, leaving the unroll's last update without meta-signal. After each unroll: one step of
the meta-optimizer (Adam) on ∇_φ L_j, optionally clipped by global norm, then θ and the net
state are carried over detached. After T steps a fresh problem (new seeds) starts with a
zero state. Every ``validate_every`` problems the frozen net runs on held-out problems and
the best φ is kept (early stopping).

The engine is generic: it gets the task, the net and the config and imports neither.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd
import torch

from optbook.learned.evaluate import SELECT_BY, evaluate, rollout_losses, trajectory_summary
from optbook.learned.protocol import check_update_net
from optbook.learned.unroll import UnrolledOptimizee
from optbook.progress import progress_bar

__all__ = [
    "LossTerm", "MetaTrainConfig", "MetaTrainResult", "before_update", "evaluate", "every_step", "final_step",
    "load_checkpoint", "save_checkpoint", "train", "unroll_lengths",
]

CHECKPOINT_FORMAT = 1
# Seeds of training problems start here and default validation seeds at 10**6, so evaluation
# seeds below 10**6 (the chapters use small ones) are never problems the net trained on.
TRAIN_SEED_BASE = 10**8
SEEDS_PER_TRAINING_SEED = 10**7
DEFAULT_VALIDATION_SEEDS = tuple(range(10**6, 10**6 + 20))
UNROLL_COLUMNS = ["problem", "unroll", "meta_loss", "final_loss", "meta_grad_norm", "stepped"]
VALIDATION_COLUMNS = ["problems", "mean_loss", "final_loss", "score", "best"]


class LossTerm(NamedTuple):
    """Where f(θ_t) sits: ``step`` t in 0..horizon, ``position`` in its unroll (0 = start)."""

    step: int
    position: int
    unroll_length: int
    horizon: int


def every_step(term: LossTerm) -> float:
    """w_t = 1 for all K + 1 terms of every unroll: the official code's convention (default)."""
    return 1.0


def before_update(term: LossTerm) -> float:
    """w_t = 1 for the K points before an update, 0 at the unroll's end: the PyTorch ports."""
    return float(term.position < term.unroll_length)


def final_step(term: LossTerm) -> float:
    """w_t = 1[t = T]: the 'final loss' objective (earlier unrolls get no meta-gradient)."""
    return float(term.step == term.horizon)


def unroll_lengths(horizon: int, unroll: int) -> list[int]:
    """Lengths of the unrolls covering ``horizon`` steps: K, K, ..., and a shorter remainder."""
    return [unroll] * (horizon // unroll) + ([horizon % unroll] if horizon % unroll else [])


def _name(obj) -> str:
    if hasattr(obj, "__qualname__"):
        return f"{obj.__module__}.{obj.__qualname__}"
    return repr(obj)


@dataclass(frozen=True)
class MetaTrainConfig:
    """Meta-training protocol. Defaults: the paper's T = 100, K = 20 and the official code's
    loss convention and Adam lr 1e-3, no clipping; chapters set their own (the ports use lr
    3e-3 on quadratics and 1e-2 on MNIST).

    ``problems``: training problems (each ``runs`` runs, fresh seeds, ``horizon`` steps).
    ``meta_optimizer(params, lr=meta_lr)`` builds the optimizer of φ. ``clip_grad_norm``
    clips the meta-gradient's global norm (None: no clipping). ``loss_weights(LossTerm)`` gives
    w_t. Validation: every ``validate_every`` problems (and before training), the frozen net
    runs ``validation_steps`` (default ``horizon``) steps on ``validation_seeds``, scored by the
    mean loss over the trajectory (``select_by="mean"``, the ports) or the final loss
    (``"final"``, the official code); the best φ is kept and, with ``restore_best``, loaded
    into the net at the end. Validation happens at multiples of ``validate_every`` and once more
    at the end of training when it does not end on one. ``patience``: stop early once that many
    validations in a row have not improved on the best (None: train all ``problems``), so
    ``problems`` becomes a ceiling and a net trains until its validation stops improving.
    """

    unroll: int = 20
    horizon: int = 100
    problems: int = 1000
    runs: int = 1
    meta_lr: float = 1e-3
    meta_optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam
    clip_grad_norm: float | None = None
    loss_weights: Callable[[LossTerm], float] = every_step
    validation_seeds: tuple[int, ...] = DEFAULT_VALIDATION_SEEDS
    validate_every: int | None = 100
    validation_steps: int | None = None
    select_by: str = "mean"
    seed: int = 0
    restore_best: bool = True
    patience: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "validation_seeds", tuple(int(s) for s in self.validation_seeds))
        for name in ("unroll", "horizon", "runs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be at least 1")
        if self.problems < 0:
            raise ValueError(f"problems={self.problems!r} must be non-negative")
        if self.problems * self.runs > SEEDS_PER_TRAINING_SEED:
            raise ValueError(f"problems x runs = {self.problems * self.runs} exceeds {SEEDS_PER_TRAINING_SEED} seeds")
        if not self.meta_lr > 0:
            raise ValueError(f"meta_lr={self.meta_lr!r} must be positive")
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise ValueError(f"clip_grad_norm={self.clip_grad_norm!r} must be positive or None")
        if self.validate_every is not None and self.validate_every < 1:
            raise ValueError(f"validate_every={self.validate_every!r} must be at least 1 or None")
        if self.validate_every is not None and not self.validation_seeds:
            raise ValueError("validation_seeds must name at least one problem when validate_every is set")
        if self.patience is not None and (self.validate_every is None or int(self.patience) < 1):
            raise ValueError(f"patience={self.patience!r} needs validate_every and must be at least 1 (or None)")
        if self.validation_steps is not None and self.validation_steps < 1:
            raise ValueError(f"validation_steps={self.validation_steps!r} must be at least 1 or None")
        if self.select_by not in SELECT_BY:
            raise ValueError(f"select_by={self.select_by!r} is not one of {SELECT_BY}")
        if not 0 <= self.seed < (2**62 - TRAIN_SEED_BASE) // SEEDS_PER_TRAINING_SEED:
            raise ValueError(f"seed={self.seed!r} must be a small non-negative integer")

    def training_seeds(self, problem: int) -> tuple[int, ...]:
        """Seeds of training problem ``problem``: disjoint across problems and from validation."""
        first = TRAIN_SEED_BASE + self.seed * SEEDS_PER_TRAINING_SEED + problem * self.runs
        return tuple(range(first, first + self.runs))

    def to_dict(self) -> dict:
        """A JSON-able description (callables by name): for cache keys and checkpoints."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["meta_optimizer"] = _name(self.meta_optimizer)
        out["loss_weights"] = _name(self.loss_weights)
        out["validation_seeds"] = list(self.validation_seeds)
        if self.patience is None:
            del out["patience"]  # nets trained before early stopping existed keep their fingerprints
        return out


@dataclass
class MetaTrainResult:
    """What meta-training produced.

    ``unrolls``: one row per unroll (``problem``, ``unroll``, ``meta_loss`` = Σ w_t f̄(θ_t) over
    its K + 1 terms, ``final_loss`` = f̄ at its end point, ``meta_grad_norm`` before clipping,
    ``stepped`` = whether φ was updated). ``validation``: one row per validation
    (``problems`` trained so far, ``mean_loss``, ``final_loss``, ``score``, ``best``).
    ``best_state_dict``: φ with the best validation score (the final φ without validation).
    ``final_params``: θ at the end of the last training problem, by the module's names.
    Throughput counts optimizee steps of training only (no validation).
    """

    unrolls: pd.DataFrame
    validation: pd.DataFrame
    best_state_dict: dict[str, torch.Tensor]
    best_problems: int | None
    best_score: float
    final_state_dict: dict[str, torch.Tensor]
    final_params: dict[str, torch.Tensor]
    train_seconds: float
    train_steps: int
    runs: int
    checkpoint: dict = field(repr=False)

    @property
    def steps_per_second(self) -> float:
        """Optimizee steps (one per problem per step, all runs of the problem at once) per second."""
        return self.train_steps / self.train_seconds if self.train_seconds > 0 else math.nan

    @property
    def run_steps_per_second(self) -> float:
        """Steps of single runs per second (``steps_per_second`` x runs per problem)."""
        return self.steps_per_second * self.runs


@dataclass
class _Progress:
    """Everything a checkpoint must restore besides the net and the meta-optimizer."""

    problems_done: int = 0
    unrolls: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    best_state_dict: dict | None = None
    best_problems: int | None = None
    best_score: float = math.inf
    final_params: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    train_steps: int = 0


def train(
    task,
    net: torch.nn.Module,
    config: MetaTrainConfig,
    device: torch.device | str = "cpu",
    resume_from: dict | str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    progress: bool = True,
) -> MetaTrainResult:
    """Meta-train ``net`` (in place) on problems of ``task``; see the module docstring.

    ``resume_from`` (a checkpoint dict or file, e.g. ``result.checkpoint`` or what
    ``checkpoint_path`` holds) continues an earlier run with the same config (``problems`` may
    grow) and gives the same result as an uninterrupted run. Checkpoints are taken at problem
    boundaries: every ``checkpoint_every`` problems and at the end, written to
    ``checkpoint_path`` if given.
    """
    check_update_net(net)
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"checkpoint_every={checkpoint_every!r} must be at least 1 or None")
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("net has no trainable parameters")
    net.to(device)
    meta_optimizer = config.meta_optimizer(params, lr=config.meta_lr)
    state = _Progress()
    if resume_from is not None:
        state = _restore(resume_from, net, meta_optimizer, config)

    def checkpoint() -> dict:
        ckpt = _checkpoint(net, meta_optimizer, config, state)
        if checkpoint_path is not None:
            save_checkpoint(ckpt, checkpoint_path)
        return ckpt

    if config.validate_every and state.problems_done == 0 and not state.validation:
        _validate(task, net, config, device, state)
    bar = progress_bar(
        total=config.problems, initial=state.problems_done, desc=f"meta-train {task.name}", disable=not progress
    )
    ckpt = None
    for problem in range(state.problems_done, config.problems):
        if _out_of_patience(config, state):
            break  # also when resuming a run that had already stopped
        started = time.perf_counter()
        _train_problem(task, net, config, params, meta_optimizer, problem, device, state, bar)
        state.train_seconds += time.perf_counter() - started
        state.problems_done = problem + 1
        bar.update(1)
        if config.validate_every and state.problems_done % config.validate_every == 0:
            _validate(task, net, config, device, state)
        ckpt = None
        if checkpoint_every and state.problems_done % checkpoint_every == 0:
            ckpt = checkpoint()
    bar.close()
    if ckpt is None:
        ckpt = checkpoint()
    # A run that does not end on a multiple of validate_every would never compare its final φ
    # with the best so far (and with fewer problems than validate_every it would hand back the
    # untrained net). Validated after the checkpoint, so resuming from it is unchanged.
    if config.validate_every and state.validation and state.validation[-1]["problems"] != state.problems_done:
        _validate(task, net, config, device, state)
    final_state_dict = copy.deepcopy(net.state_dict())
    best = state.best_state_dict if state.best_state_dict is not None else final_state_dict
    if config.restore_best and state.best_state_dict is not None:
        net.load_state_dict(state.best_state_dict)
    return MetaTrainResult(
        unrolls=pd.DataFrame(state.unrolls, columns=UNROLL_COLUMNS),
        validation=pd.DataFrame(state.validation, columns=VALIDATION_COLUMNS),
        best_state_dict=best,
        best_problems=state.best_problems,
        best_score=state.best_score,
        final_state_dict=final_state_dict,
        final_params=state.final_params,
        train_seconds=state.train_seconds,
        train_steps=state.train_steps,
        runs=config.runs,
        checkpoint=ckpt,
    )


def _out_of_patience(config: MetaTrainConfig, state: _Progress) -> bool:
    """Whether the last ``patience`` validations all failed to improve on the best."""
    if config.patience is None or len(state.validation) <= config.patience:
        return False
    return not any(row["best"] for row in state.validation[-config.patience:])


def _train_problem(task, net, config, params, meta_optimizer, problem, device, state: _Progress, bar) -> None:
    """One problem: T steps in unrolls of K, one meta-step after each unroll."""
    model = task.build(config.training_seeds(problem), device=device)
    optimizee = UnrolledOptimizee(model, net)
    optimizee.observe()
    horizon, weight = config.horizon, config.loss_weights
    for unroll, length in enumerate(unroll_lengths(horizon, config.unroll)):
        # The start term: θ was detached, so this term is a constant of the meta-loss.
        meta_loss = weight(LossTerm(optimizee.step, 0, length, horizon)) * optimizee.loss.mean()
        for position in range(1, length + 1):
            optimizee.advance()
            optimizee.observe(gradient=optimizee.step < horizon)  # no update follows θ_T
            w = weight(LossTerm(optimizee.step, position, length, horizon))
            if w:
                meta_loss = meta_loss + w * optimizee.loss.mean()
        grad_norm, stepped = _meta_step(meta_loss, params, meta_optimizer, config.clip_grad_norm)
        value = meta_loss.item()
        state.unrolls.append(
            {"problem": problem, "unroll": unroll, "meta_loss": value, "final_loss": optimizee.loss.mean().item(),
             "meta_grad_norm": grad_norm, "stepped": stepped}
        )
        bar.set_postfix(meta_loss=f"{value:.4g}", refresh=False)
        optimizee.detach()
        if not (math.isfinite(value) and math.isfinite(grad_norm)):
            break  # the optimizee diverged: nothing more to learn from this problem
    state.train_steps += optimizee.step
    final = optimizee.parameters_at(optimizee.theta)
    state.final_params = {name: value.detach().clone().cpu() for name, value in final.items()}


def _meta_step(meta_loss, params, meta_optimizer, clip_grad_norm) -> tuple[float, bool]:
    """Backpropagate one unroll's meta-loss into φ only and take a (clipped) step; skip
    non-finite gradients so a diverged optimizee cannot corrupt φ."""
    meta_optimizer.zero_grad(set_to_none=True)
    if not meta_loss.requires_grad or not torch.isfinite(meta_loss):
        return math.nan, False
    # inputs=params: only φ gets .grad, not the detached θ leaves at the unroll's start.
    meta_loss.backward(inputs=params)
    grads = [p.grad for p in params if p.grad is not None]
    if clip_grad_norm is None:
        norm = torch.nn.utils.get_total_norm(grads)
    else:
        norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
    if not torch.isfinite(norm):
        meta_optimizer.zero_grad(set_to_none=True)
        return norm.item(), False
    meta_optimizer.step()
    return norm.item(), True


@torch.no_grad()
def _validate(task, net, config, device, state: _Progress) -> None:
    model = task.build(config.validation_seeds, device=device)
    losses, _ = rollout_losses(model, net, config.validation_steps or config.horizon, metrics=False)
    summary = trajectory_summary(losses)
    score = summary[f"{config.select_by}_loss"]
    best = score < state.best_score
    if best:
        state.best_score, state.best_problems = score, state.problems_done
        state.best_state_dict = copy.deepcopy(net.state_dict())
    state.validation.append({"problems": state.problems_done, **summary, "score": score, "best": best})


def _rng_state() -> dict:
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def _checkpoint(net, meta_optimizer, config: MetaTrainConfig, state: _Progress) -> dict:
    """A self-contained snapshot at a problem boundary (deep copies: training goes on)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "config": config.to_dict(),
        "net": copy.deepcopy(net.state_dict()),
        "meta_optimizer": copy.deepcopy(meta_optimizer.state_dict()),
        "progress": asdict(state),  # asdict deep-copies tensors and containers
        "rng": _rng_state(),
    }


def _restore(source, net, meta_optimizer, config: MetaTrainConfig) -> _Progress:
    ckpt = load_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"resume_from is not a meta-training checkpoint of format {CHECKPOINT_FORMAT}")
    saved, current = dict(ckpt["config"]), config.to_dict()
    saved.pop("problems"), current.pop("problems")
    changed = sorted(k for k in current if saved.get(k) != current[k])
    if changed:
        raise ValueError(f"resume_from was trained with a different config: {', '.join(changed)} differ")
    if ckpt["progress"]["problems_done"] > config.problems:
        done = ckpt["progress"]["problems_done"]
        raise ValueError(f"resume_from has trained {done} problems, more than problems={config.problems}")
    net.load_state_dict(ckpt["net"])
    meta_optimizer.load_state_dict(ckpt["meta_optimizer"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    if "cuda" in ckpt["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
    return _Progress(**copy.deepcopy(ckpt["progress"]))


def save_checkpoint(ckpt: dict, path: str | os.PathLike) -> Path:
    """Write a training checkpoint atomically (an interrupted write leaves the old one intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(ckpt, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by ``train(..., checkpoint_path=...)`` (tensors, numbers, lists only)."""
    return torch.load(path, map_location="cpu", weights_only=True)
