"""A job in which one rank fails while the others wait for it in a collective: the failing rank
must report its error and end the whole job (test_launch.py). Usage: worker_fail.py MODE."""

import sys

import ember
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel

mode = sys.argv[1]
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
last = world - 1

if mode == "raise":
    if rank == last:
        raise ValueError(f"boom on purpose in rank {rank}")
    dist.barrier()  # never completes: the last rank is gone
elif mode == "collective_error":
    out = [ember.zeros(2) for _ in range(world + (rank == last))]  # one too many on the last
    dist.all_gather(out, ember.ones(2))
elif mode == "ddp":
    model = DistributedDataParallel(nn.Linear(3, 1))
    for step in range(3):
        if rank == last and step == 1:
            raise RuntimeError(f"data loading failed in rank {rank}")
        model(ember.randn(2, 3)).sum().backward()
print(f"rank {rank} should not have got here", flush=True)
