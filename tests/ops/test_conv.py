"""conv1d/2d/3d and conv_transpose1d/2d/3d against torch: values, dtypes, every gradient, errors."""

import numpy as np
import pytest
import torch
from reference import check, gradcheck, rand, same_error

import ember
from ember.autograd import gradgradcheck
from ember.ops import conv as C

# torch (the reference) warns that it copies the input for even kernels with padding='same'
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def F(m):
    return torch.nn.functional if m is torch else C


# (input shape, weight shape, bias?, kwargs): every path of the kernels (batched and K-major
# layouts, chunking, 1x1, groups, depthwise, asymmetric 'same') in a few small cases.
CONV2D = [
    ((2, 3, 9, 9), (4, 3, 3, 3), True, {}),
    ((2, 3, 9, 9), (4, 3, 3, 3), False, dict(stride=2, padding=1)),
    ((2, 4, 11, 10), (6, 2, 3, 2), True, dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                                              groups=2)),
    ((2, 4, 7, 7), (4, 1, 3, 3), True, dict(padding=1, groups=4)),  # depthwise
    ((2, 4, 7, 7), (8, 1, 3, 3), True, dict(padding=1, groups=4)),  # depthwise, multiplier 2
    ((2, 6, 5, 5), (4, 6, 1, 1), True, {}),  # 1x1: the input is its own column matrix
    ((2, 6, 5, 5), (4, 6, 1, 1), True, dict(stride=2)),
    ((2, 3, 8, 8), (4, 3, 4, 4), True, dict(padding="same")),  # asymmetric padding
    ((2, 3, 8, 8), (4, 3, 3, 3), True, dict(padding="same", dilation=2)),
    ((2, 3, 8, 8), (4, 3, 3, 3), True, dict(padding="valid")),
    ((3, 9, 9), (4, 3, 3, 3), True, dict(padding=1)),  # unbatched
    ((2, 2, 20, 20), (3, 2, 5, 5), True, dict(stride=1, padding=2)),  # P >= 64: batched layout
    ((1, 2, 3, 3), (3, 2, 3, 3), True, {}),  # a single output position
    ((2, 2, 20, 20), (3, 2, 3, 3), True, dict(stride=2)),  # batched layout
    ((2, 64, 4, 4), (8, 64, 3, 3), True, dict(padding=1)),  # per-offset GEMMs ("taps")
    ((1, 128, 3, 3), (4, 64, 3, 3), False, dict(padding=(1, 2), stride=(1, 2), groups=2)),
]


def test_every_kernel_layout_is_tested():
    from ember.backend.conv import _Plan

    layouts = set()
    for xs, ws, _, kw in CONV2D:
        s, p, d = kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1)
        if isinstance(p, str) or len(xs) == 3:
            continue
        pair = lambda v: v if isinstance(v, tuple) else (v, v)
        layouts.add(_Plan(xs, ws, pair(s), tuple((v, v) for v in pair(p)), pair(d),
                          kw.get("groups", 1)).layout)
    assert layouts == {"unit", "full", "batched", "kmajor", "taps"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV2D, ids=[str(c[3]) for c in CONV2D])
def test_conv2d_matches_torch(case, dtype):
    xs, ws, has_bias, kw = case
    arrays = [rand(xs, dtype, seed=1), rand(ws, dtype, seed=2)] + (
        [rand((ws[0],), dtype, seed=3)] if has_bias else [])
    check(lambda m, x, w, *b: F(m).conv2d(x, w, *b, **kw), arrays, rtol=1e-4, atol=1e-5)


CONV1D = [
    ((2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    ((2, 3, 10), (5, 3, 4), dict(padding="same")),
    ((3, 10), (5, 3, 4), dict(stride=3)),
    ((2, 3, 100), (4, 3, 1), {}),
]
CONV3D = [
    ((2, 2, 5, 6, 7), (4, 2, 2, 3, 2),
     dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2))),
    ((1, 4, 4, 4, 4), (4, 2, 3, 3, 3), dict(padding=1, groups=2)),
    ((2, 5, 5, 5), (3, 2, 3, 3, 3), dict(padding="same")),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nd,case", [(1, c) for c in CONV1D] + [(3, c) for c in CONV3D])
def test_conv1d_conv3d_match_torch(nd, case, dtype):
    xs, ws, kw = case
    name = f"conv{nd}d"
    arrays = [rand(xs, dtype, seed=1), rand(ws, dtype, seed=2), rand((ws[0],), dtype, seed=3)]
    check(lambda m, x, w, b: getattr(F(m), name)(x, w, b, **kw), arrays, rtol=1e-4, atol=1e-5)


CONVT = [
    (2, (2, 4, 5, 5), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, (2, 4, 5, 4), (4, 2, 3, 2), dict(stride=(2, 1), padding=(0, 1), groups=2, dilation=(1, 2))),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), dict(stride=1, dilation=2, output_padding=1)),
    (2, (4, 3, 3), (4, 3, 2, 2), dict(stride=2)),  # unbatched
    (2, (2, 2, 10, 10), (2, 3, 4, 4), dict(stride=2, padding=1)),  # the DCGAN up-sampling block
    (1, (2, 4, 7), (4, 2, 3), dict(stride=3, padding=1, output_padding=2, groups=2)),
    (3, (1, 2, 3, 4, 3), (2, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=(0, 1, 1))),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONVT, ids=[str(c[3]) for c in CONVT])
def test_conv_transpose_matches_torch(case, dtype):
    nd, xs, ws, kw = case
    name = f"conv_transpose{nd}d"
    groups = kw.get("groups", 1)
    arrays = [rand(xs, dtype, seed=1), rand(ws, dtype, seed=2),
              rand((ws[1] * groups,), dtype, seed=3)]
    check(lambda m, x, w, b: getattr(F(m), name)(x, w, b, **kw), arrays, rtol=1e-4, atol=1e-5)


def test_integer_conv_matches_torch():
    x, w = rand((2, 3, 6, 6), "int64", seed=1), rand((4, 3, 3, 3), "int64", seed=2)
    check(lambda m, x, w: F(m).conv2d(x, w, padding=1), [x, w], grad=False)
    check(lambda m, x, w: F(m).conv_transpose2d(x, w, stride=2), [rand((2, 4, 3, 3), "int64"), w],
          grad=False)


def test_empty_batch():
    check(lambda m, x, w: F(m).conv2d(x, w), [rand((0, 3, 5, 5)), rand((4, 3, 3, 3))])


def test_only_weight_requires_grad():
    x = ember.from_numpy(rand((2, 1, 6, 6)))
    w = ember.from_numpy(rand((3, 1, 3, 3))).requires_grad_()
    C.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


@pytest.mark.parametrize("case", [
    (2, lambda m, x, w, b: F(m).conv2d(x, w, b, stride=2, padding=1, groups=2)),
    (2, lambda m, x, w, b: F(m).conv2d(x, w, b, padding="same", dilation=(1, 2), groups=2)),
    (1, lambda m, x, w, b: F(m).conv1d(x, w, b, stride=2, dilation=2, groups=2)),
])
def test_conv_gradcheck(case):
    nd, fn = case
    xs = (2, 4) + (6,) * nd
    ws = (4, 2) + (3,) * nd
    gradcheck(fn, [rand(xs, seed=1), rand(ws, seed=2), rand((4,), seed=3)])


def test_conv_transpose_gradcheck():
    fn = lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                                  groups=2)
    gradcheck(fn, [rand((2, 4, 3, 3), seed=1), rand((4, 2, 3, 3), seed=2), rand((4,), seed=3)])


def test_conv_double_backward():
    """Gradients of gradients go through the three primitives (Conv, ConvInput, ConvWeight)."""
    x = ember.from_numpy(rand((1, 2, 5, 5), "float64", seed=1)).requires_grad_()
    w = ember.from_numpy(rand((2, 1, 3, 3), "float64", seed=2)).requires_grad_()
    assert gradgradcheck(lambda x, w: C.conv2d(x, w, stride=2, padding=1, groups=2), (x, w))
    xt = ember.from_numpy(rand((1, 2, 3, 3), "float64", seed=3)).requires_grad_()
    wt = ember.from_numpy(rand((2, 2, 2, 2), "float64", seed=4)).requires_grad_()
    assert gradgradcheck(lambda x, w: C.conv_transpose2d(x, w, stride=2, dilation=(1, 2),
                                                         output_padding=1), (xt, wt))


def test_conv_double_backward_matches_torch():
    def fn(m, x, w):
        y = F(m).conv2d(x, w, padding=1)
        (gx,) = m.autograd.grad((y * y).sum(), x, create_graph=True)
        return gx
    check(fn, [rand((2, 2, 5, 5), "float64", seed=1), rand((3, 2, 3, 3), "float64", seed=2)])


ERRORS = [
    lambda m, x, w: F(m).conv2d(x, w[:, :1]),  # channel mismatch
    lambda m, x, w: F(m).conv2d(x, w[0]),  # 3-D weight
    lambda m, x, w: F(m).conv2d(x[0, 0], w),  # 2-D input
    lambda m, x, w: F(m).conv2d(x, w, m.ones(5)),  # bias size
    lambda m, x, w: F(m).conv2d(x, w, stride=0),
    lambda m, x, w: F(m).conv2d(x, w, padding=-1),
    lambda m, x, w: F(m).conv2d(x, w, dilation=0),
    lambda m, x, w: F(m).conv2d(x, w, groups=0),
    lambda m, x, w: F(m).conv2d(x, w, groups=2),
    lambda m, x, w: F(m).conv2d(x, w, stride=2, padding="same"),
    lambda m, x, w: F(m).conv2d(x, w, padding="full"),
    lambda m, x, w: F(m).conv2d(x, w, padding=1.5),
    lambda m, x, w: F(m).conv2d(x, w, stride=(1, 1, 1)),
    lambda m, x, w: F(m).conv2d(x, w.double()),
    lambda m, x, w: F(m).conv2d(x.double(), w),
    lambda m, x, w: F(m).conv2d(x, w, m.ones(4, dtype=m.float64)),
    lambda m, x, w: F(m).conv2d(x[:, :, :2, :2], w),  # kernel larger than the input
    lambda m, x, w: F(m).conv2d(x, w[:2, :1], groups=3),
    lambda m, x, w: F(m).conv2d(x > 0, w > 0),
    lambda m, x, w: F(m).conv1d(x, w),
    lambda m, x, w: F(m).conv_transpose2d(x, w),  # transposed channel mismatch (4 != 3)
    lambda m, x, w: F(m).conv_transpose2d(x, w[:3], padding="same"),
    lambda m, x, w: F(m).conv_transpose2d(x, w[:3], output_padding=1),
    lambda m, x, w: F(m).conv_transpose2d(x, w[:3], m.ones(4)),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    same_error(ERRORS[i], [rand((2, 3, 8, 8), seed=1), rand((4, 3, 3, 3), seed=2)])


def test_error_messages():
    x, w = ember.zeros(64, 3, 28, 28), ember.zeros(32, 1, 3, 3)
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[32, 1, 3, 3\], "
                                           r"expected input\[64, 3, 28, 28\] to have 1 channels, "
                                           r"but got 3 channels instead"):
        C.conv2d(x, w)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        C.conv2d(ember.zeros(1, 1, 2, 2), ember.zeros(1, 1, 3, 3))


def test_conv_output_is_contiguous_and_float32():
    y = C.conv2d(ember.ones(2, 3, 8, 8), ember.ones(4, 3, 3, 3))
    assert y.is_contiguous() and y.dtype == ember.float32 and tuple(y.shape) == (2, 4, 6, 6)
    np.testing.assert_allclose(y.numpy(), 27.0)


def test_chunks_on_all_threads_match_one_thread():
    """Chunks shared out over ember's threads give what one thread computes."""
    x = ember.from_numpy(rand((16, 8, 20, 20), seed=1)).requires_grad_()
    w = ember.from_numpy(rand((8, 8, 3, 3), seed=2)).requires_grad_()
    y = C.conv2d(x, w, padding=1)
    y.sum().backward()
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        x1, w1 = x.detach().requires_grad_(), w.detach().requires_grad_()
        y1 = C.conv2d(x1, w1, padding=1)
        y1.sum().backward()
    finally:
        ember.set_num_threads(before)
    np.testing.assert_allclose(y.detach().numpy(), y1.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), x1.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), w1.grad.numpy(), rtol=1e-4, atol=1e-4)
