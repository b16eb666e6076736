"""Rprop: resilient backpropagation (per-element step sizes driven by gradient signs)."""

from __future__ import annotations

from ember.backend import array_module
from ember.ops.creation import full_like, zeros_like
from ember.optim.optimizer import Optimizer, _check_lr, _step_tensor, _value, _view

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop, as ``torch.optim.Rprop`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: initial step size (default 1e-2).
        etas: (etaminus, etaplus), the factors that shrink and grow the step sizes (default
            (0.5, 1.2)).
        step_sizes: the minimal and maximal step sizes (default (1e-6, 50)).
        maximize: maximize the objective instead of minimizing it (default False).
        capturable, foreach, differentiable: accepted and kept in the groups, as torch's; ember
            has one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    lr = _value(group["lr"])
                    state["step"] = _step_tensor()
                    state["prev"] = zeros_like(p)
                    state["step_size"] = full_like(p.grad, complex(lr, lr) if p.is_complex()
                                                   else lr)
                # On the arrays, in torch's order of operations.
                xp = array_module(p._device)
                param, grad = _view(p._data), _view(p.grad._data)
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                prev, step_size = _view(state["prev"]._data), _view(state["step_size"]._data)
                sign = grad * prev
                xp.sign(sign, out=sign)
                sign[sign > 0] = etaplus
                sign[sign < 0] = etaminus
                sign[sign == 0] = 1
                step_size *= sign
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                prev[...] = grad
                prev[sign == etaminus] = 0  # no step where the gradient changed sign
                xp.sign(prev, out=sign)
                sign *= step_size
                param -= sign
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
