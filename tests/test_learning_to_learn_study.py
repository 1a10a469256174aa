"""Chapter 1's study layer: checkpoints that are reused only when they match, the comparison
tables the claims are read from, and the LSTM's chunked forward."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from optbook.learned import CoordinatewiseLSTM, MetaTrainConfig, load_net, save_net
from optbook.studies import learning_to_learn as l2l
from optbook.tasks import QuadraticTask

TINY = MetaTrainConfig(unroll=5, horizon=10, problems=2, runs=2, meta_lr=3e-3, validate_every=1,
                       validation_seeds=(10**6, 10**6 + 1))
NET = {"hidden": 4, "layers": 1, "preprocess_p": None, "output_scale": 1.0}


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_meta_trained_saves_then_loads_the_same_net(tmp_path):
    first = l2l.meta_trained("tiny", QuadraticTask(), NET, TINY, progress=False)
    assert not first.loaded and (tmp_path / "checkpoints" / "tiny.pt").exists()
    again = l2l.meta_trained("tiny", QuadraticTask(), NET, TINY, progress=False)
    assert again.loaded
    assert again.state_hash == first.state_hash
    pd.testing.assert_frame_equal(again.history, first.history.astype(float), check_dtype=False)
    assert again.validation["problems"].tolist() == first.validation["problems"].tolist() == [0, 1, 2]
    assert again.info["best_problems"] == first.info["best_problems"]
    assert isinstance(again.info["torch"], str)


def test_a_checkpoint_of_another_config_is_retrained_not_reused():
    first = l2l.meta_trained("tiny", QuadraticTask(), NET, TINY, progress=False)
    other = l2l.meta_trained("tiny", QuadraticTask(), NET, replace(TINY, meta_lr=1e-2), progress=False)
    assert not other.loaded
    assert other.state_hash != first.state_hash
    assert l2l.fingerprint(QuadraticTask(), NET, TINY, 0) != l2l.fingerprint(QuadraticTask(), NET, TINY, 1)


def test_the_same_init_seed_gives_the_same_trained_net(tmp_path):
    a = l2l.meta_trained("a", QuadraticTask(), NET, TINY, init_seed=3, progress=False)
    b = l2l.meta_trained("b", QuadraticTask(), NET, TINY, init_seed=3, progress=False)
    c = l2l.meta_trained("c", QuadraticTask(), NET, TINY, init_seed=4, progress=False)
    assert a.state_hash == b.state_hash != c.state_hash


def test_save_net_stores_plain_json_metadata(tmp_path):
    path = save_net(tmp_path / "n.pt", CoordinatewiseLSTM(hidden=3, layers=1), metadata={"torch": torch.__version__})
    _, metadata = load_net(path, with_metadata=True)  # weights_only=True must accept it
    assert type(metadata["torch"]) is str


def _frame(losses: dict[str, list[float]], step: int = 10) -> pd.DataFrame:
    rows = [{"method": m, "step": step, "seed": s, "loss": v, "diverged": False}
            for m, values in losses.items() for s, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_judge_takes_the_least_favourable_baseline_for_beats_all():
    # LSTM clearly beats NAG on every problem but only draws with Adam: "beats the baselines" is
    # decided by Adam.
    rng = np.random.default_rng(0)
    adam = rng.uniform(1, 2, 30)
    values = pd.DataFrame({"LSTM": adam + rng.normal(0, 0.1, 30), "Adam": adam, "NAG": adam + 5})
    result = l2l.judge(values)
    assert result.b == "Adam" and result.verdict == "inconclusive"
    # "A baseline beats the LSTM" needs only one: NAG does not, Adam does not either (a draw).
    reverse = l2l.judge(values.assign(LSTM=adam + 1))
    assert reverse.b == "Adam" and reverse.verdict == "not reproduced"
    assert l2l.judge(values.assign(LSTM=adam + 1), learned_should_be_lower=False).verdict == "reproduced"
    with pytest.raises(ValueError, match="at least one baseline"):
        l2l.judge(values[["LSTM"]])


def test_per_problem_makes_a_diverged_run_an_infinite_loss():
    frame = _frame({"LSTM": [1.0, np.nan], "Adam": [0.5, 0.5]})
    frame.loc[(frame["method"] == "LSTM") & (frame["seed"] == 1), "diverged"] = True
    values = l2l.per_problem(frame, 10)
    assert values.loc[1, "LSTM"] == np.inf and values.loc[0, "LSTM"] == 1.0
    with pytest.raises(ValueError, match="measure='area'"):
        l2l.per_problem(frame, 10, "area")


@pytest.mark.parametrize("chunk_size", [1, 3, 7])
def test_chunked_lstm_forward_equals_one_block(chunk_size):
    torch.manual_seed(0)
    whole = CoordinatewiseLSTM(hidden=5, layers=2, preprocess_p=5.0, chunk_size=None)
    chunked = CoordinatewiseLSTM(hidden=5, layers=2, preprocess_p=5.0, chunk_size=chunk_size)
    chunked.load_state_dict(whole.state_dict())
    grad = torch.randn(10) * 1e-2
    state = tuple(torch.randn(10, 5) for _ in range(4))
    (u1, s1), (u2, s2) = whole(grad, state), chunked(grad, state)
    torch.testing.assert_close(u1, u2)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b)
    # and the meta-gradient through the chunks is the same
    g1 = torch.autograd.grad(whole(grad, state)[0].sum(), list(whole.parameters()))
    g2 = torch.autograd.grad(chunked(grad, state)[0].sum(), list(chunked.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_size=0"):
        CoordinatewiseLSTM(chunk_size=0)


def test_toy_acceptance_numbers():
    toy = l2l.toy_acceptance_test()
    assert toy["final x"] == pytest.approx(0.8559, abs=5e-5)
    assert toy["final loss"] == pytest.approx(0.7325327, abs=1e-6)


def test_chapter_net_rejects_an_unknown_problem():
    from optbook import scales

    with pytest.raises(ValueError, match="problem"):
        l2l.chapter_net("cifar", scales.chapter_config("01", "smoke"), "smoke")


def test_evaluation_in_groups_of_problems_equals_one_ensemble():
    from optbook.learned import evaluate
    from optbook.tasks import book_task

    torch.manual_seed(0)
    net = CoordinatewiseLSTM(hidden=4, layers=1, preprocess_p=10.0, output_scale=0.1)
    task = book_task("mnist-sigmoid")
    together = evaluate(task, net, [3, 1, 4, 5], steps=3, coordinate_budget=10**9)
    grouped = evaluate(task, net, [3, 1, 4, 5], steps=3, coordinate_budget=2 * 15910 + 1)  # groups of 2
    pd.testing.assert_frame_equal(grouped, together, check_exact=False, rtol=1e-5)
    assert together["seed"].iloc[:4].tolist() == [3, 1, 4, 5] and together["run"].iloc[:4].tolist() == [0, 1, 2, 3]


def test_trajectory_means_average_each_problem_over_the_window():
    frame = pd.concat([_frame({"LSTM": [1.0, 3.0], "Adam": [2.0, 2.0]}, step=0),
                       _frame({"LSTM": [0.0, 1.0], "Adam": [1.0, 1.0]}, step=1),
                       _frame({"LSTM": [9.0, 9.0], "Adam": [0.0, 0.0]}, step=2)])
    means = l2l.trajectory_means(frame, last_step=1).set_index(["method", "seed"])["loss"]
    assert means[("LSTM", 0)] == 0.5 and means[("LSTM", 1)] == 2.0 and means[("Adam", 0)] == 1.5
    values = l2l.per_problem(frame, 1, l2l.TRAJECTORY)
    assert values["LSTM"].tolist() == [0.5, 2.0] and values["Adam"].tolist() == [1.5, 1.5]


def test_longest_lead_is_the_longest_run_of_steps_where_the_lstm_is_best():
    steps = {0: (5.0, 5.0), 1: (2.0, 1.0), 2: (1.0, 1.5), 3: (1.0, 1.5), 4: (1.0, 0.5), 5: (0.1, 0.5)}
    frame = pd.concat([_frame({"LSTM": [lstm], "Adam": [adam]}, step=t) for t, (lstm, adam) in steps.items()])
    assert l2l.longest_lead(frame) == (2, 3)
    never = pd.concat([_frame({"LSTM": [3.0], "Adam": [1.0]}, step=t) for t in range(3)])
    assert l2l.longest_lead(never) is None
    # One problem far worse for the LSTM moves its mean, not its median.
    skewed = pd.concat([_frame({"LSTM": [0.5, 0.5, 100.0], "Adam": [1.0, 1.0, 1.0]}, step=t) for t in range(3)])
    assert l2l.longest_lead(skewed) is None and l2l.longest_lead(skewed, statistic="median") == (0, 2)


def test_comparison_holds_both_measures_and_a_narrow_table():
    # The LSTM is ahead early and behind at the end: the two measures must disagree.
    frame = pd.concat([_frame({"LSTM": [1.0 + 0.01 * s for s in range(10)], "Adam": [3.0] * 10}, step=0),
                       _frame({"LSTM": [2.0 + 0.01 * s for s in range(10)], "Adam": [1.0] * 10}, step=1)])
    judged = l2l.comparison(frame, [1])
    assert judged[(l2l.AT_STEP, 1)].verdict == "not reproduced"
    assert judged[(l2l.TRAJECTORY, 1)].verdict == "reproduced"
    assert judged[(l2l.TRAJECTORY, 1)].mean_a == pytest.approx(1.545)
    table = l2l.comparison_table(judged)
    assert list(table.columns) == ["step 1", "mean over 0..1"]
    assert table.loc["verdict", "step 1"] == "not reproduced" and table.loc["compared", "step 1"] == "LSTM vs Adam"


def test_evaluate_learned_at_another_output_scale_leaves_the_trained_net_alone():
    trained = l2l.meta_trained("tiny", QuadraticTask(), NET, TINY, progress=False)
    as_trained = l2l.evaluate_learned(QuadraticTask(), trained, n_seeds=2, steps=3)
    larger = l2l.evaluate_learned(QuadraticTask(), trained, n_seeds=2, steps=3, output_scale=10.0, method="LSTM x10")
    assert trained.net.output_scale == 1.0
    assert set(larger["method"]) == {"LSTM x10"} and set(as_trained["method"]) == {"LSTM"}
    assert not np.allclose(larger["loss"].iloc[2:], as_trained["loss"].iloc[2:])  # the steps differ, not a cache hit
    with pytest.raises(ValueError, match="output_scale=0"):
        l2l.evaluate_learned(QuadraticTask(), trained, n_seeds=2, steps=3, output_scale=0)


def test_loss_figure_draws_mean_and_median_panels_and_tells_learned_variants_apart():
    import matplotlib

    matplotlib.use("Agg")
    frame = pd.concat([_frame({"LSTM": [1.0, 2.0, 30.0], "LSTM (scale 1)": [2.0, 2.0, 2.0], "Adam": [1.5, 1.5, 1.5]}, step=t)
                       for t in range(3)])
    fig = l2l.loss_figure({"task": frame}, "title", "smoke")
    mean_ax, median_ax = fig.axes[:2]
    lines = {line.get_label(): line for line in median_ax.get_lines()}
    assert np.allclose(lines["LSTM"].get_ydata(), [2.0] * 3)  # the median, not the mean (11)
    assert lines["LSTM"].get_linestyle() != lines["LSTM (scale 1)"].get_linestyle()
    assert lines["Adam"].get_linestyle() == "--"
    assert np.allclose({l.get_label(): l for l in mean_ax.get_lines()}["LSTM"].get_ydata(), [11.0] * 3)
