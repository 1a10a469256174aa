"""The chapter pipeline (optbook.pipeline) and the `optbook` command (optbook.pipeline.cli).

Runs on a two-chapter fake book (tests/fixtures/tiny_book) whose notebooks import no torch, so a
kernel run costs a second or two. Executions are shared through module-scoped fixtures and
copied (shutil.copytree) before a test changes anything.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from optbook import pipeline as build
from optbook.pipeline import BuildError, Parameter, execution, site, stamps
from optbook.pipeline.cli import main
from optbook.pipeline.parameters import check_value
from optbook.session import SCALES

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_book"
# The real hash, kept before the module fixture pins it.
REAL_LIBRARY_SHA256 = build.library_sha256
PINNED_LIBRARY = "1" * 64


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(*argv) -> Result:
    """Run `optbook ARGV` in this process, capturing what it prints (usable in module fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return Result(code, out.getvalue(), err.getvalue())


def copy_book(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    return destination


def stamp_of(path: Path) -> dict:
    return nbformat.read(path, as_version=4).metadata["optbook"]


def text_outputs(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module", autouse=True)
def isolated_pipeline():
    """Pin what other engineers change under us, and stand in for the claims ledger."""
    ledger_calls = []

    def fake_render_ledger(root):
        ledger_calls.append(Path(root))
        page = Path(root) / "book" / "claims.md"
        page.write_text("# Claims\n")
        return page

    with pytest.MonkeyPatch.context() as patch:
        # The library tree is edited concurrently; staleness logic is tested against a fixed hash.
        for module in (stamps, execution):
            patch.setattr(module, "library_sha256", lambda package_dir=None: PINNED_LIBRARY)
        patch.delenv("OPTBOOK_DATA", raising=False)
        import optbook.pipeline.ledger as ledger

        patch.setattr(ledger, "render_ledger", fake_render_ledger)
        patch.setattr(ledger, "render_findings", lambda root: Path(root) / "book" / "findings.md")
        yield ledger_calls


@pytest.fixture
def ledger_calls(isolated_pipeline):
    isolated_pipeline.clear()
    return isolated_pipeline


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fake book after one `build --scale smoke` of chapter 00 (one kernel run)."""
    root = copy_book(FIXTURE, tmp_path_factory.mktemp("built") / "book")
    result = invoke(
        "--root", root, "build", "--scale", "smoke", "--chapters", "00", "--no-html", "--no-progress"
    )
    assert result.code == 0, result.err
    return root, result


@pytest.fixture
def book(tmp_path):
    return copy_book(FIXTURE, tmp_path / "book")


# --------------------------------------------------------------------------- parameters


PARAMETERS_CELL = '''\
scale = "paper"
device = "auto"  # torch device, or "auto" (CUDA when present)
seed = 0
dataset = "auto"  # "auto" | "mnist" | "mnist-5k"
n_seeds = 20  # evaluation problems per method
lr: float = 1e-3  # step size
verbose = False
widths = [40, 40]  # hidden | output widths
extra = None
'''


def test_parameters_are_parsed_with_types_help_and_allowed_values():
    parameters = build.parse_parameters_cell(PARAMETERS_CELL)
    assert list(parameters) == [
        "scale", "device", "seed", "dataset", "n_seeds", "lr", "verbose", "widths", "extra"
    ]
    assert parameters["scale"] == Parameter("scale", "paper", "", SCALES)  # restricted without a comment
    assert parameters["device"].help == 'torch device, or "auto" (CUDA when present)'
    assert parameters["device"].allowed is None
    assert parameters["dataset"].allowed == ("auto", "mnist", "mnist-5k")
    assert parameters["n_seeds"] == Parameter("n_seeds", 20, "evaluation problems per method", None)
    assert [parameters[name].type for name in ("seed", "lr", "verbose", "widths", "extra")] == [
        int, float, bool, list, type(None)
    ]
    assert parameters["widths"].allowed is None  # a `|` in prose is not a list of values


def test_only_one_value_is_allowed_with_the_reason_said():
    (seed,) = build.parse_parameters_cell("seed = 0  # only 0: the problems are fixed seeds").values()
    assert seed.allowed == (0,) and not seed.help_is_allowed_list
    check_value(seed, 0)
    with pytest.raises(BuildError, match=r"^parameter 'seed' = 3 is not allowed; only 0: the problems are fixed seeds$"):
        check_value(seed, 3)
    assert build.parse_parameters_cell("n = 1  # only pass 1: why").popitem()[1].allowed is None  # prose, not a value


def test_a_page_the_seed_cannot_move_refuses_another_book_seed_before_a_kernel_starts(tmp_path):
    root = Path(__file__).resolve().parents[1]
    result = invoke("--root", root, "run", "90", "-p", "seed", "2", "--output", tmp_path / "x.ipynb")
    assert result.code == 2 and "parameter 'seed' = 2 is not allowed; only 0:" in result.err
    result = invoke("--root", root, "sweep", "90", "-p", "seed", "0", "1", "--folder", tmp_path / "sweep")
    assert result.code == 2 and "parameter 'seed' = 1 is not allowed; only 0:" in result.err
    assert not any(tmp_path.iterdir())


def test_every_chapter_takes_any_book_seed():
    """Chapters 0-2 evaluate on a block of held-out problems per seed (session.first_held_out_problem);
    3 and 4 draw their runs from a block per seed."""
    for chapter in build.discover_chapters(Path(__file__).resolve().parents[1]):
        if chapter.number == 90:
            continue
        assert build.read_parameters(chapter)["seed"].allowed is None, chapter.id


@pytest.mark.parametrize(
    "code, message",
    [
        ("seed = compute()", "literal"),
        ("import os", "name = literal"),
        ("a = b = 1", "name = literal"),
        ("seed = 0\nseed = 1", "twice"),
        ('dataset = "cifar"  # "mnist" | "fashion"', "not one of its allowed values"),
        ('scale = "huge"', "not one of its allowed values"),
    ],
)
def test_parameters_cell_must_be_literal_assignments(code, message):
    with pytest.raises(BuildError, match=message):
        build.parse_parameters_cell(code)


def test_command_line_values_take_the_type_of_the_default():
    def convert(default, text):
        return build.convert_value(Parameter("p", default), text)

    assert convert("auto", "42") == "42"
    assert convert(0, "7") == 7 and convert(0.5, "1e-3") == 1e-3
    words = ("true", "YES", "1", "false", "no", "0")
    assert [convert(False, word) for word in words] == [True] * 3 + [False] * 3
    assert convert([1], "[3, 4]") == [3, 4] and convert(None, "{'a': 1}") == {"a": 1}
    for default, text in ((0, "1.5"), (0.5, "fast"), (False, "maybe"), ([1], "[1,")):
        with pytest.raises(BuildError, match=f"expects .*got {re.escape(repr(text))}"):
            convert(default, text)


def test_chapters_are_named_by_id_number_or_name(book):
    chapters = build.discover_chapters(book)
    assert [chapter.id for chapter in chapters] == ["00_hello", "01_broken"]
    for key in ("00_hello", "00", "0", "hello"):
        assert build.find_chapter(chapters, key).id == "00_hello"
    with pytest.raises(BuildError, match="00_hello, 01_broken"):
        build.find_chapter(chapters, "2")


def test_library_hash_covers_python_files_and_their_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    before = REAL_LIBRARY_SHA256(tmp_path)
    (tmp_path / "notes.txt").write_text("not code")
    assert REAL_LIBRARY_SHA256(tmp_path) == before
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert REAL_LIBRARY_SHA256(tmp_path) != before
    assert len(REAL_LIBRARY_SHA256()) == 64  # the installed optbook


# --------------------------------------------------------------------------- list, status


def test_list_shows_every_parameter(book):
    result = invoke("--root", book, "list")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "00_hello  (notebooks/00_hello.py)"
    rows = {line.split()[0]: line for line in lines if line.startswith("    ")}
    assert rows["scale"].split()[1:3] == ["str", "'cpu'"]
    assert rows["scale"].endswith("one of 'smoke' | 'cpu' | 'paper'")
    assert rows["repeat"].split()[1:3] == ["int", "2"] and rows["repeat"].endswith("how many times to greet")
    assert rows["rate"].split()[1:3] == ["float", "0.5"]
    assert any("greeting" in line and "one of 'hello' | 'bonjour' | 'hallo'" in line for line in lines)
    assert "01_broken  (notebooks/01_broken.py)" in lines


def test_build_executes_and_stamps_the_chapter(built):
    root, result = built
    assert "executed: 00_hello" in result.out and "fresh: none" in result.out
    executed = root / "book" / "chapters" / "00_hello.ipynb"
    stamp = stamp_of(executed)
    assert stamp["source_sha256"] == build.source_sha256(root / "notebooks" / "00_hello.py")
    assert stamp["library_sha256"] == PINNED_LIBRARY
    assert stamp["parameters"]["scale"] == "smoke" and stamp["parameters"]["repeat"] == 2
    assert stamp["device"] == "cpu" and stamp["optbook"] and stamp["python"] and stamp["executed_at"]
    assert stamp["torch"] == build.torch_version() and stamp["wall_time_s"] > 0
    outputs = text_outputs(executed)
    # The kernel saw the injected scale, ran in the book's folder and found its data folder.
    assert "scale=smoke" in outputs and "hello hello" in outputs
    assert f"OPTBOOK_DATA={root / 'data'}" in outputs and f"cwd={root}" in outputs


def test_second_build_executes_nothing_then_renders(built, ledger_calls, monkeypatch):
    root, _ = built
    executed = root / "book" / "chapters" / "00_hello.ipynb"
    before = executed.read_bytes()
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 3)

    # Only the site module's jupyter-book call is faked; installing the shipped MathJax
    # (npm pack on a fresh clone) still runs for real.
    monkeypatch.setattr(site, "subprocess", SimpleNamespace(run=fake_run))
    result = invoke("--root", root, "build", "--scale", "smoke", "--chapters", "hello", "--no-progress")
    assert result.code == 3  # jupyter-book's exit code is the command's
    assert "executed: none; fresh: 00_hello" in result.out
    assert executed.read_bytes() == before
    assert ledger_calls == [root]
    assert Path(commands[0][0]).name == "jupyter-book"
    assert commands[0][1:] == ["build", str(root), "-W", "-n", "--keep-going"]


def test_status_says_why_a_chapter_is_stale(built, tmp_path, monkeypatch):
    root = copy_book(built[0], tmp_path / "book")
    status = invoke("--root", root, "status", "--scale", "smoke").out
    assert "00_hello  fresh" in status
    assert "01_broken  stale: never executed (book/chapters/01_broken.ipynb is missing)" in status
    assert "parameters: " in status and "scale='smoke'" in status and "device cpu" in status

    assert "parameter scale was 'smoke', now 'cpu'" in invoke("--root", root, "status").out  # --scale cpu

    source = root / "notebooks" / "00_hello.py"
    source.write_text(source.read_text() + '\n# %%\nprint("one more cell")\n')
    assert "00_hello  stale: source changed" in invoke("--root", root, "status", "--scale", "smoke").out

    chapter = build.find_chapter(build.discover_chapters(root), "00")
    wanted = build.build_parameters(chapter, build.read_parameters(chapter), "smoke")
    monkeypatch.setattr(stamps, "library_sha256", lambda package_dir=None: "2" * 64)
    monkeypatch.setattr(stamps, "torch_version", lambda: "0.0.1")
    reasons = build.stale_reasons(chapter, wanted)
    assert [reason.split(" (")[0] for reason in reasons] == [
        "source changed", "library changed", "torch changed"
    ]

    chapter.executed_path.write_text("{ not json")
    assert "unreadable" in build.stale_reasons(chapter, wanted)[0]


def test_force_reexecutes_and_clears_an_old_failure(built, tmp_path):
    root = copy_book(built[0], tmp_path / "book")
    executed = root / "book" / "chapters" / "00_hello.ipynb"
    old_failure = executed.with_name("00_hello.failed.ipynb")
    old_failure.write_text("{}")
    inode = executed.stat().st_ino
    result = invoke(
        "--root", root, "build", "--scale", "smoke", "--chapters", "0", "--force", "--no-html", "--no-progress"
    )
    assert result.code == 0, result.err
    assert "executed: 00_hello" in result.out
    assert executed.stat().st_ino != inode  # replaced, not left alone
    assert not old_failure.exists()


def test_run_injects_parameters_and_writes_the_output(built, tmp_path):
    root = copy_book(built[0], tmp_path / "book")
    output = tmp_path / "out" / "hello.ipynb"
    default_before = (root / "book" / "chapters" / "00_hello.ipynb").read_bytes()
    result = invoke(
        "--root", root, "run", "00", "-p", "greeting", "bonjour", "-p", "repeat", "3", "-p", "verbose", "yes",
        "--output", output, "--no-progress",
    )
    assert result.code == 0, result.err
    assert "executed 00_hello in" in result.out and str(output) in result.out
    parameters = stamp_of(output)["parameters"]
    assert (parameters["greeting"], parameters["repeat"], parameters["verbose"], parameters["scale"]) == (
        "bonjour", 3, True, "cpu"
    )
    cells = nbformat.read(output, as_version=4).cells
    injected = [cell for cell in cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert 'greeting = "bonjour"' in injected[0].source
    assert "bonjour bonjour bonjour" in text_outputs(output) and "verbose=True" in text_outputs(output)
    assert (root / "book" / "chapters" / "00_hello.ipynb").read_bytes() == default_before


# --------------------------------------------------------------------------- failures


def test_failing_chapter_keeps_the_previous_notebook(built, tmp_path):
    root = copy_book(built[0], tmp_path / "book")
    previous = root / "book" / "chapters" / "01_broken.ipynb"
    shutil.copy(root / "book" / "chapters" / "00_hello.ipynb", previous)  # stands in for an older good run
    before = previous.read_bytes()
    result = invoke("--root", root, "run", "broken", "--no-progress")
    assert result.code == 1
    assert "notebooks/01_broken.py:" in result.err
    assert "cell #2 of the source" in result.err
    assert "raise RuntimeError(message)" in result.err
    assert "RuntimeError: deliberate failure in the second cell" in result.err
    assert previous.read_bytes() == before
    failed = nbformat.read(previous.with_name("01_broken.failed.ipynb"), as_version=4)
    errors = [o for cell in failed.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert errors[0].ename == "RuntimeError"


def test_build_with_a_failing_chapter_publishes_nothing(built, tmp_path, ledger_calls):
    root = copy_book(built[0], tmp_path / "book")
    result = invoke("--root", root, "build", "--scale", "smoke", "--no-progress")  # html would be skipped too
    assert result.code == 1
    assert "fresh: 00_hello" in result.out and "FAILED: 01_broken" in result.out
    assert "RuntimeError: deliberate failure" in result.err
    assert ledger_calls == []
    assert (root / "book" / "chapters" / "01_broken.failed.ipynb").is_file()
    assert not (root / "book" / "chapters" / "01_broken.ipynb").exists()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "7"], ["unknown chapter '7'", "00_hello, 01_broken"]),
        (["build", "--chapters", "00", "nope"], ["unknown chapter 'nope'", "00_hello, 01_broken"]),
        (["run", "00", "-p", "gretting", "hi"], ["no parameter 'gretting'", "scale, device, seed, greeting"]),
        (["run", "00", "-p", "repeat", "many"], ["'repeat' expects int", "got 'many'"]),
        (["run", "00", "-p", "verbose", "maybe"], ["'verbose' expects bool", "got 'maybe'"]),
        (["run", "00", "-p", "sizes", "5"], ["'sizes' expects", "(list)", "got 5"]),
        (["run", "00", "-p", "greeting", "hey"], ["'greeting' = 'hey' is not", "'hello', 'bonjour', 'hallo'"]),
        (["run", "00", "-p", "scale", "huge"], ["'scale' = 'huge' is not", "'smoke', 'cpu', 'paper'"]),
        (["build", "--scale", "huge", "--no-html"], ["unknown scale 'huge'", "'smoke', 'cpu', 'paper'"]),
        (["status", "--scale", "tiny"], ["unknown scale 'tiny'", "'smoke', 'cpu', 'paper'"]),
    ],
)
def test_bad_requests_exit_2_naming_what_is_allowed(book, argv, expected):
    result = invoke("--root", book, *argv)
    assert result.code == 2
    assert result.err.startswith("optbook: ") and result.err.count("\n") == 1  # one message
    for text in expected:
        assert text in result.err
    assert not (book / "book" / "chapters").exists()  # nothing ran


def test_root_must_be_a_book(tmp_path):
    result = invoke("list", "--root", tmp_path)
    assert result.code == 2 and "not a book folder" in result.err
    assert invoke().code == 2  # a command is required
    assert invoke("--help").code == 0


# --------------------------------------------------------------------------- claims results

CLAIMS_CHAPTER = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
scale = "cpu"  # "smoke" | "cpu" | "paper"
claim = "first"  # "first" | "second"
fail = False

# %%
from optbook import claims

claims.record("02", claim, "a claim", 1, 1, "reproduced", scale=scale)
if fail:
    raise RuntimeError("failed after recording")
'''


def test_a_run_replaces_its_chapters_results_only_on_success(built, tmp_path):
    root = copy_book(built[0], tmp_path / "book")
    (root / "notebooks" / "02_claims.py").write_text(CLAIMS_CHAPTER)
    results = root / "book" / "results" / "02.json"

    def recorded() -> list[str]:
        return [c["id"] for c in json.loads(results.read_text())]

    assert invoke("--root", root, "run", "02", "--no-progress").code == 0
    assert recorded() == ["first"]
    # A claim the chapter no longer records leaves the results (no stale rows in the ledger).
    assert invoke("--root", root, "run", "02", "-p", "claim", "second", "--no-progress").code == 0
    assert recorded() == ["second"]
    # A failed run, or a run written elsewhere, leaves the published results as they were.
    assert invoke("--root", root, "run", "02", "-p", "fail", "yes", "--no-progress").code == 1
    assert invoke("--root", root, "run", "02", "--output", tmp_path / "elsewhere.ipynb", "--no-progress").code == 0
    assert recorded() == ["second"]
    # ... unless told where to keep them (the GPU workflow does), beside other chapters' claims.
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "03.json").write_text("[]")
    assert invoke("--root", root, "run", "02", "-p", "claim", "first", "--output", tmp_path / "elsewhere.ipynb",
                  "--results", kept, "--no-progress").code == 0
    assert [c["id"] for c in json.loads((kept / "02.json").read_text())] == ["first"]
    assert (kept / "03.json").read_text() == "[]" and recorded() == ["second"]
    result = invoke("--root", root, "run", "02", "--results", kept, "--no-progress")
    assert result.code == 2 and "--results needs --output" in result.err


def test_status_sees_a_direct_papermill_run_of_a_published_chapter(built, tmp_path):
    """A batch user runs papermill on the executed chapter itself: our stamp survives in its
    metadata, so status must not call the rerun's outputs the stamped run."""
    import papermill

    root = copy_book(built[0], tmp_path / "book")
    executed = root / "book" / "chapters" / "00_hello.ipynb"
    assert "00_hello  fresh" in invoke("--root", root, "status", "--scale", "smoke").out
    papermill.execute_notebook(str(executed), str(executed), parameters={"greeting": "bonjour"},
                               kernel_name=build.KERNEL_NAME, progress_bar=False, cwd=str(root))
    assert "bonjour bonjour" in text_outputs(executed)
    status = invoke("--root", root, "status", "--scale", "smoke").out
    assert "00_hello  stale: executed again outside optbook build (by papermill at " in status
    assert "'greeting': 'bonjour'" in status


@pytest.mark.parametrize("seed, message", [
    ("-1", "parameter 'seed' = -1 is not allowed; use an integer from 0 to 4294967295"),
    ("99999999999999999999", "parameter 'seed' = 99999999999999999999 is not allowed"),
])
def test_run_refuses_a_seed_out_of_range_before_a_kernel_starts(book, tmp_path, seed, message):
    output = tmp_path / "out.ipynb"
    result = invoke("--root", book, "run", "00", "-p", "seed", seed, "--output", output, "--no-progress")
    assert result.code == 2 and message in result.err
    assert not output.exists() and not list(tmp_path.glob("*.ipynb"))


def test_run_refuses_an_output_it_could_not_write_before_a_kernel_starts(book, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    cases = {
        tmp_path: "is a directory",
        a_file / "out.ipynb": "is a file, not a folder",
        tmp_path / "out.txt": "must be a notebook file ending in .ipynb",
    }
    import os

    if os.geteuid() != 0:  # root writes anywhere; the permission case only means something for users
        cases[locked / "out.ipynb"] = "not writable"
    if Path("/proc").is_dir():  # a folder even root cannot create files in
        cases[Path("/proc/x.ipynb")] = "--output /proc/x.ipynb: not writable"
    for output, message in cases.items():
        result = invoke("--root", book, "run", "00", "--output", output, "--no-progress")
        assert result.code == 2 and message in result.err, (output, result.err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "book", "locked"]  # nothing written


def test_run_refuses_a_parameter_given_twice_before_a_kernel_starts(book, tmp_path):
    output = tmp_path / "out.ipynb"
    result = invoke("--root", book, "run", "00", "-p", "greeting", "hello", "-p", "greeting", "bonjour",
                    "--output", output, "--no-progress")
    assert result.code == 2 and "parameter 'greeting' is given twice" in result.err
    assert not output.exists()


def test_ctrl_c_is_one_line_and_exit_130(book, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "execute_chapter", interrupted)
    result = invoke("--root", book, "run", "00", "--no-progress")
    assert result.code == 130
    assert result.err.count("\n") == 1 and "interrupted" in result.err
    assert not (book / "book" / "chapters").exists()


def _start_slow_run(book: Path, tmp_path: Path):
    """`optbook run` of a chapter whose kernel writes its pid and sleeps; returns the process, the
    scratch $TMPDIR and the kernel's pid once the kernel is inside the slow cell."""
    import os
    import signal
    import time

    slow = book / "notebooks" / "02_slow.py"
    started = tmp_path / "kernel-pid"
    slow.write_text((book / "notebooks" / "00_hello.py").read_text()
                    + f"\n# %%\nimport os, pathlib, time\npathlib.Path({str(started)!r}).write_text(str(os.getpid()))"
                    + "\ntime.sleep(60)\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "optbook"), "--root", str(book), "run", "02", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(scratch)},
        # A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored
        # across exec (Python then installs no KeyboardInterrupt handler): restore the default,
        # as a terminal's Ctrl-C would find it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 180  # a kernel starts slowly on a busy machine
    while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), "the kernel never reached the slow cell"
    return process, scratch, int(started.read_text())


def test_ctrl_c_during_a_real_run_leaves_no_scratch_behind(book, tmp_path):
    """SIGINT to `optbook run` while its kernel works: one line, exit 130, and the scratch
    folder (in $TMPDIR) and the published chapter are gone / untouched."""
    import signal

    process, scratch, _ = _start_slow_run(book, tmp_path)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("optbook: interrupted"), err
    assert "Traceback" not in err
    assert not list(scratch.glob("optbook-*")), list(scratch.iterdir())
    assert not (book / "book" / "chapters" / "02_slow.ipynb").exists()


def test_a_killed_run_leaves_no_kernel_and_the_next_run_removes_its_scratch(book, tmp_path, monkeypatch):
    """SIGKILL runs no cleanup: the kernel notices its parent is gone and exits, and the next
    execution removes the scratch folder of the dead process (not those of live ones)."""
    import os
    import signal
    import time

    process, scratch, kernel = _start_slow_run(book, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while execution._process_exists(kernel) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not execution._process_exists(kernel), "the kernel outlived the killed run"
    (left,) = scratch.glob("optbook-02_slow-*")
    alive = scratch / f"optbook-02_slow-{os.getpid()}-abc"  # a scratch folder of a live process
    alive.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(execution.tempfile, "tempdir", None)  # tempfile caches the folder it chose
    # Half-written files a killed publish leaves beside the notebook and results go too.
    dead = process.pid
    (book / "book" / "results").mkdir(parents=True)
    half = [book / "book" / "results" / f".02.json.{dead}.tmp", tmp_path / f".next.ipynb.{dead}.partial"]
    for path in half:
        path.write_text("half")
    mine = tmp_path / f".other.ipynb.{os.getpid()}.partial"
    mine.write_text("in progress")
    assert invoke("--root", book, "run", "00", "--output", tmp_path / "next.ipynb", "--no-progress").code == 0
    assert not left.exists() and alive.is_dir()
    assert not any(path.exists() for path in half) and mine.exists()


def test_notebook_and_results_are_published_together_or_not_at_all(built, tmp_path):
    root = copy_book(built[0], tmp_path / "book")
    executed = root / "book" / "chapters" / "00_hello.ipynb"
    before = executed.read_bytes()
    results = root / "book" / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.write_text("not a folder")  # the results cannot be written
    result = invoke("--root", root, "build", "--scale", "smoke", "--chapters", "00", "--force", "--no-html",
                    "--no-progress")
    assert result.code != 0
    assert "cannot write the results of 00_hello" in result.err + result.out
    assert executed.read_bytes() == before  # the old notebook stays with the old results
    assert not list((root / "book" / "chapters").glob(".*tmp*"))


CACHED_CHAPTER = '''
# %% tags=["parameters"]
scale = "cpu"  # "smoke" | "cpu" | "paper"
key = 1

# %%
from optbook import cache

first = cache.cached("demo", {"key": key}, lambda: key * 2)
again = cache.cached("demo", {"key": key}, lambda: key * 2)
print(first, again)
'''


def test_the_stamp_and_status_say_how_much_came_from_the_cache(book, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    header = (book / "notebooks" / "00_hello.py").read_text().partition("# %%")[0]
    (book / "notebooks" / "02_cached.py").write_text(header + CACHED_CHAPTER)
    output = tmp_path / "cached.ipynb"
    result = invoke("--root", book, "run", "02", "--output", output, "--no-progress")
    assert result.code == 0, result.err
    assert stamp_of(output)["cache"] == {"hits": 1, "misses": 1}
    assert ", 1 of 2 results from the cache ->" in result.out
    assert invoke("--root", book, "run", "02", "--output", output, "--no-progress").code == 0
    assert stamp_of(output)["cache"] == {"hits": 2, "misses": 0}


def test_a_damaged_cache_entry_is_reported_on_the_terminal_of_run(book, tmp_path, monkeypatch):
    """The kernel's warning lands in the notebook; whoever ran the chapter must see it too."""
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    header = (book / "notebooks" / "00_hello.py").read_text().partition("# %%")[0]
    (book / "notebooks" / "02_cached.py").write_text(header + CACHED_CHAPTER)
    output = tmp_path / "cached.ipynb"
    assert invoke("--root", book, "run", "02", "--output", output, "--no-progress").code == 0
    (entry,) = (tmp_path / "data" / "cache").glob("demo-*.zip")
    content = bytearray(entry.read_bytes())
    content[len(content) // 2] ^= 0x01  # one flipped bit
    entry.write_bytes(bytes(content))
    result = invoke("--root", book, "run", "02", "--output", output, "--no-progress")
    assert result.code == 0, result.err
    assert f"warning: 02_cached: damaged cache entry {entry}" in result.err
    assert "does not match the SHA-256" in result.err and "recomputing it" in result.err
    assert stamp_of(output)["cache"] == {"hits": 1, "misses": 1}  # recomputed once, then served


# --------------------------------------------------------------------------- train-nets


def test_train_nets_refuses_unknown_problems_kinds_and_threads_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    root = Path(__file__).resolve().parents[1]
    result = invoke("--root", root, "train-nets", "--problems", "cubic")
    assert result.code == 2 and "--problems: 'cubic' is not one of quadratic, mnist" in result.err
    result = invoke("--root", root, "train-nets", "--problems", "quadratic", "--kinds", "hnn-open")
    assert result.code == 2 and "'hnn-open' is not a kind trained on quadratic; its kinds are lstm, hnn" in result.err
    result = invoke("--root", root, "train-nets", "--threads", "0")
    assert result.code == 2 and "--threads" in result.err
    assert not (tmp_path / "data").exists()


def test_train_nets_trains_a_kinds_search_and_runs_once_then_finds_them(tmp_path, monkeypatch):
    from optbook.learned import checkpoints

    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(checkpoints, "shipped_dir", lambda: tmp_path / "shipped")  # nothing ships: all is trained
    root = Path(__file__).resolve().parents[1]
    first = invoke("--root", root, "train-nets", "--scale", "smoke", "--problems", "quadratic", "--kinds", "hnn",
                   "--no-progress")
    assert first.code == 0, first.err
    saved = sorted(p.name for p in (tmp_path / "data" / "checkpoints").glob("*.pt"))
    # smoke: two meta-learning rates searched on run 1, then run 2 at the chosen one
    assert len(saved) == 3 and all(name.startswith("hnn-quadratic-hnn-r") for name in saved)
    assert "quadratic hnn: meta-lr" in first.out and "validation loss at the horizon per run" in first.out
    again = invoke("--root", root, "train-nets", "--scale", "smoke", "--problems", "quadratic", "--kinds", "hnn",
                   "--no-progress")
    assert again.code == 0 and sorted(p.name for p in (tmp_path / "data" / "checkpoints").glob("*.pt")) == saved
