"""RMSprop: gradients scaled by a running average of their squares (optionally centered)."""

from __future__ import annotations

from ember.backend import array_module
from ember.ops.creation import zeros_like
from ember.optim.optimizer import (
    Optimizer,
    _addcmul_,
    _check_lr,
    _check_nonnegative,
    _lerp_,
    _plus,
    _step_tensor,
    _value,
    _view,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance (default False).
        maximize: maximize the objective instead of minimizing it (default False).
        capturable, foreach, differentiable: accepted and kept in the groups, as torch's; ember
            has one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("epsilon", eps)
        _check_nonnegative("momentum", momentum)
        _check_nonnegative("weight_decay", weight_decay)
        _check_nonnegative("alpha", alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
            alpha, momentum, centered = group["alpha"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(p)
                    if centered:
                        state["grad_avg"] = zeros_like(p)
                # On the arrays, in torch's order of operations.
                xp = array_module(p._device)
                param, grad = _view(p._data), _view(p.grad._data)
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = _plus(grad, weight_decay, param)
                square_avg = _view(state["square_avg"]._data)
                square_avg *= alpha
                _addcmul_(square_avg, grad, grad, 1 - alpha)
                if centered:
                    grad_avg = _view(state["grad_avg"]._data)
                    _lerp_(grad_avg, grad, 1 - alpha)
                    avg = -grad_avg  # square_avg - grad_avg ** 2, as torch's addcmul(value=-1)
                    avg *= grad_avg
                    avg += square_avg
                    xp.sqrt(avg, out=avg)
                else:
                    avg = xp.sqrt(square_avg)
                avg += eps
                update = xp.divide(grad, avg, out=avg)
                if momentum > 0:
                    buf = _view(state["momentum_buffer"]._data)
                    buf *= momentum
                    buf += update
                    param -= xp.multiply(buf, lr, out=update)
                else:
                    update *= -lr
                    param += update
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
