"""The reader's page shows teaching code and results, never plumbing or terminal output.

The same check runs over the committed executed chapters here and over a smoke build of the
sources in tests/test_book_integration.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from optbook import pipeline as build
from optbook.pipeline.pagecheck import page_problems

ROOT = Path(__file__).resolve().parents[1]


def _notebook(tmp_path, cells) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "page.ipynb"
    nbformat.write(notebook, path)
    return path


def _code(source, tags=(), outputs=()):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)})
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _text(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def _result(mime, data):
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {mime: data}}


LONG_HELPER = "def helper(x):\n" + "".join(f"    x = x + {i}\n" for i in range(8)) + "    return x\n"


@pytest.mark.parametrize("cell, what", [
    (_code('claims.record("03", "c", "a claim", 1, 1, "reproduced")'), "records a claim"),
    (_code('report.glue("n", 3)'), "glues a number"),
    (_code(LONG_HELPER), "function"),
    (_code('scale = "cpu"', tags=["parameters"]), "parameters"),
    (_code("x", outputs=[_result("text/plain", "{'id': 'c-1', 'recorded_at': '2026'}")]), "dict repr"),
    (_code("x", outputs=[_text("[reproduced] c-1: paper 1 | ours 1\n")]), "log line"),
    (_code("x", outputs=[_text("training:  40%|████      | 4/10\n")]), "progress bar"),
    (_code("x", outputs=[_text("UserWarning: something\n", name="stderr")]), "stderr"),
    (_code("x", outputs=[_text("theta = 0.8999999761581421\n")]), "unrounded"),
    (_code("x", outputs=[_result("text/html", "<table><td>2.031765</td></table>")]), "unrounded"),
    (_code("value = " + "1 + " * 20 + "1"), "89-character line"),
    (nbformat.v4.new_markdown_cell("Use it:\n\n```python\nvalue = " + "1 + " * 20 + "1\n```"),
     "89-character line of code"),
])
def test_each_kind_of_plumbing_is_caught(tmp_path, cell, what):
    problems = page_problems(_notebook(tmp_path, [cell]))
    assert problems and what in str(problems[0])


def test_hidden_plumbing_and_teaching_code_pass(tmp_path):
    cells = [
        _code('claims.record("03", "c", "a claim", 1, 1, "reproduced")', tags=["remove-cell"],
              outputs=[_text("[reproduced] c\n")]),
        _code('report.glue("n", 3)', tags=["remove-input"]),
        _code('scale = "cpu"', tags=["parameters", "remove-cell"]),
        _code("opt = SGDHD(params, lr=0.1)\nfor t in range(3):\n    opt.step()\n",
              outputs=[_text("step 1: α = 0.1000, θ = (0.9000, -1.8000)\n")]),
        _code("def closure():\n    return loss\n"),
        _code("report.show(frame)", outputs=[_result("text/html", "<style>#T_1 {padding: 0.25em}</style><td>0.9457</td>")]),
    ]
    assert page_problems(_notebook(tmp_path, cells)) == []


def _committed_chapters():
    return sorted((ROOT / "book" / "chapters").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("executed", _committed_chapters(), ids=lambda p: p.stem)
def test_committed_chapter_shows_no_plumbing(executed):
    source = ROOT / "notebooks" / f"{executed.stem}.py"
    stamp = json.loads(executed.read_text())["metadata"].get(build.STAMP_KEY, {})
    if source.is_file() and stamp.get("source_sha256") != build.source_sha256(source):
        pytest.skip(f"{executed.name} predates its source: re-execute it (optbook build) before judging its page")
    problems = page_problems(executed)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("source", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_chapter_source_holds_prose_parameters_and_calls(source):
    from optbook.pipeline.pagecheck import source_problems

    problems = source_problems(source)
    assert not problems, "\n".join(map(str, problems))


def test_the_source_check_finds_definitions_lambdas_and_hand_recorded_claims(tmp_path):
    from optbook.pipeline.pagecheck import source_problems

    source = tmp_path / "00_x.py"
    source.write_text(
        "# %% [markdown]\n# # Title\n\n"
        "# %% tags=[\"remove-cell\"]\n"
        "def helper(x):\n    return x\n\n"
        "# %%\n"
        "scores = sorted(runs, key=lambda r: r.loss)\n"
        "claims.record('00', 'c', 'a claim', 1, 1, 'reproduced')\n"
        "report.glue('n', 3)\n"
        "findings.publish('00', study.judge(runs), scale=scale)\n"
    )
    found = [p.what.split(" (")[0] for p in source_problems(source)]
    assert found == ["defines a function", "defines a lambda", "records a claim", "glues a value by hand"]
