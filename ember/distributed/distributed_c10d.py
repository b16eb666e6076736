"""Process groups and collectives with ``torch.distributed``'s API, over MPI (``_mpi.py``).

Processes are started by an MPI launcher (``mpiexec -n 2 python train.py``); ``init_process_group``
takes their rank and number from MPI. Ranks in arguments (``src``, ``dst``) are global ranks, as in
PyTorch; ``group_src``/``group_dst`` name ranks within ``group``. Collectives work on the tensors'
memory in place and bypass autograd, as PyTorch's do.
"""

from __future__ import annotations

import datetime
import enum
import os
import sys
import time
import traceback
import warnings

import numpy as np

from ember.distributed import _mpi
from ember.distributed._mpi import Work

# the public names are listed once, in ember/distributed/__init__.py

default_pg_timeout = datetime.timedelta(minutes=30)


class Backend(str):
    """A backend name: ``Backend("MPI") == "mpi"``; unknown names raise ValueError.

    ``gloo`` (PyTorch's CPU backend) and ``nccl`` are served by MPI in ember (cuda tensors are
    staged through host memory); ``get_backend()`` answers the name the program asked for.
    """

    UNDEFINED = "undefined"
    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: "
                             f"{type(name)}")
        value = name.lower()
        if value not in cls.backend_list:
            raise ValueError(f"Invalid backend: '{name}'")
        return super().__new__(cls, value)


class ReduceOp(enum.IntEnum):
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine the ranks' values (numbered as
    PyTorch's ``RedOpType``). AVG divides integer sums rounding towards zero."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


_OP_NAMES = {ReduceOp.SUM: "sum", ReduceOp.AVG: "avg", ReduceOp.PRODUCT: "product",
             ReduceOp.MIN: "min", ReduceOp.MAX: "max", ReduceOp.BAND: "band", ReduceOp.BOR: "bor",
             ReduceOp.BXOR: "bxor"}


class ProcessGroup:
    """A set of ranks that run collectives together (``group.WORLD`` holds every process)."""

    def __init__(self, backend, ranks, backend_name: str, timeout, name: str) -> None:
        self._backend = backend  # an _mpi.MPIBackend over this group's communicator
        self._ranks = list(ranks)  # group rank i is global rank _ranks[i]
        self._group_rank = {g: i for i, g in enumerate(self._ranks)}
        self._backend_name = backend_name
        self._timeout = timeout
        self._name = name

    def rank(self) -> int:
        return self._backend.rank

    def size(self) -> int:
        return self._backend.size

    def name(self) -> str:
        return self._name

    @property
    def group_name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"ProcessGroup(name={self._name!r}, backend={self._backend_name!r}, " \
               f"ranks={self._ranks})"


class GroupMember:
    """``WORLD``: the default group (None before ``init_process_group``); ``NON_GROUP_MEMBER``:
    what ``new_group`` returns in the processes that are not in the new group."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = -100


class group:  # noqa: N801 -- torch.distributed.group
    """``group.WORLD``: the default process group."""

    WORLD: ProcessGroup | None = None


_groups: list[ProcessGroup] = []  # every group made by new_group, freed by destroy_process_group
_saved_excepthook = None


# --- availability and state -------------------------------------------------------------------

def is_available() -> bool:
    """True when mpi4py is installed (MPI itself is loaded by ``init_process_group``)."""
    return is_mpi_available()


def is_mpi_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """False: ember has no NCCL process group of its own; ``backend="nccl"`` runs on MPI."""
    return False


def is_gloo_available() -> bool:
    """False: ember has no gloo process group; ``backend="gloo"`` runs on MPI."""
    return False


def is_torchelastic_launched() -> bool:
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def _default_group() -> ProcessGroup:
    pg = GroupMember.WORLD
    if pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return pg


def _group(g) -> ProcessGroup:
    return _default_group() if g is None else g


def _not_member(g) -> bool:
    return g is GroupMember.NON_GROUP_MEMBER


def _warn_not_in_group(op_name: str) -> None:
    global_rank = -1 if GroupMember.WORLD is None else GroupMember.WORLD.rank()
    warnings.warn(f"Running {op_name} on global rank {global_rank} which does not belong to the "
                  "given group.", stacklevel=3)


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (-1 when it is not a member)."""
    if _not_member(group):
        return -1
    return _group(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of processes in ``group`` (-1 when this process is not a member)."""
    if _not_member(group):
        return -1
    return _group(group).size()


def get_backend(group: ProcessGroup | None = None) -> Backend:
    if _not_member(group):
        raise ValueError("Invalid process group specified")
    return Backend(_group(group)._backend_name)


# --- init and groups ---------------------------------------------------------------------------

def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the processes an MPI launcher started into the default process group.

    Args:
        backend: ``"mpi"`` (default), or ``"gloo"``/``"nccl"``, which ember runs on MPI too.
        init_method, store: accepted for PyTorch programs and unused: MPI does the rendezvous.
        timeout: kept on the group; MPI does not time collectives out.
        world_size, rank: checked against MPI's when given (-1: take MPI's).

    A process that dies of an uncaught exception prints it with its rank and aborts the whole MPI
    job (``MPI_Abort``), so that the other ranks stop instead of waiting for it forever.
    """
    global _saved_excepthook
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = _backend_name(backend)
    if timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout)}")
    MPI = _mpi.load()
    world = MPI.COMM_WORLD
    size, me = world.Get_size(), world.Get_rank()
    if size == 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise RuntimeError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} is set but MPI started this "
                           "process alone: ember.distributed runs on MPI, so start the processes "
                           f"with `mpiexec -n {os.environ['WORLD_SIZE']} python ...` instead of "
                           "torchrun.")
    if world_size not in (-1, None) and world_size != size:
        raise ValueError(f"init_process_group: world_size={world_size} was given, but MPI started "
                         f"{size} process(es); launch with `mpiexec -n {world_size} python ...`")
    if rank not in (-1, None) and rank != me:
        raise ValueError(f"init_process_group: rank={rank} was given, but MPI gave this process "
                         f"rank {me}; under mpiexec leave rank=-1")
    # our own communicator, so that a program's MPI messages never mix with ember's
    pg = ProcessGroup(_mpi.MPIBackend(world.Dup()), range(size), name,
                      timeout or default_pg_timeout, group_name or "0")
    GroupMember.WORLD = group.WORLD = pg
    if size > 1 and _saved_excepthook is None:
        _saved_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def _backend_name(backend) -> str:
    if backend is None:
        return Backend.MPI
    if isinstance(backend, str) and ":" in backend:  # "cpu:gloo,cuda:nccl"
        names = [Backend(part.split(":")[1].strip()) for part in backend.split(",")]
        return names[-1]
    name = Backend(backend)
    if name == Backend.UNDEFINED:
        raise ValueError(f"Invalid backend: '{backend}'")
    if name == Backend.NCCL:
        from ember import cuda

        if not cuda.is_available():
            raise RuntimeError("ProcessGroupNCCL is only supported with GPUs, no GPUs found!")
        warnings.warn("ember has no NCCL process group yet: backend='nccl' runs on MPI and "
                      "stages cuda tensors through host memory.", stacklevel=3)
    return name


def _abort_on_uncaught(exc_type, exc, tb) -> None:
    """sys.excepthook while a process group lives: report with the rank, then end every rank."""
    me = _mpi.load().COMM_WORLD.Get_rank()
    lines = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n").split("\n")
    sys.stderr.write("".join(f"[rank{me}]: {line}\n" for line in lines))
    sys.stderr.write(f"[rank{me}]: ember.distributed: rank {me} raised {exc_type.__name__}; "
                     "aborting the MPI job\n")
    sys.stderr.flush()
    sys.stdout.flush()
    # MPI_Abort kills every rank at once, the launcher's output forwarding included: without a
    # moment to pass the report on, the error could vanish from the job's output (seen under load)
    time.sleep(0.5)
    _mpi.load().COMM_WORLD.Abort(1)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free ``group`` (default: every group, and the default group itself)."""
    global _saved_excepthook
    if group is None or group is GroupMember.WORLD:
        if GroupMember.WORLD is None:
            raise AssertionError("Process group cannot be None")
        for g in (*_groups, GroupMember.WORLD):
            g._backend.free()
        _groups.clear()
        GroupMember.WORLD = globals()["group"].WORLD = None
        if _saved_excepthook is not None:
            sys.excepthook, _saved_excepthook = _saved_excepthook, None
        return
    if _not_member(group):
        return
    group._backend.free()
    _groups.remove(group)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None, device_id=None,
              sort_ranks: bool = True):
    """A group of the given global ranks (default: all). Every process must call it; those not
    in ``ranks`` get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default_group()
    size = world.size()
    ranks = list(range(size)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        ranks = sorted(ranks)
    for r in ranks:
        if r < 0 or r >= size:
            raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {size - 1} "
                             f"(world_size={size})")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks {ranks} repeat a rank")
    me = world.rank()
    member = me in ranks
    backend_impl = world._backend.split(member, ranks.index(me) if member else 0)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    name = Backend(backend) if backend is not None else world._backend_name
    pg = ProcessGroup(backend_impl, ranks, name, timeout or world._timeout,
                      group_desc or str(len(_groups) + 1))
    _groups.append(pg)
    return pg


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The global ranks of ``group``'s members, in group-rank order."""
    return list(_group(group)._ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    if group is None or group is GroupMember.WORLD:
        return group_rank
    if not 0 <= group_rank < len(group._ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return group._ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    if group is None or group is GroupMember.WORLD:
        return global_rank
    i = group._group_rank.get(global_rank)
    if i is None:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return i


def _peer(pg: ProcessGroup, global_rank, group_rank, op: str, what: str) -> int:
    """The group rank of a ``src``/``dst`` given either as a global rank or a group rank."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        r = group_rank
    else:
        if global_rank is None:
            raise ValueError("Must specify global_rank or group_rank")
        r = get_group_rank(pg, global_rank) if pg is not GroupMember.WORLD else global_rank
    if not isinstance(r, int) or not 0 <= r < pg.size():
        _fail(RuntimeError, pg, op, f"invalid {what} rank: {r}")
    return r


def _root(pg: ProcessGroup, global_rank, group_rank, op: str) -> int:
    """The group rank of a root that defaults to global rank 0 when neither is given."""
    if global_rank is None and group_rank is None:
        global_rank = 0
    return _peer(pg, global_rank, group_rank, op, "root")


# --- errors ------------------------------------------------------------------------------------

def _fail(cls, pg: ProcessGroup | None, op: str, msg: str):
    """Raise ``cls`` with a message that names this process's rank and the collective."""
    world = GroupMember.WORLD
    me = world.rank() if world is not None else -1
    raise cls(f"[rank {me}] {op}: {msg}")


def _run(pg: ProcessGroup, op: str, fn, *args):
    """``fn(*args)``, an MPI call, with MPI's errors raised as RuntimeError naming the rank."""
    try:
        return fn(*args)
    except _mpi.load().Exception as e:
        _fail(RuntimeError, pg, op, f"MPI error: {e.Get_error_string()}")


def _check_tensor(t, name: str) -> None:
    from ember._tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"ember.Tensor\n             but got {type(t)} instead.")


def _check_tensor_list(ts, name: str) -> None:
    from ember._tensor import Tensor

    if not isinstance(ts, list) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[ember.Tensor]\n             but got {type(ts)} instead.")


def _check_dtypes(*tensors) -> None:
    dts = {t.dtype for t in tensors}
    if len(dts) > 1:
        a, b = sorted(dts, key=str)[:2]
        raise ValueError(f"Invalid usage of tensors with different dtypes. Found {a} and {b}")


def _check_op(op, t, name: str) -> str:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}: op must be a ReduceOp (such as ReduceOp.SUM), got {op!r}")
    if op == ReduceOp.PREMUL_SUM:
        raise ValueError(f"{name}: ReduceOp.PREMUL_SUM is not supported by ember")
    if t.is_complex() and op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT):
        raise ValueError(f"{name} does not support {op} on complex tensors")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and t.is_floating_point():
        raise RuntimeError(f"Cannot use {op} with non-integral dtype")
    return _OP_NAMES[op]


# --- tensors to arrays -------------------------------------------------------------------------

def _host(t):
    """``(array, write_back)``: the tensor's memory for MPI; for a cuda tensor a host copy and the
    function that copies it back (MPI from pip is not CUDA-aware)."""
    if t._device.type == "cpu":
        return t._data, None
    from ember.backend import CPU, to_device

    arr = to_device(t._data, CPU)

    def write_back(t=t, arr=arr):
        t._data[...] = to_device(arr, t._device)

    return arr, write_back


def _then(work, *fns):
    """``work`` with ``fns`` run after it completes (blocking: run now and return None)."""
    fns = [f for f in fns if f is not None]
    if work is None:
        for f in fns:
            f()
        return None
    if fns:
        inner = work._finish

        def finish():
            if inner is not None:
                inner()
            for f in fns:
                f()

        work._finish = finish
        if work._done:
            work._complete()
    return work


# --- collectives on tensors --------------------------------------------------------------------

def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None,
            timeout=None):
    """Wait until every process of ``group`` has reached the barrier."""
    if _not_member(group):
        return _warn_not_in_group("barrier")
    pg = _group(group)
    return _run(pg, "barrier", pg._backend.barrier, async_op)


def monitored_barrier(group: ProcessGroup | None = None, timeout=None,
                      wait_all_ranks: bool = False):
    """A barrier (MPI reports a rank that dies; it has no per-barrier timeout)."""
    return barrier(group)


def broadcast(tensor, src: int | None = None, group: ProcessGroup | None = None,
              async_op: bool = False, group_src: int | None = None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    _check_tensor(tensor, "tensor")
    if _not_member(group):
        return _warn_not_in_group("broadcast")
    pg = _group(group)
    root = _peer(pg, src, group_src, "broadcast", "root")
    arr, back = _host(tensor)
    work = _run(pg, "broadcast", pg._backend.broadcast, arr, root, async_op)
    return _then(work, back)


def all_reduce(tensor, op=ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False):
    """Reduce ``tensor`` over every rank with ``op``; every rank gets the result in place."""
    _check_tensor(tensor, "tensor")
    if _not_member(group):
        return _warn_not_in_group("all_reduce")
    name = _check_op(op, tensor, "all_reduce")
    pg = _group(group)
    arr, back = _host(tensor)
    work = _run(pg, "all_reduce", pg._backend.all_reduce, arr, name, async_op)
    return _then(work, back)


def reduce(tensor, dst: int | None = None, op=ReduceOp.SUM, group: ProcessGroup | None = None,
           async_op: bool = False, group_dst: int | None = None):
    """Reduce ``tensor`` over every rank with ``op`` into rank ``dst``'s ``tensor``."""
    _check_tensor(tensor, "tensor")
    if _not_member(group):
        return _warn_not_in_group("reduce")
    name = _check_op(op, tensor, "reduce")
    pg = _group(group)
    root = _peer(pg, dst, group_dst, "reduce", "root")
    arr, back = _host(tensor)
    work = _run(pg, "reduce", pg._backend.reduce, arr, root, name, async_op)
    return _then(work, back)


def _gathered(pg, tensor_list, tensor, op: str):
    """Check an output list against the input: one tensor per rank, each shaped like it."""
    if len(tensor_list) != pg.size():
        _fail(RuntimeError, pg, op, f"invalid output tensor list (expected length {pg.size()}, "
                                    f"got {len(tensor_list)})")
    for i, t in enumerate(tensor_list):
        if t.shape != tensor.shape:
            _fail(RuntimeError, pg, op, f"invalid tensor size at index {i} (expected "
                                        f"{tuple(tensor.shape)}, got {tuple(t.shape)})")


def _root_list(pg, root, tensor_list, tensor, op: str, name: str, role: str) -> bool:
    """Check the list that only the root of ``gather``/``scatter`` passes; True on the root."""
    if pg.rank() != root:
        if tensor_list:
            raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
        return False
    if not tensor_list:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    _gathered(pg, tensor_list, tensor, op)
    return True


def _scatter_into(tensor_list, buf):
    def write():
        for t, piece in zip(tensor_list, buf):
            t._data[...] = piece if t._device.type == "cpu" else _device_copy(piece, t)
    return write


def _device_copy(arr, t):
    from ember.backend import to_device

    return to_device(arr, t._device)


def all_gather(tensor_list, tensor, group: ProcessGroup | None = None, async_op: bool = False):
    """Every rank's ``tensor`` into ``tensor_list[rank]`` on every rank."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    _check_dtypes(tensor, *tensor_list)
    if _not_member(group):
        return _warn_not_in_group("all_gather")
    pg = _group(group)
    _gathered(pg, tensor_list, tensor, "all_gather")
    arr, _ = _host(tensor)
    buf = np.empty((pg.size(), *arr.shape), arr.dtype)
    work = _run(pg, "all_gather", pg._backend.all_gather, buf, arr, async_op)
    return _then(work, _scatter_into(tensor_list, buf))


def _flat_output(pg, out, n: int, op: str, what: str):
    """``(array, write_back)`` for an output tensor of ``n`` elements written by MPI."""
    if out.numel() != n:
        _fail(RuntimeError, pg, op, f"{what} must have {n} elements (world size "
                                    f"{pg.size()} times the input's), got shape "
                                    f"{tuple(out.shape)}")
    arr, back = _host(out)
    if arr.flags.c_contiguous:
        return arr, back
    buf = np.empty(arr.shape, arr.dtype)

    def write(arr=arr, buf=buf, back=back):
        np.copyto(arr, buf)
        if back is not None:
            back()

    return buf, write


def all_gather_into_tensor(output_tensor, input_tensor, group: ProcessGroup | None = None,
                           async_op: bool = False):
    """Every rank's ``input_tensor`` into one ``output_tensor``, concatenated along dim 0 or
    stacked (``output_tensor`` shaped ``(world_size * n, ...)`` or ``(world_size, n, ...)``)."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    _check_dtypes(output_tensor, input_tensor)
    if _not_member(group):
        return _warn_not_in_group("all_gather_into_tensor")
    pg = _group(group)
    out, back = _flat_output(pg, output_tensor, pg.size() * input_tensor.numel(),
                             "all_gather_into_tensor", "output tensor")
    arr, _ = _host(input_tensor)
    work = _run(pg, "all_gather_into_tensor", pg._backend.all_gather, out, arr, async_op)
    return _then(work, back)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group: ProcessGroup | None = None,
                   async_op: bool = False):
    """Reduce ``input_list[r]`` over every rank into rank ``r``'s ``output``."""
    _check_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    _check_dtypes(output, *input_list)
    if _not_member(group):
        return _warn_not_in_group("reduce_scatter")
    name = _check_op(op, output, "reduce_scatter")
    pg = _group(group)
    _gathered(pg, input_list, output, "reduce_scatter")
    src = np.stack([_host(t)[0] for t in input_list])
    out, back = _host(output)
    work = _run(pg, "reduce_scatter", pg._backend.reduce_scatter, out, src, name, async_op)
    return _then(work, back)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group: ProcessGroup | None = None,
                          async_op: bool = False):
    """Reduce ``input`` (``world_size`` pieces along dim 0) over every rank; piece ``r`` into rank
    ``r``'s ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_dtypes(output, input)
    if _not_member(group):
        return _warn_not_in_group("reduce_scatter_tensor")
    name = _check_op(op, output, "reduce_scatter_tensor")
    pg = _group(group)
    if input.numel() != pg.size() * output.numel():
        _fail(RuntimeError, pg, "reduce_scatter_tensor",
              f"input tensor must have {pg.size() * output.numel()} elements (world size "
              f"{pg.size()} times the output's), got shape {tuple(input.shape)}")
    src, _ = _host(input)
    out, back = _host(output)
    work = _run(pg, "reduce_scatter_tensor", pg._backend.reduce_scatter, out, src, name,
                async_op)
    return _then(work, back)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group: ProcessGroup | None = None, async_op: bool = False):
    """Split ``input`` along dim 0 (equally, or by ``input_split_sizes``) and send piece ``r`` to
    rank ``r``; the pieces received, in rank order, fill ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_dtypes(output, input)
    if _not_member(group):
        return _warn_not_in_group("all_to_all_single")
    pg = _group(group)
    n = pg.size()

    def counts(t, sizes, what):
        row = t.numel() // t.shape[0] if t.dim() and t.shape[0] else 0
        if sizes is None:
            if t.dim() == 0 or t.shape[0] % n:
                _fail(RuntimeError, pg, "all_to_all_single", f"{what} tensor's dim 0 "
                      f"({t.shape[0] if t.dim() else 0}) must divide by world size {n}")
            return [t.shape[0] // n * row] * n
        sizes = list(sizes)
        if len(sizes) != n or sum(sizes) != t.shape[0]:
            _fail(RuntimeError, pg, "all_to_all_single", f"{what}_split_sizes {sizes} must have "
                  f"{n} entries summing to the {what} tensor's dim 0 ({t.shape[0]})")
        return [s * row for s in sizes]

    send = counts(input, input_split_sizes, "input")
    recv = counts(output, output_split_sizes, "output")
    src = np.ascontiguousarray(_host(input)[0])
    out, back = _flat_output(pg, output, output.numel(), "all_to_all_single", "output tensor")
    work = _run(pg, "all_to_all_single", pg._backend.all_to_all, out, src, send, recv, async_op)
    return _then(work, back)


def all_to_all(output_tensor_list, input_tensor_list, group: ProcessGroup | None = None,
               async_op: bool = False):
    """Send ``input_tensor_list[r]`` to rank ``r``; what rank ``r`` sent arrives in
    ``output_tensor_list[r]``."""
    _check_tensor_list(output_tensor_list, "output_tensor_list")
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    _check_dtypes(*output_tensor_list, *input_tensor_list)
    if _not_member(group):
        return _warn_not_in_group("all_to_all")
    pg = _group(group)
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        _fail(RuntimeError, pg, "all_to_all", f"expected {n} input and output tensors, got "
              f"{len(input_tensor_list)} and {len(output_tensor_list)}")
    src = np.concatenate([_host(t)[0].reshape(-1) for t in input_tensor_list])
    recv = [t.numel() for t in output_tensor_list]
    buf = np.empty(sum(recv), src.dtype)
    work = _run(pg, "all_to_all", pg._backend.all_to_all, buf,
                src, [t.numel() for t in input_tensor_list], recv, async_op)
    offsets = np.concatenate(([0], np.cumsum(recv)))
    pieces = [buf[a:b].reshape(t.shape) for a, b, t in zip(offsets[:-1], offsets[1:],
                                                            output_tensor_list)]
    return _then(work, _scatter_into(output_tensor_list, pieces))


def gather(tensor, gather_list=None, dst: int | None = None, group: ProcessGroup | None = None,
           async_op: bool = False, group_dst: int | None = None):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (default 0)."""
    _check_tensor(tensor, "tensor")
    if gather_list:
        _check_tensor_list(gather_list, "gather_list")
        _check_dtypes(tensor, *gather_list)
    if _not_member(group):
        return _warn_not_in_group("gather")
    pg = _group(group)
    root = _root(pg, dst, group_dst, "gather")
    is_root = _root_list(pg, root, gather_list, tensor, "gather", "gather_list", "destination")
    arr, _ = _host(tensor)
    buf = np.empty((pg.size(), *arr.shape), arr.dtype) if is_root else None
    work = _run(pg, "gather", pg._backend.gather, buf, arr, root, async_op)
    return _then(work, _scatter_into(gather_list, buf) if is_root else None)


def scatter(tensor, scatter_list=None, src: int | None = None, group: ProcessGroup | None = None,
            async_op: bool = False, group_src: int | None = None):
    """Rank ``src``'s ``scatter_list[r]`` into rank ``r``'s ``tensor`` (``src`` default 0)."""
    _check_tensor(tensor, "tensor")
    if scatter_list:
        _check_tensor_list(scatter_list, "scatter_list")
        _check_dtypes(tensor, *scatter_list)
    if _not_member(group):
        return _warn_not_in_group("scatter")
    pg = _group(group)
    root = _root(pg, src, group_src, "scatter")
    pieces = None
    if _root_list(pg, root, scatter_list, tensor, "scatter", "scatter_list", "source"):
        pieces = np.stack([_host(t)[0] for t in scatter_list])
    arr, back = _host(tensor)
    work = _run(pg, "scatter", pg._backend.scatter, arr, pieces, root, async_op)
    return _then(work, back)


# --- point to point ----------------------------------------------------------------------------

def _p2p_peer(pg, peer, group_peer, op: str, what: str) -> int:
    r = _peer(pg, peer, group_peer, op, what)
    if r == pg.rank():
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the rank "
                         "of the current process.")
    return r


def isend(tensor, dst: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
          group_dst: int | None = None):
    """Start sending ``tensor`` to rank ``dst``; returns Work to ``wait()`` on."""
    _check_tensor(tensor, "tensor")
    if _not_member(group):
        return _warn_not_in_group("isend")
    pg = _group(group)
    peer = _p2p_peer(pg, dst, group_dst, "isend", "destination")
    arr, _ = _host(tensor)
    return _run(pg, "isend", pg._backend.send, arr, peer, tag, True)


def irecv(tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
          group_src: int | None = None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None)."""
    _check_tensor(tensor, "tensor")
    if _not_member(group):
        return _warn_not_in_group("irecv")
    pg = _group(group)
    peer = None if src is None and group_src is None else \
        _p2p_peer(pg, src, group_src, "irecv", "source")
    arr, back = _host(tensor)
    return _then(_run(pg, "irecv", pg._backend.recv, arr, peer, tag, True), back)


def send(tensor, dst: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until it is sent."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's
    global rank (-1 when this process is not in ``group``)."""
    _check_tensor(tensor, "tensor")
    if _not_member(group):
        _warn_not_in_group("recv")
        return -1
    pg = _group(group)
    peer = None if src is None and group_src is None else \
        _p2p_peer(pg, src, group_src, "recv", "source")
    arr, back = _host(tensor)
    sender = _run(pg, "recv", pg._backend.recv, arr, peer, tag, False)
    if back is not None:
        back()
    return get_global_rank(pg, sender) if group_src is None else sender


class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``P2POp(isend, tensor, peer)``."""

    def __init__(self, op, tensor, peer: int | None = None, group: ProcessGroup | None = None,
                 tag: int = 0, group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed."
                             "isend`` or ``torch.distributed.irecv``.")
        _check_tensor(tensor, "tensor")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start every send and receive of the list; returns their Work objects."""
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    works = []
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    return works


# --- Python objects ----------------------------------------------------------------------------

def all_gather_object(object_list, obj, group: ProcessGroup | None = None) -> None:
    """Every rank's picklable ``obj`` into ``object_list[rank]`` (a list of world-size length)."""
    if _not_member(group):
        return _warn_not_in_group("all_gather_object")
    pg = _group(group)
    for i, o in enumerate(_run(pg, "all_gather_object", pg._backend.all_gather_object, obj)):
        object_list[i] = o
    return None


def broadcast_object_list(object_list, src: int | None = None, group: ProcessGroup | None = None,
                          device=None, group_src: int | None = None) -> None:
    """Replace ``object_list``'s items on every rank with those of rank ``src`` (default 0)."""
    if _not_member(group):
        return _warn_not_in_group("broadcast_object_list")
    pg = _group(group)
    root = _root(pg, src, group_src, "broadcast_object_list")
    objs = _run(pg, "broadcast_object_list", pg._backend.broadcast_object,
                list(object_list) if pg.rank() == root else None, root)
    if pg.rank() != root:
        if len(objs) != len(object_list):
            _fail(RuntimeError, pg, "broadcast_object_list", f"rank {get_global_rank(pg, root)} "
                  f"sent {len(objs)} objects but this rank's object_list has {len(object_list)} "
                  "places")
        object_list[:] = objs
    return None


def gather_object(obj, object_gather_list=None, dst: int | None = None,
                  group: ProcessGroup | None = None, group_dst: int | None = None) -> None:
    """Every rank's ``obj`` into ``object_gather_list`` on rank ``dst`` (default 0)."""
    if _not_member(group):
        return _warn_not_in_group("gather_object")
    pg = _group(group)
    root = _root(pg, dst, group_dst, "gather_object")
    if pg.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``object_gather_list`` must be specified on destination "
                         "rank.")
    objs = _run(pg, "gather_object", pg._backend.gather_object, obj, root)
    if pg.rank() == root:
        for i, o in enumerate(objs):
            object_gather_list[i] = o
    return None


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None,
                        src: int | None = None, group: ProcessGroup | None = None,
                        group_src: int | None = None) -> None:
    """Rank ``src``'s ``scatter_object_input_list[r]`` into rank ``r``'s
    ``scatter_object_output_list[0]``."""
    if _not_member(group):
        return _warn_not_in_group("scatter_object_list")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    pg = _group(group)
    root = _root(pg, src, group_src, "scatter_object_list")
    objs = None
    if pg.rank() == root:
        objs = list(scatter_object_input_list)
        if len(objs) != pg.size():
            _fail(ValueError, pg, "scatter_object_list", f"expected {pg.size()} objects to "
                  f"scatter, got {len(objs)}")
    scatter_object_output_list[0] = _run(pg, "scatter_object_list",
                                         pg._backend.scatter_object, objs, root)
    return None
