"""DataLoader with worker processes: the same batches as in the main process (and as torch's
workers), order, seeding, worker_init_fn, errors and crashes, timeouts, persistent workers,
iterable datasets, shared-memory transport and cleanup."""

import gc
import mmap
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
import torch.utils.data as T
from data_check import assert_same_batch, shm_files
from torch.utils.data._utils.worker import _generate_state as torch_generate_state

import ember
import ember.utils.data as E
from ember.utils.data import _worker

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def plain(batch):
    """A batch as plain Python values (tensors as (dtype, shape, values)), for comparing."""
    if isinstance(batch, ember.Tensor):
        return ("tensor", str(batch.dtype), tuple(batch.shape), batch.tolist())
    if isinstance(batch, dict):
        return {k: plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(plain(b) for b in batch)
    return batch


class Samples(E.Dataset):
    """Deterministic mixed samples: a tensor, an int, a float, a string, a NumPy array."""

    def __init__(self, n=23, lib=ember):
        self.n, self.lib = n, lib

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        img = self.lib.arange(6, dtype=self.lib.float32).reshape(2, 3) * i
        return {"img": img, "label": i % 4, "w": i / 2, "name": f"n{i}",
                "feat": np.full(3, i, np.int16)}


class WorkerProbe(E.Dataset):
    """Samples that say which process made them and what its random generators gave."""

    def __init__(self, n=16):
        self.n = n
        self.tag = -1

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = E.get_worker_info()
        wid, seed = (-1, -1) if info is None else (info.id, info.seed)
        return (i, wid, seed, os.getpid(), self.tag, float(np.random.rand()), random.random(),
                ember.rand(1).item())


def _columns(loader):
    rows = [tuple(col.tolist() if isinstance(col, ember.Tensor) else list(col) for col in batch)
            for batch in loader]
    return [sum((list(r[k]) for r in rows), []) for k in range(len(rows[0]))]


def _base_seed(seed):
    return ember.empty((), dtype=ember.int64).random_(
        generator=ember.Generator().manual_seed(seed)).item()


def test_same_batches_with_and_without_workers():
    ds = Samples()
    ref = [plain(b) for b in E.DataLoader(ds, batch_size=4)]
    got = [plain(b) for b in E.DataLoader(ds, batch_size=4, num_workers=2)]
    assert got == ref
    assert shm_files() == []


def test_same_batches_as_torch_workers():
    e = list(E.DataLoader(Samples(), batch_size=5, num_workers=2))
    t = list(T.DataLoader(Samples(lib=torch), batch_size=5, num_workers=2))
    assert len(e) == len(t) == 5
    for a, b in zip(e, t):
        assert_same_batch(a, b)


def test_batches_come_from_shared_memory():
    x, y = next(iter(E.DataLoader(E.TensorDataset(ember.ones(8, 3), ember.arange(8)),
                                  batch_size=4, num_workers=1)))
    for t in (x, y):
        base = t._data
        while isinstance(base, np.ndarray):
            base = base.base
        assert isinstance(base, mmap.mmap), type(base)
    assert x.tolist() == [[1.0] * 3] * 4 and y.tolist() == [0, 1, 2, 3]
    x.add_(1)  # an ordinary writable tensor
    assert shm_files() == [], "names are unlinked as soon as the batch is received"


def test_shared_memory_views_and_repeats():
    def collate(samples):
        batch = E.default_collate(samples)
        return batch, batch, batch[1:3], np.int64(7), samples[0].clone()

    loader = E.DataLoader([ember.full((2,), float(i)) for i in range(4)], batch_size=4,
                          num_workers=1, collate_fn=collate)
    batch, again, view, scalar, plain_tensor = next(iter(loader))
    assert batch is again, "one tensor stays one tensor"
    assert np.shares_memory(view.numpy(), batch.numpy())
    assert view.tolist() == [[1.0, 1.0], [2.0, 2.0]] and scalar == 7
    assert plain_tensor.tolist() == [0.0, 0.0]
    assert shm_files() == []


def test_shared_memory_blocks_are_reused_but_never_while_in_use():
    ds = E.TensorDataset(ember.arange(4000, dtype=ember.float32).reshape(200, 20))
    loader = E.DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True)
    kept = {}
    for epoch in range(2):
        for i, (x,) in enumerate(loader):
            if i % 7 == 0:
                kept[(epoch, i)] = x  # held on to: its block must not be recycled under it
    blocks = loader._iterator._group.blocks
    # Dropped batches' blocks come back and are reused: far fewer blocks than batches.
    assert len(blocks.maps) < 40
    for (epoch, i), x in kept.items():
        assert x.tolist() == ds.tensors[0][4 * i:4 * i + 4].tolist(), (epoch, i)
    del loader, blocks
    gc.collect()
    assert shm_files() == []


def test_worker_pool_is_capped():
    # Each batch is kept until the end, then all are dropped at once: more blocks come back than
    # a worker keeps, and the main process forgets the mappings of the ones it retires.
    loader = E.DataLoader(E.TensorDataset(ember.ones(64, 2)), batch_size=1, num_workers=1,
                          persistent_workers=True)
    held = list(loader)
    assert len(loader._iterator._group.blocks.maps) == 64
    del held
    assert sum(1 for _ in loader) == 64
    assert len(loader._iterator._group.blocks.maps) <= _worker._POOL_CAP + 3
    del loader


def _shm_is_full(worker_id):
    import errno

    def fallocate(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    os.posix_fallocate = fallocate  # in this worker process only


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="needs posix_fallocate")
def test_full_shared_memory_is_an_error_not_a_crash():
    loader = E.DataLoader(E.TensorDataset(ember.ones(4, 2)), batch_size=2, num_workers=1,
                          worker_init_fn=_shm_is_full)
    with pytest.raises(RuntimeError, match=r"(?s)Caught RuntimeError in DataLoader worker process "
                                           r"0.*could not allocate 16 bytes of shared memory.*No "
                                           r"space left on device"):
        list(loader)
    assert shm_files() == []


def test_order_and_shuffle_with_generator():
    def order(workers, seed):
        g = ember.Generator().manual_seed(seed)
        loader = E.DataLoader(range(40), batch_size=3, shuffle=True, num_workers=workers,
                              generator=g)
        return [x for b in loader for x in b.tolist()]

    a = order(0, 5)
    assert sorted(a) == list(range(40)) and a != list(range(40))
    assert order(2, 5) == a, "the order does not depend on num_workers"
    assert order(2, 6) != a
    loader = E.DataLoader(range(40), batch_size=40, shuffle=True, num_workers=2)
    assert next(iter(loader)).tolist() != next(iter(loader)).tolist()


def test_worker_info_and_seeds():
    g = ember.Generator().manual_seed(123)
    np_state, py_state = np.random.get_state(), random.getstate()
    main_rng = ember.get_rng_state()
    cols = _columns(E.DataLoader(WorkerProbe(), batch_size=2, num_workers=2, generator=g))
    idx, wid, seed, pid, _, np_draws, py_draws, ember_draws = cols
    base = _base_seed(123)
    assert idx == list(range(16))
    assert wid == [0, 0, 1, 1] * 4, "batch i comes from worker i % num_workers"
    assert seed == [base + w for w in wid]
    assert len(set(pid)) == 2 and os.getpid() not in pid
    for draws in (np_draws, py_draws, ember_draws):
        assert len(set(draws)) == 16, "every worker's generators are seeded differently"
    # NumPy is seeded from (base_seed, worker_id) exactly as torch seeds it.
    assert np_draws[0] == np.random.RandomState(torch_generate_state(base, 0)).rand()
    assert np_draws[2] == np.random.RandomState(torch_generate_state(base, 1)).rand()
    assert py_draws[0] == random.Random(base).random()
    assert ember_draws[0] == ember.rand(1, generator=ember.Generator().manual_seed(base)).item()
    # The main process's generators were not touched (beyond the loader's own generator).
    assert np.array_equal(np.random.get_state()[1], np_state[1]) and random.getstate() == py_state
    assert ember.equal(ember.get_rng_state(), main_rng)
    assert E.get_worker_info() is None


def test_same_seed_same_worker_draws():
    def draws(seed):
        loader = E.DataLoader(WorkerProbe(8), batch_size=2, num_workers=2,
                              generator=ember.Generator().manual_seed(seed))
        return _columns(loader)[5:]

    assert draws(1) == draws(1) and draws(1) != draws(2)


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 987654321987654321])
@pytest.mark.parametrize("worker_id", [0, 1, 7])
def test_numpy_seed_state_matches_torch(seed, worker_id):
    assert _worker._generate_state(seed, worker_id) == torch_generate_state(seed, worker_id)


def _init_tag(worker_id):
    info = E.get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    info.dataset.tag = 100 + worker_id


def test_worker_init_fn():
    ds = WorkerProbe(8)
    cols = _columns(E.DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=_init_tag))
    wid, tag = cols[1], cols[4]
    assert tag == [100 + w for w in wid]
    assert ds.tag == -1, "worker_init_fn changes the workers' copies only"


class Failing(E.Dataset):
    def __init__(self, exc, at=5):
        self.exc, self.at = exc, at

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == self.at:
            raise self.exc
        return i


def test_worker_exception_is_reraised_with_its_traceback():
    loader = E.DataLoader(Failing(ValueError("sample 5 is broken")), batch_size=2, num_workers=2)
    got = []
    with pytest.raises(ValueError) as info:
        for b in loader:
            got.append(b.tolist())
    msg = str(info.value)
    assert got == [[0, 1], [2, 3]]
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.\n"
                          "Original Traceback (most recent call last):\n")
    assert "in __getitem__\n    raise self.exc" in msg and __file__ in msg
    assert msg.rstrip().endswith("ValueError: sample 5 is broken")
    del info  # the traceback holds the iterator; dropping it stops the workers
    assert shm_files() == []


def test_worker_key_error_message_is_readable():
    with pytest.raises(KeyError) as info:
        list(E.DataLoader(Failing(KeyError("k")), batch_size=2, num_workers=1))
    assert "\n" in repr(info.value.args[0]) and "KeyError: 'k'" in str(info.value)


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def test_worker_exception_that_cannot_be_rebuilt_becomes_runtime_error():
    with pytest.raises(RuntimeError, match="Caught NeedsTwoArgs in DataLoader worker process"):
        list(E.DataLoader(Failing(NeedsTwoArgs(1, 2)), batch_size=2, num_workers=1))


def _failing_init(worker_id):
    raise OSError(f"no data for worker {worker_id}")


def test_worker_init_fn_exception():
    with pytest.raises(OSError, match=r"(?s)Caught OSError in DataLoader worker process 0.*no "
                                      r"data for worker 0"):
        list(E.DataLoader(range(4), num_workers=1, worker_init_fn=_failing_init))


def test_unpicklable_batch_is_an_error_not_a_hang():
    loader = E.DataLoader(range(4), batch_size=2, num_workers=1,
                          collate_fn=lambda b: (lambda: b))
    with pytest.raises(Exception, match="Caught .* in DataLoader worker process 0"):
        list(loader)


class Slow(E.Dataset):
    def __len__(self):
        return 100

    def __getitem__(self, i):
        if E.get_worker_info() is not None:
            time.sleep(0.01)
        return i


@pytest.mark.timeout(60)
def test_killed_worker_raises_instead_of_hanging():
    it = iter(E.DataLoader(Slow(), num_workers=2))
    assert next(it).tolist() == [0]
    victim = it._workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"DataLoader worker \(pid\(s\) {victim.pid}\) exited "
                                           "unexpectedly"):
        for _ in it:
            pass
    assert time.monotonic() - start < 10
    workers = it._workers
    del it
    gc.collect()
    assert not any(w.is_alive() for w in workers)
    assert shm_files() == []


class ExitsAt(E.Dataset):
    def __len__(self):
        return 50

    def __getitem__(self, i):
        if i == 9:
            os._exit(3)
        return i


@pytest.mark.timeout(60)
def test_worker_exiting_raises():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(E.DataLoader(ExitsAt(), batch_size=2, num_workers=2))
    gc.collect()
    assert shm_files() == []


class Sleepy(E.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 2:
            time.sleep(0.8)
        return i


@pytest.mark.timeout(60)
def test_timeout():
    it = iter(E.DataLoader(Sleepy(), batch_size=2, num_workers=1, timeout=0.2))
    assert next(it).tolist() == [0, 1]
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.2 seconds$"):
        next(it)
    del it
    gc.collect()
    assert shm_files() == []


def test_workers_stop_when_the_iterator_is_exhausted_or_dropped():
    it = iter(E.DataLoader(range(10), batch_size=2, num_workers=2))
    workers = it._workers
    assert all(w.is_alive() for w in workers)
    assert [b.tolist() for b in it][-1] == [8, 9]
    assert not any(w.is_alive() for w in workers), "stopped at the end of the epoch"

    it = iter(E.DataLoader(Slow(), batch_size=2, num_workers=2))
    next(it)
    workers = it._workers
    del it  # dropped mid-epoch, with batches in flight
    assert not any(w.is_alive() for w in workers)
    assert shm_files() == []


def test_prefetch_factor_bounds_batches_in_flight():
    it = iter(E.DataLoader(range(100), num_workers=2, prefetch_factor=3))
    assert it._tasks_outstanding == 6
    next(it)
    assert it._tasks_outstanding <= 6
    del it


def test_persistent_workers():
    loader = E.DataLoader(Samples(9), batch_size=2, num_workers=2, persistent_workers=True)
    ref = [plain(b) for b in E.DataLoader(Samples(9), batch_size=2)]
    first = [plain(b) for b in loader]
    it = loader._iterator
    workers = it._workers
    assert all(w.is_alive() for w in workers), "kept alive between epochs"
    assert [plain(b) for b in loader] == first == ref
    assert loader._iterator is it and it._workers == workers
    # An epoch abandoned part-way: the next one starts over and is complete.
    partial = iter(loader)
    next(partial)
    assert [plain(b) for b in loader] == ref
    del loader, it, partial
    gc.collect()
    assert not any(w.is_alive() for w in workers)
    assert shm_files() == []


class _Sharded:
    """range(start, end), split between workers as the PyTorch documentation shows."""

    def __init__(self, start, end, shard=True):
        self.start, self.end, self.shard = start, end, shard

    def __iter__(self):
        info = self.worker_info()
        start, end = self.start, self.end
        if info is not None and self.shard:
            per = -(-(end - start) // info.num_workers)
            start = start + info.id * per
            end = min(start + per, end)
        return iter(range(start, end))

    def __len__(self):
        return self.end - self.start


class Shards(_Sharded, E.IterableDataset):
    worker_info = staticmethod(E.get_worker_info)


class TorchShards(_Sharded, T.IterableDataset):
    worker_info = staticmethod(T.get_worker_info)


@pytest.mark.parametrize("shard", [True, False])
@pytest.mark.parametrize("kwargs", [{"batch_size": 2}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}])
def test_iterable_dataset_with_workers_matches_torch(shard, kwargs):
    e = [plain(b) for b in E.DataLoader(Shards(3, 12, shard), num_workers=2, **kwargs)]
    t = [b.tolist() if isinstance(b, torch.Tensor) else b
         for b in T.DataLoader(TorchShards(3, 12, shard), num_workers=2, **kwargs)]
    e = [b[3] if isinstance(b, tuple) and b[0] == "tensor" else b for b in e]
    assert e == t
    assert shm_files() == []


def test_iterable_dataset_replicas_warn_when_longer_than_len():
    # As torch, the count of batches yielded is checked against the dataset's len().
    loader = E.DataLoader(Shards(0, 3, shard=False), batch_size=1, num_workers=2)
    assert len(loader) == 3
    with pytest.warns(UserWarning, match="For multiprocessing data-loading, this could be caused"):
        assert len(list(loader)) == 6


def test_iterable_dataset_with_persistent_workers():
    loader = E.DataLoader(Shards(0, 10), batch_size=3, num_workers=2, persistent_workers=True)
    first = sorted(x for b in loader for x in b.tolist())
    assert first == list(range(10))
    assert sorted(x for b in loader for x in b.tolist()) == first
    del loader


def test_in_order_false_returns_every_batch():
    loader = E.DataLoader(Slow(), batch_size=5, num_workers=2, in_order=False)
    got = [b.tolist() for b in loader]
    assert sorted(got) == [list(range(i, i + 5)) for i in range(0, 100, 5)]


def test_no_auto_collation_with_workers():
    ds = [np.full(2, i, np.float32) for i in range(5)]
    got = list(E.DataLoader(ds, batch_size=None, num_workers=2))
    assert [g.tolist() for g in got] == [[float(i)] * 2 for i in range(5)]
    assert all(isinstance(g, ember.Tensor) and g.dtype == ember.float32 for g in got)


class NotPicklable(E.Dataset):
    """A dataset that refuses to be pickled: under fork the workers inherit it instead."""

    def __init__(self):
        self.data = np.arange(1000, dtype=np.float64).reshape(100, 10)

    def __reduce__(self):
        raise pickle.PicklingError("this dataset must not be pickled")

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data.__array_interface__["data"][0], self.data[i].sum()


@pytest.mark.skipif(sys.platform != "linux", reason="fork is the default start method on Linux")
def test_fork_inherits_the_dataset_without_copying_it():
    ds = NotPicklable()
    address = ds.data.__array_interface__["data"][0]
    batches = list(E.DataLoader(ds, batch_size=50, num_workers=2,
                                multiprocessing_context="fork"))
    assert all(a == address for b in batches for a in b[0].tolist())
    assert batches[1][1].tolist() == [ds.data[i].sum() for i in range(50, 100)]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_other_start_methods(method):
    ds = E.TensorDataset(ember.arange(30, dtype=ember.float32).reshape(10, 3), ember.arange(10))
    ref = [plain(b) for b in E.DataLoader(ds, batch_size=4)]
    got = [plain(b) for b in E.DataLoader(ds, batch_size=4, num_workers=2,
                                          multiprocessing_context=method)]
    assert got == ref
    assert shm_files() == []


@pytest.mark.timeout(120)
def test_exit_mid_epoch_leaves_nothing_behind():
    program = textwrap.dedent("""
        import os, ember
        from ember.utils.data import DataLoader, TensorDataset
        ds = TensorDataset(ember.ones(64, 8), ember.arange(64))
        loader = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True)
        for i, _ in enumerate(loader):
            if i == 2:
                break
        it2 = iter(DataLoader(ds, batch_size=4, num_workers=2))
        next(it2)
        print(os.getpid())
    """)
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, "-W", "error", "-c", program], capture_output=True,
                          text=True, timeout=100, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "no warning (resource_tracker or other) and no error"
    pid = proc.stdout.strip()
    assert [n for n in os.listdir(_worker.SHM_DIR) if n.startswith(f"ember_dl_{pid}_")] == []
