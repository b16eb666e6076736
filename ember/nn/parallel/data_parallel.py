"""``DataParallel``: on the CPU (or one GPU) it runs the wrapped module unchanged, under the
attribute ``module`` (so its state_dict keys start with ``module.``, as torch's)."""

from __future__ import annotations

import warnings
from itertools import chain

from ember.nn.modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _device_ids(device_ids):
    from ember import cuda

    if not cuda.is_available():
        return []
    if device_ids is None:
        device_ids = list(range(cuda.device_count()))
    ids = [(d.index or 0) if hasattr(d, "index") else int(d) for d in device_ids]
    if len(ids) > 1:
        # same results on one device; splitting the batch across GPUs is not implemented yet
        warnings.warn(f"ember's DataParallel runs the module on cuda:{ids[0]} only; splitting a "
                      "batch over several GPUs is not implemented yet.", stacklevel=3)
    return ids[:1]


class DataParallel(Module):
    """Run ``module`` on the batch; with no GPU (or ``device_ids=[i]``) it is ``module(*inputs)``.

    Args:
        module: the module to run.
        device_ids: GPUs to use (default: all); ember runs on the first of them (with a warning
            when given several); ignored without a GPU.
        output_device: where the output goes (default ``device_ids[0]``).
        dim: the batch dimension that would be split across devices.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        ids = _device_ids(device_ids)
        self.module = module
        self.device_ids = ids
        if not ids:
            return
        from ember.backend import device

        self.dim = dim
        self.output_device = ids[0] if output_device is None else output_device
        self.src_device_obj = device("cuda", ids[0])
        self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError("module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of them "
                                   f"on device: {t.device}")
        inputs = tuple(_to(x, self.src_device_obj) for x in inputs)
        kwargs = {k: _to(v, self.src_device_obj) for k, v in kwargs.items()}
        return self.module(*inputs, **kwargs)


def _to(x, dev):
    from ember._tensor import Tensor

    if isinstance(x, Tensor):
        return x.to(dev)
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, dev) for v in x)
    if isinstance(x, dict):
        return {k: _to(v, dev) for k, v in x.items()}
    return x


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional form of ``DataParallel``: ``module(*inputs, **module_kwargs)``."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return DataParallel(module, device_ids, output_device, dim)(*inputs, **(module_kwargs or {}))
