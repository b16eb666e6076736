"""ember.vision.datasets: generated files in torchvision's formats and layouts, and the real MNIST
test set when present. Expected values come from the files' contents and torchvision's
documented behaviour (torchvision itself is not installed)."""

import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from idx_files import write_idx
from vision_data import (
    CIFAR10_CLASSES,
    cifar_batch,
    digits,
    make_cifar10_folder,
    make_mnist_root,
    md5_of,
    py2_pickle,
)

import ember
from ember.utils.data import DataLoader, Dataset
from ember.vision import datasets, transforms
from ember.vision.datasets.mnist import read_sn3_pascalvincent_tensor

PIL = pytest.importorskip("PIL", reason="the vision datasets return PIL images (Pillow)")
from PIL import Image  # noqa: E402

# --- MNIST ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz,raw", [(False, True), (True, True), (True, False)])
def test_mnist_reads_raw_and_gz_files(tmp_path, gz, raw):
    tr_x, tr_y, te_x, te_y = make_mnist_root(str(tmp_path), gz=gz, raw=raw)
    train = datasets.MNIST(str(tmp_path), train=True)
    test = datasets.MNIST(str(tmp_path), train=False)
    assert isinstance(train, Dataset)
    assert len(train) == 20 and len(test) == 10
    assert train.data.dtype == ember.uint8 and tuple(train.data.shape) == (20, 28, 28)
    assert train.targets.dtype == ember.int64 and tuple(train.targets.shape) == (20,)
    np.testing.assert_array_equal(train.data.numpy(), tr_x)
    np.testing.assert_array_equal(test.targets.numpy(), te_y.astype(np.int64))


def test_mnist_item_is_pil_image_and_int(tmp_path):
    tr_x, tr_y, _, _ = make_mnist_root(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path))
    img, target = ds[3]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), tr_x[3])
    assert type(target) is int and target == int(tr_y[3])


def test_mnist_transforms(tmp_path):
    tr_x, tr_y, _, _ = make_mnist_root(str(tmp_path))
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(str(tmp_path), transform=tf, target_transform=lambda t: t + 100)
    img, target = ds[0]
    assert img.dtype == ember.float32 and tuple(img.shape) == (1, 28, 28)
    expected = (tr_x[0].astype(np.float32) / 255.0 - 0.1307) / 0.3081
    np.testing.assert_allclose(img.numpy()[0], expected, atol=1e-6)
    assert target == int(tr_y[0]) + 100


def test_mnist_attributes(tmp_path):
    make_mnist_root(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path))
    assert ds.classes[3] == "3 - three" and len(ds.classes) == 10
    assert ds.class_to_idx["9 - nine"] == 9
    assert ds.raw_folder == os.path.join(str(tmp_path), "MNIST", "raw")
    assert ds.processed_folder == os.path.join(str(tmp_path), "MNIST", "processed")
    assert ds.mirrors[0].startswith("https://ossci-datasets.s3.amazonaws.com/mnist")
    assert dict(ds.resources)["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    with pytest.warns(UserWarning, match="train_labels has been renamed targets"):
        assert ds.train_labels is ds.targets
    with pytest.warns(UserWarning, match="test_data has been renamed data"):
        assert ds.test_data is ds.data


def test_mnist_repr(tmp_path):
    make_mnist_root(str(tmp_path))
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(str(tmp_path), train=False, transform=tf)
    assert repr(ds) == (
        "Dataset MNIST\n"
        "    Number of datapoints: 10\n"
        f"    Root location: {tmp_path}\n"
        "    Split: Test\n"
        "    StandardTransform\n"
        "Transform: Compose(\n"
        "               ToTensor()\n"
        "               Normalize(mean=(0.1307,), std=(0.3081,))\n"
        "           )")
    plain = datasets.MNIST(str(tmp_path))
    assert repr(plain).splitlines()[-1] == "    Split: Train"


def test_mnist_root_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    make_mnist_root(str(tmp_path))
    assert datasets.MNIST("~").root == str(tmp_path)


def test_mnist_missing_raises_torchvision_error(tmp_path):
    with pytest.raises(RuntimeError, match="^Dataset not found. You can use download=True to "
                                           "download it$"):
        datasets.MNIST(str(tmp_path))


def test_mnist_truncated_file_names_the_file(tmp_path):
    make_mnist_root(str(tmp_path), gz=False)
    path = os.path.join(str(tmp_path), "MNIST", "raw", "train-images-idx3-ubyte")
    with open(path, "r+b") as f:
        f.truncate(1000)
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte is truncated"):
        datasets.MNIST(str(tmp_path))


def test_mnist_not_idx_names_the_file(tmp_path):
    make_mnist_root(str(tmp_path), gz=False)
    path = os.path.join(str(tmp_path), "MNIST", "raw", "t10k-labels-idx1-ubyte")
    with open(path, "wb") as f:
        f.write(b"<html>not found</html>")
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte is not an IDX file"):
        datasets.MNIST(str(tmp_path), train=False)


def test_mnist_corrupt_gz_names_the_file(tmp_path):
    make_mnist_root(str(tmp_path), raw=False)
    path = os.path.join(str(tmp_path), "MNIST", "raw", "train-labels-idx1-ubyte.gz")
    with open(path, "r+b") as f:
        f.truncate(20)
    with pytest.raises(RuntimeError, match="train-labels-idx1-ubyte.gz"):
        datasets.MNIST(str(tmp_path))


def test_mnist_images_and_labels_disagree(tmp_path):
    make_mnist_root(str(tmp_path), gz=False)
    x, _ = digits(3)
    write_idx(os.path.join(str(tmp_path), "MNIST", "raw", "train-images-idx3-ubyte"), x, gz=False)
    with pytest.raises(RuntimeError, match="3 images but 20 labels"):
        datasets.MNIST(str(tmp_path))


def test_mnist_data_can_be_replaced_by_a_subset(tmp_path):
    tr_x, tr_y, _, _ = make_mnist_root(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path), transform=transforms.PILToTensor())
    ds.data, ds.targets = ds.data[5:8], ds.targets[5:8]
    assert len(ds) == 3
    img, target = ds[1]
    np.testing.assert_array_equal(img.numpy()[0], tr_x[6])
    assert target == int(tr_y[6])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, ">i2", ">i4", ">f4", ">f8"])
def test_idx_reader_dtypes(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = str(tmp_path / "x-idx3")
    write_idx(path, arr, gz=False)
    out = read_sn3_pascalvincent_tensor(path)
    np.testing.assert_array_equal(out.numpy(), arr.astype(np.dtype(dtype).newbyteorder("=")))
    assert out.numpy().dtype.isnative


@pytest.mark.parametrize("cls,folder,first_class", [
    (datasets.FashionMNIST, "FashionMNIST", "T-shirt/top"),
    (datasets.KMNIST, "KMNIST", "o"),
])
def test_mnist_relatives(tmp_path, cls, folder, first_class):
    tr_x, _, _, _ = make_mnist_root(str(tmp_path), folder=folder)
    ds = cls(str(tmp_path))
    assert ds.classes[0] == first_class and len(ds) == 20
    np.testing.assert_array_equal(np.asarray(ds[0][0]), tr_x[0])
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(str(tmp_path))  # MNIST reads its own folder


def test_emnist_split_files(tmp_path):
    raw = os.path.join(str(tmp_path), "EMNIST", "raw")
    os.makedirs(raw)
    x, y = digits(7, seed=3)
    write_idx(os.path.join(raw, "emnist-letters-test-images-idx3-ubyte"), x)
    write_idx(os.path.join(raw, "emnist-letters-test-labels-idx1-ubyte"), y)
    ds = datasets.EMNIST(str(tmp_path), split="letters", train=False)
    assert len(ds) == 7 and ds.classes[:3] == ["N/A", "a", "b"] and len(ds.classes) == 27
    np.testing.assert_array_equal(ds.data.numpy(), x)
    assert len(datasets.EMNIST.classes_split_dict["byclass"]) == 62
    assert len(datasets.EMNIST.classes_split_dict["balanced"]) == 47
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.EMNIST(str(tmp_path), split="letters", train=True)
    with pytest.raises(ValueError, match="Unknown value 'nope' for argument split. Valid values "
                                         "are {'byclass', 'bymerge', 'balanced', 'letters', "
                                         "'digits', 'mnist'}."):
        datasets.EMNIST(str(tmp_path), split="nope")


def test_qmnist_targets(tmp_path):
    raw = os.path.join(str(tmp_path), "QMNIST", "raw")
    os.makedirs(raw)
    x, y = digits(5, seed=4)
    meta = np.stack([y.astype(np.int32)] + [np.arange(5, dtype=np.int32) + k for k in range(7)],
                    axis=1).astype(">i4")
    write_idx(os.path.join(raw, "qmnist-test-images-idx3-ubyte"), x, gz=False)
    write_idx(os.path.join(raw, "qmnist-test-labels-idx2-int"), meta, gz=False)
    ds = datasets.QMNIST(str(tmp_path), what="test")
    assert ds.targets.dtype == ember.int64 and tuple(ds.targets.shape) == (5, 8)
    assert ds[2][1] == int(y[2])
    full = datasets.QMNIST(str(tmp_path), what="test", compat=False)
    np.testing.assert_array_equal(full[2][1].numpy(), meta[2])
    assert repr(ds).splitlines()[3] == "    Split: test"


def test_mnist_dataloader_batches(tmp_path):
    tr_x, tr_y, _, _ = make_mnist_root(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path), transform=transforms.ToTensor())
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    assert tuple(x.shape) == (8, 1, 28, 28) and x.dtype == ember.float32
    assert y.dtype == ember.int64
    np.testing.assert_array_equal(y.numpy(), tr_y[:8])
    np.testing.assert_allclose(x.numpy()[:, 0], tr_x[:8] / np.float32(255), rtol=0, atol=0)


def test_real_mnist_test_set(tmp_path, mnist_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(os.path.join(mnist_dir, name), raw / name)
        # the shared files are the originals: the checksums torchvision's resources list
        assert md5_of(str(raw / name)) == dict(datasets.MNIST.resources)[name]
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(str(tmp_path), train=False)  # as torchvision: all four files are needed
    x, y = digits(4)
    write_idx(str(raw / "train-images-idx3-ubyte"), x)
    write_idx(str(raw / "train-labels-idx1-ubyte"), y)
    ds = datasets.MNIST(str(tmp_path), train=False)
    assert len(ds) == 10000 and tuple(ds.data.shape) == (10000, 28, 28)
    with gzip.open(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    assert ds.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first ten
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    img, target = ds[0]
    assert img.mode == "L" and target == 7 and np.asarray(img).max() == 255


# --- CIFAR ----------------------------------------------------------------------------------------


def _unchecked(base):
    """A subclass of ``base`` without checksums, as the acceptance programs declare it."""
    class Unchecked(base):
        train_list = [[name, None] for name, _ in base.train_list]
        test_list = [[name, None] for name, _ in base.test_list]
        meta = {**base.meta, "md5": None}
    return Unchecked


def test_cifar10_reads_python_batches(tmp_path):
    (tr_data, tr_labels), (te_data, te_labels), _ = make_cifar10_folder(
        str(tmp_path / "cifar-10-batches-py"))
    train = _unchecked(datasets.CIFAR10)(str(tmp_path), train=True)
    test = _unchecked(datasets.CIFAR10)(str(tmp_path), train=False, transform=transforms.ToTensor())
    assert len(train) == 20 and len(test) == 6
    assert isinstance(train.data, np.ndarray) and train.data.dtype == np.uint8
    assert train.data.shape == (20, 32, 32, 3)
    # rows are channel-major (R plane, G plane, B plane); data is HWC
    np.testing.assert_array_equal(train.data, tr_data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert train.targets == tr_labels and test.targets == te_labels
    assert train.classes == CIFAR10_CLASSES and train.class_to_idx["cat"] == 3
    img, target = train[4]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (32, 32)
    assert type(target) is int and target == tr_labels[4]
    x, _ = test[1]
    np.testing.assert_array_equal(x.numpy(), te_data[1].reshape(3, 32, 32) / np.float32(255))


def test_cifar10_checks_md5(tmp_path):
    _, _, md5s = make_cifar10_folder(str(tmp_path / "cifar-10-batches-py"))
    with pytest.raises(RuntimeError, match="^Dataset not found or corrupted. You can use "
                                           "download=True to download it$"):
        datasets.CIFAR10(str(tmp_path))  # the real checksums cannot match

    class Matching(datasets.CIFAR10):
        train_list = [[f"data_batch_{i}", md5s[f"data_batch_{i}"]] for i in range(1, 6)]
        test_list = [["test_batch", md5s["test_batch"]]]
        meta = {"filename": "batches.meta", "key": "label_names", "md5": md5s["batches.meta"]}

    assert len(Matching(str(tmp_path))) == 20
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "ab") as f:
        f.write(b"\0")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        Matching(str(tmp_path))


def test_cifar10_meta_checked(tmp_path):
    make_cifar10_folder(str(tmp_path / "cifar-10-batches-py"))

    class BadMeta(_unchecked(datasets.CIFAR10)):
        meta = {"filename": "batches.meta", "key": "label_names", "md5": "0" * 32}

    with pytest.raises(RuntimeError, match="^Dataset metadata file not found or corrupted. You can "
                                           "use download=True to download it$"):
        BadMeta(str(tmp_path))


def test_cifar10_truncated_batch_names_the_file(tmp_path):
    make_cifar10_folder(str(tmp_path / "cifar-10-batches-py"))
    path = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    with open(path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(RuntimeError, match="data_batch_2 is truncated or corrupt"):
        _unchecked(datasets.CIFAR10)(str(tmp_path))


def test_cifar10_pickle_cannot_run_code(tmp_path):
    make_cifar10_folder(str(tmp_path / "cifar-10-batches-py"))

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f, protocol=2)
    with pytest.raises(RuntimeError, match="test_batch is truncated or corrupt .*posix.system|"
                                           "test_batch is truncated or corrupt .*os.system"):
        _unchecked(datasets.CIFAR10)(str(tmp_path), train=False)


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    blob, data, labels = cifar_batch(7, seed=5, label_key=b"fine_labels", n_classes=100)
    (folder / "train").write_bytes(blob)
    (folder / "test").write_bytes(cifar_batch(3, seed=6, label_key=b"fine_labels")[0])
    names = [f"class{i}".encode() for i in range(100)]
    (folder / "meta").write_bytes(py2_pickle({b"fine_label_names": names,
                                              b"coarse_label_names": names[:20]}))
    ds = _unchecked(datasets.CIFAR100)(str(tmp_path))
    assert len(ds) == 7 and ds.targets == labels and ds.classes[99] == "class99"
    assert datasets.CIFAR100.base_folder == "cifar-100-python"
    assert datasets.CIFAR100.meta["key"] == "fine_label_names"


# --- SVHN -----------------------------------------------------------------------------------------


def test_svhn_reads_mat_file(tmp_path):
    sio = pytest.importorskip("scipy.io", reason="SVHN reads MATLAB files with SciPy")
    rng = np.random.RandomState(0)
    x = rng.randint(0, 256, size=(32, 32, 3, 5)).astype(np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)
    sio.savemat(str(tmp_path / "test_32x32.mat"), {"X": x, "y": y})

    class Local(datasets.SVHN):
        split_list = {**datasets.SVHN.split_list,
                      "test": ["http://127.0.0.1/none", "test_32x32.mat", None]}

    ds = Local(str(tmp_path), split="test")
    assert len(ds) == 5 and ds.data.shape == (5, 3, 32, 32)
    assert ds.labels.tolist() == [0, 1, 2, 0, 9]  # the files' 10 is the digit 0
    img, target = ds[1]
    assert img.mode == "RGB" and target == 1
    np.testing.assert_array_equal(np.asarray(img), x[..., 1])
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.SVHN(str(tmp_path), split="test")  # real md5
    with pytest.raises(ValueError, match="Unknown value 'val' for argument split"):
        datasets.SVHN(str(tmp_path), split="val")


# --- folders --------------------------------------------------------------------------------------


def _image_tree(root):
    colours = {"cat": (255, 0, 0), "dog": (0, 255, 0), "zebra": (0, 0, 255)}
    for name, colour in colours.items():
        (root / name / "sub").mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (5, 4), colour).save(root / name / f"{i}.png")
        Image.new("L", (3, 3), 7).save(root / name / "sub" / "g.bmp")
        (root / name / "notes.txt").write_text("not an image")
    return colours


def test_image_folder(tmp_path):
    colours = _image_tree(tmp_path)
    ds = datasets.ImageFolder(str(tmp_path), transform=transforms.PILToTensor())
    assert ds.classes == ["cat", "dog", "zebra"] and ds.class_to_idx == {"cat": 0, "dog": 1,
                                                                          "zebra": 2}
    assert len(ds) == 9 and ds.imgs is ds.samples
    assert [os.path.relpath(p, tmp_path) for p, _ in ds.samples[:3]] == [
        os.path.join("cat", "0.png"), os.path.join("cat", "1.png"),
        os.path.join("cat", "sub", "g.bmp")]
    assert ds.targets == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    img, target = ds[4]
    assert target == 1 and tuple(img.shape) == (3, 4, 5)
    assert img[:, 0, 0].tolist() == list(colours["dog"])
    gray, _ = ds[2]  # grayscale files are loaded as RGB
    assert tuple(gray.shape) == (3, 3, 3) and gray.unique().tolist() == [7]


def test_dataset_folder_custom_loader_and_errors(tmp_path):
    _image_tree(tmp_path)
    ds = datasets.DatasetFolder(str(tmp_path), loader=lambda p: Path(p).read_text(),
                                extensions=(".txt",))
    assert len(ds) == 3 and ds[0] == ("not an image", 0)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None or "
                                         "not None at the same time"):
        datasets.DatasetFolder(str(tmp_path), loader=print)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes cat, dog, "
                                                "zebra. Supported extensions are: .xyz"):
        datasets.DatasetFolder(str(tmp_path), loader=print, extensions=(".xyz",))
    assert len(datasets.DatasetFolder(str(tmp_path), loader=print, extensions=(".xyz",),
                                      allow_empty=True)) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "x").mkdir()
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        datasets.ImageFolder(str(empty))


# --- FakeData -------------------------------------------------------------------------------------


def test_fake_data_is_reproducible_per_index():
    ds = datasets.FakeData(size=5, image_size=(3, 8, 6), num_classes=4,
                           transform=transforms.PILToTensor())
    assert len(ds) == 5
    ember.manual_seed(123)
    before = ember.rand(3)
    ember.manual_seed(123)
    a_img, a_target = ds[2]
    after = ember.rand(3)
    assert ember.equal(before, after)  # the global generator's state is restored
    b_img, b_target = ds[2]
    assert tuple(a_img.shape) == (3, 8, 6) and a_img.dtype == ember.uint8
    assert ember.equal(a_img, b_img) and a_target == b_target and 0 <= a_target < 4
    assert not ember.equal(ds[3][0], a_img)
    assert datasets.FakeData(size=5, image_size=(3, 8, 6), random_offset=1)[1][1] == \
        datasets.FakeData(size=5, image_size=(3, 8, 6))[2][1]
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[5]


def test_vision_dataset_transform_arguments():
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform can be "
                                         "passed as argument"):
        datasets.VisionDataset(None, transforms=lambda x, y: (x, y), transform=lambda x: x)
    ds = datasets.VisionDataset("root", target_transform=transforms.Lambda(str))
    assert ds.transforms(1, 2) == (1, "2")
    assert repr(ds.transforms) == "StandardTransform\nTarget transform: Lambda()"
