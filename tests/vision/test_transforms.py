"""ember.vision.transforms classes: torchvision's reprs, argument checks and random behaviour
(draws from ember's generator, so ``ember.manual_seed`` repeats them)."""

import math
import random

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import transforms as T
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as F

PIL = pytest.importorskip("PIL", reason="PIL-image transforms need Pillow")
from PIL import Image  # noqa: E402

rng = np.random.RandomState(0)


def _img(h=8, w=10, c=3):
    return Image.fromarray(rng.randint(0, 256, size=(h, w, c)).astype(np.uint8))


def test_reprs():
    assert repr(T.ToTensor()) == "ToTensor()"
    assert repr(T.PILToTensor()) == "PILToTensor()"
    assert repr(T.ToPILImage()) == "ToPILImage()"
    assert repr(T.ToPILImage(mode="L")) == "ToPILImage(mode=L)"
    assert repr(T.Normalize((0.1307,), (0.3081,))) == "Normalize(mean=(0.1307,), std=(0.3081,))"
    assert repr(T.Resize(32)) == \
        "Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)"
    assert repr(T.Resize((4, 5), interpolation=0)) == \
        "Resize(size=(4, 5), interpolation=nearest, max_size=None, antialias=True)"
    assert repr(T.CenterCrop(10)) == "CenterCrop(size=(10, 10))"
    assert repr(T.CenterCrop([3, 4])) == "CenterCrop(size=[3, 4])"
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(T.Pad(2)) == "Pad(padding=2, fill=0, padding_mode=constant)"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.RandomVerticalFlip(0.2)) == "RandomVerticalFlip(p=0.2)"
    assert repr(T.RandomResizedCrop(224)) == (
        "RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), "
        "interpolation=bilinear, antialias=True)")
    assert repr(T.ColorJitter(0.4, 0.4, 0.4, 0.1)) == (
        "ColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.6, 1.4), "
        "hue=(-0.1, 0.1))")
    assert repr(T.ColorJitter()) == \
        "ColorJitter(brightness=None, contrast=None, saturation=None, hue=None)"
    assert repr(T.RandomRotation(10)) == \
        "RandomRotation(degrees=[-10.0, 10.0], interpolation=nearest, expand=False, fill=0)"
    assert repr(T.RandomRotation((0, 90), center=(1, 2), expand=True)) == (
        "RandomRotation(degrees=[0.0, 90.0], interpolation=nearest, expand=True, center=(1, 2), "
        "fill=0)")
    assert repr(T.Grayscale(3)) == "Grayscale(num_output_channels=3)"
    assert repr(T.RandomGrayscale()) == "RandomGrayscale(p=0.1)"
    assert repr(T.GaussianBlur(3)) == "GaussianBlur(kernel_size=(3, 3), sigma=(0.1, 2.0))"
    assert repr(T.Lambda(lambda x: x)) == "Lambda()"
    assert repr(T.Compose([T.CenterCrop(10), T.ToTensor()])) == \
        "Compose(\n    CenterCrop(size=(10, 10))\n    ToTensor()\n)"
    assert repr(T.RandomApply([T.Grayscale()], p=0.3)) == \
        "RandomApply(\n    p=0.3\n    Grayscale(num_output_channels=1)\n)"
    assert repr(T.RandomChoice([T.Grayscale()])) == \
        "RandomChoice(\n    Grayscale(num_output_channels=1)\n)(p=None)"
    assert repr(T.RandomOrder([T.ToTensor()])) == "RandomOrder(\n    ToTensor()\n)"


def test_compose_mnist_pipeline():
    arr = rng.randint(0, 256, size=(28, 28)).astype(np.uint8)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    out = tf(Image.fromarray(arr))
    assert out.dtype == ember.float32 and tuple(out.shape) == (1, 28, 28)
    np.testing.assert_allclose(out.numpy()[0], (arr / np.float32(255) - np.float32(0.1307))
                               / np.float32(0.3081), rtol=1e-6)


def test_tensor_transforms_are_modules():
    for t in (T.Normalize([0.5], [0.5]), T.Resize(4), T.CenterCrop(2), T.RandomCrop(2),
              T.RandomHorizontalFlip(), T.ColorJitter(), T.GaussianBlur(3)):
        assert isinstance(t, nn.Module)
    seq = nn.Sequential(T.CenterCrop(2), T.Normalize([0.5], [0.5]))
    assert seq(ember.ones(1, 4, 4)).tolist() == [[[1.0, 1.0], [1.0, 1.0]]]


def test_flips_follow_probability():
    x = ember.arange(6.0).view(1, 2, 3)
    assert ember.equal(T.RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
    assert T.RandomHorizontalFlip(p=0.0)(x) is x
    assert ember.equal(T.RandomVerticalFlip(p=1.0)(x), x.flip(-2))
    ember.manual_seed(0)
    flips = sum(ember.equal(T.RandomHorizontalFlip()(x), x.flip(-1)) for _ in range(400))
    assert 150 < flips < 250


def test_random_transforms_repeat_under_a_seed():
    img = _img(20, 24)
    tf = T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(),
                    T.ColorJitter(0.5, 0.5, 0.5, 0.2), T.RandomRotation(20), T.ToTensor()])
    ember.manual_seed(5)
    a = [tf(img) for _ in range(3)]
    ember.manual_seed(5)
    b = [tf(img) for _ in range(3)]
    assert all(ember.equal(x, y) for x, y in zip(a, b))
    assert not ember.equal(a[0], a[1])


def test_random_crop_window_and_padding():
    x = ember.arange(48.0).view(1, 6, 8)
    ember.manual_seed(1)
    for _ in range(10):
        out = T.RandomCrop((3, 4))(x).numpy()[0]
        i, j = np.argwhere(x.numpy()[0] == out[0, 0])[0]
        np.testing.assert_array_equal(out, x.numpy()[0, i:i + 3, j:j + 4])
    padded = T.RandomCrop((8, 10), padding=1, fill=-1)(x)
    assert tuple(padded.shape) == (1, 8, 10)
    assert (padded.numpy() == -1).sum() == 8 * 10 - 48
    needed = T.RandomCrop((9, 12), pad_if_needed=True, padding_mode="edge")(x)
    assert tuple(needed.shape) == (1, 9, 12)
    with pytest.raises(ValueError, match=r"Required crop size \(7, 4\) is larger than input image "
                                         r"size \(6, 8\)"):
        T.RandomCrop((7, 4))(x)
    img = _img(6, 8)
    assert T.RandomCrop(5, padding=2)(img).size == (5, 5)
    assert T.RandomCrop.get_params(img, (6, 8)) == (0, 0, 6, 8)


def test_random_crop_pad_if_needed_pads_both_sides():
    # torchvision pads the missing width on the left and on the right (then crops at random)
    x = ember.ones(1, 2, 2)
    out = T.RandomCrop((2, 4), pad_if_needed=True)(x)
    assert tuple(out.shape) == (1, 2, 4) and out.sum().item() == 4


def test_random_resized_crop_params():
    img = _img(40, 60)
    ember.manual_seed(0)
    for _ in range(50):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i and i + h <= 40 and 0 <= j and j + w <= 60
        assert 0.08 * 2400 * 0.8 <= h * w <= 2400
        assert 3 / 4 * 0.8 <= w / h <= 4 / 3 * 1.25
    out = T.RandomResizedCrop((5, 7))(img)
    assert out.size == (7, 5)
    out = T.RandomResizedCrop(6, interpolation=InterpolationMode.NEAREST)(ember.rand(3, 40, 60))
    assert tuple(out.shape) == (3, 6, 6)
    # nothing fits (scale above 1): the central crop with the ratio clamped into range
    assert T.RandomResizedCrop.get_params(img, (2.0, 3.0), (1.0, 1.0)) == (0, 10, 40, 40)
    assert T.RandomResizedCrop.get_params(img, (2.0, 3.0), (0.5, 1.4)) == (0, 2, 40, 56)
    with pytest.warns(UserWarning, match="Scale and ratio should be of kind"):
        T.RandomResizedCrop(4, scale=(1.0, 0.5))
    with pytest.raises(TypeError, match="Scale should be a sequence"):
        T.RandomResizedCrop(4, scale=0.5)


def test_resize_and_center_crop_classes():
    img = _img(30, 40)
    assert T.Resize(20)(img).size == (26, 20)
    assert T.Resize((10, 12))(img).size == (12, 10)
    assert tuple(T.Resize(15, max_size=18)(ember.rand(3, 30, 40)).shape) == (3, 13, 18)
    assert T.CenterCrop((10, 20))(img).size == (20, 10)
    with pytest.raises(TypeError, match="Size should be int or sequence. Got <class 'float'>"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match=r"Please provide only two dimensions \(h, w\) for size."):
        T.CenterCrop((1, 2, 3))


def test_pad_class():
    assert T.Pad([1, 2])(_img(4, 5)).size == (7, 8)
    assert tuple(T.Pad(1, padding_mode="reflect")(ember.rand(1, 3, 3)).shape) == (1, 5, 5)
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        T.Pad("1")
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        T.Pad(1, fill="x")
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect "
                                         "or symmetric"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, "
                                         "not a 3 element tuple"):
        T.Pad((1, 2, 3))


def test_color_jitter_ranges_and_errors():
    cj = T.ColorJitter(brightness=0.5, contrast=(0.2, 0.3), saturation=2, hue=0.5)
    assert cj.brightness == (0.5, 1.5) and cj.contrast == (0.2, 0.3)
    assert cj.saturation == (0.0, 3.0) and cj.hue == (-0.5, 0.5)
    ember.manual_seed(0)
    order, b, c, s, h = T.ColorJitter.get_params(cj.brightness, cj.contrast, None, cj.hue)
    assert sorted(order.tolist()) == [0, 1, 2, 3] and s is None
    assert 0.5 <= b <= 1.5 and 0.2 <= c <= 0.3 and -0.5 <= h <= 0.5
    x = ember.rand(3, 4, 4)
    assert ember.equal(T.ColorJitter()(x), x)
    bright = T.ColorJitter(brightness=(2.0, 2.0))(x)
    np.testing.assert_allclose(bright.numpy(), np.clip(2 * x.numpy(), 0, 1), rtol=1e-6)
    assert T.ColorJitter(0.3, 0.3, 0.3, 0.1)(_img()).mode == "RGB"
    with pytest.raises(ValueError, match="If brightness is a single number, it must be non "
                                         "negative."):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match=r"hue values should be between \(-0.5, 0.5\), but got "
                                         r"\[-0.6, 0.6\]."):
        T.ColorJitter(hue=0.6)
    with pytest.raises(TypeError, match="contrast should be a single number or a list/tuple with "
                                        "length 2."):
        T.ColorJitter(contrast=[1, 2, 3])


def test_random_rotation():
    ember.manual_seed(0)
    angles = [T.RandomRotation.get_params([-30.0, 10.0]) for _ in range(100)]
    assert all(-30 <= a <= 10 for a in angles) and max(angles) - min(angles) > 20
    sq = ember.rand(2, 5, 5)
    out = T.RandomRotation((90, 90))(sq)
    np.testing.assert_array_equal(out.numpy(), np.rot90(sq.numpy(), axes=(1, 2)))
    img = _img(9, 9)
    rot = T.RandomRotation((45, 45), fill=(255, 0, 0))(img)
    assert np.asarray(rot)[0, 0].tolist() == [255, 0, 0]
    with pytest.raises(ValueError, match="If degrees is a single number, it must be positive."):
        T.RandomRotation(-1)
    with pytest.raises(ValueError, match="degrees should be a sequence of length 2."):
        T.RandomRotation([1, 2, 3])
    with pytest.raises(TypeError, match="Fill should be either a sequence or a number."):
        T.RandomRotation(1, fill={"red": 1})


def test_grayscale_classes():
    img = _img()
    assert T.Grayscale()(img).mode == "L"
    assert T.Grayscale(num_output_channels=3)(img).mode == "RGB"
    x = ember.rand(3, 2, 2)
    assert ember.equal(T.RandomGrayscale(p=1.0)(x), F.rgb_to_grayscale(x, 3))
    assert T.RandomGrayscale(p=0.0)(x) is x


def test_gaussian_blur_class():
    ember.manual_seed(0)
    sigma = T.GaussianBlur.get_params(0.5, 1.5)
    assert 0.5 <= sigma <= 1.5
    assert tuple(T.GaussianBlur(3, sigma=(0.5, 1.0))(ember.rand(3, 6, 6)).shape) == (3, 6, 6)
    with pytest.raises(ValueError, match="Kernel size value should be an odd and positive number."):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match=r"sigma values should be positive and of the form "
                                         r"\(min, max\)."):
        T.GaussianBlur(3, sigma=(2.0, 1.0))


def test_lambda_and_random_containers():
    assert T.Lambda(lambda x: x + 1)(1) == 2
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)
    x = ember.zeros(1, 2, 2)
    double = T.Lambda(lambda t: t + 1)
    assert T.RandomApply([double, double], p=1.0)(x).sum().item() == 8
    assert T.RandomApply([double], p=0.0)(x) is x
    random.seed(0)
    picks = {T.RandomChoice([T.Lambda(lambda _: "a"), T.Lambda(lambda _: "b")])(x)
             for _ in range(50)}
    assert picks == {"a", "b"}
    assert T.RandomChoice([T.Lambda(lambda _: "a"), T.Lambda(lambda _: "b")], p=[0, 1])(x) == "b"
    seen = []
    T.RandomOrder([T.Lambda(lambda t: seen.append(1)), T.Lambda(lambda t: seen.append(2))])(x)
    assert sorted(seen) == [1, 2]
    with pytest.raises(TypeError, match="Argument transforms should be a sequence"):
        T.RandomChoice(3)
    with pytest.raises(TypeError, match="Argument p should be a sequence"):
        T.RandomChoice([double], p=1)


def test_convert_image_dtype_and_pil_round_trip():
    u8 = ember.tensor([[[0, 255]]], dtype=ember.uint8)
    assert T.ConvertImageDtype(ember.float32)(u8).tolist() == [[[0.0, 1.0]]]
    img = _img(3, 4)
    back = T.ToPILImage()(T.PILToTensor()(img))
    np.testing.assert_array_equal(np.asarray(back), np.asarray(img))
    assert T.ToPILImage(mode="F")(ember.rand(1, 2, 2)).mode == "F"


def test_random_resized_crop_matches_documented_log_uniform_ratio():
    # the aspect ratio is exp(U(log r0, log r1)): its log is uniform, so the mean of log w/h is 0
    ember.manual_seed(3)
    img = _img(500, 500)
    logs = []
    for _ in range(300):
        _, _, h, w = T.RandomResizedCrop.get_params(img, (0.5, 0.5), (0.5, 2.0))
        logs.append(math.log(w / h))
    assert abs(np.mean(logs)) < 0.08 and max(logs) < math.log(2.0) + 0.02
