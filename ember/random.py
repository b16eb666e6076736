"""``ember.random``, as ``torch.random``: seeding and the default generator's state.

ember's random streams are not PyTorch's: a seed makes ember reproducible, but gives other numbers
than the same seed gives in torch. The implementations live in ``ember/ops/random.py``.
"""

from __future__ import annotations

from ember.ops.random import (
    Generator,
    default_generator,
    fork_rng,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]
