"""``ember.nn.parallel``: ``DataParallel`` (one device)."""

from ember.nn.parallel.data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
