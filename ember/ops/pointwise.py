"""pointwise ops (filled in by the pointwise family's change)."""

from __future__ import annotations

__all__: list[str] = []


class PointwiseMethods:
    """Tensor methods of this family."""

    __slots__ = ()
