"""Chapter 2's experiments: the HNN optimizer (OPT-ML) as published, under chapter 1's protocol
beside the LSTM, and the structure-true port-Hamiltonian net.

Every net is a :class:`~optbook.studies.learning_to_learn.NetSpec`, trained or found by
:func:`~optbook.studies.learning_to_learn.trained_net` (the fingerprint names the net class, so
HNN and LSTM files never collide), named ``<prefix>-<problem>[-variant]-<scale>`` like chapter 1's.
Three protocols:

- ``"published"``: OPT-ML's protocol for its HNN (chapter 2's ``published`` config).
- ``"fair"``: chapter 1's LSTM protocol, unchanged (``quadratic_meta``/``mnist_meta`` of
  chapter 1), for every net; the LSTM's nets are chapter 1's own.
- ``"search"`` (quadratics): the fair protocol at each meta-learning rate of chapter 1's
  sensitivity study (its first seed and problem count); :func:`best_of_search` keeps the net
  with the best validation score, for every net class alike.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from optbook import scales
from optbook.learned import meta
from optbook.learned.hnn import HNNUpdate
from optbook.learned.nets import CoordinatewiseLSTM
from optbook.learned.port_hamiltonian import PortHamiltonianUpdate
from optbook.learned.probe import constant_gradient_response
from optbook.studies import learning_to_learn as l2l

__all__ = [
    "NETS", "OPT_ML_TABLE", "PROBLEMS", "best_of_search", "net_spec", "optimizer_response", "published_table", "response_figure",
    "response_slopes", "search_specs", "search_table", "summary", "summary_table", "truncated", "update_responses",
]

PROBLEMS = ("quadratic", "mnist")
# OPT-ML's table (loss at step 100, mean of 100 runs; the stored outputs of the repository's
# main.ipynb); its baselines' numbers are optbook.baselines.REFERENCE_FINAL_LOSS.
OPT_ML_TABLE = {
    "quadratic": {"HNN": 0.23, "LSTM": 0.25},
    "mnist-sigmoid": {"HNN": 0.38, "LSTM": 0.29},
    "mnist-relu": {"HNN": 0.36, "LSTM": 2.31},
}
# net key -> (class, file prefix, method label in frames and figures)
NETS = {
    "lstm": (CoordinatewiseLSTM, "l2l", "LSTM"),
    "hnn": (HNNUpdate, "hnn", "HNN"),
    "port-hamiltonian": (PortHamiltonianUpdate, "phnn", "port-Hamiltonian"),
}


def _task(problem: str, dataset: str):
    from optbook.tasks import book_task

    return book_task("quadratic" if problem == "quadratic" else "mnist-sigmoid", dataset=dataset)


def _net_config(net: str, problem: str, scale: str) -> dict:
    if net == "lstm":
        return dict(scales.chapter_config("01", scale)[f"{problem}_net"])
    chapter = scales.chapter_config("02", scale)
    if net == "hnn":
        return dict(chapter["published"][problem]["net"])
    return dict(chapter["port_hamiltonian"][problem])


def net_spec(net: str, problem: str, scale: str, protocol: str, dataset: str = "auto",
             meta_lr: float | None = None) -> l2l.NetSpec:
    """The spec of ``net`` ("lstm" | "hnn" | "port-hamiltonian") for ``problem`` ("quadratic" |
    "mnist") under ``protocol`` ("published" | "fair" | "search"; "search" needs ``meta_lr``).
    The LSTM's fair and search specs are chapter 1's, so its shipped nets are found."""
    from optbook.session import check_choice

    check_choice("net", net, tuple(NETS))
    check_choice("problem", problem, PROBLEMS)
    check_choice("protocol", protocol, ("published", "fair", "search"))
    if (protocol == "search") != (meta_lr is not None):
        raise ValueError(f"meta_lr={meta_lr!r}: give a meta-learning rate with protocol='search' and only then")
    l2l_config = scales.chapter_config("01", scale)
    cls, prefix, _ = NETS[net]
    if protocol == "published":
        if net != "hnn":
            raise ValueError(f"net={net!r}: only the HNN has a published protocol of its own (chapter 1 has the LSTM's)")
        settings = scales.chapter_config("02", scale)["published"][problem]
        return l2l.NetSpec(f"hnn-{problem}-published-{scale}", _task(problem, dataset), dict(settings["net"]),
                           meta.MetaTrainConfig(**settings["meta"]), 0, cls)
    search = protocol == "search"
    init_seed = l2l_config["sensitivity_seeds"][0] if search else 0
    if net == "lstm":
        problems = l2l_config["sensitivity_problems"] if search else None
        return l2l.chapter_net_spec(problem, l2l_config, scale, dataset, meta_lr=meta_lr, init_seed=init_seed,
                                    problems=problems)
    settings = dict(l2l_config[f"{problem}_meta"])
    variant = ""
    if search:
        settings.update(meta_lr=meta_lr, problems=l2l_config["sensitivity_problems"])
        variant = f"-lr{meta_lr:g}-seed{init_seed}-p{settings['problems']}"
    return l2l.NetSpec(f"{prefix}-{problem}{variant}-{scale}", _task(problem, dataset), _net_config(net, problem, scale),
                       meta.MetaTrainConfig(**settings), init_seed, cls)


def search_specs(net: str, scale: str, dataset: str = "auto") -> dict[float, l2l.NetSpec]:
    """The quadratic search of ``net``: one spec per meta-learning rate of chapter 1's sensitivity study."""
    rates = scales.chapter_config("01", scale)["sensitivity_meta_lrs"]
    return {lr: net_spec(net, "quadratic", scale, "search", dataset, meta_lr=lr) for lr in rates}


def best_of_search(trained: dict[float, l2l.TrainedOptimizer]) -> float:
    """The meta-learning rate whose net has the best (lowest) validation score; a net whose
    validation diverged (score inf or missing) never wins unless all did."""
    def score(lr: float) -> float:
        value = trained[lr].info.get("best_score")
        return float(value) if value is not None and np.isfinite(value) else np.inf

    return min(trained, key=lambda lr: (score(lr), lr))


def search_table(searches: dict[str, dict[float, l2l.TrainedOptimizer]]) -> pd.DataFrame:
    """Validation score per net (rows, named in the first column, since the page's tables hide
    the index) and meta-learning rate (columns), the kept one starred."""
    rows = []
    for name, trained in searches.items():
        best = best_of_search(trained)
        rows.append({"net": name, **{f"meta-lr {lr:g}": f"{trained[lr].info['best_score']:.3g}"
                                     + (" *" if lr == best else "") for lr in trained}})
    return pd.DataFrame(rows)


def truncated(frame: pd.DataFrame, steps: int) -> pd.DataFrame:
    """The rows of a run frame up to ``steps``: runs evaluated for longer (chapter 1's 200-step
    transfer runs) serve a 100-step claim unchanged, since a run's first steps do not depend on
    its length."""
    if steps > int(frame["step"].max()):
        raise ValueError(f"steps={steps} is beyond the frame's last step {int(frame['step'].max())}")
    return frame[frame["step"] <= steps].reset_index(drop=True)


def fair_runs(task_key: str, task, nets: dict, l2l_config, *, steps: int, n_eval: int, scale: str,
              dataset: str = "auto", device="cpu", first_seed: int = 0) -> pd.DataFrame:
    """Question 2's runs on one task: chapter 1's LSTM (``nets["lstm"]``) and chapter 0's tuned
    baselines, from chapter 1's cached runs at its own horizon cut at ``steps``, beside the HNN and
    port-Hamiltonian nets trained under the same protocol, on the same ``n_eval`` problems."""
    chapter1_steps = {"quadratic": l2l_config["quadratic_steps"], "mnist-sigmoid": l2l_config["mnist_steps"],
                      "mnist-relu": l2l_config["transfer_steps"]}
    both = l2l.learned_and_baseline_runs(task_key, task, nets["lstm"], chapter1_steps[task_key], scale=scale,
                                         n_seeds=n_eval, dataset=dataset, device=device, first_seed=first_seed)
    learned = [l2l.evaluate_learned(task, nets[net], n_eval, steps, device=device, method=NETS[net][2],
                                    first_seed=first_seed)
               for net in ("hnn", "port-hamiltonian")]
    return pd.concat([truncated(both, steps), *learned], ignore_index=True)


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
