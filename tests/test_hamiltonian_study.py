"""Chapter 2's study helpers: which net each protocol names, the search's choice, the probes of
hand-designed optimizers by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from optbook import scales
from optbook.learned import HNNUpdate, PortHamiltonianUpdate
from optbook.learned.nets import CoordinatewiseLSTM
from optbook.studies import hamiltonian as ham
from optbook.studies import learning_to_learn as l2l
from optbook.studies import net_kinds


def test_every_kind_of_one_protocol_shares_the_meta_training_config_but_not_the_fingerprint():
    specs = {key: net_kinds.run_spec(net_kinds.kind("mnist", key), "cpu", 2, 0.01, dataset="mnist-5k")
             for key in ("lstm", "hnn", "port-hamiltonian")}
    assert len({spec.meta_config for spec in specs.values()}) == 1
    assert len({spec.fingerprint for spec in specs.values()}) == 3
    assert [spec.net_class for spec in specs.values()] == [CoordinatewiseLSTM, HNNUpdate, PortHamiltonianUpdate]
    (config,) = {spec.meta_config for spec in specs.values()}
    lstm_protocol = scales.chapter_config("01", "cpu")["mnist_meta"]
    assert (config.unroll, config.clip_grad_norm, config.select_by, config.seed) == (
        lstm_protocol["unroll"], lstm_protocol["clip_grad_norm"], "final", 2)
    published = ham.published_spec("quadratic", "cpu")
    assert published.name == "hnn-quadratic-published-cpu"
    assert (published.meta_config.unroll, published.meta_config.meta_lr, published.net_config["output_scale"]) == (15, 0.01, 0.001)
    with pytest.raises(ValueError, match="problem"):
        ham.published_spec("cifar", "cpu")


def test_the_published_protocols_runs_start_from_the_net_chapter_2_has_always_shipped():
    the_kind = net_kinds.kind("quadratic", "hnn-published")
    assert net_kinds.run_spec(the_kind, "cpu", 0, 0.01) == ham.published_spec("quadratic", "cpu")
    second = net_kinds.run_spec(the_kind, "cpu", 1, 0.01)
    assert second.name == "hnn-quadratic-published-r1-cpu" and second.init_seed == second.meta_config.seed == 1


def test_truncated_keeps_the_first_steps_and_refuses_more_than_there_are():
    frame = pd.DataFrame({"step": [0, 1, 2, 0, 1, 2], "loss": range(6)})
    assert list(ham.truncated(frame, 1)["loss"]) == [0, 1, 3, 4]
    with pytest.raises(ValueError, match="steps"):
        ham.truncated(frame, 3)


def test_momentum_and_adam_probed_by_hand():
    """Momentum SGD (0.9): first step −lr·g, then −lr·g·(1 + 0.9); Adam's first step is −lr·sign(g)."""
    values = [0.01, 1.0, 100.0]
    sgd = ham.optimizer_response(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), values, 2, "Momentum")
    first, second = (sgd[sgd["step"] == s]["update"].to_numpy() for s in (0, 1))
    np.testing.assert_allclose(first, -0.1 * np.array(values))
    np.testing.assert_allclose(second, -0.1 * 1.9 * np.array(values))
    adam = ham.optimizer_response(lambda p: torch.optim.Adam(p, lr=0.1), values, 3, "Adam")
    np.testing.assert_allclose(adam[adam["step"] == 0]["update"], -0.1, rtol=1e-6)
    slopes = ham.response_slopes(pd.concat([sgd, adam]), 1)
    assert slopes.loc["Momentum", "slope at step 0"] == pytest.approx(1.0)
    assert slopes.loc["Adam", "slope at step 0"] == pytest.approx(0.0, abs=1e-6)
    assert slopes.loc["Momentum", "growth of the step"] == pytest.approx(1.9)


class _HeavyBall(torch.nn.Module):
    """A hand-made update net that is momentum SGD: v ← μv + ∇, update −lr·v."""

    def __init__(self, lr: float, momentum: float):
        super().__init__()
        self.lr, self.momentum = lr, momentum
        self.unused = torch.nn.Parameter(torch.zeros(1))  # a net has parameters (its dtype and device)

    def initial_state(self, n_coords, device=None):
        return (torch.zeros(n_coords, device=device),)

    def forward(self, grad, state):
        velocity = self.momentum * state[0] + grad
        return -self.lr * velocity, (velocity,)


class _PerTensorSign(torch.nn.Module):
    """A hand-made net with a per-tensor reduction: update −∇/‖∇ of its tensor‖, state unused."""

    uses_segments = True

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def initial_state(self, n_coords, device=None):
        return (torch.zeros(n_coords, device=device),)

    def forward(self, grad, state, segments=None):
        from optbook.learned.hnn import segment_l2_normalize

        return -segment_l2_normalize(grad, segments), state


def test_the_probe_shows_a_heavy_ball_net_growing_as_momentum_sgd_does():
    from optbook.learned import constant_gradient_response

    values = [0.01, 1.0, 100.0]
    net = constant_gradient_response(_HeavyBall(0.1, 0.9), values, 3).assign(method="HNN")
    sgd = ham.optimizer_response(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), values, 3, "Momentum")
    np.testing.assert_allclose(net["update"], sgd["update"], rtol=1e-6)
    slopes = ham.response_slopes(pd.concat([net, sgd]), 2)
    assert slopes.loc["HNN", "growth of the step"] == pytest.approx(1 + 0.9 + 0.81, rel=1e-6)


def test_the_probe_gives_each_value_its_own_tensor_unless_asked_for_one():
    from optbook.learned import constant_gradient_response

    values = [3.0, -4.0]
    alone = constant_gradient_response(_PerTensorSign(), values, 1)
    together = constant_gradient_response(_PerTensorSign(), values, 1, one_tensor=True)
    np.testing.assert_allclose(alone["update"], [-1.0, 1.0], rtol=1e-6)  # each normalised by itself
    np.testing.assert_allclose(together["update"], [-0.6, 0.8], rtol=1e-6)  # by the norm of both, 5


@pytest.mark.parametrize("net, verdict", [(_HeavyBall(0.1, 0.9), "reproduced"), (_HeavyBall(0.1, 0.0), "not reproduced")])
def test_the_heavy_ball_claim_asks_whether_the_hnn_is_closer_to_momentum_or_to_sgd(net, verdict):
    from optbook.learned import constant_gradient_response
    from optbook.studies import hamiltonian_findings as ham_findings

    values, steps = [0.1, 1.0, 10.0], 10
    frame = pd.concat([constant_gradient_response(net, values, steps).assign(method="HNN"),
                       ham.optimizer_response(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), values, steps,
                                              "Momentum")])
    finding = ham_findings.momentum_findings({"Task": {1: frame, 2: frame}}, {"Task": "task"}, steps, 100)
    assert finding.verdict == verdict
    assert finding["momentum_growth_task"] == f"{sum(0.9 ** k for k in range(steps)):.2g}"
    assert finding.nets == ((2, 2) if verdict == "reproduced" else (0, 2))


def test_the_abstracts_many_basic_optimizers_is_judged_against_each_baseline():
    from optbook.studies import hamiltonian_findings as ham_findings

    rng = np.random.default_rng(0)
    hnn = rng.uniform(1.0, 2.0, 60)
    nets = pd.DataFrame([hnn * f for f in (1.0, 1.01, 0.99)])  # three trained nets, nearly alike
    values = {"HNN": nets, "SGD": pd.Series(hnn * 1.5), "RMSprop": pd.Series(hnn * 1.3),  # beaten
              "Momentum": pd.Series(hnn * 0.5), "Adam": pd.Series(hnn * 0.7),  # ahead of the HNN
              "NAG": pd.Series(hnn * rng.choice([0.9, 1.1], 60))}  # level
    finding = ham_findings._beats_each_baseline({"Quadratic": values}, {"Quadratic": "quadratic"}, 100, 60)
    assert finding.verdict == "not reproduced"  # 2 of 5: fewer than half
    assert finding["said"] == "the HNN beats SGD, RMSprop; loses to Momentum, Adam; is level with NAG"
    assert finding["beaten"] == "2 of 5"
    assert finding.nets == (0, 3)  # no net beats all five
