"""``ember.vision``, as ``torchvision``: ``datasets``, ``transforms``, ``models``, ``utils`` and
``io``. Import it on its own (``import ember.vision``); ``import ember`` does not load it.

Pillow (the ``vision`` extra) is imported only when a PIL image is made or read.
"""

from ember.vision import datasets, io, models, transforms, utils

__version__ = "0.1.0"

_image_backend = "PIL"


def set_image_backend(backend: str) -> None:
    """Choose the package that loads images; ember supports ``"PIL"`` only."""
    if backend != "PIL":
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' (ember has no "
                         "accimage backend)")


def get_image_backend() -> str:
    """The package that loads images: ``"PIL"``."""
    return _image_backend


__all__ = ["datasets", "get_image_backend", "io", "models", "set_image_backend", "transforms",
           "utils"]
