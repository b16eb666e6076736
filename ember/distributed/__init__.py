"""``ember.distributed``: process groups and collectives with ``torch.distributed``'s API.

ember rides on MPI (through mpi4py) rather than a cluster layer of its own: start the processes
with an MPI launcher (``mpiexec -n 2 python train.py``), call ``init_process_group()``, and use
the collectives on tensors. ``import ember.distributed`` works without mpi4py; ``is_available()``
says whether it is installed (``pip install 'ember[distributed]'``).
"""

from ember.distributed.distributed_c10d import (
    Backend,
    GroupMember,
    P2POp,
    ProcessGroup,
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_to_all,
    all_to_all_single,
    barrier,
    batch_isend_irecv,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    gather,
    gather_object,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    irecv,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    isend,
    monitored_barrier,
    new_group,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
)

__all__ = [
    "Backend", "ReduceOp", "ProcessGroup", "GroupMember", "group", "Work", "P2POp",
    "init_process_group", "destroy_process_group", "is_initialized", "is_available",
    "is_mpi_available", "is_nccl_available", "is_gloo_available", "is_torchelastic_launched",
    "get_rank", "get_world_size", "get_backend", "new_group", "get_process_group_ranks",
    "get_global_rank", "get_group_rank", "barrier", "monitored_barrier", "broadcast",
    "all_reduce", "reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter",
    "reduce_scatter_tensor", "all_to_all", "all_to_all_single", "gather", "scatter", "send",
    "recv", "isend", "irecv", "batch_isend_irecv", "all_gather_object", "broadcast_object_list",
    "gather_object", "scatter_object_list",
]
