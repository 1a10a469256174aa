"""The pipeline's two failures: a request that cannot be carried out, and a chapter that raised."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optbook.pipeline.chapters import Chapter


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
