"""Image ops on tensors (..., C, H, W), as ``torchvision.transforms._functional_tensor``.

Pointwise ops (blends, grayscale, normalize) and crops/flips are ember ops, so they keep autograd.
Resampling ops (pad, resize, rotate, blur, hue) compute with NumPy on the host and return a new
tensor on the input's device; they follow torch's kernels (``F.interpolate`` with
``align_corners=False``, ``grid_sample``, reflect padding) so results match torchvision's.
"""

from __future__ import annotations

import math

import numpy as np

from ember import dtypes
from ember._tensor import Tensor
from ember.ops.creation import as_tensor, from_numpy, zeros_like

# --- checks and helpers ---------------------------------------------------------------------------


def _is_tensor_a_torch_image(x) -> bool:
    return x.ndim >= 2


def _assert_image_tensor(img) -> None:
    if not _is_tensor_a_torch_image(img):
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(img: Tensor) -> list[int]:
    """[channels, height, width] of an image tensor (..., C, H, W) or (H, W)."""
    _assert_image_tensor(img)
    channels = 1 if img.ndim == 2 else img.shape[-3]
    height, width = img.shape[-2:]
    return [channels, height, width]


def _assert_channels(img: Tensor, permitted: list[int]) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(
            f"Input image tensor permitted channel values are {permitted}, but found {c}")


_INT_MAX = {dtypes.uint8: 255, dtypes.int8: 127, dtypes.int16: 32767, dtypes.int32: 2147483647,
            dtypes.int64: 9223372036854775807}


def _max_value(dtype) -> int:
    """The largest value of an integer image dtype; 1 for floating images (and bool)."""
    return _INT_MAX.get(dtype, 1)


def _host_array(img: Tensor) -> np.ndarray:
    """The image's values as a NumPy array (a copy when the tensor is on a GPU)."""
    return img.detach().cpu().numpy()


def _like(array: np.ndarray, img: Tensor) -> Tensor:
    """A tensor holding ``array`` on ``img``'s device."""
    out = from_numpy(np.ascontiguousarray(array))
    return out if img.device.type == "cpu" else out.to(img.device)


def _work_dtype(dtype: np.dtype) -> np.dtype:
    """The floating dtype an op computes in: the image's own when floating, else float32 (torch)."""
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


def _cast_back(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round (integer images) and cast to ``dtype``, as torchvision's ``_cast_squeeze_out``."""
    if out.dtype == dtype:
        return out
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        info = np.iinfo(dtype) if dtype != np.bool_ else None
        out = np.round(out)
        if info is not None:
            # NumPy's cast of out-of-range floats to integers is undefined
            out = np.clip(out, info.min, info.max)
    return out.astype(dtype)


# --- dtype conversion ---------------------------------------------------------------------------


def convert_image_dtype(image: Tensor, dtype=dtypes.float32) -> Tensor:
    """Convert to ``dtype``, rescaling values (floats in [0, 1], integers in [0, max])."""
    if image.dtype == dtype:
        return image

    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        # float to int
        if (image.dtype == dtypes.float32 and dtype in (dtypes.int32, dtypes.int64)) or (
                image.dtype == dtypes.float64 and dtype == dtypes.int64):
            raise RuntimeError(
                f"The cast from {image.dtype} to {dtype} cannot be performed safely.")
        # 1 - eps keeps 1.0 from landing on max + 1 (which would overflow)
        eps = 1e-3
        max_val = float(_max_value(dtype))
        return image.mul(max_val + 1.0 - eps).to(dtype)

    input_max = float(_max_value(image.dtype))
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = float(_max_value(dtype))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return image.div(factor, rounding_mode="floor").to(dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return image.to(dtype) * factor


# --- geometry -----------------------------------------------------------------------------------


def vflip(img: Tensor) -> Tensor:
    _assert_image_tensor(img)
    return img.flip(-2)


def hflip(img: Tensor) -> Tensor:
    _assert_image_tensor(img)
    return img.flip(-1)


def crop(img: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The box rows [top, top+height), columns [left, left+width); zero-padded where it leaves."""
    _assert_image_tensor(img)
    _, h, w = get_dimensions(img)
    right = left + width
    bottom = top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def _parse_pad_padding(padding) -> list[int]:
    """[left, right, top, bottom] from an int or a 1-, 2- or 4-element sequence."""
    if isinstance(padding, int):
        return [padding] * 4
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    return [padding[0], padding[2], padding[1], padding[3]]


_NUMPY_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
                    "symmetric": "symmetric"}


def pad(img: Tensor, padding, fill: float | None = 0, padding_mode: str = "constant") -> Tensor:
    """Pad the last two dimensions; negative padding crops."""
    _assert_image_tensor(img)
    if fill is None:
        fill = 0
    if not isinstance(padding, (int, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if not isinstance(fill, (int, float)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in [1, 2, 4]:
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in _NUMPY_PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")

    left, right, top, bottom = _parse_pad_padding(padding)
    arr = _host_array(img)
    # negative padding crops, as torch.nn.functional.pad does
    h, w = arr.shape[-2:]
    arr = arr[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    widths = [(0, 0)] * (arr.ndim - 2) + [(max(top, 0), max(bottom, 0)),
                                           (max(left, 0), max(right, 0))]
    if padding_mode == "constant":
        out = np.pad(arr, widths, mode="constant", constant_values=np.array(fill).astype(arr.dtype))
    else:
        out = np.pad(arr, widths, mode=_NUMPY_PAD_MODES[padding_mode])
    return _like(out, img)


def _resample_weights(in_size: int, out_size: int, interpolation: str, antialias: bool,
                      dtype: np.dtype) -> np.ndarray:
    """The (out_size, in_size) matrix mapping a row of pixels to the resized row.

    Follows torch's CPU kernels with ``align_corners=False``: nearest takes
    ``floor(i * scale)``, nearest-exact ``floor((i + 0.5) * scale)``, and bilinear a triangle
    filter around ``(i + 0.5) * scale``, widened by the scale when downsampling with antialias
    (the same windows and normalisation as Pillow and torch's ``_upsample_bilinear2d_aa``).
    """
    scale = in_size / out_size
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    if interpolation in ("nearest", "nearest-exact"):
        offset = 0.0 if interpolation == "nearest" else 0.5
        src = np.minimum(np.floor((rows + offset) * scale).astype(np.int64), in_size - 1)
        weights[rows, src] = 1.0
        return weights.astype(dtype)
    if interpolation != "bilinear":
        raise NotImplementedError(f"resizing tensors with {interpolation!r} interpolation is not "
                                  "implemented in ember; use bilinear or nearest, or resize the "
                                  "PIL image instead")
    support = scale if (antialias and scale >= 1.0) else 1.0
    invscale = 1.0 / scale if (antialias and scale >= 1.0) else 1.0
    for i in range(out_size):
        center = scale * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        j = np.arange(xmin, xmax)
        w = np.maximum(1.0 - np.abs((j - center + 0.5) * invscale), 0.0)
        total = w.sum()
        weights[i, xmin:xmax] = w / total if total != 0.0 else w
    return weights.astype(dtype)


def resize(img: Tensor, size: list[int], interpolation: str = "bilinear",
           antialias: bool | None = True) -> Tensor:
    """Resize the last two dimensions to ``size`` = [height, width]."""
    _assert_image_tensor(img)
    if isinstance(size, tuple):
        size = list(size)
    if antialias is None:
        antialias = False
    if antialias and interpolation not in ["bilinear", "bicubic"]:
        antialias = False  # antialiasing only applies to the smooth filters, as in torchvision
    arr = _host_array(img)
    in_h, in_w = arr.shape[-2:]
    out_h, out_w = size
    work = _work_dtype(arr.dtype)
    wh = _resample_weights(in_h, out_h, interpolation, antialias, work)
    ww = _resample_weights(in_w, out_w, interpolation, antialias, work)
    # separable: rows then columns, each a matrix product over the batch of images
    out = np.matmul(np.matmul(wh, arr.astype(work, copy=False)), ww.T)
    return _like(_cast_back(out, arr.dtype), img)


def _rotation_matrix(center: list[float], angle: float) -> list[float]:
    """The inverse affine matrix (output pixel -> input pixel) of a rotation about ``center``.

    ``center`` is relative to the image centre; torchvision's ``_get_inverse_affine_matrix``
    with no translation, scale 1 and no shear.
    """
    rot = math.radians(angle)
    cx, cy = center
    a, b, c, d = math.cos(rot), -math.sin(rot), math.sin(rot), math.cos(rot)
    matrix = [d, -b, 0.0, -c, a, 0.0]
    matrix[2] += matrix[0] * (-cx) + matrix[1] * (-cy)
    matrix[5] += matrix[3] * (-cx) + matrix[4] * (-cy)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


def _affine_output_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """(width, height) that holds the whole transformed image (``expand=True``)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.array(matrix, dtype=np.float32).reshape(2, 3)
    new_pts = pts @ theta.T
    min_vals = new_pts.min(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    max_vals = new_pts.max(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    # truncate to 1e-4 so that 1e-15 above an integer does not round up to the next one
    tol = 1e-4
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def rotate(img: Tensor, matrix: list[float], interpolation: str = "nearest", expand: bool = False,
           fill: list[float] | None = None) -> Tensor:
    """Apply the inverse affine ``matrix`` by sampling, as torch's ``grid_sample``
    (``align_corners=False``, zeros outside) followed by torchvision's fill."""
    _assert_image_tensor(img)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")
    arr = _host_array(img)
    h, w = arr.shape[-2:]
    ow, oh = _affine_output_size(matrix, w, h) if expand else (w, h)
    work = _work_dtype(arr.dtype)
    theta = np.array(matrix, dtype=work).reshape(2, 3)
    # output pixel centres relative to the output image centre
    xs = np.arange(ow, dtype=work) - ow * 0.5 + 0.5
    ys = np.arange(oh, dtype=work) - oh * 0.5 + 0.5
    gx, gy = np.meshgrid(xs, ys)
    src_x = theta[0, 0] * gx + theta[0, 1] * gy + theta[0, 2] + (w - 1) * 0.5
    src_y = theta[1, 0] * gx + theta[1, 1] * gy + theta[1, 2] + (h - 1) * 0.5

    data = arr.astype(work, copy=False)
    lead = data.shape[:-2]
    out = np.zeros(lead + (oh, ow), dtype=work)
    mask = np.zeros((oh, ow), dtype=work)  # how much of each output pixel came from the image
    if interpolation == "nearest":
        ix, iy = np.rint(src_x).astype(np.int64), np.rint(src_y).astype(np.int64)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out[..., inside] = data[..., iy[inside], ix[inside]]
        mask[inside] = 1.0
    else:
        x0, y0 = np.floor(src_x).astype(np.int64), np.floor(src_y).astype(np.int64)
        fx, fy = (src_x - x0).astype(work), (src_y - y0).astype(work)
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                xx, yy = x0 + dx, y0 + dy
                inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
                weight = np.where(inside, wx * wy, 0).astype(work)
                out += weight * data[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
                mask += weight
    if fill is not None:
        fill_arr = np.asarray(fill, dtype=work)
        channels = 1 if arr.ndim == 2 else arr.shape[-3]
        if fill_arr.size not in (1, channels):
            raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the "
                             f"number of channels of the image ({fill_arr.size} != {channels})")
        fill_img = fill_arr.reshape(-1, 1, 1) if arr.ndim > 2 else fill_arr.reshape(1, 1)
        if interpolation == "nearest":
            out = np.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (1.0 - mask) * fill_img
    return _like(_cast_back(out, arr.dtype), img)


# --- colour -------------------------------------------------------------------------------------


def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    ratio = float(ratio)
    bound = _max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def rgb_to_grayscale(img: Tensor, num_output_channels: int = 1) -> Tensor:
    """ITU-R 601-2 luma (0.2989 R + 0.587 G + 0.114 B), as 1 or 3 channels."""
    if img.ndim < 3:
        raise TypeError(
            f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")
    _assert_channels(img, [1, 3])
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(dim=-3)
        l_img = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype)
        l_img = l_img.unsqueeze(dim=-3)
    else:
        l_img = img.clone()
    if num_output_channels == 3:
        return l_img.expand(img.shape)
    return l_img


def adjust_brightness(img: Tensor, brightness_factor: float) -> Tensor:
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    return _blend(img, zeros_like(img), brightness_factor)


def adjust_contrast(img: Tensor, contrast_factor: float) -> Tensor:
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [3, 1])
    c = get_dimensions(img)[0]
    dtype = img.dtype if img.is_floating_point() else dtypes.float32
    gray = rgb_to_grayscale(img) if c == 3 else img
    mean = gray.to(dtype).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img: Tensor, saturation_factor: float) -> Tensor:
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:  # no saturation for grayscale
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(img: np.ndarray) -> np.ndarray:
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    # where the pixel is gray (max == min) hue is undefined: divide by 1 instead of 0
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3).astype(img.dtype, copy=False)


def _hsv2rgb(img: np.ndarray) -> np.ndarray:
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    r = np.choose(i, (v, q, p, p, t, v))
    g = np.choose(i, (t, v, v, q, p, p))
    b = np.choose(i, (p, p, t, v, v, q))
    return np.stack((r, g, b), axis=-3).astype(img.dtype, copy=False)


def adjust_hue(img: Tensor, hue_factor: float) -> Tensor:
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:  # no hue for grayscale
        return img
    orig_dtype = img.dtype
    as_float = convert_image_dtype(img, dtypes.float32)
    hsv = _rgb2hsv(_host_array(as_float))
    hsv[..., 0, :, :] = (hsv[..., 0, :, :] + np.float32(hue_factor)) % 1.0
    return convert_image_dtype(_like(_hsv2rgb(hsv), img), orig_dtype)


# --- filters and normalisation ------------------------------------------------------------------


def _gaussian_kernel1d(kernel_size: int, sigma: float, dtype: np.dtype) -> np.ndarray:
    ksize_half = (kernel_size - 1) * 0.5
    x = np.linspace(-ksize_half, ksize_half, num=kernel_size).astype(dtype)
    pdf = np.exp(-0.5 * (x / dtype.type(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img: Tensor, kernel_size: list[int], sigma: list[float]) -> Tensor:
    """Convolve with a separable Gaussian kernel (``kernel_size`` = [kx, ky]) after reflect
    padding, as torchvision."""
    _assert_image_tensor(img)
    arr = _host_array(img)
    work = _work_dtype(arr.dtype)
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], work)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], work)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    widths = [(0, 0)] * (arr.ndim - 2) + [(py, py), (px, px)]
    padded = np.pad(arr.astype(work, copy=False), widths, mode="reflect")
    h, w = arr.shape[-2:]
    rows = sum(ky[k] * padded[..., k:k + h, :] for k in range(len(ky)))
    out = sum(kx[k] * rows[..., :, k:k + w] for k in range(len(kx)))
    return _like(_cast_back(np.asarray(out, dtype=work), arr.dtype), img)


def normalize(tensor: Tensor, mean: list[float], std: list[float], inplace: bool = False) -> Tensor:
    """(tensor - mean) / std per channel (dimension -3)."""
    _assert_image_tensor(tensor)
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    if not inplace:
        tensor = tensor.clone()
    dtype = tensor.dtype
    mean = as_tensor(mean, dtype=dtype, device=tensor.device)
    std = as_tensor(std, dtype=dtype, device=tensor.device)
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to division "
                         "by zero.")
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    return tensor.sub_(mean).div_(std)
