"""The tutorial programs in examples/ run: each ``main`` briefly (a few batches of small data), so
they keep working as ember changes. The data sources of the MNIST examples are checked too."""

import ast
import os
import pickle

import numpy as np
import pytest
from idx_files import learnable_mnist_root

import ember

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
pytest.importorskip("PIL", reason="the MNIST and CIFAR examples load images through Pillow")


@pytest.fixture(autouse=True)
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(EXAMPLES)
    monkeypatch.delenv("EMBER_MNIST_DIR", raising=False)


def test_mnist_net_on_a_torchvision_root(tmp_path, capsys, monkeypatch):
    import mnist_net
    root = learnable_mnist_root(str(tmp_path), n_train=32, n_test=16)
    monkeypatch.chdir(tmp_path)
    accuracy = mnist_net.main(["--data", root, "--batch-size", "16", "--test-batch-size", "16",
                               "--save-model"])
    out = capsys.readouterr().out
    assert f"Data: MNIST from {os.path.join(root, 'MNIST', 'raw')}" in out
    assert 0.0 <= accuracy <= 1.0 and f"Test accuracy: {100 * accuracy:.2f}%" in out
    # torch.save(model.state_dict(), "mnist_cnn.pt"), as the seed does
    state = ember.load(str(tmp_path / "mnist_cnn.pt"))
    assert list(state) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                           "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_mnist_net_real_test_set_split(tmp_path, monkeypatch, capsys, mnist_dir):
    import mnist_data
    import mnist_net
    monkeypatch.setenv("EMBER_MNIST_DIR", mnist_dir)
    train, test, _ = mnist_data.load_mnist(str(tmp_path / "empty"), False, None)
    assert len(train) == 8000 and len(test) == 2000
    assert train.targets[:3].tolist() == [7, 2, 1] and int(test.targets[0]) == int(
        mnist_data._read_split(mnist_dir, "t10k")[1][8000])
    capsys.readouterr()
    accuracy = mnist_net.main(["--data", str(tmp_path / "empty"), "--limit", "32",
                               "--batch-size", "16"])
    out = capsys.readouterr().out
    assert "split as the acceptance suite does: the first 8000 digits for training, the last " \
           "2000 for testing" in out
    assert 0.0 <= accuracy <= 1.0


def test_offline_fallback_to_sklearn_digits(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="the offline fallback uses scikit-learn's digits")
    import mnist_data

    from ember.vision import transforms
    train, test, description = mnist_data.load_mnist(str(tmp_path / "none"), False,
                                                     transforms.ToTensor())
    out = capsys.readouterr().out
    assert "MNIST is not available" in out and "falling back to scikit-learn" in out
    assert len(train) + len(test) == 1797 and len(test) == 359
    img, label = train[0]
    assert tuple(img.shape) == (1, 28, 28) and img.dtype == ember.float32
    assert isinstance(label, int) and 0 <= label <= 9
    assert img[0, :4].abs().max().item() == 0 and img.max().item() > 0.5  # MNIST-like border
    assert train.data.dtype == ember.uint8 and tuple(train.data.shape[1:]) == (28, 28)
    # the same split every time
    again, _, _ = mnist_data.load_mnist(str(tmp_path / "none"), False, None, verbose=False)
    assert ember.equal(again.targets, train.targets)


def test_download_failure_says_so_and_falls_back(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn", reason="the offline fallback uses scikit-learn's digits")
    import socket

    import mnist_data

    from ember.vision import datasets
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(datasets.MNIST, "mirrors", [f"http://127.0.0.1:{port}/"])
    train, _, description = mnist_data.load_mnist(str(tmp_path / "data"), True, None)
    out = capsys.readouterr().out
    assert "Could not download MNIST" in out and "scikit-learn" in description
    assert len(train) == 1438


def test_mnist_cnn(tmp_path, capsys):
    import mnist_cnn
    root = learnable_mnist_root(str(tmp_path), n_train=100, n_test=40)
    accuracy = mnist_cnn.main(["--data", root, "--limit", "100"])
    assert 0.0 <= accuracy <= 1.0
    assert "Test accuracy" in capsys.readouterr().out


def test_lstm_mnist(tmp_path):
    import lstm_mnist
    root = learnable_mnist_root(str(tmp_path), n_train=64, n_test=32)
    assert 0.0 <= lstm_mnist.main(["--data", root, "--limit", "64", "--batch-size", "32"]) <= 1.0


def _cifar_root(root, per_batch=8, n_test=8):
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    rng = np.random.RandomState(0)
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        labels = [int(v) for v in rng.randint(0, 10, size=n)]
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({"data": rng.randint(0, 256, size=(n, 3072)).astype(np.uint8),
                         "labels": labels}, f, protocol=2)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f, protocol=2)
    return root


def test_cifar_cnn(tmp_path, monkeypatch, capsys):
    import cifar_cnn

    from ember.vision import datasets

    class Unchecked(datasets.CIFAR10):
        train_list = [[f"data_batch_{i}", None] for i in range(1, 6)]
        test_list = [["test_batch", None]]
        meta = {"filename": "batches.meta", "key": "label_names", "md5": None}

    monkeypatch.setattr(cifar_cnn, "CIFAR10", Unchecked)
    root = _cifar_root(str(tmp_path))
    accuracy = cifar_cnn.main(["--data", root, "--epochs", "1", "--batch-size", "20"])
    out = capsys.readouterr().out
    assert "Data: CIFAR-10 from" in out and "Accuracy of the network on the 8 test images" in out
    assert 0.0 <= accuracy <= 1.0


def test_cifar_cnn_without_data(tmp_path):
    import cifar_cnn
    with pytest.raises(SystemExit, match="CIFAR-10 is not available .* Use --download"):
        cifar_cnn.main(["--data", str(tmp_path)])
    assert 0.0 <= cifar_cnn.main(["--fake", "--limit", "16", "--epochs", "1"]) <= 1.0


def test_vgg():
    import vgg
    losses = vgg.main(["--steps", "2", "--batch-size", "2", "--batch-norm"])
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_point_classifier():
    import point_classifier
    train_acc, test_acc = point_classifier.main([])
    assert train_acc > 0.95 and test_acc > 0.95


def test_linear_regression():
    import linear_regression
    assert abs(linear_regression.main([]) - 2.0) < 0.1


def test_classifier_batchnorm():
    import classifier_batchnorm
    train_acc, test_acc = classifier_batchnorm.main([])
    assert train_acc > 0.93 and test_acc > 0.93


@pytest.mark.parametrize("name", ["mnist_net", "mnist_cnn", "lstm_mnist", "cifar_cnn", "vgg",
                                  "point_classifier", "linear_regression",
                                  "classifier_batchnorm", "mnist_data", "progress"])
def test_examples_import_ember_not_torch(name):
    with open(os.path.join(EXAMPLES, name + ".py")) as f:
        tree = ast.parse(f.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(m.split(".")[0] in ("torch", "torchvision") for m in imported), imported
    assert name == "progress" or any(m.split(".")[0] == "ember" for m in imported), imported
