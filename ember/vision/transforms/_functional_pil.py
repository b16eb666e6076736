"""Image ops on PIL images, as ``torchvision.transforms._functional_pil``.

Pillow is imported when an op runs, not when ember.vision is imported.
"""

from __future__ import annotations

import numbers

import numpy as np

from ember.vision._pil import is_pil_image, require_pil


def _check(img) -> None:
    if not is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image."""
    _check(img)
    channels = len(img.getbands()) if hasattr(img, "getbands") else img.channels
    width, height = img.size
    return [channels, height, width]


def get_image_size(img) -> list[int]:
    _check(img)
    return list(img.size)


def get_image_num_channels(img) -> int:
    _check(img)
    return len(img.getbands()) if hasattr(img, "getbands") else img.channels


def hflip(img):
    _check(img)
    return img.transpose(require_pil().Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    _check(img)
    return img.transpose(require_pil().Transpose.FLIP_TOP_BOTTOM)


def adjust_brightness(img, brightness_factor: float):
    _check(img)
    from PIL import ImageEnhance
    return ImageEnhance.Brightness(img).enhance(brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    _check(img)
    from PIL import ImageEnhance
    return ImageEnhance.Contrast(img).enhance(contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    _check(img)
    from PIL import ImageEnhance
    return ImageEnhance.Color(img).enhance(saturation_factor)


def adjust_hue(img, hue_factor: float):
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check(img)
    image_module = require_pil()
    input_mode = img.mode
    if input_mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    # hue is a circle: shifting wraps around 256 (torchvision lets uint8 overflow the same way)
    np_h = ((np.array(h, dtype=np.int64) + int(hue_factor * 255)) % 256).astype(np.uint8)
    h = image_module.fromarray(np_h, "L")
    return image_module.merge("HSV", (h, s, v)).convert(input_mode)


def _parse_fill(fill, img, name: str = "fillcolor") -> dict:
    """Pillow's fill argument for ``img``: one value per band, ints unless the mode is F."""
    num_channels = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_channels > 1:
        fill = tuple([fill] * num_channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill * num_channels
        elif len(fill) != num_channels:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {num_channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, (list, tuple)) else int(fill)
    return {name: fill}


def crop(img, top: int, left: int, height: int, width: int):
    _check(img)
    return img.crop((left, top, left + width, top + height))


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad with a constant (``fill``) or by ``edge``/``reflect``/``symmetric`` extension."""
    _check(img)
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, list):
        padding = tuple(padding)
    if isinstance(padding, tuple) and len(padding) not in [1, 2, 4]:
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if isinstance(padding, tuple) and len(padding) == 1:
        padding = padding[0]
    if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")

    if padding_mode == "constant":
        from PIL import ImageOps
        opts = _parse_fill(fill, img, name="fill")
        if img.mode == "P":
            palette = img.getpalette()
            image = ImageOps.expand(img, border=padding, **opts)
            image.putpalette(palette)
            return image
        return ImageOps.expand(img, border=padding, **opts)

    if isinstance(padding, int):
        p = [padding] * 4
    elif len(padding) == 2:
        p = [padding[0], padding[1], padding[0], padding[1]]
    else:
        p = list(padding)  # left, top, right, bottom
    # negative padding crops
    crop_left, crop_top, crop_right, crop_bottom = (-min(x, 0) for x in p)
    if crop_left or crop_top or crop_right or crop_bottom:
        img = img.crop((crop_left, crop_top, img.width - crop_right, img.height - crop_bottom))
    pad_left, pad_top, pad_right, pad_bottom = (max(x, 0) for x in p)

    image_module = require_pil()
    palette = img.getpalette() if img.mode == "P" else None
    arr = np.asarray(img)
    widths = [(pad_top, pad_bottom), (pad_left, pad_right)] + [(0, 0)] * (arr.ndim - 2)
    out = image_module.fromarray(np.pad(arr, widths, mode=padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def resize(img, size: list[int], interpolation: int):
    """Resize to ``size`` = [height, width] with Pillow's filter ``interpolation``."""
    _check(img)
    if not (isinstance(size, list) and len(size) == 2):
        raise TypeError(f"Got inappropriate size arg: {size}")
    return img.resize(tuple(size[::-1]), interpolation)


def rotate(img, angle: float, interpolation: int = 0, expand: bool = False, center=None,
           fill=None):
    _check(img)
    opts = _parse_fill(fill, img)
    return img.rotate(angle, interpolation, expand, center, **opts)


def to_grayscale(img, num_output_channels: int):
    """Pillow's L conversion (ITU-R 601-2 luma), as 1 or 3 identical channels."""
    _check(img)
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        np_img = np.array(img.convert("L"), dtype=np.uint8)
        return require_pil().fromarray(np.dstack([np_img, np_img, np_img]), "RGB")
    raise ValueError("num_output_channels should be either 1 or 3")
