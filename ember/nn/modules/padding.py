"""Padding layers: zero, constant, reflection, replication and circular, in 1, 2 and 3 dims.

``padding`` is an int (every side) or a tuple ordered as ``F.pad`` wants it: (left, right),
(left, right, top, bottom) or (left, right, top, bottom, front, back).
"""

# ruff: noqa: A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

from ember.nn.modules.module import Module
from ember.nn.modules.utils import _ntuple, _pair, _quadruple
from ember.ops.padding import pad

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]

_sextuple = _ntuple(6, "_sextuple")


class _ConstantPadNd(Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension with ``value``: (*, W) -> (*, W + left + right)."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _pair(padding)


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dimensions with ``value``; padding is (left, right, top, bottom)."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _quadruple(padding)


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dimensions with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _sextuple(padding)


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dimensions with zeros; padding is (left, right, top, bottom)."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dimensions with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    """Reflection, replication and circular padding: one mode, the amounts, ``F.pad``."""

    mode = "reflect"

    def forward(self, input):
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    """Mirrors the last dimension at its edges (the edge itself not repeated): (N, C, W)."""

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _pair(padding)


class ReflectionPad2d(_ModePadNd):
    """Mirrors the last two dimensions at their edges: (N, C, H, W)."""

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _quadruple(padding)


class ReflectionPad3d(_ModePadNd):
    """Mirrors the last three dimensions at their edges: (N, C, D, H, W)."""

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _sextuple(padding)


class ReplicationPad1d(_ModePadNd):
    """Repeats the edge values of the last dimension: (N, C, W)."""

    mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _pair(padding)


class ReplicationPad2d(_ModePadNd):
    """Repeats the edge values of the last two dimensions: (N, C, H, W)."""

    mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _quadruple(padding)


class ReplicationPad3d(_ModePadNd):
    """Repeats the edge values of the last three dimensions: (N, C, D, H, W)."""

    mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _sextuple(padding)


class _CircularPadNd(_ModePadNd):
    mode = "circular"
    _dims = (2, 3)

    def forward(self, input):
        if input.ndim not in self._dims:
            raise ValueError(f"expected {self._dims[0]}D or {self._dims[1]}D input (got "
                             f"{input.ndim}D input)")
        return pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Wraps the last dimension around: (N, C, W) or (C, W)."""

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _pair(padding)


class CircularPad2d(_CircularPadNd):
    """Wraps the last two dimensions around: (N, C, H, W) or (C, H, W)."""

    _dims = (3, 4)

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _quadruple(padding)


class CircularPad3d(_CircularPadNd):
    """Wraps the last three dimensions around: (N, C, D, H, W) or (C, D, H, W)."""

    _dims = (4, 5)

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _sextuple(padding)
