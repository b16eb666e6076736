"""Adadelta: steps scaled by running averages of squared gradients and squared updates."""

from __future__ import annotations

from ember.backend import array_module
from ember.ops.creation import zeros_like
from ember.optim.optimizer import (
    Optimizer,
    _addcmul_,
    _check_lr,
    _check_nonnegative,
    _plus,
    _step_tensor,
    _value,
    _view,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: coefficient that scales delta before it is applied (default 1.0).
        rho: coefficient of the running averages (default 0.9).
        eps: added inside the square roots for numerical stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it (default False).
        foreach, capturable, differentiable: accepted and kept in the groups, as torch's; ember
            has one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative("epsilon", eps)
        _check_nonnegative("weight_decay", weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay = _value(group["lr"]), group["weight_decay"]
            rho, eps = group["rho"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = zeros_like(p)
                    state["acc_delta"] = zeros_like(p)
                # On the arrays, in torch's order of operations.
                xp = array_module(p._device)
                param, grad = _view(p._data), _view(p.grad._data)
                state["step"]._data += 1
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = _plus(grad, weight_decay, param)
                square_avg = _view(state["square_avg"]._data)
                acc_delta = _view(state["acc_delta"]._data)
                square_avg *= rho
                _addcmul_(square_avg, grad, grad, 1 - rho)
                std = square_avg + eps
                xp.sqrt(std, out=std)
                delta = acc_delta + eps
                xp.sqrt(delta, out=delta)
                delta /= std
                delta *= grad
                acc_delta *= rho
                _addcmul_(acc_delta, delta, delta, 1 - rho)
                param -= xp.multiply(delta, lr, out=delta)
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
