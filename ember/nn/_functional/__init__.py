"""The implementations behind ``ember.nn.functional``, one file per family (primitives and the
functions over them side by side, as ``ember/ops/``). Import from ``ember.nn.functional``.
"""
