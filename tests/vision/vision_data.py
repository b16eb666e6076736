"""Small dataset files in the real on-disk formats, for the vision tests: IDX (MNIST), CIFAR
"python version" pickles (as Python 2 wrote them), PNG folders, and a loopback HTTP server."""

import contextlib
import functools
import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading

import numpy as np
from idx_files import write_idx

# --- IDX ------------------------------------------------------------------------------------------

def digits(n, seed=0, size=28):
    """``n`` random uint8 images and labels 0..9."""
    rng = np.random.RandomState(seed)
    return (rng.randint(0, 256, size=(n, size, size)).astype(np.uint8),
            rng.randint(0, 10, size=n).astype(np.uint8))


def make_mnist_root(root, folder="MNIST", n_train=20, n_test=10, gz=True, raw=True):
    """``root/<folder>/raw/{train,t10k}-...`` with random digits; returns the four arrays."""
    raw_dir = os.path.join(root, folder, "raw")
    os.makedirs(raw_dir, exist_ok=True)
    tr_x, tr_y = digits(n_train, seed=1)
    te_x, te_y = digits(n_test, seed=2)
    write_idx(os.path.join(raw_dir, "train-images-idx3-ubyte"), tr_x, gz, raw)
    write_idx(os.path.join(raw_dir, "train-labels-idx1-ubyte"), tr_y, gz, raw)
    write_idx(os.path.join(raw_dir, "t10k-images-idx3-ubyte"), te_x, gz, raw)
    write_idx(os.path.join(raw_dir, "t10k-labels-idx1-ubyte"), te_y, gz, raw)
    return tr_x, tr_y, te_x, te_y


# --- CIFAR ----------------------------------------------------------------------------------------


class Py2Pickler(pickle._Pickler):
    """Pickles ``bytes`` as Python 2 pickled ``str`` (BINSTRING), as the real CIFAR files were
    written: keys load as ``str`` with ``encoding='latin1'``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes_as_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes_as_str


def py2_pickle(obj):
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def cifar_batch(n, seed, label_key=b"labels", n_classes=10):
    """(pickle bytes, data (n, 3072) uint8, labels) of one CIFAR batch."""
    rng = np.random.RandomState(seed)
    data = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
    labels = [int(v) for v in rng.randint(0, n_classes, size=n)]
    entry = {b"batch_label": b"batch", label_key: labels, b"data": data,
             b"filenames": [b"f%d.png" % i for i in range(n)]}
    return py2_pickle(entry), data, labels


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def make_cifar10_folder(folder, per_batch=4, n_test=6):
    """``folder/data_batch_1..5``, ``test_batch``, ``batches.meta``; returns (train, test) as
    (data (N, 3072), labels) and a dict of each file's MD5."""
    os.makedirs(folder, exist_ok=True)
    md5s, train_data, train_labels = {}, [], []
    for i in range(1, 6):
        blob, data, labels = cifar_batch(per_batch, seed=i)
        train_data.append(data)
        train_labels += labels
        md5s[f"data_batch_{i}"] = _write(os.path.join(folder, f"data_batch_{i}"), blob)
    blob, test_data, test_labels = cifar_batch(n_test, seed=9)
    md5s["test_batch"] = _write(os.path.join(folder, "test_batch"), blob)
    meta = py2_pickle({b"label_names": [c.encode() for c in CIFAR10_CLASSES],
                       b"num_cases_per_batch": per_batch, b"num_vis": 3072})
    md5s["batches.meta"] = _write(os.path.join(folder, "batches.meta"), meta)
    return (np.concatenate(train_data), train_labels), (test_data, test_labels), md5s


def _write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)
    return hashlib.md5(blob).hexdigest()


def md5_of(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def make_tar_gz(path, folder, arcname):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return md5_of(path)


# --- a loopback HTTP server -----------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = None  # a list shared with the test, set per server

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def do_HEAD(self):
        self.requests.append("HEAD " + self.path)
        super().do_HEAD()


@contextlib.contextmanager
def http_server(directory):
    """Serve ``directory`` on 127.0.0.1 at a free port; yields (base URL, list of request paths)."""
    requests = []
    handler = functools.partial(type("Handler", (_QuietHandler,), {"requests": requests}),
                                directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url():
    """A loopback URL where nothing listens (connections are refused)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
