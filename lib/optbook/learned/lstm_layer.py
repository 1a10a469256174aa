r"""One LSTM layer over many coordinates, with coordinates as columns and a hand-written backward.

The coordinatewise LSTM optimizer runs the same small LSTM on every scalar coordinate of the
optimizee: on the MNIST MLP that is 15,910 rows of a 20-unit cell. Written as
``nn.LSTMCell`` (rows = coordinates), every gate is a strided column slice of an [n, 80]
matrix and autograd records a dozen elementwise nodes per layer and step. Here a layer keeps
its state **transposed**, [hidden, n], so each gate is a contiguous block of rows, and it
walks the coordinates in column blocks small enough that a block's gates stay in the CPU's
cache. With weights in sigmoid form (the g-gate rows doubled, so tanh z = 2σ(2z) − 1 comes
from the same sigmoid as the other gates) one layer is

.. math::

    Z = W_{ih} X + W_{hh} H + b\,\mathbf 1^\top, \qquad
    S = \sigma(Z) = [\,i;\, f;\, s_g;\, o\,], \qquad g = 2 s_g - 1,

    C' = f \odot C + i \odot g, \qquad \tau = 2\sigma(2C') - 1 = \tanh C', \qquad H' = o \odot \tau,

and its backward, given the gradients :math:`\bar H'` and :math:`\bar C'_{\rm in}` of the
layer's two outputs, is

.. math::

    \bar C' = \bar C'_{\rm in} + \bar H' \odot o \odot (1 - \tau^2), \qquad
    \bar Z = [\,\bar C' \odot g;\; \bar C' \odot C;\; 2\,\bar C' \odot i;\; \bar H' \odot \tau\,]
             \odot S \odot (1 - S),

    \bar C = \bar C' \odot f, \quad \bar X = W_{ih}^\top \bar Z, \quad \bar H = W_{hh}^\top \bar Z, \quad
    \bar W_{ih} = \bar Z X^\top, \quad \bar W_{hh} = \bar Z H^\top, \quad \bar b = \bar Z \mathbf 1 .

The forward keeps S (one [4·hidden, block] tensor per block) and τ; nothing else of the
step's arithmetic is stored. Results equal ``nn.LSTMCell``'s to float rounding (tested, values
and gradients).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ["LSTMLayer", "lstm_layer"]

Weights = tuple[Tensor, Tensor, Tensor]


def _column_blocks(n: int, block: int | None) -> list[slice]:
    block = n if block is None else block
    return [slice(start, min(start + block, n)) for start in range(0, n, block)] or [slice(0, 0)]


def _forward_block(weights: Weights, x: Tensor, h: Tensor, c: Tensor, h_out: Tensor, c_out: Tensor,
                   tau_out: Tensor) -> Tensor:
    """One column block of the layer; writes H', C', τ into the given views and returns S."""
    weight_ih, weight_hh, bias = weights
    hidden = h.shape[0]
    gates = torch.addmm(torch.addmm(bias.unsqueeze(1), weight_ih, x), weight_hh, h).sigmoid_()
    i, f, s_g, o = gates.split(hidden)
    torch.mul(f, c, out=c_out).addcmul_(i, s_g.mul(2.0).sub_(1.0))
    torch.mul(c_out, 2.0, out=tau_out).sigmoid_().mul_(2.0).sub_(1.0)
    torch.mul(o, tau_out, out=h_out)
    return gates


def lstm_layer(weights: Weights, x: Tensor, h: Tensor, c: Tensor, block: int | None = 2048) -> tuple[Tensor, Tensor]:
    """(H', C') of one layer, all tensors [features, n]; no graph (for frozen nets)."""
    h_new, c_new, tau = torch.empty_like(h), torch.empty_like(c), torch.empty_like(c)
    for cols in _column_blocks(h.shape[1], block):
        _forward_block(weights, x[:, cols], h[:, cols], c[:, cols], h_new[:, cols], c_new[:, cols], tau[:, cols])
    return h_new, c_new


class LSTMLayer(torch.autograd.Function):
    """``LSTMLayer.apply(weight_ih, weight_hh, bias, x, h, c, block) -> (h', c')``, differentiable
    in every tensor argument (see the module docstring for the backward)."""

    @staticmethod
    def forward(ctx, weight_ih, weight_hh, bias, x, h, c, block):
        h_new, c_new, tau = torch.empty_like(h), torch.empty_like(c), torch.empty_like(c)
        blocks = _column_blocks(h.shape[1], block)
        ctx.gates = [
            _forward_block((weight_ih, weight_hh, bias), x[:, cols], h[:, cols], c[:, cols],
                           h_new[:, cols], c_new[:, cols], tau[:, cols])
            for cols in blocks
        ]
        ctx.blocks = blocks
        ctx.save_for_backward(weight_ih, weight_hh, x, h, c, tau)
        return h_new, c_new

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_h_new, grad_c_new):
        weight_ih, weight_hh, x, h, c, tau = ctx.saved_tensors
        need = ctx.needs_input_grad
        hidden = h.shape[0]
        grad_weight_ih = torch.zeros_like(weight_ih) if need[0] else None
        grad_weight_hh = torch.zeros_like(weight_hh) if need[1] else None
        grad_bias = torch.zeros(weight_ih.shape[0], dtype=h.dtype, device=h.device) if need[2] else None
        grad_x = torch.empty_like(x) if need[3] else None
        grad_h = torch.empty_like(h) if need[4] else None
        grad_c = torch.empty_like(c) if need[5] else None
        for cols, gates in zip(ctx.blocks, ctx.gates):
            i, f, s_g, o = gates.split(hidden)
            tau_b = tau[:, cols]
            grad_gates = torch.empty_like(gates)
            grad_i, grad_f, grad_g, grad_o = grad_gates.split(hidden)
            # Either output may have no gradient (e.g. a cell state nobody used): treat as zero.
            if grad_h_new is None:
                grad_o.zero_()
                grad_c_b = torch.zeros_like(tau_b)
            else:
                grad_h_b = grad_h_new[:, cols]
                torch.mul(grad_h_b, tau_b, out=grad_o)
                grad_c_b = tau_b.square().neg_().add_(1.0).mul_(o).mul_(grad_h_b)
            if grad_c_new is not None:
                grad_c_b.add_(grad_c_new[:, cols])
            torch.mul(s_g, 2.0, out=grad_i).sub_(1.0).mul_(grad_c_b)
            torch.mul(grad_c_b, c[:, cols], out=grad_f)
            torch.mul(grad_c_b, i, out=grad_g).mul_(2.0)
            grad_gates.mul_(gates).addcmul_(grad_gates, gates, value=-1.0)  # ⊙ S ⊙ (1 − S)
            if grad_c is not None:
                torch.mul(grad_c_b, f, out=grad_c[:, cols])
            if grad_weight_ih is not None:
                grad_weight_ih.addmm_(grad_gates, x[:, cols].t())
            if grad_weight_hh is not None:
                grad_weight_hh.addmm_(grad_gates, h[:, cols].t())
            if grad_bias is not None:
                grad_bias.add_(grad_gates.sum(1))
            if grad_x is not None:
                torch.mm(weight_ih.t(), grad_gates, out=grad_x[:, cols])
            if grad_h is not None:
                torch.mm(weight_hh.t(), grad_gates, out=grad_h[:, cols])
        return grad_weight_ih, grad_weight_hh, grad_bias, grad_x, grad_h, grad_c, None
