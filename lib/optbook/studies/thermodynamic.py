"""The experiments of Leimkuhler, Matthews, Vlaar 2019, "Partitioned integrators for thermodynamic
parameterization of neural networks", on the book's batched ensembles.

Hyperparameters are the paper's figure captions (seed page, tagged [B] in
specs/hypergradient-and-thermodynamic.md: read from the captions, not verified against the full
text). Every stochastic optimizer draws its noise per run from a generator seeded by the run's
seed (:func:`optbook.optim.noise.noise_generators`), so run r of an ensemble is the single run with
seed r, and two methods given the same seeds start from the same weights and data.
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from optbook import bench, cache, experiment
from optbook.optim import langevin, noise, partitioned
from optbook.progress import progress_bar
from optbook.comparison import PairedComparison, compare_paired
from optbook.tasks import ensemble, initialisation, spirals

# optbook.tasks exports the data function trigonometric() under this module's name: fetched by its
# full name, so that the cache key covers the whole module (TrigTask too), not the function alone.
trigonometric = importlib.import_module("optbook.tasks.trigonometric")

METHODS = ("SGD", "Adam", "SGLD", "BAOAB", "AdLaLa", "LOL")
# The cache key covers the source of what a result depends on: data, model, runner, the integrators
# and the per-run noise seeding (optim.noise); not the benchmarks, which time and store nothing; the settings are in the key's config.
STUDY_CODE = (ensemble, initialisation, spirals, trigonometric, experiment, langevin, partitioned, noise)
# Bump when what train() stores changes (its thinning, its snapshots): this module's own source is
# not in the key, so that editing the analysis below does not discard hours of training.
RESULT_FORMAT = 2  # 2: train() can also record kinetic temperatures and ξ (probes)
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")  # the perceptron's tensors, in registration order
LAYERS = {"layer 1": ("W1", "b1"), "layer 2": ("W2", "b2")}  # input → hidden, hidden → output
CHANCE = 0.5  # test accuracy of a constant classifier on two balanced classes
DEFAULT_INIT = "PyTorch default"  # the initialisation every run starts from unless a Gaussian is named


def _threads(device) -> int | None:
    """Intra-op threads for training: one on the CPU, where these perceptrons (at most 100 runs ×
    500 hidden units × 50 points) are too small to split, and a second thread only waits on the
    first whenever anything else runs on the machine (measured: 5-10× slower per step with two
    threads next to one other busy process on two cores); None (unchanged) on a GPU."""
    return 1 if torch.device(device).type == "cpu" else None


@dataclass(frozen=True)
class Setting:
    """A method with its hyperparameters, shown under ``label`` (e.g. "AdLaLa (γ=10)")."""

    label: str
    method: str
    hyper: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} is not one of {METHODS}")

    def config(self) -> dict:
        return {"label": self.label, "method": self.method, "hyper": dict(self.hyper)}

    def replace(self, label: str | None = None, **hyper) -> "Setting":
        """The same method with some hyperparameters changed."""
        return Setting(label or self.label, self.method, {**self.hyper, **hyper})


def make_optimizer(setting: Setting, seeds: Sequence[int]):
    """A factory ``params -> optimizer`` for an ensemble of ``seeds``.

    SGD and Adam act elementwise, so torch's own optimizers treat the runs independently. The
    Langevin-type methods reduce per run (``ensemble_dim=0``) and draw each run's noise from its
    own generator. AdLaLa and LOL split the parameters W1, b1 | W2, b2 (first layer | the rest).
    """
    hyper = dict(setting.hyper)
    method = setting.method
    if method == "SGD":
        return lambda params: torch.optim.SGD(params, foreach=True, **hyper)
    if method == "Adam":
        return lambda params: torch.optim.Adam(params, foreach=True, **hyper)
    constructors = {"SGLD": langevin.SGLD, "BAOAB": langevin.BAOAB, "AdLaLa": partitioned.AdLaLa,
                    "LOL": partitioned.LOL}

    def build(params):
        generators = noise.noise_generators(seeds)
        return constructors[method](list(params), ensemble_dim=0, generators=generators, **hyper)

    return build


# --------------------------------------------------------------------------- the papers' settings

SGD = Setting("SGD", "SGD", {"lr": 0.1})
ADAM = Setting("Adam", "Adam", {"lr": 0.005})
# Fig. 8 (2-turn spirals, 20 nodes, 100 runs, 10K steps).
FIG8 = (
    SGD,
    ADAM,
    Setting("SGLD", "SGLD", {"lr": 0.1, "sigma": 0.1}),
    Setting("AdLaLa (γ=0.5)", "AdLaLa", {"lr": 0.25, "tau1": 1e-4, "tau2": 1e-4, "sigma_A": 0.01, "eps": 0.1, "gamma": 0.5}),
    Setting("AdLaLa (γ=10)", "AdLaLa", {"lr": 0.25, "tau1": 1e-4, "tau2": 1e-4, "sigma_A": 0.01, "eps": 0.1, "gamma": 10.0}),
    # Fig. 14's LOL on the same problem (its τ₂ is not given: τ₂ = τ₁, see optbook.optim.LOL).
    Setting("LOL", "LOL", {"lr": 0.25, "gamma1": 0.01, "tau1": 1e-3}),
)
# SGLD's other reading of σ (the noise of one step, σR, instead of σ√h R): one extra ensemble.
FIG8_SGLD_PER_STEP = Setting("SGLD (σR, no √h)", "SGLD", {"lr": 0.1, "sigma": 0.1, "sigma_per_step": True})
FIG8_PAPER_RUNS = 100
FIG8_PAPER_ACCURACY = {"SGD": 0.79, "Adam": 0.837, "SGLD": 0.78, "AdLaLa (γ=0.5)": 0.934, "AdLaLa (γ=10)": 0.855}
# Fig. 10 (4-turn spirals, 100 nodes): AdLaLa fixed at the notebooks' defaults; SGLD over σ, Adam over h.
FIG10_ADLALA = Setting("AdLaLa", "AdLaLa", {"lr": 0.25, "tau1": 1e-4, "tau2": 1e-4, "gamma": 0.1, "sigma_A": 0.01, "eps": 0.05})
# Figs. 11 (a = 6) and 12 (a = 10), trigonometric data: LOL and AdLaLa as captioned, SGLD from Fig. 12;
# SGD and Adam take the step sizes the paper uses everywhere else.
TRIG = {
    6: (SGD, ADAM, Setting("SGLD", "SGLD", {"lr": 0.1, "sigma": 0.01}),
        Setting("LOL", "LOL", {"lr": 0.1, "gamma1": 0.01, "tau1": 1e-3}),
        Setting("AdLaLa", "AdLaLa", {"lr": 0.2, "tau1": 1e-4, "tau2": 1e-4, "gamma": 10.0, "sigma_A": 0.001, "eps": 0.1})),
    10: (SGD, ADAM, Setting("SGLD", "SGLD", {"lr": 0.1, "sigma": 0.01}),
         Setting("LOL", "LOL", {"lr": 0.1, "gamma1": 0.01, "tau1": 1e-3}),
         Setting("AdLaLa", "AdLaLa", {"lr": 0.1, "tau1": 1e-4, "tau2": 1e-4, "gamma": 5.0, "sigma_A": 0.001, "eps": 0.1})),
}
# Fig. 1: BAOAB at h = 0.4, γ = 10 and several temperatures.
FIG1_BAOAB = Setting("BAOAB", "BAOAB", {"lr": 0.4, "gamma": 10.0})
# Figs. 9 and 14 start some runs from Gaussian weights: N(0, 0.01²) (AdLaLa in Fig. 9; Adam and
# AdLaLa in Fig. 14) and N(0, 0.5²) (Adam in Fig. 9).
GAUSSIAN_STDS = (0.01, 0.5)
# Fig. 15: AdLaLa on 4-turn spirals with γ₂ = 0.03, ε = 0.1, τ₂ = 1e-8, h = 0.1; τ₁ and σ_A vary.
FIG15_ADLALA = Setting("AdLaLa", "AdLaLa", {"lr": 0.1, "gamma": 0.03, "eps": 0.1, "tau2": 1e-8})


TWO_TURN = FIG8 + (FIG8_SGLD_PER_STEP,)  # everything run from the default initialisation on the 2-turn problem


def problems(config: Mapping) -> dict[str, object]:
    """The chapter's problems at one scale (its config table): "two_turn" (Figs. 8, 14: 500 points,
    2 % subsampling), "four_turn" (Figs. 9, 10), "trig a=<a>" (Figs. 11, 12: 1000 points, 5 %),
    "temperatures" (Fig. 1: 1000 points, 2 %) and "sensitivity" (Fig. 15)."""
    trig = config["trig"]
    return {
        "two_turn": spirals.SpiralTask(hidden=config["two_turn"]["hidden"], turns=2, n_train=500, batch_size=10),
        "four_turn": spirals.SpiralTask(hidden=config["four_turn"]["hidden"], turns=4),
        **{f"trig a={a}": trigonometric.TrigTask(a=a, b=2, c=0.02, hidden=trig["hidden"], n_train=1000, batch_size=50)
           for a in trig["a"]},
        "temperatures": trigonometric.TrigTask(a=3, b=2, c=0.02, hidden=config["temperatures"]["hidden"],
                                               n_train=1000, batch_size=20),
        "sensitivity": spirals.SpiralTask(hidden=config["sensitivity"]["hidden"], turns=4),
    }


def sweep_settings(sweep: Mapping) -> list[Setting]:
    """Fig. 10's rivals: SGLD at h = 0.1 over its σ, Adam over its step size h."""
    return ([Setting(f"SGLD (σ={s:g})", "SGLD", {"lr": 0.1, "sigma": s}) for s in sweep["sgld_sigmas"]]
            + [Setting(f"Adam (h={h:g})", "Adam", {"lr": h}) for h in sweep["adam_lrs"]])


def temperature_settings(temperatures: Mapping) -> list[Setting]:
    """Fig. 1's BAOAB at each of its temperatures, then at the hotter ones."""
    return [FIG1_BAOAB.replace(label=f"BAOAB (τ={t:g})", tau=t)
            for t in (*temperatures["taus"], *temperatures["hotter_taus"])]


def sensitivity_settings(sensitivity: Mapping) -> list[Setting]:
    """Fig. 15's AdLaLa at every (τ₁, σ_A) of the grid."""
    return [FIG15_ADLALA.replace(tau1=tau1, sigma_A=sigma_A)
            for tau1, sigma_A in itertools.product(sensitivity["tau1"], sensitivity["sigma_A"])]


# --------------------------------------------------------------------------- training


def _snapshot_tracker(snapshots: Sequence[int], store: dict):
    """A ``track`` callback that copies the parameters after the updates numbered in ``snapshots``.

    ``run_ensemble`` calls it after every update, so its k-th call sees the parameters after k
    updates. It returns no columns.
    """
    wanted = set(snapshots)
    calls = [0]

    def track(optimizer) -> dict:
        calls[0] += 1
        if calls[0] in wanted:
            tensors = [p for group in optimizer.param_groups for p in group["params"]]
            store[calls[0]] = {name: t.detach().cpu().numpy().copy() for name, t in zip(PARAMETER_NAMES, tensors)}
        return {}

    return track


def _probe_tracker(every: int, store: dict):
    """A ``track`` callback that records, after every ``every``-th update, each layer's kinetic
    temperature pᵀp/N per run (N: the layer's number of entries; p the momenta the optimizer
    stores, i.e. after the step's closing kick) and, for adaptive groups, each tensor's ξ per run.
    Optimizers without momenta (SGD, Adam, SGLD) record nothing. Returns no columns."""
    calls = [0]

    def track(optimizer) -> dict:
        calls[0] += 1
        if calls[0] % every:
            return {}
        tensors = [p for group in optimizer.param_groups for p in group["params"]]
        states = dict(zip(PARAMETER_NAMES, (optimizer.state.get(t, {}) for t in tensors)))
        if not all("momentum" in states[n] for n in PARAMETER_NAMES):
            return {}
        row = {"step": calls[0]}
        for layer, names in LAYERS.items():
            kinetic = sum(states[n]["momentum"].reshape(len(states[n]["momentum"]), -1).pow(2).sum(1) for n in names)
            entries = sum(states[n]["momentum"][0].numel() for n in names)
            row[f"T {layer}"] = (kinetic / entries).detach().cpu().numpy().copy()
        for n in PARAMETER_NAMES:
            if "xi" in states[n]:
                row[f"ξ {n}"] = states[n]["xi"].detach().cpu().numpy().copy()
        store.setdefault("rows", []).append(row)
        return {}

    return track


def _probes_frame(store: dict, seeds: Sequence[int], label: str) -> pd.DataFrame:
    """The probes as a tidy frame: one row per probed step and run."""
    rows = []
    for row in store.get("rows", []):
        for r, seed in enumerate(seeds):
            rows.append({"method": label, "step": row["step"], "seed": seed,
                         **{k: float(v[r]) for k, v in row.items() if k != "step"}})
    return pd.DataFrame(rows)


def train(task, setting: Setting, seeds: Sequence[int], steps: int, eval_every: int,
          snapshots: Sequence[int] = (), device="cpu", probe_every: int | None = None) -> dict:
    """One ensemble of ``setting`` on ``task`` over ``seeds`` (cached).

    Returns ``frame`` (the tidy rows of the evaluation steps only: full-data train/test loss and
    accuracy per run), ``snapshots`` ({step: {"W1": [R, 2, H], "b1": [R, H], "W2": [R, H, 1],
    "b2": [R, 1]}} for each step of ``snapshots`` within ``steps``; the last step is always kept)
    and ``wall_time_s`` of the training when it was computed. With ``probe_every``, also
    ``probes``: each layer's kinetic temperature and each ξ per run every ``probe_every`` steps
    (:func:`_probe_tracker`; empty for methods without momenta).
    """
    keep = sorted({s for s in snapshots if 0 < s <= steps} | {steps})
    config = {"task": task.config(), "setting": setting.config(), "seeds": list(seeds), "steps": steps,
              "eval_every": eval_every, "snapshots": keep, "format": RESULT_FORMAT}
    if probe_every:
        config["probe_every"] = int(probe_every)

    def compute() -> dict:
        store: dict[int, dict] = {}
        probes: dict = {}
        snapshot = _snapshot_tracker(keep, store)
        probe = _probe_tracker(probe_every, probes) if probe_every else None

        def track(optimizer) -> dict:
            snapshot(optimizer)
            return probe(optimizer) if probe else {}

        with bench.torch_threads(_threads(device)):
            frame = experiment.run_ensemble(task, make_optimizer(setting, seeds), seeds, steps, device=device,
                                            eval_every=eval_every, labels={"method": setting.label}, track=track)
        evaluated = frame[frame["test_accuracy"].notna()].reset_index(drop=True)
        return {"frame": evaluated, "snapshots": store, "wall_time_s": frame.attrs["wall_time_s"],
                "probes": _probes_frame(probes, seeds, setting.label)}

    return cache.cached("thermo-train", config, compute, code=STUDY_CODE)


def compare(task, settings: Sequence[Setting], seeds: Sequence[int], steps: int, eval_every: int,
            snapshots: Sequence[int] = (), device="cpu", progress: bool = True,
            probe_every: int | None = None) -> dict:
    """:func:`train` for each setting on the same seeds: ``frame`` (all settings, column ``method``),
    ``snapshots`` {label: {step: parameters}}, ``wall_time_s`` {label: seconds} and, with
    ``probe_every``, ``probes`` (all settings' kinetic temperatures and ξ, column ``method``)."""
    results = {}
    for setting in progress_bar(settings, desc=task.name, disable=not progress):
        results[setting.label] = train(task, setting, seeds, steps, eval_every, snapshots, device, probe_every)
    probes = [r["probes"] for r in results.values() if len(r.get("probes", ()))]
    return {
        "frame": pd.concat([r["frame"] for r in results.values()], ignore_index=True),
        "snapshots": {label: r["snapshots"] for label, r in results.items()},
        "wall_time_s": {label: r["wall_time_s"] for label, r in results.items()},
        "probes": pd.concat(probes, ignore_index=True) if probes else pd.DataFrame(),
    }


def sensitivity(task, setting: Setting, grid: Mapping[str, Sequence[float]], seeds: Sequence[int], steps: int,
                device="cpu", progress: bool = True) -> pd.DataFrame:
    """Final test accuracy of ``setting`` at every point of a grid of its hyperparameters (Fig. 15).

    Each cell is one batched ensemble over ``seeds`` (the same seeds in every cell). Returns one row
    per cell: the grid values, ``mean``, ``std`` and ``min`` of the final test accuracy.
    """
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    rows = []
    for point in progress_bar(points, desc=f"sensitivity {task.name}", disable=not progress):
        frame = train(task, setting.replace(**point), seeds, steps, eval_every=steps, device=device)["frame"]
        final = frame[frame["step"] == steps]["test_accuracy"]
        rows.append({**point, "mean": final.mean(), "std": final.std(ddof=1) if len(final) > 1 else 0.0,
                     "min": final.min()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- analysis


def final_accuracy(frame: pd.DataFrame, value: str = "test_accuracy", step: int | None = None) -> pd.DataFrame:
    """Per method: mean, standard deviation, variance, min, max of ``value`` over runs at ``step``
    (default: the last), with a 95 % confidence interval of the mean and the number of runs."""
    step = int(frame["step"].max()) if step is None else step
    at = frame[frame["step"] == step]
    missing = sorted(set(frame["method"]) - set(at["method"]))
    if missing:
        raise ValueError(f"step={step} was not evaluated for {missing}")
    summary = experiment.mean_ci(at, ["method"], value).set_index("method")
    values = at.groupby("method")[value]
    summary["var"] = values.var(ddof=1)
    summary["min"] = values.min()
    summary["max"] = values.max()
    return summary


def spread_over_training(frame: pd.DataFrame, value: str = "test_accuracy") -> pd.DataFrame:
    """Per method and evaluation step: the mean and the variance of ``value`` over runs (Fig. 14)."""
    grouped = frame.groupby(["method", "step"])[value]
    return grouped.agg(mean="mean", var=lambda v: v.var(ddof=1)).reset_index()


# --------------------------------------------------------------------------- verdicts (the book's paired rule)

# From least to most favourable to a claim "A beats B": a claim against several rivals takes the
# least favourable of its comparisons.
VERDICT_ORDER = ("not reproduced", "mixed", "inconclusive", "reproduced")


def final_values(frame: pd.DataFrame, value: str = "test_accuracy", step: int | None = None) -> pd.DataFrame:
    """``value`` at ``step`` (default: the last) per seed (rows) and method (columns): the paired data."""
    step = int(frame["step"].max()) if step is None else step
    return frame[frame["step"] == step].pivot_table(index="seed", columns="method", values=value, aggfunc="first")


def beats(values: pd.DataFrame, method: str, rivals: Sequence[str]) -> list[PairedComparison]:
    """The book's rule for "``method`` reaches a higher value than each rival" on the same seeds."""
    return [compare_paired(values[method], values[r], method, r, higher_is_better=True) for r in rivals]


def least_favourable(results: Sequence[PairedComparison]) -> PairedComparison:
    """The comparison that decides "beats all of them": the least favourable verdict (among equal
    verdicts, the smallest mean difference)."""
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    return min(results, key=lambda r: (rank[r.verdict], r.mean_difference))


def verdict_counts(results: Sequence[PairedComparison]) -> str:
    """"2 reproduced, 1 inconclusive" for a list of comparisons."""
    counts = pd.Series([r.verdict for r in results]).value_counts()
    return ", ".join(f"{counts[v]} {v}" for v in reversed(VERDICT_ORDER) if v in counts)


def against_paper(final: pd.DataFrame, paper: Mapping[str, float], paper_runs: int = FIG8_PAPER_RUNS,
                  level: float = 0.95) -> pd.DataFrame:
    """Our mean against a paper's mean over ``paper_runs`` runs, per method.

    The paper's mean is itself an average over runs, so the interval of (ours − paper) allows for
    the sampling error of both: ± t · s · √(1/n + 1/paper_runs), with s our standard deviation over
    runs (the paper's is not given). ``beyond``: the paper's mean lies outside that interval.
    """
    from scipy import stats

    rows = []
    for method, reference in paper.items():
        mean, std, n = final.loc[method, "mean"], final.loc[method, "std"], int(final.loc[method, "n"])
        half = stats.t.ppf(0.5 + level / 2, n - 1) * std * np.sqrt(1 / n + 1 / paper_runs)
        rows.append({"method": method, "paper": reference, "ours": mean, "difference": mean - reference,
                     "half-width": half, "beyond": abs(mean - reference) > half})
    return pd.DataFrame(rows).set_index("method")


def order_agreement(ours: Mapping[str, float], paper: Mapping[str, float]) -> tuple[float, list[tuple[str, str]]]:
    """The fraction of method pairs that ours and the paper order the same way, and the pairs
    ordered the other way (each as (paper's higher, paper's lower))."""
    methods = list(paper)
    pairs = list(itertools.combinations(methods, 2))
    swapped = [(a, b) if paper[a] > paper[b] else (b, a) for a, b in pairs
               if np.sign(paper[a] - paper[b]) != np.sign(ours[a] - ours[b])]
    return 1 - len(swapped) / len(pairs), swapped


def steps_to_level(frame: pd.DataFrame, method: str, level: float, value: str = "test_accuracy") -> pd.Series:
    """Per seed, the first evaluated step at which ``method``'s ``value`` reaches ``level`` (inf: never)."""
    rows = frame[frame["method"] == method]
    if rows.empty:
        raise ValueError(f"frame has no rows of {method!r}")
    reached = rows[rows[value] >= level].groupby("seed")["step"].min()
    return reached.reindex(sorted(rows["seed"].unique())).astype(float).fillna(np.inf)


def speed(frame: pd.DataFrame, method: str, rival: str, fraction: float = 0.9, value: str = "test_accuracy",
          margin: float = 0.05) -> dict:
    """Is ``method`` faster than ``rival``? The steps each run needs to reach one fixed accuracy
    that both methods reach, judged by the book's paired rule (fewer steps is better; a run that
    never reaches the level counts as slower than any run that does).

    The level is ``fraction`` of the way from chance to the lower of the two final mean
    accuracies, so both mean curves reach it. When that lower mean is within ``margin`` of
    chance there is no common level worth the name: ``comparison`` is None.
    """
    final = final_values(frame, value)
    weaker = min(final[method].mean(), final[rival].mean())
    result = {"level": np.nan, "comparison": None, "steps": None, "rival_steps": None}
    if weaker - CHANCE < margin:
        return result
    level = CHANCE + fraction * (weaker - CHANCE)
    a, b = steps_to_level(frame, method, level, value), steps_to_level(frame, rival, level, value)
    comparison = compare_paired(a.to_numpy(), b.loc[a.index].to_numpy(), method, rival)
    return {"level": level, "comparison": comparison, "steps": a, "rival_steps": b}


def spread_difference(values: pd.DataFrame, method: str, rival: str, resamples: int = 4000, level: float = 0.95,
                      seed: int = 0) -> dict:
    """Is ``method``'s final value less spread over runs than ``rival``'s? The difference of the
    standard deviations over runs, with a paired bootstrap interval (runs resampled jointly, as
    both methods ran on the same seeds). ``says``: "lower" / "higher" (interval below / above 0)
    or "unclear"."""
    pair = values[[method, rival]].dropna().to_numpy()
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(pair), size=(resamples, len(pair)))
    boot = pair[index].std(axis=1, ddof=1)
    differences = boot[:, 0] - boot[:, 1]
    lo, hi = np.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    std_a, std_b = pair[:, 0].std(ddof=1), pair[:, 1].std(ddof=1)
    says = "lower" if hi < 0 else "higher" if lo > 0 else "unclear"
    return {"std": std_a, "rival_std": std_b, "difference": std_a - std_b, "lo": float(lo), "hi": float(hi),
            "says": says}


def aspects(problems: Mapping[str, tuple[pd.DataFrame, str]], rivals: Sequence[str] = ("SGD", "Adam"),
            chance_margin: float = 0.05) -> pd.DataFrame:
    """The abstract's three words, per problem and rival, each by a paired measurement.

    More accurate: :func:`compare_paired` on the final test accuracies. Faster: :func:`speed`.
    More robust: :func:`spread_difference` of the final accuracies. ``rival at chance``: the
    rival's mean final accuracy is within ``chance_margin`` of chance (it learned nothing, so a
    small spread says nothing about robustness).
    """
    rows = []
    for problem, (frame, method) in problems.items():
        values = final_values(frame)
        for rival in rivals:
            if rival not in values.columns:
                continue
            accurate = compare_paired(values[method], values[rival], method, rival, higher_is_better=True)
            fast = speed(frame, method, rival)
            spread = spread_difference(values, method, rival)
            fc = fast["comparison"]
            rows.append({
                "problem": problem, "method": method, "against": rival,
                "accuracy": values[method].mean(), "rival accuracy": values[rival].mean(),
                "accuracy difference": accurate.mean_difference, "accuracy lo": accurate.mean_lo,
                "accuracy hi": accurate.mean_hi, "more accurate": accurate.verdict,
                "level": fast["level"],
                "steps": np.nan if fc is None else fc.median_a, "rival steps": np.nan if fc is None else fc.median_b,
                "steps lo": np.nan if fc is None else fc.median_lo, "steps hi": np.nan if fc is None else fc.median_hi,
                "faster": "no common level" if fc is None else fc.verdict,
                "std": spread["std"], "rival std": spread["rival_std"], "std lo": spread["lo"], "std hi": spread["hi"],
                "more robust": {"lower": "reproduced", "higher": "not reproduced", "unclear": "inconclusive"}[spread["says"]],
                "rival at chance": values[rival].mean() - CHANCE < chance_margin,
                "comparisons": {"accurate": accurate, "faster": fc},
            })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- temperature


def gradient_noise(task, parameters: Mapping[str, np.ndarray], seeds: Sequence[int], device="cpu") -> pd.DataFrame:
    """σ_g² per run and layer at ``parameters`` (a snapshot): the variance of one minibatch
    gradient about the full-data gradient, averaged over the layer's entries, measured over one
    epoch of the task's own minibatches. Returns columns ``seed``, ``layer``, ``sigma_g2``."""
    model = task.build(seeds, device=device)
    tensors = [p for p in model.parameters()]
    with torch.no_grad():
        for name, t in zip(PARAMETER_NAMES, tensors):
            t.copy_(torch.as_tensor(parameters[name]).to(t))
    runs, n = model.train_x.shape[:2]

    def gradient(batch):
        for t in tensors:
            t.grad = None
        model(batch).sum().backward()  # per-run losses: the sum keeps each run's gradient its own
        return [t.grad.detach().clone() for t in tensors]

    with bench.torch_threads(_threads(device)):
        full = gradient(torch.arange(n, device=model.train_x.device).expand(runs, n))
        squares = [torch.zeros_like(g) for g in full]
        batches = -(-n // model.batch_size)
        for _ in range(batches):
            for acc, g, g_full in zip(squares, gradient(model.sample_batch()), full):
                acc.add_((g - g_full).pow(2))
    by_name = dict(zip(PARAMETER_NAMES, squares))
    rows = []
    for part, names in {**LAYERS, **{n: (n,) for n in PARAMETER_NAMES}}.items():
        total = sum(by_name[m].reshape(runs, -1).sum(1) for m in names)
        entries = sum(by_name[m][0].numel() for m in names)
        for r, seed in enumerate(model.seeds):
            rows.append({"seed": seed, "part": part, "sigma_g2": float(total[r] / (entries * batches))})
    return pd.DataFrame(rows)


def temperature_table(probes: pd.DataFrame, noise: Mapping[str, pd.DataFrame], taus: Mapping[str, float], h: float,
                      gamma: float, after: int) -> pd.DataFrame:
    """Per temperature and layer: the kinetic temperature measured after step ``after`` (each run's
    time average; ``measured`` the mean over runs, ``measured lo``/``hi`` the smallest and largest
    run), σ_g² (mean over runs, :func:`gradient_noise`) and the prediction τ + h²σ_g²/(1 − e^{−2γh})
    (:func:`noise_temperature`). ``taus`` maps each method label of ``probes`` to its τ."""
    late = probes[probes["step"] > after]
    rows = []
    for label, tau in taus.items():
        per_run = late[late["method"] == label].groupby("seed")[[f"T {layer}" for layer in LAYERS]].mean()
        sigma = noise[label].groupby("part")["sigma_g2"].mean()
        for layer in LAYERS:
            values = per_run[f"T {layer}"]
            rows.append({"tau": tau, "layer": layer, "measured": values.mean(), "measured lo": values.min(),
                         "measured hi": values.max(), "sigma_g2": sigma[layer],
                         "noise heat": float(noise_temperature(sigma[layer], h, gamma)),
                         "predicted": tau + float(noise_temperature(sigma[layer], h, gamma))})
    return pd.DataFrame(rows)


def combine_parts(verdicts: Sequence[str]) -> str:
    """One verdict for a claim judged part by part: all parts alike → that verdict; some
    reproduced → partly reproduced; none reproduced → the least favourable part's verdict."""
    verdicts = list(verdicts)
    if len(set(verdicts)) == 1:
        return verdicts[0]
    if "reproduced" in verdicts:
        return "partly reproduced"
    return min(verdicts, key=VERDICT_ORDER.index)


def noise_temperature(sigma_g2, h: float, gamma: float):
    """The kinetic temperature that minibatch noise alone gives a BAOAB partition: the stored
    momentum obeys p ← e^{−γh}p + √((1 − e^{−2γh})τ) R − h(∇L + δ), δ of variance σ_g², so its
    stationary variance is τ + h²σ_g²/(1 − e^{−2γh}); this returns the second term
    (≈ hσ_g²/(2γ) when γh ≪ 1)."""
    return h * h * np.asarray(sigma_g2) / (1 - np.exp(-2 * gamma * h))


def thermostat_friction(sigma_g2, h: float, sigma_A: float, tau: float):
    """The friction ξ at which adaptive Langevin's layer holds temperature τ: heat σ_A² per unit
    time from the D-steps plus hσ_g² from the minibatch noise, removed at rate 2ξτ, so
    ξ = (σ_A² + hσ_g²)/(2τ)."""
    return (sigma_A ** 2 + h * np.asarray(sigma_g2)) / (2 * tau)


def parameter_values(snapshots: Mapping[str, Mapping[int, dict]], step: int, name: str = "W1") -> pd.DataFrame:
    """Every entry of tensor ``name`` over all runs after ``step`` updates, per method (Figs. 6-8):
    columns ``method``, ``value``."""
    frames = []
    for label, by_step in snapshots.items():
        if step not in by_step:
            raise ValueError(f"no snapshot of {label!r} at step {step}; have {sorted(by_step)}")
        frames.append(pd.DataFrame({"method": label, "value": by_step[step][name].reshape(-1)}))
    return pd.concat(frames, ignore_index=True)


def decision_map(parameters: Mapping[str, np.ndarray], run: int, extent: float = 2.5,
                 resolution: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The classifier of run ``run``: P(class 1) on a ``resolution``² grid over [−extent, extent]².

    Returns (x1, x2, probability) with probability[i, j] at (x1[j], x2[i]), for ``pcolormesh``.
    """
    axis = np.linspace(-extent, extent, resolution)
    x1, x2 = np.meshgrid(axis, axis)
    points = np.stack([x1.ravel(), x2.ravel()], 1)
    hidden = np.maximum(points @ parameters["W1"][run] + parameters["b1"][run], 0.0)
    logits = (hidden @ parameters["W2"][run] + parameters["b2"][run])[:, 0]
    return axis, axis, (1.0 / (1.0 + np.exp(-logits))).reshape(resolution, resolution)


def ensemble_speedups(tasks: Mapping[str, object], settings: Sequence[Setting], runs: int, steps: int,
                      loop_runs: int, device="cpu") -> pd.DataFrame:
    """One batched ensemble of ``runs`` runs against a loop of single runs (measured now, not cached),
    per task and setting: :func:`optbook.bench.ensemble_speedup` with this chapter's optimizers, on
    the threads :func:`train` uses (column ``threads``)."""
    rows = []
    for task_label, task in tasks.items():
        for setting in settings:
            with bench.torch_threads(_threads(device)):
                row = bench.ensemble_speedup(task, lambda params, seeds, s=setting: make_optimizer(s, seeds)(params),
                                             runs=runs, steps=steps, loop_runs=loop_runs, name=setting.label,
                                             device=device)
                rows.append(row.assign(problem=task_label, threads=torch.get_num_threads()))
    return pd.concat(rows, ignore_index=True)


def closure(optimizer: torch.optim.Optimizer, model, batch: torch.Tensor):
    """The closure ``optimizer.step`` takes for one minibatch of a batched ``model`` (zero the
    gradients, evaluate every run's loss on ``batch``, back-propagate their sum, return the
    losses): the one :func:`optbook.experiment.run_ensemble` passes at every step, for a page
    that steps an optimizer by hand (a chapter's source defines no functions)."""
    return experiment._closure(optimizer, model, batch)


def gaussian_variance_check(k: float = 2.0, taus: Sequence[float] = (1e-4, 1e-2, 1.0), runs: int = 500,
                            steps: int = 3000) -> pd.DataFrame:
    """Sample N(0, τ/k), the stationary law of L(θ) = kθ²/2 at temperature τ, with BAOAB (h = 0.5,
    γ = 1) and SGLD (h = 0.05), ``runs`` chains as one ensemble: the sample variance over the last
    two thirds of ``steps`` against τ/k. BAOAB is exact for any stable step; SGLD's Euler step is
    biased by 1/(1 − hk/2)."""
    from optbook.optim import BAOAB, SGLD

    samplers = {"BAOAB (h=0.5, γ=1)": (BAOAB, {"lr": 0.5, "gamma": 1.0}), "SGLD (h=0.05)": (SGLD, {"lr": 0.05})}
    rows = []
    for tau in taus:
        for name, (sampler, hyper) in samplers.items():
            theta = torch.zeros(runs, 1, dtype=torch.float64, requires_grad=True)
            optimizer = sampler([theta], tau=tau, ensemble_dim=0, generator=torch.Generator().manual_seed(1), **hyper)

            def closure():
                optimizer.zero_grad()
                loss = 0.5 * k * theta.pow(2).sum()
                loss.backward()
                return loss

            samples = []
            for step in range(steps):
                optimizer.step(closure)
                if step >= steps // 3:
                    samples.append(theta.detach().clone())
            rows.append({"integrator": name, "τ": tau, "target variance τ/k": tau / k,
                         "sample variance": torch.cat(samples).var().item()})
    return pd.DataFrame(rows)


def fig10_rival_order(settings: Sequence[Setting], rivals: Sequence[str]) -> list[str]:
    """Fig. 10's bars in order: the SGLD settings as configured, then Adam by rising step size
    (labels ``"Adam (h=0.005)"``)."""
    adam = [m for m in rivals if m.startswith("Adam")]
    return [s.label for s in settings if s.method == "SGLD"] + sorted(adam, key=_step_of_label)


def _step_of_label(label: str) -> float:
    return float(label.split("=")[1].rstrip(")"))


def gaussian_initialisations(two_task, four_task, two_seeds: Sequence[int], four_seeds: Sequence[int],
                             config: Mapping, device="cpu") -> dict[tuple[str, str], pd.DataFrame]:
    """Figs. 9 and 14's Gaussian initial weights (each of :data:`GAUSSIAN_STDS`): Fig. 14's methods
    on the 2-turn spirals and Adam and AdLaLa on the 4-turn spirals, on the given runs; keyed
    ``(problem, "N(0, s²)")``."""
    from optbook.tasks.initialisation import GaussianInit

    init, two, four = config["initialisation"], config["two_turn"], config["four_turn"]
    two_settings = [s for s in FIG8 if s.label in init["two_turn_methods"]]
    frames = {}
    for std in GAUSSIAN_STDS:
        frames[("2-turn", f"N(0, {std:g}²)")] = compare(GaussianInit(two_task, std), two_settings, two_seeds,
                                                        two["steps"], two["eval_every"], device=device)["frame"]
        frames[("4-turn", f"N(0, {std:g}²)")] = compare(GaussianInit(four_task, std), (ADAM, FIG10_ADLALA), four_seeds,
                                                        init["four_turn_steps"], four["eval_every"], device=device)["frame"]
    return frames
