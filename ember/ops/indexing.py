"""indexing ops (filled in by the indexing family's change)."""

from __future__ import annotations

__all__: list[str] = []


class IndexingMethods:
    """Tensor methods of this family."""

    __slots__ = ()
