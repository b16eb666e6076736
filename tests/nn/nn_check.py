"""Comparing an ember layer with the torch layer of the same name.

    check_layer(lambda nn: nn.Linear(4, 3), [rand((2, 4))])

builds both modules, copies torch's parameters and buffers into ember's through
``load_state_dict``, runs the same inputs (and, in training, the same random output gradient)
through both, and compares outputs, input gradients, every parameter's gradient and every buffer.
"""

from __future__ import annotations

import numpy as np
import torch
from reference import _leaves, assert_same, backward_both, to_numpy

import ember
import ember.nn  # noqa: F401 - makes ember.nn reachable as an attribute


def copy_state(e_module, t_module) -> None:
    """Load torch's state_dict into the ember module (values copied, not shared)."""
    state = {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in
             t_module.state_dict().items()}
    e_module.load_state_dict(state)


def check_layer(make, arrays, dtype="float32", train=True, grad=True, rtol=1e-5, atol=1e-6,
                grad_rtol=None, grad_atol=None, call=None, seed=0):
    """Build ``make(ember.nn)`` and ``make(torch.nn)``, give them the same state, and compare
    them on ``arrays`` (NumPy inputs; floating ones are cast to ``dtype`` and require grad).

    ``call(module, *inputs)`` replaces ``module(*inputs)``. Returns the two modules.
    """
    torch.manual_seed(seed)
    t_mod = make(torch.nn)
    e_mod = make(ember.nn)
    if dtype == "float64":
        t_mod.double()
        e_mod.double()
    copy_state(e_mod, t_mod)
    t_mod.train(train)
    e_mod.train(train)
    arrays = [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
              for a in arrays]
    t_in, e_in = _leaves(arrays, torch, grad), _leaves(arrays, ember, grad)
    call = call or (lambda m, *xs: m(*xs))
    t_out, e_out = call(t_mod, *t_in), call(e_mod, *e_in)
    assert_same(e_out, t_out, rtol, atol)
    for (name, tb), (ename, eb) in zip(t_mod.named_buffers(), e_mod.named_buffers()):
        assert name == ename
        assert_same(eb, tb, rtol, atol)
    if not grad or not backward_both(e_out, t_out, seed):
        return e_mod, t_mod
    g_rtol, g_atol = grad_rtol or rtol * 10, grad_atol or atol * 10
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if e.grad is None:  # an input used only through comparisons: torch gives zeros
                assert t.grad is None or not to_numpy(t.grad).any(), f"input {i}: no gradient"
                continue
            assert_same(e.grad, t.grad, g_rtol, g_atol)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        tp = t_params[name]
        if tp.grad is None:
            assert p.grad is None or not to_numpy(p.grad).any(), f"{name}: torch has no grad"
            continue
        assert p.grad is not None, f"{name}: ember computed no gradient"
        assert_same(p.grad, tp.grad, g_rtol, g_atol)
    return e_mod, t_mod


def same_repr(make) -> None:
    """``repr`` of the ember module equals torch's with 'torch.' spelled 'ember.'."""
    e, t = repr(make(ember.nn)), repr(make(torch.nn))
    assert e == t.replace("torch.", "ember."), f"\nember: {e}\ntorch: {t}"
