"""Writing a file atomically: checkpoints, exports, downloads and extracted files all go through
``atomic_open``, so an interrupted write leaves the old file (or none), never half of a new one."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat

__all__ = ["atomic_open"]


def _create_temp(directory: str, base: str) -> tuple[int, str]:
    # os.open with 0o666 lets the umask decide the mode, as for a file opened normally.
    for _ in range(100):
        tmp = os.path.join(directory, f".{base[:200]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {base!r}")


@contextlib.contextmanager
def atomic_open(path: str):
    """A binary file that replaces ``path`` only once completely written and synced."""
    real = os.path.realpath(path)  # write through a symlink, as a plain open() would
    if os.path.exists(real) and not os.path.isfile(real):  # a device or FIFO: cannot rename
        with open(real, "wb") as fh:
            yield fh
        return
    directory, base = os.path.split(real)
    fd, tmp = _create_temp(directory, base)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(real):  # keep the permissions of the file being replaced
            os.chmod(tmp, stat.S_IMODE(os.stat(real).st_mode))
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
