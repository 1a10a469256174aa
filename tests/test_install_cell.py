"""The install cell: one repository setting, pinned to the commit in the chapter's stamp."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import jupytext
import nbformat
import pytest

from optbook import pipeline as build
from optbook.pipeline import install_cell

ROOT = Path(__file__).resolve().parents[1]
REAL_FIND_SPEC = importlib.util.find_spec
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _book(tmp_path: Path, url: str = "https://github.com/someone/their-book", branch: str = "main") -> Path:
    (tmp_path / "_config.yml").write_text(f"title: t\nrepository:\n  url: {url}\n  branch: {branch}\n")
    return tmp_path


def test_the_book_ships_no_repository_nobody_verified():
    """Only the publisher knows which repository holds the book: a default naming someone else's
    would have Colab readers install a stranger's code."""
    url, branch = install_cell.read_repository(ROOT)
    assert url is None and branch == "main"


@pytest.mark.parametrize("url", ["git@github.com:a/b.git", "http://github.com/a/b", "https://user:pw@github.com/a/b",
                                 "https://github.com/a/b; rm -rf ~", "https://gitlab.com/a/b",
                                 "https://github.com/a/b/tree/main", "https://github.com/a/..", 42])
def test_an_unusable_repository_url_is_refused_by_name(tmp_path, url):
    (tmp_path / "_config.yml").write_text(f"repository:\n  url: {url!s}\n")
    with pytest.raises(install_cell.ConfigError, match="repository.url="):
        install_cell.read_repository(tmp_path)


def test_without_a_repository_the_cell_installs_nothing_from_a_remote(monkeypatch, tmp_path):
    (tmp_path / "_config.yml").write_text("title: t\n")
    assert install_cell.read_repository(tmp_path) == (None, "main")
    source = install_cell.render(None, "main", COMMIT, False, [])
    assert "git+" not in source and "make setup" in source
    with pytest.raises(RuntimeError, match="names no repository: set OPTBOOK_INSTALL_SOURCE"):
        _run_cell(source, monkeypatch, colab=True)
    assert _run_cell(source, monkeypatch, colab=False) == []
    wheel = "/tmp/w/optbook.whl[data]"
    assert _run_cell(source, monkeypatch, colab=True, env={install_cell.INSTALL_ENV: wheel}) == [
        [sys.executable, "-m", "pip", "install", "-q", wheel]]


def test_url_is_normalised(tmp_path):
    assert install_cell.read_repository(_book(tmp_path, "https://github.com/a/b.git/"))[0] == "https://github.com/a/b"


def _run_cell(source: str, monkeypatch, colab: bool, installed: bool = False, env: dict | None = None):
    """Execute the cell as a kernel would, with pip replaced by a recorder."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, check: calls.append(args))
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (REAL_FIND_SPEC(name) if installed else None) if name == "optbook"
                        else REAL_FIND_SPEC(name, *a))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    for name in (install_cell.INSTALL_ENV, install_cell.PAGE_DATA_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    exec(compile(source, "<install cell>", "exec"), {})
    return calls


def test_the_cell_installs_the_pinned_commit_in_colab_only(monkeypatch):
    source = install_cell.render("https://github.com/a/b", "main", COMMIT, False, ["mnist-5k"])
    pinned = f"optbook[data] @ git+https://github.com/a/b@{COMMIT}"
    assert _run_cell(source, monkeypatch, colab=True) == [[sys.executable, "-m", "pip", "install", "-q", pinned]]
    assert _run_cell(source, monkeypatch, colab=False) == []
    assert _run_cell(source, monkeypatch, colab=True, installed=True) == []
    assert os.environ[install_cell.PAGE_DATA_ENV] == "mnist-5k"  # everywhere: the data notice needs it


def test_the_install_source_can_be_overridden(monkeypatch):
    source = install_cell.render("https://github.com/a/b", "main", COMMIT, False, [])
    calls = _run_cell(source, monkeypatch, colab=True, env={install_cell.INSTALL_ENV: "/tmp/w/optbook.whl[data]"})
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "/tmp/w/optbook.whl[data]"]]


def test_provenance_is_stated():
    assert "uncommitted changes" in install_cell.render("https://github.com/a/b", "main", COMMIT, True, [])
    unpinned = install_cell.render("https://github.com/a/b", "dev", None, False, [])
    assert "git+https://github.com/a/b@dev" in _joined(unpinned) and "outside a git checkout" in unpinned
    with pytest.raises(ValueError, match="commit="):
        install_cell.render("https://github.com/a/b", "main", "HEAD; rm", False, [])


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def test_git_revision_records_the_commit_and_whether_sources_differ(tmp_path):
    _git(tmp_path, "init", "-q")
    for name in ("lib/optbook/x.py", "notebooks/00_a.py", "book/chapters/00_a.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    head = _git(tmp_path, "rev-parse", "HEAD").strip()
    assert install_cell.git_revision(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "book/chapters/00_a.ipynb").write_text("2\n")  # what the build writes: still clean
    assert install_cell.git_revision(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "lib/optbook/y.py").write_text("new\n")
    assert install_cell.git_revision(tmp_path) == {"commit": head, "dirty": True}
    inner = tmp_path / "copy"  # a folder inside another repository is not a checkout of the book
    inner.mkdir()
    assert install_cell.git_revision(inner) == {"commit": None, "dirty": False}


def test_every_chapter_source_has_an_install_cell_first():
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert sources
    for source in sources:
        notebook = jupytext.read(source)
        index = install_cell.find_install_cell(notebook)
        first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
        assert index == first_code, source.name
        assert "remove-cell" in notebook.cells[index].metadata.get("tags", []), source.name


def test_the_build_writes_the_cell_from_config_and_stamp(tmp_path):
    root = _book(tmp_path, "https://github.com/someone/their-book")
    notebook = jupytext.read(ROOT / "notebooks" / "00_tasks_and_baselines.py")
    index = install_cell.find_install_cell(notebook)
    tags = list(notebook.cells[index].metadata["tags"])
    stamp = {"git_commit": COMMIT, "git_dirty": False, "datasets": ["mnist-5k"]}
    assert install_cell.write_install_cell(notebook, root, stamp)
    cell = notebook.cells[index]
    assert f'"optbook[data] @ git+https://github.com/someone/their-book"\n        "@{COMMIT}"' in cell.source
    assert '"OPTBOOK_PAGE_DATA", "mnist-5k"' in cell.source and cell.metadata["tags"] == tags
    assert not install_cell.write_install_cell(notebook, root, stamp)  # already so
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import optbook")])
    assert not install_cell.write_install_cell(other, root, stamp)  # no install cell: untouched
    assert other.cells[0].source == "import optbook"


def test_build_refreshes_a_fresh_chapters_cell_when_the_repository_changes(tmp_path):
    root = _book(tmp_path, "https://github.com/someone/their-book")
    (root / "notebooks").mkdir()
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    source = ROOT / "notebooks" / "00_tasks_and_baselines.py"
    (root / "notebooks" / source.name).write_text(source.read_text())
    chapter = build.discover_chapters(root)[0]
    notebook = jupytext.read(source)
    notebook.metadata[build.STAMP_KEY] = {"git_commit": COMMIT, "git_dirty": False, "datasets": []}
    chapter.executed_path.parent.mkdir(parents=True)
    nbformat.write(notebook, chapter.executed_path)
    assert build.refresh_page(chapter)
    assert "git+https://github.com/someone/their-book@" in _joined(nbformat.read(chapter.executed_path, 4).cells[
        install_cell.find_install_cell(notebook)].source)
    assert not build.refresh_page(chapter)
    _book(root, "https://github.com/moved/book")
    assert build.refresh_page(chapter)


def test_the_reproduce_page_shows_the_cell_the_build_writes():
    page = (ROOT / "book" / "reproduce.md").read_text()
    cell = install_cell.render("https://github.com/OWNER/REPO", "main", "053c112521f17f9f5864f39d886ae50d755cbdea",
                               False, ["mnist-5k"])
    assert cell in page


def _joined(source: str) -> str:
    """The cell's source with the requirement's two adjacent literals (split before the commit, so
    every line fits the page) read as one."""
    return source.replace('"\n        "@', "@")
