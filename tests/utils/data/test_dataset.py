"""Datasets and random_split against torch.utils.data: samples, lengths, errors and warnings."""

import dataclasses
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as T
from data_check import assert_same_batch

import ember
import ember.utils.data as E


def both(fn):
    """``fn(lib, module)`` run with ember and with torch."""
    return fn(ember, E), fn(torch, T)


def outcome(fn):
    """What ``fn()`` gives: its value, or the exception type and message it raises."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the point is to compare what each library raises
        return (type(e), str(e))


def test_tensor_dataset():
    def make(lib, m):
        x = lib.arange(12, dtype=lib.float32).reshape(6, 2)
        y = lib.arange(6)
        ds = m.TensorDataset(x, y)
        return len(ds), ds[0], ds[-1], ds[1:3], ds[[0, 5]], ds.tensors[1]

    e, t = both(make)
    assert e[0] == t[0]
    for a, b in zip(e[1:], t[1:]):
        assert_same_batch(a, b)


def test_tensor_dataset_size_mismatch():
    e, t = both(lambda lib, m: outcome(lambda: m.TensorDataset(lib.zeros(3), lib.zeros(4))))
    assert e == t and e[0] is AssertionError and e[1] == "Size mismatch between tensors"


def test_dataset_base_and_add():
    class Numbers(E.Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return i * 10

    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement"):
        E.Dataset()[0]
    both_ = Numbers(2) + Numbers(3)
    assert isinstance(both_, E.ConcatDataset)
    assert [both_[i] for i in range(5)] == [0, 10, 0, 10, 20]
    # Datasets are generic, as torch's: Dataset[int] is a valid base class.
    assert E.Dataset[int] is not None and E.IterableDataset[int] is not None


class _Range(E.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_chain_dataset():
    chain = _Range(2) + _Range(3)
    assert isinstance(chain, E.ChainDataset)
    assert list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    bad = E.ChainDataset([_Range(2), [1, 2]])
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(bad)
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        len(bad)


@pytest.mark.parametrize("idx", [0, 2, 3, 6, 8, -1, -9, -10, 9])
def test_concat_dataset_indexing(idx):
    e, t = both(lambda lib, m: outcome(lambda: m.ConcatDataset(
        [list(range(3)), list(range(10, 14)), [], list(range(20, 22))])[idx]))
    if isinstance(t, tuple):
        assert e[0] is t[0]  # IndexError beyond the end, ValueError below -len
    else:
        assert e == t


def test_concat_dataset_attributes_and_errors():
    e, t = both(lambda lib, m: m.ConcatDataset([[1, 2], [3], [4, 5, 6]]))
    assert e.cumulative_sizes == t.cumulative_sizes == [2, 3, 6] and len(e) == len(t)
    with pytest.warns(FutureWarning, match="renamed to `cumulative_sizes`"):
        assert e.cummulative_sizes == [2, 3, 6]
    e, t = both(lambda lib, m: outcome(lambda: m.ConcatDataset([])))
    assert e == t
    e = outcome(lambda: E.ConcatDataset([[1], _Range(2)]))
    assert e == (AssertionError, "ConcatDataset does not support IterableDataset")


def test_subset():
    def make(lib, m):
        base = m.TensorDataset(lib.arange(10) * 3)
        sub = m.Subset(base, [7, 2, 5])
        return len(sub), sub[0], sub[-1], sub.__getitems__([2, 0]), sub[[1, 2]]

    e, t = both(make)
    assert e[0] == t[0]
    for a, b in zip(e[1:], t[1:]):
        assert_same_batch(a, b)


def test_subset_subclass_must_override_getitems():
    class Doubled(E.Subset):
        def __getitem__(self, i):
            return 2 * super().__getitem__(i)

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Doubled([1, 2, 3], [0])

    class Fine(Doubled):
        def __getitems__(self, indices):
            return [self[i] for i in indices]

    assert Fine([1, 2, 3], [2, 0]).__getitems__([0, 1]) == [6, 2]


class _Batched(E.Dataset):
    """A dataset with a batched fetch, to check StackDataset uses it."""

    def __init__(self, n, short=False):
        self.n, self.short = n, short

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return -i

    def __getitems__(self, indices):
        return [100 + i for i in indices][:len(indices) - self.short]


def test_stack_dataset():
    def make(lib, m):
        a = m.TensorDataset(lib.arange(4))
        b = list("abcd")
        tup = m.StackDataset(a, b)
        named = m.StackDataset(x=a, y=b)
        return (len(tup), tup[1], named[2], tup.__getitems__([0, 3]), named.__getitems__([1]))

    e, t = both(make)
    assert e[0] == t[0]
    for a, b in zip(e[1:], t[1:]):
        assert_same_batch(a, b)
    ds = E.StackDataset(_Batched(3), [7, 8, 9])
    assert ds.__getitems__([0, 2]) == [(100, 7), (102, 9)] and ds[1] == (-1, 8)
    with pytest.raises(ValueError, match="output size mismatch. Expected 2, got 1"):
        E.StackDataset(_Batched(3, short=True), [7, 8, 9]).__getitems__([0, 1])


@pytest.mark.parametrize("args, kwargs", [((), {}), (([1], [2, 3]), {}), (([1],), {"y": [2]}),
                                          ((), {"x": [1], "y": [2, 3]})])
def test_stack_dataset_errors(args, kwargs):
    e = outcome(lambda: E.StackDataset(*args, **kwargs))
    t = outcome(lambda: T.StackDataset(*args, **kwargs))
    assert e == t and e[0] is ValueError


@pytest.mark.parametrize("n", [0, 1, 7, 10, 11, 99, 100])
@pytest.mark.parametrize("fractions", [[0.5, 0.5], [0.3, 0.3, 0.4], [0.1, 0.2, 0.7],
                                       [1 / 3, 1 / 3, 1 / 3], [0.9, 0.1], [1.0]])
def test_random_split_fraction_sizes(n, fractions):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-length splits warn (checked below)
        e = [len(s) for s in E.random_split(range(n), fractions)]
        t = [len(s) for s in T.random_split(range(n), fractions)]
    assert e == t


def test_random_split_contents_and_generator():
    parts = E.random_split(range(30), [10, 5, 15], generator=ember.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [10, 5, 15]
    items = [x for p in parts for x in p]
    assert sorted(items) == list(range(30)) and items != list(range(30))
    again = E.random_split(range(30), [10, 5, 15], generator=ember.Generator().manual_seed(1))
    assert [list(p) for p in again] == [list(p) for p in parts]
    other = E.random_split(range(30), [10, 5, 15], generator=ember.Generator().manual_seed(2))
    assert [list(p) for p in other] != [list(p) for p in parts]
    # Without a generator: ember's default generator, so manual_seed makes it reproducible.
    ember.manual_seed(5)
    first = [list(p) for p in E.random_split(range(8), [0.5, 0.5])]
    ember.manual_seed(5)
    assert [list(p) for p in E.random_split(range(8), [0.5, 0.5])] == first
    assert all(isinstance(p, E.Subset) for p in parts)


@pytest.mark.parametrize("lengths", [[3, 3], [5, 6], [1.5, -0.5], [0.5, 0.6]])
def test_random_split_errors(lengths):
    e = outcome(lambda: E.random_split(range(5), lengths))
    t = outcome(lambda: T.random_split(range(5), lengths))
    assert e == t and e[0] is ValueError


def test_random_split_zero_length_warns():
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        parts = E.random_split(range(1), [0.5, 0.5])
    assert [len(p) for p in parts] == [1, 0]


def test_worker_info_is_frozen():
    info = E.WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.id = 2
    assert E.get_worker_info() is None


def test_numpy_dataset_sample():
    data = np.arange(6, dtype=np.float32).reshape(3, 2)
    ds = E.Subset(data, [2, 0])
    np.testing.assert_array_equal(ds[0], data[2])
