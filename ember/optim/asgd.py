"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

from ember.ops.creation import zeros_like
from ember.optim.optimizer import (
    Optimizer,
    _check_lr,
    _check_nonnegative,
    _plus,
    _step_tensor,
    _value,
    _view,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD, as ``torch.optim.ASGD`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power of the eta update (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it (default False).
        foreach, differentiable, capturable: accepted and kept in the groups, as torch's; ember
            has one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("weight_decay", weight_decay)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay = _value(group["lr"]), group["weight_decay"]
            lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    # torch keeps ASGD's scalars on the parameter's device
                    state["step"] = _step_tensor(device=p.device)
                    state["eta"] = _step_tensor(lr, device=p.device)
                    state["mu"] = _step_tensor(1.0, device=p.device)
                    state["ax"] = zeros_like(p)
                # On the arrays, in torch's order of operations; eta and mu are float32 scalars.
                param, grad = _view(p._data), _view(p.grad._data)
                if group["maximize"]:
                    grad = -grad
                ax = _view(state["ax"]._data)
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = _plus(grad, weight_decay, param)
                eta = float(state["eta"]._data)
                param *= 1 - lambd * eta
                param -= eta * grad
                mu = state["mu"]._data
                if mu != 1:
                    diff = param - ax
                    diff *= mu
                    ax += diff
                else:
                    ax[...] = param
                step = float(state["step"]._data)
                state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
                mu[...] = 1 / max(1, step - t0)
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
