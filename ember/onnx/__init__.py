"""``ember.onnx``: export a model to ONNX, as ``torch.onnx``.

``export`` runs the model once on example inputs, recording every ember primitive, and writes one
or a few ONNX nodes per primitive (``_converters``). Importing this package does not import the
``onnx`` package; ``export`` does.
"""

from ember.onnx import errors
from ember.onnx._export import OperatorExportTypes, TrainingMode, export, is_in_onnx_export
from ember.onnx.errors import OnnxExporterError

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "OperatorExportTypes", "errors",
           "OnnxExporterError"]
