"""The dry run: every chapter's scale="paper" table builds and steps on the CPU, and the dry run
catches what it is for (a missing key, a step that is not evaluated, an optimizer that does not
move, a loss that is not finite, a construction that raises) without stopping at the first."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import torch

from optbook import dry_run, scales
from optbook.pipeline import discover_chapters
from optbook.pipeline.cli import main
from optbook.tasks import QuadraticTask

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [f"{chapter.number:02d}" for chapter in discover_chapters(ROOT)]


def test_every_chapter_has_a_plan():
    assert sorted(dry_run.CASES) == sorted(dry_run.CONSISTENCY) == CHAPTERS


@functools.cache
def paper_checks(chapter: str):
    return dry_run.dry_run(chapter, "paper", progress=False)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_paper_scale_builds_and_steps(chapter):
    checks = paper_checks(chapter)
    assert not (checks["status"] == "failed").any(), checks[checks["status"] == "failed"].to_string()
    skipped = checks[checks["status"] == "skipped"]
    assert skipped["detail"].str.startswith("data absent").all()
    steps = checks[checks["problem"] != "config"]
    assert (steps["status"] == "ok").sum() >= 10
    assert (steps.loc[steps["status"] == "ok", "parameters per run"] > 0).all()


def test_paper_sizes_are_the_papers():
    checks = paper_checks("03").set_index(["problem", "optimizer"])
    mlp = checks.xs("SGD", level="optimizer")["parameters per run"]
    assert (784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10) in set(mlp)  # Fig. 3's 1000-1000 MLP
    assert 15_000_000 < checks.loc[("VGG-16 (random CIFAR-shaped images)", "SGD"), "parameters per run"] < 16_000_000


@pytest.fixture
def paper_tables(monkeypatch):
    """A copy of the config tables that a test may break."""
    tables = copy.deepcopy(scales.CHAPTERS)
    monkeypatch.setattr(scales, "CHAPTERS", tables)
    return tables


def test_a_missing_or_unknown_key_is_reported(paper_tables):
    del paper_tables["04"]["paper"]["temperatures"]["probe_every"]
    paper_tables["04"]["paper"]["sweep"]["runz"] = 3
    checks = dry_run.dry_run("04", "paper", progress=False)
    assert set(checks["detail"]) == {"temperatures.probe_every: missing", "sweep.runz: not in the 'cpu' table"}
    assert (checks["status"] == "failed").all()


def test_inconsistent_steps_and_runs_are_reported(paper_tables):
    paper_tables["04"]["paper"]["sweep"]["steps"] = 15_000  # four_turn evaluates every 2,000 steps
    paper_tables["04"]["paper"]["initialisation"]["four_turn_runs"] = 101
    paper_tables["01"]["paper"]["mnist_claim_steps"] = (100, 400)
    failed = dry_run.dry_run("04", "paper", progress=False).query("status == 'failed'")["detail"].tolist()
    assert failed == [
        "sweep.steps=15000 is not a step that is evaluated (every 2000 up to 80000)",
        "initialisation.four_turn_runs=101 exceeds four_turn.runs=100",
    ]
    failed = dry_run.dry_run("01", "paper", progress=False).query("status == 'failed'")["detail"].tolist()
    assert failed == ["mnist_claim_steps: 400 is beyond mnist_steps=200"]


def test_a_setting_its_constructor_refuses_is_reported(paper_tables):
    paper_tables["01"]["paper"]["mnist_meta"] = {**paper_tables["01"]["paper"]["mnist_meta"], "unroll": 0}
    failed = dry_run.dry_run("01", "paper", progress=False).query("status == 'failed'")
    assert failed[["problem", "detail"]].values.tolist() == [["plan", "ValueError: unroll=0 must be at least 1"]]


def test_held_out_problems_used_for_validation_are_reported(paper_tables):
    paper_tables["01"]["paper"]["quadratic_meta"] = {**paper_tables["01"]["paper"]["quadratic_meta"],
                                                     "validation_seeds": (3, 10**6)}
    failed = dry_run.dry_run("01", "paper", progress=False).query("status == 'failed'")["detail"].tolist()
    assert failed == ["quadratic_meta.validation_seeds: [3] are held-out evaluation problems"]


class _InfiniteTask(QuadraticTask):
    def build(self, seeds, device="cpu"):
        model = super().build(seeds, device)
        with torch.no_grad():
            next(model.parameters()).fill_(float("inf"))
        return model


def test_a_step_must_move_the_parameters_and_give_a_finite_loss():
    still = dry_run.Case("quadratic", "SGD (lr=0)", QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.0))
    assert dry_run.step_once(still)["detail"] == "no parameter moved"
    infinite = dry_run.Case("quadratic", "SGD", _InfiniteTask(), lambda p: torch.optim.SGD(p, lr=0.1))
    assert dry_run.step_once(infinite)["detail"] == "the loss is not finite"
    moving = dry_run.step_once(dry_run.Case("quadratic", "SGD", QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.1)))
    assert moving["status"] == "ok" and moving["parameters per run"] == 10


def test_a_construction_that_raises_is_reported_and_the_others_still_run(monkeypatch):
    def cases(config, scale, dataset):
        yield dry_run.Case("quadratic", "broken", QuadraticTask(), lambda p: torch.optim.SGD(p, lr=-1.0))
        yield dry_run.Case("quadratic", "SGD", QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.1))

    monkeypatch.setitem(dry_run.CASES, "02", cases)
    checks = dry_run.dry_run("02", "paper", progress=False).set_index("optimizer")
    assert checks.loc["broken", "status"] == "failed" and checks.loc["broken", "detail"].startswith("ValueError")
    assert checks.loc["SGD", "status"] == "ok"


def test_it_leaves_the_random_state_alone():
    before = torch.random.get_rng_state()
    dry_run.dry_run("02", "paper", progress=False)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_the_command_exits_1_on_a_failed_check_and_names_it(paper_tables, capsys):
    assert main(["--root", str(ROOT), "dry-run", "02", "--no-progress"]) == 0
    assert "02_hamiltonian_optimizer at scale='paper': " in capsys.readouterr().out
    paper_tables["02"]["paper"] = {**paper_tables["02"]["paper"], "steps": 500}
    assert main(["--root", str(ROOT), "dry-run", "2", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "1 failed" in out and "steps=500 exceeds the shortest of chapter 1's runs it reuses=100" in out
