"""The judgements the chapters' findings share, on tiny hand-made inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from optbook import claims
from optbook.studies import learning_to_learn_findings as l2l_findings
from optbook.studies import thermodynamic as thermo


def test_learned_fields_name_the_net_and_its_rival_whichever_side_the_net_is_on():
    lstm = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    adam = lstm + 1.0  # the LSTM is lower on every problem
    as_a = claims.compare_paired(lstm, adam, "LSTM", "Adam")
    as_b = claims.compare_paired(adam, lstm, "Adam", "LSTM")  # "a baseline beats it": the net second
    for judged in (as_a, as_b):
        fields = l2l_findings.learned_fields(judged)
        assert fields["lstm"] == "4" and fields["lstm_median"] == "4"
        assert fields["best"] == "Adam (5)" and fields["best_median"] == "Adam (5)"
    assert l2l_findings.learned_fields(as_a, prefix="final_")["final_fraction"] == "100%"


def test_means_text_leaves_diverged_runs_out_and_follows_the_book_order():
    values = pd.DataFrame({"LSTM": [1.0, float("inf"), 3.0], "SGD": [2.0, 4.0, 6.0]})
    assert l2l_findings.means_text(values) == "SGD 4, LSTM 2"


def test_fig10_bars_are_sgld_as_configured_then_adam_by_rising_step():
    settings = [thermo.Setting("SGLD (σ=0.1)", "SGLD", {}), thermo.Setting("SGLD (σ=0.01)", "SGLD", {}),
                thermo.Setting("Adam (h=0.01)", "Adam", {})]
    order = thermo.fig10_rival_order(settings, ["Adam (h=0.01)", "SGLD (σ=0.1)", "Adam (h=0.001)", "SGLD (σ=0.01)"])
    assert order == ["SGLD (σ=0.1)", "SGLD (σ=0.01)", "Adam (h=0.001)", "Adam (h=0.01)"]


def test_baoab_samples_the_gaussian_target_and_sgld_is_biased_as_its_euler_step_predicts():
    table = thermo.gaussian_variance_check(k=2.0, taus=(0.5,), runs=400, steps=600).set_index("integrator")
    target = 0.25
    assert table.loc["BAOAB (h=0.5, γ=1)", "sample variance"] == pytest.approx(target, rel=0.1)
    sgld_bias = 1 / (1 - 0.05 * 2.0 / 2)  # 1/(1 − hk/2)
    assert table.loc["SGLD (h=0.05)", "sample variance"] == pytest.approx(target * sgld_bias, rel=0.1)


def test_the_verdict_changes_since_one_net_are_read_from_the_previous_edition(tmp_path, monkeypatch):
    import json

    from optbook.findings import Claim
    from optbook.studies import kind_findings

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\n")
    earlier = tmp_path / "book" / "results" / "one-net"
    earlier.mkdir(parents=True)
    earlier.joinpath("01.json").write_text(json.dumps([{"id": "a", "verdict": "reproduced"},
                                                       {"id": "b", "verdict": "inconclusive"}]))
    published = {
        "a": Claim("a", "A beats B", None, "paper").judged("inconclusive", "x", nets=(2, 3)),
        "b": Claim("b", "C beats D", None, "paper").judged("inconclusive", "y", nets=(0, 3)),
        "c": Claim("c", "E beats F", None, "paper").judged("reproduced", "z"),
        "q": Claim("q", "Why?", None, "paper", kind="question").answered("Because", "w"),
    }
    monkeypatch.chdir(tmp_path)
    table = kind_findings.one_net_changes("01", published)
    assert table["claim"].tolist() == ["a", "b", "c"]  # questions have no verdict to change
    assert table["one net"].tolist() == ["reproduced", "inconclusive", "(new claim)"]
    assert table["changed"].tolist() == ["yes", "", "yes"]
    assert table.loc[0, "holds alone for"] == "2 of 3 nets" and table.loc[2, "holds alone for"] == "–"
    monkeypatch.chdir(tmp_path / "book")  # still inside the checkout
    assert len(kind_findings.one_net_changes("01", published)) == 3
    monkeypatch.chdir("/")
    assert "repository" in kind_findings.one_net_changes("01", published).loc[0, "claim"]
