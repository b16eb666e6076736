"""Checks on the project itself: ruff-clean, and test modules pytest can collect side by side."""

import collections
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_test_modules_have_unique_basenames():
    # tests/ folders are not packages, so pytest imports each test module by its basename: two
    # modules with one name stop collection ("import file mismatch").
    names = collections.defaultdict(list)
    for path in (ROOT / "tests").rglob("test_*.py"):
        names[path.name].append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in names.items() if len(paths) > 1}
    assert not clashes, clashes


def test_ember_never_imports_torch():
    code = "import sys, ember, ember.vision; assert 'torch' not in sys.modules, 'imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
