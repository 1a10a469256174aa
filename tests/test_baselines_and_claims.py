"""Learning-rate selection, the claims ledger, the session set-up, scale tables and plots."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch

import optbook
from optbook import baselines, claims, plots, report, scales, session


def _runs(final: dict, trajectory_extra: dict | None = None, diverged: set = frozenset()):
    """A tuning frame with two seeds, steps 0..2; the final full-data loss is ``final[(method, lr)]``."""
    rows = []
    for (method, lr), value in final.items():
        for seed in (0, 1):
            for step in range(3):
                loss = value + (trajectory_extra or {}).get((method, lr), 0.0) * (2 - step)
                bad = (method, lr) in diverged and seed == 1 and step == 2
                rows.append({"method": method, "lr": lr, "seed": seed, "step": step,
                             "loss": np.nan if bad else loss, "diverged": bad,
                             "train_loss": (np.nan if bad else value) if step == 2 else np.nan})
    return pd.DataFrame(rows)


def test_select_by_final_loss_and_by_trajectory():
    # Adam at 0.1 ends lower but starts much higher: the criteria disagree, as they can in practice.
    runs = _runs({("Adam", 0.1): 0.2, ("Adam", 0.01): 0.3}, trajectory_extra={("Adam", 0.1): 5.0})
    assert baselines.select_learning_rates(runs, "final").set_index("method").loc["Adam", "lr"] == 0.1
    assert baselines.select_learning_rates(runs, "trajectory").set_index("method").loc["Adam", "lr"] == 0.01


def test_a_rate_with_any_diverged_problem_is_out():
    runs = _runs({("SGD", 1.0): 0.01, ("SGD", 0.1): 0.5}, diverged={("SGD", 1.0)})
    table = baselines.select_learning_rates(runs, "final").set_index("method")
    assert table.loc["SGD", "lr"] == 0.1
    scores = baselines.learning_rate_scores(runs).set_index(["method", "lr"])
    assert scores.loc[("SGD", 1.0), "n_diverged"] == 1 and np.isinf(scores.loc[("SGD", 1.0), "final"])


def test_grid_edge_is_flagged_and_criterion_validated():
    runs = _runs({("SGD", 1.0): 0.1, ("SGD", 0.1): 0.5, ("SGD", 0.01): 0.9})
    assert baselines.select_learning_rates(runs, "final").iloc[0]["at_grid_edge"]
    with pytest.raises(ValueError, match="criterion='best'"):
        baselines.select_learning_rates(runs, "best")


def test_grid_distance_counts_grid_points():
    assert baselines.grid_distance(0.1, 0.1) == 0
    assert baselines.grid_distance(0.1, 0.03) == 1
    assert baselines.grid_distance(1.0, 0.01) == 4
    assert baselines.grid_distance(3.0, 10.0) == 1


def test_the_ladder_continues_past_the_grid():
    assert baselines.ladder_neighbour(1.0, up=True) == 3.0
    assert baselines.ladder_neighbour(3.0, up=True) == 10.0
    assert baselines.ladder_neighbour(1e-5, up=False) == 3e-6
    assert baselines.ladder_neighbour(3e-6, up=False) == 1e-6
    assert baselines.ladder_neighbour(0.3, up=True, grid=(0.3, 0.03, 0.003)) == 3.0  # a decade grid steps by 10
    with pytest.raises(ValueError, match="lr=0"):
        baselines.ladder_neighbour(0, up=True)


class _Bowl:
    """A stand-in task for tuning: every rate's final loss is a bowl in log(lr) around ``best``."""

    name, title = "bowl", "bowl"

    def __init__(self, best: float):
        self.best = best

    def config(self):
        return {"bowl": self.best}


def test_tuning_extends_the_grid_until_the_best_rate_is_interior(monkeypatch):
    task = _Bowl(best=10.0)

    def fake_grid(task, methods, grid, seeds, steps, **kwargs):
        rows = []
        for method in methods:
            for lr in grid["lr"]:
                loss = 1 + abs(np.log10(lr / task.best))
                for seed in seeds:
                    rows += [{"method": method, "lr": lr, "seed": seed, "step": s, "loss": loss, "diverged": False}
                             for s in range(steps + 1)]
        return pd.DataFrame(rows)

    monkeypatch.setattr(baselines.experiment, "run_grid", fake_grid)
    monkeypatch.setattr(baselines.cache, "cached", lambda kind, config, compute, code=(): compute())
    protocol = baselines.TuningProtocol(steps=2, n_seeds=2, lr_grid=(1.0, 0.3, 0.1), methods=("SGD",))
    runs = baselines.tuning_runs(task, protocol)
    chosen = baselines.select_learning_rates(runs, "final").set_index("method").loc["SGD"]
    assert chosen["lr"] == 10.0 and not chosen["at_grid_edge"]
    assert sorted(runs["lr"].unique()) == [0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


def test_baselines_are_the_torch_optimizers_with_torch7_defaults():
    p = [torch.nn.Parameter(torch.zeros(2))]
    nag = baselines.BASELINES["NAG"](p, lr=0.1)
    assert isinstance(nag, torch.optim.SGD) and nag.defaults["nesterov"] and nag.defaults["momentum"] == 0.9
    adam = baselines.BASELINES["Adam"](p, lr=0.1)
    assert adam.defaults["betas"] == (0.9, 0.999) and adam.defaults["eps"] == 1e-8
    with pytest.raises(ValueError, match="Adagrad"):
        baselines.TuningProtocol(steps=10, n_seeds=2, methods=("Adagrad",))


def test_tuning_protocol_per_scale_and_task():
    assert scales.tuning_protocol("cpu", "quadratic").steps == 100
    assert "spirals" not in scales.chapter_config("00", "cpu")["tasks"]  # chapter 4 tunes its own, at its horizon
    assert scales.tuning_protocol("smoke", "quadratic").n_seeds < scales.tuning_protocol("cpu", "quadratic").n_seeds
    with pytest.raises(ValueError, match="scale='huge'"):
        scales.chapter_config("00", "huge")
    with pytest.raises(TypeError):
        scales.chapter_config("00", "cpu")["tasks"] = ()  # read-only


def test_record_merges_by_id(tmp_path, capsys):
    claims.record("00", "c-1", "a claim", 0.5, 0.4, "reproduced", root=tmp_path)
    claims.record("00", "c-2", "another | with a pipe", "x", np.float32(0.25), "not reproduced", root=tmp_path)
    claims.record("00", "c-1", "a claim", 0.5, 0.45, "partly reproduced", root=tmp_path)
    stored = json.loads((tmp_path / "book/results/00.json").read_text())
    assert [c["id"] for c in stored] == ["c-1", "c-2"]
    assert stored[0]["ours"] == 0.45 and stored[0]["verdict"] == "partly reproduced"
    assert stored[1]["ours"] == 0.25
    assert capsys.readouterr().out == ""  # a chapter's page shows claims in its verdict box, not as log lines


def test_record_refuses_unknown_verdicts_and_bad_ids(tmp_path):
    with pytest.raises(ValueError, match="verdict='yes'"):
        claims.record("00", "c", "claim", 1, 1, "yes", root=tmp_path)
    with pytest.raises(ValueError, match="claim_id"):
        claims.record("00", "bad id!", "claim", 1, 1, "reproduced", root=tmp_path)
    with pytest.raises(ValueError, match="kind='mine'"):
        claims.record("00", "c", "claim", 1, 1, "reproduced", kind="mine", root=tmp_path)
    with pytest.raises(ValueError, match="reference='blog'"):
        claims.record("00", "c", "claim", 1, 1, "reproduced", reference="blog", root=tmp_path)
    assert not (tmp_path / "book/results/00.json").exists()


def test_record_keeps_whose_claim_and_where_the_reference_comes_from(tmp_path):
    claims.record("00", "ours-1", "a question of ours", None, 0.3, "inconclusive", kind="ours", reference=None, root=tmp_path)
    claims.record("00", "logs-1", "a claim", 0.2, 0.3, "not reproduced", reference="official code", root=tmp_path)
    stored = {c["id"]: c for c in json.loads((tmp_path / "book/results/00.json").read_text())}
    assert (stored["ours-1"]["kind"], stored["ours-1"]["reference"]) == ("ours", None)
    assert (stored["logs-1"]["kind"], stored["logs-1"]["reference"]) == ("paper", "official code")


def test_a_chapter_of_fixed_problems_takes_only_seed_0():
    assert optbook.setup(scale="smoke", device="cpu", seed=0, quiet=True, seed_moves_runs=False).seed == 0
    with pytest.raises(ValueError, match=r"seed=3 is not allowed here; only 0: this chapter's problems are fixed"):
        optbook.setup(scale="smoke", device="cpu", seed=3, quiet=True, seed_moves_runs=False)


def test_setup_seeds_and_validates(capsys):
    s = optbook.setup(scale="smoke", device="cpu", seed=3)
    assert s.device == torch.device("cpu") and "scale=smoke" in capsys.readouterr().out
    a = torch.rand(3)
    optbook.setup(scale="smoke", device="cpu", seed=3, quiet=True)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="scale='fast'"):
        optbook.setup(scale="fast")
    with pytest.raises(ValueError, match="seed=-1"):
        optbook.setup(seed=-1)
    with pytest.raises(ValueError, match="device='tpu'"):
        session.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            session.resolve_device("cuda")


def test_run_seeds_keep_seed_0s_runs_and_give_other_book_seeds_disjoint_blocks():
    at = lambda seed: optbook.setup(scale="smoke", device="cpu", seed=seed, quiet=True)
    assert at(0).run_seeds(4) == [0, 1, 2, 3]  # the published runs stay what they were
    assert at(2).run_seeds(3) == [2_000_000, 2_000_001, 2_000_002]
    assert not set(at(1).run_seeds(session.RUN_SEED_BLOCK)) & set(at(2).run_seeds(session.RUN_SEED_BLOCK))
    assert at(session.MAX_SEED).run_seeds(1)[0] == session.MAX_SEED * session.RUN_SEED_BLOCK  # no overflow in Python ints
    with pytest.raises(ValueError, match="n=-1 runs"):
        at(0).run_seeds(-1)


def test_curves_with_bands_draws_mean_and_names_diverged_runs():
    frame = pd.DataFrame({
        "method": ["A"] * 6 + ["B"] * 6,
        "seed": [0, 1, 2] * 4,
        "step": [0, 0, 0, 1, 1, 1] * 2,
        "loss": [1.0, 2.0, 3.0, 0.5, 1.0, 1.5, 1.0, 1.0, 1.0, 0.5, np.inf, 0.5],
        "diverged": [False] * 10 + [True, False],
    })
    ax = plots.curves_with_bands(frame, title="t")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert np.allclose(lines["A"].get_ydata(), [2.0, 1.0])
    assert "B (1/3 diverged)" in lines and np.allclose(lines["B (1/3 diverged)"].get_ydata(), [1.0, 0.5])
    assert ax.get_yscale() == "log"


def test_verdict_from_fraction_is_the_books_rule():
    assert claims.verdict_from_fraction(1.0) == "reproduced"
    assert claims.verdict_from_fraction(0.5) == "partly reproduced"
    assert claims.verdict_from_fraction(1 / 6) == "not reproduced"
    with pytest.raises(ValueError, match="fraction=1.5"):
        claims.verdict_from_fraction(1.5)


def test_median_quantile_curves_show_the_typical_problem():
    # One problem with a huge loss pulls the mean up; the median stays with the other problems.
    frame = pd.DataFrame({
        "method": ["A"] * 8,
        "seed": [0, 1, 2, 3] * 2,
        "step": [0] * 4 + [1] * 4,
        "loss": [1.0, 1.0, 2.0, 100.0, 0.5, 0.5, 1.0, np.inf],
        "diverged": [False] * 7 + [True],
    })
    ax = plots.median_quantile_curves(frame, title="t")
    line = {l.get_label(): l for l in ax.get_lines()}["A (1/4 diverged)"]
    assert np.allclose(line.get_ydata(), [1.5, 0.75])
    assert ax.get_yscale() == "log" and "median" in ax.get_ylabel()


def test_config_tables_show_plain_text():
    table = report.config_table({"tasks": ("a", "b"), "grid": None, "steps": {"default": 100}, "lr": 0.003}).data
    assert table["value"].tolist() == ["a, b", "–", "100", "0.003"]
    assert table["setting"].tolist() == ["tasks", "grid", "steps · default", "lr"]


def test_record_outside_the_build_writes_nothing_even_inside_a_checkout(tmp_path, monkeypatch):
    """papermill or Jupyter run a chapter directly: its claims must not replace the published
    results (only `optbook build`, which sets $OPTBOOK_RESULTS, publishes)."""
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book" / "results").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTBOOK_RESULTS", raising=False)
    entry = claims.record("03", "c-1", "a claim", 0.5, 0.4, "reproduced")
    assert entry["verdict"] == "reproduced"
    assert not list((tmp_path / "book" / "results").iterdir())
    monkeypatch.setenv("OPTBOOK_RESULTS", str(tmp_path / "mine"))
    claims.record("03", "c-1", "a claim", 0.5, 0.4, "reproduced")
    assert [c["id"] for c in json.loads((tmp_path / "mine" / "03.json").read_text())] == ["c-1"]


def test_only_a_question_is_answered_and_it_needs_its_answer(tmp_path):
    with pytest.raises(ValueError, match="only a question"):
        claims.record("00", "q", "does A win?", None, 1, "answered", kind="ours", reference=None, root=tmp_path)
    with pytest.raises(ValueError, match="only a question"):
        claims.record("00", "q", "does A win?", None, 1, "reproduced", kind="question", reference=None, root=tmp_path)
    with pytest.raises(ValueError, match="needs a short answer"):
        claims.record("00", "q", "does A win?", None, 1, "answered", kind="question", reference=None, root=tmp_path)
    entry = claims.record("00", "q", "does A win?", None, 1, "answered", kind="question", reference=None,
                          answer="No: 1 of 3", root=tmp_path)
    assert entry["answer"] == "No: 1 of 3"
