"""Download and archive helpers, as ``torchvision.datasets.utils``: ``download_url``,
``download_and_extract_archive``, ``extract_archive``, ``check_integrity``, ``calculate_md5``.

Downloads use the standard library's ``urllib`` and show a tqdm progress bar when tqdm is installed.
A download is written to a temporary file beside its destination and renamed into place only when
complete, so an interrupted download never leaves a file that looks finished.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import pathlib
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable

from ember._fileio import atomic_open

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url",
           "download_and_extract_archive", "extract_archive", "list_dir", "list_files",
           "verify_str_arg"]

USER_AGENT = "pytorch/vision"  # some mirrors refuse urllib's default agent; torchvision sends this


def calculate_md5(fpath: str | pathlib.Path, chunk_size: int = 1024 * 1024) -> str:
    """The hex MD5 digest of the file at ``fpath``, read in chunks."""
    md5 = hashlib.md5(usedforsecurity=False)  # a checksum, not cryptography (FIPS builds allow it)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str | pathlib.Path, md5: str, **kwargs) -> bool:
    """Whether the file's MD5 digest is ``md5``."""
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str | pathlib.Path, md5: str | None = None) -> bool:
    """Whether ``fpath`` is a file and, when ``md5`` is given, has that MD5 digest."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def _progress_bar(total: int | None):
    """A tqdm bar counting bytes when tqdm is installed, else a bar that does nothing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoProgress()
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)


class _NoProgress:
    """The subset of tqdm's interface ``_urlretrieve`` uses, doing nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _urlretrieve(url: str, filename: str, max_redirect_hops: int = 3,
                 chunk_size: int = 1024 * 32) -> None:
    """Stream ``url`` into ``filename`` atomically (temporary file, then rename)."""
    # urllib follows redirects itself; the handler caps how many
    redirects = urllib.request.HTTPRedirectHandler()
    redirects.max_redirections = max_redirect_hops
    opener = urllib.request.build_opener(redirects)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with opener.open(request) as response, atomic_open(filename) as fh, \
            _progress_bar(response.length) as bar:
        while chunk := response.read(chunk_size):
            fh.write(chunk)
            bar.update(len(chunk))


def download_url(url: str, root: str | pathlib.Path, filename: str | None = None,
                 md5: str | None = None, max_redirect_hops: int = 3) -> None:
    """Download ``url`` into ``root/filename`` unless a file with the right MD5 is already there.

    Args:
        url: the address to fetch.
        root: the folder to put the file in (created if missing).
        filename: the name to save under; default: the URL's last path component.
        md5: the expected MD5 digest; ``None`` skips the check.
        max_redirect_hops: how many redirects to follow.

    Raises:
        RuntimeError: when the downloaded file does not have the expected MD5 digest (the file is
            removed, so a later call downloads it again).
    """
    root = os.path.expanduser(os.fspath(root))
    if not filename:
        filename = os.path.basename(url)
    fpath = os.fspath(os.path.join(root, filename))
    os.makedirs(root, exist_ok=True)

    if check_integrity(fpath, md5):
        return

    try:
        _urlretrieve(url, fpath, max_redirect_hops)
    except (urllib.error.URLError, OSError):
        if url[:5] != "https":
            raise
        # some hosts serve plain HTTP only; torchvision retries the same way
        _urlretrieve(url.replace("https:", "http:"), fpath, max_redirect_hops)

    if not check_integrity(fpath, md5):
        actual = calculate_md5(fpath) if os.path.isfile(fpath) else None
        if actual is not None:
            os.remove(fpath)
        raise RuntimeError(
            f"File not found or corrupted: {fpath} downloaded from {url} has MD5 {actual}, "
            f"expected {md5}.")


def list_dir(root: str | pathlib.Path, prefix: bool = False) -> list[str]:
    """The folders directly inside ``root`` (with ``root`` prepended when ``prefix``)."""
    root = os.path.expanduser(root)
    directories = [p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p))]
    if prefix:
        directories = [os.path.join(root, d) for d in directories]
    return directories


def list_files(root: str | pathlib.Path, suffix: str | tuple[str, ...],
               prefix: bool = False) -> list[str]:
    """The files directly inside ``root`` whose names end with ``suffix``."""
    root = os.path.expanduser(root)
    files = [p for p in os.listdir(root)
             if os.path.isfile(os.path.join(root, p)) and p.endswith(suffix)]
    if prefix:
        files = [os.path.join(root, d) for d in files]
    return files


def _extract_tar(from_path: str, to_path: str, compression: str | None) -> None:
    with tarfile.open(from_path, f"r:{compression[1:]}" if compression else "r") as tar:
        if hasattr(tarfile, "data_filter"):
            # the "data" filter refuses absolute paths, links out of to_path and device files
            tar.extractall(to_path, filter="data")
        else:  # Python releases before the filter existed (3.10.11 and older)
            tar.extractall(to_path)


_ZIP_COMPRESSION_MAP = {".bz2": zipfile.ZIP_BZIP2, ".xz": zipfile.ZIP_LZMA}


def _extract_zip(from_path: str, to_path: str, compression: str | None) -> None:
    mode = _ZIP_COMPRESSION_MAP[compression] if compression else zipfile.ZIP_STORED
    with zipfile.ZipFile(from_path, "r", compression=mode) as archive:
        archive.extractall(to_path)


_ARCHIVE_EXTRACTORS = {".tar": _extract_tar, ".zip": _extract_zip}
_COMPRESSED_FILE_OPENERS = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_FILE_TYPE_ALIASES = {".tbz": (".tar", ".bz2"), ".tbz2": (".tar", ".bz2"), ".tgz": (".tar", ".gz")}


def _detect_file_type(file: str) -> tuple[str, str | None, str | None]:
    """(suffix, archive type, compression) of ``file`` from its name, as torchvision."""
    suffixes = pathlib.Path(file).suffixes
    if not suffixes:
        raise RuntimeError(f"File '{file}' has no suffixes that could be used to detect the "
                           "archive type and compression.")
    suffix = suffixes[-1]
    if suffix in _FILE_TYPE_ALIASES:
        return (suffix, *_FILE_TYPE_ALIASES[suffix])
    if suffix in _ARCHIVE_EXTRACTORS:
        return suffix, suffix, None
    if suffix in _COMPRESSED_FILE_OPENERS:
        if len(suffixes) > 1 and suffixes[-2] in _ARCHIVE_EXTRACTORS:
            return suffixes[-2] + suffix, suffixes[-2], suffix
        return suffix, None, suffix
    valid = sorted({*_FILE_TYPE_ALIASES, *_ARCHIVE_EXTRACTORS, *_COMPRESSED_FILE_OPENERS})
    raise RuntimeError(f"Unknown compression or archive type: '{suffix}'.\n"
                       f"Known suffixes are: '{valid}'.")


def _decompress(from_path: str, to_path: str, remove_finished: bool = False) -> str:
    """Decompress one ``.gz``/``.bz2``/``.xz`` file into ``to_path``, atomically."""
    _, _, compression = _detect_file_type(from_path)
    opener = _COMPRESSED_FILE_OPENERS[compression]
    try:
        with opener(from_path, "rb") as rfh, atomic_open(to_path) as wfh:
            while chunk := rfh.read(1024 * 1024):
                wfh.write(chunk)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise RuntimeError(f"Could not decompress {from_path}: the file is truncated or corrupt "
                           f"({e}). Delete it and download it again.") from e
    if remove_finished:
        os.remove(from_path)
    return to_path


def extract_archive(from_path: str | pathlib.Path, to_path: str | pathlib.Path | None = None,
                    remove_finished: bool = False) -> str | pathlib.Path:
    """Extract an archive (``.tar[.gz|.bz2|.xz]``, ``.tgz``, ``.zip``) or decompress a file.

    Args:
        from_path: the archive.
        to_path: the folder to extract into; default: the archive's folder.
        remove_finished: delete the archive afterwards.

    Returns:
        The folder extracted into (the decompressed file's path for a single compressed file),
        as a ``str`` when ``from_path`` was one, else a ``pathlib.Path``.
    """
    as_str = isinstance(from_path, str)
    src = os.fspath(from_path)
    dest = os.path.dirname(src) if to_path is None else os.fspath(to_path)
    suffix, archive_type, compression = _detect_file_type(src)
    if not archive_type:
        out = _decompress(src, os.path.join(dest, os.path.basename(src).replace(suffix, "")),
                          remove_finished=remove_finished)
    else:
        try:
            _ARCHIVE_EXTRACTORS[archive_type](src, dest, compression)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, lzma.LZMAError) as e:
            raise RuntimeError(f"Could not extract {src}: the archive is truncated or corrupt "
                               f"({e}). Delete it and download it again.") from e
        if remove_finished:
            os.remove(src)
        out = dest
    return out if as_str else pathlib.Path(out)


def download_and_extract_archive(url: str, download_root: str | pathlib.Path,
                                 extract_root: str | pathlib.Path | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    """``download_url``, then ``extract_archive`` into ``extract_root`` (default: download_root)."""
    download_root = os.path.expanduser(os.fspath(download_root))
    if extract_root is None:
        extract_root = download_root
    if not filename:
        filename = os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def iterable_to_str(iterable: Iterable) -> str:
    return "'" + "', '".join(str(item) for item in iterable) + "'"


def verify_str_arg(value, arg: str | None = None, valid_values: Iterable | None = None,
                   custom_msg: str | None = None):
    """Check that ``value`` is a string among ``valid_values``; torchvision's ValueError if not."""
    if not isinstance(value, str):
        if arg is None:
            msg = f"Expected type str, but got type {type(value)}."
        else:
            msg = f"Expected type str for argument {arg}, but got type {type(value)}."
        raise ValueError(msg)
    if valid_values is None:
        return value
    if value not in valid_values:
        if custom_msg is not None:
            msg = custom_msg
        else:
            msg = (f"Unknown value '{value}' for argument {arg}. "
                   f"Valid values are {{{iterable_to_str(valid_values)}}}.")
        raise ValueError(msg)
    return value
