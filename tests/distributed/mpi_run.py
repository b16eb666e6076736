"""Running the worker scripts of these tests under ``mpiexec`` in a subprocess.

The launcher is the ``mpiexec`` installed next to this Python (the ``mpich`` wheel's, matching
the MPI library mpi4py loads), else the first one on PATH. Tests that need it are skipped, with
the reason, when mpi4py or a launcher is missing.
"""

import functools
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 100  # seconds for one mpiexec job; the tests' pytest timeout is 120


@functools.cache
def mpiexec() -> list[str] | None:
    """The launcher's command line prefix (OpenMPI's needs flags to run as root on 2 cores)."""
    scripts = sysconfig.get_path("scripts")
    here = os.path.join(scripts, "mpiexec")
    exe = here if os.access(here, os.X_OK) else shutil.which("mpiexec")
    if exe is None:
        return None
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    if "Open MPI" in version or "OpenRTE" in version:
        return [exe, "--oversubscribe", "--allow-run-as-root"]
    return [exe]


def _missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'ember[distributed]')"
    if mpiexec() is None:
        return "no mpiexec launcher found (pip install mpich)"
    return None


needs_mpi = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([REPO, HERE, e.get("PYTHONPATH", "")])
    e.pop("WORLD_SIZE", None)
    return e


def launch(script: str, *args: str, n: int = 2, timeout: float = TIMEOUT):
    """Run ``tests/distributed/<script>`` under ``mpiexec -n n``; returns the CompletedProcess
    (stdout and stderr together in ``.stdout``), or fails the test when it times out."""
    return _run([*mpiexec(), "-n", str(n), sys.executable, os.path.join(HERE, script), *args],
                timeout)


def run_alone(script: str, *args: str, timeout: float = TIMEOUT):
    """Run a worker script as a plain process (MPI's singleton start: world size 1)."""
    return _run([sys.executable, os.path.join(HERE, script), *args], timeout)


def _run(cmd: list[str], timeout: float):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, env=env(), cwd=REPO)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"`{' '.join(cmd)}` did not end within {timeout}s:\n{out[-4000:]}")


class Results:
    """The per-case outcome of a worker job: every rank prints ``RESULT <case> <rank> PASS``."""

    def __init__(self, proc, n: int) -> None:
        self.proc = proc
        self.n = n
        self.passed: dict[str, set] = {}
        for case, rank in re.findall(r"^RESULT (\S+) (\d+) PASS$", proc.stdout, re.M):
            self.passed.setdefault(case, set()).add(int(rank))

    def check(self, case: str) -> None:
        if self.passed.get(case) == set(range(self.n)):
            return
        pytest.fail(f"case {case!r} did not pass on every rank (exit code {self.proc.returncode})"
                    f":\n{self.proc.stdout[-6000:]}")
