"""Reading and writing image files as uint8 tensors (C x H x W), as ``torchvision.io``'s image
functions; ember decodes and encodes with Pillow."""

from __future__ import annotations

import io
import os
from enum import Enum

import numpy as np

from ember._tensor import Tensor
from ember.dtypes import uint8
from ember.ops.creation import from_numpy
from ember.vision._pil import require_pil

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "decode_png",
           "decode_jpeg", "read_image", "encode_png", "write_png", "encode_jpeg", "write_jpeg"]


class ImageReadMode(Enum):
    """The channels to decode into: the file's own, or converted to gray/RGB with(out) alpha."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_PIL_MODE = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
             ImageReadMode.RGB_ALPHA: "RGBA"}


def read_file(path: str | os.PathLike) -> Tensor:
    """The bytes of a file as a uint8 tensor (N,)."""
    with open(path, "rb") as f:
        data = f.read()
    return from_numpy(np.frombuffer(bytearray(data), dtype=np.uint8))


def write_file(filename: str | os.PathLike, data: Tensor) -> None:
    """Write a uint8 tensor's bytes to ``filename``."""
    with open(filename, "wb") as f:
        f.write(data.detach().cpu().numpy().tobytes())


def _as_bytes(input) -> bytes:
    if isinstance(input, (str, os.PathLike)):
        with open(input, "rb") as f:
            return f.read()
    if not isinstance(input, Tensor):
        raise TypeError(f"Expected a path or a tensor of encoded bytes, got {type(input).__name__}")
    if input.dtype != uint8 or input.ndim != 1:
        raise RuntimeError("Expected a 1-D uint8 tensor of encoded bytes, got "
                           f"{input.dtype} of shape {tuple(input.shape)}")
    return input.detach().cpu().numpy().tobytes()


def decode_image(input, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> Tensor:
    """Decode a PNG/JPEG/GIF/BMP/WebP... (a path, or a uint8 tensor of its bytes) into a uint8
    tensor C x H x W.

    Args:
        input: a path, or the encoded bytes as a 1-D uint8 tensor.
        mode: ``ImageReadMode`` (or its name): keep the file's channels or convert.
        apply_exif_orientation: rotate/flip by the EXIF orientation tag.
    """
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    image_module = require_pil()
    try:
        img = image_module.open(io.BytesIO(_as_bytes(input)))
        img.load()
    except (OSError, SyntaxError) as e:  # Pillow's errors for unknown or damaged images
        raise RuntimeError(f"Could not decode the image: {e}") from e
    if apply_exif_orientation:
        from PIL import ImageOps
        img = ImageOps.exif_transpose(img)
    if mode != ImageReadMode.UNCHANGED:
        img = img.convert(_PIL_MODE[mode])
    elif img.mode not in ("L", "LA", "RGB", "RGBA"):
        # palettes, 1-bit and colour spaces other than RGB are expanded to 8-bit channels
        if img.mode in ("1", "L;1"):
            img = img.convert("L")
        elif img.mode in ("P", "PA"):
            has_alpha = img.mode == "PA" or "transparency" in img.info
            img = img.convert("RGBA" if has_alpha else "RGB")
        elif img.mode in ("CMYK", "YCbCr", "HSV", "LAB"):
            img = img.convert("RGB")
        else:
            raise RuntimeError(f"decoding {img.mode} images (more than 8 bits per channel) into "
                               "uint8 tensors is not supported")
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_png(input: Tensor, mode: ImageReadMode = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Decode PNG bytes (see ``decode_image``)."""
    return decode_image(input, mode, apply_exif_orientation)


def decode_jpeg(input: Tensor, mode: ImageReadMode = ImageReadMode.UNCHANGED,
                device: str = "cpu", apply_exif_orientation: bool = False) -> Tensor:
    """Decode JPEG bytes (see ``decode_image``); the result is placed on ``device``."""
    out = decode_image(input, mode, apply_exif_orientation)
    return out if str(device) == "cpu" else out.to(device)


def read_image(path: str | os.PathLike, mode: ImageReadMode = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Read an image file into a uint8 tensor C x H x W (see ``decode_image``)."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def _to_pil(input: Tensor):
    if not isinstance(input, Tensor) or input.dtype != uint8 or input.ndim != 3 \
            or input.shape[0] not in (1, 3):
        raise RuntimeError("The input must be a uint8 tensor of shape (1, H, W) or (3, H, W), got "
                           + (f"{input.dtype} {tuple(input.shape)}" if isinstance(input, Tensor)
                              else type(input).__name__))
    arr = input.detach().cpu().numpy().transpose(1, 2, 0)
    return require_pil().fromarray(np.ascontiguousarray(arr[:, :, 0] if arr.shape[2] == 1 else arr))


def _encode(input: Tensor, format: str, **options) -> Tensor:
    buffer = io.BytesIO()
    _to_pil(input).save(buffer, format=format, **options)
    return from_numpy(np.frombuffer(bytearray(buffer.getvalue()), dtype=np.uint8))


def encode_png(input: Tensor, compression_level: int = 6) -> Tensor:
    """PNG bytes (a uint8 tensor) of a uint8 image C x H x W (1 or 3 channels)."""
    if not 0 <= compression_level <= 9:
        raise ValueError("Compression level should be between 0 and 9")
    return _encode(input, "PNG", compress_level=compression_level)


def write_png(input: Tensor, filename: str | os.PathLike, compression_level: int = 6) -> None:
    """Write a uint8 image C x H x W as a PNG file."""
    write_file(filename, encode_png(input, compression_level))


def encode_jpeg(input: Tensor, quality: int = 75) -> Tensor:
    """JPEG bytes (a uint8 tensor) of a uint8 image C x H x W (1 or 3 channels)."""
    if not 1 <= quality <= 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    return _encode(input, "JPEG", quality=quality)


def write_jpeg(input: Tensor, filename: str | os.PathLike, quality: int = 75) -> None:
    """Write a uint8 image C x H x W as a JPEG file."""
    write_file(filename, encode_jpeg(input, quality))
