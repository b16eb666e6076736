"""ember's intra-op threads (``ember.set_num_threads``, as torch's), with NumPy's BLAS kept on one.

Large CPU work (convolution chunks, pooling, big matrix products) is cut into pieces that run on a
pool of threads, one per core; NumPy releases the GIL in BLAS calls, copies and ufunc loops, so
they run in parallel. Meanwhile OpenBLAS itself runs on one thread, for all of NumPy, from the
first time ember needs threads on.

Why not let OpenBLAS thread its own GEMMs: its idle worker threads spin for about 0.1 s after every
multi-threaded call (2**28 cycles, ``OPENBLAS_THREAD_TIMEOUT``, read only when NumPy loads the
library). A training step makes dozens of BLAS calls, so one core was always spinning and ember's
own threads got half of it: the MNIST net's training step took 90-110 ms on 2 cores with
OpenBLAS's threads, 64 ms with the spinning cut short. The pool's idle threads block instead.

The same first use pins glibc's malloc thresholds (see ``_tune_malloc``).

The thread count defaults to what OpenBLAS was allowed when ember took it over (so
``OPENBLAS_NUM_THREADS=1`` or ``OMP_NUM_THREADS=1`` still means one core), within the CPUs this
process may use. Without a controllable OpenBLAS (NumPy built on MKL or Accelerate) ember leaves
BLAS alone and runs its pieces one after another.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["get_num_threads", "set_num_threads", "parallel", "matmul", "cuts"]

# A product smaller than this (2*M*N*K flops) is not worth handing to other threads (~30 us).
_MATMUL_MIN_FLOPS = 1 << 24

_lock = threading.Lock()
_local = threading.local()  # .inside: this thread is running a piece of a parallel section
_state = {"blas": None, "threads": None, "pool": None, "pid": None}


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def _find_openblas():
    """(get, set) of the loaded OpenBLAS's thread count, found as threadpoolctl finds it."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:  # not Linux: no control
        return None
    # NumPy's own copy first: SciPy wheels load a second OpenBLAS, which NumPy never calls
    for path in sorted(paths, key=lambda p: "numpy" not in p):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, set_
    return None


def _tune_malloc() -> None:
    """Pin glibc's mmap and trim thresholds at the values its own adjustment ends at on 64-bit.

    A training step allocates and frees arrays of megabytes many times. glibc starts by serving
    them with fresh mmaps (and trims its heap back to the system eagerly), so the kernel faults in
    and zeroes every page again on each use: ReLU of a 9 MB activation took 2.6 ms instead of 1.
    glibc raises both thresholds itself as it sees large frees, up to 32 MiB for mmap; pinning
    them there from the start cut seed 002's CNN step from 19.5-20 to 15-16 ms (median). Memory
    freed below the trim threshold (64 MiB) stays with the process for reuse. Settings the user
    gave glibc (MALLOC_*_ environment variables, GLIBC_TUNABLES) are left as they are.
    """
    import ctypes

    env = os.environ
    if any(k in env for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                              "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")) or \
            "malloc" in env.get("GLIBC_TUNABLES", ""):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    # both or neither: pinning one stops glibc adjusting the other, which is worse than default
    if mallopt(m_mmap_threshold, 32 << 20):
        mallopt(m_trim_threshold, 64 << 20)


def _take_over() -> None:
    """Once: read OpenBLAS's thread count as ember's default, then put OpenBLAS on one thread."""
    if _state["blas"] is not None:
        return
    if sys.platform.startswith("linux"):
        _tune_malloc()
    blas = _find_openblas() or False
    if blas:
        allowed = blas[0]()
        blas[1](1)
    else:
        allowed = 1
    if _state["threads"] is None:
        _state["threads"] = max(1, min(allowed, _cpus()))
    _state["blas"] = blas


def _count() -> int:
    """ember's thread count (1 when OpenBLAS could not be put on one thread); after _take_over."""
    return _state["threads"] if _state["blas"] else 1


def get_num_threads() -> int:
    """The number of threads ember uses for work within one op on the CPU."""
    with _lock:
        _take_over()
        return _count()


def set_num_threads(num: int) -> None:
    """Use ``num`` threads for work within one op on the CPU (torch's ``set_num_threads``)."""
    if not isinstance(num, int) or isinstance(num, bool):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(num).__name__}")
    if num <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    with _lock:
        _take_over()
        _state["threads"] = num
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=False)
            _state["pool"] = None


def cuts(n: int, count: int) -> list:
    """``range(n)`` cut into ``count`` slices of equal sizes (within one), in order."""
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _pool():
    """The pool and its size for a parallel section now; (None, 1) to run it on this thread."""
    if getattr(_local, "inside", False):  # a piece may not wait for other pieces: no nesting
        return None, 1
    with _lock:
        _take_over()
        n = _count()
        if n < 2:
            return None, 1
        if _state["pool"] is None or _state["pid"] != os.getpid():  # a forked child: its own
            _state["pool"] = ThreadPoolExecutor(n, thread_name_prefix="ember")
            _state["pid"] = os.getpid()
        return _state["pool"], n


def _piece(fn, item):
    _local.inside = True
    try:
        return fn(item)
    finally:
        _local.inside = False


def _share(pool, fn, items) -> list:
    """``[fn(item) for item in items]``, the first on this thread, the others on the pool."""
    futures = [pool.submit(_piece, fn, item) for item in items[1:]]
    try:
        first = _piece(fn, items[0])
    finally:
        rest = [f.result() for f in futures]  # never leave pieces running on shared arrays
    return [first] + rest


def parallel(xp, chunks, body, acc=None):
    """``body(chunk)`` for every chunk, the chunks shared out over ember's threads.

    With ``acc`` (a function making an accumulator), ``body(chunk, a)`` adds into the accumulator
    of its thread and the accumulators are returned, one per thread used.
    """
    def group(cs):
        if acc is None:
            for c in cs:
                body(c)
            return None
        a = acc()
        for c in cs:
            body(c, a)
        return a

    pool, n = _pool() if xp is np and len(chunks) >= 2 else (None, 1)
    if pool is None:
        return [group(chunks)]
    return _share(pool, group, [chunks[sl] for sl in cuts(len(chunks), min(n, len(chunks)))])


def matmul(xp, a, b):
    """``xp.matmul(a, b)``, a large product on the CPU split by rows (or batch) over the threads.

    Each thread's share is one ordinary BLAS call writing its rows of the result, so the values
    are those of one call (every output element is the same dot product either way).
    """
    if (xp is not np or a.ndim < 2 or b.ndim < 2 or a.dtype != b.dtype
            or a.dtype.kind not in "fc"):
        return xp.matmul(a, b)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) if a.ndim > 2 or b.ndim > 2 else ()
    count = math.prod(batch)
    if 2 * m * n * k * count < _MATMUL_MIN_FLOPS or k != b.shape[-2]:
        return xp.matmul(a, b)
    pool, threads = _pool()
    if pool is None:
        return xp.matmul(a, b)
    out = np.empty(batch + (m, n), dtype=np.result_type(a, b))
    if batch and count >= threads and a.shape[:-2] == batch and b.shape[:-2] == batch:
        a3, b3 = a.reshape((count, m, k)), b.reshape((count, k, n))
        o3 = out.reshape((count, m, n))
        pieces = [(a3[sl], b3[sl], o3[sl]) for sl in cuts(count, threads)]
    elif m >= threads * 8:
        pieces = [(a[..., sl, :], b, out[..., sl, :]) for sl in cuts(m, threads)]
    elif n >= threads * 8:
        pieces = [(a, b[..., sl], out[..., sl]) for sl in cuts(n, threads)]
    else:
        return xp.matmul(a, b)
    _share(pool, lambda piece: np.matmul(*piece[:2], out=piece[2]), pieces)
    return out
