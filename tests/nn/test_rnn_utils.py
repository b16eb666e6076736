"""nn.utils.rnn against torch: pad_sequence, pack_padded_sequence, pad_packed_sequence,
pack_sequence, unpack_sequence, unpad_sequence, PackedSequence - values, gradients, errors."""

import numpy as np
import pytest
import torch
from reference import assert_same

import ember
import ember.nn  # noqa: F401


def U(lib):
    return torch.nn.utils.rnn if lib is torch else ember.nn.utils.rnn


def _seqs(lib, lengths, trailing=(2,), dtype="float32", grad=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n,) + trailing).astype(dtype) for n in lengths]
    return [lib.tensor(a, requires_grad=grad and dtype.startswith("float")) for a in arrays]


def _grads_match(e_leaves, t_leaves, e_out, t_out):
    w = np.random.default_rng(9).standard_normal(tuple(t_out.shape)).astype("float32")
    (t_out * torch.from_numpy(w)).sum().backward()
    (e_out * ember.from_numpy(w)).sum().backward()
    for e, t in zip(e_leaves, t_leaves):
        assert_same(e.grad, t.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2,), (2, 3)])
def test_pad_sequence(batch_first, padding_side, trailing):
    lengths = [3, 5, 1]
    t_in, e_in = _seqs(torch, lengths, trailing), _seqs(ember, lengths, trailing)
    kw = dict(batch_first=batch_first, padding_value=-1.5, padding_side=padding_side)
    t_out, e_out = U(torch).pad_sequence(t_in, **kw), U(ember).pad_sequence(e_in, **kw)
    assert_same(e_out, t_out)
    _grads_match(e_in, t_in, e_out, t_out)


def test_pad_sequence_integers_and_tensor_input():
    t_in = [torch.tensor([1, 2, 3]), torch.tensor([4])]
    e_in = [ember.tensor([1, 2, 3]), ember.tensor([4])]
    assert_same(U(ember).pad_sequence(e_in, True, 7), U(torch).pad_sequence(t_in, True, 7))
    x = np.arange(6.0, dtype="float32").reshape(2, 3)
    assert_same(U(ember).pad_sequence(ember.from_numpy(x)),
                U(torch).pad_sequence(torch.from_numpy(x)))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths, enforce_sorted", [
    ([5, 3, 3, 1], True), ([3, 5, 1, 3], False), ([2, 2], True), ([4], True)])
def test_pack_padded_and_pad_packed(batch_first, lengths, enforce_sorted):
    rng = np.random.default_rng(0)
    n_steps, batch = max(lengths) + 1, len(lengths)
    x = rng.standard_normal((batch, n_steps, 2) if batch_first else (n_steps, batch, 2))
    x = x.astype("float32")
    res = {}
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        p = U(lib).pack_padded_sequence(xt, lib.tensor(lengths), batch_first=batch_first,
                                        enforce_sorted=enforce_sorted)
        padded, lens = U(lib).pad_packed_sequence(p, batch_first=batch_first, padding_value=9.0,
                                                  total_length=n_steps + 1)
        res[lib] = (xt, p, padded, lens)
    (ex, ep, epad, elen), (tx, tp, tpad, tlen) = res[ember], res[torch]
    assert_same(ep.data, tp.data)
    assert ep.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert ep.batch_sizes.dtype == ember.int64
    for e, t in ((ep.sorted_indices, tp.sorted_indices),
                 (ep.unsorted_indices, tp.unsorted_indices)):
        assert (e is None and t is None) or e.tolist() == t.tolist()
    assert_same(epad, tpad)
    assert elen.tolist() == tlen.tolist() and elen.dtype == ember.int64
    _grads_match([ex], [tx], epad, tpad)


def test_pack_sequence_unpack_sequence_unpad_sequence():
    lengths = [2, 4, 3]
    t_in, e_in = _seqs(torch, lengths), _seqs(ember, lengths)
    tp = U(torch).pack_sequence(t_in, enforce_sorted=False)
    ep = U(ember).pack_sequence(e_in, enforce_sorted=False)
    assert_same(ep.data, tp.data)
    for e, t in zip(U(ember).unpack_sequence(ep), U(torch).unpack_sequence(tp)):
        assert_same(e, t)
    tpad, epad = U(torch).pad_sequence(t_in), U(ember).pad_sequence(e_in)
    e_un = U(ember).unpad_sequence(epad, ember.tensor(lengths))
    t_un = U(torch).unpad_sequence(tpad, torch.tensor(lengths))
    for e, t in zip(e_un, t_un):
        assert_same(e, t)
    sorted_in = _seqs(ember, [4, 3, 2])
    p = U(ember).pack_sequence(sorted_in)
    assert p.sorted_indices is None and p.unsorted_indices is None
    assert p.batch_sizes.tolist() == [3, 3, 2, 1]


def test_packed_sequence_repr_and_conversions():
    e = U(ember).pack_sequence([ember.tensor([1.0, 2.0]), ember.tensor([3.0])])
    t = U(torch).pack_sequence([torch.tensor([1.0, 2.0]), torch.tensor([3.0])])
    assert repr(e) == repr(t)
    assert e.to(ember.float32) is e
    d = e.double()
    assert d.data.dtype == ember.float64 and d.batch_sizes is e.batch_sizes
    assert e.long().data.dtype == ember.int64
    assert not e.is_cuda
    data, batch_sizes, sorted_indices, unsorted_indices = e
    assert data is e.data and sorted_indices is None
    built = U(ember).PackedSequence(e.data, e.batch_sizes, ember.tensor([1, 0]))
    assert built.unsorted_indices.tolist() == [1, 0]
    assert U(ember).invert_permutation(ember.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert U(ember).invert_permutation(None) is None


@pytest.mark.parametrize("call", [
    lambda u, m: u.pack_padded_sequence(m.zeros(5, 3, 2), [3, 4, 2]),
    lambda u, m: u.pack_padded_sequence(m.zeros(5, 3, 2), [3, 2]),
    lambda u, m: u.pack_padded_sequence(m.zeros(5, 3, 2), [3, 2, 0]),
    lambda u, m: u.pack_padded_sequence(m.zeros(0, 3), [1, 1, 1]),
    lambda u, m: u.pack_sequence([m.zeros(2), m.zeros(3)]),
    lambda u, m: u.pad_sequence([m.zeros(2), m.zeros(3)], padding_side="middle"),
    lambda u, m: u.pad_sequence([m.zeros(2, 3), m.zeros(3, 2)]),
    lambda u, m: u.pad_sequence([]),
    lambda u, m: u.pad_sequence(5),
    lambda u, m: u.pad_packed_sequence(u.pack_sequence([m.zeros(3), m.zeros(2)]),
                                       total_length=2),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as t_info:
        call(U(torch), torch)
    with pytest.raises(type(t_info.value)) as e_info:
        call(U(ember), ember)
    assert str(e_info.value) == str(t_info.value).replace("torch", "ember")


def test_lengths_longer_than_the_input_are_an_error():
    with pytest.raises(RuntimeError, match="does not fit"):
        U(ember).pack_padded_sequence(ember.zeros(5, 3), [6, 4, 2])
