"""The ONNX exporter's exceptions and warnings, as ``torch.onnx.errors``."""

from __future__ import annotations

__all__ = ["OnnxExporterError", "OnnxExporterWarning", "UnsupportedOperatorError",
           "SymbolicValueError", "CheckerError"]


class OnnxExporterWarning(UserWarning):
    """Something the exporter accepted but ignored or could only approximate."""


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op (or an op's arguments) that has no ONNX translation."""


class SymbolicValueError(OnnxExporterError):
    """A value the graph cannot express (e.g. a shape that depends on a dynamic axis)."""


class CheckerError(OnnxExporterError):
    """The exported model failed ``onnx.checker.check_model``."""
