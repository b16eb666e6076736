"""Samplers against torch.utils.data: exact orders where they are deterministic, the properties of
random orders (ember's random streams are not torch's), lengths and errors."""

import pytest
import torch.utils.data as T

import ember
import ember.utils.data as E


def outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - comparing what each library raises
        return (type(e), str(e))


def test_sequential_sampler():
    assert list(E.SequentialSampler(range(5))) == list(T.SequentialSampler(range(5)))
    assert len(E.SequentialSampler([1, 2, 3])) == 3
    assert list(E.SequentialSampler([])) == []


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11])
@pytest.mark.parametrize("batch_size", [1, 3, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler(n, batch_size, drop_last):
    e = E.BatchSampler(E.SequentialSampler(range(n)), batch_size, drop_last)
    t = T.BatchSampler(T.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(e) == list(t) and len(e) == len(t)


@pytest.mark.parametrize("batch_size, drop_last", [(0, False), (-1, False), (True, False),
                                                   (1.5, False), (2, 1), (2, None)])
def test_batch_sampler_errors(batch_size, drop_last):
    e = outcome(lambda: E.BatchSampler(range(4), batch_size, drop_last))
    t = outcome(lambda: T.BatchSampler(range(4), batch_size, drop_last))
    assert e == t and e[0] is ValueError


def test_batch_sampler_over_any_iterable():
    assert list(E.BatchSampler(iter("abcde"), 2, False)) == [["a", "b"], ["c", "d"], ["e"]]


def test_random_sampler_permutation_and_generator():
    g = ember.Generator().manual_seed(7)
    s = E.RandomSampler(range(50), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != second, "each epoch draws a new order"
    g.manual_seed(7)
    assert list(s) == first, "the same generator seed gives the same order"
    assert len(s) == 50


def test_random_sampler_draws_its_seed_from_the_default_generator():
    s = E.RandomSampler(range(20))
    ember.manual_seed(3)
    first = list(s)
    after_one_epoch = ember.get_rng_state()
    ember.manual_seed(3)
    assert list(s) == first
    ember.manual_seed(3)
    ember.empty((), dtype=ember.int64).random_()  # exactly one draw per epoch, as torch
    assert ember.equal(ember.get_rng_state(), after_one_epoch)


@pytest.mark.parametrize("num_samples", [1, 31, 32, 70])
def test_random_sampler_with_replacement(num_samples):
    s = E.RandomSampler(range(5), replacement=True, num_samples=num_samples,
                        generator=ember.Generator().manual_seed(0))
    drawn = list(s)
    assert len(drawn) == len(s) == num_samples and set(drawn) <= set(range(5))
    if num_samples == 70:
        assert set(drawn) == set(range(5))


def test_random_sampler_more_samples_than_data():
    drawn = list(E.RandomSampler(range(4), num_samples=10))
    assert len(drawn) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]  # whole permutations first
    assert len(set(drawn[8:])) == 2


@pytest.mark.parametrize("kwargs", [{"replacement": 1}, {"replacement": None},
                                    {"num_samples": 0}, {"num_samples": 1.5},
                                    {"num_samples": -3}])
def test_random_sampler_errors(kwargs):
    e = outcome(lambda: E.RandomSampler(range(3), **kwargs))
    t = outcome(lambda: T.RandomSampler(range(3), **kwargs))
    assert e == t and e[0] in (TypeError, ValueError)


def test_random_sampler_empty_dataset():
    e = outcome(lambda: E.RandomSampler([]))
    t = outcome(lambda: T.RandomSampler([]))
    assert e == t


def test_subset_random_sampler():
    idx = [3, 9, 4, 20, 11]
    s = E.SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(1))
    a = list(s)
    assert sorted(a) == sorted(idx) and len(s) == 5
    s.generator.manual_seed(1)
    assert list(s) == a


def test_weighted_random_sampler():
    weights = [0.0, 1.0, 3.0, 0.0, 2.0]
    s = E.WeightedRandomSampler(weights, 200, generator=ember.Generator().manual_seed(0))
    drawn = list(s)
    assert len(drawn) == len(s) == 200 and set(drawn) == {1, 2, 4}
    assert drawn.count(2) > drawn.count(1)
    s.generator.manual_seed(0)
    assert list(s) == drawn
    no_repl = list(E.WeightedRandomSampler([1, 2, 3, 4], 4, replacement=False))
    assert sorted(no_repl) == [0, 1, 2, 3]
    assert s.weights.dtype == ember.float64


@pytest.mark.parametrize("args", [([1.0, 2.0], 0), ([1.0, 2.0], True), ([1.0, 2.0], 2.0),
                                  ([[1.0, 2.0]], 2), ([1.0, 2.0], 2, 1)])
def test_weighted_random_sampler_errors(args):
    e = outcome(lambda: E.WeightedRandomSampler(*args))
    t = outcome(lambda: T.WeightedRandomSampler(*args))
    assert e == t and e[0] is ValueError


def test_weighted_random_sampler_too_many_without_replacement():
    e = outcome(lambda: list(E.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)))
    t = outcome(lambda: list(T.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)))
    assert e[0] is t[0] is RuntimeError


def test_sampler_base():
    with pytest.raises(NotImplementedError):
        iter(E.Sampler())
    assert E.Sampler[int] is not None


@pytest.mark.parametrize("n", [1, 5, 10, 11, 13])
@pytest.mark.parametrize("replicas", [1, 3, 4, 12])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_unshuffled_matches_torch(n, replicas, drop_last):
    for rank in range(replicas):
        e = outcome(lambda: E.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                                 drop_last=drop_last))
        t = outcome(lambda: T.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                                 drop_last=drop_last))
        if isinstance(t, tuple):
            assert e == t
            continue
        assert (list(e), len(e), e.total_size) == (list(t), len(t), t.total_size)


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (7, 2, False),
                                                    (2, 5, False)])
def test_distributed_sampler_shuffled(n, replicas, drop_last):
    def shard(rank, epoch, seed=0):
        s = E.DistributedSampler(range(n), replicas, rank, seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        return list(s)

    for epoch in (0, 1):
        perm = ember.randperm(n, generator=ember.Generator().manual_seed(epoch)).tolist()
        for rank in range(replicas):
            # torch's padding and striding, applied to ember's permutation for seed + epoch.
            positions = list(T.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                                  drop_last=drop_last))
            assert shard(rank, epoch) == [perm[p] for p in positions]
    if n > 2:
        assert shard(0, 0) != shard(0, 1), "set_epoch changes the order"
        assert shard(0, 0, seed=5) != shard(0, 0)


@pytest.mark.parametrize("rank", [3, -1])
def test_distributed_sampler_bad_rank(rank):
    e = outcome(lambda: E.DistributedSampler(range(5), num_replicas=3, rank=rank))
    t = outcome(lambda: T.DistributedSampler(range(5), num_replicas=3, rank=rank))
    assert e == t and e[0] is ValueError


def test_distributed_sampler_needs_a_process_group():
    # Without num_replicas/rank they come from the default process group, which is not set up.
    with pytest.raises((RuntimeError, ValueError)):
        E.DistributedSampler(range(5))
