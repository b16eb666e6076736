"""comparison ops (filled in by the comparison family's change)."""

from __future__ import annotations

__all__: list[str] = []


class ComparisonMethods:
    """Tensor methods of this family."""

    __slots__ = ()
