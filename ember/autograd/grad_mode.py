"""Grad mode: whether ops record the graph.

Thread-local; each switch is a context manager and a decorator.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import warnings

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State(threading.local):
    enabled = True
    inference = False


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    return _state.inference


def _wrap_generator(ctx_factory, fn):
    """``fn`` (a generator function) with every resumption of its body inside ``ctx_factory()``.

    Between yields the caller's mode is back in force, as in torch.
    """

    @functools.wraps(fn)
    def gen_wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with ctx_factory():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with ctx_factory():
                        gen.close()
                    raise
                except BaseException:  # thrown in by the caller: pass it on to the generator
                    with ctx_factory():
                        response = gen.throw(*sys.exc_info())
                else:
                    with ctx_factory():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return gen_wrapper


class _GradModeContext:
    """Base: sets grad mode on ``__enter__``, restores it on ``__exit__``; decorates functions."""

    _mode = True

    def __call__(self, fn):
        if inspect.isclass(fn):
            warnings.warn("Decorating classes is deprecated and will be disabled in future "
                          "versions. You should only decorate functions or methods. To preserve "
                          "the current behavior of class decoration, you can directly decorate "
                          "the `__init__` method and nothing else.", FutureWarning, stacklevel=2)
            cls = fn

            def fn(*args, **kwargs):
                return cls(*args, **kwargs)

        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self.clone, fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc):
        _state.enabled = self._prev


class _NoParamContext(_GradModeContext):
    """Also usable as a bare decorator, ``@no_grad`` without parentheses, as in torch."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamContext):
    """Ops inside record no graph: their results have ``requires_grad=False``."""

    _mode = False


class enable_grad(_NoParamContext):
    """Re-enables graph recording inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Sets grad mode to ``mode``; acts at once as a function, or as a context manager."""

    def __init__(self, mode: bool):
        self._prev = _state.enabled
        self._mode = bool(mode)
        _state.enabled = self._mode

    def __call__(self, fn):
        _state.enabled = self._prev  # as a decorator it must not change the mode where it is used
        return super().__call__(fn)

    def __enter__(self):
        _state.enabled = self._mode

    def __repr__(self) -> str:
        return f"ember.autograd.grad_mode.set_grad_enabled(mode={self._mode})"

    def __exit__(self, *exc):
        _state.enabled = self._prev

    def clone(self):
        return set_grad_enabled(self._mode)


class inference_mode(_GradModeContext):
    """Like ``no_grad`` (ember keeps no extra bookkeeping to skip, so it is as fast).

    Also a decorator, with or without parentheses (``@inference_mode``).
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @inference_mode on a function

    def __init__(self, mode: bool = True):
        self._mode = not mode
        self._inference = bool(mode)

    def __enter__(self):
        self._prev, self._prev_inf = _state.enabled, _state.inference
        _state.enabled = self._mode and _state.enabled
        _state.inference = self._inference

    def __exit__(self, *exc):
        _state.enabled, _state.inference = self._prev, self._prev_inf

    def clone(self):
        return inference_mode(self._inference)
