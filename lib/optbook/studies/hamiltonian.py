"""Chapter 2's experiments: the HNN optimizer (OPT-ML) as published, under chapter 1's protocol
beside the LSTM, and the structure-true port-Hamiltonian net.

The nets are kinds of learned optimizer (:mod:`optbook.studies.net_kinds`), each trained several
times: OPT-ML's own protocol for its HNN (chapter 2's ``published`` config, :func:`published_spec`
is its first run) and chapter 1's LSTM protocol, searched alike, for every kind. This module
gathers their runs on the chapter's tasks and tables and probes what they learned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from optbook import scales
from optbook.learned import meta
from optbook.learned.hnn import HNNUpdate
from optbook.learned.probe import constant_gradient_response
from optbook.studies import learning_to_learn as l2l

__all__ = [
    "ChapterRuns", "OPT_ML_TABLE", "PROBLEMS", "energy_balances", "energy_table", "kind_responses", "kinds_frame", "optimizer_response", "published_spec", "published_table",
    "response_figure", "response_slopes", "summary", "summary_table", "truncated", "update_responses",
]

PROBLEMS = ("quadratic", "mnist")
# OPT-ML's table (loss at step 100, mean of 100 runs; the stored outputs of the repository's
# main.ipynb); its baselines' numbers are optbook.baselines.REFERENCE_FINAL_LOSS.
OPT_ML_TABLE = {
    "quadratic": {"HNN": 0.23, "LSTM": 0.25},
    "mnist-sigmoid": {"HNN": 0.38, "LSTM": 0.29},
    "mnist-relu": {"HNN": 0.36, "LSTM": 2.31},
}
def _task(problem: str, dataset: str):
    from optbook.tasks import book_task

    return book_task("quadratic" if problem == "quadratic" else "mnist-sigmoid", dataset=dataset)


def published_spec(problem: str, scale: str, dataset: str = "auto") -> l2l.NetSpec:
    """The HNN under OPT-ML's own protocol (chapter 2's ``published`` config) for ``problem``
    ("quadratic" | "mnist"): the net chapter 2 has shipped since its first version (init and
    training seed 0). :mod:`optbook.studies.net_kinds` trains further runs of it."""
    from optbook.session import check_choice

    check_choice("problem", problem, PROBLEMS)
    settings = scales.chapter_config("02", scale)["published"][problem]
    return l2l.NetSpec(f"hnn-{problem}-published-{scale}", _task(problem, dataset), dict(settings["net"]),
                       meta.MetaTrainConfig(**settings["meta"]), 0, HNNUpdate)


def truncated(frame: pd.DataFrame, steps: int) -> pd.DataFrame:
    """The rows of a run frame up to ``steps``: runs evaluated for longer (chapter 1's 200-step
    transfer runs) serve a 100-step claim unchanged, since a run's first steps do not depend on
    its length."""
    if steps > int(frame["step"].max()):
        raise ValueError(f"steps={steps} is beyond the frame's last step {int(frame['step'].max())}")
    return frame[frame["step"] <= steps].reset_index(drop=True)


def kinds_frame(task_key: str, task, kinds: Mapping, *, steps: int, n_eval: int, scale: str, dataset: str = "auto",
                device="cpu", first_seed: int = 0, horizons: Mapping[str, int] | None = None,
                baselines_at: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One task's runs for the chapter's comparisons: every trained net of every kind in ``kinds``
    (label -> :class:`~optbook.studies.net_kinds.KindRuns`; a ``net`` column numbers the runs)
    and the baselines, all on the same ``n_eval`` held-out problems from ``first_seed``. The
    baselines are chapter 0's tuned ones, or with ``baselines_at`` (method -> rate) at those rates.
    A kind with a longer horizon in ``horizons`` (chapter 1's LSTM at 200 MNIST steps) is
    evaluated there, so its cached runs are shared, and cut at ``steps``."""
    from optbook import baselines as baselines_module
    from optbook.studies import net_kinds

    horizons = horizons or {}
    if baselines_at is None:
        plain = l2l.baseline_runs(task_key, task, scale, n_eval, steps, dataset, device, first_seed=first_seed)
    else:
        plain = baselines_module.evaluation_runs(task, dict(baselines_at), n_eval, steps, device=device,
                                                 first_seed=first_seed)
    frames = [plain]
    for label, runs in kinds.items():
        horizon = max(steps, horizons.get(label, steps))
        frame = net_kinds.evaluate_runs(runs, task, n_eval, horizon, device=device, first_seed=first_seed, method=label)
        frames.append(truncated(frame, steps))
    return pd.concat(frames, ignore_index=True)


@dataclass
class ChapterRuns:
    """How chapter 2 runs its nets: every kind (``kinds``, keyed (problem, kind key)) on the
    chapter's tasks (task key -> task), all on the same ``n_eval`` held-out problems from
    ``first_seed`` for ``steps`` steps; the LSTM is evaluated at chapter 1's ``horizons`` (task
    key -> steps) so chapter 1's cached runs are shared."""

    kinds: Mapping
    tasks: Mapping
    scale: str
    n_eval: int
    steps: int
    first_seed: int = 0
    horizons: Mapping = field(default_factory=dict)
    dataset: str = "auto"
    device: object = "cpu"

    def problem(self, task_key: str) -> str:
        return "quadratic" if task_key == "quadratic" else "mnist"

    def frame(self, task_key: str, labels: Sequence[str], baselines_at: Mapping | None = None) -> pd.DataFrame:
        """The kinds named by label and the baselines (chapter 0's tuned ones, or at
        ``baselines_at``), on one task: :func:`kinds_frame`."""
        by_label = {runs.kind.label: runs for (problem, _), runs in self.kinds.items()
                    if problem == self.problem(task_key)}
        unknown = [label for label in labels if label not in by_label]
        if unknown:
            raise ValueError(f"no kind labelled {unknown} on {task_key}; there are {sorted(by_label)}")
        return kinds_frame(task_key, self.tasks[task_key], {label: by_label[label] for label in labels},
                           steps=self.steps, n_eval=self.n_eval, scale=self.scale, dataset=self.dataset,
                           device=self.device, first_seed=self.first_seed,
                           horizons={"LSTM": self.horizons.get(task_key, self.steps)}, baselines_at=baselines_at)

    def lstm_at(self, task_key: str, output_scale: float, label: str) -> pd.DataFrame:
        """Every LSTM of the task's problem at another output multiplier, as ``label``."""
        from optbook.studies import net_kinds

        runs = self.kinds[(self.problem(task_key), "lstm")]
        horizon = max(self.steps, self.horizons.get(task_key, self.steps))
        frame = net_kinds.evaluate_runs(runs, self.tasks[task_key], self.n_eval, horizon, self.device,
                                        self.first_seed, output_scale, method=label)
        return truncated(frame, self.steps)

    def as_published(self, task_key: str, their_rates: Mapping[str, float], lstm_scale: float) -> pd.DataFrame:
        """Question 1's runs on one task: the HNN under OPT-ML's protocol (method "HNN"), the
        LSTMs (on MNIST at OPT-ML's evaluation multiplier ``lstm_scale``) and the baselines at
        the rates OPT-ML used."""
        published = "HNN (as published)"
        if task_key == "quadratic":
            frame = self.frame(task_key, [published, "LSTM"], baselines_at=their_rates)
        else:
            frame = pd.concat([self.frame(task_key, [published], baselines_at=their_rates),
                               self.lstm_at(task_key, lstm_scale, "LSTM")], ignore_index=True)
        return frame.replace({"method": {published: "HNN"}})


def energy_balances(kinds: Mapping, task, first_seed: int, n_eval: int, steps: int) -> dict[str, pd.DataFrame]:
    """The discrete energy balance (:func:`optbook.learned.energy.energy_balance`) of every
    trained quadratic port-Hamiltonian net of both kinds, on the held-out problems, by label."""
    from optbook.learned.energy import energy_balance

    balances = {}
    for key in ("port-hamiltonian", "port-hamiltonian-raw"):
        runs = kinds[("quadratic", key)]
        balances[runs.kind.label] = pd.concat([
            energy_balance(trained.net, task, range(first_seed, first_seed + n_eval), steps).assign(net=run)
            for run, trained in enumerate(runs.nets, start=1)], ignore_index=True)
    return balances


def energy_table(balances: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """How often and by how much E rose, and the net's own term, per kind (columns)."""
    return pd.DataFrame({
        label: {"steps where E rose": f"{(b['change'] > 0).mean():.1%}",
                "largest rise of E": f"{b['change'].max():.2g}",
                "steps where the net's own term > 0": f"{(b['net_own'] > 0).mean():.1%}",
                "largest net's own term": f"{b['net_own'].max():.2g}"}
        for label, b in balances.items()}).rename_axis("quadratics")


def kind_responses(kinds: Mapping, problem: str, rates: Mapping[str, float], values: Sequence[float], steps: int):
    """The probe (:func:`update_responses`) of the first net of the LSTM, HNN and port-Hamiltonian
    kinds beside momentum SGD and Adam, and of every HNN alone (run -> frame)."""
    first = {kinds[(problem, key)].kind.label: kinds[(problem, key)].nets[0].net
             for key in ("lstm", "hnn", "port-hamiltonian")}
    every_hnn = {run: update_responses({"HNN": trained.net}, rates, values, steps)
                 for run, trained in enumerate(kinds[(problem, "hnn")].nets, start=1)}
    return update_responses(first, rates, values, steps), every_hnn


def summary(frame: pd.DataFrame, step: int) -> pd.DataFrame:
    """Mean and median loss at ``step`` per method, and how many runs diverged (rounded strings)."""
    values = l2l.per_problem(frame, step)
    from optbook import plots

    return pd.DataFrame({
        f"mean at step {step}": values.replace(np.inf, np.nan).mean().map("{:.3g}".format),
        f"median at step {step}": values.median().map("{:.3g}".format),
        "diverged": np.isinf(values).sum(),
    }).loc[plots.ordered(values.columns)]


def _cells(values) -> np.ndarray:
    """All of a method's values at a step: nets x problems for a kind, problems for a baseline."""
    return np.asarray(values, dtype=float).reshape(-1)


def summary_table(frames: dict[str, pd.DataFrame], step: int) -> pd.DataFrame:
    """Several tasks side by side, narrow enough for the page: per task (the column groups) the
    mean and median loss at ``step`` per method (rows), a kind of net pooled over its nets and
    problems; a method's diverged runs on a task, if any, are counted in its mean's cell."""
    from optbook import plots
    from optbook.studies.kind_findings import task_values

    columns = {}
    for task, frame in frames.items():
        values = {m: _cells(v) for m, v in task_values(frame, step).items()}
        columns[(task, "mean")] = {
            m: f"{np.nanmean(np.where(np.isinf(v), np.nan, v)):.3g}"
            + (f" ({int(np.isinf(v).sum())} diverged)" if np.isinf(v).any() else "") for m, v in values.items()}
        columns[(task, "median")] = {m: f"{np.median(v):.3g}" for m, v in values.items()}
    table = pd.DataFrame(columns)
    table.columns.names = (None, f"loss at step {step}")
    return table.loc[plots.ordered(table.index)].rename_axis("method")


def _mean_with_spread(values) -> str:
    """The pooled mean, and for a kind of net the range of its nets' means: "0.31 (0.25–0.40)"."""
    array = np.asarray(values, dtype=float)
    finite = np.where(np.isinf(array), np.nan, array)
    text = f"{np.nanmean(finite):.3g}"
    if array.ndim == 2 and len(array) > 1:
        per_net = np.nanmean(finite, axis=1)
        text += f" ({per_net.min():.3g}–{per_net.max():.3g})"
    return text


def published_table(measured: dict[str, pd.DataFrame], reference: dict[str, dict[str, float]], step: int,
                    baselines: Sequence[str], hnn: str = "HNN", lstm: str = "LSTM") -> pd.DataFrame:
    """OPT-ML's table beside ours: per task (rows) the published and measured mean loss at
    ``step`` of the HNN, the LSTM and the best baseline (the one with the lowest mean, named);
    a learned net's mean is pooled over its trained nets, the range of their means beside it."""
    from optbook.studies.kind_findings import task_values

    rows = {}
    for task, frame in measured.items():
        values = task_values(frame, step)
        means = {m: float(np.nanmean(np.where(np.isinf(_cells(v)), np.nan, _cells(v)))) for m, v in values.items()}
        theirs = reference[task]
        ours_best = min(baselines, key=lambda m: means[m])
        their_best = min(baselines, key=lambda m: theirs[m])
        rows[task] = {
            "HNN: published": f"{theirs['HNN']:.2f}", "HNN: ours (nets' range)": _mean_with_spread(values[hnn]),
            "LSTM: published": f"{theirs['LSTM']:.2f}", "LSTM: ours (nets' range)": _mean_with_spread(values[lstm]),
            "best baseline: published": f"{their_best} {theirs[their_best]:.2f}",
            "best baseline: ours": f"{ours_best} {means[ours_best]:.3g}",
        }
    return pd.DataFrame(rows).T


# --- what was learned: the update as a function of the gradient -------------------------------


def optimizer_response(factory, values: Sequence[float], steps: int, method: str) -> pd.DataFrame:
    """A hand-designed ``torch.optim`` optimizer (``factory(params)``) fed a gradient held at each
    of ``values`` for ``steps`` steps, in the frame of
    :func:`optbook.learned.probe.constant_gradient_response`."""
    values = torch.as_tensor(list(values), dtype=torch.float64)
    param = torch.nn.Parameter(torch.zeros_like(values))
    optimizer = factory([param])
    rows = []
    for step in range(steps):
        before = param.detach().clone()
        param.grad = values.clone()
        optimizer.step()
        update = (param.detach() - before).numpy()
        rows.append(pd.DataFrame({"step": step, "coordinate": np.arange(len(values)), "gradient": values.numpy(),
                                  "update": update, "displacement": param.detach().numpy()}))
    frame = pd.concat(rows, ignore_index=True)
    frame["effective_lr"] = -frame["update"] / frame["gradient"]
    return frame.assign(method=method)


def update_responses(nets: dict[str, torch.nn.Module], rates: dict[str, float], values: Sequence[float],
                     steps: int) -> pd.DataFrame:
    """Each net (frozen, at its own output scale) and momentum SGD (0.9) and Adam at ``rates``
    (e.g. chapter 0's tuned ones; methods "Momentum" and "Adam") under a gradient held at each of ``values`` for ``steps`` steps."""
    frames = [constant_gradient_response(net, values, steps).assign(method=name) for name, net in nets.items()]
    hand = {
        "Momentum": lambda params: torch.optim.SGD(params, lr=rates["Momentum"], momentum=0.9),
        "Adam": lambda params: torch.optim.Adam(params, lr=rates["Adam"]),
    }
    frames += [optimizer_response(factory, values, steps, name) for name, factory in hand.items() if name in rates]
    return pd.concat(frames, ignore_index=True)


def response_slopes(responses: pd.DataFrame, last_step: int) -> pd.DataFrame:
    """Per method of :func:`update_responses`: the slope of log|update| against log|gradient| at
    the first step (1: a step proportional to the gradient, as SGD's; 0: a step of fixed size, as
    Adam's first), and the growth of the step from the first step to ``last_step`` under the
    middle gradient probed (|update_last| / |update_0|; about 10 for momentum 0.9)."""
    rows = {}
    middle = responses["coordinate"].nunique() // 2  # coordinates are the probed values in their order
    for method, part in responses.groupby("method", sort=False):
        first = part[(part["step"] == 0) & (part["update"] != 0)]
        x, y = np.log(first["gradient"].abs().to_numpy()), np.log(first["update"].abs().to_numpy())
        slope = float(np.polyfit(x, y, 1)[0]) if len(first) > 1 else np.nan
        line = part[part["coordinate"] == middle].set_index("step")["update"]
        growth = float(abs(line[last_step]) / abs(line[0])) if line[0] != 0 else np.nan
        rows[method] = {"slope at step 0": slope, "growth of the step": growth}
    from optbook import plots

    frame = pd.DataFrame(rows).T
    return frame.loc[plots.ordered(frame.index)]


def response_figure(responses: dict[str, pd.DataFrame], steps_shown: Sequence[int], title: str, scale: str):
    """One row per task: |update| against the gradient at the first and last of ``steps_shown``
    (left; one line style per step), and the update relative to the first one under a constant
    gradient (the middle value probed) over the steps (right): momentum builds up where it rises.
    One colour per method, the book's (optbook.plots.METHOD_COLORS)."""
    import matplotlib.pyplot as plt

    from optbook import plots

    fig, axes = plt.subplots(len(responses), 2, figsize=(10.8, 4.3 * len(responses)), squeeze=False)
    all_methods = sorted({m for frame in responses.values() for m in frame["method"].unique()})
    colors = plots.method_colors(all_methods)
    first_step, last_step = steps_shown[0], steps_shown[-1]
    step_styles = {first_step: "-", last_step: "--"}
    # The line styles' key, first in the one legend below the panels (its first column).
    for step, style in step_styles.items():
        axes[0][0].plot([], [], style, color="0.35", lw=1.8, label=f"|update| at step {step}")
    for row, (task, frame) in zip(axes, responses.items()):
        middle = frame["coordinate"].nunique() // 2  # coordinates are the probed values in their order
        held = float(frame.loc[frame["coordinate"] == middle, "gradient"].iloc[0])
        for method in plots.ordered(frame["method"].unique()):
            part = frame[frame["method"] == method]
            for step, style in step_styles.items():
                shown = part[part["step"] == step].sort_values("gradient")
                row[0].plot(shown["gradient"], shown["update"].abs(), style, color=colors[method], lw=1.8,
                            label=method if step == first_step else None)
            line = part[part["coordinate"] == middle].sort_values("step")
            row[1].plot(line["step"], line["update"] / line["update"].iloc[0], "-", color=colors[method], lw=1.8)
        row[0].set(xscale="log", yscale="log", xlabel="gradient (held constant)", ylabel="|update|",
                   title=f"{task}\nstep {first_step} (solid) and step {last_step} (dashed)")
        plots.plain_log_ticks(row[0])
        row[1].set(xlabel="step", ylabel="update / first update", title=f"{task}\ngradient held at {held:.2g}")
        row[1].axhline(1.0, color="0.6", lw=0.8)
    plots.suptitle(fig, title, scale)
    fig.tight_layout()
    plots.figure_legend(fig)
    return fig
