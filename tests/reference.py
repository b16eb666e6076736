"""Comparing ember with torch, the reference: values, dtypes, shapes and every input gradient.

    check(lambda m, a, b: m.add(a, b), [shape_a, shape_b])

runs the same function with ``m = ember`` and ``m = torch`` on the same random inputs, compares the
outputs, then back-propagates the same random output gradient and compares every input's grad.
"""

from __future__ import annotations

import numpy as np
import torch

import ember

_NP = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32,
       "bool": np.bool_, "uint8": np.uint8, "float16": np.float16, "int8": np.int8,
       "int16": np.int16, "complex64": np.complex64, "complex128": np.complex128}


def rand(shape, dtype="float32", low=-2.0, high=2.0, seed=None, positive=False):
    """A random NumPy array of ``shape`` and ``dtype`` (a name), reproducible with ``seed``."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype in ("int64", "int32", "uint8", "int8", "int16"):
        lo = 1 if positive else (0 if dtype == "uint8" else int(low) - 3)
        return rng.integers(lo, int(high) + 4, size=shape).astype(_NP[dtype])
    lo = 0.1 if positive else low
    return rng.uniform(lo, high, size=shape).astype(_NP[dtype])


def to_numpy(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()  # force: torch may return a lazy ZeroTensor as a gradient
        return t.float().numpy(force=True) if t.dtype == torch.bfloat16 else t.numpy(force=True)
    if isinstance(t, ember.Tensor):
        return t.detach().numpy()
    return np.asarray(t)


def assert_same(e, t, rtol=1e-5, atol=1e-6, check_dtype=True):
    """ember result ``e`` equals torch result ``t``: type, shape, dtype and values (recursively)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), (type(e), e, t)
        for a, b in zip(e, t):
            assert_same(a, b, rtol, atol, check_dtype)
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"expected an ember.Tensor, got {type(e)}"
        assert tuple(e.shape) == tuple(t.shape), f"shape {tuple(e.shape)} != torch {tuple(t.shape)}"
        if check_dtype:
            assert e.dtype.name == str(t.dtype).split(".")[1], f"dtype {e.dtype} != torch {t.dtype}"
        np.testing.assert_allclose(to_numpy(e), to_numpy(t), rtol=rtol, atol=atol, equal_nan=True)
        return
    if isinstance(t, float):
        assert abs(e - t) <= atol + rtol * abs(t) or (np.isnan(e) and np.isnan(t)), (e, t)
        return
    assert e == t, (e, t)


def _leaves(arrays, lib, grad):
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            x = lib.from_numpy(a.copy())
            if grad and a.dtype.kind in "fc":
                x.requires_grad_(True)
            out.append(x)
        else:
            out.append(a)
    return out


def check(fn, arrays, grad=True, rtol=1e-5, atol=1e-6, grad_rtol=None, grad_atol=None, seed=0):
    """Run ``fn(lib, *inputs)`` on ember and torch; compare outputs and, if ``grad``, input grads.

    ``arrays``: NumPy arrays (floating ones require grad) or other values, passed through as is.
    """
    e_in, t_in = _leaves(arrays, ember, grad), _leaves(arrays, torch, grad)
    e_out, t_out = fn(ember, *e_in), fn(torch, *t_in)
    assert_same(e_out, t_out, rtol, atol)
    if not grad or not backward_both(e_out, t_out, seed):
        return e_out, t_out
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert e.grad is None or not to_numpy(e.grad).any(), f"input {i}: torch has no grad"
                continue
            assert e.grad is not None, f"input {i}: ember computed no gradient"
            assert_same(e.grad, t.grad, grad_rtol or rtol * 10, grad_atol or atol * 10)
    return e_out, t_out


def backward_both(e_out, t_out, seed=0) -> bool:
    """Back-propagate the same random weighting of ember's and torch's outputs (a tensor or a
    sequence); False when no torch output requires grad, so nothing was back-propagated."""
    e_outs = e_out if isinstance(e_out, (tuple, list)) else [e_out]
    t_outs = t_out if isinstance(t_out, (tuple, list)) else [t_out]
    rng = np.random.default_rng(seed)
    e_sum, t_sum = 0, 0
    for eo, to in zip(e_outs, t_outs):
        if isinstance(to, torch.Tensor) and to.requires_grad:
            w = rng.uniform(-1, 1, size=tuple(to.shape)).astype(to_numpy(to).dtype)
            e_sum = e_sum + (eo * ember.from_numpy(w)).sum()
            t_sum = t_sum + (to * torch.from_numpy(w)).sum()
    if not isinstance(t_sum, torch.Tensor):
        return False
    t_sum.backward()
    e_sum.backward()
    return True


def gradcheck(fn, arrays, **kw):
    """ember's float64 gradcheck of ``fn(ember, *inputs)`` (floating arrays are cast to float64)."""
    inputs = []
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            inputs.append(ember.from_numpy(a.astype(np.float64)).requires_grad_())
        elif isinstance(a, np.ndarray):
            inputs.append(ember.from_numpy(a.copy()))
        else:
            inputs.append(a)
    assert ember.autograd.gradcheck(lambda *xs: fn(ember, *xs), tuple(inputs), **kw)


def same_error(fn, arrays):
    """``fn`` raises the same exception type on ember as on torch (and it raises on torch)."""
    t_in, e_in = _leaves(arrays, torch, False), _leaves(arrays, ember, False)
    try:
        fn(torch, *t_in)
    except Exception as t_exc:  # noqa: BLE001 - the type is what is compared
        expected = type(t_exc)
    else:
        raise AssertionError("torch did not raise")
    try:
        fn(ember, *e_in)
    except Exception as e_exc:  # noqa: BLE001
        assert isinstance(e_exc, expected), f"ember raised {type(e_exc).__name__}: {e_exc}; " \
                                            f"torch raised {expected.__name__}"
        return e_exc
    raise AssertionError(f"ember did not raise; torch raised {expected.__name__}")
