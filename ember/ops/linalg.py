"""linalg ops (filled in by the linalg family's change)."""

from __future__ import annotations

__all__: list[str] = []


class LinalgMethods:
    """Tensor methods of this family."""

    __slots__ = ()
