"""What runs in a DataLoader worker process, and how its batches reach the main process.

A worker seeds its random generators, runs ``worker_init_fn``, then loops: take ``(task index,
sampler indices, returned blocks)`` from its index queue, fetch and collate the batch, put the
result on the shared result queue. Tensors travel through shared memory: ``default_collate``
stacks a batch straight into a block (a file in ``/dev/shm``, see ``new_shared_array``), and a
message carries only each tensor's (block, offset, shape, strides, dtype); the main process maps
the block, unlinks its name at once and wraps the mapping as a tensor without copying. Blocks are
recycled once the main process has dropped every array in them. Nothing stays behind in
``/dev/shm``: names live only until the main process first maps them, a worker unlinks the blocks
it never sent, and the main process sweeps the iterator's name prefix when the workers stop (for
blocks in flight, or left by a killed worker).
"""

from __future__ import annotations

import collections
import io
import itertools
import math
import mmap
import os
import pickle
import queue
import random
import sys
import tempfile
import traceback
import weakref
from dataclasses import dataclass

import numpy as np

from ember._tensor import Tensor
from ember.ops.random import manual_seed

__all__ = ["WorkerInfo", "get_worker_info"]

MP_STATUS_CHECK_INTERVAL = 5.0  # seconds a worker waits for a task before checking its parent
SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()

_worker_info: WorkerInfo | None = None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """What a DataLoader worker knows about itself: ``id`` (0 to ``num_workers - 1``),
    ``num_workers``, the ``seed`` its generators were seeded with, and its copy of the
    ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; ``None`` in the main
    process."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's iterable dataset is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """A persistent worker starts a new epoch."""


class ExceptionWrapper:
    """An exception and its formatted traceback, to re-raise in another process."""

    def __init__(self, exc_info=None, where: str = "in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the same exception type, with the original traceback in the message."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)  # KeyError repr()s its argument: keep newlines readable
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # An exception type whose constructor wants other arguments.
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:
            # No exception <-> frame cycle: the iterator in the traceback is freed (and its
            # workers stopped) as soon as the caller drops the exception, not at the next gc.
            del exception


class _KeyErrorMessage(str):
    """A str whose repr is itself."""

    __slots__ = ()

    def __repr__(self):
        return self


# --- fetching -------------------------------------------------------------------------------

class _MapDatasetFetcher:
    """Samples of a map-style dataset by index (``__getitems__`` for a whole batch if defined)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last

    def fetch(self, possibly_batched_index):
        if self.auto_collation:
            if getattr(self.dataset, "__getitems__", None):
                data = self.dataset.__getitems__(possibly_batched_index)
            else:
                data = [self.dataset[idx] for idx in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    """The next samples of an iterable dataset; StopIteration once it is exhausted."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        cls = _MapDatasetFetcher if kind == _DatasetKind.Map else _IterableDatasetFetcher
        return cls(dataset, auto_collation, collate_fn, drop_last)


# --- shared memory --------------------------------------------------------------------------
#
# A worker allocates a batch's arrays in blocks: files in SHM_DIR, mapped. A message names the
# block of each tensor; the main process maps a block the first time it sees it, unlinks the name
# at once (from then on only the two mappings keep the memory) and caches the mapping. When every
# array of a received block has been garbage-collected, the main process hands the block back with
# the worker's next task, and the worker reuses it for a later batch of the same size: fresh pages
# cost a page fault each, which is most of the price of moving a batch. A worker keeps at most
# _POOL_CAP free blocks per size; a block it drops is named in its next message ("retired") so
# the main process drops its mapping too.

_POOL_CAP = 8


class _Block(mmap.mmap):
    """A block mapped in a worker: ``name`` (its file in SHM_DIR), ``address`` (of its first
    byte), ``nbytes``; ``seen[0]`` once the main process has mapped it (and unlinked the name)."""


# The worker's blocks: free ones by size, ones lent to the main process by name, and the names of
# seen blocks it dropped. Set up by _worker_loop; a prefix of None means "not in a worker".
_shm = {"prefix": None, "counter": itertools.count(), "worker_id": -1, "pool": {}, "lent": {},
        "retired": []}


def _drop_block(path: str, name: str, seen: list, retired: list) -> None:
    """A worker's block was garbage-collected."""
    if seen[0]:
        retired.append(name)  # the main process still maps it
        return
    try:
        os.unlink(path)  # never sent: nobody else knows the name
    except FileNotFoundError:
        pass


def _new_block(nbytes: int) -> _Block:
    name = f"{_shm['prefix']}{next(_shm['counter'])}"
    path = os.path.join(SHM_DIR, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            if hasattr(os, "posix_fallocate"):
                # Reserve the pages now: a full /dev/shm then fails here with an error instead
                # of killing the worker with SIGBUS on first write.
                os.posix_fallocate(fd, 0, nbytes)
            else:
                os.ftruncate(fd, nbytes)
        except OSError as e:
            raise RuntimeError(f"DataLoader worker could not allocate {nbytes} bytes of shared "
                               f"memory in {SHM_DIR}: {e.strerror}. Free space there (or give "
                               "the container a larger /dev/shm), or use num_workers=0.") from None
        block = _Block(fd, nbytes)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    block.name = name
    block.nbytes = nbytes
    block.seen = [False]
    block.address = np.frombuffer(block, np.uint8, 1).__array_interface__["data"][0]
    weakref.finalize(block, _drop_block, path, name, block.seen, _shm["retired"])
    return block


def new_shared_array(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array in a shared-memory block (in a worker; ordinary memory in the main
    process, or when empty)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if _shm["prefix"] is None or nbytes == 0:
        return np.empty(shape, dtype)
    free = _shm["pool"].get(nbytes)
    block = free.pop() if free else _new_block(nbytes)
    return np.ndarray(shape, dtype, buffer=block)


def _return_blocks(names) -> None:
    """The main process no longer uses these lent blocks: keep them for reuse."""
    for name in names:
        block = _shm["lent"].pop(name, None)
        if block is not None:
            free = _shm["pool"].setdefault(block.nbytes, [])
            if len(free) < _POOL_CAP:
                free.append(block)  # else dropped: _drop_block retires it


def _block_of(arr: np.ndarray):
    base = arr.base
    while isinstance(base, np.ndarray):
        base = base.base
    return base if isinstance(base, _Block) else None


class _SharingPickler(pickle.Pickler):
    """Pickles a worker's message, sending each tensor as a reference to shared memory."""

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.blocks = []  # blocks referenced by this message
        self.refs = {}

    def persistent_id(self, obj):
        if obj.__class__ is not Tensor:
            return None
        ref = self.refs.get(id(obj))
        if ref is None:
            ref = self.refs[id(obj)] = self._share(obj)
        return ref

    def _share(self, t: Tensor):
        arr = t._data
        if t._device.type != "cpu" or arr.nbytes == 0:
            return None  # pickled as usual
        block = _block_of(arr)
        if block is None or block.name in _shm["lent"] or any(s < 0 for s in arr.strides):
            # Not in shared memory yet, or in a block an earlier message lent out.
            new = new_shared_array(arr.shape, arr.dtype)
            np.copyto(new, arr)
            arr, block = new, _block_of(new)
        self.blocks.append(block)
        offset = arr.__array_interface__["data"][0] - block.address
        return ("ember.shm", _shm["worker_id"], block.name, offset, arr.shape, arr.strides,
                arr.dtype, t._requires_grad)


def _dumps(idx, data) -> bytes:
    """A worker's message: ``(idx, data, retired block names)``, tensors in shared memory."""
    buf = io.BytesIO()
    pickler = _SharingPickler(buf)
    retired = _shm["retired"][:]
    pickler.dump((idx, data, retired))
    del _shm["retired"][:len(retired)]
    for block in pickler.blocks:
        _shm["lent"][block.name] = block
        block.seen[0] = True
    return buf.getvalue()


class BlockCache:
    """The main process's side of one worker group's blocks: their mappings by name, and the
    names of blocks no longer used here, per worker, to hand back with the next task."""

    def __init__(self, num_workers: int):
        self.maps = {}
        self.freed = [collections.deque() for _ in range(num_workers)]

    def map(self, name: str) -> mmap.mmap:
        mm = self.maps.get(name)
        if mm is None:
            path = os.path.join(SHM_DIR, name)
            fd = os.open(path, os.O_RDWR)
            try:
                mm = self.maps[name] = mmap.mmap(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
                os.unlink(path)  # the mappings keep the memory; no name can be left behind
        return mm

    def take_freed(self, worker_id: int) -> list:
        freed = self.freed[worker_id]
        return [freed.popleft() for _ in range(len(freed))]

    def forget(self, names) -> None:
        for name in names:
            self.maps.pop(name, None)


class _SharingUnpickler(pickle.Unpickler):
    """Unpickles a worker's message in the main process, mapping the shared tensors."""

    def __init__(self, file, cache: BlockCache):
        super().__init__(file)
        self.cache = cache
        self.bases = {}
        self.tensors = {}

    def persistent_load(self, pid):
        _, worker_id, name, offset, shape, strides, dtype, requires_grad = pid
        key = (name, offset, shape, strides, dtype)
        t = self.tensors.get(key)
        if t is None:
            base = self.bases.get(name)
            if base is None:
                mm = self.cache.map(name)
                # Every array of this batch in the block is a view of `base`, so `base` is
                # freed exactly when the last of them is; then the block can be reused.
                base = self.bases[name] = np.ndarray((len(mm),), np.uint8, buffer=mm)
                weakref.finalize(base, self.cache.freed[worker_id].append, name)
            arr = np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)
            t = self.tensors[key] = Tensor._make(arr)
            if requires_grad:
                t.requires_grad_()
        return t


def _loads(data: bytes, cache: BlockCache):
    """A worker's message as ``(idx, data)``, its tensors mapped from shared memory."""
    idx, data, retired = _SharingUnpickler(io.BytesIO(data), cache).load()
    cache.forget(retired)
    return idx, data


def remove_blocks(prefix: str) -> None:
    """Unlink every shared-memory file whose name starts with ``prefix``: blocks the main process
    never received (in flight when the workers stopped, or left by a killed worker)."""
    try:
        names = os.listdir(SHM_DIR)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except FileNotFoundError:
                pass


# --- the worker process ---------------------------------------------------------------------

def _generate_state(base_seed: int, worker_id: int) -> list:
    """NumPy's seed for a worker: PyTorch's SeedSequence-style hash of (worker_id, base_seed),
    so NumPy's stream in worker ``i`` is the one PyTorch's worker ``i`` gets."""
    init_a, mult_a, init_b, mult_b = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
    mix_mult_l, mix_mult_r, xshift, mask = 0xCA01F9DD, 0x4973F715, 16, 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    const_a = init_a

    def hash_(value):
        nonlocal const_a
        value = (value ^ const_a) & mask
        const_a = (const_a * mult_a) & mask
        value = (value * const_a) & mask
        return (value ^ (value >> xshift)) & mask

    def mix(x, y):
        result = ((mix_mult_l * x) - (mix_mult_r * y)) & mask
        return (result ^ (result >> xshift)) & mask

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    const_b = init_b
    state = []
    for value in pool:
        value = (value ^ const_b) & mask
        const_b = (const_b * mult_b) & mask
        value = (value * const_b) & mask
        state.append((value ^ (value >> xshift)) & mask)
    return state


class _ManagerWatchdog:
    """Whether the process that started this worker is still alive."""

    def __init__(self):
        self.manager_pid = os.getppid()
        self.manager_dead = False

    def is_alive(self) -> bool:
        if not self.manager_dead:
            self.manager_dead = os.getppid() != self.manager_pid
        return not self.manager_dead


def _put(data_queue, idx, data, worker_id: int) -> None:
    try:
        message = _dumps(idx, data)
    except Exception:
        # E.g. a batch holding an unpicklable object: the main process gets the error.
        message = _dumps(idx, ExceptionWrapper(where=f"in DataLoader worker process {worker_id}"))
    data_queue.put(message)


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                 persistent_workers, shm_prefix):
    """The body of worker process ``worker_id``."""
    global _worker_info
    try:
        seed = base_seed + worker_id
        random.seed(seed)
        manual_seed(seed)
        np.random.seed(_generate_state(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        _shm["prefix"] = f"{shm_prefix}{worker_id}_"
        _shm["worker_id"] = worker_id
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                  collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        watchdog = _ManagerWatchdog()
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put(_dumps(r, None))
                iteration_end = False
                fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                      collate_fn, drop_last)
                continue
            if r is None:
                break  # shutting down
            idx, index, returned = r
            _return_blocks(returned)
            if done_event.is_set() or iteration_end:
                continue  # drain the queue until the shutdown sentinel
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            _put(data_queue, idx, data, worker_id)
            del data, idx, index, r  # free the batch before waiting for the next task
    except KeyboardInterrupt:
        pass  # the main process sees Ctrl-C too and shuts the workers down
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
