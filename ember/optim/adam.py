"""Adam: adaptive moment estimation, with AMSGrad and decoupled (AdamW) weight decay."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.backend import array_module
from ember.ops.creation import zeros_like
from ember.optim.optimizer import (
    Optimizer,
    _addcmul_,
    _check_betas,
    _check_lr,
    _check_nonnegative,
    _lerp_,
    _plus,
    _step_tensor,
    _value,
    _view,
)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (its single-tensor arithmetic).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and its square
            (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0): an L2 penalty, or decoupled as AdamW's.
        amsgrad: use the maximum of past squared-gradient averages (default False).
        maximize: maximize the objective instead of minimizing it (default False).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).
        foreach, capturable, differentiable, fused: accepted and kept in the groups, as torch's;
            ember has one update path (``differentiable=True`` is not supported).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        _check_lr(lr)
        _check_nonnegative("epsilon", eps)
        _check_betas(betas)
        _check_nonnegative("weight_decay", weight_decay)
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)
                or isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor)):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, weight_decay, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
            beta1, beta2 = (_value(b) for b in group["betas"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                # On the arrays, in torch's order of operations.
                xp = array_module(p._device)
                param, grad = _view(p._data), _view(p.grad._data)
                if maximize:
                    grad = -grad
                state["step"]._data += 1
                step = float(state["step"]._data)
                if weight_decay != 0:
                    if decoupled:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = _plus(grad, weight_decay, param)
                exp_avg = _view(state["exp_avg"]._data)
                exp_avg_sq = _view(state["exp_avg_sq"]._data)
                _lerp_(exp_avg, grad, 1 - beta1)
                exp_avg_sq *= beta2
                _addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
                bias_correction1 = 1 - beta1**step
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                if amsgrad:
                    max_sq = _view(state["max_exp_avg_sq"]._data)
                    xp.maximum(max_sq, exp_avg_sq, out=max_sq)
                    denom = xp.sqrt(max_sq)
                else:
                    denom = xp.sqrt(exp_avg_sq)
                denom /= bias_correction2_sqrt
                denom += eps
                update = xp.divide(exp_avg, denom, out=denom)
                update *= -lr / bias_correction1
                param += update
                p._bump_version()
                for s in state.values():
                    s._bump_version()
        return loss
