"""The ``optbook`` command: list, status, run and build the book's chapters.

Argument parsing, printing and exit codes only; the work is in :mod:`optbook.build`.
Exit codes: 0 success, 1 a chapter failed, 2 a bad request (one message on stderr naming what
is allowed); a build that renders HTML returns jupyter-book's exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optbook import build
from optbook.build import BuildError, Chapter, ChapterFailed, Parameter
from optbook.paths import BOOK_MARKER, find_project_root
from optbook.session import SCALES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SOURCE_LINES_SHOWN = 6


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on bad syntax; we return instead
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        root = resolve_root(args.root)
        return args.command(root, args)
    except BuildError as err:
        print(f"optbook: {err}", file=sys.stderr)
        return EXIT_USAGE


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
    return parser


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
    output = args.output.resolve() if args.output else None
    try:
        stamp = build.execute_chapter(chapter, resolved, output=output, progress=not args.no_progress)
    except ChapterFailed as failure:
        print(_format_failure(failure, root), file=sys.stderr)
        return EXIT_FAILED
    target = output or chapter.executed_path
    print(f"executed {chapter.id} in {stamp['wall_time_s']:.1f} s -> {build.shown_path(target, root)}")
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
        executed.append(f"{chapter.id} ({stamp['wall_time_s']:.1f} s)")

    fresh_ids = [chapter.id for chapter, _, _ in fresh]
    if failed:
        # A book with a failed chapter is not published: no ledger, no HTML.
        print(_build_summary(scale, executed, fresh_ids, failed, started))
        return EXIT_FAILED
    ledger = build.render_claims_ledger(root)
    print(f"claims ledger: {build.shown_path(ledger, root)}")
    html_exit = EXIT_OK if args.no_html else build.render_html(root)
    print(_build_summary(scale, executed, fresh_ids, failed, started))
    return html_exit


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
    if parameter.allowed is not None:
        parts.append("one of " + " | ".join(map(repr, parameter.allowed)))
    if parameter.help and not parameter.help_is_allowed_list:
        parts.append(parameter.help)
    return "; ".join(parts)


def _format_stamp(stamp: dict) -> str:
    wall = stamp.get("wall_time_s")
    wall_text = f"{wall:.1f} s" if isinstance(wall, (int, float)) else "?"
    return (
        f"source {str(stamp.get('source_sha256'))[:8]}  library {str(stamp.get('library_sha256'))[:8]}  "
        f"device {stamp.get('device')}  torch {stamp.get('torch')}  wall {wall_text}  "
        f"executed {stamp.get('executed_at')}"
    )


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
