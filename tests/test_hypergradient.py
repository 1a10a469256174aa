"""Hypergradient-descent optimizers (Baydin et al. 2018): equations by hand, torch equivalence,
convergence, and torch.optim conformance (state_dict, groups, closure, arguments, ensembles)."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch

from optbook.optim import SGDHD, AdamHD, LRTransition
from optbook.optim import hypergradient

F64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These tensors are tiny: intra-op threads only add contention (10x slower on a busy 2-core box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=["reuse-buffers", "foreach"])
def kernel_path(request, monkeypatch):
    """Run a test on both code paths: out= into old buffers (the CPU's) and fresh foreach (the GPU's)."""
    if request.param == "foreach":
        monkeypatch.setattr(hypergradient, "_reuse_buffers", lambda p: False)
    return request.param

# ----------------------------------------------------------------------------- helpers

# the tiny quadratic f(θ) = ½ Σ a_i θ_i², so g = a ⊙ θ
A = [1.0, 3.0]
THETA0 = [1.0, -2.0]


def quadratic_run(opt_factory, steps, a=A, theta0=THETA0):
    """Run an optimizer on the quadratic; return [(θ after step t, α after step t)] for t = 1..steps."""
    theta = torch.tensor(theta0, dtype=F64, requires_grad=True)
    a_t = torch.tensor(a, dtype=F64)
    opt = opt_factory([theta])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (a_t * theta**2).sum()).backward()
        opt.step()
        out.append((theta.detach().tolist(), opt.param_groups[0]["lr"]))
    return out


def grad(theta, a=A):
    return [ai * ti for ai, ti in zip(a, theta)]


def dot(u, v):
    return sum(ui * vi for ui, vi in zip(u, v))


def norm(u):
    return math.sqrt(dot(u, u))


def assert_step(got, theta, alpha):
    got_theta, got_alpha = got
    assert got_theta == pytest.approx(theta, rel=1e-12, abs=1e-14)
    assert got_alpha == pytest.approx(alpha, rel=1e-12, abs=1e-15)


# ----------------------------------------------------------------------------- equations by hand


def test_sgd_hd_first_three_steps_by_hand():
    alpha0, beta = 0.1, 0.01
    got = quadratic_run(lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta), 3)

    th0 = THETA0
    g1 = grad(th0)  # (1, -6)
    alpha1 = alpha0  # d_0 = 0: no hypergradient at the first step
    th1 = [th0[0] - alpha1 * g1[0], th0[1] - alpha1 * g1[1]]  # (0.9, -1.4)
    d1 = g1
    assert_step(got[0], th1, alpha1)

    g2 = grad(th1)  # (0.9, -4.2)
    h2 = -(g2[0] * d1[0] + g2[1] * d1[1])  # ∂f/∂α = −g_2·g_1 = −26.1
    alpha2 = alpha1 - beta * h2  # 0.361
    assert alpha2 == pytest.approx(0.361)
    th2 = [th1[0] - alpha2 * g2[0], th1[1] - alpha2 * g2[1]]
    d2 = g2
    assert_step(got[1], th2, alpha2)

    g3 = grad(th2)
    h3 = -(g3[0] * d2[0] + g3[1] * d2[1])  # now positive: the last step overshot in θ_2
    assert h3 > 0
    alpha3 = alpha2 - beta * h3
    th3 = [th2[0] - alpha3 * g3[0], th2[1] - alpha3 * g3[1]]
    assert_step(got[2], th3, alpha3)


def test_sgdn_hd_uses_previous_full_nesterov_direction(kernel_path):
    alpha0, beta, mu = 0.05, 0.001, 0.9
    got = quadratic_run(lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta, momentum=mu, nesterov=True), 3)

    th0 = THETA0
    g1 = grad(th0)
    alpha1 = alpha0
    v1 = g1  # v_1 = g_1
    d1 = [g1[i] + mu * v1[i] for i in range(2)]  # d = g + μ v
    th1 = [th0[i] - alpha1 * d1[i] for i in range(2)]
    assert_step(got[0], th1, alpha1)

    g2 = grad(th1)
    h2 = -dot(g2, d1)  # the current gradient dotted with the previous full direction
    alpha2 = alpha1 - beta * h2
    v2 = [mu * v1[i] + g2[i] for i in range(2)]
    d2 = [g2[i] + mu * v2[i] for i in range(2)]
    th2 = [th1[i] - alpha2 * d2[i] for i in range(2)]
    assert_step(got[1], th2, alpha2)

    g3 = grad(th2)
    h3 = -dot(g3, d2)
    alpha3 = alpha2 - beta * h3
    v3 = [mu * v2[i] + g3[i] for i in range(2)]
    d3 = [g3[i] + mu * v3[i] for i in range(2)]
    th3 = [th2[i] - alpha3 * d3[i] for i in range(2)]
    assert_step(got[2], th3, alpha3)
    # and not with the previous gradient alone (the naive reading)
    assert alpha2 != pytest.approx(alpha1 - beta * -dot(g2, g1), rel=1e-6)


def test_sgd_hd_with_heavy_ball_momentum_uses_the_buffer_as_direction(kernel_path):
    alpha0, beta, mu = 0.05, 0.001, 0.5
    got = quadratic_run(lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta, momentum=mu), 2)
    g1 = grad(THETA0)
    v1 = g1
    th1 = [THETA0[i] - alpha0 * v1[i] for i in range(2)]
    g2 = grad(th1)
    alpha2 = alpha0 - beta * -dot(g2, v1)
    v2 = [mu * v1[i] + g2[i] for i in range(2)]
    th2 = [th1[i] - alpha2 * v2[i] for i in range(2)]
    assert_step(got[0], th1, alpha0)
    assert_step(got[1], th2, alpha2)


# Adam-HD on two tensors: x (2 elements, curvature A) and y (1 element, curvature 2)
X0, Y0, AY = [1.0, -2.0], [0.5], [2.0]
B1, B2, EPS = 0.9, 0.999, 1e-8


def two_tensor_adam_run(steps, **kwargs):
    x = torch.tensor(X0, dtype=F64, requires_grad=True)
    y = torch.tensor(Y0, dtype=F64, requires_grad=True)
    ax, ay = torch.tensor(A, dtype=F64), torch.tensor(AY, dtype=F64)
    opt = AdamHD([x, y], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (ax * x**2).sum() + 0.5 * (ay * y**2).sum()).backward()
        opt.step()
        out.append((x.detach().tolist(), y.detach().tolist(), opt.param_groups[0]["lr"]))
    return out


def adam_moments(m, v, g, t):
    """One coordinate-wise Adam moment update and the direction m̂/(√v̂+ε), written out."""
    m = [B1 * mi + (1 - B1) * gi for mi, gi in zip(m, g)]
    v = [B2 * vi + (1 - B2) * gi * gi for vi, gi in zip(v, g)]
    d = [(mi / (1 - B1**t)) / (math.sqrt(vi / (1 - B2**t)) + EPS) for mi, vi in zip(m, v)]
    return m, v, d


def test_adam_hd_first_three_steps_by_hand_global_alpha(kernel_path):
    alpha0, beta = 0.1, 0.01
    got = two_tensor_adam_run(3, lr=alpha0, hypergrad_lr=beta)

    # step 1: no hypergradient; Adam's first direction is sign(g) (up to ε)
    gx1, gy1 = grad(X0), grad(Y0, AY)
    mx, vx, dx1 = adam_moments([0.0, 0.0], [0.0, 0.0], gx1, 1)
    my, vy, dy1 = adam_moments([0.0], [0.0], gy1, 1)
    alpha1 = alpha0
    x1 = [X0[i] - alpha1 * dx1[i] for i in range(2)]
    y1 = [Y0[0] - alpha1 * dy1[0]]
    assert dx1 == pytest.approx([1.0, -1.0])
    # step 2: ONE α update with the hypergradient summed over both tensors, then both step
    gx2, gy2 = grad(x1), grad(y1, AY)
    h2 = -(dot(gx2, dx1) + dot(gy2, dy1))
    alpha2 = alpha1 - beta * h2
    mx, vx, dx2 = adam_moments(mx, vx, gx2, 2)
    my, vy, dy2 = adam_moments(my, vy, gy2, 2)
    x2 = [x1[i] - alpha2 * dx2[i] for i in range(2)]
    y2 = [y1[0] - alpha2 * dy2[0]]
    # step 3
    gx3, gy3 = grad(x2), grad(y2, AY)
    h3 = -(dot(gx3, dx2) + dot(gy3, dy2))
    alpha3 = alpha2 - beta * h3
    mx, vx, dx3 = adam_moments(mx, vx, gx3, 3)
    my, vy, dy3 = adam_moments(my, vy, gy3, 3)
    x3 = [x2[i] - alpha3 * dx3[i] for i in range(2)]
    y3 = [y2[0] - alpha3 * dy3[0]]

    for (gx, gy, ga), (ex, ey, ea) in zip(got, [(x1, y1, alpha1), (x2, y2, alpha2), (x3, y3, alpha3)]):
        assert gx == pytest.approx(ex, rel=1e-10, abs=1e-12)
        assert gy == pytest.approx(ey, rel=1e-10, abs=1e-12)
        assert ga == pytest.approx(ea, rel=1e-10, abs=1e-14)
    assert alpha2 != alpha1 and alpha3 != alpha2


def test_adam_hd_per_tensor_lr_update_reproduces_the_official_sequential_update():
    alpha0, beta = 0.1, 0.01
    default = two_tensor_adam_run(3, lr=alpha0, hypergrad_lr=beta)
    official = two_tensor_adam_run(3, lr=alpha0, hypergrad_lr=beta, per_tensor_lr_update=True)

    gx1, gy1 = grad(X0), grad(Y0, AY)
    mx, vx, dx1 = adam_moments([0.0, 0.0], [0.0, 0.0], gx1, 1)
    my, vy, dy1 = adam_moments([0.0], [0.0], gy1, 1)
    x1 = [X0[i] - alpha0 * dx1[i] for i in range(2)]
    y1 = [Y0[0] - alpha0 * dy1[0]]
    # step 2: tensor x moves α with its own contribution and steps with it; then y adds its own
    gx2, gy2 = grad(x1), grad(y1, AY)
    alpha_x2 = alpha0 - beta * -dot(gx2, dx1)
    alpha_y2 = alpha_x2 - beta * -dot(gy2, dy1)
    mx, vx, dx2 = adam_moments(mx, vx, gx2, 2)
    my, vy, dy2 = adam_moments(my, vy, gy2, 2)
    x2 = [x1[i] - alpha_x2 * dx2[i] for i in range(2)]
    y2 = [y1[0] - alpha_y2 * dy2[0]]
    # step 3
    gx3, gy3 = grad(x2), grad(y2, AY)
    alpha_x3 = alpha_y2 - beta * -dot(gx3, dx2)
    alpha_y3 = alpha_x3 - beta * -dot(gy3, dy2)
    mx, vx, dx3 = adam_moments(mx, vx, gx3, 3)
    my, vy, dy3 = adam_moments(my, vy, gy3, 3)
    x3 = [x2[i] - alpha_x3 * dx3[i] for i in range(2)]
    y3 = [y2[0] - alpha_y3 * dy3[0]]

    for (gx, gy, ga), (ex, ey, ea) in zip(official, [(x1, y1, alpha0), (x2, y2, alpha_y2), (x3, y3, alpha_y3)]):
        assert gx == pytest.approx(ex, rel=1e-10, abs=1e-12)
        assert gy == pytest.approx(ey, rel=1e-10, abs=1e-12)
        assert ga == pytest.approx(ea, rel=1e-10, abs=1e-14)

    # the way it differs from the paper's math at step 2: the first tensor steps with a partially
    # updated α, the last tensor sees the same α as the global update, and the final α agrees
    assert official[0] == default[0]
    assert official[1][0] != pytest.approx(default[1][0], rel=1e-9)
    assert official[1][1] == pytest.approx(default[1][1], rel=1e-12)
    assert official[1][2] == pytest.approx(default[1][2], rel=1e-12)
    assert official[2][0] != pytest.approx(default[2][0], rel=1e-9)


def test_lr_optimizer_sgdn_nesterov_momentum_on_the_hypergradient_by_hand():
    alpha0, beta, mu_h = 0.05, 0.001, 0.9
    got = quadratic_run(lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta, lr_optimizer="sgdn", lr_momentum=mu_h), 4)

    g1 = grad(THETA0)
    th1 = [THETA0[i] - alpha0 * g1[i] for i in range(2)]  # step 1: no hypergradient, buffer untouched
    assert_step(got[0], th1, alpha0)
    g2 = grad(th1)
    h2 = -dot(g2, g1)
    b2 = mu_h * 0.0 + h2
    alpha2 = alpha0 - beta * (h2 + mu_h * b2)
    th2 = [th1[i] - alpha2 * g2[i] for i in range(2)]
    assert_step(got[1], th2, alpha2)
    g3 = grad(th2)
    h3 = -dot(g3, g2)
    b3 = mu_h * b2 + h3
    alpha3 = alpha2 - beta * (h3 + mu_h * b3)
    th3 = [th2[i] - alpha3 * g3[i] for i in range(2)]
    assert_step(got[2], th3, alpha3)
    g4 = grad(th3)
    h4 = -dot(g4, g3)
    b4 = mu_h * b3 + h4
    alpha4 = alpha3 - beta * (h4 + mu_h * b4)
    th4 = [th3[i] - alpha4 * g4[i] for i in range(2)]
    assert_step(got[3], th4, alpha4)


def test_lr_optimizer_adam_counts_hypergradients_not_steps():
    alpha0, beta, b1, b2, eps = 0.05, 0.01, 0.9, 0.999, 1e-8
    got = quadratic_run(lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta, lr_optimizer="adam"), 3)

    g1 = grad(THETA0)
    th1 = [THETA0[i] - alpha0 * g1[i] for i in range(2)]
    assert_step(got[0], th1, alpha0)
    # step 2 brings the FIRST hypergradient: bias corrections with n = 1
    g2 = grad(th1)
    h2 = -dot(g2, g1)
    m2 = (1 - b1) * h2
    v2 = (1 - b2) * h2 * h2
    alpha2 = alpha0 - beta * math.sqrt(1 - b2**1) / (1 - b1**1) * m2 / (math.sqrt(v2) + eps)
    assert alpha2 == pytest.approx(alpha0 + beta, rel=1e-6)  # the first Adam step is ≈ β·sign
    th2 = [th1[i] - alpha2 * g2[i] for i in range(2)]
    assert_step(got[1], th2, alpha2)
    g3 = grad(th2)
    h3 = -dot(g3, g2)
    m3 = b1 * m2 + (1 - b1) * h3
    v3 = b2 * v2 + (1 - b2) * h3 * h3
    alpha3 = alpha2 - beta * math.sqrt(1 - b2**2) / (1 - b1**2) * m3 / (math.sqrt(v3) + eps)
    th3 = [th2[i] - alpha3 * g3[i] for i in range(2)]
    assert_step(got[2], th3, alpha3)
    # the variants' code counts from the global step (n = 2 at step 2); we do not
    alpha2_variants = alpha0 - beta * math.sqrt(1 - b2**2) / (1 - b1**2) * m2 / (math.sqrt(v2) + eps)
    assert got[1][1] != pytest.approx(alpha2_variants, rel=1e-6)


def test_multiplicative_rule_hdm_eq8_by_hand():
    alpha0, beta = 0.05, 0.02
    got = quadratic_run(lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta, rule="multiplicative"), 3)
    g1 = grad(THETA0)
    th1 = [THETA0[i] - alpha0 * g1[i] for i in range(2)]
    g2 = grad(th1)
    h2 = -dot(g2, g1)
    alpha2 = alpha0 * (1 - beta * h2 / (norm(g2) * norm(g1)))  # Eq. 8, ∇_α u_1 = −g_1
    th2 = [th1[i] - alpha2 * g2[i] for i in range(2)]
    g3 = grad(th2)
    h3 = -dot(g3, g2)
    alpha3 = alpha2 * (1 - beta * h3 / (norm(g3) * norm(g2)))
    th3 = [th2[i] - alpha3 * g3[i] for i in range(2)]
    assert_step(got[0], th1, alpha0)
    assert_step(got[1], th2, alpha2)
    assert_step(got[2], th3, alpha3)


def test_multiplicative_rule_leaves_alpha_alone_on_zero_gradient():
    theta = torch.zeros(2, dtype=F64, requires_grad=True)
    opt = SGDHD([theta], lr=0.1, hypergrad_lr=0.02, rule="multiplicative")
    for _ in range(3):
        theta.grad = torch.zeros(2, dtype=F64)
        opt.step()
    assert opt.param_groups[0]["lr"] == 0.1


def test_transition_to_a_fixed_rate_by_hand():
    alpha0, beta, alpha_inf = 0.1, 0.01, 0.02
    got = quadratic_run(
        lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=beta, transition={"alpha_inf": alpha_inf}), 3
    )
    g1 = grad(THETA0)
    gamma1 = 1.0 * alpha0 + 0.0 * alpha_inf  # δ(1) = 1
    th1 = [THETA0[i] - gamma1 * g1[i] for i in range(2)]
    g2 = grad(th1)
    alpha2 = alpha0 - beta * -dot(g2, g1)  # α keeps adapting as in plain HD
    gamma2 = (1 / 4) * alpha2 + (3 / 4) * alpha_inf  # δ(2) = 1/4
    th2 = [th1[i] - gamma2 * g2[i] for i in range(2)]
    g3 = grad(th2)
    alpha3 = alpha2 - beta * -dot(g3, g2)
    gamma3 = (1 / 9) * alpha3 + (8 / 9) * alpha_inf
    th3 = [th2[i] - gamma3 * g3[i] for i in range(2)]
    assert_step(got[0], th1, alpha0)
    assert_step(got[1], th2, alpha2)
    assert_step(got[2], th3, alpha3)

    # a slower hand-over, given as the dataclass: δ(t) = 1/(1 + (t−1)/τ)², so δ(3) = 1/4 at τ = 2;
    # step_size() reports γ_t
    theta = torch.tensor(THETA0, dtype=F64, requires_grad=True)
    opt = SGDHD([theta], lr=alpha0, hypergrad_lr=0.0, transition=LRTransition(0.5, tau=2.0))
    for _ in range(3):
        theta.grad = torch.ones(2, dtype=F64)
        opt.step()
    assert opt.step_size() == pytest.approx(0.25 * alpha0 + 0.75 * 0.5)


# ----------------------------------------------------------------------------- equivalence with torch


def small_mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def batches(n, seed=1, size=32):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 6, generator=g), torch.randint(0, 3, (size,), generator=g)) for _ in range(n)]


def train(model, opt, data):
    for x, y in data:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda p: SGDHD(p, lr=0.05, hypergrad_lr=0.0, weight_decay=1e-3),
         lambda p: torch.optim.SGD(p, lr=0.05, weight_decay=1e-3)),
        (lambda p: SGDHD(p, lr=0.05, hypergrad_lr=0.0, momentum=0.9, nesterov=True, weight_decay=1e-3),
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
        (lambda p: SGDHD(p, lr=0.05, hypergrad_lr=0.0, momentum=0.9),
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
        (lambda p: AdamHD(p, lr=0.01, hypergrad_lr=0.0, weight_decay=1e-3),
         lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-3)),
    ],
    ids=["sgd", "sgdn", "heavy-ball", "adam"],
)
def test_zero_hypergrad_lr_equals_torch_optimizer_step_for_step(ours, theirs, kernel_path):
    data = batches(20)
    m1, m2 = small_mlp(), small_mlp()
    o1, o2 = ours(m1.parameters()), theirs(m2.parameters())
    for x, y in data:
        for m, o in ((m1, o1), (m2, o2)):
            o.zero_grad()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            o.step()
        for p1, p2 in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(p1, p2, rtol=1e-6, atol=1e-7)
    assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]
    # p.grad is not modified by the weight decay
    x, y = data[0]
    o1.zero_grad()
    torch.nn.functional.cross_entropy(m1(x), y).backward()
    before = [p.grad.clone() for p in m1.parameters()]
    o1.step()
    assert all(torch.equal(b, p.grad) for b, p in zip(before, m1.parameters()))


# ----------------------------------------------------------------------------- convergence


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def test_sgd_hd_beats_sgd_on_rosenbrock_from_a_small_alpha():
    alpha0, steps = 1e-5, 1000
    final = {}
    for name, make in [
        ("sgd", lambda p: torch.optim.SGD(p, lr=alpha0)),
        ("hd", lambda p: SGDHD(p, lr=alpha0, hypergrad_lr=1e-7)),
    ]:
        p = torch.tensor([-1.2, 1.0], dtype=F64, requires_grad=True)
        opt = make([p])
        for _ in range(steps):
            opt.zero_grad()
            rosenbrock(p).backward()
            opt.step()
        final[name] = (rosenbrock(p).item(), opt.param_groups[0]["lr"])
    assert final["hd"][0] < 0.1 * final["sgd"][0]
    assert final["hd"][0] < 0.1
    assert final["hd"][1] > 10 * alpha0  # α grew


def test_sgd_hd_beats_sgd_on_logistic_regression():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 10, generator=g)
    w = torch.randn(10, generator=g)
    y = (X @ w + 0.5 * torch.randn(512, generator=g) > 0).float()
    alpha0 = 1e-3
    final = {}
    for name, make in [
        ("sgd", lambda ps: torch.optim.SGD(ps, lr=alpha0)),
        ("hd", lambda ps: SGDHD(ps, lr=alpha0, hypergrad_lr=1e-3)),
    ]:
        lin = torch.nn.Linear(10, 1)
        torch.nn.init.zeros_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        opt = make(lin.parameters())
        gb = torch.Generator().manual_seed(1)
        for _ in range(200):
            idx = torch.randint(0, 512, (64,), generator=gb)
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(lin(X[idx]).squeeze(1), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            loss = torch.nn.functional.binary_cross_entropy_with_logits(lin(X).squeeze(1), y).item()
        final[name] = (loss, opt.param_groups[0]["lr"])
    assert final["hd"][0] < final["sgd"][0] - 0.1
    assert final["hd"][1] > 5 * alpha0


# ----------------------------------------------------------------------------- conformance

CONFIGS = {
    "sgd-hd": lambda p: SGDHD(p, lr=0.05, hypergrad_lr=0.01, weight_decay=1e-4),
    "sgdn-hd-sgdnlop": lambda p: SGDHD(
        p, lr=0.05, hypergrad_lr=0.01, momentum=0.9, nesterov=True, lr_optimizer="sgdn"
    ),
    "heavy-ball-adamlop": lambda p: SGDHD(p, lr=0.05, hypergrad_lr=0.001, momentum=0.5, lr_optimizer="adam"),
    "hdm-transition": lambda p: SGDHD(
        p, lr=0.05, hypergrad_lr=0.02, rule="multiplicative", transition={"alpha_inf": 0.01}
    ),
    "adam-hd": lambda p: AdamHD(p, lr=0.01, hypergrad_lr=1e-3, weight_decay=1e-4),
    "adam-adamlop": lambda p: AdamHD(p, lr=0.01, hypergrad_lr=1e-4, lr_optimizer="adam"),
    "adam-per-tensor-sgdnlop": lambda p: AdamHD(
        p, lr=0.01, hypergrad_lr=1e-3, per_tensor_lr_update=True, lr_optimizer="sgdn"
    ),
}


def snapshot(model, opt):
    return [p.detach().clone() for p in model.parameters()], [copy.deepcopy(g["lr"]) for g in opt.param_groups]


def same(a, b):
    (pa, la), (pb, lb) = a, b
    return all(torch.equal(x, y) for x, y in zip(pa, pb)) and all(
        torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y for x, y in zip(la, lb)
    )


@pytest.mark.parametrize("config", list(CONFIGS))
def test_state_dict_round_trip_continues_identically(config, kernel_path):
    make = CONFIGS[config]
    data = batches(15, seed=3)
    model = small_mlp()
    opt = make(model.parameters())
    train(model, opt, data[:5])
    saved = copy.deepcopy(opt.state_dict())
    twin = copy.deepcopy(model)
    twin_opt = make(twin.parameters())
    twin_opt.load_state_dict(saved)
    fresh = copy.deepcopy(model)
    fresh_opt = make(fresh.parameters())  # no state loaded: must diverge, or the test proves nothing
    for x, y in data[5:]:
        train(model, opt, [(x, y)])
        train(twin, twin_opt, [(x, y)])
        train(fresh, fresh_opt, [(x, y)])
        assert same(snapshot(model, opt), snapshot(twin, twin_opt))
    assert not same(snapshot(model, opt), snapshot(fresh, fresh_opt))
    lr = opt.param_groups[0]["lr"]
    assert isinstance(lr, float) and lr != pytest.approx(twin_opt.defaults["lr"], rel=1e-9)


def test_state_dict_survives_torch_save_with_weights_only_load():
    model = small_mlp()
    opt = SGDHD(model.parameters(), lr=0.05, hypergrad_lr=0.01, lr_optimizer="adam", ensemble_dim=None)
    train(model, opt, batches(4))
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    twin = SGDHD(copy.deepcopy(model).parameters(), lr=0.05, hypergrad_lr=0.01, lr_optimizer="adam")
    twin.load_state_dict(loaded)
    assert twin.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    hyper = twin.state[twin.param_groups[0]["params"][0]]
    assert hyper["hd_lr_count"] == 3 and hyper["hd_step"] == 4


def test_each_param_group_has_its_own_learning_rate():
    data = batches(10, seed=5)
    model = small_mlp()
    first, second = model[0], model[2]
    opt = SGDHD(
        [{"params": first.parameters()}, {"params": second.parameters(), "lr": 0.02, "hypergrad_lr": 0.05}],
        lr=0.05, hypergrad_lr=0.01, momentum=0.9, nesterov=True,
    )
    twin = copy.deepcopy(model)
    separate = [
        SGDHD(twin[0].parameters(), lr=0.05, hypergrad_lr=0.01, momentum=0.9, nesterov=True),
        SGDHD(twin[2].parameters(), lr=0.02, hypergrad_lr=0.05, momentum=0.9, nesterov=True),
    ]
    for x, y in data:
        opt.zero_grad()
        for o in separate:
            o.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        torch.nn.functional.cross_entropy(twin(x), y).backward()
        opt.step()
        for o in separate:
            o.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs == [separate[0].param_groups[0]["lr"], separate[1].param_groups[0]["lr"]]
    assert lrs[0] != 0.05 and lrs[1] != 0.02 and lrs[0] != lrs[1]


def test_closure_is_evaluated_with_grad_and_its_loss_returned():
    model = small_mlp()
    twin = copy.deepcopy(model)
    x, y = batches(1)[0]
    opt = AdamHD(model.parameters(), lr=0.01)
    twin_opt = AdamHD(twin.parameters(), lr=0.01)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    with torch.no_grad():  # step must enable grad for the closure itself
        loss = opt.step(closure)
    expected = torch.nn.functional.cross_entropy(twin(x), y)
    expected.backward()
    twin_opt.step()
    assert loss.item() == pytest.approx(expected.item())
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)
    assert opt.step() is None


def test_params_without_grad_are_skipped():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = SGDHD([a, b], lr=0.1, hypergrad_lr=0.1)
    for _ in range(3):
        a.grad = torch.full((3,), 0.5)
        opt.step()
    assert torch.equal(b, torch.ones(2)) and "hd_direction" not in opt.state[b]
    # h = −(0.5·0.5·3) = −0.75 from step 2 on: α = 0.1, 0.175, 0.25
    assert torch.allclose(a, torch.ones(3) - 0.1 * 0.5 - 0.175 * 0.5 - 0.25 * 0.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25)


BAD_ARGS = [
    (SGDHD, dict(lr=float("nan")), "lr"),
    (SGDHD, dict(lr=float("inf")), "lr"),
    (SGDHD, dict(lr=[0.1, 0.2]), "lr"),
    (SGDHD, dict(hypergrad_lr=-1e-3), "hypergrad_lr"),
    (SGDHD, dict(momentum=1.0), "momentum"),
    (SGDHD, dict(momentum=-0.1), "momentum"),
    (SGDHD, dict(nesterov=True), "nesterov"),
    (SGDHD, dict(weight_decay=-1e-4), "weight_decay"),
    (SGDHD, dict(lr_optimizer="rmsprop"), "lr_optimizer"),
    (SGDHD, dict(rule="exponential"), "rule"),
    (SGDHD, dict(rule="multiplicative", lr_optimizer="adam"), "lr_optimizer"),
    (SGDHD, dict(lr_momentum=1.0), "lr_momentum"),
    (SGDHD, dict(lr_betas=(0.9, 1.0)), "lr_betas"),
    (SGDHD, dict(lr_betas=(0.9,)), "lr_betas"),
    (SGDHD, dict(lr_eps=0.0), "lr_eps"),
    (SGDHD, dict(ensemble_dim=-1), "ensemble_dim"),
    (SGDHD, dict(ensemble_dim=3), "ensemble_dim"),
    (SGDHD, dict(transition={"alpha_inf": float("nan")}), "transition"),
    (SGDHD, dict(transition={"alpha": 0.1}), "transition"),
    (SGDHD, dict(transition={"alpha_inf": 0.1, "delta": 2.0}), "transition"),
    (SGDHD, dict(transition={"alpha_inf": 0.1, "tau": 0.0}), "transition"),
    (AdamHD, dict(betas=(1.0, 0.999)), "betas"),
    (AdamHD, dict(betas=(0.9, -0.1)), "betas"),
    (AdamHD, dict(eps=0.0), "eps"),
    (AdamHD, dict(hypergrad_lr=-1.0), "hypergrad_lr"),
    (AdamHD, dict(per_tensor_lr_update=True, rule="multiplicative"), "rule"),
    (AdamHD, dict(per_tensor_lr_update=1), "per_tensor_lr_update"),
]


@pytest.mark.parametrize(
    "cls, kwargs, name", BAD_ARGS, ids=[f"{c.__name__}-{n}-{i}" for i, (c, _, n) in enumerate(BAD_ARGS)]
)
def test_bad_argument_raises_value_error_naming_it(cls, kwargs, name):
    params = [torch.zeros(3, 2, requires_grad=True)]
    with pytest.raises(ValueError) as info:
        cls(params, **kwargs)
    message = str(info.value)
    assert f"{name}=" in message or f"{name}[" in message
    assert "allowed" in message


def test_bad_group_and_ensemble_arguments():
    p = torch.zeros(3, 2, requires_grad=True)
    opt = SGDHD([p])
    with pytest.raises(ValueError, match="momentum=2"):
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "momentum": 2.0})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match=r"ensemble_dim=0.*sizes \[3, 4\]"):
        SGDHD([torch.zeros(3, 2), torch.zeros(4)], ensemble_dim=0)
    with pytest.raises(ValueError, match=r"lr=.*R=3"):
        SGDHD([torch.zeros(3, 2)], lr=[0.1, 0.2], ensemble_dim=0)


# ----------------------------------------------------------------------------- ensembles

R, IN, HID = 3, 4, 5


def ensemble_loss(W1, b1, W2, x, y):
    """Per-run tiny MLP on per-run data: params carry the run dimension first."""
    h = torch.tanh(torch.einsum("rhi,rni->rnh", W1, x) + b1[:, None, :])
    out = torch.einsum("roh,rnh->rno", W2, h).squeeze(-1)
    return ((out - y) ** 2).mean(dim=1)  # [R]


ENSEMBLE_CONFIGS = {
    "sgd-hd": (SGDHD, dict(hypergrad_lr=0.05)),
    "sgdn-hd-sgdnlop": (
        SGDHD, dict(hypergrad_lr=0.01, momentum=0.9, nesterov=True, lr_optimizer="sgdn", weight_decay=1e-3)
    ),
    "hdm-transition": (SGDHD, dict(hypergrad_lr=0.02, rule="multiplicative", transition={"alpha_inf": 0.03})),
    "adam-adamlop": (AdamHD, dict(hypergrad_lr=1e-3, lr_optimizer="adam")),
    "adam-hd": (AdamHD, dict(hypergrad_lr=1e-2, weight_decay=1e-3)),
    "adam-per-tensor": (AdamHD, dict(hypergrad_lr=1e-2, per_tensor_lr_update=True)),
}


@pytest.mark.parametrize("config", list(ENSEMBLE_CONFIGS))
def test_ensemble_of_three_runs_equals_three_separate_runs(config, kernel_path):
    cls, kwargs = ENSEMBLE_CONFIGS[config]
    lrs = [0.02, 0.05, 0.1]
    # float64, so that the comparison is tight: in float32 the runs agree to ~1e-5 only, because
    # batched and single matmuls round differently and momentum on α amplifies it
    g = torch.Generator().manual_seed(7)
    W1 = torch.randn(R, HID, IN, generator=g, dtype=F64) * 0.5
    b1 = torch.randn(R, HID, generator=g, dtype=F64) * 0.1
    W2 = torch.randn(R, 1, HID, generator=g, dtype=F64) * 0.5
    data = [
        (torch.randn(R, 16, IN, generator=g, dtype=F64), torch.randn(R, 16, generator=g, dtype=F64))
        for _ in range(12)
    ]

    ens = [t.clone().requires_grad_() for t in (W1, b1, W2)]
    ens_opt = cls(ens, lr=lrs, ensemble_dim=0, **kwargs)
    singles = [[t[r].clone().requires_grad_() for t in (W1, b1, W2)] for r in range(R)]
    single_opts = [cls(s, lr=lrs[r], **kwargs) for r, s in enumerate(singles)]

    for x, y in data:
        ens_opt.zero_grad()
        ensemble_loss(*ens, x, y).sum().backward()
        ens_opt.step()
        for r in range(R):
            single_opts[r].zero_grad()
            ensemble_loss(*(t[None] for t in singles[r]), x[r : r + 1], y[r : r + 1]).sum().backward()
            single_opts[r].step()
        alpha = ens_opt.param_groups[0]["lr"]
        assert alpha.shape == (R,) and alpha.dtype == torch.float64
        for r in range(R):
            assert alpha[r].item() == pytest.approx(single_opts[r].param_groups[0]["lr"], rel=1e-12, abs=1e-15)
            for e, s in zip(ens, singles[r]):
                torch.testing.assert_close(e[r], s, rtol=1e-12, atol=1e-14)
    # each run followed its own α trajectory, away from its start
    final = ens_opt.param_groups[0]["lr"].tolist()
    assert all(f != pytest.approx(l, rel=1e-3) for f, l in zip(final, lrs))


def test_ensemble_dim_other_than_zero_and_state_round_trip():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(4, R, 2, generator=g)  # run dimension at position 1
    target = torch.randn(4, R, 2, generator=g)
    curv = torch.rand(4, R, 2, generator=g) + 0.5

    def run(opt_params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            (0.5 * curv * (opt_params[0] - target) ** 2).sum().backward()
            opt.step()

    p1 = [W.clone().requires_grad_()]
    o1 = SGDHD(p1, lr=[0.01, 0.1, 0.3], hypergrad_lr=[0.0, 0.01, 0.02], momentum=0.9, nesterov=True,
               lr_optimizer="sgdn", ensemble_dim=1)
    p0 = [W.transpose(0, 1).contiguous().requires_grad_()]  # same runs with the run dimension first
    o0 = SGDHD(p0, lr=[0.01, 0.1, 0.3], hypergrad_lr=[0.0, 0.01, 0.02], momentum=0.9, nesterov=True,
               lr_optimizer="sgdn", ensemble_dim=0)
    curv0, target0 = curv.transpose(0, 1), target.transpose(0, 1)
    for _ in range(6):
        for params, opt, c, tg in ((p1, o1, curv, target), (p0, o0, curv0, target0)):
            opt.zero_grad()
            (0.5 * c * (params[0] - tg) ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(p1[0].transpose(0, 1), p0[0], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(o1.param_groups[0]["lr"], o0.param_groups[0]["lr"], rtol=1e-9, atol=1e-12)
    assert o1.param_groups[0]["lr"][0].item() == 0.01  # β = 0 for run 0: α fixed

    saved = copy.deepcopy(o1.state_dict())
    twin = [p1[0].detach().clone().requires_grad_()]
    o2 = SGDHD(twin, lr=0.5, hypergrad_lr=[0.0, 0.01, 0.02], momentum=0.9, nesterov=True, lr_optimizer="sgdn",
               ensemble_dim=1)
    o2.load_state_dict(saved)
    run(p1, o1, 5)
    run(twin, o2, 5)
    assert torch.equal(p1[0], twin[0])
    assert torch.equal(o1.param_groups[0]["lr"], o2.param_groups[0]["lr"])
