"""The MPI backend of ``ember.distributed``: collectives on NumPy arrays through mpi4py.

Arrays go to MPI through the buffer interface, so a contiguous array of one of MPI's native types
(int8..int64, uint8..uint64, float32, float64) is reduced, broadcast or sent in place with no copy.
complex64/128 and bool go the same way (bool reductions are MPI's logical ones: SUM is OR and
PRODUCT is AND, as in PyTorch). Non-contiguous arrays are staged through a contiguous copy, and
float16/bfloat16 are reduced in float32 (MPI has no portable half types) and sent as bytes.

mpi4py is imported on first use (``load``), so ``import ember.distributed`` works without it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MPIBackend", "Work", "load"]

_MPI = None

# numpy dtype -> name of MPI's predefined datatype (predefined ones, not mpi4py's dtlib duplicates,
# which MPI's reduction operations refuse); float16/bfloat16 are reduced in float32 instead
_TYPE_NAMES = {"i1": "INT8_T", "i2": "INT16_T", "i4": "INT32_T", "i8": "INT64_T", "u1": "UINT8_T",
               "u2": "UINT16_T", "u4": "UINT32_T", "u8": "UINT64_T", "f4": "FLOAT", "f8": "DOUBLE",
               "c8": "C_FLOAT_COMPLEX", "c16": "C_DOUBLE_COMPLEX", "b1": "C_BOOL"}
_NATIVE = frozenset(np.dtype(c) for c in _TYPE_NAMES)
_TYPES: dict = {}
_OPS: dict = {}
# bool: MPI's logical operations (SUM is OR and PRODUCT is AND, as in PyTorch)
_BOOL_OPS = {"sum": "lor", "avg": "lor", "max": "lor", "bor": "lor", "product": "land",
             "min": "land", "band": "land", "bxor": "lxor"}


def load():
    """mpi4py's ``MPI`` module (MPI is initialised on first import, as mpi4py does)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(
                "ember.distributed runs on MPI through mpi4py, which could not be loaded "
                f"({e}). Install it with an MPI library: pip install 'ember[distributed]' "
                "(mpi4py and the mpich wheel).") from e
        _MPI = MPI
    return _MPI


def _mpi_type(dtype):
    t = _TYPES.get(dtype)
    if t is None:
        t = _TYPES[dtype] = getattr(load(), _TYPE_NAMES[dtype.str[1:]])
    return t


def _mpi_op(op: str):
    if not _OPS:
        MPI = load()
        _OPS.update(sum=MPI.SUM, avg=MPI.SUM, product=MPI.PROD, min=MPI.MIN, max=MPI.MAX,
                    band=MPI.BAND, bor=MPI.BOR, bxor=MPI.BXOR, lor=MPI.LOR, land=MPI.LAND,
                    lxor=MPI.LXOR)
    return _OPS[op]


class Work:
    """An operation in flight: ``wait()`` blocks until its requests finish, then runs ``finish``
    (copy staged results back, divide for AVG). ``torch.distributed.Work``'s interface."""

    def __init__(self, requests=(), finish=None, source=None) -> None:
        self._requests = list(requests)
        self._finish = finish
        self._done = not self._requests
        self._status = source  # an MPI.Status for a receive from any source
        if self._done and finish is not None:
            finish()
            self._finish = None

    def wait(self, timeout=None) -> bool:
        """Block until the operation is complete (``timeout`` is not enforced by MPI)."""
        if not self._done:
            load().Request.Waitall(self._requests, self._status_list())
            self._complete()
        return True

    def _status_list(self):
        return [self._status] if self._status is not None and len(self._requests) == 1 else None

    def _complete(self) -> None:
        self._done = True
        self._requests = []
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self) -> bool:
        """True once the operation has finished (this tests the requests without blocking)."""
        if not self._done and load().Request.Testall(self._requests, self._status_list()):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self):
        return None

    def source_rank(self) -> int:
        """The rank a receive from any source got its message from (rank in the group)."""
        if self._status is None:
            raise RuntimeError("source_rank() is only available for a recv from any source")
        self.wait()
        return self._status.Get_source()


class MPIBackend:
    """The collectives of one communicator on NumPy arrays; each returns ``Work`` when
    ``async_op`` and runs to completion (returning None) otherwise."""

    def __init__(self, comm) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    # --- staging --------------------------------------------------------------------------------

    def _reducible(self, arr, op: str):
        """``(buffer, mpi_op, finish)``: a contiguous native buffer for ``arr`` and what writes the
        reduced buffer back into ``arr`` (including AVG's division)."""
        dt = arr.dtype
        if dt in _NATIVE:
            buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
            mop = _mpi_op(_BOOL_OPS[op] if dt == np.bool_ else op)
        else:  # float16, bfloat16: reduced in float32
            buf = arr.astype(np.float32)
            mop = _mpi_op(op)

        def finish(out=arr, scale=op == "avg" and dt != np.bool_):
            if scale:
                _divide(buf, self.size)
            if buf is not out:
                np.copyto(out, buf, casting="unsafe")

        return buf, mop, finish

    def _plain(self, arr):
        """``(buffer, finish)`` for a transfer that does not reduce: a contiguous view or copy."""
        if arr.flags.c_contiguous:
            return arr, None
        buf = np.ascontiguousarray(arr)
        return buf, (lambda: np.copyto(arr, buf))

    @staticmethod
    def _msg(buf):
        if buf.dtype in _NATIVE:
            return [buf, _mpi_type(buf.dtype)]
        # bytes for types MPI cannot name (float16, bfloat16): transfers only
        return [buf.reshape(-1).view(np.uint8), _mpi_type(np.dtype(np.uint8))]

    @staticmethod
    def _done(requests, finish, async_op):
        work = Work(requests, finish)
        if async_op:
            return work
        work.wait()
        return None

    # --- collectives ----------------------------------------------------------------------------

    def barrier(self, async_op: bool):
        if async_op:
            return Work([self.comm.Ibarrier()])
        self.comm.Barrier()
        return None

    def broadcast(self, arr, root: int, async_op: bool):
        buf, finish = self._plain(arr)
        finish = finish if self.rank != root else None
        if async_op:
            return Work([self.comm.Ibcast(self._msg(buf), root)], finish)
        self.comm.Bcast(self._msg(buf), root)
        return finish and finish()

    def all_reduce(self, arr, op: str, async_op: bool):
        buf, mop, finish = self._reducible(arr, op)
        in_place = self._msg(buf)
        if async_op:
            return Work([self.comm.Iallreduce(load().IN_PLACE, in_place, mop)], finish)
        self.comm.Allreduce(load().IN_PLACE, in_place, mop)
        finish()
        return None

    def reduce(self, arr, root: int, op: str, async_op: bool):
        buf, mop, finish = self._reducible(arr, op)
        MPI = load()
        if self.rank == root:
            args = (MPI.IN_PLACE, self._msg(buf), mop, root)
        else:
            args = (self._msg(buf), None, mop, root)
            finish = None  # torch leaves the input of non-root ranks as it was
        if async_op:
            return Work([self.comm.Ireduce(*args)], finish)
        self.comm.Reduce(*args)
        return finish and finish()

    def all_gather(self, out, arr, async_op: bool):
        """Every rank's ``arr`` in rank order into ``out`` (contiguous, ``size * arr.size``)."""
        buf, _ = self._plain(arr)
        if async_op:
            return Work([self.comm.Iallgather(self._msg(buf), self._msg(out))])
        self.comm.Allgather(self._msg(buf), self._msg(out))
        return None

    def gather(self, out, arr, root: int, async_op: bool):
        buf, _ = self._plain(arr)
        recv = self._msg(out) if self.rank == root else None
        if async_op:
            return Work([self.comm.Igather(self._msg(buf), recv, root)])
        self.comm.Gather(self._msg(buf), recv, root)
        return None

    def scatter(self, arr, src, root: int, async_op: bool):
        """Rank ``root``'s contiguous ``src`` (``size`` pieces) into every rank's ``arr``."""
        buf, finish = self._plain(arr)
        send = self._msg(src) if self.rank == root else None
        if async_op:
            return Work([self.comm.Iscatter(send, self._msg(buf), root)], finish)
        self.comm.Scatter(send, self._msg(buf), root)
        return finish and finish()

    def reduce_scatter(self, out, src, op: str, async_op: bool):
        """The reduction of every rank's ``src`` (``size`` contiguous pieces); piece ``rank`` into
        ``out``."""
        buf, mop, _ = self._reducible(src, op)
        res, _, finish = self._reducible(out, op)
        n = res.size
        args = (self._msg(buf), self._msg(res), [n] * self.size, mop)
        if async_op:
            return Work([self.comm.Ireduce_scatter(*args)], finish)
        self.comm.Reduce_scatter(*args)
        finish()
        return None

    def all_to_all(self, out, src, send_counts, recv_counts, async_op: bool):
        """Every rank's piece ``r`` of ``src`` to rank ``r`` (counts in elements)."""
        def displs(counts):
            return [int(d) for d in np.concatenate(([0], np.cumsum(counts)[:-1]))]

        s, r = self._msg(src), self._msg(out)
        k = src.dtype.itemsize if s[0] is not src else 1  # counts in bytes when sent as bytes
        send = [s[0], ([c * k for c in send_counts], displs([c * k for c in send_counts])), s[1]]
        recv = [r[0], ([c * k for c in recv_counts], displs([c * k for c in recv_counts])), r[1]]
        if async_op:
            return Work([self.comm.Ialltoallv(send, recv)])
        self.comm.Alltoallv(send, recv)
        return None

    # --- point to point -------------------------------------------------------------------------

    def send(self, arr, dst: int, tag: int, async_op: bool):
        buf, _ = self._plain(arr)
        if async_op:
            return Work([self.comm.Isend(self._msg(buf), dst, tag)])
        self.comm.Send(self._msg(buf), dst, tag)
        return None

    def recv(self, arr, src: int | None, tag: int, async_op: bool):
        """Receive into ``arr`` from ``src`` (any rank when None); returns the sender's rank, or
        Work whose ``source_rank()`` says it."""
        MPI = load()
        buf, finish = self._plain(arr)
        source = MPI.ANY_SOURCE if src is None else src
        status = MPI.Status()
        if async_op:
            return Work([self.comm.Irecv(self._msg(buf), source, tag)], finish, status)
        self.comm.Recv(self._msg(buf), source, tag, status)
        if finish is not None:
            finish()
        return status.Get_source()

    # --- Python objects -------------------------------------------------------------------------

    def all_gather_object(self, obj):
        return self.comm.allgather(obj)

    def broadcast_object(self, obj, root: int):
        return self.comm.bcast(obj, root)

    def gather_object(self, obj, root: int):
        return self.comm.gather(obj, root)

    def scatter_object(self, objs, root: int):
        return self.comm.scatter(objs, root)

    # --- groups ---------------------------------------------------------------------------------

    def split(self, member: bool, key: int) -> MPIBackend | None:
        """A backend over the ranks that pass ``member=True`` (all ranks must call this)."""
        MPI = load()
        comm = self.comm.Split(0 if member else MPI.UNDEFINED, key)
        return MPIBackend(comm) if member else None

    def free(self) -> None:
        if self.comm != load().COMM_WORLD:
            self.comm.Free()


def _divide(a, n: int) -> None:
    """``a /= n`` in place; integers are divided rounding towards zero (as NCCL's ncclAvg)."""
    if a.dtype.kind in "iu":
        neg = a < 0
        np.abs(a, out=a)
        np.floor_divide(a, n, out=a)
        np.negative(a, out=a, where=neg)
    else:
        np.divide(a, n, out=a)
