"""The differentiable primitives, one module per family, each exporting its functions in __all__."""
