"""The harness of the worker scripts: run the named cases in every rank, print
``RESULT <case> <rank> PASS`` after each, and end the whole job at the first failure."""

import sys

import ember.distributed as dist


def run(cases: dict, names: list[str]) -> None:
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    for name in names or list(cases):
        try:
            cases[name]()
            dist.barrier()  # a case that finished on one rank only must not run into the next
        except BaseException:
            sys.stdout.write(f"RESULT {name} {rank} FAIL\n")
            sys.stdout.flush()
            raise  # the excepthook prints it with the rank and aborts every rank
        sys.stdout.write(f"RESULT {name} {rank} PASS\n")
        sys.stdout.flush()
    dist.destroy_process_group()
