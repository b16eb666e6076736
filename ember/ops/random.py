"""random ops (filled in by the random family's change)."""

from __future__ import annotations

__all__: list[str] = []


class RandomMethods:
    """Tensor methods of this family."""

    __slots__ = ()
