"""Thermodynamic integrators (optbook.optim.langevin / partitioned): substeps, samplers, conformance."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from torch import nn

from optbook.optim.langevin import (
    BAOAB,
    SGLD,
    AdaptiveLangevin,
    OverdampedLangevin,
    PartitionedLangevin,
    drift_,
    friction_,
    heat_,
    kick_,
    ou_,
    resample_,
    sgld_,
    thermostat_,
)
from optbook.optim.partitioned import LOL, AdLaLa, LaLa, layer_partition

D = torch.float64


def t(*xs):
    return torch.tensor(xs, dtype=D)


def randn(n, seed):
    return torch.empty(n, dtype=D).normal_(generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- substeps, by hand


def test_drift_and_kick():
    th, p, g = t(1.0, -2.0), t(0.5, 0.25), t(3.0, -1.0)
    drift_([th], [p], 0.5, 0.2)
    assert th.tolist() == pytest.approx([1.0 + 0.5 * 0.2 * 0.5, -2.0 + 0.5 * 0.2 * 0.25], abs=1e-15)
    kick_([p], [g], 1.0, 0.2)
    assert p.tolist() == pytest.approx([0.5 - 0.2 * 3.0, 0.25 - 0.2 * -1.0], abs=1e-15)


def test_ou_step():
    p, r = t(0.5, -1.0, 2.0), randn(3, 1)
    f, h, gamma, tau = 1.0, 0.25, 0.7, 0.3
    c = math.exp(-gamma * f * h)
    d = math.sqrt((1 - c * c) * tau)
    expected = [c * pi + d * ri for pi, ri in zip(p.tolist(), r.tolist())]
    ou_([p], [r], f, h, gamma, tau)
    assert p.tolist() == pytest.approx(expected, abs=1e-14)


def test_resample_is_full_momentum_refresh():
    p, r = t(5.0, -7.0), randn(2, 2)
    view = p[:1]
    resample_([p], [r], 0.04)
    assert p.tolist() == pytest.approx([0.2 * x for x in r.tolist()], abs=1e-15)
    assert view.item() == p[0].item()  # in place


def test_friction_heat_thermostat_per_tensor():
    p, xi = t(1.0, -2.0, 0.5), t(0.3).reshape(())
    f, h = 0.5, 0.2
    friction_([p], [xi], f, h)
    s = math.exp(-0.3 * f * h)
    assert p.tolist() == pytest.approx([s * 1.0, s * -2.0, s * 0.5], abs=1e-15)
    before, r = p.tolist(), randn(3, 3)
    heat_([p], [r], f, h, 0.01)
    expected = [b + 0.01 * math.sqrt(f * h) * x for b, x in zip(before, r.tolist())]
    assert p.tolist() == pytest.approx(expected, abs=1e-15)
    kin = sum(x * x for x in expected)
    thermostat_([xi], [p], f, h, 0.05, 0.1)
    assert xi.item() == pytest.approx(0.3 + 0.05 * f * h * (kin - 3 * 0.1), abs=1e-15)


def test_friction_thermostat_per_run():
    # ensemble: p [R=2, 2, 2], one xi per run, N = 4 per run
    p = torch.arange(8, dtype=D).reshape(2, 2, 2) / 4
    xi = t(0.1, -0.2)
    rows = [p[r].flatten().tolist() for r in range(2)]
    friction_([p], [xi], 1.0, 0.5)
    for r, x in enumerate([0.1, -0.2]):
        assert p[r].flatten().tolist() == pytest.approx([math.exp(-x * 0.5) * v for v in rows[r]], abs=1e-15)
    kin = [sum(v * v for v in p[r].flatten().tolist()) for r in range(2)]
    thermostat_([xi], [p], 1.0, 0.5, 0.2, 0.3)
    assert xi.tolist() == pytest.approx([0.1 + 0.1 * (kin[0] - 1.2), -0.2 + 0.1 * (kin[1] - 1.2)], abs=1e-15)


def test_sgld_substep():
    th, g, r = t(1.0, 2.0), t(0.5, -0.5), randn(2, 4)
    h, tau = 0.1, 0.02
    expected = [x - h * gi + math.sqrt(2 * h * tau) * ri for x, gi, ri in zip([1.0, 2.0], g.tolist(), r.tolist())]
    sgld_([th], [g], [r], h, tau)
    assert th.tolist() == pytest.approx(expected, abs=1e-15)


# --------------------------------------------------------------------------- the step, by hand


def test_first_step_half_kick_and_baoab_order_deterministic():
    # L = k θ²/2, τ = 0: B½ (initial, from .grad) A½ O A½ | closure | B₁, all by hand.
    k, h, gamma, th0 = 2.0, 0.1, 0.5, 1.5
    th = torch.tensor([th0], dtype=D, requires_grad=True)
    opt = BAOAB([th], lr=h, gamma=gamma, tau=0.0)

    def closure():
        opt.zero_grad()
        loss = 0.5 * k * (th * th).sum()
        loss.backward()
        return loss

    closure()  # the gradient the user computes before the first step
    c = math.exp(-gamma * h)
    x, p = th0, 0.0
    p -= 0.5 * h * k * x  # initial B½
    for _ in range(3):
        x += 0.5 * h * p
        p *= c
        x += 0.5 * h * p
        p -= h * k * x
        loss = opt.step(closure)
        assert th.item() == pytest.approx(x, abs=1e-14)
        assert opt.state[th]["momentum"].item() == pytest.approx(p, abs=1e-14)
        assert loss.item() == pytest.approx(0.5 * k * x * x, abs=1e-14)


def test_overdamped_is_leimkuhler_matthews():
    # θ_{n+1} = θ_n − (h²/2)∇L(θ_n) + (h/2)√τ (R_{n−1} + R_n) for n ≥ 1; first step: −(h²/4)∇L + (h/2)√τ R_0.
    k, h, tau = 1.5, 0.3, 0.2
    th = torch.tensor([0.7, -0.4], dtype=D, requires_grad=True)
    opt = OverdampedLangevin([th], lr=h, tau=tau, generator=torch.Generator().manual_seed(5))
    replay = torch.Generator().manual_seed(5)

    def closure():
        opt.zero_grad()
        loss = 0.5 * k * (th * th).sum()
        loss.backward()
        return loss

    x = th.detach().clone()
    prev = None
    for n in range(4):
        r = torch.empty(2, dtype=D).normal_(generator=replay)
        opt.step(closure)
        if n == 0:
            x = x - (h * h / 4) * k * x + (h / 2) * math.sqrt(tau) * r
        else:
            x = x - (h * h / 2) * k * x + (h / 2) * math.sqrt(tau) * (prev + r)
        prev = r
        torch.testing.assert_close(th.detach(), x, rtol=0, atol=1e-14)


def test_adlala_step_is_the_spec_composition():
    # A¹½ A²½ C¹½ D¹½ E¹½ O²₁ E¹½ D¹½ C¹½ A²½ A¹½, gradient, B²₁ B¹₁ with the documented noise order
    # (D¹ first half, O², D¹ second half), on a coupled quadratic.
    h, gamma, tau, sA, eps, xi0 = 0.2, 0.7, 0.05, 0.3, 0.4, 0.1
    th1 = torch.tensor([0.3, -0.2, 0.5], dtype=D, requires_grad=True)
    th2 = torch.tensor([1.0, -1.0], dtype=D, requires_grad=True)

    def loss_fn(a, b):
        return 0.5 * (a * a).sum() + 0.5 * (b * b).sum() + 0.3 * a.sum() * b.sum()

    def grads(a, b):
        return a + 0.3 * b.sum(), b + 0.3 * a.sum()

    opt = AdLaLa([[th1], [th2]], lr=h, gamma=gamma, tau1=tau, tau2=tau, sigma_A=sA, eps=eps, xi0=xi0,
                 generator=torch.Generator().manual_seed(11))
    replay = torch.Generator().manual_seed(11)

    def closure():
        opt.zero_grad()
        loss = loss_fn(th1, th2)
        loss.backward()
        return loss

    a, b = th1.detach().clone(), th2.detach().clone()
    ga, gb = grads(a, b)
    pa, pb, xi = -0.5 * h * ga, -0.5 * h * gb, torch.tensor(xi0, dtype=D)
    c = math.exp(-gamma * h)
    for _ in range(3):
        noise = torch.empty(8, dtype=D).normal_(generator=replay)
        r1, r2, r3 = noise[:3], noise[3:5], noise[5:]
        a = a + 0.5 * h * pa
        b = b + 0.5 * h * pb
        pa = pa * torch.exp(-xi * 0.5 * h)
        pa = pa + sA * math.sqrt(0.5 * h) * r1
        xi = xi + eps * 0.5 * h * ((pa * pa).sum() - 3 * tau)
        pb = c * pb + math.sqrt((1 - c * c) * tau) * r2
        xi = xi + eps * 0.5 * h * ((pa * pa).sum() - 3 * tau)
        pa = pa + sA * math.sqrt(0.5 * h) * r3
        pa = pa * torch.exp(-xi * 0.5 * h)
        b = b + 0.5 * h * pb
        a = a + 0.5 * h * pa
        ga, gb = grads(a, b)
        pb = pb - h * gb
        pa = pa - h * ga
        opt.step(closure)
        torch.testing.assert_close(th1.detach(), a, rtol=0, atol=1e-14)
        torch.testing.assert_close(th2.detach(), b, rtol=0, atol=1e-14)
        torch.testing.assert_close(opt.state[th1]["momentum"], pa, rtol=0, atol=1e-14)
        torch.testing.assert_close(opt.state[th1]["xi"], xi, rtol=0, atol=1e-14)
        assert "xi" not in opt.state[th2]


# --------------------------------------------------------------------------- Gaussian targets

# L(θ) = Σ_r Σ_i k_i θ_ri² / 2 over R runs: exp(−L/τ) is N(0, τ/k_i) per coordinate.
R, DIM, TAU = 200, 8, 0.5
K = torch.linspace(0.5, 2.0, DIM, dtype=D)


def sample_quadratic(make_opt, steps, n_params=1, grad_noise=0.0, seed=0, record=None):
    """Run the optimizer on R independent quadratics; return samples [T, R, DIM] per tensor and the optimizer.

    ``record(opt, ths)`` is called at every sampling step; its values are returned time-averaged in ``opt.avg``.
    """
    ths = [torch.zeros(R, DIM, dtype=D, requires_grad=True) for _ in range(n_params)]
    opt = make_opt(ths, torch.Generator().manual_seed(seed))
    gnoise = torch.Generator().manual_seed(seed + 1000)

    def closure():
        opt.zero_grad()
        loss = sum(0.5 * (K * th * th).sum() for th in ths)
        loss.backward()
        if grad_noise:
            for th in ths:
                th.grad.add_(torch.empty_like(th).normal_(generator=gnoise), alpha=grad_noise)
        return loss

    burn = steps // 3
    samples = [[] for _ in ths]
    recorded = []
    for n in range(steps):
        opt.step(closure)
        if n >= burn:
            for s, th in zip(samples, ths):
                s.append(th.detach().clone())
            if record is not None:
                recorded.append(record(opt, ths))
    if record is not None:
        opt.avg = torch.tensor(recorded, dtype=D).mean(0).tolist()
    return [torch.stack(s) for s in samples], opt


def xi_and_kinetic(opt, ths):
    """Ensemble means of ξ and of pᵀp/N (per run, then over runs) of the first tensor."""
    state = opt.state[ths[0]]
    return [state["xi"].mean().item(), state["momentum"].square().mean().item()]


def scaled_variance(x):
    """Per-coordinate variance × k/τ (1 for the exact target)."""
    return x.var(dim=(0, 1)) * K / TAU


def test_sgld_gaussian_matches_euler_maruyama_stationary_law():
    # EM on a quadratic has the exact stationary variance τ / (k (1 − hk/2)): bias +1.3 %..+5.3 % at h = 0.05.
    h = 0.05
    (x,), _ = sample_quadratic(lambda ps, g: SGLD(ps, lr=h, tau=TAU, ensemble_dim=0, generator=g), 3000)
    assert x.mean().abs() < 0.02
    expected = 1 / (1 - h * K / 2)
    torch.testing.assert_close(scaled_variance(x), expected, rtol=0.04, atol=0)
    assert scaled_variance(x)[-1] > 1.02  # the discretisation bias at k = 2 is visible


@pytest.mark.parametrize("method,h", [("langevin", 0.2), ("overdamped", 0.3)])
def test_baoab_gaussian_configurational_sampling_is_exact(method, h):
    # BAOAB (any γ, incl. γ → ∞) samples a harmonic θ-marginal without discretisation bias.
    (x,), opt = sample_quadratic(
        lambda ps, g: PartitionedLangevin(ps, lr=h, method=method, gamma=1.0, tau=TAU, ensemble_dim=0, generator=g),
        2400,
    )
    assert x.mean().abs() < 0.02
    torch.testing.assert_close(scaled_variance(x), torch.ones(DIM, dtype=D), rtol=0.04, atol=0)


def test_adaptive_gaussian_and_thermostat():
    # Adaptive Langevin, h = 0.1: O(h²) bias (≈ −1 % here); ξ → σ_A²/(2τ) = 1 (fluctuation–dissipation)
    # and the mean kinetic energy pᵀp/N → τ.
    sA, eps = 1.0, 1.0
    (x,), opt = sample_quadratic(
        lambda ps, g: AdaptiveLangevin(ps, lr=0.1, tau=TAU, sigma_A=sA, eps=eps, xi0=3.0, ensemble_dim=0, generator=g),
        3000, record=xi_and_kinetic,
    )
    assert x.mean().abs() < 0.02
    torch.testing.assert_close(scaled_variance(x), torch.ones(DIM, dtype=D), rtol=0.05, atol=0)
    th = opt.param_groups[0]["params"][0]
    assert opt.state[th]["xi"].shape == (R,)
    xi_mean, kinetic = opt.avg
    assert xi_mean == pytest.approx(sA**2 / (2 * TAU), rel=0.03)  # started at ξ₀ = 3
    # exactly τ at the E-step (where ξ's drift averages to zero); ≈ −0.8 % O(h²) bias after B₁, where we read p
    assert kinetic / TAU == pytest.approx(1.0, abs=0.02)


def test_adaptive_absorbs_gradient_noise_langevin_does_not():
    # Gradient noise σ_g heats BAOAB to τ + hσ_g²/(2γ) = 0.6 (+20 %); the thermostat raises ξ to
    # (σ_A² + hσ_g²)/(2τ) = 1.2 and keeps the θ-variance at τ/k.
    h, sg = 0.2, 1.0
    (xl,), _ = sample_quadratic(
        lambda ps, g: BAOAB(ps, lr=h, gamma=1.0, tau=TAU, ensemble_dim=0, generator=g), 1800, grad_noise=sg
    )
    (xa,), opt = sample_quadratic(
        lambda ps, g: AdaptiveLangevin(ps, lr=h, tau=TAU, sigma_A=1.0, eps=1.0, xi0=1.0, ensemble_dim=0, generator=g),
        1800, grad_noise=sg, record=xi_and_kinetic,
    )
    assert scaled_variance(xl).mean().item() == pytest.approx(1.2, abs=0.05)
    assert scaled_variance(xa).mean().item() == pytest.approx(1.0, abs=0.06)
    assert opt.avg[0] == pytest.approx(1.2, rel=0.06)  # measured ≈ 1.245: O(h) excess over the SDE's 1.2


def test_partitioned_adlala_gaussian():
    # Two groups (adaptive | langevin) on independent quadratics: both sample N(0, τ/k).
    (x1, x2), opt = sample_quadratic(
        lambda ps, g: AdLaLa([[ps[0]], [ps[1]]], lr=0.1, gamma=1.0, tau1=TAU, tau2=TAU, sigma_A=1.0, eps=1.0,
                             xi0=1.0, ensemble_dim=0, generator=g),
        2400, n_params=2,
    )
    assert [g["method"] for g in opt.param_groups] == ["adaptive", "langevin"]
    for x in (x1, x2):
        assert x.mean().abs() < 0.02
        torch.testing.assert_close(scaled_variance(x), torch.ones(DIM, dtype=D), rtol=0.05, atol=0)


# --------------------------------------------------------------------------- ensembles


class EnsembleMLP(nn.Module):
    """R runs of a 2 → H → 1 sigmoid net; ``runs=None`` is a plain single net."""

    def __init__(self, runs, hidden=5, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        lead = () if runs is None else (runs,)
        self.runs = runs
        self.W1 = nn.Parameter(torch.randn(*lead, hidden, 2, generator=g, dtype=D))
        self.b1 = nn.Parameter(torch.randn(*lead, hidden, generator=g, dtype=D) * 0.1)
        self.W2 = nn.Parameter(torch.randn(*lead, 1, hidden, generator=g, dtype=D) / hidden**0.5)
        self.b2 = nn.Parameter(torch.zeros(*lead, 1, dtype=D))

    def loss(self, x, y):
        """Mean BCE per run, summed over runs."""
        if self.runs is None:
            z = torch.relu(x @ self.W1.T + self.b1) @ self.W2.T + self.b2
            return nn.functional.binary_cross_entropy_with_logits(z.squeeze(-1), y)
        hid = torch.relu(torch.einsum("rhi,bi->rbh", self.W1, x) + self.b1[:, None])
        z = torch.einsum("roh,rbh->rbo", self.W2, hid) + self.b2[:, None]
        return nn.functional.binary_cross_entropy_with_logits(
            z.squeeze(-1), y.expand(self.runs, -1), reduction="none").mean(1).sum()

    @classmethod
    def single_from(cls, ens, r):
        single = cls(None, hidden=ens.W1.shape[1])
        with torch.no_grad():
            for (_, ps), (_, pe) in zip(single.named_parameters(), ens.named_parameters()):
                ps.copy_(pe[r])
        return single


def _train(model, opt, batches):
    def make_closure(x, y):
        def closure():
            opt.zero_grad()
            loss = model.loss(x, y)
            loss.backward()
            return loss
        return closure

    for x, y in batches:
        opt.step(make_closure(x, y))


def _batches(n, seed=3):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        x = torch.randn(8, 2, generator=g, dtype=D)
        out.append((x, (x[:, 0] * x[:, 1] > 0).to(D)))
    return out


@pytest.mark.parametrize("scheme", ["adlala", "lol", "sgld"])
def test_ensemble_run_r_reproduces_single_run(scheme):
    runs, seeds, batches = 3, [101, 202, 303], _batches(40)

    def make(params_or_model, **kw):
        if scheme == "adlala":
            return AdLaLa(params_or_model, lr=0.2, gamma=0.5, tau1=1e-2, tau2=1e-3, sigma_A=0.05, eps=0.1, **kw)
        if scheme == "lol":
            return LOL(params_or_model, lr=0.2, gamma1=0.5, tau1=1e-2, tau2=1e-3, **kw)
        return SGLD(params_or_model.parameters(), lr=0.1, tau=1e-3, **kw)

    ens = EnsembleMLP(runs)
    singles = [EnsembleMLP.single_from(ens, r) for r in range(runs)]
    opt = make(ens, ensemble_dim=0, generators=[torch.Generator().manual_seed(s) for s in seeds])
    _train(ens, opt, batches)
    if scheme == "adlala":
        assert opt.state[ens.W1]["xi"].shape == (runs,)
    for r, (single, s) in enumerate(zip(singles, seeds)):
        sopt = make(single, generator=torch.Generator().manual_seed(s))
        _train(single, sopt, batches)
        for (name, pe), (_, ps) in zip(ens.named_parameters(), single.named_parameters()):
            torch.testing.assert_close(pe[r].detach(), ps.detach(), rtol=1e-10, atol=1e-12, msg=f"run {r} {name}")
        if scheme == "adlala":
            torch.testing.assert_close(opt.state[ens.W1]["xi"][r], sopt.state[single.W1]["xi"], rtol=1e-10, atol=1e-12)
    assert not torch.allclose(ens.W1[0], ens.W1[1])


@pytest.mark.parametrize("per_step, expected", [(False, 0.1 * math.sqrt(0.1)), (True, 0.1)])
def test_sgld_sigma_readings_give_the_noise_of_one_step(per_step, expected):
    # σ√h R (the default reading) against σ R (sigma_per_step): the spread of one pure-noise step.
    th = torch.zeros(40000, dtype=D, requires_grad=True)
    opt = SGLD([th], lr=0.1, sigma=0.1, sigma_per_step=per_step, generator=torch.Generator().manual_seed(3))
    th.grad = torch.zeros_like(th)
    opt.step()
    assert th.detach().std().item() == pytest.approx(expected, rel=0.02)


def test_ensemble_single_generator_draws_distinct_noise_per_run():
    th = torch.zeros(4, 3, dtype=D, requires_grad=True)
    opt = SGLD([th], lr=0.1, tau=0.5, ensemble_dim=0, generator=torch.Generator().manual_seed(0))
    th.grad = torch.zeros_like(th)
    opt.step()
    assert len({tuple(row) for row in th.detach().tolist()}) == 4


# --------------------------------------------------------------------------- conformance


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 1)).to(D)


def test_layer_partition_rules():
    net = _net()
    layers = layer_partition(net)
    assert [[tuple(p.shape) for p in layer] for layer in layers] == [[(6, 2), (6,)], [(3, 6), (3,)], [(1, 3), (1,)]]
    ens = EnsembleMLP(2)
    assert layer_partition(ens) == [[ens.W1, ens.b1], [ens.W2, ens.b2]]
    nobias = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Linear(3, 1))
    assert [len(layer) for layer in layer_partition(nobias)] == [1, 2]


def test_constructors_configure_groups():
    net = _net()
    a = AdLaLa(net)
    g0, g1 = a.param_groups
    assert (g0["method"], g0["tau"], g0["sigma_A"], g0["eps"], g0["xi0"], g0["lr"]) == ("adaptive", 1e-4, 0.01, 0.05, 0.1, 0.25)
    assert (g1["method"], g1["gamma"], g1["tau"], len(g1["params"])) == ("langevin", 0.1, 1e-4, 4)
    lol = LOL(net, tau2=1e-5)
    assert [(g["method"], g["tau"]) for g in lol.param_groups] == [("langevin", 1e-3), ("overdamped", 1e-5)]
    assert lol.param_groups[0]["gamma"] == 0.01
    assert SGLD(net.parameters(), sigma=0.1).param_groups[0]["tau"] == pytest.approx(0.005)  # σ = √(2τ)
    # The other reading of σ: per-step noise σR, so τ = σ²/(2h).
    assert SGLD(net.parameters(), lr=0.1, sigma=0.1, sigma_per_step=True).param_groups[0]["tau"] == pytest.approx(0.05)
    lala = LaLa(net, lr=0.1, gammas=[1.0, 2.0, 3.0], taus=1e-5)
    assert [(g["method"], g["gamma"], g["tau"]) for g in lala.param_groups] == [
        ("langevin", 1.0, 1e-5), ("langevin", 2.0, 1e-5), ("langevin", 3.0, 1e-5)]


def _closure_for(model, opt, x, y, counter=None):
    def closure():
        if counter is not None:
            counter[0] += 1
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss
    return closure


def test_state_dict_round_trip_continues_identically():
    x, y = torch.randn(16, 2, dtype=D), torch.randn(16, 1, dtype=D)
    net = _net()
    opt = AdLaLa(net, lr=0.1, tau1=1e-3, tau2=1e-3, generator=torch.Generator().manual_seed(7))
    for _ in range(5):
        opt.step(_closure_for(net, opt, x, y))
    buf = io.BytesIO()
    torch.save({"model": net.state_dict(), "opt": opt.state_dict()}, buf)
    for _ in range(5):
        opt.step(_closure_for(net, opt, x, y))
    expected = [p.detach().clone() for p in net.parameters()]

    buf.seek(0)
    ckpt = torch.load(buf)
    net2 = _net(seed=99)
    net2.load_state_dict(ckpt["model"])
    net2.zero_grad()
    opt2 = AdLaLa(net2, lr=0.5, tau1=0.3, generator=torch.Generator().manual_seed(12345))  # wrong on purpose
    opt2.load_state_dict(ckpt["opt"])  # restores hyperparameters, p, ξ, steps and the generator's state
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["tau"] == 1e-3
    assert opt2.state[net2[0].weight]["step"] == 5
    for _ in range(5):
        opt2.step(_closure_for(net2, opt2, x, y))  # the stored p already holds the opening half-kick
    for a, b in zip(expected, net2.parameters()):
        torch.testing.assert_close(a, b.detach(), rtol=0, atol=0)


def test_state_dict_generators_of_an_ensemble():
    th = torch.zeros(2, 3, dtype=D, requires_grad=True)
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    opt = BAOAB([th], ensemble_dim=0, generators=gens)
    sd = opt.state_dict()
    assert len(sd["generator_states"]) == 2
    other = BAOAB([th], ensemble_dim=0, generator=torch.Generator())  # one generator for the whole block
    with pytest.raises(ValueError, match="2 generator states"):
        other.load_state_dict(sd)


def test_several_param_groups_match_separate_optimizers():
    # τ = 0, σ_A = 0: deterministic; a separable loss makes each group's trajectory its own.
    def make_params():
        torch.manual_seed(0)
        return [torch.randn(3, dtype=D, requires_grad=True) for _ in range(3)]

    specs = [dict(method="langevin", lr=0.1, gamma=2.0), dict(method="adaptive", lr=0.2, sigma_A=0.0, eps=0.5),
             dict(method="sgld", lr=0.05)]
    ps = make_params()
    opt = PartitionedLangevin([dict(params=[p], **s) for p, s in zip(ps, specs)], tau=0.0)

    def loss_of(params):
        return sum(((i + 1) * p * p).sum() + p.sin().sum() for i, p in enumerate(params))

    def closure():
        opt.zero_grad()
        loss = loss_of(ps)
        loss.backward()
        return loss

    for _ in range(6):
        opt.step(closure)
    qs = make_params()
    for i, (q, s) in enumerate(zip(qs, specs)):
        o = PartitionedLangevin([q], tau=0.0, **s)

        def c():
            o.zero_grad()
            loss = ((i + 1) * q * q).sum() + q.sin().sum()
            loss.backward()
            return loss

        for _ in range(6):
            o.step(c)
        torch.testing.assert_close(ps[i].detach(), q.detach(), rtol=0, atol=1e-14)
    assert [g["method"] for g in opt.param_groups] == ["langevin", "adaptive", "sgld"]


def test_closure_required_for_momentum_methods():
    th = torch.ones(2, requires_grad=True)
    th.grad = torch.ones(2)
    for opt in (BAOAB([th]), AdaptiveLangevin([th]), OverdampedLangevin([th]), LOL([[th], [torch.ones(1, requires_grad=True)]])):
        with pytest.raises(RuntimeError, match="closure"):
            opt.step()
    sgld = SGLD([th], lr=0.1, tau=0.0)
    sgld.step()  # SGLD without a closure uses the gradient already present
    assert th.tolist() == pytest.approx([0.9, 0.9])


def test_one_gradient_evaluation_per_step():
    x, y = torch.randn(8, 2, dtype=D), torch.randn(8, 1, dtype=D)
    for make in (AdLaLa, LOL, LaLa):
        net = _net()
        opt = make(net)
        n = [0]
        closure = _closure_for(net, opt, x, y, n)
        opt.step(closure)
        assert n[0] == 2  # no gradient before the first step: one extra evaluation for the initial B½
        for k in range(1, 6):
            opt.step(closure)
            assert n[0] == 2 + k
        # with a gradient computed before the first step, every step costs one evaluation
        net = _net()
        opt = make(net)
        n = [0]
        closure = _closure_for(net, opt, x, y, n)
        closure()
        for k in range(1, 6):
            opt.step(closure)
            assert n[0] == 1 + k
    net = _net()
    opt = SGLD(net.parameters())
    n = [0]
    for k in range(1, 4):
        opt.step(_closure_for(net, opt, x, y, n))
        assert n[0] == k


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(lr=0.0), "lr"), (dict(lr=-1.0), "lr"), (dict(lr=float("nan")), "lr"),
        (dict(gamma=0.0), "gamma"), (dict(tau=-1e-4), "tau"), (dict(tau=float("inf")), "tau"),
        (dict(sigma_A=-0.1), "sigma_A"), (dict(eps=-0.01), "eps"), (dict(xi0=float("nan")), "xi0"),
        (dict(method="hmc"), "method"), (dict(ensemble_dim=1), "ensemble_dim"), (dict(lr="0.1"), "lr"),
        (dict(generator=3), "generator"), (dict(generators=[torch.Generator()]), "generators"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PartitionedLangevin([torch.ones(2, requires_grad=True)], **kwargs)


def test_bad_arguments_groups_and_constructors():
    th = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"method='sgd'.*param group 1"):
        PartitionedLangevin([dict(params=[th]), dict(params=[torch.ones(1, requires_grad=True)], method="sgd")])
    with pytest.raises(ValueError, match="R=3"):
        PartitionedLangevin([torch.ones(2, 4, requires_grad=True)], ensemble_dim=0,
                            generators=[torch.Generator() for _ in range(3)])
    net = _net()
    with pytest.raises(ValueError, match="gamma1"):
        LOL(net, gamma1=-1.0)
    with pytest.raises(ValueError, match="tau2"):
        AdLaLa(net, tau2=-1.0)
    with pytest.raises(ValueError, match="gammas"):
        LaLa(net, gammas=[1.0, 2.0])
    with pytest.raises(ValueError, match="layer"):
        AdLaLa(nn.Linear(2, 1))
    with pytest.raises(ValueError, match="sigma"):
        SGLD([th], tau=1e-3, sigma=0.1)
    with pytest.raises(ValueError, match="sigma_per_step"):
        SGLD([th], tau=1e-3, sigma_per_step=True)
    opt = BAOAB([th])
    sd = copy.deepcopy(opt.state_dict())
    sd["param_groups"][0]["gamma"] = -1.0
    with pytest.raises(ValueError, match="gamma"):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["gamma"] == 0.1  # nothing was loaded


# --------------------------------------------------------------------------- noise only where it has a coefficient


@pytest.mark.parametrize("make", [
    lambda th, g: SGLD([th], lr=0.1, tau=0.0, generator=g),
    lambda th, g: BAOAB([th], lr=0.1, gamma=1.0, tau=0.0, generator=g),
    lambda th, g: OverdampedLangevin([th], lr=0.1, tau=0.0, generator=g),
    lambda th, g: AdaptiveLangevin([th], lr=0.1, sigma_A=0.0, generator=g),
], ids=["sgld", "baoab", "overdamped", "adaptive"])
def test_zero_noise_coefficient_draws_nothing(make):
    th = torch.tensor([0.5, -1.0], dtype=D, requires_grad=True)
    g = torch.Generator().manual_seed(3)
    before = g.get_state()
    opt = make(th, g)

    def closure():
        opt.zero_grad()
        loss = (th * th).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert torch.equal(g.get_state(), before)
    assert torch.isfinite(th).all()


def test_a_noiseless_group_leaves_the_other_groups_noise_unchanged():
    # AdLaLa with τ₂ = 0: the adaptive group's D noise is the whole stream, as if the Langevin group were absent.
    h, sA = 0.2, 0.3
    th1 = torch.tensor([0.3, -0.2, 0.5], dtype=D, requires_grad=True)
    th2 = torch.tensor([1.0, -1.0], dtype=D, requires_grad=True)
    opt = AdLaLa([[th1], [th2]], lr=h, gamma=0.7, tau1=0.05, tau2=0.0, sigma_A=sA, eps=0.0, xi0=0.0,
                 generator=torch.Generator().manual_seed(11))
    replay = torch.Generator().manual_seed(11)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (th1 * th1).sum() + 0.5 * (th2 * th2).sum()
        loss.backward()
        return loss

    closure()
    a = th1.detach().clone()
    pa = -0.5 * h * a
    for _ in range(3):
        noise = torch.empty(6, dtype=D).normal_(generator=replay)  # D½ and D½ of the 3 entries, nothing for O
        a = a + 0.5 * h * pa
        pa = pa + sA * math.sqrt(0.5 * h) * noise[:3]
        pa = pa + sA * math.sqrt(0.5 * h) * noise[3:]
        a = a + 0.5 * h * pa
        pa = pa - h * a
        opt.step(closure)
        torch.testing.assert_close(th1.detach(), a, rtol=0, atol=1e-14)
