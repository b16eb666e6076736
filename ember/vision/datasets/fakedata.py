"""``FakeData``: random images, reproducible per index, as ``torchvision.datasets.FakeData``."""

from __future__ import annotations

from collections.abc import Callable

from ember.ops.random import randint, randn
from ember.random import get_rng_state, manual_seed, set_rng_state
from ember.vision.datasets.vision import VisionDataset
from ember.vision.transforms.functional import to_pil_image

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random PIL images of shape ``image_size`` (C, H, W) with random targets.

    Sample ``i`` is drawn from the global generator seeded with ``i + random_offset`` (its state
    is restored afterwards), so the same index always gives the same sample.

    Args:
        size: the number of samples.
        image_size: (channels, height, width) of each image.
        num_classes: targets lie in ``[0, num_classes)``.
        transform: applied to each PIL image.
        target_transform: applied to each target (an int).
        random_offset: added to the index to form the seed.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224),
                 num_classes: int = 10, transform: Callable | None = None,
                 target_transform: Callable | None = None, random_offset: int = 0) -> None:
        super().__init__(transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int):
        """``(image, target)`` for sample ``index``."""
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        rng_state = get_rng_state()
        manual_seed(index + self.random_offset)
        img = randn(*self.image_size)
        target = randint(0, self.num_classes, size=(1,))[0]
        set_rng_state(rng_state)

        img = to_pil_image(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target.item() if hasattr(target, "item") else target

    def __len__(self) -> int:
        return self.size
