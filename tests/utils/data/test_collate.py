"""default_collate / default_convert against torch's: structure, container types, dtypes, values
and errors."""

import collections

import numpy as np
import pytest
import torch
import torch.utils.data as T
from data_check import assert_same_batch
from torch.utils.data._utils.collate import collate as torch_collate

import ember
import ember.utils.data as E
from ember.utils.data._collate import collate, default_collate_fn_map

Point = collections.namedtuple("Point", ["x", "y"])

BATCHES = {
    "ints": lambda lib: [0, 5, -3],
    "floats": lambda lib: [0.5, 1.0, -2.25],
    "bools": lambda lib: [True, False, True],
    "int_then_bool": lambda lib: [1, True],
    "numpy_scalars_f32": lambda lib: [np.float32(1.5), np.float32(2)],
    "numpy_scalars_i16": lambda lib: [np.int16(1), np.int16(-7)],
    "numpy_bools": lambda lib: [np.bool_(True), np.bool_(False)],
    "numpy_float64": lambda lib: [np.float64(3.0), np.float64(4.5)],
    "numpy_arrays": lambda lib: [np.arange(6, dtype=np.float32).reshape(2, 3),
                                 np.ones((2, 3), np.float32)],
    "numpy_int_arrays": lambda lib: [np.arange(3), np.arange(3, 6)],
    "numpy_uint8": lambda lib: [np.zeros((1, 2, 2), np.uint8), np.full((1, 2, 2), 255, np.uint8)],
    "tensors": lambda lib: [lib.arange(4, dtype=lib.float32), lib.ones(4)],
    "int_tensors": lambda lib: [lib.tensor([[1, 2]]), lib.tensor([[3, 4]])],
    "scalar_tensors": lambda lib: [lib.tensor(1.5), lib.tensor(2.5)],
    "strings": lambda lib: ["a", "bc"],
    "bytes": lambda lib: [b"a", b"bc"],
    "tuples": lambda lib: [(lib.zeros(2), 1, "a"), (lib.ones(2), 2, "b")],
    "lists": lambda lib: [[1, 2.0], [3, 4.0]],
    "dicts": lambda lib: [{"img": lib.zeros(2, 2), "label": 3, "name": "x"},
                          {"img": lib.ones(2, 2), "label": 4, "name": "y"}],
    "ordered_dicts": lambda lib: [collections.OrderedDict(b=1, a=2.0),
                                  collections.OrderedDict(b=3, a=4.0)],
    "namedtuples": lambda lib: [Point(lib.zeros(1), 1), Point(lib.ones(1), 2)],
    "nested": lambda lib: [{"pair": (np.float32(1), [lib.zeros(3), {"k": 1}])},
                           {"pair": (np.float32(2), [lib.ones(3), {"k": 2}])}],
    "mnist_like": lambda lib: [(lib.zeros(1, 4, 4), 7), (lib.ones(1, 4, 4), 2)],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_collate_matches_torch(name):
    make = BATCHES[name]
    assert_same_batch(E.default_collate(make(ember)), T.default_collate(make(torch)))


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_convert_matches_torch(name):
    make = BATCHES[name]
    assert_same_batch(E.default_convert(make(ember)), T.default_convert(make(torch)))


@pytest.mark.parametrize("sample", [np.arange(4), np.float32(3), np.array(["a", "b"]),
                                    np.array([object()]), 3, "s", (np.arange(2), 1),
                                    Point(np.int64(1), "y"), {"a": np.ones(2)}, [np.zeros(1)]])
def test_default_convert_samples(sample):
    e, t = E.default_convert(sample), T.default_convert(sample)
    if isinstance(t, np.ndarray) and t.dtype == object:
        assert e is sample
    else:
        assert_same_batch(e, t)


def test_collated_tensor_dtypes():
    x, y, z = E.default_collate([(1, 0.5, True), (2, 1.5, False)])
    assert (x.dtype, y.dtype, z.dtype) == (ember.int64, ember.float64, ember.bool)


def test_numpy_array_collate_shares_nothing_with_the_samples():
    arrays = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    batch = E.default_collate(arrays)
    batch[0, 0] = 5
    assert arrays[0][0] == 0


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.type, str(info.value)


@pytest.mark.parametrize("batch", [
    [object(), object()],
    [None, None],
    [np.array(["a"]), np.array(["b"])],
    [np.array([object()]), np.array([object()])],
    [[1, 2], [3]],
    [(1, 2), (3, 4, 5)],
])
def test_default_collate_errors_match_torch(batch):
    assert _error(lambda: E.default_collate(batch)) == _error(lambda: T.default_collate(batch))


def test_default_collate_unsupported_type_message():
    with pytest.raises(TypeError, match=r"default_collate: batch must contain tensors, numpy "
                                        r"arrays, numbers, dicts or lists; found <class 'object'>"):
        E.default_collate([object()])


def test_collate_tensors_of_different_shapes():
    e = _error(lambda: E.default_collate([ember.zeros(2), ember.zeros(3)]))
    t = _error(lambda: T.default_collate([torch.zeros(2), torch.zeros(3)]))
    assert e[0] is t[0] is RuntimeError
    assert e[1].startswith("stack expects each tensor to be equal size")


def test_collate_with_custom_map():
    def count_tensors(batch, *, collate_fn_map):
        return len(batch)

    def sample(lib):
        return [(lib.zeros(2), 1), (lib.ones(2), 2)]

    e = collate(sample(ember), collate_fn_map={ember.Tensor: count_tensors, int: lambda b, **k: b})
    t = torch_collate(sample(torch), collate_fn_map={torch.Tensor: count_tensors,
                                                     int: lambda b, **k: b})
    assert e == t == [2, (1, 2)]
    assert default_collate_fn_map[ember.Tensor].__name__ == "collate_tensor_fn"


def test_tensor_subclass_collates_through_isinstance():
    p = [ember.nn.Parameter(ember.ones(2)), ember.nn.Parameter(ember.zeros(2))]
    out = E.default_collate(p)
    assert out.shape == (2, 2) and out.requires_grad
