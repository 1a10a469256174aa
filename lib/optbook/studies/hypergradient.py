"""The experiments of Baydin et al. 2018, "Online learning rate adaptation with hypergradient
descent" (Figs. 2-4), and of the Hypergradient_variants follow-up, on the book's ensembles.

Hyperparameters are the paper's (specs/hypergradient-and-thermodynamic.md 1.6): α₀ = 0.001,
β = 0.001 for SGD-HD and SGDN-HD, β = 1e-7 for Adam-HD on logistic regression and the MLP,
μ = 0.9, Adam (0.9, 0.999, 1e-8), L2 1e-4 added to the gradient, minibatches of 128.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from optbook import cache, experiment
from optbook.optim import hypergradient
from optbook.progress import progress_bar
from optbook.tasks import base, ensemble, mlp

ALPHA0 = 1e-3
WEIGHT_DECAY = 1e-4
MOMENTUM = 0.9
BETA = {"sgd": 1e-3, "adam": 1e-7}  # the paper's β for SGD/SGDN-HD and for Adam-HD (LogReg, MLP)

# name -> (model optimizer, learning-rate optimizer or None for the baseline without HD, options)
METHODS = {
    "SGD": ("sgd", None, {}),
    "SGD-HD": ("sgd", "sgd", {}),
    "SGDop-SGDNlop": ("sgd", "sgdn", {}),
    "SGDN": ("sgdn", None, {}),
    "SGDN-HD": ("sgdn", "sgd", {}),
    "SGDNop-SGDNlop": ("sgdn", "sgdn", {}),
    "Adam": ("adam", None, {}),
    "Adam-HD": ("adam", "sgd", {}),
    "Adamop-Adamlop": ("adam", "adam", {}),
    # The official code moves α tensor by tensor inside its loop (specs 1.4); the paper sums first.
    "Adam-HD (code order)": ("adam", "sgd", {"per_tensor_lr_update": True}),
    # The multiplicative rule, Eq. 8, with the paper's β′ = 0.02 (its footnote 3, Fig. 2).
    "SGD-HDM": ("sgd", "sgd", {"rule": "multiplicative", "hypergrad_lr": 0.02}),
    "Adam-HDM": ("adam", "sgd", {"rule": "multiplicative", "hypergrad_lr": 0.02}),
}
PAPER_METHODS = ("SGD", "SGD-HD", "SGDN", "SGDN-HD", "Adam", "Adam-HD")
VARIANT_PAIRS = {"SGDop-SGDNlop": "SGD-HD", "SGDNop-SGDNlop": "SGDN-HD", "Adamop-Adamlop": "Adam-HD"}
BASELINE_OF = {"SGD-HD": "SGD", "SGDN-HD": "SGDN", "Adam-HD": "Adam"}
VGG_BETA = {"Adam-HD": 1e-8}  # the paper's β for Adam-HD on VGG (SGD-HD and SGDN-HD keep 1e-3)

STUDY_CODE = (base, ensemble, mlp, experiment, hypergradient)


def make_optimizer(method: str, lr=ALPHA0, hypergrad_lr=None, ensemble: bool = True):
    """A factory ``params -> optimizer`` for one of :data:`METHODS`.

    Baselines are torch.optim's own optimizers when ``lr`` is one number; when ``lr`` holds one
    value per run (a grid in one ensemble) they are the HD optimizers with β = 0, which the tests
    show equal to torch.optim step for step.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {list(METHODS)}")
    model_opt, lr_opt, options = METHODS[method]
    options = dict(options)
    own_beta = options.pop("hypergrad_lr", None)
    per_run = not np.isscalar(lr)
    if lr_opt is None and not per_run:
        return {
            "sgd": lambda p: torch.optim.SGD(p, lr=lr, weight_decay=WEIGHT_DECAY, foreach=True),
            "sgdn": lambda p: torch.optim.SGD(p, lr=lr, momentum=MOMENTUM, nesterov=True,
                                              weight_decay=WEIGHT_DECAY, foreach=True),
            "adam": lambda p: torch.optim.Adam(p, lr=lr, weight_decay=WEIGHT_DECAY, foreach=True),
        }[model_opt]
    if lr_opt is None:
        beta = 0.0
    elif own_beta is not None:  # a rule with its own β (HDM) ignores the additive rule's β
        beta = own_beta
    else:
        beta = BETA["adam" if model_opt == "adam" else "sgd"] if hypergrad_lr is None else hypergrad_lr
    common = dict(lr=lr, hypergrad_lr=beta, weight_decay=WEIGHT_DECAY, lr_optimizer=lr_opt or "sgd",
                  ensemble_dim=0 if ensemble else None, **options)
    if model_opt == "adam":
        return lambda p: hypergradient.AdamHD(p, **common)
    momentum = dict(momentum=MOMENTUM, nesterov=True) if model_opt == "sgdn" else {}
    return lambda p: hypergradient.SGDHD(p, **momentum, **common)


def learning_rate(optimizer) -> dict:
    """The α used by the last update (one per run in an ensemble), for ``run_ensemble(track=...)``."""
    return {"lr": optimizer.param_groups[0]["lr"]}


def training_curves(task, methods: Sequence[str], epochs: int, seeds: Sequence[int], device="cpu",
                    betas: dict[str, float] | None = None, progress: bool = True) -> pd.DataFrame:
    """Each method from α₀ for ``epochs`` epochs, evaluated on the test split after every epoch
    (cached). ``betas`` overrides the paper's β per method (VGG uses 1e-8 for Adam-HD)."""
    spe = task.steps_per_epoch
    config = {"task": task.config(), "methods": list(methods), "epochs": epochs, "seeds": list(seeds),
              "betas": betas or {}}

    def compute() -> pd.DataFrame:
        frames = []
        for method in progress_bar(methods, desc=f"training {task.name}", disable=not progress):
            factory = make_optimizer(method, hypergrad_lr=(betas or {}).get(method))
            frames.append(experiment.run_ensemble(task, factory, seeds, epochs * spe, device=device,
                                                  eval_every=spe, labels={"method": method}, track=learning_rate))
        return pd.concat(frames, ignore_index=True)

    return cache.cached("hd-curves", config, compute, code=STUDY_CODE)


def per_epoch(frame: pd.DataFrame, steps_per_epoch: int) -> pd.DataFrame:
    """Epoch averages as the paper plots them: the mean minibatch loss and mean α over each epoch,
    and the validation (test-split) loss at its end. Epoch 0 is the start. ``diverged`` marks an
    epoch in which the run's loss became non-finite (its averages are then NaN)."""
    frame = frame.assign(epoch=frame["step"] // steps_per_epoch + 1)
    keys = [c for c in ("method", "seed") if c in frame] + ["epoch"]
    training = frame[frame["step"] < frame["step"].max()].groupby(keys).agg(
        train_loss=("loss", "mean"), alpha=("lr", "mean"), alpha_max=("lr", "max"), diverged=("diverged", "any"))
    evaluated = frame[frame["test_loss"].notna()].assign(epoch=lambda f: f["step"] // steps_per_epoch)
    validation = evaluated.set_index(keys)[["test_loss", "test_accuracy"]].rename(
        columns={"test_loss": "valid_loss", "test_accuracy": "valid_accuracy"})
    table = training.join(validation, how="outer").reset_index()
    # Once diverged, always diverged: later epochs of a diverged run have no finite values either.
    table["diverged"] = table.sort_values("epoch").groupby(keys[:-1])["diverged"].transform(
        lambda d: d.fillna(False).astype(bool).cummax())
    return table


def peak_alpha(table: pd.DataFrame) -> pd.Series:
    """The largest α each method reached over the whole run (mean over seeds of each seed's peak)."""
    return table.groupby(["method", "seed"])["alpha_max"].max().groupby("method").mean()


def _first_step_below(losses: np.ndarray, threshold: float, cap: int) -> np.ndarray:
    """Per run (columns), the first step whose minibatch loss is at most ``threshold``, or ``cap``."""
    reached = losses <= threshold
    first = np.where(reached.any(0), reached.argmax(0), cap)
    return first


def iterations_to_threshold(task, methods: Sequence[str], alphas: Sequence[float], betas: Sequence[float],
                            threshold: float, cap: int, seed: int = 0, device="cpu",
                            progress: bool = True) -> pd.DataFrame:
    """Fig. 4: iterations until the minibatch training loss first reaches ``threshold``, for every
    (α₀, β) of the grid, all from the same initial model (seed); ``cap`` if never within ``cap``.

    The whole grid of one method is one batched ensemble with one (α₀, β) per run; baselines have
    no β and run over α₀ only. The criterion is the paper code's ``--lossThreshold``.
    """
    config = {"task": task.config(), "methods": list(methods), "alphas": list(alphas), "betas": list(betas),
              "threshold": threshold, "cap": cap, "seed": seed}

    def compute() -> pd.DataFrame:
        rows = []
        for method in progress_bar(methods, desc=f"grid {task.name}", disable=not progress):
            hd = METHODS[method][1] is not None
            points = [(a, b) for a in alphas for b in betas] if hd else [(a, np.nan) for a in alphas]
            factory = make_optimizer(method, lr=[a for a, _ in points],
                                     hypergrad_lr=[b for _, b in points] if hd else None)
            frame = experiment.run_ensemble(task, factory, [seed] * len(points), cap, device=device)
            losses = frame.pivot(index="step", columns="run", values="loss")
            first = _first_step_below(losses.to_numpy()[:cap], threshold, cap)
            rows += [{"method": method, "alpha0": a, "beta": b, "iterations": int(n), "reached": n < cap}
                     for (a, b), n in zip(points, first)]
        return pd.DataFrame(rows)

    return cache.cached("hd-grid", config, compute, code=STUDY_CODE)


def alpha0_sweep(task, methods: Sequence[str], alphas: Sequence[float], epochs: int, seed: int = 0,
                 hypergrad_lr: float | None = None, device="cpu", progress: bool = True) -> pd.DataFrame:
    """Fig. 2: each method from every α₀ (one batched ensemble per method, same initial model)."""
    spe = task.steps_per_epoch
    config = {"task": task.config(), "methods": list(methods), "alphas": list(alphas), "epochs": epochs,
              "seed": seed, "beta": hypergrad_lr}

    def compute() -> pd.DataFrame:
        frames = []
        for method in progress_bar(methods, desc=f"α₀ sweep {task.name}", disable=not progress):
            hd = METHODS[method][1] is not None
            factory = make_optimizer(method, lr=list(alphas), hypergrad_lr=hypergrad_lr if hd else None)
            frame = experiment.run_ensemble(task, factory, [seed] * len(alphas), epochs * spe, device=device,
                                            eval_every=spe, labels={"method": method}, track=learning_rate)
            frames.append(frame.assign(alpha0=np.asarray(alphas)[frame["run"].to_numpy()]))
        return pd.concat(frames, ignore_index=True)

    return cache.cached("hd-alpha0", config, compute, code=STUDY_CODE)


def spread_of_final_loss(frame: pd.DataFrame, by: str = "method", value: str = "train_loss") -> pd.Series:
    """How much the end result depends on α₀: the standard deviation over α₀ of log10 of the
    final full-data loss (0 = insensitive). Diverged runs count as the worst loss seen."""
    last = frame[frame["step"] == frame["step"].max()]
    finite = last[value].where(np.isfinite(last[value]), last[value][np.isfinite(last[value])].max())
    return np.log10(finite).groupby(last[by]).std()


def final_epoch(table: pd.DataFrame, epoch: int | None = None) -> pd.DataFrame:
    """Per method: the mean over seeds of epoch ``epoch`` (default: the last) of a :func:`per_epoch`
    table, the peak α up to that epoch, and whether any seed had diverged by then."""
    epoch = epoch or int(table["epoch"].max())
    rows = table[table["epoch"] == epoch].groupby("method")
    values = rows[["train_loss", "valid_loss", "alpha"]].mean().join(rows["diverged"].any())
    return values.join(peak_alpha(table[table["epoch"] <= epoch]).rename("peak_alpha"))


def ordering_effect(frame: pd.DataFrame, table: pd.DataFrame) -> dict:
    """How far the official code's per-tensor α update moves Adam-HD from the paper's single
    update: the largest relative gap in α over all steps and seeds, and the gap in the final
    training loss next to the spread of that loss between seeds."""
    paired = frame[frame["method"].isin(["Adam-HD", "Adam-HD (code order)"])].pivot_table(
        index=["seed", "step"], columns="method", values="lr").dropna()
    alpha_gap = ((paired["Adam-HD (code order)"] - paired["Adam-HD"]).abs() / paired["Adam-HD"].abs()).max()
    last = table[table["epoch"] == table["epoch"].max()].pivot_table(index="seed", columns="method", values="train_loss")
    return {"max relative α gap": alpha_gap,
            "final loss gap (mean over seeds)": (last["Adam-HD (code order)"] - last["Adam-HD"]).abs().mean(),
            "seed-to-seed std of the final loss": last["Adam-HD"].std() if len(last) > 1 else np.nan}


def peak_alpha_before_divergence(frame: pd.DataFrame, method: str) -> float:
    """The largest |α| a run reached before its loss first became non-finite (NaN if it never ran)."""
    rows = frame[(frame["method"] == method) & ~frame["diverged"]]
    return float(rows["lr"].abs().max())
