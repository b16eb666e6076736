"""LBFGS against torch on Rosenbrock's function: with and without the strong-Wolfe line search,
parameters and the whole state (directions, history, step, counters) compared after each step."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from optim_check import assert_params_equal, assert_state_equal

import ember
import ember.nn
import ember.optim

X0 = [-1.5, 2.0, 0.5, -0.3, 1.2]


def _rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _closure(opt, x, counter):
    def closure():
        counter[0] += 1
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss
    return closure


def _pair(dtype, **kwargs):
    out = []
    for lib in (ember, torch):
        x = lib.nn.Parameter(lib.tensor(X0, dtype=getattr(lib, dtype)))
        out.append((x, lib.optim.LBFGS([x], **kwargs)))
    return out


CASES = [
    {},
    {"lr": 0.5, "max_iter": 5},
    {"history_size": 3, "max_iter": 10},  # the history fills and old pairs are dropped
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 8, "max_eval": 12},
    {"tolerance_change": 1e-3, "max_iter": 50},
    {"tolerance_grad": 1.0},  # converged at once: step returns after one evaluation
]


def _assert_lbfgs_state(e_sd, t_sd, rtol):
    """The same state layout and entry types; counters equal; values close (normwise).

    Near convergence the history vectors are differences of nearly equal gradients, so their
    relative error is much larger than the parameters' (BLAS dot products sum in another order).
    """
    (e_state,), (t_state,) = e_sd["state"].values(), t_sd["state"].values()
    assert list(e_state) == list(t_state)
    for key, t_v in t_state.items():
        e_v = e_state[key]
        assert type(e_v) is type(t_v) or isinstance(t_v, torch.Tensor), (key, e_v, t_v)
        if isinstance(t_v, int):
            assert e_v == t_v, (key, e_v, t_v)
        elif isinstance(t_v, list):
            assert len(e_v) == len(t_v)
            for a, b in zip(e_v, t_v):
                assert (a is None) == (b is None)
                if b is not None:
                    _close(a, b, rtol)
        elif isinstance(t_v, (float, torch.Tensor)):
            _close(e_v, t_v, rtol)


def _close(e, t, rtol):
    e = e.detach().numpy() if isinstance(e, ember.Tensor) else np.asarray(e)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert e.dtype == t.dtype and e.shape == t.shape
    assert np.abs(e - t).max() <= rtol * max(np.abs(t).max(), 1e-30), (e, t)


def _run(pair, closure_for, steps=3):
    (ex, e_opt), (tx, t_opt) = pair
    e_count, t_count = [0], [0]
    for _ in range(steps):
        e_loss = e_opt.step(closure_for(e_opt, ex, e_count))
        t_loss = t_opt.step(closure_for(t_opt, tx, t_count))
        yield ex, tx, e_opt, t_opt, e_loss, t_loss, e_count, t_count


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
def test_lbfgs_matches_torch_on_rosenbrock(kwargs):
    """float64, ill-conditioned: parameters to 1e-9, the same iteration and evaluation counts."""
    for ex, tx, e_opt, t_opt, e_loss, t_loss, e_count, t_count in _run(
            _pair("float64", **kwargs), _closure):
        assert e_count == t_count
        assert abs(e_loss.item() - t_loss.item()) <= 1e-9 * max(1.0, abs(t_loss.item()))
        assert_params_equal([ex], [tx], rtol=1e-9, atol=1e-12)
        _assert_lbfgs_state(e_opt.state_dict(), t_opt.state_dict(), rtol=1e-4)


A = np.array([[2.0, 1, 0, 0], [0, 1.5, 0.5, 0], [0, 0, 1, 0.3], [0.2, 0, 0, 1]], np.float32)
B = np.array([1.0, -1, 0.5, 2], np.float32)


def _quartic_closure(opt, x, counter):
    lib = ember if isinstance(x, ember.Tensor) else torch

    def closure():
        counter[0] += 1
        opt.zero_grad()
        loss = ((lib.from_numpy(A) @ x - lib.from_numpy(B)) ** 2).sum() + 0.1 * (x**4).sum()
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
def test_lbfgs_matches_torch_float32(kwargs):
    """float32 on a well-conditioned function: parameters to 1e-4. (Once the loss has converged
    the history vectors are rounding noise and a tolerance test can fall either side of its
    threshold, so only the state's layout is compared.)"""
    pair = []
    for lib in (ember, torch):
        x = lib.nn.Parameter(lib.tensor([1.0, 2.0, -1.0, 0.5]))
        pair.append((x, lib.optim.LBFGS([x], **kwargs)))
    for ex, tx, e_opt, t_opt, *_ in _run(pair, _quartic_closure):
        assert_params_equal([ex], [tx], rtol=1e-4, atol=1e-6)
        (e_state,), (t_state,) = e_opt.state_dict()["state"].values(), \
            t_opt.state_dict()["state"].values()
        assert list(e_state) == list(t_state)


def test_lbfgs_converges_on_rosenbrock():
    x0 = [0.5, 0.8, -0.3]  # from here the minimum reached is the global one, (1, 1, 1)
    x = ember.nn.Parameter(ember.tensor(x0, dtype=ember.float64))
    opt = ember.optim.LBFGS([x], line_search_fn="strong_wolfe", max_iter=200)
    opt.step(_closure(opt, x, [0]))
    np.testing.assert_allclose(x.detach().numpy(), np.ones(3), atol=1e-6)


def test_lbfgs_several_parameters_and_a_missing_gradient():
    results = []
    for lib in (ember, torch):
        a = lib.nn.Parameter(lib.tensor([[0.5, -1.0], [2.0, 0.1]], dtype=lib.float64))
        b = lib.nn.Parameter(lib.tensor([1.5], dtype=lib.float64))
        unused = lib.nn.Parameter(lib.tensor([3.0], dtype=lib.float64))
        opt = lib.optim.LBFGS([a, unused, b], line_search_fn="strong_wolfe")

        def closure(opt=opt, a=a, b=b):
            opt.zero_grad()
            loss = ((a - 1) ** 4).sum() + (b * a.sum() - 2) ** 2
            loss.backward()
            return loss

        for _ in range(2):
            opt.step(closure)
        results.append((a.detach().numpy().copy(), b.detach().numpy().copy(),
                        unused.detach().numpy().copy(), opt.state_dict()))
    for e, t in zip(results[0][:3], results[1][:3]):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
    assert_state_equal(results[0][3], results[1][3], rtol=1e-10, atol=1e-12)


def test_lbfgs_unknown_line_search():
    x = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    opt = ember.optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(_closure(opt, x, [0]))


def test_lbfgs_state_dict_round_trip():
    (ex, e_opt), _ = _pair("float64", history_size=4, max_iter=3)
    e_opt.step(_closure(e_opt, ex, [0]))
    sd = copy.deepcopy(e_opt.state_dict())  # loading shares the tensors, as torch's does
    x2 = ember.nn.Parameter(ex.detach().clone())
    opt2 = ember.optim.LBFGS([x2], history_size=4, max_iter=3)
    opt2.load_state_dict(sd)
    e_opt.step(_closure(e_opt, ex, [0]))
    opt2.step(_closure(opt2, x2, [0]))
    assert np.array_equal(ex.detach().numpy(), x2.detach().numpy())
