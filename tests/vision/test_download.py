"""Downloading and extracting, against an HTTP server on 127.0.0.1 serving generated files (the
datasets' ``mirrors``/``url`` class attributes point at it, as a user points them at a mirror)."""

import gzip
import os
import sys
import tarfile
import zipfile

import numpy as np
import pytest
from idx_files import idx_bytes
from vision_data import (
    closed_port_url,
    digits,
    http_server,
    make_cifar10_folder,
    make_tar_gz,
    md5_of,
)

from ember.vision import datasets
from ember.vision.datasets import utils


def _serve_file(folder, name, payload):
    path = folder / name
    path.write_bytes(payload)
    return md5_of(str(path))


def test_calculate_md5_and_check_integrity(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello world")
    assert utils.calculate_md5(str(path)) == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    assert utils.calculate_md5(str(path), chunk_size=3) == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    assert utils.check_integrity(str(path))
    assert utils.check_integrity(str(path), "5eb63bbbe01eeed093cb22bb8f5acdc3")
    assert not utils.check_integrity(str(path), "0" * 32)
    assert not utils.check_integrity(str(tmp_path / "missing"))


def test_download_url_verifies_and_skips_present_files(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    md5 = _serve_file(served, "data.bin", os.urandom(100_000))
    with http_server(served) as (base, requests):
        utils.download_url(base + "data.bin", str(tmp_path / "out"), md5=md5)
        assert md5_of(str(tmp_path / "out" / "data.bin")) == md5
        n = len(requests)
        utils.download_url(base + "data.bin", str(tmp_path / "out"), md5=md5)
        assert len(requests) == n  # already there and verified: not fetched again
        utils.download_url(base + "data.bin", str(tmp_path / "out"), filename="renamed.bin")
        assert (tmp_path / "out" / "renamed.bin").read_bytes() == (served / "data.bin").read_bytes()
    assert sorted(os.listdir(tmp_path / "out")) == ["data.bin", "renamed.bin"]  # no temporaries


def test_download_url_bad_md5_raises_and_leaves_no_file(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _serve_file(served, "data.bin", b"payload")
    with http_server(served) as (base, _):
        with pytest.raises(RuntimeError, match="File not found or corrupted: .*data.bin .* has MD5 "
                                               "321c3cf486ed509164edec1e1981fec8, expected "
                                               "00000000000000000000000000000000"):
            utils.download_url(base + "data.bin", str(tmp_path / "out"), md5="0" * 32)
    assert os.listdir(tmp_path / "out") == []


def test_download_url_missing_file_raises_http_error(tmp_path):
    import urllib.error
    with http_server(tmp_path) as (base, _):
        with pytest.raises(urllib.error.HTTPError):
            utils.download_url(base + "nope.bin", str(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == []


def test_progress_bar_without_tqdm(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # "import tqdm.auto" raises ImportError
    served = tmp_path / "served"
    served.mkdir()
    md5 = _serve_file(served, "x.bin", b"abc" * 1000)
    with http_server(served) as (base, _):
        utils.download_url(base + "x.bin", str(tmp_path), md5=md5)
    assert md5_of(str(tmp_path / "x.bin")) == md5


def test_extract_archive_kinds(tmp_path):
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "a.txt").write_text("A")
    make_tar_gz(str(tmp_path / "a.tar.gz"), str(src / "inner"), "inner")
    with tarfile.open(tmp_path / "b.tar", "w") as tar:
        tar.add(src / "inner", arcname="inner")
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as z:
        z.write(src / "inner" / "a.txt", arcname="inner/a.txt")
    for name in ("a.tar.gz", "b.tar", "c.zip"):
        out = tmp_path / ("out_" + name.replace(".", "_"))
        assert utils.extract_archive(str(tmp_path / name), str(out)) == str(out)
        assert (out / "inner" / "a.txt").read_text() == "A"
    with gzip.open(tmp_path / "d.bin.gz", "wb") as f:
        f.write(b"plain")
    result = utils.extract_archive(tmp_path / "d.bin.gz", remove_finished=True)
    assert result == tmp_path / "d.bin" and result.read_bytes() == b"plain"
    assert not (tmp_path / "d.bin.gz").exists()
    with pytest.raises(RuntimeError, match="Unknown compression or archive type: '.rar'"):
        utils.extract_archive(str(tmp_path / "e.rar"))


def test_extract_corrupt_archives_name_the_file(tmp_path):
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(RuntimeError, match="Could not decompress .*bad.gz: the file is truncated "
                                           "or corrupt"):
        utils.extract_archive(str(tmp_path / "bad.gz"))
    assert not (tmp_path / "bad").exists()  # no half-written output
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(RuntimeError, match="Could not extract .*bad.tar.gz"):
        utils.extract_archive(str(tmp_path / "bad.tar.gz"))


def _mnist_mirror(folder):
    """The four MNIST files, gzipped, in ``folder``; returns (resources, train images)."""
    folder.mkdir(exist_ok=True)
    tr_x, tr_y = digits(12, seed=1)
    te_x, te_y = digits(5, seed=2)
    resources = []
    for name, arr in (("train-images-idx3-ubyte.gz", tr_x), ("train-labels-idx1-ubyte.gz", tr_y),
                      ("t10k-images-idx3-ubyte.gz", te_x), ("t10k-labels-idx1-ubyte.gz", te_y)):
        resources.append((name, _serve_file(folder, name, gzip.compress(idx_bytes(arr)))))
    return resources, tr_x


def test_mnist_download_from_mirror(tmp_path, capsys):
    resources, tr_x = _mnist_mirror(tmp_path / "mirror")
    with http_server(tmp_path / "mirror") as (base, requests):
        class LocalMNIST(datasets.MNIST):
            pass
        LocalMNIST.mirrors = [closed_port_url(), base]  # the first mirror is down
        LocalMNIST.resources = resources
        ds = LocalMNIST(str(tmp_path / "data"), download=True)
        assert [r for r in requests if not r.startswith("HEAD")] == ["/" + n for n, _ in resources]
        np.testing.assert_array_equal(ds.data.numpy(), tr_x)
        raw = tmp_path / "data" / "LocalMNIST" / "raw"
        assert sorted(os.listdir(raw)) == sorted([n for n, _ in resources]
                                                 + [n[:-3] for n, _ in resources])
        out = capsys.readouterr().out
        assert "Failed to download (trying next):" in out and f"Downloading {base}" in out
        # present: a second construction downloads nothing
        n = len(requests)
        LocalMNIST(str(tmp_path / "data"), train=False, download=True)
        assert len(requests) == n


def test_mnist_download_all_mirrors_down(tmp_path, capsys):
    class Down(datasets.MNIST):
        mirrors = [closed_port_url()]
    with pytest.raises(RuntimeError, match="^Error downloading train-images-idx3-ubyte.gz$"):
        Down(str(tmp_path), download=True)


def test_mnist_download_bad_checksum(tmp_path):
    resources, _ = _mnist_mirror(tmp_path / "mirror")
    resources[1] = (resources[1][0], "f" * 32)
    with http_server(tmp_path / "mirror") as (base, _):
        class BadSum(datasets.MNIST):
            mirrors = [base]
        BadSum.resources = resources
        with pytest.raises(RuntimeError, match="train-labels-idx1-ubyte.gz downloaded from .* has "
                                               "MD5 .*, expected ffff"):
            BadSum(str(tmp_path / "data"), download=True)
    assert not (tmp_path / "data" / "BadSum" / "raw" / "train-labels-idx1-ubyte.gz").exists()


def test_cifar10_download_and_extract(tmp_path):
    (tr_data, tr_labels), _, md5s = make_cifar10_folder(str(tmp_path / "build"))
    (tmp_path / "mirror").mkdir()
    tgz_md5 = make_tar_gz(str(tmp_path / "mirror" / "cifar-10-python.tar.gz"),
                          str(tmp_path / "build"), "cifar-10-batches-py")
    with http_server(tmp_path / "mirror") as (base, requests):
        class LocalCIFAR(datasets.CIFAR10):
            url = base + "cifar-10-python.tar.gz"
            train_list = [[f"data_batch_{i}", md5s[f"data_batch_{i}"]] for i in range(1, 6)]
            test_list = [["test_batch", md5s["test_batch"]]]
            meta = {"filename": "batches.meta", "key": "label_names", "md5": md5s["batches.meta"]}
        LocalCIFAR.tgz_md5 = tgz_md5
        ds = LocalCIFAR(str(tmp_path / "data"), download=True)
        assert ds.targets == tr_labels and len(ds) == 20
        n = len(requests)
        LocalCIFAR(str(tmp_path / "data"), train=False, download=True)
        assert len(requests) == n

        class WrongSum(LocalCIFAR):
            tgz_md5 = "0" * 32
        with pytest.raises(RuntimeError, match="cifar-10-python.tar.gz downloaded from .* has MD5"):
            WrongSum(str(tmp_path / "other"), download=True)


def test_svhn_download(tmp_path):
    sio = pytest.importorskip("scipy.io", reason="SVHN reads MATLAB files with SciPy")
    (tmp_path / "mirror").mkdir()
    x = np.zeros((32, 32, 3, 2), dtype=np.uint8)
    sio.savemat(str(tmp_path / "mirror" / "train_32x32.mat"), {"X": x, "y": np.array([[3], [10]])})
    md5 = md5_of(str(tmp_path / "mirror" / "train_32x32.mat"))
    with http_server(tmp_path / "mirror") as (base, _):
        class LocalSVHN(datasets.SVHN):
            split_list = {"train": [base + "train_32x32.mat", "train_32x32.mat", md5]}
        ds = LocalSVHN(str(tmp_path / "data"), download=True)
    assert ds.labels.tolist() == [3, 0]
