"""Chapters: ``notebooks/NN_name.py`` (jupytext percent format), found and named."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optbook.pipeline.errors import BuildError


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


def shown_path(path: Path, root: Path) -> str:
    """``path`` relative to the book's root when it lies inside it, for shorter messages."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)
