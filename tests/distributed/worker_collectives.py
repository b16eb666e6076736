"""Collectives checked in every rank against NumPy on what every rank holds (run under mpiexec by
test_collectives.py; any number of ranks)."""

import sys
import warnings

import numpy as np
from mpi_cases import run

import ember
import ember.distributed as dist
from ember.distributed import ReduceOp

DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32}
REDUCE = {
    ReduceOp.SUM: lambda xs: np.sum(xs, axis=0),
    ReduceOp.PRODUCT: lambda xs: np.prod(xs, axis=0),
    ReduceOp.MIN: lambda xs: np.min(xs, axis=0),
    ReduceOp.MAX: lambda xs: np.max(xs, axis=0),
    ReduceOp.BAND: lambda xs: np.bitwise_and.reduce(xs, axis=0),
    ReduceOp.BOR: lambda xs: np.bitwise_or.reduce(xs, axis=0),
    ReduceOp.BXOR: lambda xs: np.bitwise_xor.reduce(xs, axis=0),
}


def rank():
    return dist.get_rank()


def world():
    return dist.get_world_size()


def value(r: int, dtype, shape=(2, 3)):
    """What rank ``r`` contributes: distinct, with negatives, small enough for products."""
    n = int(np.prod(shape))
    a = (np.arange(n) % 5 - 2) * (r + 1) + 3 * r - 1
    return a.reshape(shape).astype(dtype)


def every(dtype, shape=(2, 3)):
    return np.stack([value(r, dtype, shape) for r in range(world())])


def expected(op, dtype, shape=(2, 3)):
    xs = every(dtype, shape)
    if op == ReduceOp.AVG:
        s = xs.sum(axis=0)
        if np.dtype(dtype).kind in "iu":
            return (np.sign(s) * (np.abs(s) // world())).astype(dtype)  # rounded towards zero
        return (s / world()).astype(dtype)
    return REDUCE[op](xs).astype(dtype)


def same(t, a, exact=True):
    assert t.dtype == ember.from_numpy(np.asarray(a)).dtype, (t.dtype, a.dtype)
    got = t.numpy()
    assert got.shape == a.shape, (got.shape, a.shape)
    if exact:
        assert np.array_equal(got, a), (got, a)
    else:
        assert np.allclose(got, a, rtol=1e-6, atol=1e-6), (got, a)


def ops_for(dtype):
    ops = [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]
    if np.dtype(dtype).kind in "iu":
        ops += [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR]
    return ops


def case_state():
    assert dist.is_available() and dist.is_initialized()
    assert 0 <= rank() < world() and world() == dist.get_world_size(dist.group.WORLD)
    assert dist.get_backend() == "mpi" and dist.get_backend(dist.group.WORLD) == "mpi"
    assert dist.group.WORLD is dist.GroupMember.WORLD
    assert dist.get_process_group_ranks(dist.group.WORLD) == list(range(world()))
    try:
        dist.init_process_group("mpi")
    except ValueError as e:
        assert "twice" in str(e)
    else:
        raise AssertionError("a second init_process_group must raise ValueError")


def case_all_reduce():
    for name, dtype in DTYPES.items():
        for op in ops_for(dtype):
            t = ember.from_numpy(value(rank(), dtype).copy())
            assert dist.all_reduce(t, op=op) is None
            same(t, expected(op, dtype), exact=name != "float32" or op != ReduceOp.AVG)


def case_all_reduce_async_and_views():
    for dtype in (np.float32, np.int64):
        # async: the result is there after wait(); a non-contiguous view is written in place
        t = ember.from_numpy(value(rank(), dtype, (3, 2)).copy()).t()
        work = dist.all_reduce(t, op=ReduceOp.MAX, async_op=True)
        assert work.wait() is True and work.is_completed()
        same(t, expected(ReduceOp.MAX, dtype, (3, 2)).T)
        base = ember.zeros(4, 3, dtype=ember.from_numpy(np.zeros(0, dtype)).dtype)
        view = base[1:3]
        view.copy_(ember.from_numpy(value(rank(), dtype)))
        dist.all_reduce(view)
        same(view, expected(ReduceOp.SUM, dtype))
        assert base[0].eq(0).all() and base[3].eq(0).all()
    # a parameter is reduced in place, outside autograd
    p = ember.nn.Parameter(ember.full((3,), float(rank() + 1)))
    dist.all_reduce(p, op=ReduceOp.SUM)
    assert p.requires_grad and p.grad_fn is None
    assert np.allclose(p.detach().numpy(), world() * (world() + 1) / 2)


def case_all_reduce_other_dtypes():
    # bool: SUM is OR, PRODUCT is AND, as in torch
    mine = ember.tensor([rank() == 0, True, False])
    t = mine.clone()
    dist.all_reduce(t)
    assert t.tolist() == [True, True, False]
    t = mine.clone()
    dist.all_reduce(t, op=ReduceOp.PRODUCT)
    assert t.tolist() == [world() == 1, True, False]
    # complex SUM/PRODUCT
    z = ember.tensor([complex(rank() + 1, 1)], dtype=ember.complex64)
    dist.all_reduce(z, op=ReduceOp.PRODUCT)
    assert np.allclose(z.numpy(), np.prod([complex(r + 1, 1) for r in range(world())]))
    try:
        dist.all_reduce(z, op=ReduceOp.MAX)
    except ValueError as e:
        assert "complex" in str(e)
    else:
        raise AssertionError("MAX on complex must raise ValueError")
    # float16 is reduced in float32 and written back
    h = ember.tensor([0.5 * (rank() + 1), -1.0], dtype=ember.float16)
    dist.all_reduce(h, op=ReduceOp.SUM)
    assert h.dtype == ember.float16
    assert np.allclose(h.numpy(), [0.25 * world() * (world() + 1), -world()])
    try:
        dist.all_reduce(ember.ones(2), op=ReduceOp.BAND)
    except RuntimeError as e:
        assert "non-integral" in str(e)
    else:
        raise AssertionError("BAND on floats must raise RuntimeError")
    try:
        dist.all_reduce(ember.ones(2), op="sum")
    except TypeError:
        pass
    else:
        raise AssertionError("an op that is not a ReduceOp must raise TypeError")


def case_broadcast():
    for dtype in (np.float32, np.float64, np.int64):
        for src in range(world()):
            t = ember.from_numpy(value(rank(), dtype).copy())
            dist.broadcast(t, src=src)
            same(t, value(src, dtype))
            t = ember.from_numpy(value(rank(), dtype, (3, 2)).copy()).t()
            dist.broadcast(t, src, async_op=True).wait()
            same(t, value(src, dtype, (3, 2)).T)
    t = ember.zeros(2)
    dist.broadcast(t, group_src=world() - 1)
    try:
        dist.broadcast(ember.zeros(2), src=world())
    except RuntimeError as e:
        assert f"[rank {rank()}]" in str(e) and "invalid root rank" in str(e), e
    else:
        raise AssertionError("a src beyond the world must raise")
    try:
        dist.broadcast([1.0], src=0)
    except TypeError:
        pass
    else:
        raise AssertionError("a list instead of a tensor must raise TypeError")


def case_reduce():
    for dtype in (np.float32, np.int64):
        for op in (ReduceOp.SUM, ReduceOp.MAX, ReduceOp.AVG):
            dst = world() - 1
            t = ember.from_numpy(value(rank(), dtype).copy())
            dist.reduce(t, dst=dst, op=op)
            if rank() == dst:
                same(t, expected(op, dtype), exact=False)
            else:
                same(t, value(rank(), dtype))  # the input of other ranks is left as it was
    t = ember.ones(3)
    dist.reduce(t, 0, async_op=True).wait()
    if rank() == 0:
        same(t, np.full(3, world(), np.float32))


def case_all_gather():
    for dtype in (np.float32, np.float64, np.int64):
        mine = ember.from_numpy(value(rank(), dtype))
        out = [ember.zeros(2, 3, dtype=mine.dtype) for _ in range(world())]
        dist.all_gather(out, mine)
        for r in range(world()):
            same(out[r], value(r, dtype))
        flat = ember.zeros(world() * 2, 3, dtype=mine.dtype)
        dist.all_gather_into_tensor(flat, mine)
        same(flat, every(dtype).reshape(world() * 2, 3))
        stacked = ember.zeros(world(), 2, 3, dtype=mine.dtype)
        dist.all_gather_into_tensor(stacked, mine, async_op=True).wait()
        same(stacked, every(dtype))
    out = [ember.zeros(2, 3) for _ in range(world() + 1)]
    try:
        dist.all_gather(out, ember.ones(2, 3))
    except RuntimeError as e:
        assert f"[rank {rank()}] all_gather" in str(e), e
    else:
        raise AssertionError("a list of the wrong length must raise")
    try:
        dist.all_gather([ember.zeros(2, 3, dtype=ember.float64)] * world(), ember.ones(2, 3))
    except ValueError as e:
        assert "different dtypes" in str(e)
    else:
        raise AssertionError("mixed dtypes must raise ValueError")


def case_reduce_scatter():
    n = world()
    for dtype in (np.float32, np.int64):
        inputs = [ember.from_numpy(value(rank(), dtype) * (k + 1)) for k in range(n)]
        out = ember.zeros(2, 3, dtype=inputs[0].dtype)
        dist.reduce_scatter(out, inputs, op=ReduceOp.SUM)
        same(out, expected(ReduceOp.SUM, dtype) * (rank() + 1))
        big = ember.from_numpy(np.concatenate([value(rank(), dtype) * (k + 1) for k in range(n)]))
        out = ember.zeros(2, 3, dtype=big.dtype)
        dist.reduce_scatter_tensor(out, big, op=ReduceOp.MAX)
        same(out, expected(ReduceOp.MAX, dtype) * (rank() + 1))


def case_gather_scatter():
    for dtype in (np.float32, np.int64):
        mine = ember.from_numpy(value(rank(), dtype))
        dst = world() - 1
        out = [ember.zeros(2, 3, dtype=mine.dtype) for _ in range(world())] \
            if rank() == dst else None
        dist.gather(mine, out, dst=dst)
        if rank() == dst:
            for r in range(world()):
                same(out[r], value(r, dtype))
        pieces = [ember.from_numpy(value(r, dtype) * 10) for r in range(world())] \
            if rank() == 0 else None
        t = ember.zeros(2, 3, dtype=mine.dtype)
        dist.scatter(t, pieces, src=0)
        same(t, value(rank(), dtype) * 10)
    if rank() == 0:
        try:
            dist.gather(ember.ones(2), None, dst=0)
        except ValueError as e:
            assert "gather_list" in str(e)
        else:
            raise AssertionError("gather without gather_list on dst must raise")


def case_all_to_all():
    n = world()
    x = ember.arange(2 * n, dtype=ember.float32) + 100 * rank()
    out = ember.zeros(2 * n)
    dist.all_to_all_single(out, x)
    want = np.concatenate([np.arange(2 * rank(), 2 * rank() + 2) + 100 * r for r in range(n)])
    same(out, want.astype(np.float32))
    # uneven: rank r sends r + 1 + k rows to rank k
    send = [rank() + 1 + k for k in range(n)]
    recv = [r + 1 + rank() for r in range(n)]
    x = ember.full((sum(send), 2), float(rank()))
    out = ember.zeros(sum(recv), 2)
    dist.all_to_all_single(out, x, recv, send)
    want = np.concatenate([np.full((recv[r], 2), float(r)) for r in range(n)]).astype(np.float32)
    same(out, want)
    ins = [ember.full((k + 1,), float(10 * rank() + k)) for k in range(n)]
    outs = [ember.zeros(rank() + 1) for _ in range(n)]
    dist.all_to_all(outs, ins)
    for r in range(n):
        same(outs[r], np.full(rank() + 1, float(10 * r + rank()), np.float32))


def case_objects():
    objs = [None] * world()
    dist.all_gather_object(objs, {"rank": rank(), "name": f"r{rank()}"})
    assert objs == [{"rank": r, "name": f"r{r}"} for r in range(world())]
    lst = [rank(), "x", (rank(),)] if rank() == 0 else [None, None, None]
    dist.broadcast_object_list(lst, src=0)
    assert lst == [0, "x", (0,)]
    gathered = [None] * world() if rank() == 0 else None
    dist.gather_object(("g", rank()), gathered, dst=0)
    if rank() == 0:
        assert gathered == [("g", r) for r in range(world())]
    out = [None]
    dist.scatter_object_list(out, [f"piece {r}" for r in range(world())] if rank() == 0 else None,
                             src=0)
    assert out == [f"piece {rank()}"]


def case_point_to_point():
    n = world()
    if n == 1:
        return
    nxt, prev = (rank() + 1) % n, (rank() - 1) % n
    # a ring with isend/irecv
    out = ember.full((3,), float(rank()))
    got = ember.zeros(3)
    works = [dist.isend(out, nxt), dist.irecv(got, prev)]
    for w in works:
        w.wait()
    same(got, np.full(3, float(prev), np.float32))
    # blocking send/recv with tags, and recv from any source returning the sender
    if rank() == 0:
        for r in range(1, n):
            t = ember.zeros(2, dtype=ember.int64)
            sender = dist.recv(t, tag=7)
            same(t, np.array([sender, 7 * sender]))
    else:
        dist.send(ember.tensor([rank(), 7 * rank()]), dst=0, tag=7)
    # batch_isend_irecv
    got = ember.zeros(2, dtype=ember.float64)
    ops = [dist.P2POp(dist.isend, ember.full((2,), rank() + 0.5, dtype=ember.float64), nxt),
           dist.P2POp(dist.irecv, got, prev)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    same(got, np.full(2, prev + 0.5))
    try:
        dist.send(ember.ones(1), dst=rank())
    except ValueError as e:
        assert "should not be the same" in str(e)
    else:
        raise AssertionError("sending to oneself must raise ValueError")


def case_groups():
    n = world()
    if n == 1:
        return
    g = dist.new_group([0, n - 1])  # every rank calls it
    inside = rank() in (0, n - 1)
    if not inside:
        assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            assert dist.all_reduce(ember.ones(1), group=g) is None
        assert "does not belong to the given group" in str(w[0].message)
    else:
        assert dist.get_world_size(g) == 2
        assert dist.get_rank(g) == (0 if rank() == 0 else 1)
        assert dist.get_process_group_ranks(g) == [0, n - 1]
        t = ember.tensor([float(rank())])
        dist.all_reduce(t, group=g)
        same(t, np.array([n - 1.0], np.float32))
        t = ember.tensor([float(rank())])
        dist.broadcast(t, src=n - 1, group=g)  # src is a global rank
        same(t, np.array([n - 1.0], np.float32))
        assert dist.get_global_rank(g, 1) == n - 1 and dist.get_group_rank(g, n - 1) == 1
        objs = [None, None]
        dist.all_gather_object(objs, rank(), group=g)
        assert objs == [0, n - 1]
        # group_src is a group rank; the error on a length mismatch names the sender's global rank
        lst = ["a", "b"] if rank() == n - 1 else [None]
        try:
            dist.broadcast_object_list(lst, group=g, group_src=1)
        except RuntimeError as e:
            assert rank() == 0 and f"rank {n - 1} sent 2 objects" in str(e), str(e)
        else:
            assert rank() == n - 1, "a receiving list of the wrong length must raise"
        dist.destroy_process_group(g)


def case_barrier():
    dist.barrier()
    dist.barrier(async_op=True).wait()
    dist.monitored_barrier()


def case_sampler():
    from ember.utils.data import DistributedSampler

    for n_items, shuffle, drop_last in [(10, False, False), (11, True, False), (11, True, True),
                                        (7, False, True)]:
        sampler = DistributedSampler(range(n_items), shuffle=shuffle, drop_last=drop_last, seed=3)
        assert sampler.num_replicas == world() and sampler.rank == rank()
        mine = list(sampler)
        shards = [None] * world()
        dist.all_gather_object(shards, mine)
        assert all(len(s) == len(mine) for s in shards)
        if drop_last or n_items % world() == 0:  # no padding: shards are disjoint
            flat = [i for s in shards for i in s]
            assert len(set(flat)) == len(flat)
        if not drop_last:  # every item is seen by some rank
            assert set(i for s in shards for i in s) == set(range(n_items))
        sampler.set_epoch(1)
        again = [None] * world()
        dist.all_gather_object(again, list(sampler))
        if shuffle and world() > 1:
            assert again != shards  # a new order in a new epoch


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}

if __name__ == "__main__":
    run(CASES, sys.argv[1:])
