"""After the chapters: the claims ledger and the HTML book."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from optbook.pipeline.errors import BuildError


def render_claims_ledger(root: Path) -> Path:
    """The ledger page and the landing page's findings table, from ``book/results/``."""
    from optbook.pipeline.ledger import render_findings, render_ledger

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
    """The HTML book, with the maths renderer it ships (equations render without a network)."""
    from optbook.pipeline.mathjax import install_mathjax

    install_mathjax(Path(root))
    return subprocess.run(jupyter_book_command(root), cwd=root).returncode
