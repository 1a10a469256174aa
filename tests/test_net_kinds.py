"""Kinds of learned optimizer (issue: verdicts that survive a second training run): early
stopping, the search that widens at its edges, the verdict across trained nets, the
port-Hamiltonian net's scale-free gain and its discrete energy balance."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from optbook.comparison import compare_across_nets, compare_paired
from optbook.learned import MetaTrainConfig, train
from optbook.learned.energy import energy_balance
from optbook.learned.nets import CoordinatewiseLSTM
from optbook.learned.port_hamiltonian import PortHamiltonianUpdate
from optbook.studies import net_kinds
from optbook.tasks import book_task


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


QUADRATIC = book_task("quadratic")


# ----------------------------------------------------------------------------- early stopping


def test_patience_stops_once_validation_stops_improving_and_resuming_does_not_train_more():
    torch.manual_seed(0)
    # A meta-learning rate too small to change φ: no validation after the first can improve.
    config = MetaTrainConfig(unroll=5, horizon=5, problems=50, runs=1, meta_lr=1e-12, validate_every=2,
                             validation_seeds=(10**6,), patience=2, select_by="final")
    net = CoordinatewiseLSTM(preprocess_p=None)
    result = train(QUADRATIC, net, config, progress=False)
    assert result.validation["problems"].tolist() == [0, 2, 4]
    assert result.validation["best"].tolist() == [True, False, False]
    assert len(result.unrolls) == 4  # problems 0..3 trained, then it stopped
    resumed = train(QUADRATIC, CoordinatewiseLSTM(preprocess_p=None), config, resume_from=result.checkpoint,
                    progress=False)
    assert len(resumed.unrolls) == 4 and resumed.validation["problems"].tolist() == [0, 2, 4]


def test_patience_keeps_old_fingerprints_and_refuses_nonsense():
    assert "patience" not in MetaTrainConfig().to_dict()
    assert MetaTrainConfig(patience=3).to_dict()["patience"] == 3
    with pytest.raises(ValueError, match="patience"):
        MetaTrainConfig(patience=0)
    with pytest.raises(ValueError, match="patience"):
        MetaTrainConfig(patience=2, validate_every=None)


# ----------------------------------------------------------------------------- the search


def _fake_trainer(score_of):
    """A stand-in for meta-training: a net whose validation score is ``score_of(spec)``."""
    trained = []

    def train_(spec, device, progress):
        trained.append(spec)
        return SimpleNamespace(info={"best_score": score_of(spec), "best_problems": 25, "train_seconds": 1.0},
                               name=spec.name)

    return train_, trained


def test_search_widens_the_meta_learning_rate_until_the_best_is_inside():
    # Scores fall towards 0.3: the grid 1e-3 .. 3e-2 is widened to 0.1 (best at the edge again), then to 0.3.
    train_, trained = _fake_trainer(lambda spec: 1.0 / spec.meta_config.meta_lr)
    found = net_kinds.search(net_kinds.kind("quadratic", "lstm"), "cpu", train=train_)
    rates = sorted(found.trials["meta_lr"])
    assert rates == [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]  # "widen": 2 at cpu scale
    assert found.meta_lr == 0.3 and found.at_edge == ["meta_lr"]
    assert all(spec.meta_config.seed == 1 and spec.init_seed == 1 for spec in trained)
    assert all(spec.meta_config.select_by == "final" for spec in trained)


def test_search_settles_inside_and_searches_the_kinds_own_axes_first():
    def score(spec):
        c = spec.net_config
        return abs(math.log10(spec.meta_config.meta_lr / 3e-3)) + (c["dim"] != 2) + abs(c["output_scale"] - 0.1)

    train_, trained = _fake_trainer(score)
    found = net_kinds.search(net_kinds.kind("quadratic", "port-hamiltonian"), "cpu", train=train_)
    assert found.settings == {"dim": 2, "output_scale": 0.1} and found.meta_lr == 3e-3
    assert found.at_edge == []
    axes_trials = found.trials[found.trials["meta_lr"] == 3e-3]
    assert len(axes_trials) == 9  # 3 latent sizes x 3 output scales at the middle rate (the lower middle of 4)
    assert sorted(found.trials["meta_lr"].unique()) == [1e-3, 3e-3, 1e-2, 3e-2]  # no widening needed
    assert len({spec.name for spec in trained}) == len(trained)  # every net has its own file name


def test_run_spec_names_and_seeds_every_run_and_refuses_unknown_settings():
    the_kind = net_kinds.kind("mnist", "hnn-open")
    spec = net_kinds.run_spec(the_kind, "cpu", 3, 0.01, {"output_scale": 0.01})
    assert spec.name == "hnn-mnist-hnn-open-r3-lr0.01-outputscale0.01-cpu"
    assert spec.init_seed == 3 and spec.meta_config.seed == 3
    assert spec.net_config["detach_preprocessed_state"] is False
    with pytest.raises(ValueError, match="dim"):
        net_kinds.run_spec(the_kind, "cpu", 1, 0.01, {"dim": 2})
    with pytest.raises(ValueError, match="kind"):
        net_kinds.kind("quadratic", "hnn-open")


# ----------------------------------------------------------------------------- across nets


def test_across_nets_counts_the_nets_and_pools_with_both_factors():
    rng = np.random.default_rng(0)
    baseline = rng.lognormal(size=60)
    good = baseline * 0.7 * np.exp(rng.normal(0, 0.05, size=(5, 60)))
    result = compare_across_nets(good, baseline, "LSTM", "Adam")
    assert result.held == 5 and result.verdict == "reproduced"
    assert result.verdicts == [compare_paired(good[j], baseline).verdict for j in range(5)]
    # The pooled mean difference is the mean of all paired differences, inside its interval.
    assert result.mean_difference == pytest.approx(float((good - baseline).mean()))
    assert result.mean_lo < result.mean_difference < result.mean_hi < 0
    # One net of five that is much worse: it holds for 4 of 5, and the pooled verdict is no longer
    # reproduced because redrawing the nets sometimes draws the bad one several times.
    mixed = good.copy()
    mixed[0] = baseline * 5
    spread = compare_across_nets(mixed, baseline, "LSTM", "Adam")
    assert spread.held == 4 and spread.verdict != "reproduced"
    assert "reproduced for 4 of 5 nets alone" in spread.detail


def test_across_nets_pairs_run_by_run_penalises_divergence_and_refuses_bad_shapes():
    a = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, np.inf]])
    b = np.array([[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]])
    result = compare_across_nets(a, b, resamples=200)
    assert result.per_net[1].diverged_a == 1 and result.per_net[1].fraction_better == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 nets"):
        compare_across_nets(a[:1], b[:1])
    with pytest.raises(ValueError, match="one value per problem"):
        compare_across_nets(a, np.ones(4))
    with pytest.raises(ValueError, match="resamples"):
        compare_across_nets(a, b, resamples=10)


# ----------------------------------------------------------------------------- the port-Hamiltonian net


def _linear_net(**kwargs) -> PortHamiltonianUpdate:
    """V flat, g and R constant in q (the MLPs' inputs zeroed): the net is then a linear system."""
    torch.manual_seed(0)
    net = PortHamiltonianUpdate(dim=2, **kwargs).double()
    with torch.no_grad():
        net.potential[2].weight.zero_()
        net.port[0].weight.zero_()
        net.damping[0].weight.zero_()
    return net


def test_rms_gain_makes_the_update_invariant_to_the_gradients_scale():
    net = _linear_net(rms_gain=True, output_scale=0.1, rms_eps=1e-300)
    gradients = torch.randn(6, 40, dtype=torch.float64)
    updates = {}
    for scale in (1.0, 1e-3, 1e3):
        state, steps = net.initial_state(40), []
        for grad in gradients:
            update, state = net(scale * grad, state)
            steps.append(update)
        updates[scale] = torch.stack(steps)
    torch.testing.assert_close(updates[1e-3], updates[1.0], rtol=1e-9, atol=0)
    torch.testing.assert_close(updates[1e3], updates[1.0], rtol=1e-9, atol=0)
    # Without the conditioning the update is proportional to the gradient's scale.
    plain = _linear_net(output_scale=0.1)
    small, _ = plain(1e-3 * gradients[0], plain.initial_state(40))
    large, _ = plain(gradients[0], plain.initial_state(40))
    torch.testing.assert_close(1e3 * small, large)


def test_rms_gain_state_is_adams_bias_corrected_second_moment():
    net = PortHamiltonianUpdate(rms_gain=True, rms_decay=0.9)
    grads = [torch.tensor([2.0, -1.0]), torch.tensor([1.0, 3.0])]
    state = net.initial_state(2)
    for grad in grads:
        _, state = net(grad, state)
    v, w = state[2].squeeze(-1), state[3].squeeze(-1)
    expected = (0.9 * 0.1 * grads[0].square() + 0.1 * grads[1].square()) / (1 - 0.9**2)
    torch.testing.assert_close(v / w, expected)
    with pytest.raises(ValueError, match="rms_decay"):
        PortHamiltonianUpdate(rms_decay=1.0)
    with pytest.raises(ValueError, match="rms_eps"):
        PortHamiltonianUpdate(rms_eps=0.0)


def test_flat_potential_init_makes_the_first_step_a_descent_direction():
    torch.manual_seed(4)
    net = PortHamiltonianUpdate(dim=2, rms_gain=True, flat_potential_init=True)
    grad = torch.randn(200)
    update, _ = net(grad, net.initial_state(200))
    assert (update * grad <= 0).all() and (update != 0).any()


@pytest.mark.parametrize("rms_gain", [False, True])
def test_energy_balance_adds_up_and_a_flat_potential_never_adds_energy(rms_gain):
    """ΔE = remainder + the net's own term to rounding; with V flat the net's own term is the
    dissipation alone, so it is never positive, at every step of every run."""
    for output_scale, rises in ((0.05, False), (1.0 if rms_gain else 0.3, True)):
        torch.manual_seed(1)
        net = PortHamiltonianUpdate(dim=2, output_scale=output_scale, rms_gain=rms_gain,
                                    flat_potential_init=True).double()
        frame = energy_balance(net, QUADRATIC, range(4), 40)
        assert len(frame) == 4 * 40
        finite = frame[np.isfinite(frame["change"])]
        np.testing.assert_allclose(finite["change"], finite["remainder"] + finite["net_own"],
                                   rtol=1e-9, atol=1e-9)
        assert (finite["net_own"] <= 1e-12).all()
        assert (finite["remainder"] >= -1e-9).all()  # ½ΔθᵀAΔθ on a quadratic
        # Small steps: E never rises. Large ones: the optimizee's remainder raises it (the
        # explicit step's price, which the guarantee does not cover).
        assert (finite["change"] > 0).any() == rises


def test_energy_balance_sees_a_learned_potentials_integration_error():
    torch.manual_seed(1)
    net = PortHamiltonianUpdate(dim=1, output_scale=0.01).double()
    with torch.no_grad():
        net.potential[2].weight.mul_(10)  # a steep, curved V: the leapfrog's error shows
    frame = energy_balance(net, QUADRATIC, range(2), 30)
    assert (frame["net_own"] > 1e-9).any()
    with pytest.raises(ValueError, match="energy"):
        energy_balance(CoordinatewiseLSTM(), QUADRATIC, range(2), 3)


def test_a_kind_beats_every_rival_only_for_the_nets_that_beat_each_of_them():
    from optbook.studies.kind_findings import judge_kind

    rng = np.random.default_rng(1)
    problems = rng.lognormal(size=80)
    # net 1 beats both baselines, net 2 only the first, net 3 neither
    nets = pd.DataFrame([problems * 0.5, problems * 0.9, problems * 1.5])
    values = {"LSTM": nets, "SGD": pd.Series(problems * 1.0), "Adam": pd.Series(problems * 0.7)}
    judged = judge_kind(values, "LSTM")
    assert judged.held == 1 and "reproduced for 1 of 3 nets alone" in judged.detail
    reversed_claim = judge_kind(values, "LSTM", learned_should_be_lower=False)  # "some baseline beats it"
    assert reversed_claim.held == 2  # Adam beats nets 2 and 3
