"""Colab without Colab: a committed chapter run the way a reader's Colab session runs it.

A wheel is built from the checkout's package sources and a fresh virtual environment is made.
A committed executed chapter, with the install cell ``optbook build`` writes into it, is executed
by papermill at ``scale="smoke"`` in an empty folder, in a kernel of that environment that imports
a stand-in ``google.colab`` at start (as Colab's kernel does). Its install cell therefore runs
``pip install`` -- pointed at the wheel through ``OPTBOOK_INSTALL_SOURCE`` -- and the chapter
imports the library it just installed. The run must succeed, write nothing outside its folder
and ``~/.cache/optbook``, and print no progress-bar warning.

What "fresh" means here, and why. The environment is a new venv in which optbook exists only if
the install cell installs it from the wheel: no checkout folder is on its path and its working
folder is empty. Its heavy dependencies (torch, pandas, matplotlib, the Jupyter kernel, papermill)
are not downloaded -- that takes minutes and a network the build machines lack -- but come from
this test's environment through one ``.pth`` path entry to a folder of symlinks holding exactly
the installed distributions that ``optbook[data]``, ``ipykernel`` and ``papermill`` require,
transitively (and pip): not optbook (whose editable install points at the checkout), and nothing
else the test environment happens to have (e.g. no ipywidgets, which Colab has and a bare kernel
lacks).
pip runs with ``--no-index``: the wheel's requirements must all be met by that closure.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from optbook import pipeline as build
from optbook.pipeline import install_cell

ROOT = Path(__file__).resolve().parents[1]
# The committed chapter executed here: the fastest at smoke scale (about 15 s on 2 cores); it
# fills the result cache, records claims and draws progress bars, as every chapter does.
CHAPTER = "04_thermodynamic_integrators"
# What a Colab runtime brings besides the library: pip, a Jupyter kernel, and here papermill to run it.
KERNEL_ROOTS = (("optbook", {"data"}), ("ipykernel", set()), ("papermill", set()), ("pip", set()))

pytestmark = pytest.mark.colab


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dependency_closure() -> list[metadata.Distribution]:
    """Installed distributions required by :data:`KERNEL_ROOTS` (with their extras), transitively,
    optbook itself excluded."""
    extras_of: dict[str, set[str]] = {}
    dists: dict[str, metadata.Distribution] = {}
    todo = [(name, set(extras)) for name, extras in KERNEL_ROOTS]
    while todo:
        name, extras = todo.pop()
        key = _canonical(name)
        if key in extras_of and extras <= extras_of[key]:
            continue
        extras_of[key] = extras_of.get(key, set()) | extras
        dists[key] = dist = metadata.distribution(name)
        environments = [{**default_environment(), "extra": extra} for extra in (extras_of[key] or {""})]
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                todo.append((requirement.name, set(requirement.extras)))
    dists.pop("optbook")
    return list(dists.values())


def _shared_dependencies(view: Path) -> None:
    """Symlink every top-level entry of the closure's distributions into ``view``."""
    view.mkdir()
    for dist in _dependency_closure():
        assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
        base = Path(dist.locate_file(""))
        for top in {file.parts[0] for file in dist.files if file.parts[0] != ".."}:
            if top == "__pycache__" or top.endswith(".pth") or (view / top).exists() or not (base / top).exists():
                continue
            (view / top).symlink_to(base / top)


def _build_wheel(tmp: Path) -> Path:
    """The wheel of the checkout's package sources, built from a copy (the checkout stays untouched).
    A smoke-scale net lying in the checkpoints folder must not be shipped."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "lib", source / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(next((source / "lib/optbook/checkpoints").glob("*-cpu.pt")),
                source / "lib/optbook/checkpoints/l2l-stray-smoke.pt")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(tmp / "wheel"), str(source)],
        check=True, capture_output=True, text=True, env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )
    return next((tmp / "wheel").glob("optbook-*.whl"))


def _fresh_environment(tmp: Path) -> Path:
    venv = tmp / "venv"
    # --without-pip: the venv's bundled pip and old setuptools would shadow the shared ones
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    _shared_dependencies(tmp / "shared-dependencies")
    (site / "shared-dependencies.pth").write_text(f"{tmp / 'shared-dependencies'}\n")
    colab = site / "google" / "colab"  # a namespace package `google`, as in Colab
    colab.mkdir(parents=True)
    (colab / "__init__.py").write_text('"""Stand-in for Colab\'s module: its presence is what the install cell asks."""\n')
    return python


def _environment(tmp: Path, venv: Path, wheel: Path) -> dict:
    """A clean environment: HOME in the test's folder, tools' own files kept in ``tools``."""
    tools = tmp / "tools"
    startup = tools / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # Colab's kernel has it imported at start\n")
    (tools / "tmp").mkdir()
    keep = ("LANG", "LC_ALL", "TERM")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({
        # the venv and the system's folders only: no user tool shims (they write into HOME)
        "PATH": os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(tmp / "home"),
        "TMPDIR": str(tools / "tmp"),
        "IPYTHONDIR": str(tools / "ipython"),
        "MPLCONFIGDIR": str(tools / "matplotlib"),
        "JUPYTER_CONFIG_DIR": str(tools / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(tools / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tools / "jupyter-runtime"),
        "PIP_NO_INDEX": "1",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "OMP_NUM_THREADS": "1",
        install_cell.INSTALL_ENV: f"optbook[data] @ {wheel.as_uri()}",
    })
    (tmp / "home").mkdir()
    return env


def _committed_chapter_as_published(tools: Path) -> Path:
    """The committed executed chapter with the install cell ``optbook build`` writes into it."""
    notebook = nbformat.read(ROOT / "book" / "chapters" / f"{CHAPTER}.ipynb", as_version=4)
    install_cell.write_install_cell(notebook, ROOT, notebook.metadata[build.STAMP_KEY])
    cell = notebook.cells[install_cell.find_install_cell(notebook)]
    url, _ = install_cell.read_repository(ROOT)
    # The book ships no repository: the cell installs what OPTBOOK_INSTALL_SOURCE names (here the wheel),
    # or, with a repository.url set by a publisher, that repository at the page's commit.
    remote = f"optbook[data] @ git+{url}@" in cell.source if url else "git+" not in cell.source
    assert remote and install_cell.INSTALL_ENV in cell.source
    path = tools / f"{CHAPTER}.ipynb"
    nbformat.write(notebook, path)
    return path


def _files_under(folder: Path) -> set[Path]:
    """Every file and symlink below ``folder``, symlinked folders not followed."""
    found = set()
    for parent, folders, files in os.walk(folder):
        found.update(Path(parent) / name for name in files)
        found.update(Path(parent) / name for name in folders if (Path(parent) / name).is_symlink())
    return found


def _git_status() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=True).stdout


def test_a_committed_chapter_runs_in_colab_from_the_wheel(tmp_path):
    checkout_before = _git_status()
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(name).name for name in archive.namelist() if name.startswith("optbook/checkpoints/")}
    committed = {path.name for path in (ROOT / "lib/optbook/checkpoints").glob("*-cpu.pt")}
    assert committed and shipped == committed  # every trained optimizer, and no smoke-scale net

    python = _fresh_environment(tmp_path)
    env = _environment(tmp_path, tmp_path / "venv", wheel)
    probe = subprocess.run([str(python), "-c", "import importlib.util; print(importlib.util.find_spec('optbook'))"],
                           capture_output=True, text=True, env=env, cwd=tmp_path / "home")
    assert probe.stdout.strip() == "None", probe  # nothing of the checkout is importable before the install
    subprocess.run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
                   check=True, capture_output=True, env=env)

    notebook = _committed_chapter_as_published(tmp_path / "tools")
    work = tmp_path / "work"
    work.mkdir()
    executed = tmp_path / "tools" / "executed.ipynb"
    run = subprocess.run(
        [str(python), "-m", "papermill", str(notebook), str(executed), "-p", "scale", "smoke", "-k", "python3",
         "--cwd", str(work), "--no-progress-bar"],
        capture_output=True, text=True, env=env, cwd=work, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    # the install cell installed the wheel, and the chapter ran on it
    installed = subprocess.run(
        [str(python), "-c", "import json, optbook, importlib.metadata as m; "
         "from optbook.learned.checkpoints import find_checkpoints; "
         "print(json.dumps([optbook.__file__, m.distribution('optbook').read_text('direct_url.json'), "
         "[str(p) for p in find_checkpoints('l2l-quadratic-lr0.003-seed1-p200-cpu')]]))"],
        capture_output=True, text=True, env=env, cwd=work, check=True,
    )
    module_file, direct_url, nets = json.loads(installed.stdout)
    site = tmp_path / "venv"
    assert Path(module_file).is_relative_to(site) and wheel.name in direct_url
    assert nets and all(Path(net).is_relative_to(site) for net in nets)  # shipped in the package

    outputs = [output for cell in nbformat.read(executed, as_version=4).cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", []))
                     for o in outputs)
    assert "TqdmWarning" not in text and "IProgress" not in text
    assert "smoke" in text  # the chapter ran its smoke configuration

    # nothing written outside its folder and ~/.cache/optbook (tools' own files were sent to tools/)
    home_files = _files_under(tmp_path / "home")
    assert home_files and all(path.is_relative_to(tmp_path / "home/.cache/optbook") for path in home_files), \
        sorted(map(str, home_files))[:20]
    allowed = [tmp_path / name for name in ("work", "home", "venv", "tools", "wheel", "source", "shared-dependencies")]
    assert all(any(path.is_relative_to(folder) for folder in allowed) for path in _files_under(tmp_path))
    assert _git_status() == checkout_before
