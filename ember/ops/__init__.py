"""The differentiable primitives, one module per family; each exports its functions in ``__all__``."""
