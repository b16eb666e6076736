"""ember.vision.transforms.functional: expected values from torchvision's documented formulas,
NumPy, Pillow, and torch's own kernels (``interpolate``, ``grid_sample``, ``conv2d``, ``pad``) that
torchvision's tensor transforms call. torchvision itself is not installed."""

import colorsys
import math

import numpy as np
import pytest
import torch

import ember
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as F

PIL = pytest.importorskip("PIL", reason="PIL-image transforms need Pillow")
from PIL import Image, ImageEnhance  # noqa: E402

rng = np.random.RandomState(0)


def _t(a):
    return ember.from_numpy(np.ascontiguousarray(a))


# --- conversions ----------------------------------------------------------------------------------


def test_to_tensor_uint8_array_scales_to_unit_range():
    a = rng.randint(0, 256, size=(5, 7, 3)).astype(np.uint8)
    t = F.to_tensor(a)
    assert t.dtype == ember.float32 and tuple(t.shape) == (3, 5, 7)
    expected = torch.from_numpy(a.transpose(2, 0, 1).copy()).to(torch.float32).div(255).numpy()
    np.testing.assert_array_equal(t.numpy(), expected)  # bit-exact with torch's div
    assert F.to_tensor(a[:, :, 0]).shape == (1, 5, 7)


def test_to_tensor_follows_default_dtype():
    a = np.full((2, 2), 51, dtype=np.uint8)
    ember.set_default_dtype(ember.float64)
    try:
        t = F.to_tensor(a)
    finally:
        ember.set_default_dtype(ember.float32)
    assert t.dtype == ember.float64 and t.numpy()[0, 0, 0] == 0.2


def test_to_tensor_other_arrays_keep_values():
    f = rng.rand(4, 3, 2).astype(np.float32) * 10
    np.testing.assert_array_equal(F.to_tensor(f).numpy(), f.transpose(2, 0, 1))
    i = np.arange(12, dtype=np.int32).reshape(3, 4)
    t = F.to_tensor(i)
    assert t.dtype == ember.int32 and t.tolist() == [i.tolist()]


@pytest.mark.parametrize("mode,dtype,scale", [
    ("L", ember.float32, True), ("RGB", ember.float32, True), ("RGBA", ember.float32, True),
    ("LA", ember.float32, True), ("I", ember.int32, False), ("F", ember.float32, False)])
def test_to_tensor_pil_modes(mode, dtype, scale):
    bands = len(mode) if mode not in ("I", "F") else 1
    if mode == "I":
        arr = rng.randint(-1000, 100000, size=(4, 6)).astype(np.int32)
    elif mode == "F":
        arr = rng.randn(4, 6).astype(np.float32)
    else:
        arr = rng.randint(0, 256, size=(4, 6, bands) if bands > 1 else (4, 6)).astype(np.uint8)
    img = Image.fromarray(arr)
    assert img.mode == mode
    t = F.to_tensor(img)
    assert t.dtype == dtype and tuple(t.shape) == (bands, 4, 6)
    chw = arr.reshape(4, 6, bands).transpose(2, 0, 1)
    expected = chw / np.float32(255) if scale else chw
    np.testing.assert_array_equal(t.numpy(), expected.astype(t.numpy().dtype))


def test_to_tensor_mode_1_and_palette():
    bits = Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).convert("1")
    assert F.to_tensor(bits).tolist() == [[[0.0, 1.0], [1.0, 0.0]]]
    assert F.pil_to_tensor(bits).dtype == ember.bool
    pal = Image.new("P", (2, 1), 5)
    assert F.to_tensor(pal).numpy()[0, 0, 0] == np.float32(5 / 255)


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        F.to_tensor([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        F.to_tensor(np.zeros((1, 2, 3, 4), dtype=np.uint8))


def test_pil_to_tensor_keeps_values():
    arr = rng.randint(0, 256, size=(3, 5, 3)).astype(np.uint8)
    t = F.pil_to_tensor(Image.fromarray(arr))
    assert t.dtype == ember.uint8 and t.numpy().tolist() == arr.transpose(2, 0, 1).tolist()
    with pytest.raises(TypeError, match="pic should be PIL Image. Got"):
        F.pil_to_tensor(arr)


def test_to_pil_image_float_tensor_truncates():
    t = ember.tensor([[[0.0, 0.5], [0.999, 1.0]]])
    img = F.to_pil_image(t)
    assert img.mode == "L" and np.asarray(img).tolist() == [[0, 127], [254, 255]]
    rgb = F.to_pil_image(ember.rand(3, 4, 5))
    assert rgb.mode == "RGB" and rgb.size == (5, 4)
    assert F.to_pil_image(ember.rand(4, 2, 2)).mode == "RGBA"
    assert F.to_pil_image(ember.rand(2, 2, 2)).mode == "LA"
    assert F.to_pil_image(ember.rand(1, 2, 2), mode="F").mode == "F"
    assert F.to_pil_image(np.zeros((2, 2), dtype=np.int32)).mode == "I"
    hwc = rng.randint(0, 256, size=(3, 4, 3)).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(F.to_pil_image(hwc)), hwc)  # ndarrays are HWC


def test_to_pil_image_roundtrip_with_to_tensor():
    arr = rng.randint(0, 256, size=(6, 5, 3)).astype(np.uint8)
    img = F.to_pil_image(F.to_tensor(arr))
    np.testing.assert_array_equal(np.asarray(img), arr)


def test_to_pil_image_errors():
    with pytest.raises(TypeError, match="pic should be Tensor or ndarray. Got <class 'list'>."):
        F.to_pil_image([1])
    with pytest.raises(ValueError, match="pic should not have > 4 channels. Got 5 channels."):
        F.to_pil_image(ember.rand(5, 2, 2))
    with pytest.raises(ValueError, match=r"Incorrect mode \(RGB\) supplied for input type uint8. "
                                         "Should be L"):
        F.to_pil_image(np.zeros((2, 2, 1), dtype=np.uint8), mode="RGB")
    with pytest.raises(ValueError, match=r"Only modes \['RGB', 'YCbCr', 'HSV'\] are supported "
                                         "for 3D inputs"):
        F.to_pil_image(np.zeros((2, 2, 3), dtype=np.uint8), mode="RGBA")
    with pytest.raises(TypeError, match="Input type int32 is not supported"):
        F.to_pil_image(np.zeros((2, 2, 3), dtype=np.int32))


@pytest.mark.parametrize("src,dst,values,expected", [
    (ember.uint8, ember.float32, [0, 128, 255], [0.0, 128 / 255, 1.0]),
    (ember.float32, ember.uint8, [0.0, 0.5, 1.0], [0, 127, 255]),  # x * (255 + 1 - 1e-3), truncated
    (ember.uint8, ember.int16, [0, 1, 255], [0, 128, 32640]),        # x * 128
    (ember.int16, ember.uint8, [0, 255, 32767], [0, 1, 255]),        # floor(x / 128)
    (ember.float64, ember.int32, [0.0, 1.0, 0.25], [0, 2147481600, 536870527]),
])
def test_convert_image_dtype(src, dst, values, expected):
    out = F.convert_image_dtype(ember.tensor(values, dtype=src), dst)
    assert out.dtype == dst
    np.testing.assert_allclose(out.numpy(), np.array(expected), rtol=1e-6)


def test_convert_image_dtype_errors():
    with pytest.raises(RuntimeError, match="The cast from ember.float32 to ember.int32 cannot be "
                                           "performed safely."):
        F.convert_image_dtype(ember.zeros(2), ember.int32)
    with pytest.raises(TypeError, match="Input img should be Tensor Image"):
        F.convert_image_dtype(np.zeros(2), ember.float32)
    x = ember.zeros(2)
    assert F.convert_image_dtype(x, ember.float32) is x


# --- normalize ------------------------------------------------------------------------------------


def test_normalize_values_and_inplace():
    x = ember.rand(3, 4, 5)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    expected = (x.numpy() - np.array(mean, np.float32)[:, None, None]) \
        / np.array(std, np.float32)[:, None, None]
    out = F.normalize(x, mean, std)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert not np.array_equal(x.numpy(), out.numpy())
    same = F.normalize(x, mean, std, inplace=True)
    assert same is x and np.array_equal(x.numpy(), expected)
    batch = F.normalize(ember.ones(2, 1, 2, 2), [0.5], [0.25])
    assert batch.unique().tolist() == [2.0]


def test_normalize_keeps_autograd():
    x = ember.rand(1, 2, 2, requires_grad=True)
    F.normalize(x, [0.5], [0.25]).sum().backward()
    assert x.grad.unique().tolist() == [4.0]


def test_normalize_errors():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got ember.uint8."):
        F.normalize(ember.zeros(1, 2, 2, dtype=ember.uint8), [0.0], [1.0])
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, "
                                         r"H, W\). Got tensor.size\(\) = ember.Size\(\[2, 2\]\)"):
        F.normalize(ember.zeros(2, 2), [0.0], [1.0])
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to ember.float32, "
                                         "leading to division by zero."):
        F.normalize(ember.zeros(1, 2, 2), [0.0], [0.0])
    with pytest.raises(TypeError, match="img should be Tensor Image. Got"):
        F.normalize(np.zeros((1, 2, 2)), [0.0], [1.0])


# --- geometry on tensors vs torch -----------------------------------------------------------------


@pytest.mark.parametrize("shape,size", [((2, 3, 17, 13), (7, 5)), ((3, 8, 9), (20, 31)),
                                        ((1, 10, 10), (10, 4)), ((12, 7), (5, 9))])
@pytest.mark.parametrize("mode,antialias", [("nearest", False), ("nearest-exact", False),
                                            ("bilinear", False), ("bilinear", True)])
def test_resize_tensor_matches_torch_interpolate(shape, size, mode, antialias):
    x = rng.rand(*shape).astype(np.float32)
    out = F.resize(_t(x), list(size), InterpolationMode(mode), antialias=antialias)
    x4 = torch.from_numpy(x).reshape((-1,) + shape[-3:] if len(shape) > 2 else (1, 1) + shape)
    ref = torch.nn.functional.interpolate(
        x4, size=size, mode=mode, align_corners=False if mode == "bilinear" else None,
        antialias=antialias).reshape(shape[:-2] + size)
    assert tuple(out.shape) == shape[:-2] + size and out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-6)


def test_resize_uint8_tensor_rounds():
    x = rng.randint(0, 256, size=(3, 16, 16)).astype(np.uint8)
    out = F.resize(_t(x), [6, 6])
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None].float(), size=(6, 6),
                                          mode="bilinear", antialias=True).round()[0]
    assert out.dtype == ember.uint8
    assert np.abs(out.numpy().astype(int) - ref.numpy().astype(int)).max() <= 1


def test_resize_sizes():
    img = ember.zeros(3, 30, 40)
    assert tuple(F.resize(img, 20).shape) == (3, 20, 26)  # smaller edge 20, int(20 * 40 / 30)
    assert tuple(F.resize(img, [20]).shape) == (3, 20, 26)
    assert tuple(F.resize(img, [10, 12]).shape) == (3, 10, 12)
    assert tuple(F.resize(img, 20, max_size=24).shape) == (3, 18, 24)  # int(24 * 20 / 26)
    assert F.resize(img, 30) is img  # already that size
    with pytest.raises(ValueError, match=r"max_size = 20 must be strictly greater than the "
                                         r"requested size for the smaller edge size = \[20\]"):
        F.resize(img, 20, max_size=20)
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies the "
                                         "length of the smaller edge"):
        F.resize(img, [20, 20], max_size=30)
    with pytest.raises(ValueError, match="Size must be an int or a 1 or 2 element tuple/list, not "
                                         "a 3 element tuple/list"):
        F.resize(img, [1, 2, 3])
    with pytest.raises(TypeError, match="Argument interpolation should be a InterpolationMode"):
        F.resize(img, 5, interpolation="bilinear")


def test_resize_pil_uses_pillow_filters():
    arr = rng.randint(0, 256, size=(30, 40, 3)).astype(np.uint8)
    img = Image.fromarray(arr)
    out = F.resize(img, 20)
    assert out.size == (26, 20)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img.resize((26, 20), Image.BILINEAR)))
    near = F.resize(img, [10, 10], interpolation=InterpolationMode.NEAREST)
    np.testing.assert_array_equal(np.asarray(near), np.asarray(img.resize((10, 10), Image.NEAREST)))
    bicubic = F.resize(img, [10, 10], interpolation=3)  # a Pillow constant is accepted
    np.testing.assert_array_equal(np.asarray(bicubic),
                                  np.asarray(img.resize((10, 10), Image.BICUBIC)))
    with pytest.warns(UserWarning, match="Anti-alias option is always applied for PIL Image input"):
        F.resize(img, 10, antialias=False)


def test_resize_tensor_and_pil_agree():
    arr = rng.randint(0, 256, size=(32, 48, 3)).astype(np.uint8)
    from_pil = np.asarray(F.resize(Image.fromarray(arr), [12, 20])).astype(int)
    from_tensor = F.resize(_t(arr.transpose(2, 0, 1)), [12, 20]).numpy().transpose(1, 2, 0)
    assert np.abs(from_pil - from_tensor.astype(int)).max() <= 1


def test_resize_bicubic_tensor_not_implemented():
    with pytest.raises(NotImplementedError, match="'bicubic' interpolation is not implemented"):
        F.resize(ember.zeros(1, 8, 8), [4, 4], InterpolationMode.BICUBIC)


def test_crop_and_center_crop_coordinates():
    x = _t(np.arange(3 * 6 * 7, dtype=np.float32).reshape(3, 6, 7))
    np.testing.assert_array_equal(F.crop(x, 1, 2, 3, 4).numpy(), x.numpy()[:, 1:4, 2:6])
    # center: top = round((6 - 3) / 2) = 2 (round half to even), left = round((7 - 4) / 2) = 2
    np.testing.assert_array_equal(F.center_crop(x, [3, 4]).numpy(), x.numpy()[:, 2:5, 2:6])
    np.testing.assert_array_equal(F.center_crop(x, 2).numpy(), x.numpy()[:, 2:4, 2:4])
    # outside the image: zero padding
    out = F.crop(x, -1, -2, 3, 4).numpy()
    assert out.shape == (3, 3, 4)
    np.testing.assert_array_equal(out[:, 1:, 2:], x.numpy()[:, :2, :2])
    assert (out[:, 0] == 0).all() and (out[:, :, :2] == 0).all()
    big = F.center_crop(x, [8, 9]).numpy()  # padded by (1, 1) each side, then cropped
    np.testing.assert_array_equal(big[:, 1:7, 1:8], x.numpy())
    pil = Image.fromarray(rng.randint(0, 256, size=(6, 7)).astype(np.uint8))
    np.testing.assert_array_equal(np.asarray(F.center_crop(pil, [3, 4])), np.asarray(pil)[2:5, 2:6])
    np.testing.assert_array_equal(np.asarray(F.crop(pil, 1, 2, 3, 4)), np.asarray(pil)[1:4, 2:6])


@pytest.mark.parametrize("mode,torch_mode", [("reflect", "reflect"), ("edge", "replicate"),
                                             ("constant", "constant")])
def test_pad_tensor_matches_torch(mode, torch_mode):
    x = rng.rand(2, 3, 5, 6).astype(np.float32)
    for padding, lrtb in [(2, (2, 2, 2, 2)), ([1, 3], (1, 1, 3, 3)), ([1, 2, 3, 4], (1, 3, 2, 4))]:
        out = F.pad(_t(x), padding, fill=0.5 if mode == "constant" else 0, padding_mode=mode)
        kwargs = {"value": 0.5} if mode == "constant" else {}
        ref = torch.nn.functional.pad(torch.from_numpy(x), lrtb, mode=torch_mode, **kwargs)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_pad_symmetric_and_negative():
    x = _t(np.array([[1, 2, 3, 4]], dtype=np.float32)[None])
    assert F.pad(x, [2, 0], padding_mode="symmetric").tolist() == [[[2, 1, 1, 2, 3, 4, 4, 3]]]
    assert F.pad(x, [2, 0], padding_mode="reflect").tolist() == [[[3, 2, 1, 2, 3, 4, 3, 2]]]
    assert F.pad(x, [-1, 0, 1, 0]).tolist() == [[[2, 3, 4, 0]]]
    u8 = F.pad(ember.ones(1, 2, 2, dtype=ember.uint8), 1, fill=7)
    assert u8.dtype == ember.uint8 and u8[0, 0].tolist() == [7, 7, 7, 7]


def test_pad_pil():
    arr = rng.randint(0, 256, size=(4, 5, 3)).astype(np.uint8)
    img = Image.fromarray(arr)
    out = np.asarray(F.pad(img, [1, 2], fill=(9, 8, 7)))
    assert out.shape == (8, 7, 3) and out[0, 0].tolist() == [9, 8, 7]
    np.testing.assert_array_equal(out[2:6, 1:6], arr)
    for mode in ("edge", "reflect", "symmetric"):
        got = np.asarray(F.pad(img, [1, 2, 3, 4], padding_mode=mode))
        np.testing.assert_array_equal(got, np.pad(arr, ((2, 4), (1, 3), (0, 0)), mode=mode))
    gray = Image.fromarray(arr[:, :, 0])
    np.testing.assert_array_equal(np.asarray(F.pad(gray, 2, padding_mode="reflect")),
                                  np.pad(arr[:, :, 0], 2, mode="reflect"))
    with pytest.raises(ValueError, match="The number of elements in 'fill' does not match the "
                                         r"number of channels of the image \(2 != 3\)"):
        F.pad(img, 1, fill=(1, 2))


def test_pad_errors():
    x = ember.zeros(1, 2, 2)
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        F.pad(x, "1")
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, "
                                         "not a 3 element tuple"):
        F.pad(x, [1, 2, 3])
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or "
                                         "symmetric"):
        F.pad(x, 1, padding_mode="wrap")
    with pytest.raises(TypeError, match="img should be PIL Image. Got <class 'list'>"):
        F.pad([1], 1)


def test_flips():
    x = _t(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    np.testing.assert_array_equal(F.hflip(x).numpy(), x.numpy()[:, :, ::-1])
    np.testing.assert_array_equal(F.vflip(x).numpy(), x.numpy()[:, ::-1, :])
    arr = rng.randint(0, 256, size=(3, 4)).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(F.hflip(Image.fromarray(arr))), arr[:, ::-1])
    np.testing.assert_array_equal(np.asarray(F.vflip(Image.fromarray(arr))), arr[::-1])
    with pytest.raises(TypeError, match="Tensor is not a torch image."):
        F.hflip(ember.zeros(3))


def test_resized_crop():
    x = _t(rng.rand(1, 10, 10).astype(np.float32))
    out = F.resized_crop(x, 2, 3, 4, 4, [8, 8], InterpolationMode.NEAREST)
    expected = np.repeat(np.repeat(x.numpy()[:, 2:6, 3:7], 2, 1), 2, 2)
    np.testing.assert_array_equal(out.numpy(), expected)


def _torch_rotate(img, matrix, mode, ow, oh, fill):
    """torchvision's tensor rotation written with torch ops: an affine grid + grid_sample."""
    h, w = img.shape[-2:]
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    base = torch.empty(1, oh, ow, 3)
    base[..., 0].copy_(torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, steps=ow))
    base[..., 1].copy_(torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, steps=oh).unsqueeze(-1))
    base[..., 2].fill_(1)
    grid = base.view(1, oh * ow, 3).bmm(theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h]))
    grid = grid.view(1, oh, ow, 2)
    x = torch.cat((img[None], torch.ones(1, 1, h, w)), dim=1)
    out = torch.nn.functional.grid_sample(x, grid, mode=mode, padding_mode="zeros",
                                          align_corners=False)[0]
    out, mask = out[:-1], out[-1:]
    fill_img = torch.tensor(fill, dtype=torch.float32).view(-1, 1, 1).expand_as(out)
    if mode == "nearest":
        return torch.where(mask < 0.5, fill_img, out)
    return out * mask + (1.0 - mask) * fill_img


@pytest.mark.parametrize("angle", [90.0, 33.0, -140.5])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotate_tensor_matches_grid_sample(angle, mode):
    # odd sizes: pixel centres map to whole pixels at right angles (no rounding ties)
    x = rng.rand(2, 9, 11).astype(np.float32)
    fill = [0.25, 0.75]
    out = F.rotate(_t(x), angle, InterpolationMode(mode), fill=fill)
    matrix = [math.cos(math.radians(-angle)), math.sin(math.radians(-angle)), 0.0,
              -math.sin(math.radians(-angle)), math.cos(math.radians(-angle)), 0.0]
    ref = _torch_rotate(torch.from_numpy(x), matrix, mode, 11, 9, fill).numpy()
    if mode == "bilinear":
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-5)
    else:  # ties at exact half pixels may round either way after float error
        assert (np.abs(out.numpy() - ref) > 1e-6).mean() < 0.02


def test_rotate_right_angles_and_expand():
    sq = _t(rng.rand(2, 5, 5).astype(np.float32))
    # counter-clockwise
    np.testing.assert_array_equal(F.rotate(sq, 90.0).numpy(), np.rot90(sq.numpy(), axes=(1, 2)))
    np.testing.assert_array_equal(F.rotate(sq, 180.0).numpy(), sq.numpy()[:, ::-1, ::-1])
    # expand: the bounding box of the rotated corners, as Pillow's general rotation computes it
    assert tuple(F.rotate(ember.zeros(1, 10, 20), 45.0, expand=True).shape) == (1, 22, 22)
    assert Image.new("L", (20, 10)).rotate(45.0, expand=True).size == (22, 22)
    assert tuple(F.rotate(ember.zeros(1, 10, 20), 30.0, expand=True).shape) == (1, 20, 24)
    assert Image.new("L", (20, 10)).rotate(30.0, expand=True).size == (24, 20)


def test_rotate_pil_matches_pillow():
    arr = rng.randint(0, 256, size=(9, 12, 3)).astype(np.uint8)
    img = Image.fromarray(arr)
    got = F.rotate(img, 30.0, fill=(1, 2, 3), center=[2, 3])
    np.testing.assert_array_equal(np.asarray(got), np.asarray(
        img.rotate(30.0, Image.NEAREST, False, [2, 3], fillcolor=(1, 2, 3))))
    got = F.rotate(img, -20.0, InterpolationMode.BILINEAR, expand=True)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(
        img.rotate(-20.0, Image.BILINEAR, True, fillcolor=(0, 0, 0))))


def test_rotate_pil_and_tensor_agree_at_right_angles():
    arr = rng.randint(0, 256, size=(6, 6)).astype(np.uint8)
    from_pil = np.asarray(F.rotate(Image.fromarray(arr), 90.0))
    from_tensor = F.rotate(_t(arr[None]), 90.0).numpy()[0]
    np.testing.assert_array_equal(from_pil, from_tensor)


# --- colour ---------------------------------------------------------------------------------------


def test_grayscale_weights():
    x = _t(rng.rand(3, 4, 5).astype(np.float32))
    gray = F.rgb_to_grayscale(x)
    r, g, b = x.numpy()
    np.testing.assert_allclose(gray.numpy()[0], 0.2989 * r + 0.587 * g + 0.114 * b, rtol=1e-6)
    three = F.rgb_to_grayscale(x, num_output_channels=3)
    assert tuple(three.shape) == (3, 4, 5) and np.array_equal(three.numpy()[2], gray.numpy()[0])
    u8 = F.rgb_to_grayscale(_t(np.full((3, 1, 1), 200, np.uint8)))
    assert u8.dtype == ember.uint8 and u8.item() == 199  # 0.9999 * 200, truncated
    arr = rng.randint(0, 256, size=(4, 5, 3)).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(F.rgb_to_grayscale(Image.fromarray(arr))),
                                  np.asarray(Image.fromarray(arr).convert("L")))
    pil3 = F.to_grayscale(Image.fromarray(arr), 3)
    assert pil3.mode == "RGB"
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        F.rgb_to_grayscale(x, 2)
    with pytest.raises(TypeError, match=r"Input image tensor permitted channel values are "
                                        r"\[1, 3\], but found 2"):
        F.rgb_to_grayscale(ember.zeros(2, 3, 3))


def test_adjust_brightness_contrast_saturation_tensor():
    x = _t(rng.rand(3, 4, 5).astype(np.float32))
    np.testing.assert_allclose(F.adjust_brightness(x, 1.5).numpy(),
                               np.clip(1.5 * x.numpy(), 0, 1), rtol=1e-6)
    mean = F.rgb_to_grayscale(x).numpy().mean()
    np.testing.assert_allclose(F.adjust_contrast(x, 0.3).numpy(),
                               np.clip(0.3 * x.numpy() + 0.7 * mean, 0, 1), rtol=1e-5)
    np.testing.assert_allclose(F.adjust_saturation(x, 0.0).numpy(),
                               np.broadcast_to(F.rgb_to_grayscale(x).numpy(), (3, 4, 5)), rtol=1e-6)
    u8 = _t(np.full((3, 1, 1), 100, np.uint8))
    assert F.adjust_brightness(u8, 3.0).tolist() == [[[255]]] * 3  # clamped to 255
    with pytest.raises(ValueError, match=r"brightness_factor \(-1\) is not non-negative."):
        F.adjust_brightness(x, -1)
    with pytest.raises(ValueError, match=r"contrast_factor \(-1\) is not non-negative."):
        F.adjust_contrast(x, -1)
    with pytest.raises(ValueError, match=r"saturation_factor \(-1\) is not non-negative."):
        F.adjust_saturation(x, -1)


def test_adjust_hue_tensor_matches_colorsys():
    x = rng.rand(3, 2, 3).astype(np.float32)
    out = F.adjust_hue(_t(x), 0.2).numpy()
    for i in range(2):
        for j in range(3):
            h, s, v = colorsys.rgb_to_hsv(*x[:, i, j])
            expected = colorsys.hsv_to_rgb((h + 0.2) % 1.0, s, v)
            np.testing.assert_allclose(out[:, i, j], expected, atol=1e-5)
    np.testing.assert_allclose(F.adjust_hue(_t(x), 0.0).numpy(), x, atol=1e-6)
    gray = _t(x[:1])
    assert F.adjust_hue(gray, 0.3) is gray
    u8 = F.adjust_hue(_t((x * 255).astype(np.uint8)), -0.25)
    assert u8.dtype == ember.uint8
    with pytest.raises(ValueError, match=r"hue_factor \(0.6\) is not in \[-0.5, 0.5\]."):
        F.adjust_hue(_t(x), 0.6)


def test_adjust_pil_uses_pillow_enhancers():
    arr = rng.randint(0, 256, size=(4, 5, 3)).astype(np.uint8)
    img = Image.fromarray(arr)
    for fn, enhancer in ((F.adjust_brightness, ImageEnhance.Brightness),
                         (F.adjust_contrast, ImageEnhance.Contrast),
                         (F.adjust_saturation, ImageEnhance.Color)):
        np.testing.assert_array_equal(np.asarray(fn(img, 0.6)),
                                      np.asarray(enhancer(img).enhance(0.6)))
    hsv = np.asarray(img.convert("HSV")).astype(int)
    shifted = np.asarray(F.adjust_hue(img, 0.1).convert("HSV")).astype(int)
    # hue moves by int(0.1 * 255) = 25 (mod 256); saturation and value are kept up to rounding
    assert (np.abs(((shifted[..., 0] - hsv[..., 0]) % 256) - 25) <= 2).mean() > 0.8
    assert F.adjust_hue(img.convert("L"), 0.2).mode == "L"


def test_gaussian_blur_matches_conv2d():
    x = rng.rand(3, 9, 11).astype(np.float32)
    out = F.gaussian_blur(_t(x), [5, 3], [1.5, 0.7])

    def kernel1d(k, sigma):
        v = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, steps=k)
        pdf = torch.exp(-0.5 * (v / sigma).pow(2))
        return pdf / pdf.sum()

    kernel = torch.mm(kernel1d(3, 0.7)[:, None], kernel1d(5, 1.5)[None, :])
    padded = torch.nn.functional.pad(torch.from_numpy(x)[None], [2, 2, 1, 1], mode="reflect")
    ref = torch.nn.functional.conv2d(padded, kernel.expand(3, 1, 3, 5), groups=3)[0]
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-6)
    # default sigma: 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    np.testing.assert_allclose(F.gaussian_blur(_t(x), 5).numpy(),
                               F.gaussian_blur(_t(x), 5, 5 * 0.15 + 0.35).numpy())
    pil = F.gaussian_blur(Image.fromarray((x[0] * 255).astype(np.uint8)), 3, 1.0)
    assert pil.mode == "L" and pil.size == (11, 9)


def test_gaussian_blur_errors():
    x = ember.zeros(1, 5, 5)
    with pytest.raises(ValueError, match=r"kernel_size should have odd and positive integers. Got "
                                         r"\[4, 4\]"):
        F.gaussian_blur(x, 4)
    with pytest.raises(ValueError, match=r"sigma should have positive values. Got \[0.0, 0.0\]"):
        F.gaussian_blur(x, 3, 0.0)
    with pytest.raises(TypeError, match="kernel_size should be int or a sequence of integers."):
        F.gaussian_blur(x, 3.0)


def test_dimensions():
    assert F.get_dimensions(ember.zeros(2, 3, 4, 5)) == [3, 4, 5]
    assert F.get_dimensions(ember.zeros(4, 5)) == [1, 4, 5]
    assert F.get_image_size(ember.zeros(3, 4, 5)) == [5, 4]
    img = Image.new("RGBA", (7, 3))
    assert F.get_dimensions(img) == [4, 3, 7] and F.get_image_size(img) == [7, 3]
    assert F.get_image_num_channels(img) == 4
