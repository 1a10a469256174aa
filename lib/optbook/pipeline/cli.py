"""The ``optbook`` command: list, status, run, sweep and build the book's chapters; dry-run their
config tables; benchmark the optimizers.

Argument parsing, printing and exit codes only; the work is in :mod:`optbook.pipeline` (and
:mod:`optbook.bench` for ``bench``, the one command that needs no book).
Exit codes: 0 success, 1 a chapter failed, 2 a bad request (one message on stderr naming what
is allowed); a build that renders HTML returns jupyter-book's exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optbook import pipeline as build
from optbook.pipeline import BuildError, Chapter, ChapterFailed, Parameter
from optbook.paths import BOOK_MARKER, find_project_root
from optbook.session import SCALES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
SOURCE_LINES_SHOWN = 6
BENCHMARKS = ("steps", "ensemble", "meta")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on bad syntax; we return instead
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        # `bench` measures the library, not a book: it runs from any folder (root None).
        root = resolve_root(args.root) if getattr(args, "needs_book", True) else None
        return args.command(root, args)
    except BuildError as err:
        print(f"optbook: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Scratch folders are context managers and the kernel is shut down on the way out; the
        # published notebook and results are replaced only at the end, so nothing is half-written.
        print("optbook: interrupted; the published chapters and results are as they were", file=sys.stderr)
        return EXIT_INTERRUPTED


# --------------------------------------------------------------------------- arguments


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbook",
        description="Execute the book's chapters (notebooks/NN_name.py) with papermill and build the book.",
        epilog="exit codes: 0 done, 1 a chapter failed, 2 a bad request; "
        "a build that renders HTML returns jupyter-book's exit code",
    )
    parser.add_argument("--root", metavar="DIR", help="the book's folder (default: the one holding the cwd)")
    # Subcommands accept --root too; SUPPRESS keeps them from overwriting a --root given before.
    with_root = argparse.ArgumentParser(add_help=False)
    with_root.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS, help="the book's folder")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", parents=[with_root], help="chapters and their parameters")
    listing.set_defaults(command=command_list)

    status = commands.add_parser(
        "status", parents=[with_root], help="each chapter's stamp: fresh or stale, and why"
    )
    _add_scale(status)
    status.set_defaults(command=command_status)

    run = commands.add_parser("run", parents=[with_root], help="execute one chapter with given parameters")
    run.add_argument("chapter", metavar="CHAPTER", help="id (00_name), number (00 or 0) or name")
    run.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="set a parameter (repeatable); the value takes the type of the default",
    )
    run.add_argument("--output", metavar="PATH", type=Path, help="default: book/chapters/<id>.ipynb")
    run.add_argument("--results", metavar="DIR", type=Path,
                     help="with --output: keep the claims the run records in DIR/NN.json (default: nowhere)")
    _add_no_progress(run)
    run.set_defaults(command=command_run)

    build_ = commands.add_parser(
        "build", parents=[with_root],
        help="execute stale chapters, render the claims ledger, run jupyter-book",
    )
    _add_scale(build_)
    build_.add_argument("--chapters", nargs="+", metavar="ID", help="only these chapters (default: all)")
    build_.add_argument("--force", action="store_true", help="execute the chosen chapters even when fresh")
    build_.add_argument("--no-html", action="store_true", help="skip `jupyter-book build`")
    _add_no_progress(build_)
    build_.set_defaults(command=command_build)

    sweep = commands.add_parser(
        "sweep", parents=[with_root],
        help="execute one chapter per combination of parameter values, as tasks on Dask distributed",
        epilog="Each combination writes its notebook and claims under the sweep folder; a rerun skips "
        "combinations already done. Without --scheduler a LocalCluster of single-threaded worker "
        "processes runs here; with --scheduler tcp://HOST:8786 the tasks go to a running Dask cluster "
        "(dask-cuda workers for GPUs), whose workers need this checkout at the same path.",
    )
    sweep.add_argument("chapter", metavar="CHAPTER", help="id (00_name), number (00 or 0) or name")
    sweep.add_argument(
        "-p", "--parameter", nargs="+", action="append", default=[], metavar="NAME VALUE",
        help="a parameter and its values: -p seed 1 2 3 (repeatable; every combination runs)",
    )
    _add_scale(sweep)
    sweep.add_argument("--folder", type=Path, metavar="DIR",
                       help="where the executions go (default: sweeps/<chapter>-<names>, git-ignored); an "
                            "earlier sweep there of the same chapter, parameters and scale is added to")
    sweep.add_argument("--fresh", action="store_true", help="remove the earlier sweep in the folder first")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: a LocalCluster)")
    sweep.add_argument("--workers", type=int, metavar="N",
                       help="LocalCluster worker processes (default: cores / --kernel-threads)")
    sweep.add_argument("--kernel-threads", type=int, default=1, metavar="T",
                       help="threads each chapter kernel may use (default: 1)")
    sweep.add_argument("--publish", action="store_true",
                       help="a sweep over seed alone: record its verdicts for the ledger in book/results/sweeps/")
    _add_no_progress(sweep)
    sweep.set_defaults(command=command_sweep)

    dry = commands.add_parser(
        "dry-run", parents=[with_root],
        help="build every optimizee and optimizer of the chapters' config tables and step each once, without training",
        epilog="Checks a scale's tables (default: paper, the GPU scale) on the CPU in seconds: the published "
        "table's keys, the consistency of the steps and runs it names, and one step of every optimizer on "
        "every optimizee at its configured size. Exit 1 if any check fails.",
    )
    dry.add_argument("chapters", nargs="*", metavar="CHAPTER", help="ids, numbers or names (default: all)")
    dry.add_argument("--scale", default="paper", metavar="{" + ",".join(SCALES) + "}",
                     help="the tables to check (default: paper)")
    dry.add_argument("--all", action="store_true", help="print every check, not only those that failed or were skipped")
    _add_no_progress(dry)
    dry.set_defaults(command=command_dry_run)

    site = commands.add_parser(
        "check-site", parents=[with_root],
        help="open every page of the built book in headless Chromium, network off, and list what a reader would hit",
        epilog="Checks _build/html at 1280 px and 390 px: tables and code wider than their frame, pages that pan "
        "sideways on a phone, maths left as TeX, broken links, missing images and files, JavaScript errors. "
        "Needs Chromium (Debian: apt-get install chromium; or $OPTBOOK_CHROMIUM) and playwright (optbook[test]). "
        "Exit 1 if anything was found.",
    )
    site.set_defaults(command=command_check_site)

    nets = commands.add_parser(
        "train-nets", parents=[with_root],
        help="meta-train every run of the kinds of learned optimizer chapters 1, 2 and 5 compare (or find them shipped)",
        epilog="Per kind: the first run's search (its settings, then the meta-learning rate, widened at an edge), "
        "then the other runs at the chosen settings. Nets already shipped or saved with the same fingerprint are "
        "loaded, not retrained, so an interrupted run continues where it stopped. New nets are written beside "
        "the shipped ones in a checkout (to commit), else to the data folder's checkpoints/.",
    )
    _add_scale(nets)
    nets.add_argument("--problems", nargs="+", default=["quadratic", "mnist"], metavar="PROBLEM",
                      help="quadratic and/or mnist (default: both)")
    nets.add_argument("--kinds", nargs="+", metavar="KIND", help="only these kinds (default: every kind of each problem)")
    nets.add_argument("--threads", type=int, default=1, metavar="T", help="torch threads (default: 1)")
    _add_no_progress(nets)
    nets.set_defaults(command=command_train_nets)

    bench = commands.add_parser(
        "bench", help="time optimizer steps against torch's, batched ensembles against loops, and L2L meta-training (no book needed)"
    )
    # Checked by _check_bench rather than argparse choices, for one uniform error message.
    bench.add_argument(
        "--only", metavar="{" + ",".join(BENCHMARKS) + "}", help="run one benchmark (default: all)"
    )
    bench.add_argument("--repeats", type=int, default=5, metavar="N", help="rounds of step timings (default: 5)")
    bench.add_argument(
        "--widths", default="784-1000-1000-10", metavar="W-...-W",
        help="layer widths of the step benchmark's MLP (default: 784-1000-1000-10)",
    )
    bench.add_argument("--batch", type=int, default=128, metavar="B", help="its batch size (default: 128)")
    bench.add_argument("--runs", type=int, default=100, metavar="R", help="runs of the ensemble (default: 100)")
    bench.add_argument(
        "--loop-runs", type=int, default=10, metavar="K",
        help="single runs timed in the loop, extrapolated to R (default: 10; at most R)",
    )
    bench.add_argument("--steps", type=int, default=200, metavar="S", help="training steps per run (default: 200)")
    bench.add_argument("--threads", type=int, default=1, metavar="T", help="torch threads (default: 1)")
    bench.add_argument("--output", metavar="CSV", type=Path, help="also write both tables to one CSV file")
    bench.set_defaults(command=command_bench, needs_book=False)
    return parser


def command_train_nets(root: Path, args) -> int:
    import os
    import time

    import torch

    from optbook.studies import net_kinds

    build.check_scale(args.scale)
    chosen = []
    for problem in args.problems:
        if problem not in net_kinds.PROBLEMS:
            raise BuildError(f"--problems: {problem!r} is not one of {', '.join(net_kinds.PROBLEMS)}")
        there = [key for p, key in net_kinds.KINDS if p == problem]
        for key in args.kinds or there:
            if key not in there:
                raise BuildError(f"--kinds: {key!r} is not a kind trained on {problem}; its kinds are {', '.join(there)}")
            chosen.append((problem, key))
    if args.threads < 1:
        raise BuildError(f"--threads: {args.threads} is not allowed; use 1 or more")
    os.environ.setdefault("OPTBOOK_DATA", str(root / "data"))  # new nets go beside the shipped ones
    torch.set_num_threads(args.threads)
    for problem, key in chosen:
        started = time.perf_counter()
        runs = net_kinds.kind_runs(problem, key, args.scale, progress=not args.no_progress)
        found = runs.search
        scores = ", ".join(f"{n.info['best_score']:.4g}" for n in runs.nets)
        edge = f"; at the edge of the search: {', '.join(found.at_edge)}" if found.at_edge else ""
        print(f"{problem} {key}: meta-lr {found.meta_lr:g} {found.settings or ''}{edge}; validation loss at the "
              f"horizon per run: {scores}; meta-training {runs.train_seconds:.0f} s "
              f"({time.perf_counter() - started:.0f} s now)", flush=True)
    return EXIT_OK


def command_check_site(root: Path, args) -> int:
    from optbook.pipeline import sitecheck

    site = root / "_build" / "html"
    if not (site / "index.html").is_file():
        raise BuildError(f"no built book in {site}; run `optbook build` (or `make book`) first")
    chromium, why = sitecheck.find_chromium()
    if chromium is None:
        raise BuildError(why)
    try:
        import playwright  # noqa: F401  (its absence is a setup error, said plainly)
    except ImportError as err:
        raise BuildError("the browser check needs playwright: pip install 'optbook[test]'") from err
    report = sitecheck.check_site(site, chromium)
    print(sitecheck.summary(report))
    return EXIT_FAILED if report.problems else EXIT_OK


def _add_scale(parser: argparse.ArgumentParser) -> None:
    # Checked by build.check_scale rather than argparse choices, for one uniform error message.
    parser.add_argument(
        "--scale", default=build.DEFAULT_SCALE, metavar="{" + ",".join(SCALES) + "}",
        help=f"the scale a build uses (default: {build.DEFAULT_SCALE})",
    )


def _add_no_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def resolve_root(given: str | None) -> Path:
    if given is None:
        root = find_project_root()
        if root is None:
            raise BuildError(
                f"no book here: no folder at or above {Path.cwd()} holds {BOOK_MARKER} and notebooks/; "
                "pass --root DIR"
            )
        return root
    root = Path(given).expanduser().resolve()
    if not ((root / BOOK_MARKER).is_file() and (root / "notebooks").is_dir()):
        raise BuildError(f"--root {given}: not a book folder (needs {BOOK_MARKER} and notebooks/)")
    return root


# --------------------------------------------------------------------------- commands


def command_list(root: Path, args: argparse.Namespace) -> int:
    for chapter in build.discover_chapters(root):
        print(f"{chapter.id}  ({build.shown_path(chapter.source, root)})")
        print(_format_parameters(build.read_parameters(chapter).values()))
    return EXIT_OK


def command_status(root: Path, args: argparse.Namespace) -> int:
    build.check_scale(args.scale)
    for chapter in build.discover_chapters(root):
        wanted = build.build_parameters(chapter, build.read_parameters(chapter), args.scale)
        reasons = build.stale_reasons(chapter, wanted)
        print(f"{chapter.id}  {'stale: ' + '; '.join(reasons) if reasons else 'fresh'}")
        try:
            stamp = build.read_stamp(chapter.executed_path)
        except BuildError:
            continue  # the reason above already says there is no stamp
        print(f"    {_format_stamp(stamp)}")
        print(f"    parameters: {_format_values(stamp.get('parameters', {}))}")
    return EXIT_OK


def command_run(root: Path, args: argparse.Namespace) -> int:
    chapter = build.find_chapter(build.discover_chapters(root), args.chapter)
    parameters = build.read_parameters(chapter)
    given = build.parse_given_parameters(chapter, parameters, args.parameter)
    resolved = build.resolve_parameters(chapter, parameters, given)
    output = build.check_output_path(args.output.resolve()) if args.output else None
    results = None
    if args.results:
        if output is None:
            raise BuildError("--results needs --output: the book's own run publishes to book/results")
        results = build.check_output_path(args.results.resolve() / "claims.ipynb").parent
    try:
        stamp = build.execute_chapter(chapter, resolved, output=output, progress=not args.no_progress,
                                      results_to=results)
    except ChapterFailed as failure:
        print(_format_failure(failure, root), file=sys.stderr)
        return EXIT_FAILED
    target = output or chapter.executed_path
    print(f"executed {chapter.id} in {stamp['wall_time_s']:.1f} s{_cache_note(stamp)} -> {build.shown_path(target, root)}")
    return EXIT_OK


def command_build(root: Path, args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    started = time.perf_counter()
    scale = build.check_scale(args.scale)
    chosen = _chosen_chapters(root, args.chapters)
    # Resolve every chapter's parameters first, so a bad source fails before any kernel starts.
    plan = [
        (chapter, build.build_parameters(chapter, build.read_parameters(chapter), scale)) for chapter in chosen
    ]
    to_run, fresh = [], []
    for chapter, parameters in plan:
        reasons = ["--force"] if args.force else build.stale_reasons(chapter, parameters)
        (to_run if reasons else fresh).append((chapter, parameters, reasons))

    executed, failed = [], []
    bar = tqdm(to_run, desc="chapters", unit="chapter", disable=args.no_progress or not to_run)
    for chapter, parameters, reasons in bar:
        tqdm.write(f"executing {chapter.id} ({'; '.join(reasons)})")
        try:
            stamp = build.execute_chapter(chapter, parameters, progress=not args.no_progress)
        except ChapterFailed as failure:
            tqdm.write(_format_failure(failure, root), file=sys.stderr)
            failed.append(chapter.id)
            continue
        executed.append(f"{chapter.id} ({stamp['wall_time_s']:.1f} s{_cache_note(stamp)})")

    fresh_ids = [chapter.id for chapter, _, _ in fresh]
    for chapter, _, _ in to_run + fresh:
        if chapter.id not in failed and build.refresh_page(chapter):
            print(f"page of {chapter.id} refreshed: its install cell from _config.yml, its verdicts from its "
                  "results and published seed sweep")
    if failed:
        # A book with a failed chapter is not published: no ledger, no HTML.
        print(_build_summary(scale, executed, fresh_ids, failed, started))
        return EXIT_FAILED
    ledger = build.render_claims_ledger(root)
    print(f"claims ledger: {build.shown_path(ledger, root)}")
    html_exit = EXIT_OK if args.no_html else build.render_html(root)
    print(_build_summary(scale, executed, fresh_ids, failed, started))
    return html_exit


def command_sweep(root: Path, args: argparse.Namespace) -> int:
    from optbook.pipeline import sweeps

    scale = build.check_scale(args.scale)
    chapter = build.find_chapter(build.discover_chapters(root), args.chapter)
    parameters = build.read_parameters(chapter)
    if not args.parameter:
        raise BuildError("give at least one -p NAME VALUE [VALUE ...] to sweep over")
    grid = sweeps.parse_grid(chapter, parameters, args.parameter)
    for name, value in (("--workers", args.workers), ("--kernel-threads", args.kernel_threads)):
        if value is not None and value < 1:
            raise BuildError(f"{name} must be at least 1; got {value}")
    if args.publish:
        sweeps.check_publishable(grid)  # before any worker starts
    folder = (args.folder.resolve() if args.folder else sweeps.default_folder(root, chapter, grid))
    build.check_output_path(folder / f"{chapter.id}.ipynb")  # a folder that cannot be written fails now
    executions = sweeps.plan_sweep(chapter, parameters, grid, scale, folder)
    ran_at = sweeps.scales_run(executions)
    if args.fresh:
        sweeps.clear_folder(folder)
    earlier = sweeps.earlier_sweep(folder, chapter, ran_at, grid)  # refused before any worker starts
    kept = sweeps.with_earlier(chapter, executions, earlier, parameters, scale, folder)
    started = time.perf_counter()
    try:
        outcomes = sweeps.run_sweep(
            chapter, executions, scheduler=args.scheduler, workers=args.workers,
            kernel_threads=args.kernel_threads, progress=not args.no_progress,
            write=lambda line: print(line, file=sys.stderr),
        )
    finally:  # an interrupt leaves no combination folder without its notebook
        sweeps.remove_unfinished(chapter, executions)
    wall_time = time.perf_counter() - started
    everything = [*kept, *executions]
    outcomes = [*(sweeps.kept_outcome(chapter, e) for e in kept), *outcomes]
    rows = sweeps.claim_rows(chapter, everything, outcomes)
    total_time = wall_time + (earlier["wall_time_s"] if earlier else 0.0)
    summary = sweeps.write_sweep_files(folder, chapter, ran_at, everything, rows, total_time)
    table = sweeps.verdict_table(rows)
    if not table.empty:
        print(_format_table(table))
    counts = {status: sum(o["status"] == status for o in outcomes)
              for status in ("executed", "done before", "earlier sweep", "failed")}
    print(f"sweep of {chapter.id}: {len(outcomes)} combination(s), "
          + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
          + f", {wall_time:.1f} s; summary: {build.shown_path(summary, root)}")
    if args.publish:
        published = sweeps.publish_seed_sweep(root, chapter, scale, sweeps.merged_grid(everything), rows, total_time)
        print(f"published for the ledger: {build.shown_path(published, root)}")
    return EXIT_FAILED if counts["failed"] else EXIT_OK


def command_dry_run(root: Path, args: argparse.Namespace) -> int:
    from optbook import dry_run

    scale = build.check_scale(args.scale)
    chosen = _chosen_chapters(root, args.chapters)
    failed = False
    for chapter in chosen:
        key = f"{chapter.number:02d}"
        if key not in dry_run.CASES:
            print(f"{chapter.id}: no dry-run plan (optbook.dry_run.CASES has none for {key})")
            failed = True
            continue
        checks = dry_run.dry_run(key, scale, progress=not args.no_progress)
        counts = checks["status"].value_counts()
        print(f"{chapter.id} at scale={scale!r}: " + ", ".join(f"{counts[s]} {s}" for s in ("ok", "skipped", "failed")
                                                                if s in counts))
        shown = checks if args.all else checks[checks["status"] != "ok"]
        if len(shown):
            print(_format_checks(shown))
        failed |= bool((checks["status"] == "failed").any())
    return EXIT_FAILED if failed else EXIT_OK


def command_bench(root: None, args: argparse.Namespace) -> int:
    import pandas as pd

    from optbook import bench
    from optbook.tasks import SpiralTask

    widths = _check_bench(args)
    tables = {}
    with bench.torch_threads(args.threads):
        if args.only in (None, "steps"):
            optimizers, reference = bench.default_step_optimizers()
            steps = bench.optimizer_step_times(
                bench.mlp_factory(widths, args.batch), optimizers, reference, repeats=args.repeats
            )
            shape = "-".join(map(str, widths))
            print(
                f"optimizer.step() alone, ms (MLP {shape}, {steps.attrs['parameters']:,} parameters, batch "
                f"{args.batch}; {args.repeats} round(s) of interleaved steps; ratio = median / reference's median):"
            )
            print(_format_table(steps))
            tables["steps"] = steps
        if args.only in (None, "ensemble"):
            task = SpiralTask()
            loop_runs = min(args.loop_runs, args.runs)
            ensemble = pd.concat(
                [
                    bench.ensemble_speedup(task, make, args.runs, args.steps, loop_runs=loop_runs, name=name)
                    for name, make in bench.default_ensemble_optimizers().items()
                ],
                ignore_index=True,
            )
            if tables:
                print()
            print(
                f"one batched ensemble vs a loop of single runs ({task.title}; {args.runs} runs x {args.steps} "
                f"steps; the loop times {loop_runs} runs, extrapolated linearly):"
            )
            print(_format_table(ensemble))
            tables["ensemble"] = ensemble
        if args.only in (None, "meta"):
            from optbook.learned import CoordinatewiseLSTM
            from optbook.tasks import book_task

            meta = bench.meta_training_throughput(
                book_task("mnist-sigmoid"), lambda: CoordinatewiseLSTM(preprocess_p=10.0, output_scale=0.1),
                name="LSTM 2x20 (chapter 1)",
            )
            if tables:
                print()
            print("meta-training and frozen evaluation of the L2L LSTM on the MNIST MLP, in coordinate-steps per "
                  "second, beside the same LSTM from nn.LSTMCell (its forward and backward alone) and the "
                  "multiply-add floors:")
            print(_format_table(_one_row_as_column(meta)))
            tables["meta"] = meta
        environment = bench.environment()
    checks = bench.target_checks(tables)
    if len(checks):
        print("\ntargets:")
        print(_format_table(checks.assign(met=checks["met"].map({True: "yes", False: "NO"}))))
    print(f"\nenvironment: {environment}")
    if args.output:
        combined = pd.concat([table.assign(benchmark=name) for name, table in tables.items()], ignore_index=True)
        combined = combined[["benchmark", *(c for c in combined.columns if c != "benchmark")]]
        combined.assign(environment=environment).to_csv(args.output, index=False)
        print(f"wrote {args.output}")
    return EXIT_OK


def _check_bench(args: argparse.Namespace) -> tuple[int, ...]:
    """Raise BuildError naming what is allowed; return the MLP's widths."""
    if args.only is not None and args.only not in BENCHMARKS:
        raise BuildError(f"unknown benchmark --only {args.only!r}; choose one of {', '.join(map(repr, BENCHMARKS))}")
    for option in ("repeats", "batch", "runs", "loop_runs", "steps", "threads"):
        value = getattr(args, option)
        if value < 1:
            raise BuildError(f"--{option.replace('_', '-')} {value}: must be a positive integer")
    try:
        widths = tuple(int(width) for width in args.widths.split("-"))
    except ValueError:
        widths = ()
    if len(widths) < 2 or min(widths) < 1:
        raise BuildError(f"--widths {args.widths!r}: give at least two positive widths joined by '-', e.g. 784-1000-10")
    return widths


def _chosen_chapters(root: Path, keys: list[str] | None) -> list[Chapter]:
    chapters = build.discover_chapters(root)
    if not keys:
        return chapters
    chosen = [build.find_chapter(chapters, key) for key in keys]
    return list(dict.fromkeys(chosen))  # one execution per chapter, in the order given


# --------------------------------------------------------------------------- formatting


def _format_parameters(parameters) -> str:
    rows = [
        (parameter.name, parameter.type.__name__, repr(parameter.default), _describe_parameter(parameter))
        for parameter in parameters
    ]
    if not rows:
        return "    (no parameters)"
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        ("    " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3]).rstrip()
        for row in rows
    )


def _describe_parameter(parameter: Parameter) -> str:
    parts = []
    if parameter.allowed is not None and len(parameter.allowed) > 1:
        parts.append("one of " + " | ".join(map(repr, parameter.allowed)))
    if parameter.help and not parameter.help_is_allowed_list:
        parts.append(parameter.help)
    return "; ".join(parts)


def _cache_note(stamp: dict) -> str:
    """", 12 of 14 results from the cache": a wall time that was mostly a replay says so."""
    cache = stamp.get("cache")
    if not isinstance(cache, dict):
        return ""  # stamped before lookups were counted
    total = cache.get("hits", 0) + cache.get("misses", 0)
    return f", {cache.get('hits', 0)} of {total} results from the cache" if total else ""


def _format_stamp(stamp: dict) -> str:
    wall = stamp.get("wall_time_s")
    wall_text = f"{wall:.1f} s{_cache_note(stamp)}" if isinstance(wall, (int, float)) else "?"
    commit = stamp.get("git_commit")
    commit_text = (commit[:12] + (" (dirty)" if stamp.get("git_dirty") else "")) if commit else "none"
    return (
        f"source {str(stamp.get('source_sha256'))[:8]}  library {str(stamp.get('library_sha256'))[:8]}  "
        f"commit {commit_text}  "
        f"device {stamp.get('device')}  torch {stamp.get('torch')}  wall {wall_text}  "
        f"executed {stamp.get('executed_at')}"
    )


def _one_row_as_column(frame):
    """A one-row table with many columns as two columns, quantity and value, to fit a terminal."""
    import pandas as pd

    values = [f"{value:.4g}" if isinstance(value, float) else str(value) for value in frame.iloc[0]]
    return pd.DataFrame({"quantity": frame.columns, "value": values})


def _format_table(frame) -> str:
    return frame.to_string(index=False, float_format=lambda value: f"{value:.4g}", na_rep="")


def _format_checks(checks) -> str:
    """A dry run's rows, blank where a check has no count or loss (the config checks)."""
    table = checks.drop(columns=["chapter", "scale"]).astype(object)
    if "loss" in table:
        table["loss"] = [f"{value:.4g}" if value == value else value for value in table["loss"]]
    return table.where(checks.notna(), "").to_string(index=False)


def _format_values(values: dict) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in values.items()) or "(none)"


def _format_failure(failure: ChapterFailed, root: Path) -> str:
    source = build.shown_path(failure.chapter.source, root)
    where = f"{source}:{failure.line}" if failure.line else source
    lines = failure.cell_source.splitlines()
    excerpt = [f"    | {line}" for line in lines[:SOURCE_LINES_SHOWN]]
    if len(lines) > SOURCE_LINES_SHOWN:
        excerpt.append(f"    | ... ({len(lines) - SOURCE_LINES_SHOWN} more lines)")
    return "\n".join(
        [
            f"optbook: chapter {failure.chapter.id} failed in {where}",
            f"  cell #{failure.cell_index + 1} of the source (index {failure.cell_index}, "
            f"In [{failure.execution_count}]):",
            *excerpt,
            f"  {failure.ename}: {failure.evalue}",
            f"  failed notebook saved to {build.shown_path(failure.failed_notebook, root)}; "
            f"{build.shown_path(failure.target, root)} left as it was",
        ]
    )


def _build_summary(
    scale: str, executed: list[str], fresh: list[str], failed: list[str], started: float
) -> str:
    parts = [
        f"executed: {', '.join(executed) or 'none'}",
        f"fresh: {', '.join(fresh) or 'none'}",
    ]
    if failed:
        parts.append(f"FAILED: {', '.join(failed)}")
    return f"build (scale={scale}): " + "; ".join(parts) + f"; total {time.perf_counter() - started:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
