"""The first code cell of an executed chapter: what installs the library in Colab.

One setting decides where the library comes from: ``repository.url`` in ``_config.yml``, which
Jupyter Book also reads for the pages' launch buttons. It has no default: only whoever publishes
the book knows which repository holds its code, and a default naming someone else's repository
would have Colab readers install that stranger's code. Without it the pages have no launch
buttons and the install cell installs nothing: it says how to install the library by hand. With
it (an https GitHub address, the form Colab's launch buttons open), ``optbook build`` writes the
install cell into every executed notebook from that setting and the chapter's stamp: pip installs
``optbook[data] @ git+<repository.url>@<commit>``, the commit that produced the page (recorded in
the stamp), so a reader in Colab runs the code that made the numbers they are looking at. A
chapter executed outside a git checkout has no commit; its cell installs ``repository.branch``
and says so.

The cell also tells the library which data sets the page was built with
(``OPTBOOK_PAGE_DATA``), so a run that resolves ``dataset="auto"`` differently says so
(:mod:`optbook.data`). ``OPTBOOK_INSTALL_SOURCE`` overrides the install source when the cell
runs (any pip requirement: a fork, a wheel file); the tests point it at a freshly built wheel.

Nothing here is imported by the cell itself: it must run before the library exists.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from optbook.data import PAGE_DATA_ENV

CONFIG_FILE = "_config.yml"
INSTALL_ENV = "OPTBOOK_INSTALL_SOURCE"
# The install cell is the first code cell, if it asks whether it runs in Colab (every install
# cell does, the ones executed chapters carried before the build wrote them included).
MARKER = "google.colab"
PACKAGE = "optbook[data]"
# What a publisher may give as repository.url: a GitHub repository's https address (Colab's launch
# buttons open notebooks from GitHub only), no credentials, no further path.
_URL = re.compile(r"^https://github\.com/[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}?(?:\.git)?/?$")
# What a chapter's stamp may hold as the commit: a full hexadecimal git object name.
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
# Paths whose uncommitted changes mean the page was not made by the recorded commit alone.
SOURCE_PATHS = ("lib", "notebooks", "pyproject.toml")


class ConfigError(ValueError):
    """``_config.yml`` lacks a usable ``repository`` setting."""


def read_repository(root: Path) -> tuple[str | None, str]:
    """``(repository.url, repository.branch)`` from the book's ``_config.yml``; the url is None
    when the publisher has set none (then nothing is installed from a remote), and a url that is
    set but unusable is a ``ConfigError``."""
    import yaml

    path = Path(root) / CONFIG_FILE
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    repository = config.get("repository") or {}
    url = repository.get("url")
    branch = repository.get("branch", "main")
    if not isinstance(branch, str) or not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        raise ConfigError(f"{path}: repository.branch={branch!r} is not a git branch name")
    if url is None or url == "":
        return None, branch
    if not isinstance(url, str) or not _URL.match(url):
        raise ConfigError(
            f"{path}: repository.url={url!r} is not usable; set it to the https address of the GitHub "
            "repository that holds the book, https://github.com/OWNER/REPO (Colab's launch buttons and the "
            "install cells follow it), or remove it to publish without launch buttons"
        )
    return url.rstrip("/").removesuffix(".git"), branch


def git_revision(root: Path) -> dict:
    """``{"commit": sha or None, "dirty": bool}``: the checkout's HEAD, and whether the library,
    the chapter sources or ``pyproject.toml`` differ from it (other files, such as the executed
    notebooks the build itself writes, do not make a page's code differ)."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    try:
        head = git("rev-parse", "--verify", "HEAD")
    except OSError:  # no git on this machine
        return {"commit": None, "dirty": False}
    # A folder inside some other repository (e.g. a copy of the book under a checked-out home)
    # is not the book's checkout: only a repository whose top level is the book's root counts.
    top = git("rev-parse", "--show-toplevel")
    if head.returncode != 0 or top.returncode != 0 or Path(top.stdout.strip()).resolve() != Path(root).resolve():
        return {"commit": None, "dirty": False}
    status = git("status", "--porcelain", "--", *SOURCE_PATHS)
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def install_requirement(url: str, commit: str | None, branch: str) -> str:
    """The pip requirement of the library at ``commit`` (or at ``branch`` when there is none)."""
    if commit is not None and not _COMMIT.match(commit):
        raise ValueError(f"commit={commit!r} is not a full git commit id (40 or 64 hex digits)")
    return f"{PACKAGE} @ git+{url}@{commit or branch}"


def render(url: str | None, branch: str, commit: str | None, dirty: bool, page_data: list[str]) -> str:
    """The install cell's source for a page built at ``commit`` from data sets ``page_data``;
    without a ``url`` it installs only what ``OPTBOOK_INSTALL_SOURCE`` names."""
    bad = [key for key in page_data if not re.fullmatch(r"[a-z0-9-]+", str(key))]
    if bad:
        raise ValueError(f"page_data={list(page_data)!r}: data-set keys are lowercase words like 'mnist-5k'; got {bad}")
    data = ",".join(sorted(set(page_data)))
    if url is None:
        opening = ["# In Colab, the library must be installed first; anywhere else this cell does nothing.",
                   "# This book was published without a repository to install from: in Colab, set",
                    f"# {INSTALL_ENV} to a pip requirement of the library (a wheel you uploaded, your fork),",
                    "# or run the page locally from a checkout of the book (`make setup`)."]
        source = f"os.environ.get({_literal(INSTALL_ENV)})"
        install = [
            f"    requirement = {source}",
            "    if requirement is None:",
            f"        raise RuntimeError(\"optbook is not installed and this book names no repository: set {INSTALL_ENV} \"",
            "                           \"to a pip requirement of it, or run the page from a checkout of the book\")",
        ]
    else:
        opening = ["# In Colab, install the library that built this page; anywhere else",
                   "# nothing is installed."]
        requirement = install_requirement(url, commit, branch)
        if commit is None:
            opening.append(f"# This page was built outside a git checkout: the install follows branch {branch!r}.")
        elif dirty:
            opening.append(f"# Pinned to the commit that built this page ({commit[:12]}); the build had "
                           "uncommitted changes on top of it.")
        else:
            opening.append(f"# Pinned to the commit that built this page ({commit[:12]}).")
        opening += [f"# {INSTALL_ENV} overrides what is installed (any pip requirement,",
                    "# e.g. a wheel file)."]
        # The requirement in two adjacent literals, split before the commit, so no line is wider
        # than the reproduce page shows.
        package, at, pinned = requirement.rpartition("@")
        install = ["    requirement = os.environ.get(", f"        {_literal(INSTALL_ENV)},",
                   f"        {_literal(package)}", f"        {_literal(at + pinned)})"]
    return "\n".join([
        *opening,
        "import importlib.util",
        "import os",
        "import subprocess",
        "import sys",
        "",
        "# the data sets this page was built with",
        f"os.environ.setdefault({_literal(PAGE_DATA_ENV)}, {_literal(data)})",
        'if ("google.colab" in sys.modules',
        '        and importlib.util.find_spec("optbook") is None):',
        *install,
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",',
        "                    requirement], check=True)",
    ])


def _literal(text: str) -> str:
    """A double-quoted Python string literal (JSON's string syntax is valid Python)."""
    return json.dumps(text)


def find_install_cell(notebook) -> int | None:
    """Index of the notebook's install cell: its first code cell, if it mentions :data:`MARKER`."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            return index if MARKER in cell.source else None
    return None


def write_install_cell(notebook, root: Path, stamp: dict) -> bool:
    """Put the install cell for ``stamp`` into ``notebook`` (in place); True if it changed.

    The cell keeps its metadata (tags) and outputs; a notebook without an install cell is left
    alone (the book's chapters all have one: a test checks it).
    """
    index = find_install_cell(notebook)
    if index is None:
        return False
    url, branch = read_repository(root)
    source = render(url, branch, stamp.get("git_commit"), bool(stamp.get("git_dirty")), stamp.get("datasets") or [])
    cell = notebook.cells[index]
    if cell.source == source:
        return False
    cell.source = source
    return True
