"""Findings: claims declared once in a study, judged, then recorded and glued in one call."""

from __future__ import annotations

import json

import pytest

from optbook import findings, report
from optbook.findings import Claim

BEATS = Claim("a-beats-b", "A ends lower than B after {steps} steps", paper="{paper_loss}", source="Paper, Fig. 1")


def test_publish_records_the_claim_and_glues_every_field(tmp_path, monkeypatch):
    glued = {}
    monkeypatch.setattr(report, "glue", lambda name, value, display=False: glued.__setitem__(name, value))
    monkeypatch.setenv("OPTBOOK_RESULTS", str(tmp_path))
    judged = BEATS.judged("reproduced", 0.25, notes="paired over 100 problems", steps=100, paper_loss="0.3")
    facts = findings.numbers("setup", n_problems=100)
    published = findings.publish("07", [judged, [facts]], scale="cpu")
    assert set(published) == {"a-beats-b", "setup"} and published["a-beats-b"]["steps"] == 100
    (entry,) = json.loads((tmp_path / "07.json").read_text())
    assert (entry["id"], entry["claim"], entry["paper"], entry["ours"], entry["verdict"]) == (
        "a-beats-b", "A ends lower than B after 100 steps", "0.3", 0.25, "reproduced")
    assert (entry["source"], entry["notes"], entry["scale"], entry["kind"]) == (
        "Paper, Fig. 1", "paired over 100 problems", "cpu", "paper")
    assert glued == {"a-beats-b.steps": 100, "a-beats-b.paper_loss": "0.3", "setup.n_problems": 100}


def test_a_computed_reference_value_is_recorded_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_RESULTS", str(tmp_path))
    findings.publish("07", [BEATS.judged("not reproduced", 0.5, paper=0.125, steps=3, paper_loss="x")], scale="cpu")
    assert json.loads((tmp_path / "07.json").read_text())[0]["paper"] == 0.125


def test_a_family_of_claims_gets_one_id_each():
    per_task = Claim("tuned", "rates on {task} are best", paper="", source="s", kind="ours", reference=None)
    claim = per_task.with_id("mnist", task="mnist")
    assert (claim.id, claim.sentence, claim.kind) == ("tuned-mnist", "rates on mnist are best", "ours")


def test_an_id_published_twice_and_bad_kinds_are_refused(monkeypatch):
    monkeypatch.delenv("OPTBOOK_RESULTS", raising=False)
    with pytest.raises(ValueError, match="published twice"):
        findings.publish("07", [findings.numbers("x", a=1), findings.numbers("x", a=2)], scale="cpu")
    with pytest.raises(ValueError, match="kind='mine'"):
        Claim("c", "s", "p", "src", kind="mine")


QUESTION = Claim("how-many", "On how many tasks does A win at step {steps}?", paper=None, source="ours",
                 kind="question", reference=None, gist="On how many tasks does A win")


def test_a_question_is_answered_not_judged_and_its_answer_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match="gets an answer"):
        QUESTION.judged("reproduced", "2 of 6")
    with pytest.raises(ValueError, match="gets a verdict"):
        BEATS.answered("Yes", 1)
    findings.publish("01", [QUESTION.answered("On 2 of 6", "2/6", steps=100)], scale="cpu")
    (entry,) = json.loads((tmp_path / "01.json").read_text())
    assert (entry["verdict"], entry["answer"], entry["kind"], entry["gist"]) == (
        "answered", "On 2 of 6", "question", "On how many tasks does A win")
    assert entry["claim"] == "On how many tasks does A win at step 100?"


@pytest.mark.parametrize("verdict, answer", [("reproduced", "Yes"), ("not reproduced", "No"),
                                             ("mixed", "Mixed"), ("inconclusive", "Not decided")])
def test_yes_or_no_answers_a_comparison_in_words(verdict, answer):
    assert findings.yes_or_no(verdict) == answer


def test_yes_or_no_refuses_what_answers_no_question():
    with pytest.raises(ValueError, match="not run"):
        findings.yes_or_no("not run")


def test_a_family_gist_is_filled_per_member():
    family = Claim("best", "A is best on {task}", paper="", source="s", gist="A is best on {task}")
    assert family.with_id("mnist", task="MNIST").gist == "A is best on MNIST"


def _declared_claims(value):
    if isinstance(value, Claim):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _declared_claims(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _declared_claims(item)


def test_every_claim_a_chapter_declares_has_a_gist_for_its_bottom_line():
    import importlib

    modules = ["tasks_and_baselines", "learning_to_learn_findings", "hamiltonian_findings",
               "hypergradient_findings", "thermodynamic_findings"]
    declared = [claim for name in modules
                for value in vars(importlib.import_module(f"optbook.studies.{name}")).values()
                for claim in _declared_claims(value)]
    assert len(declared) >= 40
    assert [c.id for c in declared if not c.gist] == []
