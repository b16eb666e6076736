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
    "s000_mnist_net",
    "s000_onnx_export",
    "s000_tensors_autograd",
    "s001_autograd",
    "s001_lenet",
    "s001_tensor_basics",
    "s002_dataloader_workers",
    "s002_gpu_save_load",
    "s002_lstm_mnist",
    "s002_mnist_cnn",
    "s002_point_classifier",
    "s002_rnn_options",
    "s002_rnn_regression",
    "s002_tensorboard",
    "s002_vgg",
    "s003_classifier_batchnorm",
    "s003_linear_regression",
    "s004_cifar_cnn_as_printed",
    "s004_cifar_cnn_fixed",
]


@pytest.mark.skipif(not os.path.isfile(RUNNER), reason=f"acceptance programs not found at {RUNNER}")
@pytest.mark.parametrize("program", PASSING)
def test_acceptance_program(program):
    proc = subprocess.run(
        [sys.executable, RUNNER, "--lib", "ember", "--pythonpath", REPO, "-k", program, "-v",
         "--timeout", "900"],
        capture_output=True, text=True, timeout=1000)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("1 passed"), proc.stdout
