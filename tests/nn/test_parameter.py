"""Parameter and Buffer against torch's."""

import copy
import pickle

import numpy as np
import pytest
import torch

import ember
import ember.nn as enn


def test_parameter_basics_and_repr():
    t = ember.tensor([1.0, 2.0])
    p = enn.Parameter(t)
    assert isinstance(p, enn.Parameter) and isinstance(p, ember.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.data_ptr() == t.data_ptr()  # shares memory
    t.add_(1)
    assert p.tolist() == [2.0, 3.0]
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([2.0, 3.0])))
    assert repr(enn.Parameter(ember.ones(2), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert repr(enn.Parameter(ember.ones(2, dtype=ember.float64))) == \
        repr(torch.nn.Parameter(torch.ones(2, dtype=torch.float64))).replace("torch.", "ember.")
    empty = enn.Parameter()
    assert empty.shape == (0,) and empty.requires_grad


def test_parameter_of_non_leaf_is_a_leaf():
    x = ember.ones(2, requires_grad=True)
    p = enn.Parameter(x * 2)
    assert p.is_leaf and p.requires_grad
    p.sum().backward()
    assert x.grad is None and p.grad.tolist() == [1.0, 1.0]


def test_parameter_of_integers_cannot_require_grad():
    with pytest.raises(RuntimeError):
        torch.nn.Parameter(torch.tensor([1]))
    with pytest.raises(RuntimeError):
        enn.Parameter(ember.tensor([1]))
    assert not enn.Parameter(ember.tensor([1]), requires_grad=False).requires_grad


def test_ops_on_parameters_give_plain_tensors():
    p = enn.Parameter(ember.ones(2))
    y = p * 2
    assert type(y) is ember.Tensor and y.grad_fn is not None
    assert type(p.detach()) is ember.Tensor


def test_parameter_pickle_and_deepcopy():
    p = enn.Parameter(ember.tensor([1.0, 2.0]))
    p.sum().backward()
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
        assert type(q) is enn.Parameter and q.requires_grad
        assert q.tolist() == [1.0, 2.0] and q.data_ptr() != p.data_ptr()
    assert copy.deepcopy(p).grad is None  # as torch: the gradient is not copied
    frozen = pickle.loads(pickle.dumps(enn.Parameter(ember.ones(1), requires_grad=False)))
    assert not frozen.requires_grad


def test_buffer():
    b = enn.Buffer(ember.ones(2))
    assert isinstance(b, enn.Buffer) and type(b) is ember.Tensor
    assert not isinstance(ember.ones(2), enn.Buffer)
    m = enn.Module()
    m.running = b
    m.cache = enn.Buffer(ember.zeros(1), persistent=False)
    assert list(m.state_dict()) == ["running"]
    assert [n for n, _ in m.named_buffers()] == ["running", "cache"]
    np.testing.assert_array_equal(m.running.numpy(), [1.0, 1.0])
