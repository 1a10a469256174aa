"""The HNN optimizers of chapter 2: the published net (spec §2.3) by hand, its per-tensor state
normalisation, the structure-true port-Hamiltonian net's physics (energy conservation to the
integrator's order, dissipation that never adds energy, the heavy-ball special case), and both
nets through meta-training, evaluation, LearnedOptimizer and save/load."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from optbook.experiment import run_ensemble
from optbook.learned import (
    HNNUpdate,
    LearnedOptimizer,
    MetaTrainConfig,
    PortHamiltonianUpdate,
    evaluate,
    load_net,
    save_net,
    train,
)
from optbook.learned.hnn import segment_l2_normalize
from optbook.tasks import MLPClassifier, book_task


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: intra-op threads only add contention on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


QUADRATIC = book_task("quadratic")


class TinyMLPTask:
    """A small sigmoid MLP with minibatches: several tensors per run, so segments matter."""

    name = "tiny-mlp"

    def build(self, seeds, device="cpu"):
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(64, 12, generator=g), torch.randint(0, 10, (64,), generator=g)
        return MLPClassifier(seeds, x, y, hidden=(5,), activation="sigmoid", batch_size=8)


# ----------------------------------------------------------------------------- the published net


def test_published_parameter_counts():
    """19 parameters for d = 1 and 55 for d = 2, as the published notebook prints (spec §2.3)."""
    assert count(HNNUpdate(preprocess_p=None)) == 19
    assert count(HNNUpdate(preprocess_p=10.0)) == 55


def _hand_set_hnn(normalize_state: bool) -> HNNUpdate:
    net = HNNUpdate(preprocess_p=None, output_scale=0.001, normalize_state=normalize_state)
    values = {
        "force.0.weight": [[2.0]], "force.0.bias": [-1.0], "force.2.weight": [[0.5]], "force.2.bias": [0.1],
        "potential_grad.0.weight": [[-1.0]], "potential_grad.0.bias": [0.5],
        "potential_grad.2.weight": [[3.0]], "potential_grad.2.bias": [-0.2],
        "dissipation.weight": [[0.1, 0.2], [0.3, 0.4]],
        "mass.weight": [[2.0]], "mass.bias": [7.0],  # the bias is never used
        "update_head.weight": [[0.5, -1.5]],
        "state_head.weight": [[1.0, 0.25]], "state_head.bias": [-0.5],
    }
    net.load_state_dict({k: torch.tensor(v) for k, v in values.items()})
    return net


def test_published_step_by_hand():
    """d = 1, two coordinates (one on each side of both ReLUs), hand-set weights.

    Coordinate 1: q = 1, p = 0.5. G = 0.5·relu(2·1 − 1) + 0.1 = 0.6; V′ = 3·relu(−1 + 0.5) − 0.2 = −0.2;
    D_q = 0.1·(−0.2) + 0.2·0.5 = 0.08, D_p = 0.3·(−0.2) + 0.4·0.5 = 0.14; M = 2² = 4;
    q̇ = 0.5 − 0.08 = 0.42; ṗ = (0.2 − 0.14 + 0.6)·4 = 2.64;
    update = 0.001·(0.5·0.42 − 1.5·1) = −0.00129; s′ = 0.42 + 0.25·2.64 − 0.5 = 0.58.
    Coordinate 2: q = −1, p = 2. G = 0.1; V′ = 3·1.5 − 0.2 = 4.3; D_q = 0.83, D_p = 2.09;
    q̇ = 1.17; ṗ = (−4.3 − 2.09 + 0.1)·4 = −25.16;
    update = 0.001·(0.5·1.17 + 1.5) = 0.002085; s′ = 1.17 − 6.29 − 0.5 = −5.62.
    """
    grad, state = torch.tensor([1.0, -1.0]), (torch.tensor([0.5, 2.0]),)
    update, (s_next,) = _hand_set_hnn(False)(grad, state)
    assert update.tolist() == pytest.approx([-0.00129, 0.002085], rel=1e-5)
    assert s_next.tolist() == pytest.approx([0.58, -5.62], rel=1e-5)
    _, (normalized,) = _hand_set_hnn(True)(grad, state)  # no segments: the whole input is one tensor
    norm = math.sqrt(0.58**2 + 5.62**2)
    assert normalized.tolist() == pytest.approx([0.58 / norm, -5.62 / norm], rel=1e-5)


def test_published_state_gradient_follows_the_published_data_access():
    """With preprocessing, pre(state.data): no meta-gradient through the state; without, it flows."""
    torch.manual_seed(0)
    for preprocess_p, flows in ((10.0, False), (None, True)):
        net = HNNUpdate(preprocess_p=preprocess_p)
        s = torch.randn(4, requires_grad=True)
        update, _ = net(torch.randn(4), (s,))
        assert update.requires_grad  # φ always gets its meta-gradient
        assert update.sum().grad_fn is not None
        (grad_s,) = torch.autograd.grad(update.sum(), s, allow_unused=True)
        assert (grad_s is not None and grad_s.abs().sum() > 0) == flows
    net = HNNUpdate(preprocess_p=10.0, detach_preprocessed_state=False)
    s = torch.randn(4, requires_grad=True)
    (grad_s,) = torch.autograd.grad(net(torch.randn(4), (s,))[0].sum(), s)
    assert grad_s.abs().sum() > 0


def test_segment_normalisation_by_hand():
    values = torch.tensor([3.0, 4.0, 1.0, 0.0, 2.0, 0.0])
    segments = torch.tensor([0, 0, 1, 2, 1, 2])
    expected = [3 / 5, 4 / 5, 1 / math.sqrt(5), 0.0, 2 / math.sqrt(5), 0.0]  # an all-zero block stays 0
    assert segment_l2_normalize(values, segments).tolist() == pytest.approx(expected)
    assert segment_l2_normalize(values).tolist() == pytest.approx((values / values.norm()).tolist())


def test_per_segment_normalisation_is_the_published_per_tensor_call():
    """LearnedOptimizer runs the net once on all tensors; the published code calls it once per
    tensor, normalising over that tensor. Both must give the same updates and states."""
    torch.manual_seed(0)
    net = HNNUpdate(preprocess_p=10.0, normalize_state=True)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = torch.randn(8, 3)
    params = list(model.parameters())
    before = [p.detach().clone() for p in params]
    optimizer = LearnedOptimizer(params, net)
    states = [net.initial_state(p.numel()) for p in params]
    for _ in range(3):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        grads = [p.grad.reshape(-1).clone() for p in params]
        optimizer.step()
        with torch.no_grad():
            for i, grad in enumerate(grads):
                update, states[i] = net(grad, states[i])  # one tensor: one segment
                before[i] += update.view_as(before[i])
        for p, expected, state in zip(params, before, states):
            assert torch.allclose(p, expected, atol=1e-7, rtol=0)
            assert torch.allclose(optimizer.state[p]["net_state"][0], state[0], atol=1e-6, rtol=1e-5)
            assert state[0].norm().item() == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("net_factory", [
    lambda: HNNUpdate(preprocess_p=None, output_scale=0.01, normalize_state=True),
    lambda: PortHamiltonianUpdate(dim=2, output_scale=0.01),
])
def test_ensemble_run_equals_the_single_run(net_factory):
    """Run r of an ensemble of problems is the problem run alone: the per-tensor normalisation
    is per run too (segments), and nothing else couples runs."""
    torch.manual_seed(0)
    net = net_factory()
    seeds = [3, 8, 1]
    together = evaluate(QUADRATIC, net, seeds, steps=8)
    for run, seed in enumerate(seeds):
        alone = evaluate(QUADRATIC, net, [seed], steps=8)
        mine = together[together["run"] == run]
        assert torch.allclose(torch.tensor(mine["loss"].to_numpy()), torch.tensor(alone["loss"].to_numpy()),
                              rtol=1e-5, atol=1e-6)
    assert together.groupby("step")["loss"].mean().iloc[-1] != together.groupby("step")["loss"].mean().iloc[0]


# ----------------------------------------------------------------------------- the port-Hamiltonian net


def _physical_net(integrator: str, step_size: float, dissipation: bool, damping_scale: float = 0.3):
    """A float64 net with random φ, a non-diagonal M⁻¹ and a visibly nonlinear potential."""
    torch.manual_seed(0)
    net = PortHamiltonianUpdate(dim=2, hidden=8, step_size=step_size, integrator=integrator,
                                dissipation=dissipation).double()
    with torch.no_grad():
        net.inverse_mass_factor.copy_(torch.tensor([[1.0, 0.0], [0.5, 0.8]]))
        if dissipation:  # weak damping, so the conservative part's error stays visible
            net.damping[2].weight.mul_(damping_scale)
            net.damping[2].bias.mul_(damping_scale)
    return net


def _energies(net: PortHamiltonianUpdate, steps: int) -> torch.Tensor:
    """H of 64 coordinates [steps + 1, 64] along the unforced flow (u = 0) from random states."""
    g = torch.Generator().manual_seed(1)
    q = torch.randn(64, 2, generator=g, dtype=torch.float64)
    p = torch.randn(64, 2, generator=g, dtype=torch.float64)
    u = torch.zeros(64, dtype=torch.float64)
    energies = [net.hamiltonian(q, p)]
    with torch.no_grad():
        for _ in range(steps):
            q, p, _ = net.step(q, p, u)
            energies.append(net.hamiltonian(q, p))
    return torch.stack(energies)


ORDERS = {"symplectic_euler": 1, "leapfrog": 2}


@pytest.mark.parametrize("integrator", list(ORDERS))
def test_energy_is_conserved_to_the_integrators_order(integrator):
    """No dissipation, no input: over a fixed time (1,000 steps of h = 0.1, then 2,000 of h/2) the
    largest |H_n − H_0| shrinks like h^k, k the integrator's order (measured: 1.00 and 2.00)."""
    errors = []
    for halvings in (0, 1):
        energies = _energies(_physical_net(integrator, 0.1 / 2**halvings, dissipation=False), 1000 * 2**halvings)
        errors.append((energies - energies[0]).abs().max().item())
    slope = math.log2(errors[0] / errors[1])
    assert slope == pytest.approx(ORDERS[integrator], abs=0.15)
    assert errors[0] < 0.05  # bounded, not drifting: H_0 is O(1)


def test_dissipation_substep_is_exact_and_never_adds_energy():
    """p ← exp(−τ R(q) M⁻¹) p is the exact flow of ṗ = −R M⁻¹ p (checked against 2,000 RK4 steps)
    and never raises H; R and M⁻¹ are positive semi-definite for any φ."""
    for dim in (1, 2, 3):  # the scalar, the closed-form 2x2 and the matrix_exp paths
        torch.manual_seed(dim)
        net = PortHamiltonianUpdate(dim=dim, hidden=6).double()
        with torch.no_grad():
            net.inverse_mass_factor.copy_(torch.randn(dim, dim, dtype=torch.float64))
        q, p = torch.randn(200, dim, dtype=torch.float64), torch.randn(200, dim, dtype=torch.float64)
        with torch.no_grad():
            assert torch.linalg.eigvalsh(net.damping_matrix(q)).min() > -1e-12
            assert torch.linalg.eigvalsh(net.inverse_mass()).min() > -1e-12
            damped = net.dissipate(q, p, 0.7)
            generator = net.damping_matrix(q) @ net.inverse_mass()
            rk4, n = p.clone(), 2000
            field = lambda x: -(generator @ x.unsqueeze(-1)).squeeze(-1)  # noqa: E731
            for _ in range(n):
                k1 = field(rk4)
                k2 = field(rk4 + 0.35 / n * k1)
                k3 = field(rk4 + 0.35 / n * k2)
                k4 = field(rk4 + 0.7 / n * k3)
                rk4 = rk4 + 0.7 / n / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            assert torch.allclose(damped, rk4, atol=1e-10)
            before, after = net.hamiltonian(q, p), net.hamiltonian(q, damped)
            assert (after <= before + 1e-12).all() and (after < before).float().mean() > 0.9


def test_closed_form_2x2_exponential_equals_matrix_exp_including_degenerate_spectra():
    from optbook.learned.port_hamiltonian import expm_neg_2x2

    torch.manual_seed(0)
    b, l = torch.randn(300, 2, 2, dtype=torch.float64), torch.randn(300, 2, 2, dtype=torch.float64)
    generators = [
        (b @ b.transpose(-1, -2)) @ (l @ l.transpose(-1, -2)),  # generic: distinct real eigenvalues
        torch.zeros(3, 2, 2, dtype=torch.float64),  # no damping
        0.7 * torch.eye(2, dtype=torch.float64).expand(3, 2, 2),  # isotropic: δ = 0 exactly
        # nearly equal eigenvalues; rank 1
        torch.tensor([[[1.0, 0.0], [0.0, 1.0 + 1e-5]], [[2.0, 1.0], [0.0, 0.0]]], dtype=torch.float64),
        1e3 * (b @ b.transpose(-1, -2))[:5],  # stiff: no overflow
    ]
    for a in generators:
        for tau in (0.05, 0.5, 3.0):
            c, s, traceless = expm_neg_2x2(a, tau)
            ours = c[:, None, None] * torch.eye(2, dtype=torch.float64) - s[:, None, None] * traceless
            assert torch.allclose(ours, torch.linalg.matrix_exp(-tau * a), atol=1e-12, rtol=1e-9)
    a = torch.eye(2, dtype=torch.float64).repeat(2, 1, 1).requires_grad_()  # δ = 0: still differentiable
    c, s, traceless = expm_neg_2x2(a, 0.5)
    (grad,) = torch.autograd.grad((c + s).sum() + traceless.sum(), a)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("integrator", list(ORDERS))
def test_with_dissipation_energy_rises_only_by_the_integrators_local_error(integrator):
    """Dissipation on, input off: the dissipative substeps cannot raise H (previous test), so a
    step can raise it only through the conservative part's local error, O(h^{k+1}). Measured:
    the largest per-step rise shrinks 4x when h halves for symplectic Euler; leapfrog's is
    already negative (H never rises). Meanwhile H falls substantially."""
    rises, falls = [], []
    for halvings in (0, 1):
        energies = _energies(_physical_net(integrator, 0.1 / 2**halvings, dissipation=True), 1000 * 2**halvings)
        rises.append((energies[1:] - energies[:-1]).max().item())
        falls.append((energies[0] - energies[-1]).mean().item())
    bound = max(rises[0], 0.0) * 2.0 ** -(ORDERS[integrator] + 1)
    assert rises[1] <= 1.4 * bound + 1e-13
    assert rises[0] < 0.01
    assert min(falls) > 0.5


def test_potential_force_is_minus_the_gradient_of_v_and_keeps_its_graph():
    torch.manual_seed(0)
    net = PortHamiltonianUpdate(dim=2).double()
    q = torch.randn(5, 2, dtype=torch.float64)
    force = net.potential_force(q)
    eps = 1e-6
    for j in range(2):
        shift = torch.zeros(2, dtype=torch.float64)
        shift[j] = eps
        numeric = (net.potential(q + shift) - net.potential(q - shift)).squeeze(-1) / (2 * eps)
        assert torch.allclose(-force[:, j], numeric, atol=1e-8)
    # The meta-gradient reaches V through its gradient (create_graph): V's weights get a gradient.
    force.sum().backward()
    assert net.potential[0].weight.grad.abs().sum() > 0
    with torch.no_grad():  # evaluation: a force, no graph
        assert not net.potential_force(q).requires_grad


def test_heavy_ball_is_the_special_case_v_flat_g_m_r_constant():
    """V = 0, g ≡ 2, M⁻¹ = 1.5², R ≡ 0.5² (symplectic Euler, h = 0.5, out = 0.1):
    p ← e^{−h·R·M⁻¹} p + h·g·∇, θ ← θ − out·h·g·M⁻¹·p: momentum SGD, β = e^{−0.28125}."""
    net = PortHamiltonianUpdate(dim=1, hidden=3, output_scale=0.1, step_size=0.5, integrator="symplectic_euler")
    with torch.no_grad():
        for module, value in ((net.potential, 0.0), (net.port, 2.0), (net.damping, 0.5)):
            module[0].weight.zero_()  # constant in q
            module[2].weight.zero_()
            module[2].bias.fill_(value)
        net.inverse_mass_factor.fill_(1.5)
    grads = [torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25]), torch.tensor([-1.0, 3.0])]
    state = net.initial_state(2)
    momentum = torch.zeros(2)
    beta = math.exp(-0.5 * 0.25 * 2.25)
    with torch.no_grad():
        for grad in grads:
            update, state = net(grad, state)
            momentum = beta * momentum + 0.5 * 2.0 * grad
            assert torch.allclose(update, -0.1 * 0.5 * 2.0 * 2.25 * momentum, atol=1e-7)


def test_first_step_from_rest_descends_for_any_port_and_mass():
    """With V flat at the origin, the first update is −out·(h²/2)·gᵀM⁻¹g·∇: opposite to ∇."""
    for seed in range(5):
        torch.manual_seed(seed)
        net = PortHamiltonianUpdate(dim=3)
        with torch.no_grad():
            net.inverse_mass_factor.normal_()
            net.potential[2].weight.zero_()  # V constant: ∂V(0) = 0
        grad = torch.randn(50)
        update, _ = net(grad, net.initial_state(50))
        assert (update * grad <= 0).all()


@pytest.mark.parametrize("integrator", list(ORDERS))
@pytest.mark.parametrize("seed", [2, 3])
def test_closed_loop_energy_never_rises_on_a_quadratic(integrator, seed):
    """The update is the port's output fed back, so E = f(θ) + out·Σ_i H(q_i, p_i) is a Lyapunov
    function of optimizee and optimizer together, in discrete time when the steps are small
    against the damping (out = 1e-3, h = 0.5; see the module docstring). φ draws 2 and 3 are
    lightly damped: the loss itself overshoots and rises at dozens of steps; E never rises.
    (Draws with larger |g|²/R, e.g. 4, violate the step condition at h = 0.5 and E does rise.)"""
    g = torch.Generator().manual_seed(0)
    w, y = torch.randn(10, 10, generator=g, dtype=torch.float64), torch.randn(10, generator=g, dtype=torch.float64)
    torch.manual_seed(seed)
    net = PortHamiltonianUpdate(dim=2, output_scale=1e-3, step_size=0.5, integrator=integrator).double()
    with torch.no_grad():
        net.damping[2].weight.mul_(0.3)  # light damping: the loss overshoots
        net.damping[2].bias.mul_(0.3)
    theta, state, losses, energies = torch.zeros(10, dtype=torch.float64), net.initial_state(10), [], []
    with torch.no_grad():
        for _ in range(300):
            residual = w @ theta - y
            losses.append(residual.square().sum())
            energies.append(losses[-1] + 1e-3 * net.energy(state).sum())
            update, state = net(2 * w.t() @ residual, state)
            theta = theta + update
    losses, energies = torch.stack(losses), torch.stack(energies)
    assert ((losses[1:] - losses[:-1]) > 0).sum() >= 50
    assert ((energies[1:] - energies[:-1]) <= 1e-12 * energies[0]).all()
    assert losses[-1] < 0.99 * losses[0]


# ----------------------------------------------------------------------------- both nets


NETS = {
    "published-raw-norm": lambda: HNNUpdate(preprocess_p=None, normalize_state=True),
    "published-preprocessed": lambda: HNNUpdate(preprocess_p=10.0),
    "port-hamiltonian": lambda: PortHamiltonianUpdate(dim=2, output_scale=0.01),
}


@pytest.mark.parametrize("name", list(NETS))
def test_both_nets_through_meta_training_evaluation_optimizer_and_files(name, tmp_path):
    torch.manual_seed(0)
    net = NETS[name]()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    config = MetaTrainConfig(unroll=5, horizon=10, problems=2, runs=2, meta_lr=0.01, clip_grad_norm=1.0,
                             validation_seeds=(10**6,), validate_every=1)
    result = train(TinyMLPTask(), net, config, progress=False)
    assert result.unrolls["stepped"].all() and len(result.unrolls) == 4
    assert any(not torch.equal(before[k], v) for k, v in result.final_state_dict.items())

    # LearnedOptimizer on the module's own tensors reproduces the functional engine exactly.
    seeds, steps = [3, 8, 1], 6
    functional = evaluate(TinyMLPTask(), net, seeds, steps, method=name)
    modular = run_ensemble(TinyMLPTask(), lambda p: LearnedOptimizer(p, net, ensemble_dim=0), seeds, steps,
                           labels={"method": name})
    pd.testing.assert_frame_equal(functional, modular, check_exact=True)
    assert functional["loss"].nunique() > len(seeds)

    path = save_net(tmp_path / f"{name}.pt", net, metadata={"net": name})
    loaded, metadata = load_net(path, with_metadata=True)
    assert type(loaded) is type(net) and loaded.config() == net.config() and metadata == {"net": name}
    grads = torch.randn(7)
    with torch.no_grad():
        ours, theirs = net(grads, net.initial_state(7)), loaded(grads, loaded.initial_state(7))
    assert torch.equal(ours[0], theirs[0]) and all(torch.equal(a, b) for a, b in zip(ours[1], theirs[1]))


HELD_OUT = list(range(40, 56))  # evaluation seeds: training uses 10**8 + ..., validation 10**6 + ...


@pytest.mark.parametrize("name, net_factory, meta_lr", [
    ("published", lambda: HNNUpdate(preprocess_p=None, normalize_state=True, output_scale=0.01), 0.01),
    ("port-hamiltonian", lambda: PortHamiltonianUpdate(dim=1, output_scale=0.01), 0.03),
])
def test_meta_training_lowers_the_held_out_quadratic_loss(name, net_factory, meta_lr):
    torch.manual_seed(0)
    net = net_factory()
    untrained = evaluate(QUADRATIC, net, HELD_OUT, 20)["loss"].mean()
    config = MetaTrainConfig(unroll=5, horizon=20, problems=30, runs=4, meta_lr=meta_lr, clip_grad_norm=10.0,
                             validation_seeds=tuple(range(10**6, 10**6 + 8)), validate_every=10)
    result = train(QUADRATIC, net, config, progress=False)
    trained = evaluate(QUADRATIC, net, HELD_OUT, 20)["loss"].mean()  # restore_best: the best validated φ
    assert trained < 0.7 * untrained
    assert result.best_problems > 0


@pytest.mark.parametrize(
    "factory, kwargs, argument",
    [
        (HNNUpdate, {"preprocess_p": 0.0}, "preprocess_p"),
        (HNNUpdate, {"output_scale": -1.0}, "output_scale"),
        (HNNUpdate, {"normalize_state": 1}, "normalize_state"),
        (HNNUpdate, {"preprocess_eps": -1e-8}, "preprocess_eps"),
        (PortHamiltonianUpdate, {"dim": 0}, "dim"),
        (PortHamiltonianUpdate, {"hidden": 2.5}, "hidden"),
        (PortHamiltonianUpdate, {"step_size": 0.0}, "step_size"),
        (PortHamiltonianUpdate, {"output_scale": float("nan")}, "output_scale"),
        (PortHamiltonianUpdate, {"input_scale": 0.0}, "input_scale"),
        (PortHamiltonianUpdate, {"integrator": "rk4"}, "integrator"),
        (PortHamiltonianUpdate, {"dissipation": "yes"}, "dissipation"),
    ],
)
def test_bad_constructor_arguments_name_the_argument(factory, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        factory(**kwargs)


# ----------------------------------------------------------------------------- probing a net


def test_constant_gradient_response_of_a_linear_net_by_hand():
    from optbook.learned import LinearUpdate, constant_gradient_response

    net = LinearUpdate()
    with torch.no_grad():
        net.linear.weight.fill_(-0.1)  # g = −0.1 ∇ + 0.02
        net.linear.bias.fill_(0.02)
    frame = constant_gradient_response(net, [2.0, 0.0, -1.0], steps=3)
    assert len(frame) == 9 and frame["step"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert frame["update"].tolist() == pytest.approx([-0.18, 0.02, 0.12] * 3)
    assert frame["displacement"].tolist()[-3:] == pytest.approx([-0.54, 0.06, 0.36])
    lr = frame["effective_lr"].tolist()
    assert lr[0] == pytest.approx(0.09) and math.isnan(lr[1]) and lr[2] == pytest.approx(0.12)


def test_gradient_response_shows_heavy_ball_momentum_and_the_landscape():
    from optbook.learned import gradient_response, port_hamiltonian_landscape

    net = PortHamiltonianUpdate(dim=1, hidden=3, output_scale=0.1, step_size=0.5, integrator="symplectic_euler")
    with torch.no_grad():
        for module, value in ((net.potential, 0.0), (net.port, 2.0), (net.damping, 0.5)):
            module[0].weight.zero_()
            module[2].weight.zero_()
            module[2].bias.fill_(value)
        net.inverse_mass_factor.fill_(1.5)
    sequence = torch.tensor([[1.0], [1.0], [-3.0]])
    frame = gradient_response(net, sequence)
    beta, momentum, expected = math.exp(-0.5 * 0.25 * 2.25), 0.0, []
    for grad in (1.0, 1.0, -3.0):
        momentum = beta * momentum + 0.5 * 2.0 * grad
        expected.append(-0.1 * 0.5 * 2.0 * 2.25 * momentum)
    assert frame["update"].tolist() == pytest.approx(expected, rel=1e-6)

    landscape = port_hamiltonian_landscape(net, [-1.0, 0.0, 2.0])
    assert landscape["g"].tolist() == pytest.approx([2.0] * 3) and landscape["R"].tolist() == pytest.approx([0.25] * 3)
    assert landscape["V"].tolist() == pytest.approx([0.0] * 3) and landscape["force"].abs().max() == 0
    with pytest.raises(ValueError, match="axis"):
        port_hamiltonian_landscape(net, [0.0], axis=1)
    with pytest.raises(ValueError, match="gradients"):
        gradient_response(net, torch.zeros(3))


def test_input_scale_multiplies_the_gradient_entering_the_port():
    torch.manual_seed(3)
    scaled = PortHamiltonianUpdate(dim=2, input_scale=50.0)
    plain = PortHamiltonianUpdate(dim=2)
    plain.load_state_dict(scaled.state_dict())
    grads = torch.randn(6) * 1e-3
    state_a, state_b = scaled.initial_state(6), plain.initial_state(6)
    for _ in range(3):
        (update_a, state_a), (update_b, state_b) = scaled(grads, state_a), plain(50.0 * grads, state_b)
        torch.testing.assert_close(update_a, update_b)
    assert load_net(save_net_roundtrip(scaled)).input_scale == 50.0


def save_net_roundtrip(net, _dir=[]):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "net.pt"
    save_net(path, net)
    return path
