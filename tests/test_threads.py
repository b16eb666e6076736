"""ember's intra-op threads: torch's get/set_num_threads, and products split over the threads."""

import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from reference import rand, same_error

import ember
from ember.backend import threads


@pytest.fixture
def two_threads():
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    yield
    ember.set_num_threads(before)


def test_set_and_get_num_threads():
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(3)
        assert ember.get_num_threads() in (1, 3)  # 1: no OpenBLAS to hand the work over from
    finally:
        ember.set_num_threads(before)
    assert ember.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_set_num_threads_rejects_what_torch_rejects(bad):
    same_error(lambda m: m.set_num_threads(bad), [])


@pytest.mark.parametrize("shapes", [
    ((300, 200), (200, 150)),          # rows split
    ((4, 300), (300, 2000)),           # columns split
    ((6, 100, 80), (6, 80, 120)),      # batch split
    ((3, 200, 80), (80, 300)),         # batch broadcast: rows split
    ((2, 1, 200, 64), (3, 64, 200)),   # broadcast batch dims
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_split_matmul_equals_numpy(two_threads, shapes, dtype, monkeypatch):
    monkeypatch.setattr(threads, "_MATMUL_MIN_FLOPS", 1)
    a, b = rand(shapes[0], dtype, seed=1), rand(shapes[1], dtype, seed=2)
    out = threads.matmul(np, a, b)
    expected = np.matmul(a, b)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == "float64" else 1e-5)


def test_split_matmul_keeps_numpy_errors(two_threads, monkeypatch):
    monkeypatch.setattr(threads, "_MATMUL_MIN_FLOPS", 1)
    with pytest.raises(ValueError):
        threads.matmul(np, np.ones((200, 3)), np.ones((4, 200)))
    with pytest.raises(ValueError):
        threads.matmul(np, np.ones((2, 200, 3)), np.ones((3, 3, 200)))


def test_large_linear_and_matmul_match_torch(two_threads):
    x, w, b = rand((256, 512), seed=1), rand((384, 512), seed=2), rand((384,), seed=3)
    ex, ew, eb = (ember.from_numpy(v.copy()).requires_grad_() for v in (x, w, b))
    tx, tw, tb = (torch.from_numpy(v.copy()).requires_grad_() for v in (x, w, b))
    ey = ember.nn.functional.linear(ex, ew, eb) @ ew
    ty = torch.nn.functional.linear(tx, tw, tb) @ tw
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-3)
    ey.sum().backward()
    ty.sum().backward()
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-2)


def test_parallel_pieces_do_not_nest(two_threads):
    # a piece that itself asks for a parallel section runs it on its own thread (no deadlock)
    seen = []

    def body(chunk):
        inner = threads.parallel(np, [1, 2, 3], lambda c: seen.append(c))
        assert inner == [None]

    threads.parallel(np, [10, 20], body)
    assert sorted(seen) == [1, 1, 2, 2, 3, 3]


def test_parallel_waits_for_every_piece_when_one_fails(two_threads):
    done = []

    def body(chunk):
        if chunk == 0:  # this thread's piece
            raise ValueError("piece 0 failed")
        time.sleep(0.2)
        done.append(chunk)

    with pytest.raises(ValueError, match="piece 0 failed"):
        threads.parallel(np, [0, 1], body)
    assert done == [1]  # the other piece had finished: nothing still writes to shared arrays


def test_openblas_runs_on_one_thread_once_ember_threads():
    # OpenBLAS's idle threads spin after each multi-threaded call and would take a core from
    # ember's threads; ember keeps OpenBLAS on one thread and owns the parallelism.
    code = (
        "import os; os.environ['OPENBLAS_NUM_THREADS'] = '2'\n"
        "import numpy, ember\n"
        "from ember.backend import threads\n"
        "n = ember.get_num_threads()\n"
        "blas = threads._find_openblas()\n"
        "assert blas is None or blas[0]() == 1, blas[0]()\n"
        "assert n == (min(2, len(os.sched_getaffinity(0))) if blas else 1), n\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_one_blas_thread_from_the_environment_means_one_ember_thread():
    code = ("import os; os.environ['OPENBLAS_NUM_THREADS'] = '1'\n"
            "import ember\nassert ember.get_num_threads() == 1\n")
    subprocess.run([sys.executable, "-c", code], check=True)


class _FakeLibc:
    def __init__(self, accept=True):
        self.calls, self.accept = [], accept
        self.gnu_get_libc_version = lambda: b"2.36"

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1 if self.accept else 0


@pytest.mark.parametrize("accept", [True, False])
def test_malloc_thresholds_pinned_together(monkeypatch, accept):
    import ctypes

    fake = _FakeLibc(accept)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    for var in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(var, raising=False)
    threads._tune_malloc()
    # M_MMAP_THRESHOLD (-3) first; M_TRIM_THRESHOLD (-1) only if that was accepted
    assert fake.calls == ([(-3, 32 << 20), (-1, 64 << 20)] if accept else [(-3, 32 << 20)])


@pytest.mark.parametrize("var, value", [("MALLOC_TRIM_THRESHOLD_", "1000"),
                                        ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1000")])
def test_malloc_settings_of_the_user_are_kept(monkeypatch, var, value):
    import ctypes

    fake = _FakeLibc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    monkeypatch.setenv(var, value)
    threads._tune_malloc()
    assert fake.calls == []
