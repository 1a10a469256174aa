"""`optbook sweep`: a chapter executed per parameter combination on a Dask LocalCluster.

The chapter here records one claim whose verdict depends on the seed and fails for one seed, so
the test sees outputs, a kept failure that does not stop the others, the summary, resuming, and
publishing refused for a sweep with a failure.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from optbook.pipeline import sweeps
from optbook.pipeline.cli import main

pytest.importorskip("distributed")

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_book"

HEADER = "".join((FIXTURE / "notebooks" / "00_hello.py").read_text().partition("# %%")[:1])
SEEDED_CHAPTER = HEADER + '''# %% [markdown]
# # Seeded
# Records one claim whose verdict depends on the seed; seed 3 fails on purpose.

# %% tags=["parameters"]
scale = "cpu"  # "smoke" | "cpu" | "paper"
seed = 0

# %%
import os
from optbook import claims

if seed == 3:
    raise RuntimeError("seed 3 fails on purpose")
claims.record("00", "even-seed", "the seed is even", "even", seed,
              "reproduced" if seed % 2 == 0 else "not reproduced", scale=scale, kind="ours", reference=None)
print("threads", os.environ.get("OMP_NUM_THREADS"))
'''


@pytest.fixture
def seeded_book(tmp_path, monkeypatch):
    root = tmp_path / "book"
    root.mkdir()
    shutil.copy(FIXTURE / "_toc.yml", root / "_toc.yml")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "00_seeded.py").write_text(SEEDED_CHAPTER)
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    return root


def run(*argv) -> int:
    return main([str(arg) for arg in argv])


def test_a_sweep_on_a_local_cluster_keeps_failures_summarises_and_resumes(seeded_book, capsys):
    folder = seeded_book / "sweeps" / "seeds"
    code = run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", "2", "3", "--scale", "smoke",
               "--folder", folder, "--workers", "2", "--no-progress")
    out, err = capsys.readouterr()
    assert code == 1  # one combination failed; the others ran
    assert "seed=3: failed (RuntimeError: seed 3 fails on purpose)" in err

    for seed, verdict in ((1, "not reproduced"), (2, "reproduced")):
        executed = folder / f"seed={seed}" / "00_seeded.ipynb"
        stamp = nbformat.read(executed, as_version=4).metadata["optbook"]
        assert stamp["parameters"] == {"scale": "smoke", "seed": seed}
        claims = json.loads((folder / f"seed={seed}" / "results" / "00.json").read_text())
        assert [(c["id"], c["ours"], c["verdict"]) for c in claims] == [("even-seed", seed, verdict)]
        outputs = "".join(o.get("text", "") for c in nbformat.read(executed, as_version=4).cells
                          for o in c.get("outputs", []))
        assert "threads 1" in outputs  # the kernel's threads were capped for sharing the cores
    assert "seed 3 fails on purpose" in (folder / "seed=3" / "error.txt").read_text()
    assert (folder / "seed=3" / "00_seeded.failed.ipynb").is_file()
    assert not (seeded_book / "book" / "results").exists()  # a sweep never publishes the chapter

    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["combination"]) == ["seed=1", "seed=2", "seed=3"]
    assert list(summary["verdict"].fillna("")) == ["not reproduced", "reproduced", ""]
    assert list(summary["status"]) == ["executed", "executed", "failed"]
    assert json.loads((folder / "sweep.json").read_text())["grid"] == {"seed": [1, 2, 3]}
    assert "even-seed" in out and "reproduced" in out

    # A rerun executes only what is not done yet (here the failure, which fails again).
    before = (folder / "seed=1" / "00_seeded.ipynb").read_bytes()
    code = run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", "2", "3", "--scale", "smoke",
               "--folder", folder, "--workers", "1", "--no-progress")
    out, _ = capsys.readouterr()
    assert code == 1 and "2 done before, 1 failed" in out
    assert (folder / "seed=1" / "00_seeded.ipynb").read_bytes() == before


def test_a_seed_sweep_is_published_for_the_ledger_only_when_complete(seeded_book, capsys):
    folder = seeded_book / "sweeps" / "published"
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "2", "4", "5", "--scale", "smoke",
               "--folder", folder, "--publish", "--no-progress", "--workers", "2") == 0
    record = json.loads((seeded_book / "book" / "results" / "sweeps" / "00.json").read_text())
    assert record["values"] == [2, 4, 5]
    assert record["verdicts"] == {"even-seed": {"2": "reproduced", "4": "reproduced", "5": "not reproduced"}}

    capsys.readouterr()
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "2", "3", "--scale", "smoke",
               "--folder", folder, "--publish", "--no-progress") == 2
    assert "not published, 1 execution(s) failed: seed=3" in capsys.readouterr().err
    assert json.loads((seeded_book / "book" / "results" / "sweeps" / "00.json").read_text()) == record


def test_a_seed_sweep_of_a_chapter_the_seed_does_not_reach_is_not_published(seeded_book, capsys):
    """A chapter whose experiments draw from fixed run seeds gives the same numbers at every book
    seed: "holds in 5 of 5 seeds" would then be a claim of robustness that nothing tested."""
    source = seeded_book / "notebooks" / "00_seeded.py"
    source.write_text(source.read_text().replace('"even", seed,', '"even", 42,'))
    folder = seeded_book / "sweeps" / "fixed"
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "2", "4", "--scale", "smoke",
               "--folder", folder, "--publish", "--no-progress") == 2
    assert "seed does not reach its experiments" in capsys.readouterr().err
    assert not (seeded_book / "book" / "results" / "sweeps").exists()


@pytest.mark.parametrize("argv, message", [
    (["-p", "seed", "-1"], "parameter 'seed' = -1 is not allowed"),
    (["-p", "seed", "1", "-p", "seed", "2"], "parameter 'seed' is given twice"),
    (["-p", "seed", "1", "1"], "lists a value twice"),
    (["-p", "colour", "red"], "has no parameter 'colour'"),
    (["-p", "scale", "smoke", "--publish"], "only a sweep over seed alone is published"),
    (["-p", "seed", "1", "--workers", "0"], "--workers must be at least 1"),
    ([], "give at least one -p"),
])
def test_bad_sweeps_exit_2_before_any_kernel_starts(seeded_book, capsys, argv, message):
    assert run("--root", seeded_book, "sweep", "00", "--no-progress", *argv) == 2
    assert message in capsys.readouterr().err
    assert not (seeded_book / "sweeps").exists()


def test_combinations_are_every_product_named_by_their_values(seeded_book):
    from optbook.pipeline import discover_chapters, read_parameters

    chapter = discover_chapters(seeded_book)[0]
    parameters = read_parameters(chapter)
    grid = sweeps.parse_grid(chapter, parameters, [["seed", "1", "2"], ["scale", "smoke", "cpu"]])
    plan = sweeps.plan_sweep(chapter, parameters, grid, "smoke", seeded_book / "s")
    assert [e.name for e in plan] == ["seed=1,scale=smoke", "seed=1,scale=cpu", "seed=2,scale=smoke", "seed=2,scale=cpu"]
    assert plan[1].parameters == {"scale": "cpu", "seed": 1}
    assert sweeps.default_workers(1, cores=2) == 2 and sweeps.default_workers(2, cores=2) == 1


def test_two_sweeps_in_one_folder_keep_both(seeded_book, capsys):
    folder = seeded_book / "sweeps" / "added"
    common = ("--scale", "smoke", "--folder", folder, "--no-progress", "--workers", "1")
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", "2", *common) == 0
    first = (folder / "seed=1" / "00_seeded.ipynb").read_bytes()
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "4", "2", *common) == 0
    out, _ = capsys.readouterr()
    assert "1 executed, 1 done before, 1 earlier sweep" in out
    assert (folder / "seed=1" / "00_seeded.ipynb").read_bytes() == first
    record = json.loads((folder / "sweep.json").read_text())
    assert record["grid"] == {"seed": [1, 4, 2]} and record["scale"] == "smoke"
    assert record["combinations"] == [{"seed": 1}, {"seed": 4}, {"seed": 2}]
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["combination"]) == ["seed=1", "seed=4", "seed=2"]
    assert list(summary["status"]) == ["earlier sweep", "executed", "done before"]
    assert list(summary["verdict"]) == ["not reproduced", "reproduced", "reproduced"]


def test_a_sweep_of_something_else_is_refused_before_a_kernel_starts_unless_fresh(seeded_book, capsys):
    folder = seeded_book / "sweeps" / "other"
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", "--scale", "smoke",
               "--folder", folder, "--no-progress", "--workers", "1") == 0
    record = (folder / "sweep.json").read_text()
    capsys.readouterr()
    # the grid's own scale is what ran, and what the folder's sweep is compared on
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "2", "-p", "scale", "cpu",
               "--folder", folder, "--no-progress") == 2
    assert "holds another sweep: parameters ['seed'] (now ['scale', 'seed']), scale 'smoke' (now 'cpu')" in (
        capsys.readouterr().err)
    assert (folder / "sweep.json").read_text() == record and not (folder / "seed=2,scale=cpu").exists()
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "2", "-p", "scale", "smoke",
               "--folder", folder, "--no-progress", "--workers", "1", "--fresh") == 0
    assert sorted(p.name for p in folder.iterdir()) == ["seed=2,scale=smoke", "summary.csv", "sweep.json"]
    assert json.loads((folder / "sweep.json").read_text())["scale"] == "smoke"


def test_fresh_leaves_a_folder_that_is_not_a_sweep_alone(seeded_book, capsys):
    folder = seeded_book / "notes"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", "--scale", "smoke",
               "--folder", folder, "--no-progress", "--fresh") == 2
    assert "not a sweep folder" in capsys.readouterr().err
    assert (folder / "mine.txt").read_text() == "keep me"


def test_an_interrupted_sweep_leaves_nothing_half_made(seeded_book, monkeypatch, capsys):
    folder = seeded_book / "sweeps" / "interrupted"

    def interrupted(chapter, executions, **kwargs):
        for execution in executions:  # as execute_chapter does before its kernel starts
            execution.notebook(chapter).parent.mkdir(parents=True, exist_ok=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(sweeps, "run_sweep", interrupted)
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", "2", "--scale", "smoke",
               "--folder", folder, "--no-progress") == 130
    assert not folder.exists() or not any(folder.iterdir())


def test_a_damaged_cache_entry_met_on_a_worker_is_reported_on_the_terminal(seeded_book, tmp_path, capsys):
    source = seeded_book / "notebooks" / "00_seeded.py"
    source.write_text(source.read_text().replace(
        "if seed == 3:", "from optbook import cache\ncache.cached('demo', {'k': 1}, lambda: [1.5])\nif seed == 3:"))
    folder = seeded_book / "sweeps" / "cached"
    common = ("--scale", "smoke", "--folder", folder, "--no-progress", "--workers", "1")
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "1", *common) == 0
    (entry,) = (tmp_path / "data" / "cache").glob("demo-*.zip")
    entry.write_bytes(entry.read_bytes()[:-7])
    capsys.readouterr()
    assert run("--root", seeded_book, "sweep", "00", "-p", "seed", "2", *common) == 0
    assert f"seed=2: warning: 00_seeded: damaged cache entry {entry}" in capsys.readouterr().err
