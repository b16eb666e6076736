"""Writes to a path are atomic: a kill -9 or an exception during ember.save leaves the old file
(still loadable) and never a truncated checkpoint at the path."""

import os
import pickle
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember import serialization
from ember.serialization import load, save

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The child saves 64 MiB to `path`, reporting each 1 MiB chunk it writes and pausing a little,
# so the parent can kill it in the middle of the write, deterministically.
CHILD = textwrap.dedent("""
    import sys, time, zipfile
    import ember
    from ember import serialization
    serialization._CHUNK = 1 << 20
    real_write = zipfile._ZipWriteFile.write
    def write(self, data):
        n = real_write(self, data)
        if len(data) == serialization._CHUNK:
            print("chunk", flush=True)
            time.sleep(0.02)
        return n
    zipfile._ZipWriteFile.write = write
    serialization.save({"big": ember.ones(16 << 20)}, sys.argv[1])
    print("done", flush=True)
""")


def temp_files(directory):
    return [n for n in os.listdir(directory) if n.endswith(".tmp")]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_during_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    old = {"w": ember.arange(10, dtype=ember.float32)}
    save(old, path)
    before = path.read_bytes()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             env=env, text=True)
    try:
        for _ in range(3):  # three chunks of the big tensor are written: kill it mid-write
            assert child.stdout.readline().strip() == "chunk"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before  # the old checkpoint, untouched
    assert ember.equal(load(path)["w"], old["w"])
    partial = temp_files(tmp_path)  # the killed write's temporary file, never at `path`
    assert len(partial) == 1 and partial[0].startswith(".ckpt.pt.")
    assert 3 << 20 <= os.path.getsize(tmp_path / partial[0]) < 64 << 20


def test_exception_during_save_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save({"w": ember.ones(3)}, path)
    before = path.read_bytes()

    def failing_add_record(zf, name, data):
        if "/data/" in name:
            raise OSError("disk full")
        real_add_record(zf, name, data)

    real_add_record = serialization._add_record
    monkeypatch.setattr(serialization, "_add_record", failing_add_record)
    with pytest.raises(OSError, match="disk full"):
        save({"w": ember.zeros(3)}, path)
    assert path.read_bytes() == before and temp_files(tmp_path) == []

    class Unpicklable:
        def __reduce__(self):
            raise pickle.PicklingError("no")

    with pytest.raises(pickle.PicklingError):  # fails while pickling: no file is touched at all
        save({"w": ember.zeros(3), "bad": Unpicklable()}, path)
    assert path.read_bytes() == before and temp_files(tmp_path) == []


def test_save_replaces_atomically_and_keeps_permissions(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(ember.ones(2), path)
    os.chmod(path, 0o640)
    save(ember.zeros(5), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert ember.equal(load(path), ember.zeros(5))
    assert temp_files(tmp_path) == []


def test_save_writes_through_symlinks(tmp_path):
    target = tmp_path / "real.pt"
    link = tmp_path / "link.pt"
    save(ember.ones(2), target)
    os.symlink(target, link)
    save(ember.full((3,), 7.0), link)
    assert os.path.islink(link)
    np.testing.assert_array_equal(load(target).numpy(), np.full(3, 7.0, np.float32))
