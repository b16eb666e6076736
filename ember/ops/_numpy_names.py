"""NumPy's argument names, as PyTorch's argument parser accepts them: ``axis`` for ``dim`` and
``keepdims`` for ``keepdim`` (``x.argmax(axis=1)``, ``torch.cat(ts, axis=0)``)."""

from __future__ import annotations

import functools


def numpy_names(fn):
    """Let ``fn`` take ``axis=``/``keepdims=`` as ``dim=``/``keepdim=``; free when unused."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                if "dim" in kwargs:
                    raise TypeError(f"{fn.__name__}() got both 'dim' and its alias 'axis'")
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    return wrapper
