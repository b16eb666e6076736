"""Every collective's result under ``mpiexec -n 2`` (one job runs all cases; one test per case)."""

import pytest
from mpi_run import Results, launch, needs_mpi, run_alone

pytestmark = [needs_mpi, pytest.mark.timeout(120)]

CASES = ["state", "all_reduce", "all_reduce_async_and_views", "all_reduce_other_dtypes",
         "broadcast", "reduce", "all_gather", "reduce_scatter", "gather_scatter", "all_to_all",
         "objects", "point_to_point", "groups", "barrier", "sampler"]


@pytest.fixture(scope="module")
def two_ranks():
    return Results(launch("worker_collectives.py", *CASES, n=2), 2)


@pytest.fixture(scope="module")
def one_rank():
    # a plain process: MPI starts as a singleton, world size 1
    return Results(run_alone("worker_collectives.py", *CASES), 1)


@pytest.mark.parametrize("case", CASES)
def test_two_ranks(two_ranks, case):
    two_ranks.check(case)


@pytest.mark.parametrize("case", CASES)
def test_one_rank(one_rank, case):
    one_rank.check(case)
