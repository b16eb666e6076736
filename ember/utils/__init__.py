"""``ember.utils``, as ``torch.utils``: data loading (``ember.utils.data``) and other tools.

Only light submodules are imported here; heavy optional ones (TensorBoard) load on first use.
"""

from ember.utils import data

__all__ = ["data"]
