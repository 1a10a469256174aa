"""Chapters as executed notebooks: discovery, parameters, stamps, staleness, execution.

A chapter is ``notebooks/NN_name.py`` (jupytext percent format) with one cell tagged
``parameters``. ``execute_chapter`` runs it with papermill into ``book/chapters/NN_name.ipynb``
and records a stamp in ``metadata["optbook"]``; ``stale_reasons`` compares that stamp with what a
build would use now. Printing and exit codes belong to :mod:`optbook.cli`.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from optbook import install_cell
from optbook.session import MAX_SEED, SCALES

DEFAULT_SCALE = "cpu"
KERNEL_NAME = "python3"
STAMP_KEY = "optbook"
RERUN_KEY = "rerun_outside_build"  # added by read_stamp, never stored
PARAMETERS_TAG = "parameters"
# Papermill tags the cell it adds after ours with this; it is not part of the source.
INJECTED_TAG = "injected-parameters"
# Papermill adds markdown cells tagged so around a failure; they are not part of the source either.
ERROR_MARKER_TAG = "papermill-error-cell-tag"
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


class BuildError(Exception):
    """A request that cannot be carried out as given (unknown chapter, bad parameter, ...)."""


class ChapterFailed(Exception):
    """A chapter's cell raised while papermill executed it."""

    def __init__(
        self,
        chapter: Chapter,
        cell_index: int,
        execution_count: int | None,
        cell_source: str,
        line: int | None,
        ename: str,
        evalue: str,
        failed_notebook: Path,
        target: Path,
    ):
        self.chapter = chapter
        self.cell_index = cell_index  # 0-based, counting the source's cells only
        self.execution_count = execution_count
        self.cell_source = cell_source
        self.line = line  # where the cell starts in the .py source, when it can be found
        self.ename = ename
        self.evalue = evalue
        self.failed_notebook = failed_notebook
        self.target = target
        super().__init__(f"{chapter.id}: {ename}: {evalue}")


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Chapter:
    root: Path
    source: Path
    id: str  # the file stem, e.g. "00_tasks_and_baselines"
    number: int
    name: str  # the part after the number, e.g. "tasks_and_baselines"

    @property
    def executed_path(self) -> Path:
        return executed_dir(self.root) / f"{self.id}.ipynb"


def executed_dir(root: Path) -> Path:
    return Path(root) / "book" / "chapters"


def discover_chapters(root: Path) -> list[Chapter]:
    """Every ``notebooks/NN_name.py`` under ``root``, in chapter order."""
    chapters = []
    for source in sorted((Path(root) / "notebooks").glob("*.py")):
        number, sep, name = source.stem.partition("_")
        if sep and number.isdigit() and name:
            chapters.append(Chapter(Path(root), source, source.stem, int(number), name))
    return sorted(chapters, key=lambda chapter: (chapter.number, chapter.name))


def find_chapter(chapters: list[Chapter], key: str) -> Chapter:
    """The chapter named by its id (``00_name``), its number (``00`` or ``0``) or its name part."""
    matches = [chapter for chapter in chapters if _names_chapter(key, chapter)]
    if len(matches) == 1:
        return matches[0]
    ids = ", ".join(chapter.id for chapter in chapters) or "(none: no notebooks/NN_name.py)"
    if not matches:
        raise BuildError(f"unknown chapter {key!r}; chapters are: {ids}")
    raise BuildError(f"chapter {key!r} is ambiguous: {', '.join(c.id for c in matches)}; give the full id")


def _names_chapter(key: str, chapter: Chapter) -> bool:
    key = key.strip()
    if key.isdigit():
        return int(key) == chapter.number
    return key in (chapter.id, chapter.name, chapter.source.name)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Parameter:
    name: str
    default: object
    help: str = ""  # the assignment's trailing comment
    allowed: tuple | None = None  # from a comment like `"a" | "b"`; always SCALES for `scale`

    @property
    def type(self) -> type:
        return type(self.default)

    @property
    def help_is_allowed_list(self) -> bool:
        return _allowed_from_comment(self.help) is not None


def read_parameters(chapter: Chapter) -> dict[str, Parameter]:
    """The chapter's parameters, in source order, parsed from its one ``parameters`` cell."""
    import jupytext

    notebook = jupytext.read(chapter.source)
    cells = [cell for cell in notebook.cells if PARAMETERS_TAG in cell.metadata.get("tags", [])]
    if len(cells) != 1:
        raise BuildError(
            f"{chapter.source}: needs exactly one cell tagged parameters "
            f'(`# %% tags=["parameters"]`), found {len(cells)}'
        )
    try:
        return parse_parameters_cell(cells[0].source)
    except BuildError as err:
        raise BuildError(f"{chapter.source}: {err}") from None


def parse_parameters_cell(code: str) -> dict[str, Parameter]:
    """Parse ``NAME = literal  # help`` lines without executing them (papermill's contract)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise BuildError(f"parameters cell is not valid Python: {err}") from None
    comments = _trailing_comments(code)
    parameters: dict[str, Parameter] = {}
    for statement in tree.body:
        name, value_node = _assignment(statement)
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            raise BuildError(
                f"parameter {name!r} (line {statement.lineno}) must be assigned a literal, "
                f"not {ast.unparse(value_node)!r}"
            ) from None
        if name in parameters:
            raise BuildError(f"parameter {name!r} is assigned twice in the parameters cell")
        help_text = comments.get(statement.end_lineno) or comments.get(statement.lineno, "")
        parameters[name] = _make_parameter(name, default, help_text)
    return parameters


def _assignment(statement: ast.stmt) -> tuple[str, ast.expr]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        target = value = None
    if not isinstance(target, ast.Name):
        raise BuildError(
            f"the parameters cell may hold only `name = literal` lines; line {statement.lineno} "
            f"is {ast.unparse(statement)!r}"
        )
    return target.id, value


def _trailing_comments(code: str) -> dict[int, str]:
    """Line number -> text of the comment ending that line (``#`` and spaces stripped)."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def _make_parameter(name: str, default: object, help_text: str) -> Parameter:
    allowed = SCALES if name == "scale" else _allowed_from_comment(help_text)
    if allowed is not None and default not in allowed:
        raise BuildError(
            f"parameter {name!r} defaults to {default!r}, which is not one of its allowed values "
            f"{_format_choices(allowed)}"
        )
    return Parameter(name, default, help_text, allowed)


def _allowed_from_comment(comment: str) -> tuple | None:
    """``"a" | "b" | "c"`` -> ("a", "b", "c"); anything else (prose help) -> None."""
    parts = [part.strip() for part in comment.split("|")]
    if len(parts) < 2:
        return None
    values = []
    for part in parts:
        try:
            value = ast.literal_eval(part)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, (str, int, float, bool, type(None))):
            return None
        values.append(value)
    return tuple(values)


def convert_value(parameter: Parameter, text: str) -> object:
    """A command-line string as a value of the parameter's type (the type of its default)."""
    kind = parameter.type
    try:
        if kind is str:
            return text
        if kind is bool:
            return _parse_bool(text)
        if kind in (int, float):
            return kind(text)
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        raise BuildError(
            f"parameter {parameter.name!r} expects {_describe_type(parameter)}; got {text!r}"
        ) from None


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(text)


def _describe_type(parameter: Parameter) -> str:
    kind = parameter.type
    if kind is bool:
        return "bool (true/false/1/0/yes/no)"
    if kind in (str, int, float):
        return kind.__name__
    return f"a Python literal like its default {parameter.default!r} ({kind.__name__})"


def resolve_parameters(
    chapter: Chapter, parameters: Mapping[str, Parameter], given: Mapping[str, object]
) -> dict[str, object]:
    """Defaults overlaid with ``given``, refusing names the chapter lacks and values it forbids.

    Papermill injects unknown names silently, so a typo would otherwise run the defaults.
    """
    resolved = {name: parameter.default for name, parameter in parameters.items()}
    for name, value in given.items():
        check_known(chapter, parameters, name)
        check_value(parameters[name], value)
        resolved[name] = value
    return resolved


def parse_given_parameters(
    chapter: Chapter, parameters: Mapping[str, Parameter], pairs: Iterable[tuple[str, str]]
) -> dict[str, object]:
    """``-p NAME VALUE`` pairs as typed values (not yet checked against allowed values)."""
    given = {}
    for name, text in pairs:
        check_known(chapter, parameters, name)
        given[name] = convert_value(parameters[name], text)
    return given


def check_known(chapter: Chapter, parameters: Mapping[str, Parameter], name: str) -> None:
    if name not in parameters:
        known = ", ".join(parameters) or "(none)"
        raise BuildError(f"chapter {chapter.id} has no parameter {name!r}; its parameters are: {known}")


def check_value(parameter: Parameter, value: object) -> None:
    if not _has_type(value, parameter.type):
        raise BuildError(f"parameter {parameter.name!r} expects {_describe_type(parameter)}; got {value!r}")
    if parameter.name == "seed" and not 0 <= value <= MAX_SEED:
        raise BuildError(f"parameter 'seed' = {value!r} is not allowed; use an integer from 0 to {MAX_SEED}")
    if parameter.allowed is not None and value not in parameter.allowed:
        raise BuildError(
            f"parameter {parameter.name!r} = {value!r} is not allowed; "
            f"choose one of {_format_choices(parameter.allowed)}"
        )


def _has_type(value: object, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if kind is type(None):
        return True  # a None default says nothing about the type wanted
    return isinstance(value, kind)  # lists, tuples, dicts: the same container


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise BuildError(f"unknown scale {scale!r}; choose one of {_format_choices(SCALES)}")
    return scale


def build_parameters(chapter: Chapter, parameters: Mapping[str, Parameter], scale: str) -> dict[str, object]:
    """What ``optbook build --scale S`` runs a chapter with: its defaults, with ``scale=S``."""
    check_scale(scale)
    given = {"scale": scale} if "scale" in parameters else {}
    return resolve_parameters(chapter, parameters, given)


def _format_choices(values) -> str:
    return ", ".join(map(repr, values))


# --------------------------------------------------------------------------- stamps


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
    """What produced an executed chapter. ``revision`` is :func:`optbook.install_cell.git_revision`
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


def _papermill_run(notebook) -> dict:
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
    run = _papermill_run(notebook)
    if run.get("start_time") == stamped:
        return None
    if not run:
        return "executed again outside optbook build (by Jupyter: papermill's record is gone)"
    return (f"executed again outside optbook build (by papermill at {run.get('start_time')}, "
            f"parameters {run.get('parameters')})")


def shown_path(path: Path, root: Path) -> str:
    """``path`` relative to the book's root when it lies inside it, for shorter messages."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


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


# --------------------------------------------------------------------------- execution


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
    if not os.access(blocking, os.W_OK | os.X_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise BuildError(f"--output {output}: not writable")
    return output


def failed_path(chapter: Chapter, target: Path) -> Path:
    return Path(target).parent / f"{chapter.id}.failed.ipynb"


def execute_chapter(
    chapter: Chapter,
    parameters: Mapping[str, object],
    output: Path | None = None,
    progress: bool = True,
) -> dict:
    """Run the chapter with the full ``parameters`` dict and stamp the result into ``output``.

    ``output`` (default: the chapter's executed notebook) is replaced atomically, and only on
    success: a failure leaves the previous results in place, saves ``<id>.failed.ipynb`` beside
    it and raises ``ChapterFailed``. Returns the stamp.
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
    with tempfile.TemporaryDirectory(prefix=f"optbook-{chapter.id}-") as scratch:
        scratch_input = Path(scratch) / f"{chapter.id}.ipynb"
        scratch_output = Path(scratch) / f"{chapter.id}.executed.ipynb"
        nbformat.write(jupytext.reads(source.decode("utf-8"), fmt="py:percent"), scratch_input)
        scratch_results = Path(scratch) / "results"
        data_log = Path(scratch) / "datasets.log"
        started = time.perf_counter()
        try:
            with _kernel_environment(chapter.root, scratch_results, data_log), _kernel_stderr_to(Path(scratch) / "kernel.log"):
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
        wall_time = time.perf_counter() - started
        notebook = nbformat.read(scratch_output, as_version=4)
        datasets = data_log.read_text().split() if data_log.is_file() else []
        stamp = make_stamp(sha256_of_bytes(source), library_hash, parameters, device, wall_time, revision, datasets)
        # Lets status tell a later direct papermill/Jupyter run of this notebook from ours.
        stamp["papermill_start_time"] = _papermill_run(notebook).get("start_time")
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
    failed_path(chapter, target).unlink(missing_ok=True)  # a success supersedes an older failure
    return stamp


def _finish_page(chapter: Chapter, notebook, scratch_results: Path, stamp: dict) -> None:
    """Verdict box, "Run it yourself", numbered title, hidden parameters: see optbook.page."""
    from optbook.claims import load
    from optbook.ledger import normalise
    from optbook.page import colab_url, finish_page

    claims = [normalise(c) for c in load(scratch_results / f"{chapter.id.split('_')[0]}.json")]
    finish_page(notebook, chapter.number, chapter.id, claims, stamp, colab_url(chapter.root, chapter.id))


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


def refresh_install_cell(chapter: Chapter) -> bool:
    """Rewrite a fresh executed chapter's install cell from its stamp and today's ``_config.yml``
    (a publisher who changes ``repository.url`` needs no re-execution); True if it changed."""
    import nbformat

    notebook = nbformat.read(chapter.executed_path, as_version=4)
    stamp = notebook.metadata.get(STAMP_KEY)
    if not isinstance(stamp, dict) or not _write_install_cell(notebook, chapter.root, stamp):
        return False
    _write_atomically(notebook, chapter.executed_path)
    return True


def _stage_results(chapter: Chapter, scratch_results: Path) -> list[tuple[Path, Path]]:
    """Copy the claims this run recorded next to the published results (hidden temporary
    files); ``BuildError`` if the results folder cannot be written. Returns (staged, final)."""
    from optbook.claims import RESULTS

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
    from optbook.claims import RESULTS

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


@contextmanager
def _kernel_environment(root: Path, results: Path, data_log: Path) -> Iterator[None]:
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


# --------------------------------------------------------------------------- after the chapters


def render_claims_ledger(root: Path) -> Path:
    """The ledger page and the landing page's findings table, from ``book/results/``."""
    from optbook.ledger import render_findings, render_ledger

    render_findings(Path(root))
    return render_ledger(Path(root))


def jupyter_book_command(root: Path) -> list[str]:
    """``jupyter-book build ROOT -W -n --keep-going``, preferring this interpreter's install."""
    beside_python = Path(sys.executable).parent / "jupyter-book"
    executable = str(beside_python) if beside_python.is_file() else shutil.which("jupyter-book")
    if executable is None:
        raise BuildError("jupyter-book not found; install optbook[book], or pass --no-html")
    return [executable, "build", str(root), "-W", "-n", "--keep-going"]


def render_html(root: Path) -> int:
    return subprocess.run(jupyter_book_command(root), cwd=root).returncode
