"""The tutorials' acceptance programs (../shared/acceptance) that ember passes, kept passing.

Each runs through the acceptance suite's own runner, with ``torch`` aliased to ``ember``. A program
joins PASSING when the work that makes it pass lands; it never leaves.
"""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(os.path.dirname(REPO), "shared", "acceptance", "run.py")

PASSING = [
    "s000_tensors_autograd",
    "s001_tensor_basics",
    "s001_autograd",
    "s003_linear_regression",
    "s001_lenet",
    "s002_point_classifier",
    "s002_vgg",
    "s003_classifier_batchnorm",
]


@pytest.mark.skipif(not os.path.isfile(RUNNER), reason=f"acceptance programs not found at {RUNNER}")
@pytest.mark.parametrize("program", PASSING)
def test_acceptance_program(program):
    proc = subprocess.run(
        [sys.executable, RUNNER, "--lib", "ember", "--pythonpath", REPO, "-k", program, "-v"],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("1 passed"), proc.stdout
