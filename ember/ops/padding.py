"""``pad``: constant (negative amounts crop), reflect, replicate and circular padding.

``pad`` lists amounts from the last dimension backwards, as PyTorch does: ``(left, right, top,
bottom, front, back)``. Constant padding is its own adjoint with the amounts negated; the other
modes read the input through one index map per padded dimension, and their adjoint adds the
border back onto the input positions it was read from.
"""

from __future__ import annotations

import operator

import numpy as np

from ember.autograd.function import Primitive
from ember.backend import conv as K

__all__ = ["pad"]


class ConstantPad(Primitive):
    """Trailing dimensions padded by ``value`` (``pads`` per dimension; negative ones crop)."""

    @staticmethod
    def forward(ctx, x, *, pads, value=0):
        ctx.pads = pads
        lead = x.ndim - len(pads)
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0))
                     for n, (lo, hi) in zip(x.shape[lead:], pads))
        if any(lo < 0 or hi < 0 for lo, hi in pads):
            x = x[(Ellipsis,) + crop]
        out = K.pad(ctx.xp, x, tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads), value)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        return ConstantPad.apply(g, pads=tuple((-lo, -hi) for lo, hi in ctx.pads))


class IndexPad(Primitive):
    """Trailing dimensions read through index maps: ``maps[i] = (m, lo)``, output j reads m[j]."""

    @staticmethod
    def forward(ctx, x, *, maps):
        ctx.maps, ctx.in_shape = maps, x.shape
        lead = x.ndim - len(maps)
        for i, entry in enumerate(maps):
            if entry is not None:
                x = ctx.xp.take(x, ctx.xp.asarray(entry[0]), axis=lead + i)
        return x

    @staticmethod
    def backward(ctx, g):
        return IndexPadAdjoint.apply(g, maps=ctx.maps, in_shape=ctx.in_shape)


class IndexPadAdjoint(Primitive):
    """Every output position's value added back onto the input position it was read from."""

    @staticmethod
    def forward(ctx, g, *, maps, in_shape):
        ctx.maps = maps
        xp = ctx.xp
        lead = g.ndim - len(maps)
        for i in range(len(maps) - 1, -1, -1):
            if maps[i] is None:
                continue
            m, lo = maps[i]
            a = lead + i
            pre = (slice(None),) * a
            n = in_shape[a]
            # Output j in [lo, lo + n) reads input j - lo (the unshifted middle): one slice copy.
            # The few border positions are added one by one, which beats ``add.at`` by far.
            start, stop = max(lo, 0), min(lo + n, len(m))
            out = xp.zeros(g.shape[:a] + (n,) + g.shape[a + 1:], dtype=g.dtype)
            if stop > start:
                out[pre + (slice(start - lo, stop - lo),)] = g[pre + (slice(start, stop),)]
            for j in range(len(m)):
                if not start <= j < stop:
                    out[pre + (int(m[j]),)] += g[pre + (j,)]
            g = out
        return g

    @staticmethod
    def backward(ctx, h):
        return IndexPad.apply(h, maps=ctx.maps)


def _index_map(n: int, lo: int, hi: int, mode: str):
    """Input position read by each output position of a padded dimension of size ``n``."""
    j = np.arange(-lo, n + hi)
    if mode == "reflect":
        j = np.abs(j)
        return np.where(j > n - 1, 2 * (n - 1) - j, j)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    # circular: PyTorch crops first, then wraps around what is left
    crop_lo, crop_hi = max(-lo, 0), max(-hi, 0)
    return crop_lo + (np.arange(-max(lo, 0), n + hi - crop_lo) % (n - crop_lo - crop_hi))


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions; ``pad`` is (left, right, top, bottom, ...).

    Args:
        mode: 'constant' (any number of dimensions; negative amounts crop), 'reflect' (mirror
            without repeating the edge), 'replicate' (repeat the edge) or 'circular' (wrap).
        value: the fill of 'constant' padding (default 0).
    """
    try:
        amounts = [operator.index(v) for v in pad]
    except TypeError:
        bad = next(v for v in pad if not isinstance(v, int))
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                        f"element of type {type(bad).__name__} at pos {list(pad).index(bad)}"
                        ) from None
    if len(amounts) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    nd = len(amounts) // 2
    if nd > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(amounts)} and input of "
                           f"dimension {input.ndim}")
    # (lo, hi) per padded dimension, first padded dimension first
    pads = tuple((amounts[2 * i], amounts[2 * i + 1]) for i in reversed(range(nd)))
    shape = tuple(input.shape)
    if mode == "constant":
        for n, (lo, hi) in zip(shape[input.ndim - nd:], pads):
            if n + lo + hi < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        return ConstantPad.apply(input, pads=pads, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if nd not in (1, 2, 3) or input.ndim not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Padding size {len(amounts)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if input.dtype.name == "bool" and mode != "circular":
        kind = "reflection" if mode == "reflect" else "replication"
        raise NotImplementedError(f'"{kind}_pad{nd}d" not implemented for \'Bool\'')
    lead = input.ndim - nd
    if any(n == 0 for n in shape[1:]):
        raise RuntimeError(f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    maps = []
    for i, (lo, hi) in enumerate(pads):
        n = shape[lead + i]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #{4 + 2 * (nd - 1 - i)}: Padding size should be less "
                               f"than the corresponding input dimension, but got: padding "
                               f"({lo}, {hi}) at dimension {lead + i} of input {list(shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if n + lo + hi < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        maps.append(None if lo == hi == 0 else (_index_map(n, lo, hi, mode), lo))
    return IndexPad.apply(input, maps=tuple(maps))
