"""Shape and movement ops against torch: values, dtypes, shapes, gradients, views and errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import assert_same, check, gradcheck, rand, same_error

import ember

# name -> (fn(m, x), input shape); every one is checked forward and backward against torch.
UNARY = {
    "view": (lambda m, a: a.view(4, -1), (2, 3, 4)),
    "view_tuple": (lambda m, a: a.view((6, 4)), (2, 3, 4)),
    "view_0d": (lambda m, a: a.view(1, 1), ()),
    "view_as": (lambda m, a: a.view_as(m.zeros(3, 8)), (2, 3, 4)),
    "reshape": (lambda m, a: m.reshape(a, (3, -1)), (2, 3, 4)),
    "reshape_copy": (lambda m, a: a.transpose(0, 2).reshape(-1), (2, 3, 4)),
    "reshape_as": (lambda m, a: a.reshape_as(m.zeros(24)), (2, 3, 4)),
    "expand": (lambda m, a: a.expand(2, 3, 4), (3, 1)),
    "expand_minus1": (lambda m, a: a.expand(5, -1, 4), (3, 1)),
    "expand_as": (lambda m, a: a.expand_as(m.zeros(2, 3, 4)), (1, 4)),
    "broadcast_to": (lambda m, a: m.broadcast_to(a, (2, 3, 4)), (3, 1)),
    "permute": (lambda m, a: a.permute(2, 0, 1), (2, 3, 4)),
    "permute_tuple": (lambda m, a: a.permute((1, -1, 0)), (2, 3, 4)),
    "permute_fn": (lambda m, a: m.permute(a, (1, 0, 2)), (2, 3, 4)),
    "transpose": (lambda m, a: a.transpose(0, -1), (2, 3, 4)),
    "transpose_fn": (lambda m, a: m.transpose(a, 1, 2), (2, 3, 4)),
    "swapaxes": (lambda m, a: m.swapaxes(a, 0, 1), (2, 3, 4)),
    "swapdims": (lambda m, a: a.swapdims(2, 1), (2, 3, 4)),
    "t": (lambda m, a: a.t(), (3, 5)),
    "t_1d": (lambda m, a: m.t(a), (4,)),
    "T": (lambda m, a: a.T, (3, 5)),
    "mT": (lambda m, a: a.mT, (2, 3, 5)),
    "adjoint": (lambda m, a: a.adjoint(), (2, 3, 5)),
    "movedim": (lambda m, a: a.movedim(0, -1), (2, 3, 4)),
    "movedim_tuple": (lambda m, a: m.movedim(a, (0, 1), (2, 0)), (2, 3, 4)),
    "moveaxis": (lambda m, a: m.moveaxis(a, -1, 0), (2, 3, 4)),
    "squeeze": (lambda m, a: a.squeeze(), (1, 3, 1, 4)),
    "squeeze_dim": (lambda m, a: a.squeeze(2), (1, 3, 1, 4)),
    "squeeze_not_one": (lambda m, a: a.squeeze(1), (1, 3, 1, 4)),
    "squeeze_tuple": (lambda m, a: m.squeeze(a, (0, -2, 1)), (1, 3, 1, 4)),
    "squeeze_0d": (lambda m, a: a.squeeze(0), ()),
    "unsqueeze": (lambda m, a: a.unsqueeze(1), (3, 4)),
    "unsqueeze_neg": (lambda m, a: m.unsqueeze(a, -1), (3, 4)),
    "unsqueeze_0d": (lambda m, a: a.unsqueeze(0), ()),
    "flatten": (lambda m, a: a.flatten(), (2, 3, 4)),
    "flatten_range": (lambda m, a: m.flatten(a, 1, 2), (2, 3, 4, 5)),
    "flatten_0d": (lambda m, a: a.flatten(), ()),
    "flatten_noncontig": (lambda m, a: a.transpose(0, 1).flatten(1), (2, 3, 4)),
    "unflatten": (lambda m, a: a.unflatten(1, (2, -1)), (3, 6)),
    "unflatten_fn": (lambda m, a: m.unflatten(a, -1, (3, 2)), (3, 6)),
    "ravel": (lambda m, a: a.t().ravel(), (3, 4)),
    "ravel_fn": (lambda m, a: m.ravel(a), (3, 4)),
    "repeat": (lambda m, a: a.repeat(2, 3), (3, 2)),
    "repeat_lead": (lambda m, a: a.repeat(2, 1, 3), (3, 2)),
    "repeat_zero": (lambda m, a: a.repeat((0, 2)), (3, 2)),
    "repeat_interleave": (lambda m, a: a.repeat_interleave(3), (2, 3)),
    "repeat_interleave_dim": (lambda m, a: m.repeat_interleave(a, 2, dim=1), (2, 3)),
    "repeat_interleave_tensor": (
        lambda m, a: a.repeat_interleave(m.tensor([1, 0, 3]), dim=1), (2, 3)),
    "repeat_interleave_tensor_flat": (
        lambda m, a: m.repeat_interleave(a, m.tensor([2, 1, 0, 1, 1, 3])), (2, 3)),
    "repeat_interleave_0d_repeats": (lambda m, a: a.repeat_interleave(m.tensor(2), 0), (2, 3)),
    "tile": (lambda m, a: a.tile(2), (2, 3)),
    "tile_more": (lambda m, a: m.tile(a, (2, 1, 2)), (2, 3)),
    "narrow": (lambda m, a: a.narrow(1, 1, 2), (2, 4, 3)),
    "narrow_neg": (lambda m, a: m.narrow(a, -1, -2, 2), (2, 4, 3)),
    "narrow_tensor_start": (lambda m, a: m.narrow(a, 0, m.tensor(1), 1), (2, 4, 3)),
    "select": (lambda m, a: a.select(1, 2), (2, 4, 3)),
    "select_neg": (lambda m, a: m.select(a, -1, -1), (2, 4, 3)),
    "flip": (lambda m, a: a.flip(0, 2), (2, 3, 4)),
    "flip_list": (lambda m, a: m.flip(a, [-1]), (2, 3, 4)),
    "fliplr": (lambda m, a: m.fliplr(a), (2, 3, 4)),
    "flipud": (lambda m, a: a.flipud(), (2, 3)),
    "roll": (lambda m, a: a.roll(1), (2, 3)),
    "roll_dim": (lambda m, a: m.roll(a, -2, 1), (2, 3, 4)),
    "roll_tuple": (lambda m, a: a.roll((1, 5), (0, 2)), (2, 3, 4)),
    "diag_vec": (lambda m, a: m.diag(a), (4,)),
    "diag_vec_offset": (lambda m, a: a.diag(-2), (4,)),
    "diag_mat": (lambda m, a: m.diag(a, 1), (3, 5)),
    "diag_mat_neg": (lambda m, a: a.diag(-1), (4, 3)),
    "diagonal": (lambda m, a: a.diagonal(), (3, 4)),
    "diagonal_offset": (lambda m, a: m.diagonal(a, 1, 0, 2), (3, 2, 4)),
    "diagonal_neg_offset": (lambda m, a: a.diagonal(-1, -1, 0), (3, 2, 4)),
    "diagonal_empty": (lambda m, a: a.diagonal(5), (3, 4)),
    "diag_embed": (lambda m, a: m.diag_embed(a), (2, 3)),
    "diag_embed_dims": (lambda m, a: a.diag_embed(1, 0, 2), (2, 3)),
    "diag_embed_neg": (lambda m, a: m.diag_embed(a, -2, 2, 0), (2, 3)),
    "tril": (lambda m, a: m.tril(a), (3, 4)),
    "tril_k": (lambda m, a: a.tril(1), (2, 3, 4)),
    "triu": (lambda m, a: a.triu(), (4, 3)),
    "triu_k": (lambda m, a: m.triu(a, diagonal=-1), (2, 3, 4)),
    "tril_": (lambda m, a: (a * 1).tril_(-1), (3, 4)),
    "triu_": (lambda m, a: (a * 1).triu_(1), (3, 4)),
    "unfold": (lambda m, a: a.unfold(1, 2, 1), (2, 5, 3)),
    "unfold_step": (lambda m, a: a.unfold(-1, 2, 3), (2, 8)),
    "unfold_big_window": (lambda m, a: a.unfold(0, 5, 1), (6,)),
    "unfold_0d": (lambda m, a: a.unfold(0, 1, 1), ()),
    "unfold_0d_empty": (lambda m, a: a.unfold(-1, 0, 2), ()),
    "as_strided": (lambda m, a: a.as_strided((3, 2), (1, 3)), (2, 3)),
    "as_strided_overlap": (lambda m, a: m.as_strided(a, (3, 3), (1, 1), 1), (2, 3)),
    "as_strided_view": (lambda m, a: a.t().as_strided((2, 2), (2, 1)), (2, 3)),
    "atleast_1d": (lambda m, a: m.atleast_1d(a), ()),
    "atleast_2d": (lambda m, a: m.atleast_2d(a), (3,)),
    "atleast_3d_1d": (lambda m, a: m.atleast_3d(a), (3,)),
    "atleast_3d_2d": (lambda m, a: m.atleast_3d(a), (2, 3)),
    "atleast_3d_0d": (lambda m, a: m.atleast_3d(a), ()),
    "contiguous": (lambda m, a: a.t().contiguous(), (2, 3)),
    "keywords": (lambda m, a: a.view(size=(3, 2)).reshape(shape=(2, 3)).permute(dims=(1, 0))
                 .flip(dims=(0,)).repeat(repeats=(1, 2)).tile(dims=(2,)).swapaxes(axis0=0, axis1=1)
                 .swapdims(dim0=0, dim1=1).narrow(dim=1, start=0, length=3)
                 .unsqueeze(dim=0).expand(size=(2, 3, 3)), (2, 3)),
    "slice_scatter": (lambda m, a: m.slice_scatter(a, a.narrow(1, 0, 2) * 2, 1, 0, 4, 2), (3, 4)),
    "select_scatter": (lambda m, a: m.select_scatter(a, a.select(0, 1) * 3, 0, 0), (3, 4)),
    "diagonal_scatter": (lambda m, a: m.diagonal_scatter(a, a.diagonal(1) ** 2, 1), (3, 4)),
}

# Outputs that are tuples of tensors.
MULTI = {
    "split": (lambda m, a: a.split(2, 1), (2, 5)),
    "split_sizes": (lambda m, a: m.split(a, [1, 3, 1], 1), (2, 5)),
    "split_neg_dim": (lambda m, a: a.split([2, 0], -2), (2, 5)),
    "split_exact": (lambda m, a: m.split(a, 1), (2, 5)),
    "chunk": (lambda m, a: a.chunk(3, 1), (2, 5)),
    "chunk_fewer": (lambda m, a: m.chunk(a, 4), (6,)),
    "unbind": (lambda m, a: a.unbind(1), (2, 3, 4)),
    "unbind_fn": (lambda m, a: m.unbind(a), (2, 3)),
    "tensor_split": (lambda m, a: a.tensor_split(3, 1), (2, 7)),
    "tensor_split_idx": (lambda m, a: m.tensor_split(a, [1, 5, 3, 9], 1), (2, 7)),
    "tensor_split_tensor": (lambda m, a: a.tensor_split(m.tensor([2, -2])), (5, 2)),
    "hsplit": (lambda m, a: m.hsplit(a, 2), (3, 4)),
    "vsplit": (lambda m, a: a.vsplit([1]), (3, 4)),
    "dsplit": (lambda m, a: m.dsplit(a, 2), (1, 2, 4)),
    "atleast_2d_many": (lambda m, a: m.atleast_2d(a, a.sum()), (3,)),
    "broadcast_tensors": (lambda m, a: m.broadcast_tensors(a, m.zeros(4, 1, 1)), (3, 1)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(UNARY) + list(MULTI))
def test_matches_torch(name, dtype):
    fn, shape = UNARY[name] if name in UNARY else MULTI[name]
    check(fn, [rand(shape, dtype, seed=1)])


GRADCHECK = ["view", "reshape_copy", "expand", "permute", "transpose", "t", "movedim_tuple",
             "squeeze_tuple", "unsqueeze", "flatten_noncontig", "unflatten", "repeat_lead",
             "repeat_interleave_dim", "repeat_interleave_tensor", "tile_more", "narrow", "select",
             "flip", "roll_tuple", "diag_vec_offset", "diag_mat", "diagonal_offset",
             "diag_embed_neg", "tril_k", "triu_", "unfold", "unfold_big_window",
             "as_strided_overlap", "slice_scatter", "select_scatter", "diagonal_scatter",
             "split_sizes", "chunk", "unbind", "tensor_split_idx", "broadcast_tensors"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    fn, shape = UNARY[name] if name in UNARY else MULTI[name]
    gradcheck(fn, [rand(shape, seed=2)])


@pytest.mark.parametrize("name", ["unfold", "as_strided_overlap", "repeat_interleave_tensor",
                                  "diagonal", "narrow", "select", "permute", "repeat"])
def test_gradgradcheck(name):
    fn, shape = UNARY[name]
    x = ember.from_numpy(rand(shape, "float64", seed=3)).requires_grad_()
    assert ember.autograd.gradgradcheck(lambda a: fn(ember, a), (x,))


# --- joining ---------------------------------------------------------------------------------

JOIN = {
    "cat": (lambda m, a, b: m.cat([a, b]), [(2, 3), (4, 3)]),
    "cat_dim": (lambda m, a, b: m.cat((a, b, a), dim=-1), [(2, 3), (2, 1)]),
    "concat": (lambda m, a, b: m.concat([a, b], 1), [(2, 3), (2, 1)]),
    "concatenate": (lambda m, a, b: m.concatenate([a, b], axis=0), [(2, 3), (1, 3)]),
    "cat_skips_empty_1d": (lambda m, a, b: m.cat([a, m.zeros(0), b]), [(2, 3), (1, 3)]),
    "cat_single": (lambda m, a, b: m.cat([a]) + b.sum(), [(2, 3), (1,)]),
    "stack": (lambda m, a, b: m.stack([a, b]), [(2, 3), (2, 3)]),
    "stack_dim": (lambda m, a, b: m.stack((a, b, a), dim=-1), [(2, 3), (2, 3)]),
    "stack_0d": (lambda m, a, b: m.stack([a, b], 0), [(), ()]),
    "hstack": (lambda m, a, b: m.hstack([a, b]), [(2, 3), (2, 1)]),
    "hstack_1d": (lambda m, a, b: m.hstack((a, b)), [(2,), (3,)]),
    "vstack": (lambda m, a, b: m.vstack([a, b]), [(3,), (2, 3)]),
    "row_stack": (lambda m, a, b: m.row_stack([a, b]), [(3,), (3,)]),
    "dstack": (lambda m, a, b: m.dstack([a, b]), [(2, 3), (2, 3, 2)]),
    "dstack_1d": (lambda m, a, b: m.dstack([a, b]), [(3,), (3,)]),
    "column_stack": (lambda m, a, b: m.column_stack([a, b]), [(3,), (3, 2)]),
    "column_stack_0d": (lambda m, a, b: m.column_stack([a, b]), [(), (1, 2)]),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", JOIN)
def test_join_matches_torch(name, dtype):
    fn, shapes = JOIN[name]
    check(fn, [rand(s, dtype, seed=i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("name", ["cat_dim", "stack_dim", "hstack", "dstack", "column_stack"])
def test_join_gradcheck(name):
    fn, shapes = JOIN[name]
    gradcheck(fn, [rand(s, seed=i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("dtypes", [("int64", "float32"), ("int64", "bool"), ("float32", "float64"),
                                    ("int32", "int64"), ("uint8", "int8"), ("bool", "bool")])
def test_join_promotes_dtypes(dtypes):
    a, b = rand((2, 3), dtypes[0], seed=1), rand((2, 3), dtypes[1], seed=2)
    check(lambda m, a, b: (m.cat([a, b]), m.stack([a, b], 1), m.hstack([a, b])), [a, b])


def test_cat_promotes_with_skipped_empty():
    check(lambda m, a: m.cat([m.zeros(0, dtype=m.float64), a]), [rand((2, 3))])
    check(lambda m, a: m.cat([m.zeros(0), m.zeros(0)]), [rand((2,))], grad=False)


def test_cat_mixed_grad_and_out():
    a = rand((2, 3), seed=1)
    check(lambda m, a, b: m.cat([a, b.double()], 1), [a, rand((2, 2), "int64")])
    out = ember.empty(4, 3)
    r = ember.cat([ember.from_numpy(a), ember.from_numpy(a)], out=out)
    assert r is out
    np.testing.assert_array_equal(out.numpy(), np.concatenate([a, a]))
    out2 = ember.empty(2, 3, 2)
    ember.stack([ember.from_numpy(a)] * 2, -1, out=out2)
    np.testing.assert_array_equal(out2.numpy(), np.stack([a, a], -1))


def test_int_ops_keep_dtype():
    x = rand((3, 4), "int64")
    check(lambda m, a: (a.flip(0), a.roll(1, 1), a.repeat(2, 1), a.tril(), a.triu(1),
                        m.diag(a), a.diagonal(1), a.unfold(1, 2, 2), a.repeat_interleave(2, 0),
                        m.diag_embed(a), a.t(), a.view(m.int32)), [x], grad=False)
    check(lambda m, a: (a.flip(0), a.tril(), m.stack([a, a])), [rand((3, 4), "bool")], grad=False)


def test_broadcast_shapes():
    for shapes in [((2, 3), (3,)), ((1,), (4, 1), (2, 1, 5)), (3, (2, 1)), ((),), ((0, 1), (3,))]:
        e, t = ember.broadcast_shapes(*shapes), torch.broadcast_shapes(*shapes)
        assert tuple(e) == tuple(t) and isinstance(e, ember.Size)


def test_view_dtype():
    x = rand((2, 4), seed=1)
    check(lambda m, a: (a.view(m.int32), a.view(m.float16), a.view(dtype=m.uint8)), [x],
          grad=False)
    e = ember.from_numpy(x).requires_grad_() * 1
    v = e.view(ember.float32)
    assert not v.requires_grad and v.grad_fn is None
    same_error(lambda m, a: a.view(m.float64), [rand((2, 3))])
    same_error(lambda m, a: a.t().view(m.float16), [rand((2, 3))])


def test_flatten_same_dim_returns_input():
    x = ember.zeros(2, 3)
    assert x.flatten(1, 1) is x and x.flatten(-1, 1) is x


def test_split_of_empty():
    check(lambda m, a: (a.split(0), a.chunk(3), a.split(2, 1)), [rand((0, 3))], grad=False)


# --- views share memory ----------------------------------------------------------------------

VIEWS = {
    "view": lambda m, a: a.view(-1),
    "reshape": lambda m, a: a.reshape(6, 4),
    "expand": lambda m, a: a.narrow(0, 0, 1).expand(3, 3, 4),
    "permute": lambda m, a: a.permute(1, 2, 0),
    "transpose": lambda m, a: a.transpose(0, 1),
    "movedim": lambda m, a: a.movedim(0, 2),
    "squeeze": lambda m, a: a.unsqueeze(0).squeeze(0),
    "unsqueeze": lambda m, a: a.unsqueeze(-1),
    "flatten": lambda m, a: a.flatten(1),
    "unflatten": lambda m, a: a.unflatten(2, (2, 2)),
    "ravel": lambda m, a: a.ravel(),
    "narrow": lambda m, a: a.narrow(2, 1, 2),
    "select": lambda m, a: a.select(1, 2),
    "diagonal": lambda m, a: a.diagonal(0, 1, 2),
    "unfold": lambda m, a: a.unfold(2, 2, 2),
    "as_strided": lambda m, a: a.as_strided((2, 2), (4, 1), 1),
    "split": lambda m, a: a.split(1, 1)[1],
    "chunk": lambda m, a: a.chunk(2, 2)[1],
    "unbind": lambda m, a: a.unbind(2)[3],
    "tensor_split": lambda m, a: a.tensor_split(2)[1],
    "atleast_3d": lambda m, a: m.atleast_3d(a.select(0, 0)),
    "view_dtype": lambda m, a: a.view(m.int32),
    "t": lambda m, a: a.select(0, 0).t(),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views_share_memory_and_writes(name):
    x = rand((2, 3, 4), seed=4)
    e, t = ember.from_numpy(x.copy()), torch.from_numpy(x.copy())
    ev, tv = VIEWS[name](ember, e), VIEWS[name](torch, t)
    assert_same(ev, tv)
    assert np.shares_memory(ev.numpy(), e.numpy())
    if name != "expand":
        ev.mul_(3) if name != "view_dtype" else ev.add_(1)
        tv.mul_(3) if name != "view_dtype" else tv.add_(1)
        assert_same(e, t)
        assert e._version == ev._version == 1


COPIES = {
    "flip": lambda m, a: a.flip(0), "roll": lambda m, a: a.roll(1, 0),
    "repeat": lambda m, a: a.repeat(1, 1, 1), "tile": lambda m, a: a.tile(1),
    "cat": lambda m, a: m.cat([a]), "stack": lambda m, a: m.stack([a]).select(0, 0),
    "tril": lambda m, a: a.tril(), "diag": lambda m, a: m.diag(a.select(0, 0)),
    "reshape_copy": lambda m, a: a.transpose(1, 2).reshape(-1),
    "repeat_interleave": lambda m, a: a.repeat_interleave(1, 0),
}


@pytest.mark.parametrize("name", COPIES)
def test_copies_do_not_share_memory(name):
    e = ember.from_numpy(rand((2, 3, 4)))
    assert not np.shares_memory(COPIES[name](ember, e).numpy(), e.numpy())


def test_expanded_view_refuses_inplace_like_torch():
    same_error(lambda m, a: a.expand(3, 4).add_(1), [rand((1, 4))])
    # torch writes overlapping unfold windows with undefined results; ember refuses instead
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        ember.ones(5).unfold(0, 3, 1).mul_(2)
    e = ember.ones(1, 4)
    e.expand(1, 4).add_(1)  # nothing broadcast: a writable view, as in torch
    np.testing.assert_array_equal(e.numpy(), np.full((1, 4), 2.0, np.float32))


# --- errors ----------------------------------------------------------------------------------

ERRORS = {
    "view_bad": (lambda m, a: a.view(5, -1), (2, 3, 4)),
    "view_two_infer": (lambda m, a: a.view(-1, -1), (2, 3, 4)),
    "view_negative": (lambda m, a: a.view(-2, 12), (2, 3, 4)),
    "view_noncontig": (lambda m, a: a.transpose(0, 1).view(-1), (2, 3, 4)),
    "reshape_bad": (lambda m, a: a.reshape(5, 5), (2, 3, 4)),
    "expand_fewer": (lambda m, a: a.expand(3, 4), (2, 3, 4)),
    "expand_mismatch": (lambda m, a: a.expand(3, 3, 4), (2, 3, 4)),
    "expand_lead_neg": (lambda m, a: a.expand(-1, 3, 4), (3, 4)),
    "permute_len": (lambda m, a: a.permute(0, 1), (2, 3, 4)),
    "permute_no_dims": (lambda m, a: a.permute(), (2, 3, 4)),
    "permute_dup": (lambda m, a: a.permute(0, 0, 1), (2, 3, 4)),
    "permute_range": (lambda m, a: a.permute(0, 1, 5), (2, 3, 4)),
    "transpose_range": (lambda m, a: a.transpose(0, 3), (2, 3, 4)),
    "t_3d": (lambda m, a: a.t(), (2, 3, 4)),
    "adjoint_1d": (lambda m, a: a.adjoint(), (3,)),
    "squeeze_range": (lambda m, a: a.squeeze(3), (2, 3, 4)),
    "squeeze_dup": (lambda m, a: a.squeeze((0, 0)), (1, 3)),
    "unsqueeze_range": (lambda m, a: a.unsqueeze(4), (2, 3, 4)),
    "flatten_order": (lambda m, a: a.flatten(2, 1), (2, 3, 4)),
    "flatten_range": (lambda m, a: a.flatten(0, 3), (2, 3, 4)),
    "unflatten_bad": (lambda m, a: a.unflatten(1, (2, 2)), (2, 3, 4)),
    "movedim_dup": (lambda m, a: a.movedim((0, 0), (1, 2)), (2, 3, 4)),
    "movedim_len": (lambda m, a: a.movedim((0, 1), (1,)), (2, 3, 4)),
    "movedim_range": (lambda m, a: a.movedim(0, 3), (2, 3, 4)),
    "repeat_fewer": (lambda m, a: a.repeat(2, 2), (2, 3, 4)),
    "repeat_negative": (lambda m, a: a.repeat(2, 2, -1), (2, 3, 4)),
    "repeat_interleave_neg": (lambda m, a: m.repeat_interleave(a, -1), (2, 3)),
    "repeat_interleave_len": (lambda m, a: a.repeat_interleave(m.tensor([1, 2]), 1), (2, 3)),
    "repeat_interleave_negt": (lambda m, a: a.repeat_interleave(m.tensor([1, -2]), 0), (2, 3)),
    "tile_negative": (lambda m, a: a.tile(-1), (2, 3)),
    "narrow_past_end": (lambda m, a: a.narrow(1, 2, 3), (2, 3, 4)),
    "narrow_negative_length": (lambda m, a: a.narrow(1, 0, -1), (2, 3, 4)),
    "narrow_start_range": (lambda m, a: a.narrow(1, 5, 0), (2, 3, 4)),
    "narrow_dim": (lambda m, a: a.narrow(3, 0, 1), (2, 3, 4)),
    "select_index": (lambda m, a: a.select(1, 3), (2, 3, 4)),
    "select_neg_index": (lambda m, a: a.select(1, -4), (2, 3, 4)),
    "select_0d": (lambda m, a: a.select(0, 0), ()),
    "split_sum": (lambda m, a: a.split([1, 2], 0), (2, 3)),
    "split_zero": (lambda m, a: a.split(0, 0), (2, 3)),
    "split_dim": (lambda m, a: a.split(1, 2), (2, 3)),
    "chunk_zero": (lambda m, a: a.chunk(0), (2, 3)),
    "tensor_split_zero": (lambda m, a: a.tensor_split(0), (2, 3)),
    "hsplit_uneven": (lambda m, a: m.hsplit(a, 2), (2, 3)),
    "vsplit_1d": (lambda m, a: m.vsplit(a, 1), (3,)),
    "unbind_range": (lambda m, a: a.unbind(3), (2, 3, 4)),
    "flip_dup": (lambda m, a: a.flip(0, 0), (2, 3)),
    "flip_range": (lambda m, a: a.flip(2), (2, 3)),
    "fliplr_1d": (lambda m, a: m.fliplr(a), (3,)),
    "flipud_0d": (lambda m, a: m.flipud(a), ()),
    "roll_align": (lambda m, a: a.roll((1, 2), (0,)), (2, 3)),
    "roll_range": (lambda m, a: a.roll(1, 2), (2, 3)),
    "diag_3d": (lambda m, a: m.diag(a), (2, 3, 4)),
    "diagonal_same": (lambda m, a: a.diagonal(0, 1, 1), (2, 3, 4)),
    "diagonal_range": (lambda m, a: a.diagonal(0, 0, 3), (2, 3, 4)),
    "diag_embed_same": (lambda m, a: m.diag_embed(a, 0, 1, 1), (2, 3)),
    "tril_1d": (lambda m, a: m.tril(a), (3,)),
    "triu_1d": (lambda m, a: a.triu(), (3,)),
    "unfold_size": (lambda m, a: a.unfold(2, 5, 1), (2, 3, 4)),
    "unfold_step": (lambda m, a: a.unfold(2, 2, 0), (2, 3, 4)),
    "unfold_dim": (lambda m, a: a.unfold(3, 2, 1), (2, 3, 4)),
    "as_strided_oob": (lambda m, a: a.as_strided((3, 3), (3, 1)), (2, 3)),
    "broadcast_tensors": (lambda m, a: m.broadcast_tensors(a, m.zeros(5)), (2, 3, 4)),
    "broadcast_to": (lambda m, a: m.broadcast_to(a, (2, 5)), (2, 3)),
    "cat_empty": (lambda m, a: m.cat([]), (2,)),
    "cat_shape": (lambda m, a: m.cat([a, m.zeros(2, 4)]), (2, 3)),
    "cat_ndim": (lambda m, a: m.cat([a, m.zeros(2)]), (2, 3)),
    "cat_dim": (lambda m, a: m.cat([a, a], 2), (2, 3)),
    "cat_0d": (lambda m, a: m.cat([a, a]), ()),
    "cat_not_tensor": (lambda m, a: m.cat([a, 1]), (2,)),
    "cat_tensor_arg": (lambda m, a: m.cat(a), (2,)),
    "stack_shape": (lambda m, a: m.stack([a, m.zeros(3)]), (2, 3)),
    "stack_empty": (lambda m, a: m.stack([]), (2,)),
    "stack_dim": (lambda m, a: m.stack([a, a], 4), (2, 3)),
    "hstack_empty": (lambda m, a: m.hstack([]), (2,)),
    "vstack_empty": (lambda m, a: m.vstack(()), (2,)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    fn, shape = ERRORS[name]
    same_error(fn, [rand(shape)])


def test_error_messages():
    x = ember.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.transpose(0, 1).view(-1)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 24"):
        x.view(5, -1)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(3\) must match the "
                                           r"existing size \(2\) at non-singleton dimension 0"):
        x.expand(3, 3, 4)
    with pytest.raises(RuntimeError, match=r"expand\(torch.FloatTensor\{\[2, 3, 4\]\}"):
        x.expand(3, 4)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0. "
                                           "Expected size 3 but got size 4 for tensor number 1"):
        ember.cat([x, ember.zeros(2, 4, 4)])
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-3, 2\], but got 3\)"):
        x.transpose(0, 3)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        x.t()


# --- hypothesis: random shapes and dims ------------------------------------------------------

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=4).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_permute_transpose_property(shape, data):
    n = len(shape)
    x = rand(shape, seed=len(shape))
    perm = data.draw(st.permutations(range(n)))
    check(lambda m, a: a.permute(perm), [x])
    if n:
        d0, d1 = data.draw(st.integers(-n, n - 1)), data.draw(st.integers(-n, n - 1))
        check(lambda m, a: a.transpose(d0, d1), [x])


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_squeeze_unsqueeze_property(shape, data):
    n = len(shape)
    x = rand(shape, seed=n)
    d = data.draw(st.integers(-n - 1, n))
    check(lambda m, a: a.unsqueeze(d), [x])
    check(lambda m, a: a.squeeze(), [x])
    if n:
        dims = tuple(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
        check(lambda m, a: a.squeeze(dims), [x])
        check(lambda m, a: a.squeeze(dims[0] - n), [x])


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), data=st.data())
def test_cat_property(shape, data):
    n = len(shape)
    dim = data.draw(st.integers(-n, n - 1))
    count = data.draw(st.integers(1, 3))
    arrays = []
    for i in range(count):
        s = list(shape)
        s[dim] = data.draw(st.integers(0, 3))
        dtype = data.draw(st.sampled_from(["float32", "float64", "int64"]))
        arrays.append(rand(tuple(s), dtype, seed=i))
    check(lambda m, *xs: m.cat(xs, dim), arrays)
    check(lambda m, *xs: m.stack([x.narrow(dim, 0, 0) for x in xs], dim), arrays)
