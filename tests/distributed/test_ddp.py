"""DistributedDataParallel under ``mpiexec -n 2`` and as one process, against one process training
on the concatenated batch (one job runs all cases; one test per case)."""

import pytest
from mpi_run import Results, launch, needs_mpi, run_alone

pytestmark = [needs_mpi, pytest.mark.timeout(120)]

CASES = ["broadcast_at_construction", "gradients_equal_single_process", "buckets", "bucket_view",
         "steps_identical_across_ranks", "no_sync_accumulation", "find_unused_parameters",
         "unused_parameter_error", "state_dict_and_module", "broadcast_buffers", "rewrap",
         "errors"]


@pytest.fixture(scope="module")
def two_ranks():
    return Results(launch("worker_ddp.py", *CASES, n=2), 2)


@pytest.fixture(scope="module")
def one_rank():
    return Results(run_alone("worker_ddp.py", *CASES), 1)


@pytest.mark.parametrize("case", CASES)
def test_two_ranks(two_ranks, case):
    two_ranks.check(case)


@pytest.mark.parametrize("case", CASES)
def test_one_rank(one_rank, case):
    one_rank.check(case)
