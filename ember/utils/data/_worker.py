"""What runs in a DataLoader worker process, and how its batches reach the main process.

A worker seeds its random generators, runs ``worker_init_fn``, then loops: take ``(task index,
sampler indices)`` from its index queue, fetch and collate the batch, put the result on the shared
result queue. Tensors travel through shared memory: ``default_collate`` stacks a batch straight
into a file in ``/dev/shm`` (``new_shared_array``), and a message carries only each tensor's
(file name, offset, shape, strides, dtype); the main process maps the file, unlinks its name at
once and wraps the mapping as a tensor without copying. The memory is freed when the last array
using it is garbage-collected, so nothing stays behind in ``/dev/shm`` however long the batch
lives; files a worker made but never sent are removed by the worker (on garbage collection) or, if
it was killed, by the main process's sweep of the iterator's name prefix at shutdown.
"""

from __future__ import annotations

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

class _Block(mmap.mmap):
    """A file in SHM_DIR mapped into this process; ``name`` is the file's name."""


_shm = {"prefix": None, "counter": itertools.count()}  # set per worker by _worker_loop


def _unlink_unsent(path: str, sent: list) -> None:
    if not sent[0]:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def new_shared_array(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array in a new shared-memory block (in a worker; ordinary memory in the
    main process, or when empty)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if _shm["prefix"] is None or nbytes == 0:
        return np.empty(shape, dtype)
    name = f"{_shm['prefix']}{next(_shm['counter'])}"
    path = os.path.join(SHM_DIR, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            # Reserve the pages now: a full /dev/shm then fails here with an error instead of
            # killing the worker with SIGBUS on first write.
            os.posix_fallocate(fd, 0, nbytes)
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
    block.sent = [False]
    weakref.finalize(block, _unlink_unsent, path, block.sent)
    arr = np.ndarray(shape, dtype, buffer=block)
    block.address = arr.__array_interface__["data"][0]
    return arr


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
        if block is None or block.sent[0] or any(s < 0 for s in arr.strides):
            # Not in shared memory yet, or in a block an earlier message handed over.
            new = new_shared_array(arr.shape, arr.dtype)
            np.copyto(new, arr)
            arr, block = new, new.base
        self.blocks.append(block)
        offset = arr.__array_interface__["data"][0] - block.address
        return ("ember.shm", block.name, offset, arr.shape, arr.strides, arr.dtype,
                t._requires_grad)


def _dumps(message) -> bytes:
    buf = io.BytesIO()
    pickler = _SharingPickler(buf)
    pickler.dump(message)
    for block in pickler.blocks:
        block.sent[0] = True
    return buf.getvalue()


def _open_block(name: str) -> mmap.mmap:
    path = os.path.join(SHM_DIR, name)
    fd = os.open(path, os.O_RDWR)
    try:
        return mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
        os.unlink(path)  # the mapping lives on until its last array is freed


class _SharingUnpickler(pickle.Unpickler):
    """Unpickles a worker's message in the main process, mapping the shared tensors."""

    def __init__(self, file):
        super().__init__(file)
        self.blocks = {}
        self.tensors = {}

    def persistent_load(self, pid):
        _, name, offset, shape, strides, dtype, requires_grad = pid
        key = (name, offset, shape, strides, dtype)
        t = self.tensors.get(key)
        if t is None:
            block = self.blocks.get(name)
            if block is None:
                block = self.blocks[name] = _open_block(name)
            arr = np.ndarray(shape, dtype, buffer=block, offset=offset, strides=strides)
            t = self.tensors[key] = Tensor._make(arr)
            if requires_grad:
                t.requires_grad_()
        return t


def _loads(data: bytes):
    return _SharingUnpickler(io.BytesIO(data)).load()


def remove_blocks(prefix: str) -> None:
    """Unlink every shared-memory file whose name starts with ``prefix`` (the ones never
    received: in flight when the workers stopped, or left by a killed worker)."""
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
        message = _dumps((idx, data))
    except Exception:
        # E.g. a batch holding an unpicklable object: the main process gets the error.
        message = _dumps((idx, ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")))
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
                data_queue.put(_dumps((r, None)))
                iteration_end = False
                fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                      collate_fn, drop_last)
                continue
            if r is None:
                break  # shutting down
            if done_event.is_set() or iteration_end:
                continue  # drain the queue until the shutdown sentinel
            idx, index = r
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
