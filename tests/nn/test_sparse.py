"""Embedding, EmbeddingBag and one_hot against torch."""

import numpy as np
import pytest
import torch
from nn_check import check_layer, copy_state, same_repr
from reference import check, gradcheck, rand, same_error

import ember
import ember.nn as enn
from ember.autograd import gradgradcheck


def F(m):
    return m.nn.functional


def idx(shape, high, seed=0, dtype=np.int64):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_embedding_layer(dtype, kwargs):
    check_layer(lambda nn: nn.Embedding(6, 3, **kwargs), [idx((4, 5), 6)], dtype=dtype)


def test_embedding_functional_and_gradcheck():
    i = idx((3, 4), 5)
    w = rand((5, 3))
    check(lambda m, a, b: F(m).embedding(a, b), [i, w])
    check(lambda m, a, b: F(m).embedding(a, b, padding_idx=1), [i, w])
    check(lambda m, a, b: F(m).embedding(a, b), [idx((7,), 5, dtype=np.int32), w])
    check(lambda m, a, b: F(m).embedding(a, b), [np.array(3), w])
    gradcheck(lambda m, a, b: F(m).embedding(a, b), [i, w])
    wt = ember.from_numpy(w.astype(np.float64)).requires_grad_()
    it = ember.from_numpy(i)
    assert gradgradcheck(lambda b: F(ember).embedding(it, b) ** 2, (wt,))


def test_embedding_sparse_flag_gives_dense_gradient():
    i = idx((4, 5), 6)
    t, e = torch.nn.Embedding(6, 3, sparse=True), enn.Embedding(6, 3, sparse=True)
    copy_state(e, t)
    t(torch.from_numpy(i)).sum().backward()
    e(ember.from_numpy(i)).sum().backward()
    np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.to_dense().numpy())


def test_embedding_max_norm_renormalises_in_place():
    w = rand((6, 4), low=-3, high=3)
    i = np.array([[0, 2], [2, 5]])
    te, ee = torch.from_numpy(w.copy()), ember.from_numpy(w.copy())
    t_out = F(torch).embedding(torch.from_numpy(i), te, max_norm=1.5)
    e_out = F(ember).embedding(ember.from_numpy(i), ee, max_norm=1.5)
    np.testing.assert_allclose(ee.numpy(), te.numpy(), rtol=1e-6)
    np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-6)
    check_layer(lambda nn: nn.Embedding(6, 4, max_norm=1.0, norm_type=1.0), [i])


def test_embedding_from_pretrained_and_freeze():
    w = ember.from_numpy(rand((4, 3)))
    emb = enn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad and emb.weight.data_ptr() == w.data_ptr()
    assert repr(emb) == "Embedding(4, 3)"
    trainable = enn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad
    trainable(ember.tensor([1, 2])).sum().backward()
    assert not trainable.weight.grad[1].numpy().any()
    with pytest.raises(AssertionError):
        enn.Embedding.from_pretrained(ember.ones(3))
    with pytest.raises(AssertionError):
        enn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError):
        enn.Embedding(3, 2, _weight=ember.ones(2, 2))


@pytest.mark.parametrize("fn, arrays", [
    (lambda m, i, w: F(m).embedding(i, w), [np.array([5]), rand((5, 3))]),
    (lambda m, i, w: F(m).embedding(i, w), [np.array([-1]), rand((5, 3))]),
    (lambda m, i, w: F(m).embedding(i, w), [np.array([1.0], np.float32), rand((5, 3))]),
    (lambda m, i, w: F(m).embedding(i, w, padding_idx=5), [np.array([1]), rand((5, 3))]),
])
def test_embedding_errors(fn, arrays):
    same_error(fn, arrays)


BAGS = {
    "2d_mean": ({}, [idx((3, 4), 6)], {}),
    "2d_sum": ({"mode": "sum"}, [idx((3, 4), 6)], {}),
    "2d_max": ({"mode": "max"}, [idx((3, 4), 6)], {}),
    "offsets_mean": ({}, [idx((7,), 6), np.array([0, 2, 2, 5])], {}),
    "offsets_sum": ({"mode": "sum"}, [idx((7,), 6), np.array([0, 3])], {}),
    "offsets_max": ({"mode": "max"}, [idx((7,), 6), np.array([0, 0, 3, 7])], {}),
    "last_offset": ({"include_last_offset": True}, [idx((7,), 6), np.array([0, 2, 5, 7])], {}),
    "padding": ({"padding_idx": 1}, [np.array([1, 2, 1, 3, 1]), np.array([0, 2, 4])], {}),
    "padding_sum": ({"padding_idx": 1, "mode": "sum"}, [np.array([[1, 2], [1, 1]])], {}),
    "padding_max": ({"padding_idx": 1, "mode": "max"}, [np.array([1, 2, 1, 3, 1]),
                                                         np.array([0, 2, 4])], {}),
}


@pytest.mark.parametrize("name", BAGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_bag_layer(name, dtype):
    kwargs, arrays, _ = BAGS[name]
    check_layer(lambda nn: nn.EmbeddingBag(6, 3, **kwargs), arrays, dtype=dtype)


def test_embedding_bag_per_sample_weights():
    i, off = idx((6,), 5), np.array([0, 2, 4])
    psw = rand((6,), seed=3)
    check_layer(lambda nn: nn.EmbeddingBag(5, 3, mode="sum"), [i, off, psw])
    check(lambda m, a, o, w, p: F(m).embedding_bag(a, w, o, mode="sum", per_sample_weights=p),
          [i, off, rand((5, 3)), psw])
    gradcheck(lambda m, a, o, w, p: F(m).embedding_bag(a, w, o, mode="sum",
                                                       per_sample_weights=p),
              [i, off, rand((5, 3)), psw])
    gradcheck(lambda m, a, w: F(m).embedding_bag(a, w, mode="max"), [idx((3, 3), 5),
                                                                     rand((5, 4))])


@pytest.mark.parametrize("fn, arrays", [
    (lambda m, i, w: F(m).embedding_bag(i, w), [idx((5,), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w, m.tensor([0, 1])), [idx((2, 2), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w, m.tensor([1, 2])), [idx((5,), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w, m.tensor([0, 9])), [idx((5,), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w, mode="prod"), [idx((2, 2), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w, mode="max", scale_grad_by_freq=True),
     [idx((2, 2), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w, per_sample_weights=m.ones(4)),
     [idx((2, 2), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w), [idx((2, 2, 2), 4), rand((4, 3))]),
    (lambda m, i, w: F(m).embedding_bag(i, w), [idx((2, 2), 4), rand((4,))]),
])
def test_embedding_bag_errors(fn, arrays):
    same_error(fn, arrays)


def test_one_hot():
    check(lambda m, a: F(m).one_hot(a), [np.array([[0, 2], [1, 4]])], grad=False)
    check(lambda m, a: F(m).one_hot(a, 6), [np.array([0, 2, 1])], grad=False)
    check(lambda m, a: F(m).one_hot(a, 3), [np.zeros((0,), np.int64)], grad=False)
    for arr, k in [(np.array([1, 5]), 3), (np.array([1, -1]), 3), (np.zeros(0, np.int64), -1),
                   (np.array([1.0]), -1)]:
        same_error(lambda m, a, kk=k: F(m).one_hot(a, kk), [arr])


@pytest.mark.parametrize("make", [
    lambda nn: nn.Embedding(5, 3), lambda nn: nn.Embedding(5, 3, padding_idx=-2),
    lambda nn: nn.Embedding(5, 3, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True,
                            sparse=True),
    lambda nn: nn.EmbeddingBag(5, 3), lambda nn: nn.EmbeddingBag(5, 3, mode="sum", padding_idx=0),
    lambda nn: nn.EmbeddingBag(5, 3, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True),
])
def test_reprs(make):
    same_repr(make)


def test_embedding_state_dict_round_trip():
    t, e = torch.nn.Embedding(4, 2), enn.Embedding(4, 2)
    copy_state(e, t)
    np.testing.assert_array_equal(e.weight.detach().numpy(), t.weight.detach().numpy())
