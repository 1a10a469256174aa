"""Executing a chapter with papermill: the kernel's environment, the stamp, the finished page,
and publishing the notebook and its claims together or not at all."""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from optbook.cache import CACHE_LOG_ENV, read_damaged, read_lookups
from optbook.claims import RESULTS
from optbook.pipeline import install_cell
from optbook.pipeline.chapters import Chapter, shown_path
from optbook.pipeline.errors import BuildError, ChapterFailed
from optbook.pipeline.stamps import (STAMP_KEY, library_sha256, make_stamp, papermill_run,
                                     resolve_device_name, sha256_of_bytes)

KERNEL_NAME = "python3"
# Papermill tags the cell it adds after ours with this; it is not part of the source.
INJECTED_TAG = "injected-parameters"
# Papermill adds markdown cells tagged so around a failure; they are not part of the source either.
ERROR_MARKER_TAG = "papermill-error-cell-tag"
# Each execution's scratch folder is <tmp>/optbook-<chapter id>-<pid>-<random>.
SCRATCH_PREFIX = "optbook-"


def check_output_path(output: Path) -> Path:
    """An ``--output`` a run can write to, checked before a kernel starts (a run that dies at the
    end on an unwritable path loses its work); ``BuildError`` says what is wrong."""
    output = Path(output)
    if output.is_dir():
        raise BuildError(f"--output {output}: is a directory; give a file path ending in .ipynb")
    if output.suffix != ".ipynb":
        raise BuildError(f"--output {output}: must be a notebook file ending in .ipynb")
    folder = output.parent
    blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise BuildError(f"--output {output}: {blocking} is a file, not a folder")
    # A missing folder is created by the run, so its nearest existing ancestor must be writable.
    # Permission bits do not tell (root passes os.access for /proc): create a file there and remove it.
    if output.exists() and not os.access(output, os.W_OK):
        raise BuildError(f"--output {output}: not writable")
    probe = blocking / f".{output.name}.{os.getpid()}.probe"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        probe.unlink()
    except OSError as err:
        raise BuildError(f"--output {output}: not writable ({err.strerror or err} in {blocking})") from None
    return output


def failed_path(chapter: Chapter, target: Path) -> Path:
    return Path(target).parent / f"{chapter.id}.failed.ipynb"


def execute_chapter(
    chapter: Chapter,
    parameters: Mapping[str, object],
    output: Path | None = None,
    progress: bool = True,
    results_to: Path | None = None,
    kernel_env: Mapping[str, str] | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict:
    """Run the chapter with the full ``parameters`` dict and stamp the result into ``output``.

    ``output`` (default: the chapter's executed notebook) is replaced atomically, and only on
    success: a failure leaves the previous results in place, saves ``<id>.failed.ipynb`` beside
    it and raises ``ChapterFailed``. Only the chapter's own notebook publishes its claims to
    ``book/results``; a run elsewhere keeps them in ``results_to`` (or nowhere). ``kernel_env``
    adds variables to the kernel's environment (a sweep's thread limits). Warnings the kernel's
    notebook alone would hold (damaged cache entries it recomputed) go to ``notify`` (default:
    this process's stderr), whether the chapter succeeded or not. Returns the stamp.
    """
    import jupytext
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    target = Path(output) if output is not None else chapter.executed_path
    target.parent.mkdir(parents=True, exist_ok=True)
    parameters = dict(parameters)
    device = resolve_device_name(parameters)  # refuse an unavailable device before starting a kernel
    # Hash what is executed, not what is on disk afterwards: sources may be edited meanwhile.
    source = chapter.source.read_bytes()
    library_hash = library_sha256()
    revision = install_cell.git_revision(chapter.root)
    if install_cell.MARKER.encode() in source:  # a bad repository setting fails before the kernel starts
        _repository(chapter.root)
    remove_orphaned_scratch()
    for folder in (target.parent, chapter.root / RESULTS):
        remove_orphaned_partials(folder)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{chapter.id}-{os.getpid()}-") as scratch:
        scratch_input = Path(scratch) / f"{chapter.id}.ipynb"
        scratch_output = Path(scratch) / f"{chapter.id}.executed.ipynb"
        nbformat.write(jupytext.reads(source.decode("utf-8"), fmt="py:percent"), scratch_input)
        scratch_results = Path(scratch) / "results"
        data_log = Path(scratch) / "datasets.log"
        cache_log = Path(scratch) / "cache.log"
        started = time.perf_counter()
        try:
            with _kernel_environment(chapter.root, scratch_results, data_log,
                                     {CACHE_LOG_ENV: str(cache_log), **(kernel_env or {})}), \
                    _kernel_stderr_to(Path(scratch) / "kernel.log"):
                papermill.execute_notebook(
                    scratch_input,
                    scratch_output,
                    parameters=parameters,
                    kernel_name=KERNEL_NAME,
                    progress_bar=progress,
                    cwd=chapter.root,
                )
        except PapermillExecutionError as error:
            raise _chapter_failed(chapter, error, scratch_output, target) from None
        finally:
            for message in read_damaged(cache_log):
                (notify or _to_stderr)(f"warning: {chapter.id}: {message}")
        wall_time = time.perf_counter() - started
        notebook = nbformat.read(scratch_output, as_version=4)
        datasets = data_log.read_text().split() if data_log.is_file() else []
        stamp = make_stamp(sha256_of_bytes(source), library_hash, parameters, device, wall_time, revision, datasets)
        stamp["cache"] = read_lookups(cache_log)  # how much of the wall time was a replay
        # Lets status tell a later direct papermill/Jupyter run of this notebook from ours.
        stamp["papermill_start_time"] = papermill_run(notebook).get("start_time")
        notebook.metadata[STAMP_KEY] = stamp
        _write_install_cell(notebook, chapter.root, stamp)
        _finish_page(chapter, notebook, scratch_results, stamp)
        publishes = target.resolve() == chapter.executed_path.resolve()
        # Results are staged beside their place first, so a results folder that cannot be
        # written fails before the notebook is replaced: the two are published together or not.
        staged = _stage_results(chapter, scratch_results) if publishes else None
        try:
            _write_atomically(notebook, target)
        except BaseException:
            _discard(staged)
            raise
        if staged is not None:
            _publish_staged(chapter, staged)
        elif results_to is not None:
            _keep_results(chapter, scratch_results, Path(results_to))
    failed_path(chapter, target).unlink(missing_ok=True)  # a success supersedes an older failure
    return stamp


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def remove_orphaned_scratch(folder: Path | None = None) -> list[Path]:
    """Remove scratch folders left by executions whose process is gone (killed with SIGKILL, or
    the machine lost power: no ``finally`` ran). A folder names its process; folders of running
    processes, of other users' processes and of older versions without a process id are kept.
    Returns what was removed."""
    removed = []
    for scratch in Path(folder or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*-*"):
        pid = scratch.name.rsplit("-", 2)[-2]
        if scratch.is_dir() and pid.isdigit() and not _process_exists(int(pid)):
            shutil.rmtree(scratch, ignore_errors=True)
            removed.append(scratch)
    return removed


def remove_orphaned_partials(folder: Path) -> list[Path]:
    """Remove the hidden half-written files (``.name.<pid>.partial``, ``.name.<pid>.tmp``) that a
    killed execution left beside the notebook and results it was replacing."""
    removed = []
    for partial in [*Path(folder).glob(".*.partial"), *Path(folder).glob(".*.tmp")]:
        pid = partial.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _process_exists(int(pid)):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _finish_page(chapter: Chapter, notebook, scratch_results: Path, stamp: dict) -> None:
    """Verdict box, "Run it yourself", numbered title, hidden parameters: see optbook.pipeline.page."""
    from optbook.claims import load
    from optbook.pipeline.ledger import normalise
    from optbook.pipeline.page import colab_url, finish_page

    claims = [normalise(c) for c in load(scratch_results / f"{chapter.id.split('_')[0]}.json")]
    finish_page(notebook, chapter.number, chapter.id, claims, stamp, colab_url(chapter.root, chapter.id))


def refresh_page(chapter: Chapter) -> bool:
    """Rewrite a published chapter's generated parts from what is current: its install cell from
    its stamp and today's ``_config.yml`` (a publisher who changes ``repository.url`` needs no
    re-execution), its verdicts from the published claims and seed sweep (a sweep is published
    after the chapter ran). True if the page changed."""
    import nbformat

    from optbook.pipeline.ledger import chapter_claims
    from optbook.pipeline.page import colab_url, finish_page

    if not chapter.executed_path.is_file():
        return False
    notebook = nbformat.read(chapter.executed_path, as_version=4)
    stamp = notebook.metadata.get(STAMP_KEY)
    if not isinstance(stamp, dict):
        return False

    def content(page) -> list:  # the generated cells get new ids each time; what they say is what counts
        return [(cell.cell_type, cell.source, cell.metadata) for cell in page.cells]

    before = copy.deepcopy(content(notebook))
    _write_install_cell(notebook, chapter.root, stamp)
    claims = chapter_claims(chapter.root, f"{chapter.number:02d}")
    finish_page(notebook, chapter.number, chapter.id, claims, stamp, colab_url(chapter.root, chapter.id))
    if content(notebook) == before:
        return False
    _write_atomically(notebook, chapter.executed_path)
    return True


def _repository(root: Path) -> tuple[str, str]:
    try:
        return install_cell.read_repository(root)
    except (install_cell.ConfigError, OSError) as err:
        raise BuildError(str(err)) from None


def _write_install_cell(notebook, root: Path, stamp: dict) -> bool:
    try:
        return install_cell.write_install_cell(notebook, root, stamp)
    except (install_cell.ConfigError, OSError) as err:
        raise BuildError(str(err)) from None


def _stage_results(chapter: Chapter, scratch_results: Path) -> list[tuple[Path, Path]]:
    """Copy the claims this run recorded next to the published results (hidden temporary
    files); ``BuildError`` if the results folder cannot be written. Returns (staged, final)."""
    published = chapter.root / RESULTS
    staged: list[tuple[Path, Path]] = []
    try:
        published.mkdir(parents=True, exist_ok=True)
        for produced in sorted(scratch_results.glob("*.json")):
            temporary = published / f".{produced.name}.{os.getpid()}.tmp"
            staged.append((temporary, published / produced.name))
            shutil.copyfile(produced, temporary)
    except OSError as err:
        _discard(staged)
        raise BuildError(
            f"cannot write the results of {chapter.id} to {shown_path(published, chapter.root)} ({err}); "
            "the executed notebook was not replaced either"
        ) from None
    return staged


def _discard(staged: list[tuple[Path, Path]] | None) -> None:
    for temporary, _ in staged or ():
        temporary.unlink(missing_ok=True)


def _publish_staged(chapter: Chapter, staged: list[tuple[Path, Path]]) -> None:
    """The staged claims become the chapter's published results, replacing the old ones (so a
    claim the chapter stopped recording leaves the ledger). Only the executed notebook's own
    run publishes: ``optbook run --output elsewhere`` leaves the book alone."""
    own = chapter.root / RESULTS / f"{chapter.id.split('_')[0]}.json"
    if own not in {final for _, final in staged}:
        own.unlink(missing_ok=True)
    for temporary, final in staged:
        os.replace(temporary, final)


@contextmanager
def _kernel_stderr_to(log: Path) -> Iterator[None]:
    """The kernel process inherits file descriptor 2: point it at ``log`` while papermill runs,
    and keep this process's own stderr (progress bar, messages) on the terminal through a
    duplicate. The kernel's stderr is for developers (its TCP warning, and on Ctrl-C a
    KeyboardInterrupt traceback from its event loop); cell outputs reach the notebook anyway."""
    sys.stderr.flush()
    terminal = os.dup(2)
    saved = sys.stderr
    with open(log, "wb") as sink:
        os.dup2(sink.fileno(), 2)
    sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding=saved.encoding, errors="backslashreplace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = saved
        os.dup2(terminal, 2)
        os.close(terminal)


def _keep_results(chapter: Chapter, scratch_results: Path, folder: Path) -> None:
    """A run that does not publish keeps its claims in ``folder``, replacing what an earlier run
    of this chapter recorded there (a claim no longer recorded must not linger); other chapters'
    files in the same folder stay."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chapter.id.split('_')[0]}.json").unlink(missing_ok=True)
    for produced in sorted(scratch_results.glob("*.json")):
        shutil.copyfile(produced, folder / produced.name)


@contextmanager
def _kernel_environment(root: Path, results: Path, data_log: Path,
                        extra: Mapping[str, str] | None = None) -> Iterator[None]:
    """The kernel inherits our environment: point it at the book's data/ (unless told otherwise),
    record claims into ``results`` (published on success) and the data sets it loads into
    ``data_log`` (for the stamp), and silence the library's progress bars, whose redraws would
    be saved as page output. A page is what it is: no "the page used other data" notice."""
    from optbook.data import DATA_LOG_ENV

    wanted = {
        "OPTBOOK_DATA": os.environ.get("OPTBOOK_DATA") or str(Path(root) / "data"),
        "OPTBOOK_RESULTS": str(results),
        "OPTBOOK_PROGRESS": "0",
        DATA_LOG_ENV: str(data_log),
        **(extra or {}),
    }
    previous = {name: os.environ.get(name) for name in [*wanted, install_cell.PAGE_DATA_ENV]}
    os.environ.update(wanted)
    os.environ.pop(install_cell.PAGE_DATA_ENV, None)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _write_atomically(notebook, target: Path) -> None:
    import nbformat

    # Same folder as the target so os.replace is a rename on one filesystem.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        nbformat.write(notebook, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _chapter_failed(chapter: Chapter, error, scratch_output: Path, target: Path) -> ChapterFailed:
    """Keep the failed notebook for inspection and describe the failing cell in source terms."""
    import nbformat

    saved = failed_path(chapter, target)
    failed_notebook = nbformat.read(scratch_output, as_version=4)
    _write_atomically(failed_notebook, saved)
    return ChapterFailed(
        chapter=chapter,
        cell_index=_source_cell_index(failed_notebook, error.cell_index),
        execution_count=error.exec_count,
        cell_source=error.source,
        line=_line_in_source(chapter.source, error.source),
        ename=error.ename,
        evalue=error.evalue,
        failed_notebook=saved,
        target=target,
    )


def _source_cell_index(failed_notebook, executed_index: int) -> int:
    """Papermill's index counts its injected cell (and the saved copy has error markers too)."""
    executed = [cell for cell in failed_notebook.cells if ERROR_MARKER_TAG not in _tags(cell)]
    injected_before = sum(INJECTED_TAG in _tags(cell) for cell in executed[:executed_index])
    return executed_index - injected_before


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _line_in_source(source: Path, cell_source: str) -> int | None:
    text = Path(source).read_text(encoding="utf-8")
    position = text.find(cell_source) if cell_source.strip() else -1
    return text.count("\n", 0, position) + 1 if position >= 0 else None
