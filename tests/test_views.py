"""Views and in-place changes against torch: shared memory, shared version counters, gradients
through in-place ops on views (CopySlices), and the errors torch raises."""

import numpy as np
import pytest
import torch
from reference import assert_same, rand

import ember

VIEW_FNS = {
    "view": lambda x: x.view(-1),
    "reshape": lambda x: x.reshape(4, 3),
    "t": lambda x: x.t(),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "select": lambda x: x.select(1, 2),
    "narrow": lambda x: x.narrow(0, 1, 2),
    "diagonal": lambda x: x.diagonal(),
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(3)[2],
    "unbind": lambda x: x.unbind(1)[0],
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "movedim": lambda x: x.movedim(0, 1),
    "detach": lambda x: x.detach(),
    "chain": lambda x: x.t().narrow(0, 1, 2).select(1, 0),
}


@pytest.mark.parametrize("name", VIEW_FNS)
def test_view_shares_memory_and_version(name):
    x = ember.from_numpy(rand((3, 4), seed=1))
    v = VIEW_FNS[name](x)
    assert np.shares_memory(v.numpy(), x.numpy())
    assert x._version == v._version == 0
    v.add_(1)
    assert x._version == v._version == 1
    x.mul_(2)
    assert x._version == v._version == 2
    t = torch.from_numpy(rand((3, 4), seed=1))
    tv = VIEW_FNS[name](t)
    tv.add_(1)
    t.mul_(2)
    assert_same(x, t)
    assert_same(v, tv)


def test_data_has_its_own_version_counter():
    x = ember.zeros(3)
    d = x.data
    d.add_(1)
    assert x._version == 0 and d._version == 1
    np.testing.assert_array_equal(x.numpy(), np.ones(3, np.float32))


def _run(scenario, lib, x, w):
    xl = lib.from_numpy(x.copy()).requires_grad_()
    wl = lib.from_numpy(w.copy()).requires_grad_()
    out = scenario(lib, xl, wl)
    g = lib.from_numpy(rand(tuple(out.shape), str(x.dtype), seed=7))
    (out * g).sum().backward()
    return out, xl.grad, wl.grad


# Each scenario builds a non-leaf from x, changes a view of it in place (often by w), and returns
# a tensor whose gradient is compared with torch's.
SCENARIOS = {
    "select_mul": lambda m, x, w: _inplace(x * 1, lambda y: y.select(1, 0).mul_(2)) * w,
    "select_mul_by_w": lambda m, x, w: _inplace(x * 1, lambda y: y.select(1, 0).mul_(
        w.select(1, 0))),
    "narrow_mul_by_w": lambda m, x, w: _inplace(x * 1, lambda y: y.narrow(1, 1, 2).mul_(
        w.narrow(1, 0, 2))),
    "transpose_add": lambda m, x, w: _inplace(x * 1, lambda y: y.transpose(0, 1).add_(w.t())),
    "view_add": lambda m, x, w: _inplace(x * 1, lambda y: y.view(-1).add_(1)) * w,
    "view_mul_self": lambda m, x, w: _inplace(x * w, lambda y: y.view(-1).mul_(
        y.view(-1).clone())),
    "diagonal_mul": lambda m, x, w: _inplace(x * 1, lambda y: y.diagonal().mul_(
        w.diagonal())),
    "chain_of_views": lambda m, x, w: _inplace(x * 1, lambda y: y.t().narrow(0, 1, 2).select(
        1, 2).mul_(3)) * w,
    "split_piece_no_grad": lambda m, x, w: _no_grad_change(
        m, x * 1, lambda y: y.split(2, 1)[1].mul_(w.split(2, 1)[0])) * w,
    "unbind_piece_no_grad": lambda m, x, w: _no_grad_change(
        m, x * 1, lambda y: y.unbind(0)[1].sub_(w.unbind(0)[2])) * w,
    "tensor_split_piece": lambda m, x, w: _inplace(x * 1, lambda y: y.tensor_split(2, 1)[1].mul_(
        w.tensor_split(2, 1)[0])),
    "two_views": lambda m, x, w: _inplace(x * 1, lambda y: (y.select(0, 0).mul_(w.select(0, 1)),
                                                             y.select(1, 1).add_(w.select(1, 0)))),
    "view_then_base": lambda m, x, w: _inplace(x * 1, lambda y: (y.t().mul_(2), y.mul_(w))),
    "view_used_later": lambda m, x, w: _view_used_after(x * w),
    "view_of_no_grad_base": lambda m, x, w: _inplace(
        m.zeros(3, 4, dtype=x.dtype),
        lambda y: y.select(0, 1).add_(w.select(0, 0) * x.select(0, 2))),
    "copy_into_view": lambda m, x, w: _inplace(x * 1, lambda y: y.narrow(0, 0, 2).copy_(
        w.narrow(0, 1, 2))),
    "tril_on_view": lambda m, x, w: _inplace(x * w, lambda y: y.narrow(1, 0, 3).tril_()),
    "stale_view_after_base_change": lambda m, x, w: _stale_view(x * 1, w, lambda y: y.mul_(w)),
    "stale_view_after_other_view": lambda m, x, w: _stale_view(
        x * 1, w, lambda y: y.select(0, 1).mul_(w.select(0, 2))),
}


def _stale_view(y, w, change):
    """A view taken before the base changes, then changed in place itself."""
    v = y.t()
    change(y)
    v.mul_(w.t())
    return y


def _inplace(y, change):
    change(y)
    return y


def _view_used_after(y):
    """The in-place result is read through a view taken after the change."""
    y.select(0, 2).mul_(3)
    return y.t().select(0, 1) * 1


def _no_grad_change(m, y, change):
    with m.no_grad():
        change(y)
    return y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_inplace_on_view_of_non_leaf_gradients(name, dtype):
    x, w = rand((3, 4), dtype, seed=1), rand((3, 4), dtype, seed=2)
    e_out, e_gx, e_gw = _run(SCENARIOS[name], ember, x, w)
    t_out, t_gx, t_gw = _run(SCENARIOS[name], torch, x, w)
    assert_same(e_out, t_out)
    assert_same(e_gx, t_gx)
    assert_same(e_gw, t_gw)


@pytest.mark.parametrize("name", ["select_mul_by_w", "transpose_add", "diagonal_mul",
                                  "chain_of_views", "two_views", "view_mul_self",
                                  "stale_view_after_other_view"])
def test_inplace_on_view_gradcheck(name):
    x = ember.from_numpy(rand((3, 4), "float64", seed=1)).requires_grad_()
    w = ember.from_numpy(rand((3, 4), "float64", seed=2)).requires_grad_()
    assert ember.autograd.gradcheck(lambda a, b: SCENARIOS[name](ember, a, b), (x, w))


def test_inplace_on_view_rebases_the_base():
    x = ember.ones(2, 3, requires_grad=True)
    y = x * 1
    y.select(1, 0).mul_(2)
    assert y.grad_fn is not None and "CopySlices" in y.grad_fn.name()
    assert y._version == 1


def test_view_taken_before_base_changed_sees_new_history():
    """torch regenerates a stale view's grad_fn from its base when the base changed in place."""
    x = rand((3, 4), seed=1)
    grads = []
    for m in (torch, ember):
        xl = m.from_numpy(x.copy()).requires_grad_()
        y = xl * 1
        v = y.t()
        y.mul_(2)
        (v * m.arange(12.0).view(4, 3)).sum().backward()
        grads.append(xl.grad)
    assert_same(grads[1], grads[0])


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["t", "select", "narrow", "view", "diagonal", "chain"])
def test_inplace_on_view_of_leaf_raises(name):
    for m in (torch, ember):
        x = m.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                               "being used in an in-place operation"):
            VIEW_FNS[name](x).mul_(2)


def test_inplace_on_leaf_raises_and_no_grad_allows_it():
    x = ember.ones(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.add_(1)
    with ember.no_grad():
        x.t().mul_(2)
        x.select(0, 1).add_(1)
    assert x.grad_fn is None and x.requires_grad
    assert float(x.sum()) == 4 * 2 + 4 * 3 + 4 * 2


@pytest.mark.parametrize("pieces", [lambda y: y.split(2, 1), lambda y: y.split([1, 3], 1),
                                    lambda y: y.chunk(2), lambda y: y.unbind(1)])
def test_inplace_on_split_pieces_refused_under_autograd(pieces):
    """torch refuses in-place changes to outputs of multi-view functions while recording."""
    written = []
    for m in (torch, ember):
        x = m.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="is a view and is being modified inplace. This view "
                                               "is the output of a function that returns multiple"):
            pieces(x * 1)[1].add_(1)
        with pytest.raises(RuntimeError, match="returns multiple views"):
            pieces(x)[0].t().mul_(2)  # views of a piece too
        with pytest.raises(RuntimeError, match="returns multiple views"):
            pieces(m.zeros(3, 4))[1].mul_(x.sum())  # a plain base taking a grad-requiring value
        base = m.zeros(3, 4)
        pieces(base)[1].add_(1)  # nothing requires grad: a plain write into the base
        with m.no_grad():
            pieces(x)[0].add_(1)
        written.append((base.numpy().copy(), x.detach().numpy().copy()))
    for e, t in zip(written[1], written[0]):
        np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("change", [
    lambda y: y.add_(1),
    lambda y: y.t().mul_(2),
    lambda y: y.select(0, 1).zero_(),
    lambda y: y.narrow(1, 0, 1).fill_(3),
])
def test_saved_tensor_modified_inplace_raises(change):
    for m in (torch, ember):
        x = m.ones(3, 4, requires_grad=True)
        y = x * 2
        z = (y * y).sum()  # mul saves y
        change(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


def test_saved_view_modified_through_base_raises():
    for m in (torch, ember):
        x = m.ones(3, 4, requires_grad=True)
        y = x * 2
        v = y.select(0, 0)
        z = (v * v).sum()  # mul saves the view v
        y.narrow(0, 2, 1).mul_(3)  # another view: same version counter
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


def test_unchanged_saved_tensors_still_backprop():
    x = ember.ones(3, 4, requires_grad=True)
    y = x * 2
    z = (y.t() + 3).sum()  # add saves nothing
    y.select(0, 0).mul_(2)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 2.0))


def test_int_index_of_a_tensor_without_grad_is_a_full_view():
    # x[i] on a tensor that records no graph skips Primitive.apply; it must stay a real view:
    # shared memory, version counter, and in-place ops through it reach the base's history.
    for lib in (ember, torch):
        x = lib.zeros(3, 2)
        v = x[1]
        assert v._base is x
        w = lib.full((2,), 3.0, requires_grad=True)
        v.add_(w)
        assert x.requires_grad and x.grad_fn is not None
        (x * lib.arange(6.0).reshape(3, 2)).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), [2.0, 3.0])
        np.testing.assert_allclose(x.detach().numpy(), [[0, 0], [3, 3], [0, 0]])
        y = lib.arange(4.0)
        s = y[2]
        assert s.shape == () and s.item() == 2.0
        y.mul_(10)
        assert s.item() == 20.0 and s._version == y._version
