"""``ember.nn``: ``Module``, ``Parameter``, the layers, ``functional``, ``init`` and ``utils``,
as ``torch.nn``."""

from ember.nn import functional, init, parallel, utils  # noqa: F401
from ember.nn.modules import *  # noqa: F403
from ember.nn.modules import __all__ as _modules_all
from ember.nn.parallel import DataParallel
from ember.nn.parameter import Buffer, Parameter

__all__ = ["Parameter", "Buffer", "DataParallel", "functional", "init", "parallel", "utils",
           *_modules_all]
