"""DistributedDataParallel checked in every rank against one process training on the whole batch
(run under mpiexec by test_ddp.py; any number of ranks). Every rank builds the same data, takes
its own slice, and compares with a local replica trained on all of it."""

import copy
import sys

import numpy as np
from mpi_cases import run

import ember
import ember.distributed as dist
import ember.nn as nn
import ember.nn.functional as F
from ember.nn.parallel import DistributedDataParallel as DDP

B = 4  # samples per rank


def rank():
    return dist.get_rank()


def world():
    return dist.get_world_size()


class Net(nn.Module):
    """A small conv net shaped like the seed 000 MNIST Net (no dropout: deterministic)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = ember.flatten(x, 1)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def data(step: int, dtype=ember.float64):
    """The whole batch of a step (every rank makes the same) and this rank's slice of it."""
    g = ember.Generator().manual_seed(1000 + step)
    x = ember.randn(world() * B, 1, 8, 8, generator=g, dtype=dtype)
    y = ember.randint(0, 10, (world() * B,), generator=g)
    mine = slice(rank() * B, (rank() + 1) * B)
    return (x, y), (x[mine], y[mine])


def grads(model):
    return [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]


def flat_params(model):
    return np.concatenate([p.detach().numpy().reshape(-1) for p in model.parameters()])


def assert_same_everywhere(arr):
    everyone = [None] * world()
    dist.all_gather_object(everyone, arr)
    for other in everyone:
        assert np.array_equal(other, arr), "ranks differ"


def make(seed_by_rank=False, **kwargs):
    ember.manual_seed(7 + (rank() if seed_by_rank else 0))
    model = Net().double()
    ember.manual_seed(7)
    reference = Net().double()  # rank 0's initial parameters
    return DDP(model, **kwargs), reference


def case_broadcast_at_construction():
    ddp, reference = make(seed_by_rank=True)
    assert np.array_equal(flat_params(ddp.module), flat_params(reference))


def case_gradients_equal_single_process():
    for kwargs in ({}, {"bucket_cap_mb": 0.001}, {"gradient_as_bucket_view": True}):
        ddp, reference = make(**kwargs)
        (x, y), (xr, yr) = data(0)
        F.nll_loss(ddp(xr), yr).backward()
        F.nll_loss(reference(x), y).backward()
        for got, want in zip(grads(ddp), grads(reference)):
            assert np.allclose(got, want, rtol=1e-10, atol=1e-12), (kwargs, abs(got - want).max())
        assert_same_everywhere(np.concatenate([g.reshape(-1) for g in grads(ddp)]))


def case_buckets():
    ddp, _ = make(bucket_cap_mb=0.001)
    assert len(ddp.reducer.buckets) > 2  # the small cap splits the parameters
    members = sorted(i for b in ddp.reducer.buckets for i in b.members)
    assert members == list(range(len(list(ddp.parameters()))))
    ddp, _ = make()
    assert len(ddp.reducer.buckets) == 1  # 25 MiB holds this small net


def case_bucket_view():
    ddp, _ = make(gradient_as_bucket_view=True)
    (_, _), (xr, yr) = data(0)
    F.nll_loss(ddp(xr), yr).backward()
    bucket = ddp.reducer.buckets[0].buffer
    for p in ddp.parameters():
        assert np.shares_memory(p.grad.numpy(), bucket)


def case_steps_identical_across_ranks():
    for opt_name in ("SGD", "Adam"):
        ddp, reference = make(seed_by_rank=True)
        make_opt = {"SGD": lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9),
                    "Adam": lambda ps: ember.optim.Adam(ps, lr=0.01)}[opt_name]
        opt, ref_opt = make_opt(ddp.parameters()), make_opt(reference.parameters())
        for step in range(4):
            (x, y), (xr, yr) = data(step)
            opt.zero_grad()
            F.nll_loss(ddp(xr), yr).backward()
            opt.step()
            ref_opt.zero_grad()
            F.nll_loss(reference(x), y).backward()
            ref_opt.step()
        mine = flat_params(ddp.module)
        assert_same_everywhere(mine)  # bitwise: every rank took the same steps
        assert np.allclose(mine, flat_params(reference), rtol=1e-9, atol=1e-11), opt_name


def case_no_sync_accumulation():
    ddp, reference = make()
    batches = [data(step) for step in range(3)]
    with ddp.no_sync():
        for _, (xr, yr) in batches[:2]:
            F.nll_loss(ddp(xr), yr).backward()
    local = np.concatenate([g.reshape(-1) for g in grads(ddp)])
    everyone = [None] * world()
    dist.all_gather_object(everyone, local)
    if world() > 1:
        assert not np.array_equal(everyone[0], everyone[1])  # not synchronized yet
    (_, (xr, yr)) = batches[2]
    F.nll_loss(ddp(xr), yr).backward()  # synchronizes the accumulated gradients
    for (x, y), _ in batches:
        F.nll_loss(reference(x), y).backward()
    for got, want in zip(grads(ddp), grads(reference)):
        assert np.allclose(got, want, rtol=1e-10, atol=1e-12)
    assert_same_everywhere(np.concatenate([g.reshape(-1) for g in grads(ddp)]))


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.a = nn.Linear(4, 1)
        self.b = nn.Linear(4, 1)
        self.never = nn.Linear(4, 1)

    def forward(self, x, use_b):
        h = self.body(x)
        return self.a(h) + (self.b(h) if use_b else 0)


def case_find_unused_parameters():
    ember.manual_seed(3)
    model = TwoHeads().double()
    reference = copy.deepcopy(model)
    ddp = DDP(model, find_unused_parameters=True)
    g = ember.Generator().manual_seed(5)
    x = ember.randn(world(), 3, generator=g, dtype=ember.float64)
    ddp(x[rank():rank() + 1], use_b=rank() == world() - 1).sum().backward()
    # one process: the mean over ranks of each rank's loss
    total = sum(reference(x[r:r + 1], use_b=r == world() - 1).sum() for r in range(world()))
    (total / world()).backward()
    for (name, p), q in zip(ddp.module.named_parameters(), reference.parameters()):
        if name.startswith("never"):
            assert p.grad is None  # unused on every rank: left alone, as in torch
        else:
            assert np.allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12), name
    # the next iteration works too
    ddp.zero_grad()
    ddp(x[rank():rank() + 1], use_b=True).sum().backward()
    assert ddp.module.b.weight.grad is not None


def case_unused_parameter_error():
    ember.manual_seed(3)
    ddp = DDP(TwoHeads().double())
    x = ember.randn(2, 3, dtype=ember.float64)
    ddp(x, use_b=False).sum().backward()  # b and never get no gradient on any rank
    try:
        ddp(x, use_b=False)
    except RuntimeError as e:
        assert "Expected to have finished reduction in the prior iteration" in str(e)
        assert "find_unused_parameters=True" in str(e)
    else:
        raise AssertionError("unused parameters must be reported at the next forward")


def case_state_dict_and_module():
    ddp, _ = make()
    assert isinstance(ddp.module, Net)
    keys = list(ddp.state_dict())
    assert keys == ["module." + k for k in ddp.module.state_dict()], keys
    ddp.load_state_dict(ddp.state_dict())


def case_broadcast_buffers():
    ember.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    ddp = DDP(model)
    model[1].running_mean.fill_(float(rank()))  # the replicas' buffers drift apart
    ddp.eval()
    ddp(ember.randn(2, 3, dtype=ember.float64))  # rank 0's buffers are copied before forward
    assert np.array_equal(model[1].running_mean.numpy(), np.zeros(4))
    ddp.train()
    ddp(ember.randn(2, 3, dtype=ember.float64)).sum().backward()


def case_rewrap():
    # a module wrapped again: the discarded wrapper's hooks go with it
    ddp, reference = make()
    (x, y), (xr, yr) = data(0)
    ddp(xr)  # a forward that is never backpropagated
    module = ddp.module
    del ddp
    ddp = DDP(module)
    assert all(len(p._hooks) == 1 for p in module.parameters())
    F.nll_loss(ddp(xr), yr).backward()
    F.nll_loss(reference(x), y).backward()
    for got, want in zip(grads(ddp), grads(reference)):
        assert np.allclose(got, want, rtol=1e-10, atol=1e-12)


def case_errors():
    try:
        DDP(nn.ReLU())
    except RuntimeError as e:
        assert "doesn't have any parameter that requires a gradient" in str(e)
    else:
        raise AssertionError("a module without parameters must raise")
    try:
        DDP(nn.Linear(2, 2), device_ids=[0])
    except ValueError as e:
        assert "device_ids" in str(e)
    else:
        raise AssertionError("device_ids with a CPU module must raise ValueError")


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}

if __name__ == "__main__":
    run(CASES, sys.argv[1:])
