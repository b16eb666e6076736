"""Lazy access to Pillow, the ``vision`` extra: imported only when an image is made or read."""

from __future__ import annotations

import sys


def require_pil():
    """The ``PIL.Image`` module; an ImportError saying how to install Pillow when it is missing."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("ember.vision needs Pillow for PIL images: pip install 'ember[vision]' "
                          "(or pip install Pillow)") from e
    return Image


def is_pil_image(obj) -> bool:
    """Whether ``obj`` is a PIL image (without importing Pillow when nothing has imported it)."""
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(obj, image_module.Image)
