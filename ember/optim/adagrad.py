"""Adagrad: steps scaled by the accumulated sum of squared gradients."""

from __future__ import annotations

from ember.backend import array_module
from ember.ops.creation import full_like
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

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (its single-tensor arithmetic; no sparse gradients).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: initial value of the squared-gradient sums (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        maximize: maximize the objective instead of minimizing it (default False).
        foreach, differentiable, fused: accepted and kept in the groups, as torch's; ember has
            one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonnegative("lr_decay", lr_decay)
        _check_nonnegative("weight_decay", weight_decay)
        _check_nonnegative("initial_accumulator_value", initial_accumulator_value)
        _check_nonnegative("epsilon", eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:  # torch creates Adagrad's state up front
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p) -> None:
        state = self.state[p]
        init = self.defaults["initial_accumulator_value"]
        state["step"] = _step_tensor()
        state["sum"] = full_like(p, complex(init, init) if p.is_complex() else init)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay = _value(group["lr"]), group["weight_decay"]
            lr_decay, eps = group["lr_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # a parameter of a group added after construction
                    self._init_state(p)
                # On the arrays, in torch's order of operations.
                xp = array_module(p._device)
                param, grad = _view(p._data), _view(p.grad._data)
                state["step"]._data += 1
                step = float(state["step"]._data)
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = _plus(grad, weight_decay, param)
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = _view(state["sum"]._data)
                _addcmul_(state_sum, grad, grad, 1)
                std = xp.sqrt(state_sum)
                std += eps
                update = xp.divide(grad, std, out=std)
                update *= -clr
                param += update
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
