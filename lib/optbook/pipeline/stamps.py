"""What produced an executed chapter (its stamp), and why a chapter is stale."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from optbook.pipeline.chapters import Chapter, shown_path
from optbook.pipeline.errors import BuildError

STAMP_KEY = "optbook"
RERUN_KEY = "rerun_outside_build"  # added by read_stamp, never stored


def source_sha256(path: Path) -> str:
    return sha256_of_bytes(Path(path).read_bytes())


def sha256_of_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def library_sha256(package_dir: Path | None = None) -> str:
    """One hash over the relative paths and bytes of every ``*.py`` of the installed optbook.

    Any library edit may change a chapter's numbers, so it makes every chapter stale.
    """
    if package_dir is None:
        import optbook

        package_dir = Path(optbook.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(Path(package_dir).rglob("*.py"), key=lambda p: p.relative_to(package_dir).as_posix()):
        relative = path.relative_to(package_dir).as_posix().encode()
        content = path.read_bytes()
        # Length prefixes keep (path, bytes) boundaries unambiguous.
        for part in (relative, content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def torch_version() -> str:
    import torch

    return torch.__version__


def resolve_device_name(parameters: Mapping[str, object]) -> str:
    from optbook.session import resolve_device

    try:
        return str(resolve_device(parameters.get("device", "auto")))
    except ValueError as err:
        raise BuildError(str(err)) from None


def make_stamp(
    source_hash: str,
    library_hash: str,
    parameters: Mapping[str, object],
    device: str,
    wall_time_s: float,
    revision: Mapping[str, object] | None = None,
    datasets: Iterable[str] = (),
) -> dict:
    """What produced an executed chapter. ``revision`` is :func:`optbook.pipeline.install_cell.git_revision`
    (the commit the page's install cell pins, and whether the sources differed from it);
    ``datasets`` are the data sets the run loaded (``mnist``, ``mnist-5k``, ...)."""
    import optbook

    revision = revision or {"commit": None, "dirty": False}
    return {
        "source_sha256": source_hash,
        "library_sha256": library_hash,
        "parameters": _as_json(parameters),
        "device": device,
        "torch": torch_version(),
        "optbook": optbook.__version__,
        "python": platform.python_version(),
        "git_commit": revision["commit"],
        "git_dirty": bool(revision["dirty"]),
        "datasets": sorted(set(datasets)),
        "wall_time_s": round(wall_time_s, 3),
        "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _as_json(value):
    """The value as it reads back from the notebook's JSON (tuples become lists), for comparing."""
    return json.loads(json.dumps(value))


def read_stamp(path: Path, shown_as: str | None = None) -> dict:
    """The stamp of an executed notebook; ``BuildError`` says why there is none."""
    import nbformat

    shown_as = shown_as or str(path)
    if not Path(path).is_file():
        raise BuildError(f"never executed ({shown_as} is missing)")
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises a zoo of JSON and validation errors
        problem = f"{type(err).__name__}: {err}"
        raise BuildError(f"executed notebook {shown_as} is unreadable ({problem})") from None
    stamp = notebook.metadata.get(STAMP_KEY)
    if not isinstance(stamp, dict):
        raise BuildError(f"{shown_as} carries no optbook stamp (not executed by optbook)")
    stamp = dict(stamp)
    rerun = _rerun_outside_build(notebook, stamp)
    if rerun:
        stamp[RERUN_KEY] = rerun
    return stamp


def papermill_run(notebook) -> dict:
    run = notebook.metadata.get("papermill")
    return run if isinstance(run, dict) else {}


def _rerun_outside_build(notebook, stamp: Mapping) -> str | None:
    """How the notebook was executed again after ``optbook build`` stamped it, or None.

    papermill (or Jupyter) run directly keeps our stamp but rewrites its own metadata: a start
    time other than the one the stamp recorded means the outputs are no longer the stamped run's.
    """
    stamped = stamp.get("papermill_start_time")
    if stamped is None:  # stamped before this check existed: nothing to compare
        return None
    run = papermill_run(notebook)
    if run.get("start_time") == stamped:
        return None
    if not run:
        return "executed again outside optbook build (by Jupyter: papermill's record is gone)"
    return (f"executed again outside optbook build (by papermill at {run.get('start_time')}, "
            f"parameters {run.get('parameters')})")


def stale_reasons(
    chapter: Chapter, parameters: Mapping[str, object], executed: Path | None = None
) -> list[str]:
    """Why ``executed`` (default: the chapter's notebook) is not what running with ``parameters``
    would produce now; an empty list means it is fresh."""
    executed = Path(executed or chapter.executed_path)
    try:
        stamp = read_stamp(executed, shown_path(executed, chapter.root))
    except BuildError as err:
        return [str(err)]
    reasons = [stamp[RERUN_KEY]] if RERUN_KEY in stamp else []
    source_now = source_sha256(chapter.source)
    if stamp.get("source_sha256") != source_now:
        reasons.append(f"source changed ({_short(stamp.get('source_sha256'))} -> {_short(source_now)})")
    library_now = library_sha256()
    if stamp.get("library_sha256") != library_now:
        reasons.append(f"library changed ({_short(stamp.get('library_sha256'))} -> {_short(library_now)})")
    reasons.extend(_parameter_differences(stamp.get("parameters") or {}, _as_json(parameters)))
    if stamp.get("torch") != torch_version():
        reasons.append(f"torch changed ({stamp.get('torch')} -> {torch_version()})")
    return reasons


def _parameter_differences(executed: Mapping, wanted: Mapping) -> list[str]:
    differences = []
    for name in [*wanted, *(name for name in executed if name not in wanted)]:
        if name not in executed:
            differences.append(f"parameter {name} is new (now {wanted[name]!r})")
        elif name not in wanted:
            differences.append(f"parameter {name} is gone (was {executed[name]!r})")
        elif executed[name] != wanted[name]:
            differences.append(f"parameter {name} was {executed[name]!r}, now {wanted[name]!r}")
    return differences


def _short(digest) -> str:
    return str(digest)[:8] if digest else "none"
