"""``Parameter``: a Tensor that a Module registers as one of its parameters; ``Buffer``: one it
registers as a buffer when assigned as an attribute.
"""

from __future__ import annotations

from ember._tensor import Tensor

__all__ = ["Parameter", "Buffer", "is_lazy"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: ``requires_grad=True`` by default; assigning one to
    a Module attribute registers it.

    ``Parameter(t)`` shares ``t``'s memory (and version counter), as in torch.

    Args:
        data: the tensor (default: an empty float tensor).
        requires_grad: whether the parameter requires gradient (default True, even under no_grad).
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ember.ops.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        p = object.__new__(cls)
        p._init(data._data, data._device)
        p._vc = data._get_vc()
        p.requires_grad = requires_grad
        return p

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__ (Tensor defines no __init__ to forward to)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        # As torch: a fresh Parameter over a copy of the data; the gradient is not copied.
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_base", "_view_chain")}
        return (_rebuild_parameter, (self.data, self.requires_grad, state))


def _rebuild_parameter(data, requires_grad, state=None):
    """Unpickle a Parameter (``data`` arrives as a plain Tensor)."""
    p = Parameter(data, requires_grad)
    if state:
        p.__dict__.update(state)
    return p


class _BufferMeta(type(Tensor)):
    """``isinstance(t, Buffer)`` is True for the tensors ``Buffer(...)`` returns (plain Tensors)."""

    def __instancecheck__(cls, instance) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and instance.__dict__.get("_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a Tensor as a buffer: assigned to a Module attribute, it is registered as a buffer.

    Args:
        data: the tensor (default: an empty float tensor).
        persistent: whether the buffer is part of the module's ``state_dict`` (default True).
    """

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ember.ops.creation import empty

            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


def is_lazy(param) -> bool:
    """Whether ``param`` is an uninitialized (lazy) parameter; ember has none."""
    return False
