"""The landing page's findings, the ledger, and the build step that finishes each chapter's page."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from optbook import claims, report
from optbook import pipeline as build
from optbook.pipeline import ledger, page


def _book(tmp_path) -> Path:
    claims.record("03", "c-1", "HD beats SGD", "0.29 (logs)", 0.25, "reproduced", root=tmp_path,
                  reference="official code", scale="cpu")
    claims.record("03", "c-2", "variants generalise", "no numbers", "1/6", "not reproduced", root=tmp_path,
                  reference=None, scale="cpu")
    # An old results file, from before claims said whose they are and where their numbers come from.
    (tmp_path / "book/results/04.json").write_text(json.dumps([
        {"id": "old", "claim": "an old claim", "paper": 1, "ours": 2, "verdict": "inconclusive", "source": "",
         "notes": "", "scale": "cpu"}]))
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 3. Hypergradient descent\n\ntext")])
    nbformat.write(notebook, chapters / "03_hypergradient_descent.ipynb")
    return tmp_path


def test_findings_count_verdicts_per_chapter_and_link_the_chapters(tmp_path):
    text = ledger.render_findings(_book(tmp_path)).read_text()
    rows = [line for line in text.splitlines() if line.startswith("| [") or line.startswith("| Chapter")]
    assert rows[0].startswith("| [3. Hypergradient descent](chapters/03_hypergradient_descent.ipynb)")
    assert ">1 reproduced</span>" in rows[0] and ">1 not reproduced</span>" in rows[0] and rows[0].endswith("| 2 |")
    assert "inconclusive" not in rows[0]  # no badge for a verdict the chapter never gave
    assert rows[1].startswith("| Chapter 4 |") and ">1 inconclusive</span>" in rows[1]  # no page: unlinked
    total = next(line for line in text.splitlines() if line.startswith("| **all chapters**"))
    assert total.endswith("| **3** |") and ">1 inconclusive</span>" in total
    assert 'scale="cpu"' in text and "claims ledger" in text


def test_ledger_has_the_summary_badges_reference_sources_and_no_constant_scale_column(tmp_path):
    page_path = ledger.render_ledger(_book(tmp_path))
    text = page_path.read_text()
    assert text.index("## Summary") < text.index("## Every claim")
    assert "official code's logs" in text and "the paper" in text  # the old entry defaults to the paper
    assert 'class="optbook-verdict"' in text and "not reproduced" in text
    assert "<th>scale</th>" not in text and "Every claim was measured at" in text
    assert "\n\n" not in text[text.index("<table"):].rstrip()  # one raw-HTML block: a blank line would break it
    mtime = page_path.stat().st_mtime_ns
    ledger.render_ledger(tmp_path)
    assert page_path.stat().st_mtime_ns == mtime  # unchanged content is not rewritten


def test_ledger_keeps_a_scale_column_when_scales_differ(tmp_path):
    root = _book(tmp_path)
    claims.record("03", "c-3", "smoke claim", 1, 1, "reproduced", root=root, scale="smoke")
    assert "<th>scale</th>" in ledger.render_ledger(root).read_text()


def _chapter_notebook():
    cells = [
        nbformat.v4.new_markdown_cell("# Hypergradient descent\n\nIntro."),
        nbformat.v4.new_code_cell('scale = "cpu"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('scale = "smoke"', metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_markdown_cell("## What we found\n\nA few sentences."),
        nbformat.v4.new_markdown_cell("## What differs from the paper"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


CLAIMS = [{"id": "c-1", "claim": "HD beats SGD", "ours": "0.25 vs 0.69", "verdict": "reproduced", "kind": "paper"},
          {"id": "c-2", "claim": "a question <of ours>", "ours": "3/6", "verdict": "mixed", "kind": "ours"}]
STAMP = {"parameters": {"scale": "cpu", "seed": 0}, "device": "cpu", "torch": "2.4", "wall_time_s": 134.2}


def test_a_seed_sweep_says_in_how_many_seeds_each_verdict_holds_and_demotes_unstable_ones(tmp_path):
    root = _book(tmp_path)
    claims.record("03", "vgg", "VGG too", "numbers", "not run", "not run", root=root, reference="paper", scale="cpu")
    sweeps = root / "book" / "results" / "sweeps"
    sweeps.mkdir()
    (sweeps / "03.json").write_text(json.dumps({
        "chapter": "03_hypergradient_descent", "scale": "cpu", "parameter": "seed", "values": [1, 2, 3, 4, 5],
        "verdicts": {
            # c-1 was "reproduced" at the book's seed but holds in only 2 of 5 seeds
            "c-1": {"1": "reproduced", "2": "inconclusive", "3": "reproduced", "4": "mixed", "5": "inconclusive"},
            # c-2 holds in 4 of 5 (seed 5 did not record it): stable enough to state
            "c-2": {"1": "not reproduced", "2": "not reproduced", "3": "not reproduced", "4": "not reproduced"},
            "vgg": {str(seed): "not run" for seed in range(1, 6)},
        }}))
    chapters = ledger.load_results(root)
    by_id = {c["id"]: c for chapter in chapters for c in chapter.claims}
    holding = ledger.seeds_holding
    assert holding(by_id["c-1"]) == (2, 5) and holding(by_id["c-2"]) == (4, 5)
    assert holding(by_id["old"]) is None  # chapter 4 has no sweep
    assert holding(by_id["vgg"]) is None  # not run in any seed: nothing held
    assert [ledger.stated_verdict(by_id[i]) for i in ("c-1", "c-2", "old")] == [
        "inconclusive", "not reproduced", "inconclusive"]
    assert chapters[0].counts() == {"inconclusive": 1, "not reproduced": 1, "not run": 1}  # c-1 no longer reproduced

    text = ledger.render_ledger(root).read_text()
    assert "reproduced at the book's seed, but in only 2 of 5 seeds" in text
    assert "the same in 4 of 5 seeds" in text and "a verdict must hold in 80% of them to be stated" in text
    assert "the same in 5 of 5 seeds" not in text


@pytest.mark.parametrize("recorded, seeds, stated, text", [
    # fully at 2 seeds, partly at 3: partly reproduced holds in 5 of 5, and is what the ledger states
    ("partly reproduced", ["partly reproduced", "reproduced", "reproduced", "partly reproduced", "partly reproduced"],
     "partly reproduced", "the same in 5 of 5 seeds"),
    ("reproduced", ["reproduced", "partly reproduced", "partly reproduced", "reproduced", "partly reproduced"],
     "partly reproduced", "reproduced at the book's seed, but in only 2 of 5 seeds; partly reproduced in 5 of 5"),
    ("reproduced", ["reproduced", "reproduced", "partly reproduced", "reproduced", "reproduced"],
     "reproduced", "the same in 4 of 5 seeds"),
    ("reproduced", ["reproduced", "inconclusive", "partly reproduced", "reproduced", "mixed"],
     "inconclusive", "reproduced at the book's seed, but in only 2 of 5 seeds"),
    ("not reproduced", ["not reproduced", "inconclusive", "not reproduced", "not reproduced", "not reproduced"],
     "not reproduced", "the same in 4 of 5 seeds"),
    ("inconclusive", ["inconclusive", "partly reproduced", "partly reproduced", "partly reproduced", "inconclusive"],
     "inconclusive", "the same in 2 of 5 seeds"),  # stated as recorded: nothing weaker to fall back to
])
def test_a_stronger_verdict_at_a_seed_holds_the_weaker_one(recorded, seeds, stated, text):
    claim = {"id": "c", "verdict": recorded, "seed_verdicts": seeds}
    assert ledger.stated_verdict(claim) == stated
    assert text in ledger.verdict_cell(claim)


def test_the_build_restates_a_pages_verdicts_from_a_sweep_published_after_it_ran(tmp_path):
    root = _book(tmp_path)
    chapter = build.Chapter(root, root / "notebooks" / "03_hypergradient_descent.py", "03_hypergradient_descent", 3,
                            "hypergradient_descent")
    notebook = _chapter_notebook()
    notebook.metadata[build.STAMP_KEY] = STAMP
    nbformat.write(notebook, chapter.executed_path)
    assert build.refresh_page(chapter)  # the box and the table were not there yet
    assert not build.refresh_page(chapter)  # nothing new: the page is left as it is
    sweeps = root / "book" / "results" / "sweeps"
    sweeps.mkdir()
    (sweeps / "03.json").write_text(json.dumps({"values": [0, 1, 2], "verdicts": {
        "c-1": {"0": "reproduced", "1": "reproduced", "2": "reproduced"}}}))
    assert build.refresh_page(chapter)
    sources = [cell.source for cell in nbformat.read(chapter.executed_path, as_version=4).cells]
    box = next(text for text in sources if "admonition" in text)
    assert "the same in 3 of 3 seeds" in box and box.count("admonition-title") == 1


def test_finish_page_adds_box_table_and_run_it_yourself_and_hides_parameters():
    notebook = _chapter_notebook()
    page.finish_page(notebook, 3, "03_hypergradient_descent", CLAIMS, STAMP, "https://colab.example/03.ipynb")
    sources = [cell.source for cell in notebook.cells]
    assert sources[0].startswith("# 3. Hypergradient descent")
    assert "admonition" in sources[1] and "HD beats SGD" in sources[1] and "a question &lt;of ours&gt;" in sources[1]
    assert "(our claim)" in sources[1]
    findings = sources.index("## What we found\n\nA few sentences.")
    assert "0.25 vs 0.69" in sources[findings + 1] and "what we measured" in sources[findings + 1]
    assert sources[-1].startswith("## Run it yourself") and "2 min 14 s" in sources[-1]
    assert "optbook run 03 -p scale cpu -p seed 1" in sources[-1] and "https://colab.example/03.ipynb" in sources[-1]
    for cell in notebook.cells:
        if {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", [])):
            assert "remove-cell" in cell.metadata["tags"]
    again = nbformat.from_dict(json.loads(json.dumps(notebook)))
    page.finish_page(again, 3, "03_hypergradient_descent", CLAIMS, STAMP, "https://colab.example/03.ipynb")
    assert [c.source for c in again.cells] == sources  # finishing twice changes nothing


def test_colab_url_comes_from_the_repository_setting(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/someone/book\n  branch: dev\n")
    assert page.colab_url(tmp_path, "03_x") == "https://colab.research.google.com/github/someone/book/blob/dev/book/chapters/03_x.ipynb"
    (tmp_path / "_config.yml").write_text("title: no repository\n")
    assert page.colab_url(tmp_path, "03_x") is None


@pytest.mark.parametrize("seconds, text", [(14.6, "15 s"), (134.2, "2 min 14 s"), (120, "2 min"), (3725, "1 h 2 min")])
def test_durations_read_as_a_person_says_them(seconds, text):
    assert page.format_duration(seconds) == text


@pytest.mark.parametrize("value, text", [(1e-8, "1e-8"), (1000.0, "1000"), (0.8999999761581421, "0.9"),
                                         (0.0005628, "5.63e-4"), (468750, "468,750"), (0.29, "0.29"),
                                         (float("nan"), "–"), (True, "yes")])
def test_numbers_are_rounded_for_a_reader(value, text):
    assert report.format_number(value) == text


def test_config_table_flattens_nested_settings_and_writes_every_value():
    config = {"steps": {"default": 100, "spirals": 2000}, "taus": (1e-8, 1e-5), "lr_grid": None, "hidden": (1000, 1000)}
    frame = report.config_table(config).data
    assert dict(zip(frame["setting"], frame["value"])) == {
        "steps · default": "100", "steps · spirals": "2000", "taus": "1e-8, 1e-5", "lr_grid": "–",
        "hidden": "1000, 1000"}


def test_each_page_keeps_one_copy_of_each_script():
    from sphinx.builders.html._assets import _JavaScript

    from optbook.sphinx_ext import drop_duplicate_scripts

    snippet = 'const thebe_selector = ".thebe,.cell"'
    context = {"script_files": [_JavaScript(None, body=snippet), _JavaScript("_static/a.js"),
                                _JavaScript("", body=snippet), _JavaScript("_static/a.js")]}
    drop_duplicate_scripts(None, "page", "page.html", context, None)
    assert [(s.filename, s.attributes.get("body")) for s in context["script_files"]] == [
        (None, snippet), ("_static/a.js", None)]


@pytest.mark.parametrize("values, text", [
    (list(range(1_000_000, 1_000_050)), "1,000,000 … 1,000,049"),
    ([1, 2, 3, 4, 5, 9, 10, 20], "1 … 5, 9, 10, 20"),
    ([1, 2, 3], "1, 2, 3"),  # too short a run to be worth a range
    ([0.1, 0.2, 0.3, 0.4], "0.1, 0.2, 0.3, 0.4"),
])
def test_runs_of_consecutive_integers_read_as_ranges(values, text):
    assert report.format_value(values) == text


QUESTION = {"id": "q-1", "claim": "Does every net win?", "ours": "7/9", "verdict": "answered", "kind": "question",
            "answer": "No: 7 of 9", "gist": "Does every net win"}


def test_a_question_shows_its_answer_not_a_verdict_in_box_and_ledger(tmp_path):
    root = _book(tmp_path)
    claims.record("03", "q-1", "Does every net win?", None, "7/9", "answered", kind="question", reference=None,
                  answer="No: 7 of 9", root=root, scale="cpu")
    box = page.verdict_box([*CLAIMS, QUESTION])
    assert "No: 7 of 9" in box and "(our question)" in box and "(our claim)" in box
    text = ledger.render_ledger(root).read_text()
    assert "No: 7 of 9" in text and "1 answered" in text
    assert 'data-verdict="answered"' in text and 'data-verdict="not reproduced"' in text  # one-click filters


def test_bottom_line_says_what_held_what_did_not_and_answers_the_questions():
    claims_ = [{"id": "a", "claim": "A long sentence.", "gist": "A beats B", "verdict": "reproduced", "kind": "paper"},
               {"id": "b", "claim": "B beats C", "verdict": "not reproduced", "kind": "paper"},
               {"id": "c", "claim": "C", "gist": "C is robust", "verdict": "not reproduced", "kind": "paper"},
               {"id": "d", "claim": "D", "gist": "D", "verdict": "partly reproduced", "kind": "paper"},
               {"id": "e", "claim": "E", "gist": "E", "verdict": "inconclusive", "kind": "paper"},
               {"id": "f", "claim": "F", "gist": "F", "verdict": "mixed", "kind": "paper"},
               QUESTION]
    assert page.bottom_line(claims_) == (
        "**In short.** Held: A beats B; did not hold: B beats C and C is robust; 1 held in part and 2 undecided "
        "(in the box above). Our questions: Does every net win? No: 7 of 9.")


def test_the_landing_page_has_a_bottom_line_per_chapter_and_says_which_data_stood_in(tmp_path):
    root = _book(tmp_path)
    notebook_path = root / "book" / "chapters" / "03_hypergradient_descent.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["optbook"] = {"datasets": ["mnist-5k"]}
    nbformat.write(notebook, notebook_path)
    text = ledger.render_findings(root).read_text()
    assert "**[3. Hypergradient descent](chapters/03_hypergradient_descent.ipynb).** Held: HD beats SGD" in text
    assert "5,000-image subset of MNIST" in text


def test_bottom_line_names_a_family_of_per_task_claims_once():
    family = [{"id": f"best-{t}", "claim": "c", "gist": f"A is best on {t}", "verdict": "reproduced", "kind": "paper"}
              for t in ("X", "Y", "Z")]
    assert page.bottom_line(family) == "**In short.** Held: A is best on X, Y and Z."
