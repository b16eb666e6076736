"""Adamax: Adam with the infinity norm of past gradients in place of their squares."""

from __future__ import annotations

from ember.backend import array_module
from ember.ops.creation import zeros_like
from ember.optim.optimizer import (
    Optimizer,
    _check_betas,
    _check_lr,
    _check_nonnegative,
    _lerp_,
    _plus,
    _step_tensor,
    _value,
    _view,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running average and of the infinity norm (default (0.9, 0.999)).
        eps: added to the norm for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it (default False).
        foreach, differentiable, capturable: accepted and kept in the groups, as torch's; ember
            has one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("epsilon", eps)
        _check_betas(betas)
        _check_nonnegative("weight_decay", weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_inf"] = zeros_like(p)
                # On the arrays, in torch's order of operations.
                xp = array_module(p._device)
                param, grad = _view(p._data), _view(p.grad._data)
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = _plus(grad, weight_decay, param)
                exp_avg, exp_inf = _view(state["exp_avg"]._data), _view(state["exp_inf"]._data)
                _lerp_(exp_avg, grad, 1 - beta1)
                exp_inf *= beta2
                norm = xp.abs(grad)
                norm += eps
                xp.maximum(exp_inf, norm, out=exp_inf)
                clr = lr / (1 - beta1 ** float(state["step"]._data))
                update = xp.divide(exp_avg, exp_inf, out=norm)
                update *= -clr
                param += update
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
