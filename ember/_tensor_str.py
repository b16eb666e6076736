"""Printing tensors the way PyTorch prints them (a port of ``torch/_tensor_str.py``'s rules).

Everything works on the tensor's array moved to the host, not on Tensor ops: printing must not
record a graph, bump versions or depend on which op families exist. Values are formatted as the
Python floats/ints ``tolist()`` gives, exactly as torch formats ``tensor.item()``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


class _PrinterOptions:
    """The current print options (one per process, as in torch)."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """Set how tensors print.

    Args:
        precision: digits after the decimal point (default 4).
        threshold: number of elements above which a tensor is summarised with ``...`` (1000).
        edgeitems: items shown at each end of a summarised dimension (3).
        linewidth: characters per line before wrapping (80).
        profile: ``'default'``, ``'short'`` or ``'full'`` presets, overridden by the other args.
        sci_mode: True/False forces scientific notation on/off; None (default) chooses per tensor.
            As in torch, every call resets it to the value given.
    """
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
        elif profile == "short":
            PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
        elif profile == "full":
            PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments ``set_printoptions`` accepts."""
    return {name: getattr(PRINT_OPTS, name) for name in _PrinterOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options (the arguments of ``set_printoptions``)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses one format (integer-valued, fixed or scientific) and one width for all elements."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        prec = PRINT_OPTS.precision
        if not floating:
            for v in values.ravel().tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        flat = values.ravel()
        nz = flat[np.isfinite(flat) & (flat != 0)]
        if nz.size == 0:
            return  # nothing but zeros, nan and inf: printed as in int_mode, width 1
        absval = np.abs(nz)
        lo, hi = float(absval.min()), float(absval.max())
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        vals = nz.tolist()
        if self.sci_mode:
            width = max(len(f"{v:.{prec}e}") for v in vals)
        elif self.int_mode:
            width = max(len(f"{v:.0f}") for v in vals) + 1  # the trailing "."
        else:
            width = max(len(f"{v:.{prec}f}") for v in vals)
        self.max_width = max(self.max_width, width)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_str(value, f_real: _Formatter, f_imag: _Formatter) -> str:
    real = f_real.format(value.real)
    imag = (f_imag.format(value.imag) + "j").lstrip()
    # a sign is already there for negative numbers (and -0.0)
    return real + imag if imag[0] in "+-" else real + "+" + imag


def _vector_str(a: np.ndarray, indent: int, summarize: bool, fmt, fmt_imag) -> str:
    element_length = fmt.width() + 2  # ", " between elements
    if fmt_imag is not None:
        element_length += fmt_imag.width() + 1  # the "j"
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))

    def one(v):
        return fmt.format(v) if fmt_imag is None else _complex_str(v, fmt, fmt_imag)

    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * edge:
        data = ([one(v) for v in a[:edge].tolist()] + [" ..."]
                + [one(v) for v in a[-edge:].tolist()])
    else:
        data = [one(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _str_with_formatter(a: np.ndarray, indent: int, summarize: bool, fmt, fmt_imag=None) -> str:
    ndim = a.ndim
    if ndim == 0:
        v = a.item()
        return fmt.format(v) if fmt_imag is None else _complex_str(v, fmt, fmt_imag)
    if ndim == 1:
        return _vector_str(a, indent, summarize, fmt, fmt_imag)
    edge = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * edge:
        slices = ([_str_with_formatter(a[i], indent + 1, summarize, fmt, fmt_imag)
                   for i in range(edge)] + ["..."]
                  + [_str_with_formatter(a[i], indent + 1, summarize, fmt, fmt_imag)
                     for i in range(n - edge, n)])
    else:
        slices = [_str_with_formatter(a[i], indent + 1, summarize, fmt, fmt_imag)
                  for i in range(n)]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(a: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (the formatter's width depends on them only)."""
    edge = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        # a[-0:] is the whole vector, as in torch when edgeitems is 0
        return np.concatenate((a[:edge], a[-edge:])) if a.shape[0] > 2 * edge else a
    if not edge:
        return np.empty((0,) * a.ndim, dtype=a.dtype)
    if a.shape[0] > 2 * edge:
        rows = [a[i] for i in range(edge)] + [a[i] for i in range(a.shape[0] - edge, a.shape[0])]
    else:
        rows = list(a)
    return np.stack([_summarized_data(r) for r in rows])


def _host_array(t) -> np.ndarray:
    """The tensor's values as a NumPy array (``tolist()`` gives the exact Python numbers)."""
    from ember.backend import CPU, to_device

    a = to_device(t._data, CPU)
    if a.dtype.kind == "V":  # bfloat16 (ml_dtypes): exact in float32, which every ufunc knows
        a = a.astype(np.float32)
    return a


def _tensor_str(t, indent: int) -> str:
    if t._data.size == 0:
        return "[]"
    a = _host_array(t)
    summarize = a.size > PRINT_OPTS.threshold
    src = _summarized_data(a) if summarize else a
    if a.dtype.kind == "c":
        f_real = _Formatter(src.real.astype(np.float64), True)
        f_imag = _Formatter(src.imag.astype(np.float64), True)
        return _str_with_formatter(a, indent, summarize, f_real, f_imag)
    fmt = _Formatter(src, t.dtype.is_floating_point)
    return _str_with_formatter(a, indent, summarize, fmt)


def _add_suffixes(tensor_str: str, suffixes: list, indent: int) -> str:
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1  # torch's count, kept exactly
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t, *, tensor_contents: str | None = None) -> str:
    """``repr(t)``: ``tensor([...], dtype=..., device=..., grad_fn=<...>)`` as torch prints it.

    Subclasses print with their class name as the prefix (``MyTensor([...])``), except
    ``Parameter``, whose own repr adds ``"Parameter containing:\\n"`` in front of this one.
    """
    from ember import dtypes
    from ember._tensor import Tensor

    cls = type(t)
    prefix = "tensor(" if cls is Tensor or cls.__name__ == "Parameter" else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []
    dev = t._device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = t.dtype
    default = dtypes.get_default_dtype()
    if t._data.size == 0:
        if t._data.ndim != 1:
            suffixes.append(f"size={tuple(t._data.shape)}")
        if dt is not default:  # nothing to infer the dtype from, so even int64 is shown
            suffixes.append(f"dtype={dt}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(t._data.shape)}")
        if dt not in (default, dtypes.default_complex_dtype(), dtypes.int64, dtypes.bool):
            suffixes.append(f"dtype={dt}")
        body = None if tensor_contents is not None else _tensor_str(t, indent)
    if tensor_contents is not None:
        body = tensor_contents
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
