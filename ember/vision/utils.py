"""Image utilities, as ``torchvision.utils``: ``make_grid`` and ``save_image``."""

from __future__ import annotations

import math
import os

from ember._tensor import Tensor
from ember.autograd import no_grad
from ember.dtypes import uint8
from ember.ops.shape import cat, stack
from ember.vision._pil import require_pil

__all__ = ["make_grid", "save_image"]


@no_grad()
def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images (B x C x H x W, or a list of C x H x W) into one image.

    Args:
        tensor: the images; a single-channel batch is repeated to 3 channels.
        nrow: images per row (the grid has ``ceil(B / nrow)`` rows).
        padding: pixels between and around the images.
        normalize: shift and scale the values into [0, 1], by ``value_range`` (min, max) or by
            the images' own minimum and maximum.
        value_range: the (min, max) used by ``normalize``; values outside are clamped.
        scale_each: normalize every image by its own range instead of the batch's.
        pad_value: the value of the padding pixels.

    Returns:
        A tensor C x H' x W' with ``H' = rows * (H + padding) + padding`` and
        ``W' = min(nrow, B) * (W + padding) + padding``; a batch of one comes back as that image.
    """
    if not isinstance(tensor, Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, Tensor):
                    raise TypeError("tensor or list of tensors expected, got a list containing "
                                    f"{type(t)}")
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")

    # a list of images becomes a 4-D mini-batch
    if isinstance(tensor, list):
        tensor = stack(tensor, dim=0)

    if tensor.dim() == 2:  # a single image H x W
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:  # a single image C x H x W
        if tensor.size(0) == 1:  # single-channel: repeat to 3 channels
            tensor = cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:  # single-channel images
        tensor = cat((tensor, tensor, tensor), 1)

    if normalize is True:
        tensor = tensor.clone()  # the caller's tensor is not modified
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                            "are numbers")

        def norm_ip(img: Tensor, low: float, high: float) -> None:
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t: Tensor, value_range) -> None:
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each is True:
            for t in tensor:  # each image of the mini-batch
                norm_range(t, value_range)
        else:
            norm_range(tensor, value_range)

    if tensor.size(0) == 1:
        return tensor.squeeze(0)

    # tile the mini-batch
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    num_channels = tensor.size(1)
    grid = tensor.new_full((num_channels, height * ymaps + padding, width * xmaps + padding),
                           pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k = k + 1
    return grid


@no_grad()
def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike, format: str | None = None,
               **kwargs) -> None:
    """Save images (values in [0, 1]) to ``fp`` as one picture, tiled by ``make_grid(**kwargs)``.

    Args:
        tensor: an image or a batch (see ``make_grid``).
        fp: a file name or a file object.
        format: the image format (e.g. ``"PNG"``); default from the file name's extension.
        **kwargs: ``make_grid``'s arguments.
    """
    grid = make_grid(tensor, **kwargs)
    # + 0.5 after scaling to [0, 255] rounds to the nearest integer on the cast
    ndarr = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", uint8).numpy()
    im = require_pil().fromarray(ndarr)
    im.save(fp, format=format)
