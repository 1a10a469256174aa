"""Every chapter executed at scale="smoke" through the real CLI, and the book built from them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTBOOK = Path(sys.executable).parent / "optbook"


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the book's sources (no executed chapters, no results, no cache) built at smoke scale."""
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "book").mkdir()
    for path in (ROOT / "book").glob("*.md"):
        if path.name != "claims.md":
            shutil.copy(path, root / "book" / path.name)
    shutil.copy(ROOT / "book" / "references.bib", root / "book" / "references.bib")
    result = subprocess.run(
        [str(OPTBOOK), "build", "--scale", "smoke", "--root", str(root), "--no-progress"],
        capture_output=True, text=True, timeout=900, env={**_clean_env(), "OPTBOOK_DATA": str(root / "data")},
    )
    return root, result


def _clean_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("OPTBOOK_")}


def test_build_succeeds(smoke_book):
    _, result = smoke_book
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_chapter_executed_at_smoke_scale_with_a_stamp(smoke_book):
    root, _ = smoke_book
    sources = sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))
    assert sources, "no chapter sources found"
    for source in sources:
        executed = root / "book" / "chapters" / f"{source.stem}.ipynb"
        notebook = json.loads(executed.read_text())
        stamp = notebook["metadata"]["optbook"]
        assert stamp["parameters"]["scale"] == "smoke"
        # The stamp records how long the run took (shown by `optbook status`); a test never asserts
        # a wall time, because the machine is shared and a busy neighbour would fail it.
        assert stamp["wall_time_s"] > 0
        errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors


def test_every_executed_chapter_carries_the_install_cell_the_config_and_stamp_give(smoke_book):
    from optbook import install_cell

    root, _ = smoke_book
    url, branch = install_cell.read_repository(root)
    for executed in sorted((root / "book" / "chapters").glob("[0-9][0-9]_*.ipynb")):
        notebook = json.loads(executed.read_text())
        stamp = notebook["metadata"]["optbook"]
        assert stamp["git_commit"] is None  # this copy of the book is no git checkout: unpinned, and said so
        first_code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
        source = "".join(first_code["source"])
        assert source == install_cell.render(url, branch, None, False, stamp["datasets"]), executed.name
        assert f"git+{url}@{branch}" in source and "remove-cell" in first_code["metadata"]["tags"]
    chapter0 = json.loads((root / "book" / "chapters" / "00_tasks_and_baselines.ipynb").read_text())
    assert set(chapter0["metadata"]["optbook"]["datasets"]) & {"mnist", "mnist-5k"}  # the MNIST it loaded


def test_html_has_each_chapter_page_with_its_figures(smoke_book):
    root, _ = smoke_book
    html = root / "_build" / "html"
    assert (html / "index.html").is_file()
    for source in (root / "notebooks").glob("[0-9][0-9]_*.py"):
        page = (html / "book" / "chapters" / f"{source.stem}.html").read_text()
        images = [line for line in page.split("<img") [1:] if ".png" in line.split(">")[0]]
        assert len(images) >= 2, f"{source.stem}: expected figures in the page, found {len(images)}"
        for image in images:
            src = image.split('src="')[1].split('"')[0]
            assert (html / "book" / "chapters" / src).resolve().is_file(), src


def test_claims_ledger_page_lists_recorded_claims(smoke_book):
    root, _ = smoke_book
    recorded = [c for path in (root / "book" / "results").glob("*.json") for c in json.loads(path.read_text())]
    assert recorded
    page = (root / "_build" / "html" / "book" / "claims.html").read_text()
    for claim in recorded:
        assert claim["id"] in page


def test_second_build_executes_nothing(smoke_book):
    root, _ = smoke_book
    result = subprocess.run(
        [str(OPTBOOK), "build", "--scale", "smoke", "--root", str(root), "--no-progress", "--no-html"],
        capture_output=True, text=True, timeout=300, env={**_clean_env(), "OPTBOOK_DATA": str(root / "data")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "executed: none" in result.stdout, result.stdout[-1000:]
