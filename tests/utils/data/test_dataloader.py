"""DataLoader in the main process against torch's: batches, lengths, argument errors, warnings.
Worker processes are tested in test_workers.py."""

import os
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as T
from data_check import assert_same_batch

import ember
import ember.utils.data as E


def outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - comparing what each library raises
        return (type(e), str(e))


class Samples:
    """A map-style dataset of (image, label, name, numpy features) tuples, for either library."""

    def __init__(self, lib, n=10):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        img = self.lib.arange(4, dtype=self.lib.float32).reshape(1, 2, 2) + i
        return img, i % 3, f"s{i}", np.full(2, i, np.int32)


def _lib_module(lib):
    return E if lib is ember else T


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 3},
    {"batch_size": 3, "drop_last": True},
    {"batch_size": 10},
    {"batch_size": 4, "sampler": [9, 0, 4, 4, 2]},
    {"batch_sampler": [[1, 2], [0], [9, 8, 7]]},
    {"batch_size": None},
    {"batch_size": None, "sampler": [3, 1]},
    {"batch_size": 2, "collate_fn": lambda b: [s[1] for s in b]},
])
def test_batches_match_torch(kwargs):
    def run(lib):
        loader = _lib_module(lib).DataLoader(Samples(lib), **kwargs)
        return len(loader), list(loader)

    (n_e, e), (n_t, t) = run(ember), run(torch)
    assert n_e == n_t and len(e) == len(t)
    for a, b in zip(e, t):
        assert_same_batch(a, b)


def _stream(m, n, with_len=True):
    class S(m.IterableDataset):
        def __iter__(self):
            return iter(range(n))

    if with_len:
        S.__len__ = lambda self: n
    return S()


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}])
def test_iterable_dataset_matches_torch(kwargs):
    e_loader = E.DataLoader(_stream(E, 7), **kwargs)
    t_loader = T.DataLoader(_stream(T, 7), **kwargs)
    assert len(e_loader) == len(t_loader)
    e, t = list(e_loader), list(t_loader)
    assert len(e) == len(t)
    for a, b in zip(e, t):
        assert_same_batch(a, b)


def test_iterable_dataset_longer_than_its_len_warns():
    class Liar(E.IterableDataset):
        def __iter__(self):
            return iter(range(5))

        def __len__(self):
            return 3

    loader = E.DataLoader(Liar(), batch_size=1)
    assert len(loader) == 3
    with pytest.warns(UserWarning, match=r"Length of IterableDataset .* was reported to be 3"):
        assert len(list(loader)) == 5


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                                      (0, 2, False), (5, 7, True)])
def test_len(n, batch_size, drop_last):
    e = E.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    t = T.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(e) == len(t) == len(list(e))


CONFLICTS = [
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"shuffle": True, "sampler": [0, 1]},
    {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "shuffle": True},
    {"batch_sampler": [[0]], "sampler": [0]},
    {"batch_sampler": [[0]], "drop_last": True},
    {"batch_size": None, "drop_last": True},
    {"multiprocessing_context": "fork"},
    {"num_workers": 1, "multiprocessing_context": "nonsense"},
    {"num_workers": 1, "multiprocessing_context": 3},
]


@pytest.mark.parametrize("kwargs", CONFLICTS)
def test_argument_errors_match_torch(kwargs):
    e = outcome(lambda: E.DataLoader(range(4), **kwargs))
    t = outcome(lambda: T.DataLoader(range(4), **kwargs))
    assert isinstance(e, tuple) and e == t


def test_sampler_shuffle_message():
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        E.DataLoader(range(4), shuffle=True, sampler=E.SequentialSampler(range(4)))


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_dataset_argument_errors(kwargs):
    e = outcome(lambda: E.DataLoader(_stream(E, 3), **kwargs))
    t = outcome(lambda: T.DataLoader(_stream(T, 3), **kwargs))
    assert isinstance(e, tuple) and e[0] is t[0] is ValueError
    assert e[1].split(", but got")[0] == t[1].split(", but got")[0]


@pytest.mark.parametrize("attr", ["batch_size", "batch_sampler", "sampler", "drop_last",
                                  "dataset", "persistent_workers"])
def test_frozen_attributes(attr):
    e = outcome(lambda: setattr(E.DataLoader(range(3)), attr, None))
    t = outcome(lambda: setattr(T.DataLoader(range(3)), attr, None))
    assert e == t and e[0] is ValueError
    loader = E.DataLoader(range(3))
    loader.num_workers = 0  # others can change
    loader.collate_fn = E.default_convert


def test_defaults():
    loader = E.DataLoader(range(5))
    assert (loader.batch_size, loader.num_workers, loader.drop_last, loader.timeout,
            loader.prefetch_factor, loader.persistent_workers, loader.in_order,
            loader.pin_memory, loader.generator) == (1, 0, False, 0, None, False, True, False,
                                                     None)
    assert isinstance(loader.sampler, E.SequentialSampler)
    assert isinstance(loader.batch_sampler, E.BatchSampler)
    assert loader.collate_fn is E.default_collate
    assert E.DataLoader(range(5), batch_size=None).collate_fn is E.default_convert
    assert isinstance(E.DataLoader(range(5), shuffle=True).sampler, E.RandomSampler)
    assert E.DataLoader(range(5), num_workers=1).prefetch_factor == 2
    assert E.DataLoader(range(5), num_workers=1, multiprocessing_context="spawn") \
        .multiprocessing_context.get_start_method() == "spawn"


def test_shuffle_with_generator():
    def order(seed):
        g = ember.Generator().manual_seed(seed)
        return [int(x) for x in E.DataLoader(range(40), batch_size=5, shuffle=True, generator=g)
                for x in x]

    a = order(3)
    assert sorted(a) == list(range(40)) and a != list(range(40))
    assert order(3) == a and order(4) != a
    loader = E.DataLoader(range(40), batch_size=40, shuffle=True)
    assert list(loader)[0].tolist() != list(loader)[0].tolist(), "a new order each epoch"


def test_shuffle_without_generator_follows_manual_seed():
    loader = E.DataLoader(range(30), batch_size=30, shuffle=True)
    ember.manual_seed(11)
    a = next(iter(loader)).tolist()
    ember.manual_seed(11)
    assert next(iter(loader)).tolist() == a


def test_timeout_needs_workers():
    e = outcome(lambda: iter(E.DataLoader(range(3), timeout=2)))
    t = outcome(lambda: iter(T.DataLoader(range(3), timeout=2)))
    assert e == t and e[0] is AssertionError


def test_pin_memory_warns_and_returns_the_batches():
    loader = E.DataLoader(range(4), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator"):
        batches = [b.tolist() for b in loader]
    assert batches == [[0, 1], [2, 3]]


def test_too_many_workers_warns():
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with pytest.warns(UserWarning, match=f"This DataLoader will create {n + 1} worker processes"):
        E.DataLoader(range(3), num_workers=n + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E.DataLoader(range(3), num_workers=1)


def test_getitems_is_used_for_batches():
    class Batched(E.Dataset):
        calls = []

        def __len__(self):
            return 5

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should be used")

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [float(i) for i in indices]

    batches = [b.tolist() for b in E.DataLoader(Batched(), batch_size=2)]
    assert batches == [[0.0, 1.0], [2.0, 3.0], [4.0]] and Batched.calls == [[0, 1], [2, 3], [4]]


def test_tensor_dataset_loader_matches_torch():
    x = np.random.default_rng(0).standard_normal((11, 3)).astype(np.float32)
    y = np.arange(11)
    e = list(E.DataLoader(E.TensorDataset(ember.from_numpy(x), ember.from_numpy(y)),
                          batch_size=4))
    t = list(T.DataLoader(T.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                          batch_size=4))
    for a, b in zip(e, t):
        assert_same_batch(a, b)


def test_iterator_len_and_pickling():
    it = iter(E.DataLoader(range(7), batch_size=2))
    assert len(it) == 4 and iter(it) is it
    with pytest.raises(NotImplementedError):
        it.__getstate__()
