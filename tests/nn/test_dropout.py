"""Dropout: identity in eval, statistics and masks in training, gradients through the mask,
channel-wise variants, alpha dropout's moments, errors and warnings as torch's."""

import warnings

import numpy as np
import pytest
import torch
from nn_check import same_repr
from reference import rand

import ember
import ember.nn as enn

F = enn.functional


def test_eval_and_p0_return_the_input():
    x = ember.randn(4, 5)
    for fn in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout):
        assert fn(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(ember.randn(2, 3, 4, 4), training=False).shape == (2, 3, 4, 4)
    for layer, shape in ((enn.Dropout(), (2, 3)), (enn.Dropout1d(), (2, 3, 4)),
                         (enn.Dropout2d(), (2, 3, 4, 4)), (enn.Dropout3d(), (2, 3, 4, 4, 4)),
                         (enn.AlphaDropout(), (2, 3)), (enn.FeatureAlphaDropout(), (2, 3, 4))):
        layer.eval()
        y = ember.randn(*shape)
        assert layer(y) is y


def test_dropout_statistics_and_gradient():
    ember.manual_seed(0)
    x = ember.ones(200, 100, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    assert not F.dropout(x, 1.0).detach().numpy().any()


def test_dropout_uses_the_default_generator():
    ember.manual_seed(3)
    a = F.dropout(ember.ones(50), 0.5)
    ember.manual_seed(3)
    b = F.dropout(ember.ones(50), 0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_inplace_dropout():
    ember.manual_seed(0)
    x = ember.ones(10, 10)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}
    leaf = ember.ones(5, requires_grad=True)
    y = leaf * 1
    out = enn.Dropout(0.5, inplace=True)(y)
    assert out is y
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), y.detach().numpy())


@pytest.mark.parametrize("fn, shape, mask_dims", [
    (F.dropout1d, (4, 6, 8), 2), (F.dropout1d, (6, 8), 1), (F.dropout2d, (4, 6, 5, 5), 2),
    (F.dropout3d, (4, 6, 3, 3, 3), 2), (F.dropout3d, (6, 3, 3, 3), 1),
    (F.feature_alpha_dropout, (4, 6, 5), 2),
])
def test_channel_dropout_zeroes_whole_channels(fn, shape, mask_dims):
    ember.manual_seed(1)
    y = fn(ember.ones(*shape), 0.5, training=True).numpy()
    flat = y.reshape(shape[:mask_dims] + (-1,))
    assert (flat == flat[..., :1]).all()  # one value per channel
    if fn is not F.feature_alpha_dropout:
        assert set(np.unique(flat)) <= {0.0, 2.0}


def test_dropout2d_warnings_as_torch():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(ember.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        y = F.dropout2d(ember.ones(20, 30))
    # as torch: a 2-D input gets element-wise dropout
    assert 0.3 < (y.numpy() == 0).mean() < 0.7
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(ember.ones(2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.nn.functional.dropout2d(torch.ones(2, 3, 4))


def test_alpha_dropout_keeps_moments():
    ember.manual_seed(0)
    x = ember.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    t = torch.nn.functional.alpha_dropout(torch.ones(1000), 0.2, training=True).numpy()
    e = F.alpha_dropout(ember.ones(1000), 0.2, training=True).numpy()
    assert set(np.round(np.unique(e), 5)) == set(np.round(np.unique(t), 5))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_invalid_p(p):
    for fn in (F.dropout, F.alpha_dropout, F.dropout1d, F.dropout2d, F.dropout3d,
               F.feature_alpha_dropout):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             f"but got {p}"):
            fn(ember.ones(2, 3, 4), p)
    with pytest.raises(ValueError):
        enn.Dropout(p)


def test_dropout1d_rejects_4d():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(ember.ones(1, 2, 3, 4))


@pytest.mark.parametrize("make", [
    lambda nn: nn.Dropout(), lambda nn: nn.Dropout(0.2, inplace=True), lambda nn: nn.Dropout1d(),
    lambda nn: nn.Dropout2d(0.1), lambda nn: nn.Dropout3d(), lambda nn: nn.AlphaDropout(0.3),
    lambda nn: nn.FeatureAlphaDropout(),
])
def test_reprs(make):
    same_repr(make)


def test_float64_and_mask_dtype():
    x = ember.from_numpy(rand((5, 5), "float64"))
    assert F.dropout(x, 0.5).dtype == ember.float64
