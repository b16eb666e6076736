"""Pooling, unpooling, unfold/fold, interpolation and pixel shuffle against torch."""

import numpy as np
import pytest
import torch
from reference import check, gradcheck, rand, same_error

import ember
from ember.autograd import gradgradcheck
from ember.ops import spatial as S


def F(m):
    return torch.nn.functional if m is torch else S


def relu_ties(shape, dtype="float32", seed=0):
    """Values with many exact ties (zeros, as after a ReLU) to check which element gets the grad."""
    a = rand(shape, dtype, seed=seed)
    return np.maximum(a, 0).astype(dtype)


MAX_POOL = [
    (2, (2, 3, 8, 8), dict(kernel_size=2)),
    (2, (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 9, 7), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True)),
    (2, (2, 2, 10, 10), dict(kernel_size=3, stride=2, dilation=2, ceil_mode=True)),
    (2, (2, 2, 7, 7), dict(kernel_size=3, stride=1, padding=1)),  # overlapping windows
    (2, (3, 8, 8), dict(kernel_size=2)),  # unbatched
    (2, (2, 3, 8, 8), dict(kernel_size=8)),  # a large window: the reshape path
    (2, (2, 3, 9, 9), dict(kernel_size=3, stride=None)),
    (1, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, (3, 10), dict(kernel_size=2)),
    (3, (1, 2, 5, 6, 7), dict(kernel_size=(2, 3, 2), stride=(2, 2, 1), padding=(1, 1, 0))),
    (3, (1, 2, 4, 4, 4), dict(kernel_size=2, dilation=(1, 2, 1), ceil_mode=True)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", MAX_POOL, ids=[str(c[2]) for c in MAX_POOL])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_matches_torch(case, dtype, ties):
    nd, shape, kw = case
    x = relu_ties(shape, dtype) if ties else rand(shape, dtype)
    name = f"max_pool{nd}d"
    check(lambda m, x: getattr(F(m), name)(x, **kw), [x])
    check(lambda m, x: getattr(F(m), name)(x, return_indices=True, **kw), [x])


def test_max_pool_with_indices_and_int():
    x = rand((2, 3, 6, 6), seed=4)
    check(lambda m, x: F(m).max_pool2d_with_indices(x, 3, 2, 1), [x])
    check(lambda m, x: F(m).max_pool1d_with_indices(x[0], 2), [x])
    check(lambda m, x: F(m).max_pool2d(x, 2, padding=1), [rand((2, 3, 6, 6), "int64")],
          grad=False)


def test_max_pool_nan_and_inf_like_torch():
    nan, inf = float("nan"), float("inf")
    x = np.array([[[[1.0, nan, 2.0, -inf], [nan, 3.0, -inf, -inf]]]], np.float32)
    check(lambda m, x: F(m).max_pool2d(x, 2, return_indices=True), [x], grad=False)
    check(lambda m, x: F(m).max_pool2d(x, (1, 2), return_indices=True), [x], grad=False)


AVG_POOL = [
    (2, (2, 3, 8, 8), dict(kernel_size=2)),
    (2, (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (2, (2, 3, 9, 7), dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True)),
    (2, (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                           count_include_pad=False)),
    (2, (2, 3, 8, 8), dict(kernel_size=3, stride=1, divisor_override=5)),
    (2, (2, 3, 8, 8), dict(kernel_size=4)),  # 16 elements: the reshape path
    (2, (3, 8, 8), dict(kernel_size=2)),
    (1, (2, 3, 11), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    (3, (1, 2, 5, 6, 7), dict(kernel_size=2, stride=(1, 2, 2), padding=1,
                              count_include_pad=False)),
    (3, (1, 2, 4, 4, 4), dict(kernel_size=2, divisor_override=3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", AVG_POOL, ids=[str(c[2]) for c in AVG_POOL])
def test_avg_pool_matches_torch(case, dtype):
    nd, shape, kw = case
    name = f"avg_pool{nd}d"
    check(lambda m, x: getattr(F(m), name)(x, **kw), [rand(shape, dtype)])


def test_avg_pool_integer_truncates_like_torch():
    x = rand((2, 3, 7, 7), "int64")
    check(lambda m, x: F(m).avg_pool2d(x, 3, 2, 1, count_include_pad=False), [x], grad=False)


@pytest.mark.parametrize("nd,shape,size", [
    (1, (2, 3, 10), 5), (1, (2, 3, 10), 4), (1, (3, 7), 3),
    (2, (2, 3, 8, 8), 1), (2, (2, 3, 8, 8), (4, 2)), (2, (2, 3, 7, 9), (3, 4)),
    (2, (2, 3, 7, 9), (None, 4)), (2, (2, 3, 5, 5), 7),
    (3, (1, 2, 4, 5, 6), (2, 3, 4)),
])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_matches_torch(nd, shape, size, kind):
    if kind == "max" and nd == 3:
        fn = lambda m, x: F(m).adaptive_max_pool3d(x, size, return_indices=True)
    else:
        fn = lambda m, x: getattr(F(m), f"adaptive_{kind}_pool{nd}d")(x, size)
    check(fn, [rand(shape, "float64")])
    if kind == "max":
        name = f"adaptive_max_pool{nd}d"
        check(lambda m, x: getattr(F(m), name)(x, size, return_indices=True),
              [relu_ties(shape)])


@pytest.mark.parametrize("nd,shape,kw,out", [
    (2, (2, 3, 8, 8), dict(kernel_size=2), None),
    (2, (2, 3, 9, 9), dict(kernel_size=3, stride=2, padding=1), (9, 9)),
    (2, (2, 3, 8, 8), dict(kernel_size=2), (2, 3, 9, 9)),
    (1, (2, 3, 10), dict(kernel_size=2, stride=2), None),
    (3, (1, 2, 4, 4, 4), dict(kernel_size=2), None),
])
def test_max_unpool_matches_torch(nd, shape, kw, out):
    pool, unpool = f"max_pool{nd}d", f"max_unpool{nd}d"

    def fn(m, x):
        y, i = getattr(F(m), pool)(x, return_indices=True, **kw)
        return getattr(F(m), unpool)(y, i, output_size=out, **kw)
    check(fn, [rand(shape)])


def test_lp_pool_matches_torch():
    x = rand((2, 3, 8, 8), positive=True)
    check(lambda m, x: F(m).lp_pool2d(x, 2, 2), [x])
    check(lambda m, x: F(m).lp_pool1d(x[0], 3, 3, stride=2), [x])


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=(2, 3), padding=1, stride=2),
                                dict(kernel_size=2, dilation=2, padding=(0, 1))])
def test_unfold_fold_match_torch(kw):
    x = rand((2, 3, 7, 6))
    check(lambda m, x: F(m).unfold(x, **kw), [x])
    cols = torch.nn.functional.unfold(torch.from_numpy(x), **kw).numpy()
    check(lambda m, c: F(m).fold(c, (7, 6), **kw), [cols])
    check(lambda m, c: F(m).fold(c[0], (7, 6), **kw), [cols])
    check(lambda m, x: F(m).unfold(x[0], **kw), [x])


INTERP = [
    ((2, 3, 5), dict(scale_factor=2)),
    ((2, 3, 5), dict(size=7, mode="linear")),
    ((2, 3, 5), dict(size=3, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=1.7, mode="nearest-exact")),
    ((2, 2, 4, 5), dict(scale_factor=2)),
    ((2, 2, 4, 5), dict(size=(3, 7))),
    ((2, 2, 4, 5), dict(scale_factor=(1.5, 0.7))),
    ((2, 2, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 2, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 2, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ((2, 2, 4, 5), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    ((2, 2, 4, 5), dict(size=(6, 8), mode="bicubic")),
    ((2, 2, 4, 5), dict(scale_factor=2, mode="bicubic", align_corners=True)),
    ((2, 2, 6, 9), dict(size=(4, 3), mode="area")),
    ((2, 2, 6, 9), dict(scale_factor=0.5, mode="area")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(2, 5, 3), mode="nearest")),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", INTERP, ids=[str(c[1]) for c in INTERP])
def test_interpolate_matches_torch(case, dtype):
    shape, kw = case
    check(lambda m, x: F(m).interpolate(x, **kw), [rand(shape, dtype)], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 3), 2), ((9, 2, 2), 3), ((2, 1, 4, 3, 3), 2)])
def test_pixel_shuffle_matches_torch(shape, r):
    check(lambda m, x: F(m).pixel_shuffle(x, r), [rand(shape)])
    up = tuple(shape[:-3]) + (shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)
    check(lambda m, x: F(m).pixel_unshuffle(x, r), [rand(up)])


GRADCHECKS = [
    lambda m, x: F(m).max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda m, x: F(m).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda m, x: F(m).adaptive_avg_pool2d(x, (3, 2)),
    lambda m, x: F(m).adaptive_max_pool2d(x, (3, 2)),
    lambda m, x: F(m).interpolate(x, scale_factor=1.5, mode="bicubic"),
    lambda m, x: F(m).interpolate(x, size=(4, 9), mode="bilinear"),
    lambda m, x: F(m).fold(F(m).unfold(x, 2, padding=1), (5, 6), 2, padding=1),
    lambda m, x: F(m).pixel_unshuffle(x[:, :, :4], 2),
]


@pytest.mark.parametrize("i", range(len(GRADCHECKS)))
def test_gradcheck_and_double_backward(i):
    x = rand((1, 2, 5, 6), seed=i)
    gradcheck(GRADCHECKS[i], [x])
    t = ember.from_numpy(x.astype(np.float64)).requires_grad_()
    assert gradgradcheck(lambda t: GRADCHECKS[i](ember, t), (t,))


ERRORS = [
    lambda m, x: F(m).max_pool2d(x, 3, padding=2),
    lambda m, x: F(m).max_pool2d(x, 9),
    lambda m, x: F(m).max_pool2d(x, 3, stride=0),
    lambda m, x: F(m).max_pool2d(x, 3, dilation=0),
    lambda m, x: F(m).max_pool2d(x[0, 0], 2),
    lambda m, x: F(m).max_pool2d(x, (2, 2, 2)),
    lambda m, x: F(m).max_pool2d(x, "ab"),
    lambda m, x: F(m).max_pool2d(x > 0, 2),
    lambda m, x: F(m).avg_pool2d(x, 3, padding=2),
    lambda m, x: F(m).avg_pool2d(x, 2, divisor_override=0),
    lambda m, x: F(m).avg_pool1d(x, 2),
    lambda m, x: F(m).adaptive_avg_pool2d(x, (2, 2, 2)),
    lambda m, x: F(m).adaptive_avg_pool2d(x.long(), 2),
    lambda m, x: F(m).adaptive_max_pool2d(x.long(), 2),
    lambda m, x: F(m).max_unpool2d(*F(m).max_pool2d(x, 2, return_indices=True), 2,
                                   output_size=(12, 12)),
    lambda m, x: F(m).max_unpool2d(*F(m).max_pool2d(x, 2, return_indices=True), 2,
                                   output_size=(1, 2, 3)),
    lambda m, x: F(m).unfold(x[0, 0], 2),
    lambda m, x: F(m).fold(x[:, :, 0], (5, 5), 3),
    lambda m, x: F(m).interpolate(x, scale_factor=2, mode="linear"),
    lambda m, x: F(m).interpolate(x, scale_factor=2, align_corners=True),
    lambda m, x: F(m).interpolate(x),
    lambda m, x: F(m).interpolate(x, size=2, scale_factor=2),
    lambda m, x: F(m).interpolate(x, size=(2, 2, 2)),
    lambda m, x: F(m).interpolate(x, size=2, mode="cubic"),
    lambda m, x: F(m).interpolate(x, scale_factor=0.1),
    lambda m, x: F(m).interpolate(x.long(), size=3),
    lambda m, x: F(m).pixel_shuffle(x, 2),
    lambda m, x: F(m).pixel_unshuffle(x[:, :, :7], 2),
    lambda m, x: F(m).pixel_shuffle(x[0, 0], 2),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    same_error(ERRORS[i], [rand((2, 3, 8, 8), seed=1)])


def test_error_messages():
    x = ember.zeros(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match=r"Given input size: \(3x8x8\). Calculated output size: "
                                           r"\(3x0x0\). Output size is too small"):
        S.max_pool2d(x, 9)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        S.avg_pool2d(x, 3, padding=2)
