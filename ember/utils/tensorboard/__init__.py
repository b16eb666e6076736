"""``ember.utils.tensorboard``: ``SummaryWriter`` for TensorBoard, as ``torch.utils.tensorboard``.

Needs the ``tensorboard`` package (``pip install tensorboard``; TensorFlow is not needed).
"""

try:
    import tensorboard  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("TensorBoard logging requires TensorBoard version 1.15 or above; install it "
                      "with: pip install tensorboard") from e

from ember.utils.tensorboard.writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
