"""``DistributedDataParallel``: one replica of a module per process, gradients averaged over the
processes of a group during backward (``ember.distributed``, on MPI)."""

from __future__ import annotations

import weakref
from contextlib import contextmanager

import numpy as np

from ember.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES
_MB = 1024 * 1024


class DistributedDataParallel(Module):
    """Synchronous data parallelism over the processes of ``process_group``.

    Each process holds a replica of ``module`` and feeds it its own share of the data
    (``DistributedSampler``); backward averages the gradients over the processes, so that every
    replica takes the same optimizer step. Start the processes with ``mpiexec -n N python ...``
    after ``ember.distributed.init_process_group()``.

    Args:
        module: the module to replicate; its parameters and buffers are broadcast from rank 0.
        device_ids: must be None for CPU modules; for a module on one GPU, ``[its index]``.
        output_device: unused (the output stays where the module puts it), as for one device.
        dim: the batch dimension (unused: each process brings its own batch).
        broadcast_buffers: copy rank 0's buffers (BatchNorm statistics) to every process at the
            start of each training forward (default True).
        init_sync: broadcast parameters and buffers from rank 0 at construction (default True).
        process_group: the group to average over (default: the default group).
        bucket_cap_mb: gradients are averaged in flat buckets of about this many MiB (default 25;
            the first bucket is 1 MiB, as in PyTorch).
        find_unused_parameters: look at the forward's graph for parameters it did not use, so
            that backward need not wait for their gradients (default False).
        gradient_as_bucket_view: ``.grad`` of the parameters are views into the buckets, which
            saves a copy per parameter and step (default False).
        static_graph: accepted; the reducer works the same either way.

    ember's autograd engine runs the hooks of leaf tensors after the whole graph has run, so the
    averaging cannot overlap with the backward computation itself as in PyTorch: each bucket's
    non-blocking all-reduce starts as soon as its last gradient arrives and overlaps only with
    the copying of the remaining gradients; backward ends by waiting for all of them.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        from ember import distributed as dist

        pg = dist.distributed_c10d._group(process_group)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        devices = {p.device for p in module.parameters()}
        if any(d.type != "cpu" for d in devices):
            raise NotImplementedError("ember's DistributedDataParallel averages gradients of CPU "
                                      "modules only; modules on cuda are not supported yet.")
        if len(devices) > 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type of "
                             f"devices, but input module parameters locate in {devices}.")
        if device_ids is not None and next(iter(devices)).type == "cpu":
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only "
                             "work with single-device/multiple-device GPU modules or CPU "
                             f"modules, but got device_ids {device_ids}, output_device "
                             f"{output_device}, and module parameters {devices}.")
        self.module = module
        self.process_group = pg
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MB)
        if init_sync:
            _check_same_model(pg, module)
            _broadcast_coalesced(pg, [t for t in module.parameters()] + list(module.buffers()))
        self.reducer = _Reducer(params, pg, self.bucket_bytes_cap, gradient_as_bucket_view)

    def forward(self, *inputs, **kwargs):
        from ember.autograd.grad_mode import is_grad_enabled

        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            self.reducer.check_finished()
        if self.require_forward_param_sync and self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers and self.process_group.size() > 1:
                _broadcast_coalesced(self.process_group, buffers)
        output = self.module(*inputs, **kwargs)
        if sync:
            used = _used_leaves(output) if self.find_unused_parameters else None
            self.reducer.prepare(used)
        self.require_forward_param_sync = sync
        return output

    @contextmanager
    def no_sync(self):
        """Inside this context, forward and backward accumulate gradients locally; the first
        synchronized backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def will_sync_module_buffers(self) -> bool:
        return self.require_forward_param_sync and self.broadcast_buffers and \
            any(True for _ in self.module.buffers())


class _Reducer:
    """Averages the gradients of ``params`` over ``pg`` in flat buckets.

    A hook on every parameter copies its gradient (plus any ``.grad`` accumulated under
    ``no_sync``) into its bucket and returns zeros, so that the engine's own accumulation adds
    nothing; a full bucket is divided by the world size and its all-reduce started, in bucket
    order on every rank (MPI needs collectives in the same order everywhere). The last hook waits
    for every bucket and writes the averages into ``.grad``.
    """

    def __init__(self, params, pg, cap: int, as_view: bool) -> None:
        self.params = params
        self.pg = pg
        self.backend = pg._backend
        self.as_view = as_view
        self.buckets = _assign_buckets(params, cap)
        self.slot = [None] * len(params)  # each parameter's view into its bucket
        self.bucket_of = [0] * len(params)
        self.zeros = []  # what the hooks return: a broadcast zero of each parameter's shape
        for b, bucket in enumerate(self.buckets):
            offset = 0
            for i in bucket.members:
                p = params[i]
                n = p.numel()
                self.slot[i] = bucket.buffer[offset:offset + n].reshape(p.shape)
                self.bucket_of[i] = b
                offset += n
        from ember._tensor import Tensor

        for p in params:
            self.zeros.append(Tensor._make(np.broadcast_to(np.zeros((), p._data.dtype), p.shape),
                                           p._device))
        self.armed = False
        self.ready = [False] * len(params)
        self.used = None  # None: every parameter is expected; else a bool array of local use
        self.waiting = self.fired = 0
        self.expected = len(params)
        self.next_bucket = 0
        self.handles = [p.register_hook(self._hook_for(i)) for i, p in enumerate(params)]

    def _hook_for(self, i: int):
        # a weak reference: the parameters must not keep a discarded DDP's reducer alive (and
        # firing) when the module is wrapped again
        ref = weakref.ref(self)

        def hook(grad):
            reducer = ref()
            return None if reducer is None else reducer.on_grad(i, grad)

        hook.__name__ = "_ddp_grad_hook"
        return hook

    def __del__(self) -> None:
        for handle in self.handles:
            handle.remove()

    def check_finished(self) -> None:
        """Refuse to start an iteration while the last one's reduction is half done (a forward
        with no backward after it is fine, as in PyTorch)."""
        if self.armed and self.fired and self.waiting < self.expected:
            missing = [i for i in range(len(self.params)) if not self.ready[i]]
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new "
                "one. This error indicates that your module has parameters that were not used in "
                "producing loss. You can enable unused parameter detection by passing the "
                "keyword argument `find_unused_parameters=True` to "
                "`ember.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
                "function outputs participate in calculating loss. Parameter indices which did "
                f"not receive grad for rank {self.pg.rank()}: {' '.join(map(str, missing))}")

    def prepare(self, used) -> None:
        """Arm the hooks for the next backward; ``used``: ids of the leaves the forward used
        (None: expect every parameter)."""
        self.ready = [False] * len(self.params)
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.work = None
            bucket.pending = len(bucket.members)
        if used is None:
            self.used = None
        else:
            self.used = np.array([id(p) in used for p in self.params], dtype=np.int32)
            for i in np.flatnonzero(self.used == 0):
                self.ready[i] = True
                self.buckets[self.bucket_of[i]].pending -= 1
        self.expected = len(self.params)
        self.waiting = sum(self.ready)
        self.fired = 0  # hooks run in this backward
        self.armed = True

    def on_grad(self, i: int, grad):
        """The hook of parameter ``i``: its gradient has arrived."""
        if not self.armed:
            return None  # no_sync, or backward of a graph not made by a DDP forward
        if self.ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter at index {i} has been "
                f"marked as ready twice on rank {self.pg.rank()}. This can happen when the same "
                "parameter is used in several backward passes of one forward, or when it was "
                "reported unused by find_unused_parameters=True.")
        p = self.params[i]
        slot = self.slot[i]
        old = p._grad
        if old is None:
            np.copyto(slot, grad._data)
        elif old._data is slot:
            np.add(slot, grad._data, out=slot)
        else:
            np.add(old._data, grad._data, out=slot)
        self.ready[i] = True
        self.waiting += 1
        self.fired += 1
        bucket = self.buckets[self.bucket_of[i]]
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready()
        if self.waiting == self.expected:
            self._finalize()
        return self.zeros[i]

    def _launch_ready(self) -> None:
        """Start the all-reduce of every full bucket whose predecessors have started."""
        while self.next_bucket < len(self.buckets):
            bucket = self.buckets[self.next_bucket]
            if bucket.pending:
                return
            if self.used is not None:  # the slots of unused parameters: their .grad or zero
                for i in bucket.members:
                    if not self.used[i]:
                        g = self.params[i]._grad
                        if g is None:
                            self.slot[i].fill(0)
                        elif g._data is not self.slot[i]:
                            np.copyto(self.slot[i], g._data)
            if self.backend.size > 1:
                np.divide(bucket.buffer, self.backend.size, out=bucket.buffer)
                bucket.work = self.backend.all_reduce(bucket.buffer, "sum", True)
            self.next_bucket += 1

    def _finalize(self) -> None:
        """Wait for every bucket and write the averaged gradients into ``.grad``."""
        from ember._tensor import Tensor

        self._launch_ready()
        for bucket in self.buckets:
            if bucket.work is not None:
                bucket.work.wait()
                bucket.work = None
        keep = self.used
        if keep is not None and self.backend.size > 1:
            # a parameter no rank used keeps its .grad as it was, as in PyTorch
            self.backend.all_reduce(keep, "max", False)
        for i, p in enumerate(self.params):
            if keep is not None and not keep[i]:
                continue
            slot = self.slot[i]
            g = p._grad
            if g is None:
                p._grad = Tensor._make(slot if self.as_view else slot.copy(), p._device)
            elif g._data is not slot:
                if self.as_view and not g._requires_grad:
                    p._grad = Tensor._make(slot, p._device)
                else:
                    np.copyto(g._data, slot)
                    g._bump_version()
        self.armed = False


class _Bucket:
    __slots__ = ("members", "buffer", "pending", "work")

    def __init__(self, members, buffer) -> None:
        self.members = members  # indices into the reducer's parameters
        self.buffer = buffer  # one flat array holding their gradients
        self.pending = len(members)
        self.work = None


def _assign_buckets(params, cap: int) -> list[_Bucket]:
    """Parameters in reverse order (gradients arrive roughly so), one dtype per bucket, buckets
    closed when they reach 1 MiB (the first) or ``cap`` bytes, as PyTorch assigns them."""
    open_buckets: dict = {}  # dtype -> (indices, bytes, limit index)
    closed = []
    limits = [min(_FIRST_BUCKET_BYTES, cap), cap]
    for i in reversed(range(len(params))):
        p = params[i]
        key = p._data.dtype
        members, size, k = open_buckets.get(key, ([], 0, 0))
        members.append(i)
        size += p._data.nbytes
        if size >= limits[k]:
            closed.append(members)
            open_buckets[key] = ([], 0, 1)
        else:
            open_buckets[key] = (members, size, k)
    closed += [members for members, _, _ in open_buckets.values() if members]
    # launch order: the bucket holding the earliest-arriving gradient first
    closed.sort(key=lambda members: -members[0])
    buckets = []
    for members in closed:
        dtype = params[members[0]]._data.dtype
        n = sum(params[i].numel() for i in members)
        buckets.append(_Bucket(members, np.zeros(n, dtype)))
    return buckets


def _used_leaves(output) -> set:
    """ids of the leaf tensors that ``output``'s graph reaches."""
    from ember._tensor import Tensor

    roots = []
    stack = [output]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            if x.grad_fn is not None:
                roots.append(x.grad_fn)
            elif x._requires_grad:
                roots.append(x)
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    used, seen = set(), set()
    while roots:
        node = roots.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        edges = getattr(node, "_next", None)
        if edges is None:
            used.add(id(node))
            continue
        roots.extend(e[0] for e in edges if e is not None)
    return used


def _check_same_model(pg, module) -> None:
    """Every rank must hold a module with the same parameter shapes (PyTorch's check)."""
    mine = [tuple(p.shape) for p in module.parameters()]
    theirs = pg._backend.broadcast_object(mine if pg.rank() == 0 else None, 0)
    if len(mine) != len(theirs):
        raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg.rank()} has "
                           f"{len(mine)} params, while rank 0 has inconsistent {len(theirs)} "
                           "params.")
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg.rank()} "
                               f"has parameter {i} of shape {list(a)}, while rank 0 has "
                               f"{list(b)}.")


def _broadcast_coalesced(pg, tensors) -> None:
    """Rank 0's values of ``tensors`` into every rank's, one broadcast per dtype."""
    if pg.size() == 1:
        return
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for dtype, ts in by_dtype.items():
        flat = np.concatenate([t._data.reshape(-1) for t in ts]) if pg.rank() == 0 else \
            np.empty(sum(t.numel() for t in ts), dtype)
        pg._backend.broadcast(flat, 0, False)
        if pg.rank() != 0:
            offset = 0
            for t in ts:
                n = t.numel()
                t._data[...] = flat[offset:offset + n].reshape(t._data.shape)
                offset += n
