"""nn.utils (gradient clipping, parameter vectors), DataParallel and module utils."""

import math
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
from nn_check import copy_state

import ember
import ember.nn as enn
from ember.nn.modules.utils import _pair, _single, _triple, consume_prefix_in_state_dict_if_present


def grads_pair(seed=0):
    """Two small nets with identical parameters and gradients."""
    torch.manual_seed(seed)
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    e = enn.Sequential(enn.Linear(3, 4), enn.Linear(4, 2))
    copy_state(e, t)
    x = np.random.default_rng(seed).standard_normal((5, 3)).astype(np.float32)
    (t(torch.from_numpy(x)) ** 2).sum().backward()
    (e(ember.from_numpy(x)) ** 2).sum().backward()
    return e, t


def assert_grads_equal(e, t):
    for pe, pt in zip(e.parameters(), t.parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    e, t = grads_pair()
    total_e = enn.utils.clip_grad_norm_(e.parameters(), max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(t.parameters(), max_norm, norm_type)
    np.testing.assert_allclose(total_e.item(), total_t.item(), rtol=1e-5)
    assert_grads_equal(e, t)


def test_clip_grad_norm_variants():
    e, _ = grads_pair()
    w = e[0].weight
    total = enn.utils.clip_grad_norm_(w, 0.01, foreach=True)
    assert total.shape == () and abs(np.linalg.norm(w.grad.numpy()) - 0.01) < 1e-5
    assert enn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        enn.utils.clip_grad_norm_((p for p in []), 1.0)
    with pytest.warns(FutureWarning):
        enn.utils.clip_grad_norm(e.parameters(), 1.0)
    w.grad[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        enn.utils.clip_grad_norm_(e.parameters(), 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    e, t = grads_pair(1)
    enn.utils.clip_grad_value_(e.parameters(), 0.5)
    torch.nn.utils.clip_grad_value_(t.parameters(), 0.5)
    assert_grads_equal(e, t)
    assert all(np.abs(p.grad.numpy()).max() <= 0.5 for p in e.parameters())
    enn.utils.clip_grad_value_(e[0].weight, 0.1, foreach=False)
    assert np.abs(e[0].weight.grad.numpy()).max() <= 0.1


def test_parameters_to_vector_round_trip():
    e, t = grads_pair()
    ve = enn.utils.parameters_to_vector(e.parameters())
    vt = torch.nn.utils.parameters_to_vector(t.parameters())
    np.testing.assert_allclose(ve.detach().numpy(), vt.detach().numpy())
    assert ve.requires_grad
    new = ember.arange(ve.numel(), dtype=ember.float32)
    enn.utils.vector_to_parameters(new, e.parameters())
    np.testing.assert_array_equal(enn.utils.parameters_to_vector(e.parameters()).detach().numpy(),
                                  new.numpy())
    assert isinstance(e[0].weight, enn.Parameter) and e[0].weight.shape == (4, 3)
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        enn.utils.vector_to_parameters([1.0], e.parameters())


def test_data_parallel_on_cpu():
    model = enn.Sequential(enn.Linear(3, 2), enn.ReLU())
    dp = enn.DataParallel(model)
    assert dp.module is model and dp.device_ids == []
    x = ember.randn(4, 3)
    np.testing.assert_array_equal(dp(x).detach().numpy(), model(x).detach().numpy())
    assert list(dp.state_dict()) == ["module.0.weight", "module.0.bias"]
    assert repr(dp) == repr(torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 2),
                                                                      torch.nn.ReLU())))
    bare = enn.Sequential(enn.Linear(3, 2), enn.ReLU())
    with pytest.raises(RuntimeError, match='Missing key'):
        bare.load_state_dict(dp.state_dict())
    sd = dp.state_dict()
    consume_prefix_in_state_dict_if_present(sd, "module.")
    bare.load_state_dict(sd)
    np.testing.assert_array_equal(bare(x).detach().numpy(), model(x).detach().numpy())
    out = enn.parallel.data_parallel(model, x)
    np.testing.assert_array_equal(out.detach().numpy(), model(x).detach().numpy())


def test_consume_prefix_matches_torch():
    def run(lib):
        m = lib.nn.DataParallel(lib.nn.Sequential(lib.nn.Linear(1, 1)))
        sd = m.state_dict()
        if lib is torch:
            torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, "module.")
        else:
            consume_prefix_in_state_dict_if_present(sd, "module.")
        return list(sd), sorted(sd._metadata)

    assert run(ember) == run(torch)
    plain = OrderedDict(a=1)
    consume_prefix_in_state_dict_if_present(plain, "module.")
    assert plain == {"a": 1}


def test_tuple_helpers():
    assert _single(3) == (3,) and _pair(3) == (3, 3) and _triple((1, 2, 3)) == (1, 2, 3)
    assert _pair([1, 2]) == (1, 2)


def test_namespace_exports_match_torch():
    for name in dir(torch.nn.modules):
        obj = getattr(torch.nn, name, None)
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module) and not name.startswith(
                ("Lazy", "_", "Conv", "MaxPool", "AvgPool", "Adaptive", "MaxUnpool", "LPPool",
                 "Zero", "Constant", "Reflection", "Replication", "Circular", "Upsampl",
                 "Pixel", "RNN", "LSTM", "GRU", "Transformer", "Multihead", "Sync", "CTC",
                 "NLLLoss2d", "Container", "Fold", "Unfold", "ChannelShuffle", "CrossMap",
                 "AdaptiveLogSoftmax", "Linear", "NonDynamic", "Module", "Parameter",
                 "LinearCrossEntropyLoss", "Fractional")):
            assert hasattr(enn, name), name
    assert isinstance(enn.functional, types.ModuleType) and isinstance(enn.init, types.ModuleType)
