"""Every optimizer of the library against torch's own optimizer contract.

The checks PyTorch's ``test/test_optim.py`` makes of ``torch.optim``, for each of our classes:
a deepcopy and a pickled copy keep the public attributes and continue exactly as the original;
``state_dict()`` after ``load_state_dict()`` is the state_dict that was loaded and survives
``torch.save``/``torch.load`` with torch's defaults (``weights_only=True``); the optimizer prints; complex parameters are either optimized
as their real and imaginary parts (``torch.view_as_real``, torch's convention) or refused with a
``ValueError`` that says so.
"""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from torch import nn

from optbook.learned import CoordinatewiseLSTM, LearnedOptimizer
from optbook.optim import (
    BAOAB,
    LOL,
    SGDHD,
    LRTransition,
    SGLD,
    AdamHD,
    AdaptiveLangevin,
    AdLaLa,
    LaLa,
    OverdampedLangevin,
)

D = torch.float64


def _generator():
    return torch.Generator().manual_seed(11)


def _lstm():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        return CoordinatewiseLSTM(hidden=4, layers=1, output_scale=0.1).to(D)


# name -> (build(model) -> optimizer). Langevin samplers get their own generator so that a copy
# (which copies the generator) draws the same numbers as the original.
OPTIMIZERS = {
    "SGDHD": lambda m: SGDHD(m.parameters(), lr=0.05, hypergrad_lr=0.01),
    "SGDN-HD, lr-optimizer adam": lambda m: SGDHD(
        m.parameters(), lr=0.05, momentum=0.9, nesterov=True, lr_optimizer="adam"
    ),
    "SGDHD, §5 transition": lambda m: SGDHD(m.parameters(), lr=0.05, transition=LRTransition(0.02, tau=3.0)),
    "AdamHD": lambda m: AdamHD(m.parameters(), lr=0.01, hypergrad_lr=1e-4),
    "AdamHD, §5 transition": lambda m: AdamHD(m.parameters(), lr=0.01, transition={"alpha_inf": 0.005}),
    "AdamHD per tensor, lr-optimizer sgdn": lambda m: AdamHD(
        m.parameters(), lr=0.01, per_tensor_lr_update=True, lr_optimizer="sgdn"
    ),
    "SGLD": lambda m: SGLD(m.parameters(), lr=0.05, sigma=0.1, generator=_generator()),
    "OverdampedLangevin": lambda m: OverdampedLangevin(m.parameters(), lr=0.1, tau=1e-3, generator=_generator()),
    "BAOAB": lambda m: BAOAB(m.parameters(), lr=0.1, tau=1e-3, generator=_generator()),
    "AdaptiveLangevin": lambda m: AdaptiveLangevin(m.parameters(), lr=0.1, generator=_generator()),
    "AdLaLa": lambda m: AdLaLa(m, lr=0.1, generator=_generator()),
    "LOL": lambda m: LOL(m, lr=0.1, generator=_generator()),
    "LaLa": lambda m: LaLa(m, lr=0.1, gammas=[0.1, 1.0], generator=_generator()),
    "LearnedOptimizer": lambda m: LearnedOptimizer(m.parameters(), net=_lstm()),
}
NAMES = list(OPTIMIZERS)
# The optimizers that refuse complex parameters (LearnedOptimizer optimizes them instead).
REFUSE_COMPLEX = {
    "SGDHD": lambda ps: SGDHD(ps), "AdamHD": lambda ps: AdamHD(ps), "SGLD": lambda ps: SGLD(ps),
    "OverdampedLangevin": lambda ps: OverdampedLangevin(ps), "BAOAB": lambda ps: BAOAB(ps),
    "AdaptiveLangevin": lambda ps: AdaptiveLangevin(ps),
}


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(D)


def _data():
    g = torch.Generator().manual_seed(3)
    return torch.randn(12, 3, generator=g, dtype=D), torch.randn(12, 1, generator=g, dtype=D)


def _closure(model, optimizer):
    x, y = _data()

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    return closure


def _run(model, optimizer, steps):
    for _ in range(steps):
        optimizer.step(_closure(model, optimizer))
    return [p.detach().clone() for p in model.parameters()]


def _public(obj):
    return {k for k in obj.__dict__ if not k.startswith("_")}


def _assert_same_state_dict(a, b):
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for key in a["state"]:
        _assert_equal(a["state"][key], b["state"][key])
    assert a.keys() == b.keys()


def _assert_equal(x, y):
    if isinstance(x, torch.Tensor):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    elif isinstance(x, dict):
        assert x.keys() == y.keys()
        for k in x:
            _assert_equal(x[k], y[k])
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            _assert_equal(u, v)
    else:
        assert x == y


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_keeps_public_attributes_and_continues_identically(name, how):
    model = _model()
    optimizer = OPTIMIZERS[name](model)
    _run(model, optimizer, 3)
    if how == "deepcopy":
        model2, optimizer2 = copy.deepcopy((model, optimizer))
    else:
        model2, optimizer2 = pickle.loads(pickle.dumps((model, optimizer)))
    assert _public(optimizer2) == _public(optimizer)
    _assert_same_state_dict(optimizer2.state_dict(), optimizer.state_dict())
    expected = _run(model, optimizer, 3)
    for a, b in zip(expected, _run(model2, optimizer2, 3)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_after_load_is_the_loaded_one(name):
    model = _model()
    optimizer = OPTIMIZERS[name](model)
    _run(model, optimizer, 3)
    saved = optimizer.state_dict()
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    buffer.seek(0)
    reloaded = torch.load(buffer)  # the defaults a user gets: weights_only=True since torch 2.6
    fresh = OPTIMIZERS[name](model)
    fresh.load_state_dict(reloaded)
    _assert_same_state_dict(fresh.state_dict(), saved)
    fresh.load_state_dict(fresh.state_dict())  # twice: nothing accumulates (torch adds keys on load)
    _assert_same_state_dict(fresh.state_dict(), saved)


@pytest.mark.parametrize("name", NAMES)
def test_optimizer_prints(name):
    text = repr(OPTIMIZERS[name](_model()))
    assert "Parameter Group 0" in text


@pytest.mark.parametrize("name", list(REFUSE_COMPLEX))
def test_complex_parameters_are_refused_by_name(name):
    real = nn.Parameter(torch.randn(3, dtype=D))
    weight = nn.Parameter(torch.randn(2, 2, dtype=torch.complex128))
    with pytest.raises(ValueError, match=r"parameter 1 of param group 0 is complex .*real floating-point"):
        REFUSE_COMPLEX[name]([real, weight])


def test_partitioned_samplers_refuse_complex_layers():
    layers = [[nn.Parameter(torch.randn(2, 2, dtype=D))], [nn.Parameter(torch.randn(2, dtype=torch.complex64))]]
    with pytest.raises(ValueError, match="param group 1 is complex"):
        AdLaLa(layers)


def test_learned_optimizer_treats_a_complex_parameter_as_its_real_and_imaginary_parts():
    """torch.optim's convention (its test_complex): optimizing z equals optimizing view_as_real(z)."""
    torch.manual_seed(1)
    start = torch.randn(3, 2, dtype=torch.complex128)
    target = torch.randn(3, 2, dtype=torch.complex128)
    z = nn.Parameter(start.clone())
    r = nn.Parameter(torch.view_as_real(start).clone())
    opt_z = LearnedOptimizer([z], net=_lstm())
    opt_r = LearnedOptimizer([r], net=_lstm())
    for _ in range(4):
        for param, opt, loss_of in (
            (z, opt_z, lambda: (z - target).abs().pow(2).sum()),
            (r, opt_r, lambda: (torch.view_as_complex(r) - target).abs().pow(2).sum()),
        ):
            opt.zero_grad()
            loss_of().backward()
            opt.step()
    torch.testing.assert_close(torch.view_as_real(z.detach()), r.detach(), rtol=0, atol=0)
    assert not torch.equal(z.detach(), start)  # it moved, imaginary part included
    assert not torch.equal(z.detach().imag, start.imag)
