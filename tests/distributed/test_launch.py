"""Starting and ending jobs: a failing rank ends the whole job with its error, starting without a
launcher, and ``import ember.distributed`` without mpi4py."""

import subprocess
import sys
import time

import pytest
from mpi_run import REPO, env, launch, needs_mpi

import ember.distributed as dist


@needs_mpi
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode, error", [
    ("raise", "ValueError: boom on purpose in rank 1"),
    ("collective_error", "RuntimeError: [rank 1] all_gather: invalid output tensor list"),
    ("ddp", "RuntimeError: data loading failed in rank 1"),
])
def test_failing_rank_ends_the_job(mode, error):
    start = time.monotonic()
    proc = launch("worker_fail.py", mode, n=2, timeout=60)
    assert time.monotonic() - start < 60
    assert proc.returncode != 0, proc.stdout
    assert error in proc.stdout, proc.stdout
    assert "[rank1]: Traceback" in proc.stdout, proc.stdout  # the traceback names the rank
    assert "should not have got here" not in proc.stdout, proc.stdout


def run_python(code: str, **extra_env):
    e = env()
    e.update(extra_env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=100, env=e, cwd=REPO)


@needs_mpi
@pytest.mark.timeout(120)
def test_init_checks_against_mpi():
    code = """
import ember.distributed as dist
for kwargs in ({"world_size": 2}, {"rank": 1}):
    try:
        dist.init_process_group("mpi", **kwargs)
    except ValueError as e:
        assert "mpiexec" in str(e), e
    else:
        raise AssertionError(kwargs)
try:
    dist.init_process_group("mpi", timeout=30)
except TypeError as e:
    assert "timedelta" in str(e)
else:
    raise AssertionError("timeout must be a timedelta")
dist.init_process_group("gloo", world_size=1, rank=0)  # gloo runs on MPI
assert dist.get_backend() == "gloo" and dist.get_world_size() == 1 and dist.get_rank() == 0
dist.destroy_process_group()
assert not dist.is_initialized()
dist.init_process_group()  # again after destroy
assert dist.get_backend() == "mpi"
print("done")
"""
    proc = run_python(code)
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stdout + proc.stderr


@needs_mpi
@pytest.mark.timeout(120)
def test_torchrun_environment_is_refused():
    code = """
import ember.distributed as dist
try:
    dist.init_process_group("gloo")
except RuntimeError as e:
    assert "mpiexec -n 2" in str(e), e
    print("refused")
"""
    proc = run_python(code, WORLD_SIZE="2", RANK="0")
    assert proc.returncode == 0 and "refused" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.timeout(120)
def test_import_without_mpi4py():
    code = """
import sys
sys.modules["mpi4py"] = None  # as if it were not installed
import ember.distributed as dist
assert not dist.is_available() and not dist.is_initialized()
try:
    dist.init_process_group()
except RuntimeError as e:
    assert "pip install" in str(e), e
    print("clear error")
"""
    proc = run_python(code)
    assert proc.returncode == 0 and "clear error" in proc.stdout, proc.stdout + proc.stderr


def test_uninitialized_state_errors():
    # no MPI needed: these fail before any process group exists, with torch's type and message
    assert not dist.is_initialized()
    for fn in (dist.get_rank, dist.get_world_size, dist.get_backend, dist.barrier):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()
    assert dist.group.WORLD is None and dist.GroupMember.NON_GROUP_MEMBER == -100
    assert dist.get_rank(dist.GroupMember.NON_GROUP_MEMBER) == -1


def test_backend_and_reduce_op_names():
    assert dist.Backend("MPI") == "mpi" and dist.Backend.NCCL == "nccl"
    with pytest.raises(ValueError, match="Invalid backend: 'foo'"):
        dist.Backend("foo")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("foo")
    # numbered as torch's RedOpType
    assert [int(op) for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT,
                               dist.ReduceOp.MIN, dist.ReduceOp.MAX)] == [0, 1, 2, 3, 4]


def test_nccl_needs_a_gpu():
    from ember import cuda

    if cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="no GPUs found"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()
