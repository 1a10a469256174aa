"""What a reader must not see on a chapter's page: plumbing code and terminal output.

:func:`page_problems` reads an executed notebook and lists every visible code cell that records a
claim, glues a number, holds parameters or defines a long helper, and every output that shows a
Python dict repr, a terminal log line, a progress bar, a warning or an unrounded float, and every
code line wider than the page shows. The tests
run it over the committed chapters and over a smoke build of the sources.

:func:`source_problems` reads a chapter's source (``notebooks/NN_name.py``), the file a contributor
opens: it holds prose, equations, parameters and calls, so any cell, hidden or not, that defines a
function or a lambda, records a claim or glues a value by hand is a problem (a chapter's findings
are declared in its study and published with :func:`optbook.findings.publish`).
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass
from pathlib import Path

HIDDEN_INPUT_TAGS = ("remove-cell", "remove-input")
HIDDEN_OUTPUT_TAGS = ("remove-cell", "remove-output")
# A function longer than this (body lines) is a helper that belongs in the library.
MAX_FUNCTION_LINES = 6
PLUMBING_CALLS = {"record": "records a claim", "glue": "glues a number"}
# In a chapter's source nothing may be computed for the record by hand: these belong in its study.
SOURCE_FORBIDDEN_CALLS = {"record": "records a claim (declare it in the study)",
                          "glue": "glues a value by hand (publish the study's findings)"}
PARAMETER_TAGS = ("parameters", "injected-parameters")
# The widest line a code cell shows without scrolling inside its frame (the page's 1280 px layout,
# _static/optbook.css's code size; folded "hide-input" cells are the narrowest frame).
MAX_CODE_LINE = 80

DICT_REPR = re.compile(r"\{\s*'[^'\n]{1,80}'\s*:")
LOG_LINE = re.compile(r"^\s*\[(reproduced|partly reproduced|mixed|inconclusive|not reproduced|not run"
                      r"|INFO|WARNING|DEBUG|ERROR)\]", re.MULTILINE)
PROGRESS_BAR = re.compile(r"\d+%\|")
WARNING = re.compile(r"\b\w*Warning\b:")
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+\b")
# More significant digits than this is a float printed as Python stores it, not rounded for a
# reader (0.8999999761581421, 2.031765).
MAX_SIGNIFICANT_DIGITS = 6
MIME_SHOWN_AS_TEXT = ("text/plain", "text/markdown", "text/html")  # in rising richness


@dataclass(frozen=True)
class Problem:
    cell: int  # index in the notebook
    what: str
    excerpt: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.what}: {self.excerpt!r}"


def page_problems(notebook_path: Path) -> list[Problem]:
    import nbformat

    notebook = nbformat.read(Path(notebook_path), as_version=4)
    problems: list[Problem] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            problems += [Problem(index, what, excerpt) for what, excerpt in fenced_code_problems(cell.source)]
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if not any(tag in tags for tag in HIDDEN_INPUT_TAGS):
            problems += [Problem(index, what, excerpt) for what, excerpt in code_problems(cell.source, tags)]
        if not any(tag in tags for tag in HIDDEN_OUTPUT_TAGS):
            for output in cell.get("outputs", []):
                problems += [Problem(index, what, excerpt) for what, excerpt in output_problems(output)]
    return problems


def code_problems(source: str, tags=()) -> list[tuple[str, str]]:
    """Why a visible code cell is plumbing rather than teaching code (empty when it teaches)."""
    found = []
    if any(tag in tags for tag in PARAMETER_TAGS):
        found.append(("shows a parameters cell", source.strip().split("\n")[0]))
    for line in source.splitlines():
        if len(line) > MAX_CODE_LINE:
            found.append((f"shows a {len(line)}-character line (at most {MAX_CODE_LINE} fit the page)", line[:80]))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found  # magics and the like: nothing to say about them
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in PLUMBING_CALLS:
                found.append((f"visible code {PLUMBING_CALLS[name]}", ast.unparse(node)[:80]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno
            if length > MAX_FUNCTION_LINES:
                found.append((f"defines a {length}-line function (move it to the library)", f"def {node.name}"))
    return found


def fenced_code_problems(markdown: str) -> list[tuple[str, str]]:
    """Code shown in a Markdown cell's ``` fences must fit the page too."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced and len(line) > MAX_CODE_LINE:
            found.append((f"shows a {len(line)}-character line of code (at most {MAX_CODE_LINE} fit the page)",
                          line[:80]))
    return found


def source_problems(source_path: Path) -> list[Problem]:
    """Why a chapter source is not prose, equations, parameters and calls (empty when it is)."""
    import jupytext

    notebook = jupytext.read(Path(source_path))
    problems: list[Problem] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                problems.append(Problem(index, "defines a function (move it to the library)", f"def {node.name}"))
            elif isinstance(node, ast.Lambda):
                problems.append(Problem(index, "defines a lambda (move it to the library)", ast.unparse(node)[:80]))
            elif isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in SOURCE_FORBIDDEN_CALLS:
                    problems.append(Problem(index, SOURCE_FORBIDDEN_CALLS[name], ast.unparse(node)[:80]))
    return problems


def source_measures(source_path: Path) -> dict[str, int]:
    """Lines of a chapter source by kind: prose, shown code, hidden code, and the whole file."""
    import jupytext

    notebook = jupytext.read(Path(source_path))
    counts = {"prose": 0, "shown code": 0, "hidden code": 0}
    for cell in notebook.cells:
        lines = len(cell.source.splitlines())
        if cell.cell_type != "code":
            counts["prose"] += lines
        elif any(tag in cell.get("metadata", {}).get("tags", []) for tag in HIDDEN_INPUT_TAGS):
            counts["hidden code"] += lines
        else:
            counts["shown code"] += lines
    counts["source lines"] = len(Path(source_path).read_text().splitlines())
    return counts


def output_problems(output) -> list[tuple[str, str]]:
    """Why an output is meant for a developer's terminal rather than a reader."""
    kind = output.get("output_type")
    if kind == "error":
        return [("shows an error", output.get("ename", ""))]
    if kind == "stream":
        text = output.get("text", "")
        if output.get("name") == "stderr" and text.strip():
            return [("writes to stderr (a warning or a log)", text.strip()[:80])]
        return _text_problems(text)
    data = output.get("data", {})
    # The page shows the richest form: a table's HTML, not its text/plain twin.
    for mime in MIME_SHOWN_AS_TEXT[::-1]:
        if mime in data:
            text = data[mime] if isinstance(data[mime], str) else "".join(data[mime])
            return _text_problems(_visible_html_text(text) if mime == "text/html" else text)
    return []


def _visible_html_text(markup: str) -> str:
    markup = re.sub(r"<(style|script)\b.*?</\1>", " ", markup, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


class _UnroundedFloat:
    @staticmethod
    def search(text: str):
        for match in NUMBER.finditer(text):
            if len(match.group().replace(".", "").lstrip("0")) > MAX_SIGNIFICANT_DIGITS:
                return match
        return None


def _text_problems(text: str) -> list[tuple[str, str]]:
    found = []
    for pattern, what in ((DICT_REPR, "shows a Python dict repr"), (LOG_LINE, "shows a terminal log line"),
                          (PROGRESS_BAR, "shows a progress bar"), (WARNING, "shows a warning"),
                          (_UnroundedFloat, "shows an unrounded float")):
        match = pattern.search(text)
        if match:
            start = max(match.start() - 20, 0)
            found.append((what, text[start:match.end() + 40].strip()))
    return found
