"""The GPU workflow cannot run here; what can drift is checked instead: its commands are the
README's make target and `optbook run` invocations that the CLI's own parser accepts, for every
chapter it offers, and it never publishes over the committed book."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from optbook.pipeline import discover_chapters, find_chapter
from optbook.pipeline.cli import make_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "gpu-paper.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _with_inputs(text: str, workflow: dict) -> str:
    inputs = workflow[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads the key `on` as True
    return re.sub(r"\$\{\{\s*inputs\.(\w+)\s*\}\}", lambda m: str(inputs[m.group(1)]["default"]), text)


def test_it_runs_on_a_self_hosted_gpu_runner_by_hand(workflow):
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "gpu"]
    assert "workflow_dispatch" in workflow[True]


def test_its_commands_are_the_readmes_and_the_clis(workflow):
    runs = [step["run"] for step in _steps(workflow) if "run" in step]
    assert runs[0].strip() == "make setup" and "setup:" in (ROOT / "Makefile").read_text()
    script = _with_inputs("\n".join(runs), workflow)
    loop = re.search(r"for chapter in (.+?); do\n(.+?)done", script, re.S)
    chapters, body = loop.group(1).split(), loop.group(2)
    command = " ".join(line.strip().rstrip("\\") for line in body.splitlines() if line.strip())
    command = command.split("||")[0]
    known = discover_chapters(ROOT)
    for chapter in chapters:
        argv = shlex.split(command.replace('"$chapter"', chapter).replace("$OUT", "/tmp/out"))
        assert argv[0] == ".venv/bin/optbook"
        args = make_parser().parse_args(argv[1:])
        assert args.command.__name__ == "command_run" and args.output and args.results
        assert dict(args.parameter) == {"scale": "paper", "device": "cuda", "seed": "0"}
        find_chapter(known, args.chapter)  # every chapter it offers exists


def test_it_never_writes_the_committed_book(workflow):
    script = "\n".join(step.get("run", "") for step in _steps(workflow))
    assert "git diff --exit-code -- book/" in script
    assert "optbook build" not in script  # only `optbook build` publishes to book/


def test_it_dry_runs_the_paper_tables_before_any_gpu_work(workflow):
    runs = [step["run"].strip() for step in _steps(workflow) if "run" in step]
    dry = [i for i, run in enumerate(runs) if "optbook dry-run" in run]
    gpu = next(i for i, run in enumerate(runs) if "optbook run" in run)
    assert len(dry) == 1 and dry[0] < gpu
    argv = shlex.split(_with_inputs(runs[dry[0]], workflow))
    args = make_parser().parse_args(argv[1:])
    assert args.command.__name__ == "command_dry_run" and args.scale == "paper"
    assert args.chapters == [f"{chapter.number:02d}" for chapter in discover_chapters(ROOT)]  # every page
