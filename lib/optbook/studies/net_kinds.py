r"""Kinds of learned optimizer: one architecture under one protocol, meta-trained several times.

A verdict about "the LSTM optimizer" is about a kind of net, and one meta-training run is one
draw of it (chapter 1's nine LSTMs span a 20x range of step-100 loss). So every kind is trained
``runs`` times, each run with its own φ initialisation and its own training problems (both
seeded by the run number), under chapter 1's protocol (``<problem>_meta``) with two changes:

- **selection as the claims are judged**: early stopping keeps the φ with the lowest mean
  validation loss at the horizon (step 100, ``select_by="final"``), and training stops after
  ``patience`` validations without improvement (``problems`` is a ceiling);
- **a search that contains its optimum**: the first run searches the kind's own settings
  (``Kind.axes``, e.g. the port-Hamiltonian net's latent size and output scale) at the middle
  meta-learning rate, then the meta-learning rate at the chosen settings on a grid of
  half-decades, widened while the best sits at an edge. The other runs train at the chosen
  settings. A choice still at an edge after widening is reported as such.

Every net is a :class:`~optbook.studies.learning_to_learn.NetSpec`, found among the shipped
checkpoints by its fingerprint or trained now and saved, named
``<prefix>-<problem>-<kind>-r<run>-lr<meta lr>[-<axis><value>...]-<scale>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from optbook import scales
from optbook.learned import meta
from optbook.learned.hnn import HNNUpdate
from optbook.learned.nets import CoordinatewiseLSTM
from optbook.learned.port_hamiltonian import PortHamiltonianUpdate
from optbook.progress import progress_bar
from optbook.studies import learning_to_learn as l2l

__all__ = [
    "HALF_DECADES", "KINDS", "Kind", "KindRuns", "Search", "evaluate_runs", "kind", "kind_runs", "net_values", "run_spec",
    "search", "search_table", "spread_figure",
]

PROBLEMS = ("quadratic", "mnist")
# The meta-learning rates a search may visit, in order: 1e-5, 3e-5, ..., 0.3.
HALF_DECADES = tuple(round(m * 10.0**e, 12) for e in range(-5, 0) for m in (1, 3))


@dataclass(frozen=True)
class Kind:
    """One architecture under one protocol. ``net_config`` holds its fixed settings; ``axes``
    the settings the first run searches (name -> candidate values, the first the default when
    the scale searches none); ``label`` names it in tables and figures."""

    key: str
    label: str
    problem: str
    net_class: type
    net_config: dict
    axes: dict = field(default_factory=dict)
    prefix: str = ""
    about: str = ""
    protocol: str = "fair"  # "fair": chapter 1's, searched; "published": OPT-ML's own, as published (no search)


def _lstm_config(problem: str) -> dict:
    return dict(scales.chapter_config("01", "cpu")[f"{problem}_net"])


_HNN_QUADRATIC = {"preprocess_p": None, "output_scale": 0.001, "normalize_state": True}
_HNN_MNIST = {"preprocess_p": 10.0, "normalize_state": False}
_PH = {"hidden": 8, "step_size": 1.0, "integrator": "leapfrog"}
_PH_RMS = {**_PH, "rms_gain": True, "flat_potential_init": True}

KINDS = {
    ("quadratic", "lstm"): Kind("lstm", "LSTM", "quadratic", CoordinatewiseLSTM, _lstm_config("quadratic"), prefix="l2l",
                                about="chapter 1's coordinatewise LSTM"),
    ("quadratic", "hnn"): Kind("hnn", "HNN", "quadratic", HNNUpdate, _HNN_QUADRATIC, prefix="hnn",
                               about="the published HNN (raw gradient, state normalised per tensor)"),
    ("quadratic", "port-hamiltonian"): Kind(
        "port-hamiltonian", "port-Hamiltonian", "quadratic", PortHamiltonianUpdate, _PH_RMS,
        axes={"dim": (1, 2, 4), "output_scale": (0.1, 0.03, 0.3)}, prefix="phnn",
        about="the structure-true net with its port gain conditioned on the gradient's running RMS"),
    ("quadratic", "port-hamiltonian-raw"): Kind(
        "port-hamiltonian-raw", "port-Hamiltonian (raw)", "quadratic", PortHamiltonianUpdate,
        {**_PH, "dim": 1, "output_scale": 0.01, "input_scale": 1.0}, prefix="phnn",
        about="the structure-true net fed the raw gradient (chapter 2's first version; ablation)"),
    ("quadratic", "hnn-published"): Kind(
        "hnn-published", "HNN (as published)", "quadratic", HNNUpdate, _HNN_QUADRATIC, prefix="hnn",
        protocol="published", about="the published HNN under OPT-ML's own protocol (chapter 2, question 1)"),
    ("mnist", "lstm"): Kind("lstm", "LSTM", "mnist", CoordinatewiseLSTM, _lstm_config("mnist"), prefix="l2l",
                            about="chapter 1's coordinatewise LSTM"),
    ("mnist", "hnn"): Kind("hnn", "HNN", "mnist", HNNUpdate, {**_HNN_MNIST, "detach_preprocessed_state": True},
                           axes={"output_scale": (0.001, 0.01)}, prefix="hnn",
                           about="the published HNN: its state enters detached, so G, M, D_p and the state head never train"),
    ("mnist", "hnn-open"): Kind("hnn-open", "HNN (state open)", "mnist", HNNUpdate,
                                {**_HNN_MNIST, "detach_preprocessed_state": False},
                                axes={"output_scale": (0.001, 0.01)}, prefix="hnn",
                                about="the HNN with the meta-gradient path through its state open"),
    ("mnist", "hnn-raw"): Kind("hnn-raw", "HNN (raw)", "mnist", HNNUpdate,
                               {"preprocess_p": None, "normalize_state": False},
                               axes={"output_scale": (0.1, 0.01, 1.0)}, prefix="hnn",
                               about="the HNN fed the raw gradient (ablation)"),
    ("mnist", "hnn-published"): Kind(
        "hnn-published", "HNN (as published)", "mnist", HNNUpdate, {**_HNN_MNIST, "output_scale": 0.001},
        prefix="hnn", protocol="published",
        about="the published HNN under OPT-ML's own protocol (chapter 2, question 1)"),
    ("mnist", "port-hamiltonian"): Kind(
        "port-hamiltonian", "port-Hamiltonian", "mnist", PortHamiltonianUpdate, _PH_RMS,
        axes={"dim": (1, 2), "output_scale": (0.1, 0.03, 0.3)}, prefix="phnn",
        about="the structure-true net with its port gain conditioned on the gradient's running RMS"),
    ("mnist", "port-hamiltonian-raw"): Kind(
        "port-hamiltonian-raw", "port-Hamiltonian (raw)", "mnist", PortHamiltonianUpdate,
        {**_PH, "dim": 1, "output_scale": 0.03, "input_scale": 100.0}, prefix="phnn",
        about="the structure-true net fed 100 x the raw gradient (chapter 2's first version; ablation)"),
}


def kind(problem: str, key: str) -> Kind:
    """The kind ``key`` trained on ``problem``; a clear error naming the kinds there are."""
    from optbook.session import check_choice

    check_choice("problem", problem, PROBLEMS)
    check_choice("kind", key, tuple(k for p, k in KINDS if p == problem))
    return KINDS[(problem, key)]


def _value_name(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_spec(the_kind: Kind, scale: str, run: int, meta_lr: float, settings: dict | None = None,
             dataset: str = "auto") -> l2l.NetSpec:
    """The spec of one net: ``the_kind`` at ``settings`` (values of its axes), meta-learning rate
    ``meta_lr``, trained as run ``run`` (φ init seed and training-problem seed)."""
    from optbook.tasks import book_task

    if the_kind.protocol == "published":
        return _published_spec(the_kind, scale, run, dataset)
    protocol = scales.learned_kinds(scale)
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(the_kind.axes))
    if unknown:
        raise ValueError(f"settings {unknown} are not axes of the kind {the_kind.key!r}; "
                         f"its axes are {sorted(the_kind.axes)}")
    net_config = {**the_kind.net_config, **{a: values[0] for a, values in the_kind.axes.items()}, **settings}
    problem = the_kind.problem
    meta_settings = dict(scales.chapter_config("01", scale)[f"{problem}_meta"])
    meta_settings.update(meta_lr=float(meta_lr), problems=protocol["problems"][problem], seed=run,
                         select_by="final", patience=protocol["patience"])
    axes = "".join(f"-{a.replace('_', '')}{_value_name(net_config[a])}" for a in the_kind.axes)
    name = f"{the_kind.prefix}-{problem}-{the_kind.key}-r{run}-lr{meta_lr:g}{axes}-{scale}"
    task = book_task("quadratic" if problem == "quadratic" else "mnist-sigmoid", dataset=dataset)
    return l2l.NetSpec(name, task, net_config, meta.MetaTrainConfig(**meta_settings), run, the_kind.net_class)


def _published_spec(the_kind: Kind, scale: str, run: int, dataset: str) -> l2l.NetSpec:
    """OPT-ML's protocol (chapter 2's ``published`` table), run ``run``: run 0 is the net chapter
    2 has always shipped (init and training seed 0, its name and fingerprint unchanged)."""
    from optbook.studies import hamiltonian

    spec = hamiltonian.published_spec(the_kind.problem, scale, dataset)
    if run == 0:
        return spec
    config = meta.MetaTrainConfig(**{**scales.chapter_config("02", scale)["published"][the_kind.problem]["meta"],
                                     "seed": run})
    return l2l.NetSpec(spec.name.replace("-published-", f"-published-r{run}-"), spec.task, spec.net_config, config,
                       run, spec.net_class)


@dataclass
class Search:
    """The first run's search: every net it trained (``trials``: one row per net, its settings,
    meta-learning rate and validation score at the horizon), the chosen settings and rate, and
    which choices sit at an edge of what was searched."""

    kind: Kind
    trials: pd.DataFrame
    settings: dict
    meta_lr: float
    at_edge: list[str]
    nets: dict = field(repr=False)

    @property
    def best(self) -> l2l.TrainedOptimizer:
        return self.nets[(tuple(sorted(self.settings.items())), self.meta_lr)]


def _score(trained: l2l.TrainedOptimizer) -> float:
    value = trained.info.get("best_score")
    return float(value) if value is not None and math.isfinite(value) else math.inf


def search(the_kind: Kind, scale: str, dataset: str = "auto", device="cpu", progress: bool = True,
           train: Callable = l2l.trained_net) -> Search:
    """The first run's search (module docstring): axes at the middle rate, then the rate."""
    protocol = scales.learned_kinds(scale)
    grid = list(protocol["meta_lrs"][the_kind.problem])
    middle = grid[(len(grid) - 1) // 2]
    nets, rows = {}, []

    def trial(settings: dict, meta_lr: float) -> float:
        key = (tuple(sorted(settings.items())), meta_lr)
        if key not in nets:
            spec = run_spec(the_kind, scale, 1, meta_lr, settings, dataset)
            nets[key] = train(spec, device, progress)
            rows.append({**settings, "meta_lr": meta_lr, "score": _score(nets[key]), "net": spec.name,
                         "problems": nets[key].info.get("best_problems")})
        return _score(nets[key])

    settings: dict = {}
    if protocol["search_axes"] and the_kind.axes:
        names = list(the_kind.axes)
        combos = [{}]
        for name in names:
            combos = [{**c, name: v} for c in combos for v in the_kind.axes[name]]
        settings = min(combos, key=lambda c: (trial(c, middle), list(c.values())))
    else:
        settings = {name: values[0] for name, values in the_kind.axes.items()} if the_kind.axes else {}
    for rate in grid:
        trial(settings, rate)
    for _ in range(protocol["widen"]):
        best = min(grid, key=lambda r: (trial(settings, r), r))
        position = HALF_DECADES.index(best) if best in HALF_DECADES else None
        if position is None or (best != grid[0] and best != grid[-1]):
            break
        step = -1 if best == grid[0] else 1
        if not 0 <= position + step < len(HALF_DECADES):
            break
        new = HALF_DECADES[position + step]
        grid = sorted({*grid, new})
        trial(settings, new)
    meta_lr = min(grid, key=lambda r: (trial(settings, r), r))
    at_edge = []
    if len(grid) > 1 and meta_lr in (grid[0], grid[-1]):
        at_edge.append("meta_lr")
    if protocol["search_axes"]:
        for name, values in the_kind.axes.items():
            ordered = sorted(values)
            if len(ordered) > 1 and settings[name] in (ordered[0], ordered[-1]):
                at_edge.append(name)
    return Search(the_kind, pd.DataFrame(rows), settings, meta_lr, at_edge, nets)


@dataclass
class KindRuns:
    """All runs of a kind: the search (run 1) and the nets of every run, run 1 first."""

    kind: Kind
    search: Search
    nets: list[l2l.TrainedOptimizer]

    @property
    def train_seconds(self) -> float:
        """Meta-training CPU time of every net the kind needed, the search's included."""
        return sum(float(n.info["train_seconds"]) for n in self.search.nets.values()) + sum(
            float(n.info["train_seconds"]) for n in self.nets[1:])


def shipped_net(spec: l2l.NetSpec, device="cpu", progress: bool = False) -> l2l.TrainedOptimizer:
    """The saved or shipped net ``spec`` defines; a ``LookupError`` naming it, never training."""
    found = l2l.find_trained(spec.name, spec.fingerprint, device)
    if found is None:
        raise LookupError(f"the trained net {spec.name} is not shipped or saved here; "
                          "`optbook train-nets` trains it (or run the chapter, which trains what is missing)")
    return found


def kind_runs(problem: str, key: str, scale: str, dataset: str = "auto", device="cpu",
              progress: bool = True, shipped_only: bool = False) -> KindRuns:
    """Every run of the kind ``key`` on ``problem`` at ``scale``: found, or trained now (with
    ``shipped_only``, found or a ``LookupError``: for tools that must not train)."""
    the_kind = kind(problem, key)
    runs = scales.learned_kinds(scale)["runs"][problem]
    train = shipped_net if shipped_only else l2l.trained_net
    if the_kind.protocol == "published":
        return _published_runs(the_kind, scale, runs, dataset, device, progress, train)
    found = search(the_kind, scale, dataset, device, progress, train=train)
    nets = [found.best]
    bar = progress_bar(total=runs - 1, desc=f"runs of {problem} {key}", disable=not progress or runs < 2)
    for run in range(2, runs + 1):
        spec = run_spec(the_kind, scale, run, found.meta_lr, found.settings, dataset)
        nets.append(train(spec, device, progress))
        bar.update(1)
    bar.close()
    return KindRuns(the_kind, found, nets)


def _published_runs(the_kind: Kind, scale: str, runs: int, dataset, device, progress,
                    train: Callable = l2l.trained_net) -> KindRuns:
    """OPT-ML's protocol has no search: runs 0 .. runs-1 at its own settings."""
    nets, rows = [], []
    for run in range(runs):
        spec = _published_spec(the_kind, scale, run, dataset)
        nets.append(train(spec, device, progress))
        rows.append({"meta_lr": spec.meta_config.meta_lr, "score": _score(nets[-1]), "net": spec.name,
                     "problems": nets[-1].info.get("best_problems")})
    trials = pd.DataFrame(rows[:1])
    found = Search(the_kind, trials, {}, float(trials["meta_lr"].iloc[0]), [], {((), trials["meta_lr"].iloc[0]): nets[0]})
    return KindRuns(the_kind, found, nets)


# --------------------------------------------------------------------------- evaluating a kind


def evaluate_runs(runs: KindRuns, task, n_seeds: int, steps: int, device="cpu", first_seed: int = 0,
                  output_scale: float | None = None, method: str | None = None) -> pd.DataFrame:
    """Every net of ``runs`` on the same held-out problems (cached per net, as
    :func:`~optbook.studies.learning_to_learn.evaluate_learned`), one frame with a ``net``
    column (the run, 1 ... n) and ``method`` the kind's label (or ``method``)."""
    label = method or runs.kind.label
    return pd.concat([
        l2l.evaluate_learned(task, net, n_seeds, steps, device=device, output_scale=output_scale, method=label,
                             first_seed=first_seed).assign(net=run)
        for run, net in enumerate(runs.nets, start=1)], ignore_index=True)


def net_values(frame: pd.DataFrame, method: str, step: int, measure: str = l2l.AT_STEP) -> pd.DataFrame:
    """One row per net (run) and one column per problem (seed) of ``method`` in a frame of
    :func:`evaluate_runs`: the loss at ``step`` (or the mean over steps 0 .. ``step``); a diverged
    run is +inf. What :func:`optbook.comparison.compare_across_nets` takes."""
    part = frame[frame["method"] == method]
    if part.empty:
        raise ValueError(f"method={method!r} is not in the frame; it has {sorted(frame['method'].unique())}")
    rows = {net: l2l.per_problem(group.drop(columns="net"), step, measure)[method]
            for net, group in part.groupby("net", sort=True)}
    return pd.DataFrame(rows).T.rename_axis(index="net", columns="seed")


def search_table(all_runs: list[KindRuns]) -> pd.DataFrame:
    """Per kind (rows; named by problem when there are several): what the first run's search
    chose, flagged "(edge)" where it sits at an edge of what was searched, with the range of
    meta-learning rates tried; the validation loss at the horizon of every run; and the
    meta-training CPU minutes of every net the kind needed (how many in brackets)."""
    problems = {runs.kind.problem for runs in all_runs}
    rows = {}
    for runs in all_runs:
        found = runs.search
        edge = set(found.at_edge)
        rates = sorted(found.trials["meta_lr"].unique())
        tried = f" ({rates[0]:g}–{rates[-1]:g})" if len(rates) > 1 else ""
        chosen = [f"meta-lr {found.meta_lr:g}" + (" (edge)" if "meta_lr" in edge else tried)]
        chosen += [f"{name.replace('output_scale', 'out')} {_value_name(value)}" + (" (edge)" if name in edge else "")
                   for name, value in found.settings.items()]
        label = runs.kind.label if len(problems) == 1 else f"{runs.kind.label}, {runs.kind.problem}"
        rows[label] = {
            "chosen": ", ".join(chosen),
            "validation loss per run": ", ".join(f"{n.info['best_score']:.3g}" for n in runs.nets),
            "CPU min (nets)": f"{runs.train_seconds / 60:.1f} ({len(found.trials) + len(runs.nets) - 1})",
        }
    return pd.DataFrame(rows).T.rename_axis("kind")


def spread_figure(values: dict[str, dict[str, pd.DataFrame]], baselines: dict[str, pd.Series], step: int,
                  title: str, scale: str, data: str | None = None):
    """One panel per task: per kind of net, the median loss at ``step`` over problems of every
    trained net (a dot each: the spread between training runs) and of all nets pooled (a bar);
    the best tuned baseline's median as a dashed line. ``values[task][kind]`` is a frame of
    :func:`net_values`; ``baselines[task]`` the best baseline's per-problem values, named."""
    import matplotlib.pyplot as plt

    from optbook import plots

    fig, axes = plt.subplots(1, len(values), figsize=(4.2 * len(values) + 1.0, 4.4), squeeze=False)
    kinds = list(dict.fromkeys(k for per_task in values.values() for k in per_task))
    colors = plots.method_colors([k.split(" (")[0] for k in kinds])
    for ax, (task, per_kind) in zip(axes[0], values.items()):
        for i, (label, frame) in enumerate(per_kind.items()):
            color = colors[label.split(" (")[0]]
            per_net = frame.replace(np.inf, np.nan).median(axis=1)
            pooled = float(np.nanmedian(frame.replace(np.inf, np.nan).to_numpy()))
            ax.bar(i, pooled, width=0.6, color=color, alpha=0.25, edgecolor=color)
            ax.scatter(np.full(len(per_net), i) + np.linspace(-0.15, 0.15, len(per_net)), per_net, color=color,
                       zorder=3, s=22)
        if task in baselines:
            best = baselines[task]
            ax.axhline(float(best.median()), color="0.3", ls="--", lw=1.2, label=f"{best.name} (tuned), median")
            ax.legend(fontsize=8, loc="best", framealpha=0.9)
        ax.set_xticks(range(len(per_kind)), [k.replace(" (", "\n(") for k in per_kind], fontsize=8)
        ax.set_yscale("log")
        plots.plain_log_ticks(ax)
        ax.set_title(task, fontsize=10)
        ax.set_ylabel(f"median loss at step {step}")
    plots.suptitle(fig, title, scale, data)
    fig.tight_layout()
    return fig


def dry_run_specs(scale: str, dataset: str = "auto") -> list[l2l.NetSpec]:
    """One spec per kind and per architecture its search may choose (every combination of its
    axes, run 1, the middle meta-learning rate): what a dry run builds and steps once."""
    import itertools

    specs = []
    for (problem, key), the_kind in KINDS.items():
        grid = scales.learned_kinds(scale)["meta_lrs"][problem]
        if the_kind.protocol == "published":
            specs.append(_published_spec(the_kind, scale, 0, dataset))
            continue
        names = list(the_kind.axes)
        for values in itertools.product(*(the_kind.axes[n] for n in names)) if names else [()]:
            specs.append(run_spec(the_kind, scale, 1, grid[(len(grid) - 1) // 2], dict(zip(names, values)), dataset))
    return specs


def unchanged_weights(runs: KindRuns, scale: str, dataset: str = "auto") -> tuple[int, int]:
    """(weights equal bit for bit to their seeded initialisation in every net of ``runs``, weights
    per net): what meta-training never reached (e.g. the HNN's state path when it is detached)."""
    import torch

    unchanged = None
    for run, trained in enumerate(runs.nets, start=1 if runs.kind.protocol == "fair" else 0):
        spec = run_spec(runs.kind, scale, run, runs.search.meta_lr, runs.search.settings, dataset)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.init_seed)
            initial = spec.net_class(**spec.net_config).state_dict()
        same = torch.cat([(trained.net.state_dict()[k].cpu() == v).reshape(-1) for k, v in initial.items()])
        unchanged = same if unchanged is None else unchanged & same
    return int(unchanged.sum()), int(unchanged.numel())
