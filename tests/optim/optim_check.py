"""Running an ember optimizer and the torch optimizer of the same name side by side.

    e_opt, t_opt, e_params, t_params = make_pair("Adam", {"lr": 0.1})
    run_steps(e_opt, t_opt, e_params, t_params, steps=5)

gives both optimizers the same initial parameters, feeds them the same random gradients step after
step, and after every step compares the parameters and the whole ``state_dict()`` (state tensors,
their dtypes, scalar state, and the groups' hyper-parameters and index layout).
"""

from __future__ import annotations

import numpy as np
import torch
from reference import assert_same

import ember
import ember.nn  # noqa: F401 - makes ember.nn reachable as an attribute
import ember.optim  # noqa: F401

SHAPES = [(3, 4), (5,), ()]


def make_params(shapes=SHAPES, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, size=s).astype(dtype) for s in shapes]
    e = [ember.nn.Parameter(ember.from_numpy(a.copy())) for a in arrays]
    t = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    return e, t


def make_pair(name, kwargs, shapes=SHAPES, dtype="float32", groups=None, seed=0):
    """ember's and torch's optimizer ``name`` over the same parameters.

    ``groups``: a list of (param indices, extra options) making parameter groups.
    """
    e_params, t_params = make_params(shapes, dtype, seed)
    if groups is None:
        e_arg, t_arg = e_params, t_params
    else:
        e_arg = [{"params": [e_params[i] for i in idx], **opts} for idx, opts in groups]
        t_arg = [{"params": [t_params[i] for i in idx], **opts} for idx, opts in groups]
    e_opt = getattr(ember.optim, name)(e_arg, **kwargs)
    t_opt = getattr(torch.optim, name)(t_arg, **kwargs)
    return e_opt, t_opt, e_params, t_params


def set_grads(e_params, t_params, rng, skip=()):
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        if i in skip:
            e.grad = t.grad = None
            continue
        g = rng.uniform(-1, 1, size=tuple(t.shape)).astype(t.detach().numpy().dtype)
        e.grad = ember.from_numpy(g.copy())
        t.grad = torch.from_numpy(g.copy())


def to_ember(value):
    """A torch state (dicts, lists, tuples, tensors) with every tensor converted to ember."""
    if isinstance(value, torch.Tensor):
        return ember.from_numpy(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {k: to_ember(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_ember(v) for v in value)
    return value


def load_torch_state(e_opt, t_opt, e_params, t_params, steps=3, seed=5):
    """``steps`` torch steps on random gradients, then torch's parameters and state (as ember
    tensors) loaded into ember's optimizer: both go on from the same point."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for t in t_params:
            t.grad = torch.from_numpy(rng.uniform(-1, 1, tuple(t.shape)).astype(np.float32))
        t_opt.step()
    with ember.no_grad():
        for e, t in zip(e_params, t_params):
            e.copy_(ember.from_numpy(t.detach().numpy().copy()))
    e_opt.load_state_dict(to_ember(t_opt.state_dict()))


def assert_state_equal(e_sd, t_sd, rtol=1e-6, atol=1e-7):
    """Two ``state_dict()``s agree: the same structure, keys, dtypes and (close) values."""
    assert type(e_sd) is dict and set(e_sd) == set(t_sd) == {"state", "param_groups"}
    assert list(e_sd["state"]) == list(t_sd["state"])
    for k, t_state in t_sd["state"].items():
        e_state = e_sd["state"][k]
        assert list(e_state) == list(t_state), (list(e_state), list(t_state))
        for name, t_v in t_state.items():
            assert_value(e_state[name], t_v, rtol, atol)
    assert len(e_sd["param_groups"]) == len(t_sd["param_groups"])
    for e_g, t_g in zip(e_sd["param_groups"], t_sd["param_groups"]):
        assert list(e_g) == list(t_g), (list(e_g), list(t_g))
        for key, t_v in t_g.items():
            assert_value(e_g[key], t_v, rtol, atol)


def assert_close(e, t, rtol, atol):
    """Tensors of the same shape and dtype, equal within ``rtol`` of each element plus ``rtol`` of
    the largest magnitude: the updates' rounding errors scale with the terms that were summed,
    and an element that cancels down keeps the error of the larger terms."""
    scale = float(np.abs(t.detach().numpy()).max()) if t.numel() else 0.0
    assert_same(e, t, rtol, atol + rtol * scale)


def assert_value(e, t, rtol, atol):
    if isinstance(t, torch.Tensor):
        assert_close(e, t, rtol, atol)
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t), (e, t)
        for a, b in zip(e, t):
            assert_value(a, b, rtol, atol)
    elif isinstance(t, float):
        assert isinstance(e, float) and abs(e - t) <= atol + rtol * abs(t), (e, t)
    else:
        assert e == t and type(e) is type(t), (e, t)


def assert_params_equal(e_params, t_params, rtol=1e-6, atol=1e-7):
    for e, t in zip(e_params, t_params):
        assert_close(e.detach(), t.detach(), rtol, atol)


def run_steps(e_opt, t_opt, e_params, t_params, steps=5, seed=1, skip=(), rtol=1e-6, atol=1e-7):
    """``steps`` steps with the same random gradients; everything compared after each one."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        set_grads(e_params, t_params, rng, skip)
        e_opt.step()
        t_opt.step()
        assert_params_equal(e_params, t_params, rtol, atol)
        assert_state_equal(e_opt.state_dict(), t_opt.state_dict(), rtol, atol)
