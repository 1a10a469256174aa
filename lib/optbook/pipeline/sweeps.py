"""Sweeps: one chapter executed once per combination of parameter values, each execution one
task on Dask distributed (a ``LocalCluster`` here, or any running scheduler).

A sweep folder holds one sub-folder per combination (``seed=3``, ``scale=smoke,seed=3``) with the
stamped notebook and its recorded claims (``results/NN.json``), or, when the chapter failed, its
``.failed.ipynb`` and ``error.txt``; ``sweep.json`` says what was asked and ``summary.csv`` gives
every claim of every combination with its value and verdict. A combination whose notebook is
fresh for its parameters (same source, library, torch) is not executed again, so an interrupted
or partly failed sweep resumes where it stopped.

Sweeps into one folder add up: a second sweep of the same chapter over the same parameters at
the same scale keeps the first one's combinations, and ``sweep.json`` and ``summary.csv`` then
describe them all; a sweep of anything else is refused before any kernel starts (``--fresh``
replaces the folder). An interrupted sweep leaves no combination folder without its notebook.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from optbook.paths import write_atomically
from optbook.pipeline.chapters import Chapter
from optbook.pipeline.errors import BuildError, ChapterFailed
from optbook.pipeline.parameters import (Parameter, build_parameters, check_known, check_value,
                                         convert_value)
from optbook.pipeline.stamps import stale_reasons

SWEEP_FILE = "sweep.json"
SUMMARY_FILE = "summary.csv"
ERROR_FILE = "error.txt"
RESULTS_FOLDER = "results"
# Environment variables that cap a kernel's threads, so that workers sharing a machine do not
# oversubscribe its cores (torch reads OMP_NUM_THREADS when it is imported).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# One chapter at a time per worker process: an execution redirects the process's stderr and
# sets the kernel's environment, both process-wide (a worker may run several threads).
_EXECUTION_LOCK = threading.Lock()


@dataclass(frozen=True)
class Execution:
    """One combination of a sweep: its values, its full parameters and where it writes."""

    values: tuple[tuple[str, object], ...]
    parameters: Mapping[str, object]
    folder: Path

    @property
    def name(self) -> str:
        return combination_name(self.values)

    def notebook(self, chapter: Chapter) -> Path:
        return self.folder / f"{chapter.id}.ipynb"

    @property
    def results(self) -> Path:
        return self.folder / RESULTS_FOLDER


def combination_name(values: Iterable[tuple[str, object]]) -> str:
    """``seed=3`` or ``scale=smoke,seed=3``: a folder name that says what the combination is."""
    parts = []
    for name, value in values:
        text = str(value).replace(os.sep, "_").replace(" ", "")
        parts.append(f"{name}={text}")
    return ",".join(parts) or "defaults"


def parse_grid(
    chapter: Chapter, parameters: Mapping[str, Parameter], given: Sequence[Sequence[str]]
) -> dict[str, list[object]]:
    """``-p NAME VALUE [VALUE ...]`` groups as typed, checked values; a name given twice is refused."""
    grid: dict[str, list[object]] = {}
    for name, *texts in given:
        check_known(chapter, parameters, name)
        if name in grid:
            raise BuildError(f"parameter {name!r} is given twice; list all its values after one -p")
        if not texts:
            raise BuildError(f"parameter {name!r} has no values; give -p {name} VALUE [VALUE ...]")
        values = [convert_value(parameters[name], text) for text in texts]
        for value in values:
            check_value(parameters[name], value)
        if len(set(map(repr, values))) != len(values):
            raise BuildError(f"parameter {name!r} lists a value twice: {' '.join(texts)}")
        grid[name] = values
    return grid


def plan_sweep(
    chapter: Chapter, parameters: Mapping[str, Parameter], grid: Mapping[str, Sequence[object]],
    scale: str, folder: Path,
) -> list[Execution]:
    """Every combination of ``grid`` over the chapter's build parameters at ``scale``."""
    base = build_parameters(chapter, parameters, scale)
    names = list(grid)
    return [_planned(base, tuple(zip(names, combination)), folder)
            for combination in itertools.product(*(grid[name] for name in names))]


def _planned(base: Mapping[str, object], values: tuple[tuple[str, object], ...], folder: Path) -> Execution:
    return Execution(values, {**base, **dict(values)}, Path(folder) / combination_name(values))


def is_done(chapter: Chapter, execution: Execution) -> bool:
    """Executed before with these parameters by the same source, library and torch."""
    notebook = execution.notebook(chapter)
    return notebook.is_file() and execution.results.is_dir() and not stale_reasons(
        chapter, execution.parameters, executed=notebook
    )


def run_execution(chapter: Chapter, execution: Execution, kernel_threads: int | None) -> dict:
    """Execute one combination (on a Dask worker): the outcome, never an exception for a chapter
    that failed, so one failure does not stop the sweep."""
    from optbook.pipeline.execution import execute_chapter

    kernel_env = {name: str(kernel_threads) for name in THREAD_VARIABLES} if kernel_threads else None
    # A worker's stderr is not the user's terminal: its warnings travel back with the outcome.
    outcome = {"combination": execution.name, "values": dict(execution.values), "warnings": []}
    error_file = execution.folder / ERROR_FILE
    with _EXECUTION_LOCK:
        started = time.perf_counter()
        try:
            stamp = execute_chapter(
                chapter, execution.parameters, output=execution.notebook(chapter), progress=False,
                results_to=execution.results, kernel_env=kernel_env, notify=outcome["warnings"].append,
            )
        except ChapterFailed as failure:
            execution.folder.mkdir(parents=True, exist_ok=True)
            message = (f"cell {failure.cell_index} (source line {failure.line}) raised "
                       f"{failure.ename}: {failure.evalue}\nfailed notebook: {failure.failed_notebook}\n")
            error_file.write_text(message)
            return {**outcome, "status": "failed", "error": f"{failure.ename}: {failure.evalue}",
                    "wall_time_s": round(time.perf_counter() - started, 3)}
        except Exception as error:  # a kernel that died, a full disk: kept, and the sweep goes on
            execution.folder.mkdir(parents=True, exist_ok=True)
            error_file.write_text(f"{type(error).__name__}: {error}\n")
            return {**outcome, "status": "failed", "error": f"{type(error).__name__}: {error}",
                    "wall_time_s": round(time.perf_counter() - started, 3)}
    error_file.unlink(missing_ok=True)
    return {**outcome, "status": "executed", "error": "", "wall_time_s": stamp["wall_time_s"]}


def default_workers(threads_per_execution: int, cores: int | None = None) -> int:
    """As many workers as the cores hold executions of ``threads_per_execution`` threads."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, threads_per_execution))


def run_sweep(
    chapter: Chapter,
    executions: Sequence[Execution],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    kernel_threads: int = 1,
    progress: bool = True,
    write=print,
) -> list[dict]:
    """Execute the combinations not yet done, as Dask tasks; the outcomes, in plan order."""
    from tqdm.auto import tqdm

    outcomes = {e.name: {"combination": e.name, "values": dict(e.values), "status": "done before",
                         "error": "", "wall_time_s": None} for e in executions if is_done(chapter, e)}
    to_run = [e for e in executions if e.name not in outcomes]
    if to_run:
        client, cluster = _connect(scheduler, workers or default_workers(kernel_threads))
        try:
            futures = [
                client.submit(run_execution, chapter, e, kernel_threads, key=f"{chapter.id}-{e.name}-{time.time_ns()}",
                              pure=False)
                for e in to_run
            ]
            from distributed import as_completed

            bar = tqdm(total=len(futures), desc=f"sweep {chapter.id}", unit="run", disable=not progress)
            for future in as_completed(futures):
                outcome = future.result()
                outcomes[outcome["combination"]] = outcome
                for warning in outcome.get("warnings", ()):
                    write(f"{outcome['combination']}: {warning}")
                if outcome["status"] == "failed":
                    write(f"{outcome['combination']}: failed ({outcome['error']})")
                bar.update()
            bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return [outcomes[e.name] for e in executions]


def _connect(scheduler: str | None, workers: int):
    """A client of the scheduler at ``scheduler``, or of a new ``LocalCluster`` of ``workers``
    single-threaded worker processes (each runs one chapter kernel at a time)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BuildError("optbook sweep needs Dask distributed: pip install 'optbook[book]' "
                         "(or pip install distributed)") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as err:
            raise BuildError(f"--scheduler {scheduler}: cannot connect ({err})") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)
    return Client(cluster), cluster


def claim_rows(chapter: Chapter, executions: Sequence[Execution], outcomes: Sequence[Mapping]) -> list[dict]:
    """One row per claim per combination (one row for a combination that recorded none)."""
    from optbook.claims import load

    number = chapter.id.split("_")[0]
    rows = []
    for execution, outcome in zip(executions, outcomes):
        base = {**dict(execution.values), "combination": execution.name, "status": outcome["status"]}
        claims = load(execution.results / f"{number}.json") if outcome["status"] != "failed" else []
        if not claims:
            rows.append({**base, "claim": "", "verdict": "", "ours": "", "error": outcome.get("error", "")})
        for claim in claims:
            rows.append({**base, "claim": claim.get("id", ""), "verdict": claim.get("verdict", ""),
                         "ours": claim.get("ours", ""), "error": ""})
    return rows


def scales_run(executions: Sequence[Execution]) -> str | list[str]:
    """The scale every execution ran at (``-p scale`` in the grid overrides ``--scale``): one name,
    or the sorted names when the grid varies it."""
    found = sorted({str(e.parameters.get("scale")) for e in executions})
    return found[0] if len(found) == 1 else found


def earlier_sweep(folder: Path, chapter: Chapter, scale: str | list[str], grid: Mapping) -> dict | None:
    """What an earlier sweep recorded in ``folder`` (None if none), refused with a ``BuildError``
    unless it swept the same chapter over the same parameters at the same scale."""
    record_file = Path(folder) / SWEEP_FILE
    if not record_file.is_file():
        return None
    try:
        record = json.loads(record_file.read_text())
        names = list(record["grid"])
        combinations = record.get("combinations") or [
            dict(zip(names, values)) for values in itertools.product(*record["grid"].values())]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise BuildError(f"{record_file} is not a sweep record ({type(err).__name__}); "
                         "use another --folder, or --fresh to replace it") from None
    ours = {"chapter": chapter.id, "parameters": sorted(grid), "scale": scale}
    theirs = {"chapter": record.get("chapter"), "parameters": sorted(names), "scale": record.get("scale")}
    differing = [f"{key} {theirs[key]!r} (now {ours[key]!r})" for key in ours if ours[key] != theirs[key]]
    if differing:
        raise BuildError(f"{folder} holds another sweep: {', '.join(differing)}; a sweep adds to a folder only "
                         "with the same chapter, parameters and scale. Use another --folder, or --fresh to "
                         "replace that sweep")
    return {"combinations": combinations, "wall_time_s": float(record.get("wall_time_s") or 0.0)}


def clear_folder(folder: Path) -> None:
    """``--fresh``: remove an earlier sweep from ``folder``; a folder that holds no sweep record
    but other files is refused rather than emptied."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not (folder / SWEEP_FILE).is_file() and any(folder.iterdir()):
        raise BuildError(f"--fresh: {folder} holds files but no {SWEEP_FILE}; it is not a sweep folder, "
                         "so it is left alone: choose another --folder")
    shutil.rmtree(folder)


def with_earlier(chapter: Chapter, executions: Sequence[Execution], earlier: dict | None,
                 parameters: Mapping[str, Parameter], scale: str, folder: Path) -> list[Execution]:
    """The earlier sweep's combinations that this one does not repeat, planned like this one's."""
    if not earlier:
        return []
    names = {e.name for e in executions}
    base = build_parameters(chapter, parameters, scale)
    planned = [_planned(base, tuple(values.items()), folder) for values in earlier["combinations"]]
    return [e for e in planned if e.name not in names]


def kept_outcome(chapter: Chapter, execution: Execution) -> dict:
    """An earlier sweep's combination as it was left: executed, failed (its error.txt) or missing."""
    outcome = {"combination": execution.name, "values": dict(execution.values), "wall_time_s": None}
    error_file = execution.folder / ERROR_FILE
    if error_file.is_file():
        return {**outcome, "status": "failed", "error": error_file.read_text().strip().splitlines()[0]}
    if execution.notebook(chapter).is_file():
        return {**outcome, "status": "earlier sweep", "error": ""}
    return {**outcome, "status": "failed", "error": "its notebook is missing"}


def remove_unfinished(chapter: Chapter, executions: Sequence[Execution]) -> list[Path]:
    """After an interrupt: combination folders holding neither a notebook nor an error go, so a
    folder in a sweep always holds what ran there."""
    removed = []
    for execution in executions:
        folder = execution.folder
        if not folder.is_dir() or execution.notebook(chapter).is_file() or (folder / ERROR_FILE).is_file():
            continue
        if not any(path.is_file() for path in folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def merged_grid(executions: Sequence[Execution]) -> dict[str, list]:
    """Each parameter's values over all combinations, in order of first appearance."""
    grid: dict[str, list] = {}
    for execution in executions:
        for name, value in execution.values:
            if value not in grid.setdefault(name, []):
                grid[name].append(value)
    return grid


def write_sweep_files(folder: Path, chapter: Chapter, scale: str | list[str], executions: Sequence[Execution],
                      rows: list[dict], wall_time_s: float) -> Path:
    """``sweep.json`` (what ran, how long it took) and ``summary.csv``, each replaced atomically;
    the summary's path."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    description = {"chapter": chapter.id, "scale": scale, "grid": merged_grid(executions),
                   "combinations": [dict(e.values) for e in executions], "wall_time_s": round(wall_time_s, 1)}
    write_atomically(folder / SWEEP_FILE, (json.dumps(description, indent=1, default=str) + "\n").encode())
    summary = folder / SUMMARY_FILE
    write_atomically(summary, pd.DataFrame(rows).to_csv(index=False).encode())
    return summary


def verdict_table(rows: list[dict]):
    """Claims down, combinations across, verdicts in the cells: what a reader of a sweep wants."""
    import pandas as pd

    frame = pd.DataFrame([row for row in rows if row["claim"]])
    if frame.empty:
        return frame
    order = list(dict.fromkeys(frame["combination"]))
    table = frame.pivot(index="claim", columns="combination", values="verdict").reindex(columns=order)
    return table.fillna("—").reset_index().rename_axis(columns=None)


def default_folder(root: Path, chapter: Chapter, grid: Mapping) -> Path:
    return Path(root) / "sweeps" / f"{chapter.id}-{'-'.join(grid) or 'defaults'}"


SEED_SWEEPS = Path("book/results/sweeps")


def _seed_changes_nothing(rows: list[dict]) -> bool:
    """True when every claim recorded one and the same value in every seed (with two seeds or more)."""
    values: dict[str, set] = {}
    for row in rows:
        if row["claim"]:
            values.setdefault(row["claim"], set()).add(str(row["ours"]))
    seeds = {str(row["seed"]) for row in rows}
    return len(seeds) > 1 and bool(values) and all(len(v) == 1 for v in values.values())


def check_publishable(grid: Mapping) -> None:
    """Only a sweep over ``seed`` alone says how a chapter's verdicts hold across seeds."""
    if list(grid) != ["seed"]:
        raise BuildError(f"--publish: only a sweep over seed alone is published; this one varies {', '.join(grid)}")


def publish_seed_sweep(root: Path, chapter: Chapter, scale: str, grid: Mapping, rows: list[dict],
                       wall_time_s: float) -> Path:
    """Commit-ready record of a sweep over ``seed`` alone, for the ledger's "holds in k of n
    seeds": ``book/results/sweeps/NN.json``. Refused unless every execution succeeded at the
    scale the book publishes, so the ledger never counts a partial or off-scale sweep."""
    check_publishable(grid)
    failed = sorted({row["combination"] for row in rows if row["status"] == "failed"})
    if failed:
        raise BuildError(f"--publish: not published, {len(failed)} execution(s) failed: {', '.join(failed)}")
    if _seed_changes_nothing(rows):
        raise BuildError("--publish: every seed recorded the same values for every claim, so this chapter's "
                         "seed does not reach its experiments; a seed sweep of it says nothing and is not published")
    from optbook.claims import load

    published = load(Path(root) / "book" / "results" / f"{chapter.id.split('_')[0]}.json")
    published_scales = {claim.get("scale") for claim in published}
    if published_scales and published_scales != {scale}:
        raise BuildError(f"--publish: the book's results are at scale {', '.join(map(str, published_scales))}; "
                         f"this sweep ran at {scale}")
    verdicts: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["claim"]:
            verdicts.setdefault(row["claim"], {})[str(row["seed"])] = row["verdict"]
    record = {"chapter": chapter.id, "scale": scale, "parameter": "seed", "values": list(grid["seed"]),
              "wall_time_s": round(wall_time_s, 1), "verdicts": verdicts}
    target = Path(root) / SEED_SWEEPS / f"{chapter.id.split('_')[0]}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=1) + "\n")
    return target
