"""SGD: stochastic gradient descent with momentum (optionally Nesterov's) and weight decay."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _check_lr, _plus, _value

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing it (default False).
        foreach, differentiable, fused: accepted and kept in the groups, as torch's; ember has
            one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay=0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay = _value(group["lr"]), _value(group["weight_decay"])
            momentum, dampening = group["momentum"], group["dampening"]
            nesterov, maximize = group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                # On the arrays, in torch's order of operations.
                param, grad = p._data, p.grad._data
                if maximize:
                    grad = -grad
                if weight_decay != 0:
                    grad = _plus(grad, weight_decay, param)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._make(grad.copy(), p.device)
                    else:
                        b = buf._data
                        b *= momentum
                        b += grad if dampening == 0 else (1 - dampening) * grad
                        buf._bump_version()
                    grad = _plus(grad, momentum, buf._data) if nesterov else buf._data
                param -= lr * grad
                p._bump_version()
        return loss
