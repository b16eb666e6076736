"""Functional image transforms for PIL images and tensors, as ``torchvision.transforms.functional``.

Each function takes a PIL image or a tensor (..., C, H, W) and returns the same kind. Conversions:
``to_tensor`` (scaled to [0, 1]), ``pil_to_tensor`` (values kept), ``to_pil_image``,
``convert_image_dtype``.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from enum import Enum

import numpy as np

from ember import dtypes
from ember._tensor import Tensor
from ember.ops.creation import from_numpy
from ember.vision._pil import is_pil_image, require_pil
from ember.vision.transforms import _functional_pil as F_pil
from ember.vision.transforms import _functional_tensor as F_t

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "pil_to_tensor", "convert_image_dtype", "to_pil_image", "normalize",
           "resize", "pad", "crop", "center_crop", "resized_crop", "hflip", "vflip", "rotate",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "rgb_to_grayscale", "to_grayscale", "gaussian_blur"]


class InterpolationMode(Enum):
    """Interpolation modes; tensors support NEAREST, NEAREST_EXACT and BILINEAR in ember."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    # PIL only
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's resampling filter numbers (PIL.Image.Resampling), without importing Pillow
_PIL_FILTERS = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
                InterpolationMode.LANCZOS: 1, InterpolationMode.BILINEAR: 2,
                InterpolationMode.BICUBIC: 3, InterpolationMode.BOX: 4,
                InterpolationMode.HAMMING: 5}
pil_modes_mapping = _PIL_FILTERS


def _interpolation_modes_from_int(i: int) -> InterpolationMode:
    inverse_modes_mapping = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                             3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                             5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
    return inverse_modes_mapping[i]


def _is_numpy(img) -> bool:
    return isinstance(img, np.ndarray)


def _is_numpy_image(img) -> bool:
    return img.ndim in {2, 3}


# --- sizes ----------------------------------------------------------------------------------------


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image or an image tensor."""
    if isinstance(img, Tensor):
        return F_t.get_dimensions(img)
    return F_pil.get_dimensions(img)


def get_image_size(img) -> list[int]:
    """[width, height] of a PIL image or an image tensor."""
    if isinstance(img, Tensor):
        _, h, w = F_t.get_dimensions(img)
        return [w, h]
    return F_pil.get_image_size(img)


def get_image_num_channels(img) -> int:
    if isinstance(img, Tensor):
        return F_t.get_dimensions(img)[0]
    return F_pil.get_image_num_channels(img)


# --- conversions ----------------------------------------------------------------------------------


def to_tensor(pic) -> Tensor:
    """A PIL image or ndarray (H x W x C) as a tensor (C x H x W).

    uint8 data (and PIL modes L, LA, P, RGB, RGBA, CMYK, YCbCr, 1) become the default float dtype
    scaled to [0, 1]; modes I, I;16 and F and non-uint8 arrays keep their values and dtype.
    """
    if not (is_pil_image(pic) or _is_numpy(pic)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if _is_numpy(pic) and not _is_numpy_image(pic):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")

    default_float_dtype = dtypes.get_default_dtype()
    if _is_numpy(pic):
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        arr = arr.transpose((2, 0, 1))
    else:
        mode_to_nptype = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16,
                          "F": np.float32}
        arr = np.array(pic, mode_to_nptype.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.size[1], pic.size[0], F_pil.get_image_num_channels(pic))
        arr = arr.transpose((2, 0, 1))
    if arr.dtype == np.uint8:
        # one NumPy division in the default dtype: the same values as torch's .to(float).div(255)
        np_float = default_float_dtype.np
        return from_numpy(np.divide(arr, np_float.type(255), dtype=np_float))
    return from_numpy(np.ascontiguousarray(arr))


def pil_to_tensor(pic) -> Tensor:
    """A PIL image as a tensor (C x H x W) of the image's own dtype (uint8 for most modes)."""
    if not is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.size[1], pic.size[0], F_pil.get_image_num_channels(pic))
    return from_numpy(np.ascontiguousarray(arr.transpose((2, 0, 1))))


def convert_image_dtype(image: Tensor, dtype=dtypes.float32) -> Tensor:
    """Convert a tensor image to ``dtype``, rescaling: floats span [0, 1], integers [0, max]."""
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    return F_t.convert_image_dtype(image, dtype)


def to_pil_image(pic, mode: str | None = None):
    """A tensor (C x H x W) or ndarray (H x W x C) as a PIL image, keeping the value range.

    Floating data (other than mode F) is multiplied by 255 and truncated to uint8. Without
    ``mode``: 1 channel -> L/I;16/I/F by dtype, 2 -> LA, 3 -> RGB, 4 -> RGBA.
    """
    if isinstance(pic, Tensor):
        if pic.ndim == 3:
            pic = pic.permute((1, 2, 0))
        pic = pic.detach().cpu().numpy()
    elif not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")

    if pic.ndim == 2:
        # a single-channel image: add the channel axis
        pic = np.expand_dims(pic, 2)
    if pic.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    if pic.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-1]} channels.")

    npimg = pic
    if np.issubdtype(npimg.dtype, np.floating) and mode != "F":
        npimg = (npimg * 255).astype(np.uint8)

    if npimg.shape[2] == 1:
        expected_mode = None
        npimg = npimg[:, :, 0]
        if npimg.dtype == np.uint8:
            expected_mode = "L"
        elif npimg.dtype == np.int16:
            expected_mode = "I;16" if sys.byteorder == "little" else "I;16B"
        elif npimg.dtype == np.int32:
            expected_mode = "I"
        elif npimg.dtype == np.float32:
            expected_mode = "F"
        if mode is not None and mode != expected_mode:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {npimg.dtype}. "
                             f"Should be {expected_mode}")
        mode = expected_mode
    elif npimg.shape[2] == 2:
        permitted_2_channel_modes = ["LA"]
        if mode is not None and mode not in permitted_2_channel_modes:
            raise ValueError(f"Only modes {permitted_2_channel_modes} are supported for 2D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "LA"
    elif npimg.shape[2] == 4:
        permitted_4_channel_modes = ["RGBA", "CMYK", "RGBX"]
        if mode is not None and mode not in permitted_4_channel_modes:
            raise ValueError(f"Only modes {permitted_4_channel_modes} are supported for 4D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "RGBA"
    else:
        permitted_3_channel_modes = ["RGB", "YCbCr", "HSV"]
        if mode is not None and mode not in permitted_3_channel_modes:
            raise ValueError(f"Only modes {permitted_3_channel_modes} are supported for 3D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "RGB"

    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    image_module = require_pil()
    if mode in ("L", "LA", "RGB", "RGBA", "F", "I"):
        # Pillow infers these modes from the array; passing mode= is deprecated in some releases
        return image_module.fromarray(np.ascontiguousarray(npimg))
    return image_module.fromarray(np.ascontiguousarray(npimg), mode=mode)


# --- normalisation --------------------------------------------------------------------------------


def normalize(tensor: Tensor, mean: list[float], std: list[float], inplace: bool = False) -> Tensor:
    """(tensor - mean) / std per channel of a float tensor image (..., C, H, W)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    return F_t.normalize(tensor, mean=mean, std=std, inplace=inplace)


# --- geometry -------------------------------------------------------------------------------------


def _compute_resized_output_size(image_size: tuple[int, int], size: list[int] | None,
                                 max_size: int | None = None) -> list[int]:
    """[height, width] after resizing: ``size`` of length 1 sets the smaller edge."""
    if size is None or len(size) == 1:
        h, w = image_size
        short, long = (w, h) if w <= h else (h, w)
        requested_new_short = size if isinstance(size, int) else size[0]
        new_short, new_long = requested_new_short, int(requested_new_short * long / short)
        if max_size is not None:
            if max_size <= requested_new_short:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize to ``size``: (h, w), or an int (or [int]) for the smaller edge keeping the ratio.

    Args:
        img: a PIL image or a tensor (..., H, W).
        size: the output size.
        interpolation: an ``InterpolationMode`` or a Pillow filter number.
        max_size: the largest allowed longer edge when ``size`` is one number.
        antialias: smooth when downsampling tensors (PIL images are always antialiased).
    """
    if isinstance(interpolation, int):
        interpolation = _interpolation_modes_from_int(interpolation)
    elif not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        "Pillow integer constant")
    if isinstance(size, (list, tuple)):
        if len(size) not in [1, 2]:
            raise ValueError("Size must be an int or a 1 or 2 element tuple/list, not a "
                             f"{len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the "
                             "smaller edge, i.e. size should be an int or a sequence of length 1 "
                             "in torchscript mode.")

    _, image_height, image_width = get_dimensions(img)
    if isinstance(size, int):
        size = [size]
    output_size = _compute_resized_output_size((image_height, image_width), size, max_size)
    if [image_height, image_width] == output_size:
        return img

    if not isinstance(img, Tensor):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                          "antialias is ignored.", stacklevel=2)
        return F_pil.resize(img, size=output_size, interpolation=_PIL_FILTERS[interpolation])
    return F_t.resize(img, size=output_size, interpolation=interpolation.value, antialias=antialias)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad every border: ``padding`` is an int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` is constant (with ``fill``), edge, reflect or symmetric."""
    if not isinstance(img, Tensor):
        return F_pil.pad(img, padding=padding, fill=fill, padding_mode=padding_mode)
    return F_t.pad(img, padding=padding, fill=fill, padding_mode=padding_mode)


def crop(img, top: int, left: int, height: int, width: int):
    """The box with top-left corner (top, left) and size (height, width); zero-padded outside."""
    if not isinstance(img, Tensor):
        return F_pil.crop(img, top, left, height, width)
    return F_t.crop(img, top, left, height, width)


def center_crop(img, output_size):
    """The central (h, w) crop (zero-padded when the image is smaller)."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])

    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)  # PIL uses fill value 0
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img

    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    """``crop`` then ``resize`` to ``size``."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def hflip(img):
    """Mirror left-right."""
    if not isinstance(img, Tensor):
        return F_pil.hflip(img)
    return F_t.hflip(img)


def vflip(img):
    """Mirror top-bottom."""
    if not isinstance(img, Tensor):
        return F_pil.vflip(img)
    return F_t.vflip(img)


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center: list[int] | None = None, fill: list[float] | None = None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image centre).

    Args:
        img: a PIL image or a tensor (..., H, W).
        angle: degrees, counter-clockwise.
        interpolation: NEAREST or BILINEAR (tensors); any Pillow filter for PIL images.
        expand: enlarge the output to hold the whole rotated image.
        center: (x, y) from the top-left corner.
        fill: the value for pixels outside the input.
    """
    if isinstance(interpolation, int):
        interpolation = _interpolation_modes_from_int(interpolation)
    elif not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        "Pillow integer constant")
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")

    if not isinstance(img, Tensor):
        return F_pil.rotate(img, angle=angle, interpolation=_PIL_FILTERS[interpolation],
                            expand=expand, center=center, fill=fill)

    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        # center relative to the image centre, where the sampling grid is
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    # the matrix maps output to input pixels, so it is the rotation by -angle
    matrix = F_t._rotation_matrix(center_f, -angle)
    return F_t.rotate(img, matrix=matrix, interpolation=interpolation.value, expand=expand,
                      fill=fill)


# --- colour ---------------------------------------------------------------------------------------


def adjust_brightness(img, brightness_factor: float):
    """Scale brightness: 0 gives black, 1 the original, 2 twice as bright."""
    if not isinstance(img, Tensor):
        return F_pil.adjust_brightness(img, brightness_factor)
    return F_t.adjust_brightness(img, brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean gray: 0 gives a solid gray, 1 the original."""
    if not isinstance(img, Tensor):
        return F_pil.adjust_contrast(img, contrast_factor)
    return F_t.adjust_contrast(img, contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grayscale image: 0 gives gray, 1 the original."""
    if not isinstance(img, Tensor):
        return F_pil.adjust_saturation(img, saturation_factor)
    return F_t.adjust_saturation(img, saturation_factor)


def adjust_hue(img, hue_factor: float):
    """Shift the hue by ``hue_factor`` turns, in [-0.5, 0.5]."""
    if not isinstance(img, Tensor):
        return F_pil.adjust_hue(img, hue_factor)
    return F_t.adjust_hue(img, hue_factor)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma of an RGB image, as 1 or 3 channels."""
    if not isinstance(img, Tensor):
        return F_pil.to_grayscale(img, num_output_channels)
    return F_t.rgb_to_grayscale(img, num_output_channels)


def to_grayscale(img, num_output_channels: int = 1):
    """Luma of an RGB PIL image, as 1 or 3 channels."""
    if is_pil_image(img):
        return F_pil.to_grayscale(img, num_output_channels)
    raise TypeError("Input should be PIL Image")


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian kernel of odd ``kernel_size`` [kx, ky] and ``sigma`` [sx, sy]
    (default ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``, written as ``k * 0.15 + 0.35``)."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError("kernel_size should be int or a sequence of integers. "
                        f"Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError("If kernel_size is a sequence its length should be 2. "
                         f"Got {len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(
                f"kernel_size should have odd and positive integers. Got {kernel_size}")

    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if sigma is not None and not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")

    t_img = img
    if not isinstance(img, Tensor):
        if not is_pil_image(img):
            raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
        t_img = pil_to_tensor(img)
    output = F_t.gaussian_blur(t_img, kernel_size, sigma)
    if not isinstance(img, Tensor):
        output = to_pil_image(output, mode=img.mode)
    return output
