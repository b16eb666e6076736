"""Adadelta: steps scaled by running averages of squared gradients and squared updates."""

from __future__ import annotations

from ember.backend import array_module
from ember.ops.creation import zeros_like
from ember.optim.optimizer import Optimizer, _check_lr, _real, _step_tensor, _value

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
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
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
                param, grad = p._data, p.grad._data
                state["step"]._data += 1
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                param, grad = _real(param), _real(grad)
                square_avg, acc_delta = _real(state["square_avg"]._data), \
                    _real(state["acc_delta"]._data)
                square_avg *= rho
                square_avg += (1 - rho) * grad * grad
                std = xp.sqrt(square_avg + eps)
                delta = xp.sqrt(acc_delta + eps)
                delta = delta / std * grad
                acc_delta *= rho
                acc_delta += (1 - rho) * delta * delta
                param -= lr * delta
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
