"""Every loss (functional and module) against torch: values for each reduction, input (and
target) gradients, float32/float64, gradcheck, class weights, ignore_index, label smoothing,
probability targets, K-dimensional inputs, errors and warnings."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_check import check_layer, same_repr
from reference import check, gradcheck, rand, same_error

import ember
import ember.nn  # noqa: F401
from ember.autograd import gradgradcheck


def F(m):
    return m.nn.functional


def labels(shape, c, seed=0):
    return np.random.default_rng(seed).integers(0, c, size=shape).astype(np.int64)


def signs(shape, seed=0):
    return np.where(np.random.default_rng(seed).random(shape) > 0.5, 1.0, -1.0).astype(
        np.float32)


def probs(shape, seed=0, axis=1):
    a = np.random.default_rng(seed).random(shape).astype(np.float32) + 0.1
    return a / a.sum(axis, keepdims=True)


def multilabel(n, c, seed=0):
    rng = np.random.default_rng(seed)
    t = -np.ones((n, c), np.int64)
    for i in range(n):
        k = rng.integers(1, c)
        t[i, :k] = rng.permutation(c)[:k]
    return t


W4 = rand((4,), seed=9, positive=True)


def w4(m, x, reverse=False):
    """Class weights in the input's dtype."""
    return m.from_numpy((W4[::-1] if reverse else W4).copy()).to(x.dtype)

# name -> (fn(m, *inputs, reduction), inputs); targets as int arrays are not differentiated
LOSSES = {
    "cross_entropy": (lambda m, x, t, r: F(m).cross_entropy(x, t, reduction=r),
                      [rand((5, 4)), labels((5,), 4)]),
    "cross_entropy_weight": (lambda m, x, t, r: F(m).cross_entropy(
        x, t, weight=w4(m, x), reduction=r), [rand((5, 4)), labels((5,), 4)]),
    "cross_entropy_ignore": (lambda m, x, t, r: F(m).cross_entropy(x, t, ignore_index=2,
                                                                  reduction=r),
                             [rand((6, 4)), np.array([0, 2, 1, 2, 3, 1])]),
    "cross_entropy_smooth": (lambda m, x, t, r: F(m).cross_entropy(
        x, t, weight=w4(m, x), ignore_index=1, label_smoothing=0.2, reduction=r),
        [rand((6, 4)), np.array([0, 2, 1, 2, 3, 1])]),
    "cross_entropy_kdim": (lambda m, x, t, r: F(m).cross_entropy(x, t, reduction=r,
                                                                label_smoothing=0.1),
                           [rand((2, 4, 3, 2)), labels((2, 3, 2), 4)]),
    "cross_entropy_1d": (lambda m, x, t, r: F(m).cross_entropy(x, t, reduction=r),
                         [rand((4,)), np.array(2)]),
    "cross_entropy_probs": (lambda m, x, t, r: F(m).cross_entropy(x, t, reduction=r),
                            [rand((5, 4)), probs((5, 4))]),
    "cross_entropy_probs_smooth_w": (lambda m, x, t, r: F(m).cross_entropy(
        x, t, weight=w4(m, x), label_smoothing=0.3, reduction=r),
        [rand((3, 4, 2)), probs((3, 4, 2))]),
    "nll_loss": (lambda m, x, t, r: F(m).nll_loss(x, t, reduction=r),
                 [rand((5, 4)), labels((5,), 4)]),
    "nll_loss_weight_ignore": (lambda m, x, t, r: F(m).nll_loss(
        x, t, weight=w4(m, x), ignore_index=0, reduction=r),
        [rand((6, 4)), np.array([0, 2, 1, 0, 3, 1])]),
    "nll_loss_kdim": (lambda m, x, t, r: F(m).nll_loss(x, t, reduction=r),
                      [rand((2, 4, 3)), labels((2, 3), 4)]),
    "nll_loss_1d": (lambda m, x, t, r: F(m).nll_loss(x, t, reduction=r), [rand((4,)), np.array(1)]),
    "bce": (lambda m, x, t, r: F(m).binary_cross_entropy(x, t, reduction=r),
            [rand((3, 4), low=0.05, high=0.95), rand((3, 4), seed=1, low=0, high=1)]),
    "bce_weight": (lambda m, x, t, r: F(m).binary_cross_entropy(
        x, t, weight=w4(m, x), reduction=r),
        [rand((3, 4), low=0.05, high=0.95), rand((3, 4), seed=1, low=0, high=1)]),
    "bce_logits": (lambda m, x, t, r: F(m).binary_cross_entropy_with_logits(x, t, reduction=r),
                   [rand((3, 4), low=-30, high=30), rand((3, 4), seed=1, low=0, high=1)]),
    "bce_logits_pos_weight": (lambda m, x, t, r: F(m).binary_cross_entropy_with_logits(
        x, t, weight=w4(m, x), pos_weight=w4(m, x, reverse=True),
        reduction=r), [rand((3, 4)), rand((3, 4), seed=1, low=0, high=1)]),
    "kl_div": (lambda m, x, t, r: F(m).kl_div(x, t, reduction=r),
               [np.log(probs((3, 4))), probs((3, 4), seed=1)]),
    "kl_div_log_target": (lambda m, x, t, r: F(m).kl_div(x, t, reduction=r, log_target=True),
                          [np.log(probs((3, 4))), np.log(probs((3, 4), seed=1))]),
    "poisson_nll": (lambda m, x, t, r: F(m).poisson_nll_loss(x, t, reduction=r),
                    [rand((3, 4)), rand((3, 4), seed=1, low=0, high=4)]),
    "poisson_nll_full": (lambda m, x, t, r: F(m).poisson_nll_loss(x, t, log_input=False,
                                                                 full=True, reduction=r),
                         [rand((3, 4), positive=True), rand((3, 4), seed=1, low=0, high=4)]),
    "gaussian_nll": (lambda m, x, t, v, r: F(m).gaussian_nll_loss(x, t, v, reduction=r),
                     [rand((3, 4)), rand((3, 4), seed=1), rand((3, 4), seed=2, positive=True)]),
    "gaussian_nll_homo": (lambda m, x, t, v, r: F(m).gaussian_nll_loss(x, t, v, full=True,
                                                                      reduction=r),
                          [rand((3, 4)), rand((3, 4), seed=1), rand((3,), seed=2, positive=True)]),
    "l1": (lambda m, x, t, r: F(m).l1_loss(x, t, reduction=r),
           [rand((3, 4)), rand((3, 4), seed=1)]),
    "mse": (lambda m, x, t, r: F(m).mse_loss(x, t, reduction=r),
            [rand((3, 4)), rand((3, 4), seed=1)]),
    "mse_weight": (lambda m, x, t, r: F(m).mse_loss(x, t, reduction=r,
                                                    weight=m.ones(3, 4) * 2),
                   [rand((3, 4)), rand((3, 4), seed=1)]),
    "smooth_l1": (lambda m, x, t, r: F(m).smooth_l1_loss(x, t, reduction=r, beta=0.5),
                  [rand((3, 4)), rand((3, 4), seed=1)]),
    "smooth_l1_beta0": (lambda m, x, t, r: F(m).smooth_l1_loss(x, t, reduction=r, beta=0.0),
                        [rand((3, 4)), rand((3, 4), seed=1)]),
    "huber": (lambda m, x, t, r: F(m).huber_loss(x, t, reduction=r, delta=0.7),
              [rand((3, 4)), rand((3, 4), seed=1)]),
    "margin_ranking": (lambda m, a, b, t, r: F(m).margin_ranking_loss(a, b, t, 0.3, reduction=r),
                       [rand((6,)), rand((6,), seed=1), signs((6,))]),
    "hinge_embedding": (lambda m, x, t, r: F(m).hinge_embedding_loss(x, t, 1.5, reduction=r),
                        [rand((3, 4)), signs((3, 4))]),
    "multilabel_margin": (lambda m, x, t, r: F(m).multilabel_margin_loss(x, t, reduction=r),
                          [rand((4, 5)), multilabel(4, 5)]),
    "multilabel_margin_1d": (lambda m, x, t, r: F(m).multilabel_margin_loss(x, t, reduction=r),
                             [rand((5,)), np.array([3, 0, -1, 1, 2])]),
    "soft_margin": (lambda m, x, t, r: F(m).soft_margin_loss(x, t.to(x.dtype), reduction=r),
                    [rand((3, 4)), signs((3, 4)).astype(np.int64)]),
    "multilabel_soft_margin": (lambda m, x, t, r: F(m).multilabel_soft_margin_loss(
        x, t, weight=w4(m, x), reduction=r),
        [rand((3, 4)), (rand((3, 4), seed=1) > 0).astype(np.float32)]),
    "cosine_embedding": (lambda m, a, b, t, r: F(m).cosine_embedding_loss(a, b, t, 0.2,
                                                                         reduction=r),
                         [rand((5, 4)), rand((5, 4), seed=1), signs((5,))]),
    "multi_margin": (lambda m, x, t, r: F(m).multi_margin_loss(x, t, reduction=r),
                     [rand((5, 4)), labels((5,), 4)]),
    "multi_margin_p2_w": (lambda m, x, t, r: F(m).multi_margin_loss(
        x, t, p=2, margin=0.5, weight=w4(m, x), reduction=r),
        [rand((5, 4)), labels((5,), 4)]),
    "triplet_margin": (lambda m, a, p, n, r: F(m).triplet_margin_loss(a, p, n, reduction=r),
                       [rand((5, 4)), rand((5, 4), seed=1), rand((5, 4), seed=2)]),
    "triplet_margin_swap_p1": (lambda m, a, p, n, r: F(m).triplet_margin_loss(
        a, p, n, margin=2.0, p=1, swap=True, reduction=r),
        [rand((5, 4)), rand((5, 4), seed=1), rand((5, 4), seed=2)]),
    "triplet_distance": (lambda m, a, p, n, r: F(m).triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda x, y: 1 - F(m).cosine_similarity(x, y), swap=True,
        reduction=r), [rand((5, 4)), rand((5, 4), seed=1), rand((5, 4), seed=2)]),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_losses_match_torch(name, reduction, dtype):
    fn, arrays = LOSSES[name]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    if name.startswith("kl_div") and reduction == "mean":
        reduction = "batchmean"
    tol = 1e-5 if dtype == "float32" else 1e-10
    check(lambda m, *xs: fn(m, *xs, reduction), arrays, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", LOSSES)
def test_losses_gradcheck(name):
    fn, arrays = LOSSES[name]
    red = "batchmean" if name.startswith("kl_div") else "mean"
    gradcheck(lambda m, *xs: fn(m, *xs, red), arrays)


@pytest.mark.parametrize("name", ["cross_entropy", "cross_entropy_smooth", "cross_entropy_kdim",
                                  "nll_loss_weight_ignore", "bce", "mse", "smooth_l1", "huber"])
def test_second_order(name):
    fn, arrays = LOSSES[name]
    xs = tuple(ember.from_numpy(a.astype(np.float64)).requires_grad_() if a.dtype.kind == "f"
               and i == 0 else ember.from_numpy(a.astype(np.float64) if a.dtype.kind == "f"
                                                else a)
               for i, a in enumerate(arrays))
    assert gradgradcheck(lambda x: fn(ember, x, *xs[1:], "sum"), (xs[0],))


def test_mse_mixed_dtypes_and_broadcast_warning():
    # float64 predictions vs float32 targets, as in the linear-regression tutorial
    check(lambda m, x, t: F(m).mse_loss(x, t, reduction="sum"),
          [rand((10,), "float64"), rand((10,), "float32", seed=1)])
    with pytest.warns(UserWarning, match=r"Using a target size \(ember.Size\(\[3, 1\]\)\) that is "
                                         r"different to the input size \(ember.Size\(\[3\]\)\)"):
        e = F(ember).mse_loss(ember.ones(3, requires_grad=True), ember.zeros(3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = F(torch).mse_loss(torch.ones(3), torch.zeros(3, 1))
    assert e.item() == t.item()
    for fn in (F(ember).l1_loss, F(ember).smooth_l1_loss, F(ember).huber_loss):
        with pytest.warns(UserWarning, match="This will likely lead to incorrect results"):
            fn(ember.ones(3), ember.zeros(3, 1))


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both"):
        F(ember).kl_div(ember.zeros(2, 3), ember.ones(2, 3) / 3)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    t = np.array([1, 1, 1])
    check(lambda m, x, y: F(m).cross_entropy(x, y, ignore_index=1), [rand((3, 4)), t])
    check(lambda m, x, y: F(m).cross_entropy(x, y, ignore_index=1, reduction="sum"),
          [rand((3, 4)), t])


def test_cross_entropy_probability_target_dtype_promotion():
    check(lambda m, x, y: F(m).cross_entropy(x, y), [rand((3, 4)), probs((3, 4)).astype(
        np.float64)])


def test_legacy_size_average_reduce():
    for kwargs in ({"size_average": False}, {"reduce": False}, {"size_average": True}):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            e = F(ember).l1_loss(ember.ones(3), ember.zeros(3), **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = F(torch).l1_loss(torch.ones(3), torch.zeros(3), **kwargs)
        assert e.tolist() == t.tolist()
    with pytest.warns(UserWarning, match="reduction='sum'"):
        m = ember.nn.MSELoss(size_average=False)
    assert m.reduction == "sum"


@pytest.mark.parametrize("fn, arrays", [
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4)), np.array([0, 1, 5])]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4)), np.array([0, 1, -1])]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4)), np.array([0, 1])]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4)), rand((3,))]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4)), rand((3, 5))]),
    (lambda m, x, t: F(m).cross_entropy(x, t, ignore_index=1), [rand((3, 4)), probs((3, 4))]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4)), np.array([0, 1, 2], np.int32)]),
    (lambda m, x, t: F(m).cross_entropy(x, t, weight=m.ones(3)), [rand((3, 4)),
                                                                  np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand((3, 4, 5)), np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).cross_entropy(x, t), [rand(()), np.array(2)]),
    (lambda m, x, t: F(m).cross_entropy(x, t, label_smoothing=1.5), [rand((3, 4)),
                                                                     np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).cross_entropy(x, t, reduction="avg"), [rand((3, 4)),
                                                                 np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).nll_loss(x, t), [rand((3,)), np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).nll_loss(x, t), [rand((3, 4)), rand((3,))]),
    (lambda m, x, t: F(m).nll_loss(x, t), [rand((3, 4, 2)), labels((2, 2), 4)]),
    (lambda m, x, t: F(m).nll_loss(x, t), [rand((3, 4)), np.array([[1]])]),
    (lambda m, x, t: F(m).binary_cross_entropy(x, t), [rand((3,), low=0, high=1),
                                                       rand((4,), low=0, high=1)]),
    (lambda m, x, t: F(m).binary_cross_entropy(x, t), [rand((3,), low=0.1, high=0.9),
                                                       rand((3,), low=1.5, high=2)]),
    (lambda m, x, t: F(m).binary_cross_entropy(x, t), [rand((3,), low=1.5, high=2),
                                                       rand((3,), low=0, high=1)]),
    (lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t), [rand((3,)), rand((4,))]),
    (lambda m, x, t: F(m).mse_loss(x, t, reduction="x"), [rand((3,)), rand((3,))]),
    (lambda m, x, t: F(m).mse_loss(x, t), [rand((3,)), rand((4,))]),
    (lambda m, x, t: F(m).l1_loss(x, t, weight=m.ones(2)), [rand((3,)), rand((3,))]),
    (lambda m, x, t: F(m).huber_loss(x, t, delta=0.0), [rand((3,)), rand((3,))]),
    (lambda m, x, t: F(m).smooth_l1_loss(x, t, beta=-1.0), [rand((3,)), rand((3,))]),
    (lambda m, x, t: F(m).poisson_nll_loss(x, t, reduction="x"), [rand((3,)), rand((3,))]),
    (lambda m, x, t: F(m).gaussian_nll_loss(x, t, m.ones(2)), [rand((3, 4)), rand((3, 4))]),
    (lambda m, x, t: F(m).gaussian_nll_loss(x, t, -m.ones(3, 4)), [rand((3, 4)), rand((3, 4))]),
    (lambda m, x, t: F(m).gaussian_nll_loss(x, t, m.ones(3, 4), reduction="x"),
     [rand((3, 4)), rand((3, 4))]),
    (lambda m, x, t: F(m).margin_ranking_loss(x, t, m.ones(3)), [rand((3,)), rand((3, 1))]),
    (lambda m, x, t: F(m).multi_margin_loss(x, t), [rand((3, 4)), np.array([0, 1, 5])]),
    (lambda m, x, t: F(m).multi_margin_loss(x, t, p=3), [rand((3, 4)), np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).multi_margin_loss(x, t, weight=m.ones(2, 2)),
     [rand((3, 4)), np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).multilabel_margin_loss(x, t), [rand((3, 4)), np.array([0, 1, 2])]),
    (lambda m, x, t: F(m).triplet_margin_loss(x, t, x), [rand((3, 4)), rand((4,))]),
    (lambda m, x, t: F(m).triplet_margin_loss(x, t, x, margin=0.0), [rand((3, 4)),
                                                                     rand((3, 4))]),
    (lambda m, x, t: F(m).cosine_embedding_loss(x, t, m.ones(3)), [rand((3, 4)), rand((3, 5))]),
])
def test_errors_match_torch(fn, arrays):
    same_error(fn, arrays)


def test_specific_messages():
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F(ember).cross_entropy(ember.zeros(3, 4), ember.tensor([0, 1, 5]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)."):
        F(ember).cross_entropy(ember.zeros(3, 4), ember.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got "
                                           "Float"):
        F(ember).nll_loss(ember.zeros(3, 4), ember.zeros(3))


LAYERS = {
    "L1Loss": (lambda nn: nn.L1Loss(), [rand((3, 4)), rand((3, 4), seed=1)]),
    "MSELoss": (lambda nn: nn.MSELoss(reduction="sum"), [rand((3, 4)), rand((3, 4), seed=1)]),
    "CrossEntropyLoss": (lambda nn: nn.CrossEntropyLoss(), [rand((5, 4)), labels((5,), 4)]),
    "CrossEntropyLoss_opts": (lambda nn: nn.CrossEntropyLoss(
        weight=nn.Parameter(nn.init.ones_(nn.Linear(4, 4).bias)).detach() * 2, ignore_index=3,
        label_smoothing=0.1, reduction="none"), [rand((5, 4)), labels((5,), 4)]),
    "NLLLoss": (lambda nn: nn.NLLLoss(ignore_index=0), [rand((5, 4)), labels((5,), 4)]),
    "BCELoss": (lambda nn: nn.BCELoss(), [rand((3, 4), low=0.1, high=0.9),
                                          rand((3, 4), seed=1, low=0, high=1)]),
    "BCEWithLogitsLoss": (lambda nn: nn.BCEWithLogitsLoss(), [rand((3, 4)),
                                                              rand((3, 4), seed=1, low=0, high=1)]),
    "KLDivLoss": (lambda nn: nn.KLDivLoss(reduction="batchmean", log_target=True),
                  [rand((3, 4)), rand((3, 4), seed=1)]),
    "PoissonNLLLoss": (lambda nn: nn.PoissonNLLLoss(), [rand((3, 4)), rand((3, 4), seed=1,
                                                                         low=0, high=3)]),
    "GaussianNLLLoss": (lambda nn: nn.GaussianNLLLoss(), [rand((3, 4)), rand((3, 4), seed=1),
                                                          rand((3, 4), seed=2, positive=True)]),
    "SmoothL1Loss": (lambda nn: nn.SmoothL1Loss(beta=0.5), [rand((3, 4)), rand((3, 4), seed=1)]),
    "HuberLoss": (lambda nn: nn.HuberLoss(delta=2), [rand((3, 4)), rand((3, 4), seed=1)]),
    "SoftMarginLoss": (lambda nn: nn.SoftMarginLoss(), [rand((3, 4)), signs((3, 4))]),
    "HingeEmbeddingLoss": (lambda nn: nn.HingeEmbeddingLoss(0.5), [rand((3, 4)), signs((3, 4))]),
    "MultiLabelMarginLoss": (lambda nn: nn.MultiLabelMarginLoss(), [rand((3, 4)),
                                                                    multilabel(3, 4)]),
    "MultiLabelSoftMarginLoss": (lambda nn: nn.MultiLabelSoftMarginLoss(),
                                 [rand((3, 4)), (rand((3, 4)) > 0).astype(np.float32)]),
    "CosineEmbeddingLoss": (lambda nn: nn.CosineEmbeddingLoss(0.1),
                            [rand((3, 4)), rand((3, 4), seed=1), signs((3,))]),
    "MarginRankingLoss": (lambda nn: nn.MarginRankingLoss(0.2),
                          [rand((3,)), rand((3,), seed=1), signs((3,))]),
    "MultiMarginLoss": (lambda nn: nn.MultiMarginLoss(p=2), [rand((3, 4)), labels((3,), 4)]),
    "TripletMarginLoss": (lambda nn: nn.TripletMarginLoss(swap=True),
                          [rand((3, 4)), rand((3, 4), seed=1), rand((3, 4), seed=2)]),
    "TripletMarginWithDistanceLoss": (lambda nn: nn.TripletMarginWithDistanceLoss(margin=0.5),
                                      [rand((3, 4)), rand((3, 4), seed=1),
                                       rand((3, 4), seed=2)]),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layers_match_torch(name, dtype):
    make, arrays = LAYERS[name]
    # torch refuses a target that requires grad here
    call = (lambda mod, x, t: mod(x, t.detach())) if name == "SoftMarginLoss" else None
    check_layer(make, arrays, dtype=dtype, rtol=1e-5 if dtype == "float32" else 1e-10,
                atol=1e-6 if dtype == "float32" else 1e-10, call=call)


@pytest.mark.parametrize("name", LAYERS)
def test_reprs_and_state_dict(name):
    make, _ = LAYERS[name]
    same_repr(make)
    assert list(make(ember.nn).state_dict()) == list(make(torch.nn).state_dict())


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        ember.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater"):
        ember.nn.TripletMarginLoss(margin=0)
    with pytest.raises(TypeError, match="delta must be a float or int"):
        ember.nn.HuberLoss(delta="1")


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
       smoothing=st.sampled_from([0.0, 0.3]), reduction=st.sampled_from(["mean", "sum", "none"]),
       seed=st.integers(0, 100))
def test_cross_entropy_shapes_property(n, c, extra, smoothing, reduction, seed):
    x = rand((n, c, *extra), seed=seed)
    t = labels((n, *extra), c, seed=seed)
    check(lambda m, a, b: F(m).cross_entropy(a, b, reduction=reduction,
                                             label_smoothing=smoothing), [x, t])
